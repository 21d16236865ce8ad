#ifndef CORE_HTTP_H
#define CORE_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/*
 * The HTTP client: one libcurl handle reused across requests (so TLS
 * sessions and connections are kept), connect and per-attempt timeouts,
 * capped response bodies, request bodies from memory or streamed from a
 * slice of a file, and retries on 408/429/500/502/503/504 and on network
 * errors with exponential backoff and full jitter, honouring Retry-After
 * (seconds or an HTTP date) within a bound on the total time spent
 * retrying. Every attempt is bounded twice: a low-speed limit (no byte
 * either way for stall_timeout_ms ends it) and a total cap suited to the
 * request (http_attempt_timeout_ms); an attempt ended by either is retried
 * like a network error, its time counted against the retry budget. A proxy
 * that refuses the tunnel (CONNECT answered 4xx/5xx) is final: not retried. TLS verification is always on; SSL_CERT_FILE or CURL_CA_BUNDLE
 * name the CA bundle when set; HTTPS_PROXY / NO_PROXY are honoured (libcurl
 * reads them). Each attempt is logged at debug level as method, URL without
 * its query string, status and milliseconds; headers are never logged.
 */

struct http_options {
	long connect_timeout_ms;  /* default 30 s */
	long attempt_timeout_ms;  /* one attempt of a call without a large body; default 120 s */
	long stall_timeout_ms;    /* no byte moving for this long ends an attempt; default 30 s */
	int max_attempts;         /* default 6 (1 = no retries) */
	long retry_base_ms;       /* first backoff; default 800 ms */
	long retry_max_delay_ms;  /* one wait at most; default 60 s */
	long retry_budget_ms;     /* waits and timed-out attempts together at most; default 300 s */
	const char *user_agent;   /* default "mlops/<version>" */
};

/* Where a request body comes from; at most one of memory or file. */
struct http_request {
	const char *method;          /* GET, PUT, POST, PATCH, DELETE, HEAD */
	const char *url;
	const char *const *headers;  /* "Name: value" strings, NULL-terminated */
	const void *body;            /* in memory ... */
	size_t body_len;
	const char *body_file;       /* ... or streamed from this file */
	uint64_t file_offset;
	uint64_t file_length;
	size_t max_response;         /* body cap; 0 means 16 MiB */
	int no_retry;                /* one attempt only */
	int no_proxy;                /* connect directly, whatever HTTPS_PROXY says */
	long connect_timeout_ms;     /* this request's connect timeout; 0: the client's */
	long timeout_ms;             /* this request's cap per attempt; 0: http_attempt_timeout_ms */
	/* Streams the response body here instead of into `body` (downloads).
	 * `reset` is called before a retry starts the body again. Return 0 to
	 * continue, non-zero to abort. */
	int (*sink)(const void *data, size_t len, void *ctx);
	void (*sink_reset)(void *ctx);
	void *sink_ctx;
};

struct http_response {
	long status;
	struct buf body;
	struct buf headers; /* the final response's header lines, "name: value\n" */
	int attempts;
};
#define HTTP_RESPONSE_INIT { 0, BUF_INIT, BUF_INIT, 0 }

struct http_client;

/* `opts` may be NULL for the defaults. */
int http_client_new(struct http_client **out, const struct http_options *opts);
void http_client_free(struct http_client *c);

/*
 * A flag the caller's signal handler sets (NULL: none; borrowed, it must
 * outlive the client). Once it is non-zero, a transfer in flight is cut
 * within a second, a retry wait ends at once, and no new attempt starts:
 * the call returns ERR_CANCELLED "stopped". Parallel transfers
 * (core/http_multi.c) obey it too.
 */
void http_client_set_stop(struct http_client *c, const volatile sig_atomic_t *stop);
/* Whether the stop flag is set (and no deadline overrides it). */
int http_client_stopping(const struct http_client *c);
/*
 * Bounds every call from now on to end within `ms` milliseconds from now
 * (0 clears the bound): attempt timeouts are clamped to what is left, no
 * retry waits past it, and a call made after it is ERR_TIMEOUT at once.
 * While a deadline is set the stop flag is not consulted, so that the one
 * last call a stopping program makes (cancelling what it started) can
 * still go out, bounded by the deadline instead.
 */
void http_client_set_deadline(struct http_client *c, long ms);

/*
 * Sends `req`, retrying as described above. Returns 0 once a response has
 * arrived, whatever its status (a retried status that never cleared is
 * returned as the last response); ERR_NETWORK when no answer came (the
 * message names the method, the URL without query and curl's reason);
 * ERR_HTTP when the response exceeded its cap; ERR_IO when the body file
 * could not be read. `out` is reset first; release it with
 * http_response_release.
 */
