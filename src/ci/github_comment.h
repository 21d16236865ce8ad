#ifndef CI_GITHUB_COMMENT_H
#define CI_GITHUB_COMMENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/http.h"

/*
 * One comment on a pull request, kept up to date through the GitHub REST
 * API (docs/actions-contract.md 9): found again by a hidden marker, edited
 * in place on every push instead of a new comment per run. The entry point
 * is ci_pr_comment (ci.h); these are its pieces, exported for tests.
 */

/* GitHub refuses a comment body over 65536 characters; bytes are at least
 * as many, so a body within this many bytes always fits. */
#define GITHUB_COMMENT_MAX 65536
/* Comments listed per page (GitHub's maximum), and how many pages are read
 * at most before giving up the search: 5,000 comments. */
#define GITHUB_COMMENTS_PER_PAGE 100
#define GITHUB_COMMENT_PAGES_MAX 50

/*
 * The pull request a run is for: 0 with `*out` > 0 for a pull_request or
 * pull_request_target event, from the event file's pull_request.number
 * (`event`, `len` bytes; may be NULL), else from a ref
 * "refs/pull/<n>/merge" or "refs/pull/<n>/head"; `*out` = 0 for any other
 * event or when neither says. ERR_JSON only for an event file that is not
 * JSON.
 */
int github_pull_number(long *out, const char *event_name, const char *event, size_t len,
		       const char *ref);

/* "<!-- mlops:model-report:<key> -->", `key` URL-encoded so that it can
 * neither end the HTML comment nor hold a line break. */
void github_comment_marker(struct buf *out, const char *kind, const char *key);

/*
 * In one page of GET .../issues/{n}/comments (a JSON array), the first
 * comment that is ours: its body starts with `marker` and its author is
 * `login` when known (a user's token), else any GitHub App bot (user.type
 * "Bot": GITHUB_TOKEN posts as github-actions[bot], and an app token
 * cannot ask who it is). So a comment someone else wrote, quoting the
 * marker, is never taken over. 1 with `*id_out` set when found, else 0.
 */
int github_comment_pick(const cJSON *page, const char *marker, const char *login,
			int64_t *id_out);

/* Whether a Link header names a rel="next" page. */
int github_link_has_next(const char *link);

/* Where and as whom the REST calls go. */
struct github_api {
	struct http_client *http;   /* borrowed */
	const char *api_url;        /* GITHUB_API_URL, https://api.github.com by default */
	const char *token;          /* masked before this is used */
	const char *repository;     /* owner/name */
};

struct github_comment_result {
	int64_t id;
	int updated;                /* an existing comment was edited */
	char *html_url;             /* owned; NULL when the reply had none */
};
void github_comment_result_release(struct github_comment_result *r);

/*
 * Creates or updates the comment marked `marker` on pull request `pr`.
 * `body` must start with the marker and hold at most GITHUB_COMMENT_MAX
 * bytes (ERR_INPUT otherwise). Errors: a 401 is ERR_AUTH "... the
 * github-token was refused"; a 403 or 404 ERR_AUTH naming the
 * `pull-requests: write` permission the job needs (a fork's pull request
 * gets a read-only token); others as http_status_error, GitHub's own
 * message quoted as an excerpt.
 */
int github_comment_upsert(struct github_comment_result *out, const struct github_api *gh,
			  long pr, const char *marker, const char *body);

#endif
