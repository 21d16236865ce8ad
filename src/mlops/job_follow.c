#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azure/blob.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/log.h"
#include "mlops/job_follow.h"
#include "core/banned.h"

#define LINE_MAX_BYTES (64 * 1024)
/* A progress line at least this often while nothing changes. */
#define PROGRESS_EVERY_S 60

/* ---- lines ---- */

/* A NUL byte would end the C string `fn` gets, hiding the rest of the
 * line: it is passed on as the two characters "\0". */
static void emit(const char *s, size_t n, job_line_fn fn, void *ctx)
{
	struct buf line = BUF_INIT;
	size_t i;

	if (n && s[n - 1] == '\r')
		n--;
	for (i = 0; i < n; i++) {
		if (s[i])
			buf_addch(&line, s[i]);
		else
			buf_addstr(&line, "\\0");
	}
	fn(line.data, ctx);
	buf_release(&line);
}

void job_lines_feed(struct job_lines *l, const char *data, size_t len, job_line_fn fn, void *ctx)
{
	size_t start = 0, i;

	buf_add(&l->partial, data, len);
	for (i = 0; i < l->partial.len; i++) {
		if (l->partial.data[i] == '\n') {
			emit(l->partial.data + start, i - start, fn, ctx);
			start = i + 1;
		} else if (i + 1 - start >= LINE_MAX_BYTES) {
			emit(l->partial.data + start, i + 1 - start, fn, ctx);
			start = i + 1;
		}
	}
	if (start) {
		memmove(l->partial.data, l->partial.data + start, l->partial.len - start);
		buf_setlen(&l->partial, l->partial.len - start);
	}
}

void job_lines_flush(struct job_lines *l, job_line_fn fn, void *ctx)
{
	if (l->partial.len)
		emit(l->partial.data, l->partial.len, fn, ctx);
	buf_reset(&l->partial);
}

void job_lines_release(struct job_lines *l)
{
	buf_release(&l->partial);
}

/* ---- schedule, outcome ---- */

long job_poll_next_ms(long current_ms, int progressed)
{
	long next;

	if (progressed || current_ms < JOB_POLL_MIN_MS)
		return JOB_POLL_MIN_MS;
	next = current_ms + current_ms / 2;
	return next > JOB_POLL_MAX_MS ? JOB_POLL_MAX_MS : next;
}

enum job_outcome job_outcome_of(enum aml_job_status s)
{
	switch (s) {
	case AML_JOB_COMPLETED:
		return JOB_OUTCOME_SUCCEEDED;
	case AML_JOB_FAILED:
		return JOB_OUTCOME_FAILED;
	case AML_JOB_CANCELED:
		return JOB_OUTCOME_CANCELED;
	default:
		return JOB_OUTCOME_RUNNING;
	}
}