int http_send(struct http_client *c, const struct http_request *req,
	      struct http_response *out);
void http_response_release(struct http_response *r);

/* The value of header `name` (case-insensitive) in the final response, trimmed. */
int http_header(const struct http_response *r, const char *name, struct buf *out);

/*
 * The one rule from a failed HTTP status to an error code, which every
 * client (ARM, Azure ML, MLflow, storage, the artifact service) follows:
 *   401, 403  ERR_AUTH       credentials missing, refused or not allowed
 *   404       ERR_NOT_FOUND  so a caller can tell "absent" from "failed"
 *   409, 412  ERR_CONFLICT   the change clashes with what exists: 409 says
 *                            so outright, 412 is a precondition (If-Match,
 *                            If-None-Match: *) that what exists broke
 *   any other ERR_HTTP       including 408 and 504: the server answered,
 *                            and the HTTP client already retried them;
 *                            ERR_TIMEOUT stays for our own bound running
 *                            out, which callers act on (a job timed out)
 * A service whose body says more overrides this where it reads the body,
 * with a comment: Entra's token endpoint (every 4xx is a refusal), MLflow's
 * error_code, the artifact service's already_exists.
 */
int http_status_code(long status);

/*
 * Sets the error for a response whose status is not 2xx and returns its
 * code, as http_status_code says. The message is "<METHOD> <url without
 * query>: HTTP <status>" plus `detail` when not NULL.
 */
int http_status_error(const struct http_response *r, const char *method,
		      const char *url, const char *detail);

/*
 * The wait a Retry-After header asks for, in milliseconds, or -1 when it is
 * absent or unreadable. Accepts delta-seconds and HTTP dates (relative to
 * `now`, epoch seconds).
 */
long http_retry_after_ms(const char *value, long long now);

/* The backoff before attempt `attempt` (1 = the first retry), with jitter. */
long http_backoff_ms(const struct http_options *o, int attempt);

/* Whether a status is worth retrying (408, 429, 500, 502, 503, 504). */
int http_status_retryable(long status);

/*
 * The total time one attempt of `req` may take, in milliseconds: its own
 * timeout_ms when set; else the client's attempt_timeout_ms, plus one
 * second per 256 KiB of request body (an upload of large blocks needs
 * more than a JSON call), or an hour for a download streamed to a sink
 * (its size is not known; the low-speed limit still ends a stalled one).
 */
long http_attempt_timeout_ms(const struct http_options *o, const struct http_request *req);

/*
 * Shared with core/http_multi.c, so parallel transfers behave exactly as
 * http_send does (same timeouts, TLS, CA bundle, proxy, retry rules).
 */

/* The client's options, defaults filled in; borrowed from `c`. */
const struct http_options *http_client_options(const struct http_client *c);
/* Applies the client's common settings (user agent, the request's
 * timeouts and low-speed limit within any deadline, the stop flag, TLS
 * verification and CA bundle, protocols, proxy bypass) to a libcurl easy
 * handle, passed as void * so that this header need not include curl.h.
 * ERR_TIMEOUT when the client's deadline has already passed (the message
 * names the request). */
int http_easy_defaults(struct http_client *c, void *easy, const struct http_request *req,
		       const char *where);
/* Sets the request's method on a libcurl easy handle: HEAD without a body,
 * an empty POST, or a streamed upload of the body (every PUT, and any
 * request with a body, whatever its method). Returns 1 for an upload: the
 * caller then sets the read and seek callbacks, which know its state. */
int http_easy_method(void *easy, const struct http_request *req);
/* The same for an attempt on `easy` that ended with `curl_code`: also not
 * when a proxy refused the tunnel or the stop flag cut it. */
int http_transfer_retryable(void *easy, int curl_code);
/*
 * The one mapping of a failed transfer (no answer) to an error:
 * ERR_CANCELLED "stopped" when the stop flag cut it, ERR_TIMEOUT for a timeout or a
 * stall, ERR_NETWORK otherwise ("proxy refused the tunnel: HTTP 403" when
 * the proxy answered CONNECT with an error). The message is "<method>
 * <where>: <reason>", plus "(gave up after N attempts)" when N > 1.
 */
int http_transfer_error(struct http_client *c, void *easy, int curl_code, const char *method,
			const char *where, const char *errbuf, int attempts);
/* The wait a response asks for (retry-after-ms, x-ms-retry-after-ms, then
 * Retry-After) in milliseconds, or -1 when it asks for none. */
long http_server_delay_ms(const struct http_response *r);

#endif
