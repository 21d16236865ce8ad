#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/http.h"
#include "core/log.h"
#include "core/banned.h"

#ifndef MLOPS_VERSION
#define MLOPS_VERSION "dev"
#endif

#define DEFAULT_MAX_RESPONSE (16u << 20)

struct http_client {
	CURL *easy;
	struct http_options opts;
	const volatile sig_atomic_t *stop;
	long long deadline_ms;   /* monotonic; 0: none */
	char *ca_file;
	char *user_agent;
	char errbuf[CURL_ERROR_SIZE];
};

/* State of one attempt, shared with the libcurl callbacks. */
struct transfer {
	const struct http_request *req;
	struct http_response *resp;
	size_t cap;
	int over_cap;
	int sink_aborted;
	FILE *file;
	uint64_t file_left;
	size_t mem_off;
	int file_errno;
	CURL *easy;
};

static long msec_or(long v, long fallback)
{
	return v > 0 ? v : fallback;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int http_client_new(struct http_client **out, const struct http_options *opts)
{
	static int global_done;
	struct http_client *c;
	const char *ca;

	*out = NULL;
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return error_set(ERR_NETWORK, "libcurl failed to initialise");
		global_done = 1;
	}
	c = xcalloc(1, sizeof(*c));
	if (opts)
		c->opts = *opts;
	c->opts.connect_timeout_ms = msec_or(c->opts.connect_timeout_ms, 30000);
	c->opts.attempt_timeout_ms = msec_or(c->opts.attempt_timeout_ms, 120000);
	c->opts.stall_timeout_ms = msec_or(c->opts.stall_timeout_ms, 30000);
	c->opts.max_attempts = c->opts.max_attempts > 0 ? c->opts.max_attempts : 6;
	c->opts.retry_base_ms = msec_or(c->opts.retry_base_ms, 800);
	c->opts.retry_max_delay_ms = msec_or(c->opts.retry_max_delay_ms, 60000);
	c->opts.retry_budget_ms = msec_or(c->opts.retry_budget_ms, 300000);
	c->user_agent = xstrdup(c->opts.user_agent ? c->opts.user_agent
						   : "mlops/" MLOPS_VERSION);
	c->opts.user_agent = c->user_agent;
	/* The same variables curl(1) and OpenSSL honour, in that order. */
	ca = getenv("SSL_CERT_FILE");
	if (!ca || !*ca)
		ca = getenv("CURL_CA_BUNDLE");
	if (ca && *ca)
		c->ca_file = xstrdup(ca);
	c->easy = curl_easy_init();
	if (!c->easy) {
		http_client_free(c);
		return error_set(ERR_NETWORK, "libcurl could not create a handle");
	}
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	free(c->ca_file);
	free(c->user_agent);
	free(c);
}

void http_client_set_stop(struct http_client *c, const volatile sig_atomic_t *stop)
{
	c->stop = stop;
}

int http_client_stopping(const struct http_client *c)
{
	return c->stop && *c->stop && !c->deadline_ms;
}

void http_client_set_deadline(struct http_client *c, long ms)
{
	c->deadline_ms = ms > 0 ? now_ms() + ms : 0;
}

long http_attempt_timeout_ms(const struct http_options *o, const struct http_request *req)
{
	uint64_t body = req->body_file ? req->file_length : req->body ? req->body_len : 0;

	if (req->timeout_ms > 0)
		return req->timeout_ms;
	if (req->sink)
		return 3600L * 1000;
	/* At least 256 KiB/s for a body: a 4 MiB block gets 16 s more, a
	 * 100 MiB one 400 s; a stall is the low-speed limit's to catch. */
	return o->attempt_timeout_ms + (long)(body / (256 * 1024)) * 1000;
}

void http_response_release(struct http_response *r)
{
	buf_release(&r->body);
	buf_release(&r->headers);
	r->status = 0;
	r->attempts = 0;
}

