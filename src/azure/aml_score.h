#ifndef AZURE_AML_SCORE_H
#define AZURE_AML_SCORE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/http.h"

/*
 * The data plane of a managed online endpoint: POST <scoringUri> with the
 * endpoint key (Authorization: Bearer <key>), optionally aimed at one
 * deployment with the azureml-model-deployment header (Azure routes it
 * there whatever its traffic share, 0% included: how a new deployment is
 * smoke-tested before it gets traffic). One attempt, never retried: a 5xx
 * is a fact about the deployment that a rollout must see, not noise.
 */

/* Answers above this are ERR_HTTP: a scoring reply is small. */
#define AML_SCORE_MAX_BODY (1u << 20)

struct aml_score_result {
	long status;            /* the HTTP status, whatever it is */
	struct buf body;        /* the answer body, at most AML_SCORE_MAX_BODY */
	char *deployment;       /* azureml-model-deployment of the answer, or NULL */
	char *request_id;       /* x-request-id (else x-ms-request-id), or NULL */
	long latency_ms;        /* request sent to answer read, monotonic clock */
};
#define AML_SCORE_RESULT_INIT { 0, BUF_INIT, NULL, NULL, 0 }
void aml_score_result_release(struct aml_score_result *r);

/*
 * Sends `body` (JSON, `len` bytes) to `scoring_uri` with `key`, which is
 * registered with log_secret first. `deployment` NULL lets the traffic
 * shares route it. `timeout_ms` bounds the attempt (0: the client's).
 * Returns 0 once an answer came, whatever its status (read out->status);
 * ERR_INPUT for a scoring URI aml_score_check_uri refuses, no key or a bad
 * deployment name;
 * ERR_NETWORK / ERR_TIMEOUT when no answer came; ERR_HTTP for an answer
 * above the cap.
 */
int aml_score_post(struct aml_score_result *out, struct http_client *http,
		   const char *scoring_uri, const char *key, const char *deployment,
		   const char *body, size_t len, long timeout_ms);

/* ---- pure pieces, exported for tests ---- */

/* An https:// URL (or http:// to 127.0.0.1 or localhost: a local inference
 * server) without spaces or control characters. */
int aml_score_check_uri(const char *uri);

/*
 * Whether `got` holds everything `expect` says (a smoke test's expected
 * answer): objects match when every key of `expect` is in `got` with a
 * matching value (extra keys of `got` are fine); arrays match element by
 * element and have the same length; scalars are equal (same type, same
 * number, string or boolean; null is null). NULL matches nothing.
 */
bool aml_score_subset(const cJSON *expect, const cJSON *got);

#endif
