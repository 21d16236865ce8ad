#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/encode.h"
#include "core/error.h"
#include "core/http_multi.h"
#include "core/log.h"
#include "core/banned.h"

#define DEFAULT_MAX_RESPONSE (16u << 20)
#define MAX_PARALLEL 64
/* Bigger than libcurl's 64 KiB default: fewer read callbacks and syscalls
 * per block, at 256 KiB per handle. */
#define UPLOAD_BUFFER (256L * 1024)

enum slot_state { SLOT_FREE, SLOT_RUNNING, SLOT_WAITING };

/* One transfer in the window: its request, retry state and libcurl handle. */
struct slot {
	enum slot_state state;
	CURL *easy;
	struct http_request req;   /* the caller's, copied */
	void *tag;
	struct http_response resp;
	struct buf where;          /* the URL without its query, for logs and errors */
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	int fd;                    /* the body file, or -1 */
	uint64_t body_pos;         /* bytes of the body sent in this attempt */
	size_t cap;
	int over_cap, sink_aborted, file_errno;
	int attempt;
	long waited_ms;
	long long started_ms, wake_ms;
};

struct run {
	struct http_client *client;
	const struct http_options *opts;
	const struct http_multi_ops *ops;
	CURLM *multi;
	struct slot *slots;
	int n;
	int active;        /* slots running or waiting */
	int stopping;
	int failure;       /* the first failure's code */
	struct error_saved failure_error; /* and all of it, kept apart from later callbacks */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail(struct run *r, int code)
{
	if (r->failure)
		return;
	r->failure = code;
	error_save(&r->failure_error);
	r->failure_error.code = code; /* the run's result, as returned */
	r->stopping = 1;
}

/* ---- libcurl callbacks (the same rules as http.c's) ---- */

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct slot *s = ctx;
	struct buf *h = &s->resp.headers;
	size_t len = size * n;

	/* A new status line (after 100 Continue, say) starts a new header set. */
	if (len >= 5 && !memcmp(data, "HTTP/", 5)) {
		buf_reset(h);
		return len;
	}
	if (len <= 2 && (data[0] == '\r' || data[0] == '\n'))
		return len;
	if (h->len + len > 256 * 1024)
		return len;
	buf_add(h, data, len);
	while (h->len && (h->data[h->len - 1] == '\n' || h->data[h->len - 1] == '\r'))
		buf_setlen(h, h->len - 1);
	buf_addch(h, '\n');
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct slot *s = ctx;
	size_t len = size * n;
	long status = 0;

	/* Only a successful body goes to the sink; an error body stays readable. */
	if (s->req.sink)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	if (s->req.sink && status >= 200 && status < 300) {
		if (s->req.sink(data, len, s->req.sink_ctx)) {
			s->sink_aborted = 1;
			return 0;
		}
		return len;
	}
	if (s->resp.body.len + len > s->cap) {
		s->over_cap = 1;
		return 0;
	}
	buf_add(&s->resp.body, data, len);
	return len;
}

/* pread from the slice: no shared file position, no stdio buffer to copy through. */
static size_t on_read(char *out, size_t size, size_t n, void *ctx)
{
	struct slot *s = ctx;
	uint64_t total = s->req.body_file ? s->req.file_length : s->req.body_len;
	size_t want = size * n;
	ssize_t got;

	if (want > total - s->body_pos)
		want = (size_t)(total - s->body_pos);
	if (!want)
		return 0;
	if (s->fd < 0) {
		memcpy(out, (const char *)s->req.body + s->body_pos, want);
		s->body_pos += want;
		return want;
	}
	do
		got = pread(s->fd, out, want, (off_t)(s->req.file_offset + s->body_pos));
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		/* A file that shrank under us is an error too, not a short body. */
		s->file_errno = got < 0 ? errno : EIO;
		return CURL_READFUNC_ABORT;
	}
	s->body_pos += (uint64_t)got;
	return (size_t)got;
}

static int on_seek(void *ctx, curl_off_t offset, int origin)
{
	struct slot *s = ctx;

	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	s->body_pos = 0;
	return CURL_SEEKFUNC_OK;
}

/* ---- one attempt ---- */

static void setup_method(struct slot *s)
{
	const struct http_request *req = &s->req;
	CURL *e = s->easy;

	if (http_easy_method(e, req)) {
		curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, s);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, s);
	}
}

static void finish(struct run *r, struct slot *s, int result);

