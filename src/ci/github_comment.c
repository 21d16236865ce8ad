/*
 * The pull request comment (ci/github_comment.h): the REST calls of
 * docs/actions-contract.md 9, and ci_pr_comment, which only the GitHub
 * host answers.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci/github_comment.h"
#include "ci/host.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

/* An event file is a few hundred KiB at most; a bigger one is not read. */
#define EVENT_MAX (16 * 1024 * 1024)

/* "refs/pull/<n>/merge" or ".../head": n, else 0. */
static long ref_pull_number(const char *ref)
{
	const char *p = ref, *end;
	char *stop;
	long n;

	if (!ref || strncmp(ref, "refs/pull/", strlen("refs/pull/")))
		return 0;
	p += strlen("refs/pull/");
	if (*p < '1' || *p > '9')
		return 0;
	errno = 0;
	n = strtol(p, &stop, 10);
	end = stop;
	if (errno || (strcmp(end, "/merge") && strcmp(end, "/head")))
		return 0;
	return n;
}

int github_pull_number(long *out, const char *event_name, const char *event, size_t len,
		       const char *ref)
{
	cJSON *json = NULL;
	int64_t n = 0;
	int ret;

	*out = 0;
	if (!event_name || (strcmp(event_name, "pull_request") &&
			    strcmp(event_name, "pull_request_target")))
		return 0;
	if (event && len) {
		if ((ret = json_parse(&json, event, len, "GITHUB_EVENT_PATH")))
			return ret;
		if (!json_get_int64(&n, json, "pull_request.number") && n > 0 && n <= LONG_MAX)
			*out = (long)n;
		cJSON_Delete(json);
		error_clear();
	}
	if (!*out)
		*out = ref_pull_number(ref);
	return 0;
}

void github_comment_marker(struct buf *out, const char *kind, const char *key)
{
	buf_addf(out, "<!-- mlops:%s:", kind);
	url_encode(out, key);
	buf_addstr(out, " -->");
}

static int is_ours(const cJSON *comment, const char *marker, const char *login)
{
	const char *body = json_string_or(comment, "body", NULL);

	if (!body || strncmp(body, marker, strlen(marker)))
		return 0;
	if (login)
		return !strcmp(json_string_or(comment, "user.login", ""), login);
	return !strcmp(json_string_or(comment, "user.type", ""), "Bot");
}

int github_comment_pick(const cJSON *page, const char *marker, const char *login,
			int64_t *id_out)
{
	const cJSON *c;

	if (!cJSON_IsArray(page))
		return 0;
	cJSON_ArrayForEach(c, page) {
		if (is_ours(c, marker, login) && !json_get_int64(id_out, c, "id") && *id_out > 0)
			return 1;
	}
	error_clear();
	return 0;
}

int github_link_has_next(const char *link)
{
	const char *p;

	/* <url>; rel="next", <url>; rel="last": the rel of each link follows
	 * its URL, and a URL cannot hold a '"' unescaped. */
	for (p = link ? strstr(link, "rel=") : NULL; p; p = strstr(p + 1, "rel=")) {
		const char *v = p + 4;

		if (*v == '"')
			v++;
		if (!strncmp(v, "next", 4) && (v[4] == '"' || v[4] == ',' || v[4] == ';' ||
					      v[4] == ' ' || !v[4]))
			return 1;
	}
	return 0;
}

void github_comment_result_release(struct github_comment_result *r)
{
	free(r->html_url);
	memset(r, 0, sizeof(*r));
}

/* ---- the calls ---- */

/* The error of a failed call: the permission named where it is missing. */
static int call_error(const struct http_response *resp, const char *method, const char *url)
{
	struct buf detail = BUF_INIT;
	cJSON *json = NULL;
	const char *msg = NULL;
	int ret;

	if (!json_parse(&json, resp->body.data, resp->body.len, "GitHub reply"))
		msg = json_string_or(json, "message", NULL);
	error_clear();
	if (msg)
		buf_addf(&detail, "%s", excerpt(msg));
	if (resp->status == 401)
		buf_addstr(&detail, "; the github-token was refused");
	else if (resp->status == 403 || resp->status == 404)
		buf_addstr(&detail, "; the token needs the `pull-requests: write` permission "
			   "(permissions: pull-requests: write on the job; a pull request from a "
			   "fork gets a read-only GITHUB_TOKEN)");
	ret = http_status_error(resp, method, url, detail.data);
	if (resp->status == 404)
		ret = error_set(ERR_AUTH, "%s", error_message());
	cJSON_Delete(json);
	buf_release(&detail);
	return ret;
}