int http_status_retryable(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

/* Whether a libcurl result code (a CURLcode) is a network error worth retrying. */
static int http_curl_retryable(int rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

long http_retry_after_ms(const char *value, long long now)
{
	const char *p;
	time_t when;

	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (!*value)
		return -1;
	for (p = value; *p >= '0' && *p <= '9'; p++)
		;
	if (p != value && (!*p || *p == ' ')) {
		long long secs = strtoll(value, NULL, 10);
		if (secs > 86400)
			secs = 86400;
		return (long)(secs * 1000);
	}
	when = curl_getdate(value, NULL);
	if (when < 0)
		return -1;
	return when <= now ? 0 : (long)((when - now) * 1000);
}

long http_backoff_ms(const struct http_options *o, int attempt)
{
	double ceiling = (double)o->retry_base_ms;
	uint32_t r;
	int i;

	for (i = 1; i < attempt && ceiling < (double)o->retry_max_delay_ms; i++)
		ceiling *= 2;
	if (ceiling > (double)o->retry_max_delay_ms)
		ceiling = (double)o->retry_max_delay_ms;
	/* Half fixed, half random: spreads clients out without ever retrying at once. */
	random_bytes(&r, sizeof(r));
	return (long)(ceiling / 2 + ceiling / 2 * ((double)r / 4294967295.0));
}

int http_header(const struct http_response *r, const char *name, struct buf *out)
{
	size_t nlen = strlen(name);
	const char *line = r->headers.data;

	while (*line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);

		if (len > nlen && line[nlen] == ':' && !strncasecmp(line, name, nlen)) {
			const char *v = line + nlen + 1;
			const char *end = line + len;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && isspace((unsigned char)end[-1]))
				end--;
			buf_reset(out);
			buf_add(out, v, (size_t)(end - v));
			return 0;
		}
		if (!eol)
			break;
		line = eol + 1;
	}
	return ERR_NOT_FOUND;
}

int http_status_code(long status)
{
	switch (status) {
	case 401:
	case 403:
		return ERR_AUTH;
	case 404:
		return ERR_NOT_FOUND;
	case 409:
	case 412:
		return ERR_CONFLICT;
	default:
		return ERR_HTTP;
	}
}

int http_status_error(const struct http_response *r, const char *method,
		      const char *url, const char *detail)
{
	struct buf where = BUF_INIT;
	int code = http_status_code(r->status);

	url_without_query(&where, url);
	error_set(code, "%s %s: HTTP %ld%s%s", method, where.data, r->status,
		  detail && *detail ? ": " : "", detail ? detail : "");
	buf_release(&where);
	return code;
}

/* ---- libcurl callbacks ---- */

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;
	size_t len = size * n;

	/* A new status line (after 100 Continue, say) starts a new header set. */
	if (len >= 5 && !memcmp(data, "HTTP/", 5)) {
		buf_reset(&t->resp->headers);
		return len;
	}
	if (len <= 2 && (data[0] == '\r' || data[0] == '\n'))
		return len;
	if (t->resp->headers.len + len > 256 * 1024)
		return len; /* a flood of headers is not worth keeping */
	buf_add(&t->resp->headers, data, len);
	while (t->resp->headers.len &&
	       (t->resp->headers.data[t->resp->headers.len - 1] == '\n' ||
		t->resp->headers.data[t->resp->headers.len - 1] == '\r'))
		buf_setlen(&t->resp->headers, t->resp->headers.len - 1);
	buf_addch(&t->resp->headers, '\n');
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;
	size_t len = size * n;
	long status = 0;

	/* Only a successful body goes to the sink; an error body stays readable. */
	if (t->req->sink)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (t->req->sink && status >= 200 && status < 300) {
		if (t->req->sink(data, len, t->req->sink_ctx)) {
			t->sink_aborted = 1;
			return 0;
		}
		return len;
	}
	if (t->resp->body.len + len > t->cap) {
		t->over_cap = 1;
		return 0;
	}
	buf_add(&t->resp->body, data, len);
	return len;
}

static size_t on_read(char *out, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;
	size_t want = size * n, got;

	if (t->file) {
		if (want > t->file_left)
			want = (size_t)t->file_left;
		got = want ? fread(out, 1, want, t->file) : 0;
		if (got < want && ferror(t->file)) {
			t->file_errno = errno ? errno : EIO;
			return CURL_READFUNC_ABORT;
		}
		t->file_left -= got;
		return got;
	}
	if (want > t->req->body_len - t->mem_off)
		want = t->req->body_len - t->mem_off;
	memcpy(out, (const char *)t->req->body + t->mem_off, want);
	t->mem_off += want;
	return want;
}

static int rewind_body(struct transfer *t)
{
	if (t->file) {
		if (fseeko(t->file, (off_t)t->req->file_offset, SEEK_SET))
			return -1;
		t->file_left = t->req->file_length;
	}
	t->mem_off = 0;
	return 0;
}