static void start_attempt(struct run *r, struct slot *s)
{
	const char *const *h;
	CURL *e = s->easy;
	int ret;

	buf_reset(&s->resp.body);
	buf_reset(&s->resp.headers);
	s->resp.status = 0;
	s->over_cap = s->sink_aborted = s->file_errno = 0;
	s->body_pos = 0;
	if (s->req.sink_reset && s->attempt > 0)
		s->req.sink_reset(s->req.sink_ctx);
	s->attempt++;

	curl_easy_reset(e);
	s->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(e, CURLOPT_URL, s->req.url);
	if ((ret = http_easy_defaults(r->client, e, &s->req, s->where.data))) {
		finish(r, s, ret);
		return;
	}
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);

	curl_slist_free_all(s->headers);
	s->headers = NULL;
	for (h = s->req.headers; h && *h; h++)
		s->headers = curl_slist_append(s->headers, *h);
	/* No 100-continue round trip, as in http.c. */
	s->headers = curl_slist_append(s->headers, "Expect:");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
	setup_method(s);

	s->started_ms = now_ms();
	s->state = SLOT_RUNNING;
	curl_multi_add_handle(r->multi, e);
}

/* Hands a finished transfer to the caller and frees its slot. */
static void finish(struct run *r, struct slot *s, int result)
{
	int ret;

	if (s->state == SLOT_RUNNING)
		curl_multi_remove_handle(r->multi, s->easy);
	ret = r->ops->done(r->ops->ctx, s->tag, result, &s->resp);
	if (ret < 0 && result != HTTP_MULTI_CANCELLED)
		fail(r, ret);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	http_response_release(&s->resp);
	buf_release(&s->where);
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	s->tag = NULL;
	s->state = SLOT_FREE;
	r->active--;
}

/* Starts the caller's next request in `s`; 0 when there was none. */
static int fill(struct run *r, struct slot *s)
{
	struct http_request req = { 0 };
	void *tag = NULL;
	int ret = r->ops->next(r->ops->ctx, &req, &tag);

	if (ret <= 0) {
		if (ret < 0)
			fail(r, ret);
		return 0;
	}
	s->req = req;
	s->tag = tag;
	s->attempt = 0;
	s->waited_ms = 0;
	s->cap = req.max_response ? req.max_response : DEFAULT_MAX_RESPONSE;
	buf_init(&s->where);
	url_without_query(&s->where, req.url);
	r->active++;
	s->state = SLOT_WAITING;
	s->fd = -1;
	if (req.body_file) {
		s->fd = open(req.body_file, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0) {
			finish(r, s, error_set(ERR_IO, "%s: %s", req.body_file, strerror(errno)));
			return 1;
		}
	}
	start_attempt(r, s);
	return 1;
}

/*
 * Decides what a finished attempt means, with http_send's rules: a final
 * answer or error goes to `done`; a retryable one waits on the slot's own
 * timer while the other slots keep going.
 */
static void attempt_ended(struct run *r, struct slot *s, CURLcode rc)
{
	const struct http_request *req = &s->req;
	long delay;
	int retry;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->resp.status);
	curl_multi_remove_handle(r->multi, s->easy);
	s->state = SLOT_WAITING;
	s->resp.attempts = s->attempt;
	log_debug("HTTP %s %s -> %ld (%lld ms)%s%s", req->method, s->where.data,
		  rc == CURLE_OK ? s->resp.status : 0L, now_ms() - s->started_ms,
		  rc == CURLE_OK ? "" : " ", rc == CURLE_OK ? "" : curl_easy_strerror(rc));

	if (s->file_errno) {
		finish(r, s, error_set(ERR_IO, "%s: %s", req->body_file, strerror(s->file_errno)));
		return;
	}
	if (s->over_cap) {
		finish(r, s, error_set(ERR_HTTP, "%s %s: response larger than %zu bytes",
				       req->method, s->where.data, s->cap));
		return;
	}
	if (s->sink_aborted) {
		finish(r, s, error_prefix("%s %s", req->method, s->where.data));
		return;
	}
	retry = rc == CURLE_OK ? http_status_retryable(s->resp.status)
			       : http_transfer_retryable(s->easy, rc);
	if (!retry || req->no_retry || s->attempt >= r->opts->max_attempts)
		goto final;
	/* A timed-out attempt spent the budget as surely as a wait. */
	if (rc == CURLE_OPERATION_TIMEDOUT)
		s->waited_ms += (long)(now_ms() - s->started_ms);
	delay = rc == CURLE_OK ? http_server_delay_ms(&s->resp) : -1;
	if (delay < 0)
		delay = http_backoff_ms(r->opts, s->attempt);
	if (delay > r->opts->retry_max_delay_ms)
		delay = r->opts->retry_max_delay_ms;
	if (s->waited_ms + delay > r->opts->retry_budget_ms)
		goto final; /* out of patience: hand back what we have */
	if (rc == CURLE_OK)
		log_info("%s %s answered %ld; retrying in %.1f s", req->method,
			 s->where.data, s->resp.status, (double)delay / 1000);
	else
		log_info("%s %s failed (%s); retrying in %.1f s", req->method,
			 s->where.data, curl_easy_strerror(rc), (double)delay / 1000);
	s->waited_ms += delay;
	s->wake_ms = now_ms() + delay;
	return;