void job_format_elapsed(struct buf *out, long s)
{
	if (s < 0)
		s = 0;
	if (s >= 3600)
		buf_addf(out, "%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		buf_addf(out, "%ldm%02lds", s / 60, s % 60);
	else
		buf_addf(out, "%lds", s);
}

/* ---- signals ---- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct saved_signals {
	struct sigaction term, intr;
};

static void install_signals(struct saved_signals *saved)
{
	struct sigaction sa;

	stop_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &saved->term);
	sigaction(SIGINT, &sa, &saved->intr);
}

static void restore_signals(const struct saved_signals *saved)
{
	sigaction(SIGTERM, &saved->term, NULL);
	sigaction(SIGINT, &saved->intr, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps `ms`, in short slices so a signal or the deadline ends it early. */
static void nap(long ms, double deadline)
{
	double until = now_s() + (double)ms / 1000.0;

	while (!stop_signal && now_s() < until && now_s() < deadline) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

/* ---- following ---- */

struct log_state {
	struct aml_job_log log;
	struct job_lines lines;
	uint64_t offset;
	int opened, failed;
};

/* Reads what is new in the log; 1 when bytes arrived. Never fails the
 * follow: a log that cannot be read is said once and left alone. */
static int read_log(struct log_state *st, struct aml *aml, const char *name,
		    const struct job_follow_options *o)
{
	struct buf chunk = BUF_INIT;
	size_t n = 0;
	int got = 0;

	if (!o->on_line || st->failed)
		return 0;
	if (!st->opened) {
		if (aml_job_log_open(&st->log, aml, name, o->storage_token, o->token_ctx)) {
			log_warning("the log of job %s cannot be read, following its status only: %s",
				    name, error_message());
			st->failed = 1;
			return 0;
		}
		st->opened = 1;
	}
	/* Drain: a finished job may have more than one read's worth. */
	for (;;) {
		buf_reset(&chunk);
		if (aml_job_log_read(&chunk, &n, &st->log, st->offset, 0)) {
			log_warning("reading the log of job %s: %s", name, error_message());
			break;
		}
		if (!n)
			break;
		got = 1;
		st->offset += n;
		job_lines_feed(&st->lines, chunk.data, chunk.len, o->on_line, o->ctx);
	}
	buf_release(&chunk);
	return got;
}

static void progress(const struct job_follow_options *o, const char *fmt, const char *name,
		     const char *status, long elapsed)
{
	struct buf text = BUF_INIT, e = BUF_INIT;

	if (!o->on_progress)
		return;
	job_format_elapsed(&e, elapsed);
	buf_addf(&text, fmt, name, status, e.data);
	o->on_progress(text.data, o->ctx);
	buf_release(&text);
	buf_release(&e);
}

static int cancel(struct aml *aml, const char *name, const struct job_follow_options *o, long limit)
{
	long t = o->cancel_timeout_s > 0 ? o->cancel_timeout_s : 120;

	if (limit > 0 && limit < t)
		t = limit;
	log_info("cancelling job %s", name);
	if (aml_job_cancel(aml, name, t)) {
		log_warning("cancelling job %s: %s", name, error_message());
		return -1;
	}
	return 0;
}

int job_follow(struct aml_job *out, struct aml *aml, const char *name,
	       const struct job_follow_options *o)
{
	struct log_state st;
	struct saved_signals saved;
	enum aml_job_status last = AML_JOB_UNKNOWN;
	double start = now_s(), deadline = start + (double)o->timeout_s, last_report = start;
	long wait_ms = JOB_POLL_MIN_MS;
	int ret = 0, first = 1;

	memset(&st, 0, sizeof(st));
	st.log = (struct aml_job_log)AML_JOB_LOG_INIT;
	st.lines = (struct job_lines)JOB_LINES_INIT;
	install_signals(&saved);
	for (;;) {
		int moved;
		long elapsed;

		if ((ret = aml_job_get(out, aml, name)))
			break;
		elapsed = (long)(now_s() - start);
		moved = first || out->status != last;
		if (moved) {
			progress(o, "job %s: %s after %s", name, out->status_text ? out->status_text
				 : aml_job_status_name(out->status), elapsed);
			last_report = now_s();
		} else if (now_s() - last_report >= PROGRESS_EVERY_S) {
			progress(o, "job %s: still %s after %s", name, out->status_text ? out->status_text
				 : aml_job_status_name(out->status), elapsed);
			last_report = now_s();
		}
		first = 0;
		last = out->status;
		moved |= read_log(&st, aml, name, o);
		if (aml_job_status_terminal(out->status)) {
			read_log(&st, aml, name, o);
			break;
		}
		if (stop_signal) {
			int sig = stop_signal;

			log_warning("%s received: cancelling job %s before stopping",
				    sig == SIGTERM ? "SIGTERM" : "SIGINT", name);
			cancel(aml, name, o, 8);
			ret = error_set(ERR_IO, "stopped by %s while following job %s; the job was "
					"asked to cancel", sig == SIGTERM ? "SIGTERM" : "SIGINT", name);
			break;
		}
		if (now_s() >= deadline) {
			struct buf e = BUF_INIT;

			job_format_elapsed(&e, o->timeout_s);
			log_warning("job %s is still %s after %s: cancelling it", name,
				    aml_job_status_name(out->status), e.data);
			cancel(aml, name, o, 0);
			read_log(&st, aml, name, o);
			ret = error_set(ERR_TIMEOUT, "job %s did not finish within %s; it was cancelled",
					name, e.data);
			buf_release(&e);
			break;
		}
		wait_ms = job_poll_next_ms(wait_ms, moved);
		nap(wait_ms, deadline);
	}
	if (o->on_line && st.opened)
		job_lines_flush(&st.lines, o->on_line, o->ctx);
	restore_signals(&saved);
	job_lines_release(&st.lines);
	aml_job_log_release(&st.log);
	return ret;
}

/* ---- log download ---- */

struct bearer {
	arm_token_fn fn;
	void *ctx;
};

static int storage_bearer(void *ctx, const char **out)
{
	struct bearer *b = ctx;

	return b->fn(b->ctx, "https://storage.azure.com/.default", out);
}

int job_logs_download(size_t *count_out, struct aml *aml, const char *name, const char *dir,
		      arm_token_fn storage_token, void *token_ctx)
{
	static const char *const folders[] = { "user_logs", "system_logs", "azureml-logs", "logs" };
	struct aml_job_log log = AML_JOB_LOG_INIT;
	struct bearer bearer = { storage_token, token_ctx };
	struct blob_auth auth;
	struct blob_client *c = NULL;
	struct buf key = BUF_INIT, container = BUF_INIT, prefix = BUF_INIT, sub = BUF_INIT;
	const char *host, *p;
	size_t i, n;
	int ret;

	*count_out = 0;
	if ((ret = aml_job_log_open(&log, aml, name, storage_token, token_ctx)))
		goto done;
	/* log.url is https://<account>.blob.<suffix>/<container>/<blob>. */
	host = log.url + strlen("https://");
	p = strchr(host, '/');
	p = p ? strchr(p + 1, '/') : NULL;
	if (!p) {
		ret = error_set(ERR_INPUT, "job %s: the log URL has no container", name);
		goto done;
	}
	buf_add(&container, log.url, (size_t)(p - log.url));
	memset(&auth, 0, sizeof(auth));
	if (log.key.len) {
		base64_encode(&key, log.key.data, log.key.len);
		auth.kind = BLOB_AUTH_SHARED_KEY;
		auth.account_key = key.data;
	} else {
		auth.kind = BLOB_AUTH_BEARER;
		auth.token = storage_bearer;
		auth.token_ctx = &bearer;
	}
	if ((ret = blob_client_new(&c, log.http, container.data, &auth)))
		goto done;
	for (i = 0; i < sizeof(folders) / sizeof(*folders); i++) {
		buf_reset(&prefix);
		buf_addf(&prefix, "ExperimentRun/dcid.%s/%s/", name, folders[i]);
		buf_reset(&sub);
		buf_addf(&sub, "%s/%s", dir, folders[i]);
		n = 0;
		if ((ret = blob_download_prefix(c, sub.data, prefix.data, 4, &n)))
			goto done;
		*count_out += n;
	}
	if (!*count_out)
		ret = error_set(ERR_NOT_FOUND, "job %s has no logs under ExperimentRun/dcid.%s/",
				name, name);
done:
	blob_client_free(c);
	aml_job_log_release(&log);
	buf_wipe(&key);
	buf_release(&key);
	buf_release(&container);
	buf_release(&prefix);
	buf_release(&sub);
	return ret;
}