static int on_seek(void *ctx, curl_off_t offset, int origin)
{
	struct transfer *t = ctx;

	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	return rewind_body(t) ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

/* ---- settings every handle shares (http_send and core/http_multi.c) ---- */

const struct http_options *http_client_options(const struct http_client *c)
{
	return &c->opts;
}

/* libcurl calls this at least once a second while a transfer runs, even
 * when nothing moves: where the stop flag cuts it. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return http_client_stopping(ctx);
}

int http_easy_defaults(struct http_client *c, void *easy, const struct http_request *req,
		       const char *where)
{
	long timeout = http_attempt_timeout_ms(&c->opts, req);
	long connect = req->connect_timeout_ms > 0 ? req->connect_timeout_ms
						   : c->opts.connect_timeout_ms;
	CURL *e = easy;

	if (c->deadline_ms) {
		long long left = c->deadline_ms - now_ms();

		if (left <= 0)
			return error_set(ERR_TIMEOUT, "%s %s: out of time", req->method, where);
		if (left < timeout)
			timeout = (long)left;
	}
	if (connect > timeout)
		connect = timeout;
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	/* Less than a byte a second, either way, for the stall time: the
	 * server or a middlebox has stopped. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
			 c->opts.stall_timeout_ms < 1000 ? 1L : c->opts.stall_timeout_ms / 1000);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
	if (req->no_proxy)
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	return 0;
}

/*
 * The status a proxy answered CONNECT with, when it refused the tunnel by
 * policy (403 Forbidden, 407 Proxy Authentication Required, any 3xx/4xx):
 * asking again gets the same answer. A 5xx (the proxy could not reach the
 * host, or is overloaded) is a network error like any other and retried.
 */
static long proxy_refusal(CURL *e)
{
	long code = 0;

	curl_easy_getinfo(e, CURLINFO_HTTP_CONNECTCODE, &code);
	return code >= 300 && code < 500 ? code : 0;
}

int http_transfer_retryable(void *easy, int rc)
{
	if (rc == CURLE_ABORTED_BY_CALLBACK || proxy_refusal(easy))
		return 0;
	return http_curl_retryable(rc);
}

int http_transfer_error(struct http_client *c, void *easy, int rc, const char *method,
			const char *where, const char *errbuf, int attempts)
{
	const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror((CURLcode)rc);
	long refused = proxy_refusal(easy);
	char gave_up[64] = "";
	int code = ERR_NETWORK;

	if (attempts > 1)
		snprintf(gave_up, sizeof(gave_up), " (gave up after %d attempts)", attempts);
	if (rc == CURLE_ABORTED_BY_CALLBACK && c->stop && *c->stop)
		return error_set(ERR_CANCELLED, "%s %s: stopped", method, where);
	if (refused)
		return error_set(ERR_NETWORK, "%s %s: the proxy refused the tunnel: HTTP %ld",
				 method, where, refused);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		code = ERR_TIMEOUT;
	return error_set(code, "%s %s: %s%s", method, where, why, gave_up);
}

int http_easy_method(void *easy, const struct http_request *req)
{
	CURL *e = easy;

	if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (req->body || req->body_file || !strcmp(req->method, "PUT")) {
		/* Every body is streamed the same way, whatever the method. */
		curl_off_t len = (curl_off_t)(req->body_file ? req->file_length : req->body_len);

		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, len);
		if (strcmp(req->method, "PUT"))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		return 1;
	} else if (!strcmp(req->method, "POST")) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	} else if (strcmp(req->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	}
	return 0;
}

/* ---- one attempt ---- */

static CURLcode perform(struct http_client *c, struct transfer *t, const char *where, int *ret)
{
	const struct http_request *req = t->req;
	struct curl_slist *headers = NULL;
	const char *const *h;
	CURL *e = c->easy;
	CURLcode rc;

	curl_easy_reset(e);
	c->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	if ((*ret = http_easy_defaults(c, e, req, where)))
		return CURLE_OK;
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);

	for (h = req->headers; h && *h; h++)
		headers = curl_slist_append(headers, *h);
	/* No 100-continue round trip: the servers we talk to answer at once. */
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);

	if (http_easy_method(e, req)) {
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, t);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, t);
	}

	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t->resp->status);
	curl_slist_free_all(headers);
	return rc;
}