final:
	if (rc != CURLE_OK) {
		finish(r, s, http_transfer_error(r->client, s->easy, rc, req->method, s->where.data,
						 s->errbuf, s->attempt));
		return;
	}
	finish(r, s, 0);
}

static void read_messages(struct run *r)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(r->multi, &left))) {
		char *slot = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
		if (slot)
			attempt_ended(r, (struct slot *)(void *)slot, msg->data.result);
	}
}

/* Fills free slots and restarts due retries; returns the ms until the next
 * retry is due (or `cap`). */
static long schedule(struct run *r, long cap)
{
	long long now = now_ms();
	long wait = cap;
	int i;

	for (i = 0; i < r->n; i++) {
		struct slot *s = &r->slots[i];

		if (s->state == SLOT_FREE && !r->stopping)
			fill(r, s);
		if (s->state != SLOT_WAITING || r->stopping)
			continue;
		if (s->wake_ms <= now)
			start_attempt(r, s);
		else if (s->wake_ms - now < wait)
			wait = (long)(s->wake_ms - now);
	}
	return wait;
}

static void cancel_all(struct run *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (r->slots[i].state != SLOT_FREE)
			finish(r, &r->slots[i], HTTP_MULTI_CANCELLED);
}

int http_multi_run(struct http_client *c, int parallel, const struct http_multi_ops *ops)
{
	struct run r = { 0 };
	int i, running = 0;

	r.client = c;
	r.opts = http_client_options(c);
	r.ops = ops;
	r.n = parallel < 1 ? 1 : parallel > MAX_PARALLEL ? MAX_PARALLEL : parallel;
	r.slots = xcalloc((size_t)r.n, sizeof(*r.slots));
	r.multi = curl_multi_init();
	if (!r.multi) {
		r.failure = error_set(ERR_NETWORK, "libcurl could not create a multi handle");
		goto done;
	}
	for (i = 0; i < r.n; i++) {
		r.slots[i].fd = -1;
		r.slots[i].easy = curl_easy_init();
		if (!r.slots[i].easy) {
			r.failure = error_set(ERR_NETWORK, "libcurl could not create a handle");
			goto done;
		}
	}
	/* Several transfers to one host: open connections side by side rather
	 * than waiting to pipeline or multiplex on one. */
	curl_multi_setopt(r.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)r.n);

	for (;;) {
		long wait;
		int before, busy = 0;

		if (http_client_stopping(c)) {
			fail(&r, error_set(ERR_CANCELLED, "stopped"));
			break;
		}
		wait = schedule(&r, 1000);
		before = r.active;
		if (r.stopping)
			break;
		/* One piece of the caller's work per turn, then libcurl is served
		 * again: the sockets never sit idle for longer than a piece. */
		if (ops->work && (busy = ops->work(ops->ctx)) < 0) {
			fail(&r, busy);
			break;
		}
		if (!r.active && !busy)
			break;
		if (r.active) {
			curl_multi_perform(r.multi, &running);
			read_messages(&r);
		}
		/* Something ended: go round at once to refill the window; and
		 * while there is work, poll no longer than perform already did. */
		if (r.active < before || r.stopping || busy)
			wait = 0;
		if (wait > 0)
			curl_multi_poll(r.multi, NULL, 0, (int)wait, NULL);
	}
done:
	cancel_all(&r);
	for (i = 0; i < r.n; i++)
		if (r.slots[i].easy)
			curl_easy_cleanup(r.slots[i].easy);
	if (r.multi)
		curl_multi_cleanup(r.multi);
	free(r.slots);
	if (r.failure_error.message) {
		/* Cancelled transfers' callbacks may have set messages since. */
		error_restore(&r.failure_error);
		error_saved_release(&r.failure_error);
	}
	return r.failure;
}
