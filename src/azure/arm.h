#ifndef AZURE_ARM_H
#define AZURE_ARM_H

#include <signal.h>

#include <cjson/cJSON.h>

#include "azure/token.h"
#include "core/buf.h"
#include "core/http.h"

/*
 * Azure Resource Manager calls: the shared plumbing of every control-plane
 * client (ARM deployments, Azure ML). Adds the bearer token, api-version and
 * a client request id; turns the ARM error envelope into one message;
 * follows long-running operations (Azure-AsyncOperation, Location,
 * provisioningState) and nextLink paging. Contract: docs/azure-contract.md 2-3.
 */

struct arm {
	struct http_client *http;    /* borrowed */
	struct token_source tokens;  /* asked for `scope` before every request */
	char *endpoint;              /* "https://management.azure.com", no trailing '/' */
	char *scope;                 /* endpoint + "/.default" */
	char *subscription_id;
	long poll_default_ms;        /* wait between polls without Retry-After; default 5000 */
	long progress_every_ms;      /* progress log line interval; default 30000 */
	/* When set and non-zero (the caller's signal flag), arm_wait stops
	 * waiting: ERR_CANCELLED, the operation left to go on in Azure. */
	const volatile sig_atomic_t *stop;
};

/* `endpoint` may be NULL for public Azure; a trailing '/' is dropped.
 * `tokens` is copied; what its ctx points at is borrowed. */
void arm_init(struct arm *arm, struct http_client *http, struct token_source tokens,
	      const char *endpoint, const char *subscription_id);
void arm_release(struct arm *arm);

struct arm_response {
	long status;
	cJSON *json;                 /* the parsed body, or NULL when empty */
	struct http_response http;
};
#define ARM_RESPONSE_INIT { 0, NULL, HTTP_RESPONSE_INIT }
void arm_response_release(struct arm_response *r);

/*
 * One call. `path` is either a path below the endpoint ("/subscriptions/...",
 * with any query of its own) or an absolute https URL handed out by Azure
 * (nextLink, Azure-AsyncOperation, Location), used as it is. `api_version`
 * is appended unless NULL or the URL already has one. `body` may be NULL.
 *
 * Returns 0 for a 2xx answer (`out` holds it) or the error, as
 * http_status_code says: 401/403 ERR_AUTH, 404 ERR_NOT_FOUND, 409/412
 * ERR_CONFLICT, other statuses ERR_HTTP, with the message "<METHOD>
 * <path>: HTTP <status> <code>: <message>" plus the first detail and the
 * x-ms-request-id for support. On error `out`
 * still holds the response (its status and envelope) for callers that
 * need to look closer.
 */
int arm_call(struct arm *arm, const char *method, const char *path,
	     const char *api_version, const cJSON *body, struct arm_response *out);

/*
 * arm_call with `extra_headers` ("Name: value", NULL-terminated, at most
 * ARM_MAX_EXTRA_HEADERS; NULL for none) sent as well, e.g. the
 * x-ms-correlation-request-id a deployment is recorded under.
 *
 * Both: a 401 refusing the token as expired (credential_refused_as_expired)
 * is answered once with a new token and the same request.
 */
#define ARM_MAX_EXTRA_HEADERS 4
int arm_call_headers(struct arm *arm, const char *method, const char *path,
		     const char *api_version, const char *const *extra_headers,
		     const cJSON *body, struct arm_response *out);

/*
 * Follows the long-running operation started by `started` (the answer to a
 * PUT, PATCH, DELETE or POST on `resource_path`) to its end, as ARM
 * clients do: poll Azure-AsyncOperation until a terminal status, then GET
 * the resource; else poll Location until it stops answering 202; else poll
 * the resource until properties.provisioningState is terminal. Honours
 * Retry-After; logs "<what>: <state> (<elapsed>)" at most every
 * progress_every_ms. A Failed operation is ERR_REMOTE_FAILED, a Canceled
 * one ERR_CANCELLED, with the operation's error code and message; running
 * past `timeout_s` is ERR_TIMEOUT; arm->stop raised while waiting is
 * ERR_CANCELLED too (nothing is cancelled: the operation goes on).
 * `final_out` receives the resource (or the final Location answer) and may
 * be NULL. A `started` answer that is already final (200
 * with a terminal or absent provisioningState and no operation header)
 * returns at once.
 */
int arm_wait(struct arm *arm, const struct arm_response *started,
	     const char *resource_path, const char *api_version, const char *what,
	     long timeout_s, struct arm_response *final_out);

/*
 * GETs `path` and every nextLink after it, collecting each page's value[]
 * items into one array (`*items_out`, caller frees with cJSON_Delete).
 * At most 1000 pages, against a server that never stops.
 */
int arm_list(struct arm *arm, const char *path, const char *api_version,
	     cJSON **items_out);

/* Whether it is a success (Succeeded, or Completed for jobs). */
int arm_state_succeeded(const char *state);

/* Appends the ARM error envelope in `json` as "code: message (detail)". */
void arm_error_text(struct buf *out, const cJSON *json);

#endif