/* Sleeps `ms`, in slices, so that a stop ends the wait at once. */
static void sleep_ms(struct http_client *c, long ms)
{
	long long until = now_ms() + ms;

	while (!http_client_stopping(c)) {
		long long left = until - now_ms();
		struct timespec ts;

		if (left <= 0)
			break;
		if (left > 100)
			left = 100;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

/* The wait the server asked for: Azure's retry-after-ms forms, then Retry-After. */
long http_server_delay_ms(const struct http_response *r)
{
	static const char *const ms_headers[] = { "retry-after-ms", "x-ms-retry-after-ms" };
	struct buf v = BUF_INIT;
	long ms = -1;
	size_t i;

	for (i = 0; i < 2 && ms < 0; i++)
		if (!http_header(r, ms_headers[i], &v) && v.len && strspn(v.data, "0123456789") == v.len)
			ms = strtol(v.data, NULL, 10);
	if (ms < 0 && !http_header(r, "Retry-After", &v))
		ms = http_retry_after_ms(v.data, (long long)time(NULL));
	buf_release(&v);
	return ms;
}

int http_send(struct http_client *c, const struct http_request *req,
	      struct http_response *out)
{
	struct transfer t = { 0 };
	struct buf where = BUF_INIT;
	long waited = 0;
	int attempt, ret = 0;

	http_response_release(out);
	url_without_query(&where, req->url);
	t.req = req;
	t.resp = out;
	t.easy = c->easy;
	t.cap = req->max_response ? req->max_response : DEFAULT_MAX_RESPONSE;
	if (req->body_file) {
		t.file = fopen(req->body_file, "rb");
		if (!t.file) {
			ret = error_set(ERR_IO, "%s: %s", req->body_file, strerror(errno));
			goto done;
		}
	}

	for (attempt = 1;; attempt++) {
		long long start = now_ms();
		long delay;
		CURLcode rc;
		int retry;

		buf_reset(&out->body);
		buf_reset(&out->headers);
		if (req->sink_reset && attempt > 1)
			req->sink_reset(req->sink_ctx);
		if (rewind_body(&t)) {
			ret = error_set(ERR_IO, "%s: %s", req->body_file, strerror(errno));
			goto done;
		}
		t.over_cap = t.sink_aborted = t.file_errno = 0;
		out->status = 0;
		if (http_client_stopping(c)) {
			ret = error_set(ERR_CANCELLED, "%s %s: stopped", req->method, where.data);
			goto done;
		}
		rc = perform(c, &t, where.data, &ret);
		if (ret)
			goto done;
		out->attempts = attempt;
		log_debug("HTTP %s %s -> %ld (%lld ms)%s%s", req->method, where.data,
			  rc == CURLE_OK ? out->status : 0L, now_ms() - start,
			  rc == CURLE_OK ? "" : " ", rc == CURLE_OK ? "" : curl_easy_strerror(rc));

		if (t.file_errno) {
			ret = error_set(ERR_IO, "%s: %s", req->body_file, strerror(t.file_errno));
			goto done;
		}
		if (t.over_cap) {
			ret = error_set(ERR_HTTP, "%s %s: response larger than %zu bytes",
					req->method, where.data, t.cap);
			goto done;
		}
		if (t.sink_aborted) {
			ret = error_prefix("%s %s", req->method, where.data);
			goto done;
		}
		if (rc == CURLE_OK)
			retry = http_status_retryable(out->status);
		else
			retry = http_transfer_retryable(c->easy, rc);
		/* A timed-out attempt spent the budget as surely as a wait. */
		if (rc == CURLE_OPERATION_TIMEDOUT)
			waited += (long)(now_ms() - start);
		delay = rc == CURLE_OK ? http_server_delay_ms(out) : -1;
		if (delay < 0)
			delay = http_backoff_ms(&c->opts, attempt);
		if (delay > c->opts.retry_max_delay_ms)
			delay = c->opts.retry_max_delay_ms;
		/* Out of attempts or of patience: hand back what we have. */
		if (!retry || req->no_retry || attempt >= c->opts.max_attempts ||
		    waited + delay > c->opts.retry_budget_ms ||
		    (c->deadline_ms && now_ms() + delay >= c->deadline_ms)) {
			if (rc != CURLE_OK)
				ret = http_transfer_error(c, c->easy, rc, req->method, where.data,
							  c->errbuf, attempt);
			goto done;
		}
		if (rc == CURLE_OK)
			log_info("%s %s answered %ld; retrying in %.1f s", req->method,
				 where.data, out->status, (double)delay / 1000);
		else
			log_info("%s %s failed (%s); retrying in %.1f s", req->method,
				 where.data, curl_easy_strerror(rc), (double)delay / 1000);
		sleep_ms(c, delay);
		waited += delay;
	}
done:
	if (t.file)
		fclose(t.file);
	buf_release(&where);
	return ret;
}