static int call(const struct github_api *gh, const char *method, const char *url,
		const cJSON *body, long want, cJSON **json_out, struct http_response *resp)
{
	struct http_request req = { 0 };
	struct buf auth = BUF_INIT, text = BUF_INIT;
	const char *headers[6];
	int ret;

	buf_addf(&auth, "Authorization: Bearer %s", gh->token);
	headers[0] = auth.data;
	headers[1] = "Accept: application/vnd.github+json";
	headers[2] = "X-GitHub-Api-Version: 2022-11-28";
	headers[3] = body ? "Content-Type: application/json" : NULL;
	headers[4] = NULL;
	if (body)
		json_write(&text, body);
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body ? text.data : NULL;
	req.body_len = text.len;
	/* A POST that timed out may have made its comment: not repeated, so a
	 * retry cannot post it twice (the next run finds and edits it). */
	req.no_retry = !strcmp(method, "POST");
	if ((ret = http_send(gh->http, &req, resp)))
		goto done;
	if (resp->status != want) {
		ret = call_error(resp, method, url);
		goto done;
	}
	if (json_out)
		ret = json_parse(json_out, resp->body.data, resp->body.len, "GitHub reply");
done:
	buf_wipe(&auth);
	buf_release(&text);
	return ret;
}

/*
 * Who the token is, into `*login`: a user's login, or NULL for an app's
 * token, which GET /user refuses with a 403 ("Resource not accessible by
 * integration"). Any other failure is the error: guessing "a bot" then
 * would miss the user's own comment and post a second one.
 */
static int token_login(char **login, const struct github_api *gh)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf url = BUF_INIT;
	cJSON *json = NULL;
	int ret;

	*login = NULL;
	/* ghs_: an installation token (GITHUB_TOKEN is one): a bot, no user. */
	if (!strncmp(gh->token, "ghs_", 4))
		return 0;
	buf_addf(&url, "%s/user", gh->api_url);
	ret = call(gh, "GET", url.data, NULL, 200, &json, &resp);
	if (!ret && *json_string_or(json, "login", "")) {
		*login = xstrdup(json_string_or(json, "login", ""));
	} else if (!ret || resp.status == 403) {
		log_debug("GitHub: the token is not a user's: looking for a bot's comment");
		error_clear();
		ret = 0;
	} else {
		error_prefix("who the github-token is");
	}
	cJSON_Delete(json);
	http_response_release(&resp);
	buf_release(&url);
	return ret;
}

/* The marked comment of pull request `pr`: its id, or 0 when none. */
static int find(int64_t *id_out, const struct github_api *gh, long pr, const char *marker,
		const char *login)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf url = BUF_INIT, link = BUF_INIT;
	cJSON *page = NULL;
	int ret = 0, n, more = 1;

	*id_out = 0;
	for (n = 1; more && n <= GITHUB_COMMENT_PAGES_MAX; n++) {
		buf_reset(&url);
		buf_addf(&url, "%s/repos/%s/issues/%ld/comments?per_page=%d&page=%d",
			 gh->api_url, gh->repository, pr, GITHUB_COMMENTS_PER_PAGE, n);
		if ((ret = call(gh, "GET", url.data, NULL, 200, &page, &resp)))
			break;
		if (github_comment_pick(page, marker, login, id_out))
			break;
		buf_reset(&link);
		http_header(&resp, "Link", &link);
		more = github_link_has_next(link.data);
		cJSON_Delete(page);
		page = NULL;
	}
	if (!ret && !*id_out && more)
		log_debug("GitHub: no marked comment in the first %d pages: a new one is made",
			  GITHUB_COMMENT_PAGES_MAX);
	cJSON_Delete(page);
	http_response_release(&resp);
	buf_release(&url);
	buf_release(&link);
	return ret;
}

int github_comment_upsert(struct github_comment_result *out, const struct github_api *gh,
			  long pr, const char *marker, const char *body)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf url = BUF_INIT;
	cJSON *req = NULL, *reply = NULL;
	char *login = NULL;
	int64_t id;
	int ret;

	memset(out, 0, sizeof(*out));
	if (strncmp(body, marker, strlen(marker)) || strlen(body) > GITHUB_COMMENT_MAX)
		return error_set(ERR_INPUT, "pull request comment: the body must start with its "
				 "marker and hold at most %d bytes", GITHUB_COMMENT_MAX);
	if ((ret = token_login(&login, gh)) || (ret = find(&id, gh, pr, marker, login)))
		goto done;
	req = json_new_object();
	json_add_string(req, "body", body);
	if (id)
		buf_addf(&url, "%s/repos/%s/issues/comments/%lld", gh->api_url, gh->repository,
			 (long long)id);
	else
		buf_addf(&url, "%s/repos/%s/issues/%ld/comments", gh->api_url, gh->repository, pr);
	if ((ret = call(gh, id ? "PATCH" : "POST", url.data, req, id ? 200 : 201, &reply, &resp)))
		goto done;
	out->updated = id != 0;
	if (json_get_int64(&out->id, reply, "id"))
		out->id = id;
	if (*json_string_or(reply, "html_url", ""))
		out->html_url = xstrdup(json_string_or(reply, "html_url", ""));
	error_clear();
