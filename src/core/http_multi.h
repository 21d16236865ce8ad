#ifndef CORE_HTTP_MULTI_H
#define CORE_HTTP_MULTI_H

#include "core/http.h"

/*
 * Parallel transfers: up to `parallel` requests in flight at once over one
 * libcurl multi handle, on a single thread (curl_multi_poll, no busy
 * waits). Each transfer behaves exactly as http_send would: the client's
 * timeouts, TLS verification, CA bundle and proxy; retries on
 * 408/429/500/502/503/504 and network errors with backoff and Retry-After
 * within the client's budget, each transfer on its own timer (one waiting
 * to retry does not hold the others back); bodies from memory or streamed
 * from a file slice, so no transfer holds its body in memory; responses
 * captured up to `max_response` (or streamed to `sink`); one debug log
 * line per attempt, without the query string.
 *
 * The caller feeds the window through `next`, one request at a time, so
 * memory stays bounded by `parallel` whatever the amount of work.
 */

/* `done`'s result for a transfer cut short because the run is stopping. */
#define HTTP_MULTI_CANCELLED 1

struct http_multi_ops {
	/*
	 * Fills `req` with the next request and `*tag` with a value handed back
	 * to `done`, and returns 1. What `req` points to (URL, headers, body)
	 * must stay valid until `done` is called for that tag; `req` itself is
	 * copied. Returns 0 when nothing is ready now (it is asked again after
	 * every transfer ends, so work that waits on other transfers can be
	 * issued later), or a negative code with the message set to stop the run.
	 */
	int (*next)(void *ctx, struct http_request *req, void **tag);
	/*
	 * Called exactly once per transfer `next` gave. `result` is 0 when a
	 * response arrived (`resp` holds it, whatever its status: a retryable
	 * status that never cleared is the last one); a negative code when none
	 * did (network error, unreadable body file, response over its cap: the
	 * message is set, `resp` holds what there is); or HTTP_MULTI_CANCELLED
	 * when the run stopped first. Returns 0 to go on, or a negative code
	 * with the message set to stop the run (ignored for a cancelled one).
	 * `resp` is released after the call; the callee may take its buffers.
	 */
	int (*done)(void *ctx, void *tag, int result, struct http_response *resp);
	void *ctx;
	/*
	 * Optional (NULL: none): one bounded piece of the caller's own work,
	 * done on this thread between network events so that it never holds
	 * the transfers in flight back for long, e.g. hashing the next bodies
	 * while the current ones are sent. A piece should take well under a
	 * millisecond or two. Returns 1 when it did something (it is called
	 * again at once, after libcurl is served without waiting; `next` is
	 * asked again first, so a piece may make a request ready), 0 when it
	 * has nothing to do now (the loop then waits for the network as
	 * usual), or a negative code with the message set to stop the run.
	 * The run ends only when `next` has nothing, none is in flight and
	 * `work` returns 0.
	 */
	int (*work)(void *ctx);
};

/*
 * Runs transfers until `next` has nothing more and none is in flight.
 * `parallel` is clamped to 1..64. The first failure (a negative return
 * from `next` or `done`) stops issuing new transfers, cancels those in
 * flight, and is returned with its message; 0 when all went well.
 */
int http_multi_run(struct http_client *c, int parallel, const struct http_multi_ops *ops);

#endif
