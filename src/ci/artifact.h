#ifndef CI_ARTIFACT_H
#define CI_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/http.h"

/*
 * GitHub Actions artifact upload over the v4 results service, exactly as
 * docs/actions-contract.md section 5 describes: CreateArtifact, the zip of a
 * directory streamed into 8 MiB Azure blocks (Put Block one after another,
 * then Put Block List, their pieces from core/block_blob.h), FinalizeArtifact with the size and SHA-256 of the
 * bytes uploaded. Works against GitHub and act's artifact server alike.
 *
 * This module never reads the environment: the GitHub host (src/ci/github.c)
 * reads ACTIONS_RESULTS_URL, ACTIONS_RUNTIME_TOKEN and GITHUB_RETENTION_DAYS
 * and passes them in. Nothing here logs or puts in an error message the
 * token or a signed URL's query string.
 */

#define ARTIFACT_BLOCK_SIZE (8 * 1024 * 1024)

struct artifact_service {
	const char *results_url;   /* ACTIONS_RESULTS_URL; only its origin is used */
	const char *runtime_token; /* ACTIONS_RUNTIME_TOKEN, a JWT */
	int retention_days;        /* 0 = the repository default; the caller caps
				    * it at GITHUB_RETENTION_DAYS */
};

struct artifact_result {
	char *id;               /* the artifact id, decimal */
	uint64_t size;          /* bytes of the zip uploaded */
	char sha256_hex[65];    /* lowercase hex SHA-256 of those bytes */
};
#define ARTIFACT_RESULT_INIT { NULL, 0, "" }

void artifact_result_release(struct artifact_result *r);

/*
 * Zips the directory `root_dir` (deflate level 6, as the toolkit; empty
 * directories kept, links followed) and uploads it as artifact `name` of
 * the current job, with one 8 MiB block buffer in memory. An empty
 * directory uploads an empty zip. `http` retries 429/5xx by itself.
 * On success fills `out` (release it with artifact_result_release).
 *
 * Names and paths are checked before anything is created. Errors:
 * ERR_INPUT for a bad artifact name, a bad path inside `root_dir` or a
 * missing service URL; ERR_IO for an unreadable `root_dir`; ERR_AUTH for a
 * token without the Actions.Results scope or a refused call; ERR_CONFLICT
 * when this run already has an artifact of that name; ERR_HTTP, ERR_NETWORK
 * or ERR_JSON for failed calls, naming the call and the service's message.
 */
int artifact_upload(struct artifact_result *out, struct http_client *http,
		    const struct artifact_service *svc, const char *name, const char *root_dir);

/*
 * Appends $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/<run>/artifacts/<id>,
 * the page where the artifact can be downloaded (actions-contract 5.3).
 */
void artifact_url(struct buf *out, const char *server_url, const char *repository,
		  const char *run_id, const char *artifact_id);

/* ---- the pieces, exposed for tests; pure, no network ---- */

/* Checks an artifact name (actions-contract 5.5): non-empty, none of " : < > | * ? CR
 * LF \ /. Returns 0 or ERR_INPUT. */
int artifact_check_name(const char *name);

/* The run and job backend ids the results service wants (actions-contract 5.2). */
struct artifact_ids {
	char *run;
	char *job;
};
#define ARTIFACT_IDS_INIT { NULL, NULL }
void artifact_ids_release(struct artifact_ids *ids);

/*
 * Reads the ids from the runtime token's JWT payload: the `scp` claim's
 * "Actions.Results:<run>:<job>" scope. Returns 0, or ERR_AUTH when the
 * token is not a JWT or has no such scope (the message never quotes it).
 */
int artifact_ids_from_token(struct artifact_ids *out, const char *token);

/* The RFC 3339 UTC time `days` days after `now`, for expires_at. */
void artifact_expires_at(struct buf *out, time_t now, int days);

/*
 * Appends the CreateArtifact request body: snake_case, version 4, no
 * mime_type (act rejects unknown fields), expires_at only when not NULL.
 */
void artifact_create_body(struct buf *out, const struct artifact_ids *ids,
			  const char *name, const char *expires_at);

/*
 * Reads a CreateArtifact reply (snake_case or camelCase): appends the
 * signed upload URL to `out`. ERR_JSON for a malformed reply or a missing
 * URL, ERR_HTTP when `ok` is not true.
 */
int artifact_parse_create_reply(struct buf *out, const char *body, size_t len);

/* Appends the FinalizeArtifact body: size as a decimal string, hash "sha256:<hex>". */
void artifact_finalize_body(struct buf *out, const struct artifact_ids *ids,
			    const char *name, uint64_t size, const char *sha256_hex);

/*
 * Reads a FinalizeArtifact reply: `*out` gets the artifact id in decimal
 * (the caller frees it); artifact_id or artifactId, a number or a string.
 * ERR_JSON for a malformed reply, ERR_HTTP when `ok` is not true.
 */
int artifact_parse_finalize_reply(char **out, const char *body, size_t len);

/*
 * Sets the error for a results-service reply that is not 2xx and returns
 * its code. The message names the method, the HTTP status and the Twirp
 * `msg`; "insufficient usage" gets a quota hint. A Twirp already_exists or
 * HTTP 409 is ERR_CONFLICT naming `artifact`; other statuses as
 * http_status_code says (401/403 ERR_AUTH, 404 ERR_NOT_FOUND, 412
 * ERR_CONFLICT, anything else ERR_HTTP).
 */
int artifact_twirp_error(const struct http_response *r, const char *method,
			 const char *artifact);

#endif