done:
	free(login);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	http_response_release(&resp);
	buf_release(&url);
	return ret;
}

/* ---- ci_pr_comment ---- */

/* The pull request number of a GitHub run, or 0. */
static long run_pull_number(const struct ci *ci)
{
	const char *path = getenv("GITHUB_EVENT_PATH");
	struct buf event = BUF_INIT;
	long n = 0;

	if (path && *path && fs_read_file(&event, path, EVENT_MAX)) {
		log_debug("GITHUB_EVENT_PATH not read: %s", error_message());
		error_clear();
		buf_reset(&event);
	}
	if (github_pull_number(&n, ci->context.event_name, event.data, event.len, ci->context.ref)) {
		log_debug("%s", error_message());
		error_clear();
		github_pull_number(&n, ci->context.event_name, NULL, 0, ci->context.ref);
	}
	buf_release(&event);
	return n;
}

/* The repository's key for the marker: which workflow file (not its ref,
 * which changes) and the caller's key, so two workflows keep two comments. */
static void marker_key(struct buf *out, const char *key)
{
	const char *wf = getenv("GITHUB_WORKFLOW_REF");
	const char *at;

	if (wf && *wf) {
		at = strchr(wf, '@');
		buf_add(out, wf, at ? (size_t)(at - wf) : strlen(wf));
	} else {
		wf = getenv("GITHUB_WORKFLOW");
		buf_addstr(out, wf ? wf : "");
	}
	buf_addf(out, ":%s", key);
}

static int github_pr_comment(struct ci *ci, const char *token, const char *kind,
			     const char *key, const char *body, char **url_out)
{
	struct github_comment_result res = { 0 };
	struct github_api gh = { 0 };
	struct buf marker = BUF_INIT, mkey = BUF_INIT, full = BUF_INIT, base = BUF_INIT;
	const char *api = getenv("GITHUB_API_URL");
	long pr = run_pull_number(ci);
	int ret = 0;

	if (!pr) {
		log_debug("not a pull request run: no pull request comment");
		return 0;
	}
	buf_addstr(&base, api && *api ? api : "https://api.github.com");
	while (base.len && base.data[base.len - 1] == '/')
		buf_setlen(&base, base.len - 1);
	gh.api_url = base.data;
	gh.token = token;
	gh.repository = ci->context.repository;
	/* The token goes only where the runner says the API is, and in TLS. */
	if (strncmp(gh.api_url, "https://", 8) || !*gh.repository || !strchr(gh.repository, '/')) {
		ret = error_set(ERR_INPUT, "GITHUB_API_URL (%s) must be https:// and "
				"GITHUB_REPOSITORY owner/name", excerpt(gh.api_url));
		goto done;
	}
	marker_key(&mkey, key);
	github_comment_marker(&marker, kind, mkey.data);
	buf_addf(&full, "%s\n%s", marker.data, body);
	if (!(ret = ci_http(ci, &gh.http)) &&
	    !(ret = github_comment_upsert(&res, &gh, pr, marker.data, full.data))) {
		log_info("pull request #%ld: comment %s%s%s", pr, res.updated ? "updated" : "posted",
			 res.html_url ? " " : "", res.html_url ? res.html_url : "");
		if (url_out && res.html_url)
			*url_out = xstrdup(res.html_url);
	}
done:
	github_comment_result_release(&res);
	buf_release(&base);
	buf_release(&marker);
	buf_release(&mkey);
	buf_release(&full);
	return ret;
}

long ci_pull_request(const struct ci *ci)
{
	return ci_kind(ci) == CI_GITHUB ? run_pull_number(ci) : 0;
}

int ci_pr_comment(struct ci *ci, const char *token, const char *kind, const char *key,
		  const char *body, char **url_out)
{
	if (url_out)
		*url_out = NULL;
	if (!token || !*token) {
		log_debug("no GitHub token: no pull request comment");
		return 0;
	}
	log_secret(token);
	switch (ci_kind(ci)) {
	case CI_GITHUB:
		return github_pr_comment(ci, token, kind, key, body, url_out);
	case CI_PIPELINES:
		/* A token was given for nothing: say so once, it is not an error. */
		log_notice("a GitHub token was given, but pull request comments are posted "
			   "only under GitHub Actions");
		return 0;
	default:
		log_debug("not under GitHub Actions: no pull request comment");
		return 0;
	}
}
