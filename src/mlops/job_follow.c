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

int job_outcome_error(const struct aml_job *job)
{
	enum job_outcome outcome = job_outcome_of(job->status);
	int code = outcome == JOB_OUTCOME_CANCELED ? ERR_CANCELLED : ERR_REMOTE_FAILED;

	if (outcome == JOB_OUTCOME_SUCCEEDED)
		return 0;
	return error_set(code, "job %s ended %s%s%s", job->name, aml_job_status_name(job->status),
			 job->error ? ": " : "", job->error ? job->error : "");
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int stopping(const struct job_follow_options *o)
{
	return o->stop && *o->stop;
}

/* Sleeps `ms`, in short slices so a stop or the deadline ends it early. */
static void nap(const struct job_follow_options *o, long ms, double deadline)
{
	double until = now_s() + (double)ms / 1000.0;

	while (!stopping(o) && now_s() < until && now_s() < deadline) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

/* ---- following ---- */

struct log_state {
	struct aml_job_log log;
	struct job_lines lines;
	uint64_t offset;
	int opened, warned;
};

/* Reads what is new in the log; 1 when bytes arrived. Never fails the
 * follow: a log that cannot be read now is said once (per outage) and
 * tried again at the next poll. */
static int read_log(struct log_state *st, struct aml *aml, const char *name,
		    const struct job_follow_options *o)
{
	struct buf chunk = BUF_INIT;
	size_t n = 0;
	int got = 0;

	if (!o->on_line || stopping(o))
		return 0;
	if (!st->opened) {
		if (aml_job_log_open(&st->log, aml, name, o->tokens)) {
			if (!st->warned)
				log_warning("the log of job %s cannot be read now, following its "
					    "status: %s", name, error_message());
			st->warned = 1;
			return 0;
		}
		st->opened = 1;
	}
	/* Drain: a finished job may have more than one read's worth. */
	for (;;) {
		buf_reset(&chunk);
		if (aml_job_log_read(&chunk, &n, &st->log, st->offset, 0)) {
			if (!st->warned)
				log_warning("reading the log of job %s: %s", name, error_message());
			st->warned = 1;
			break;
		}
		if (!n)
			break;
		got = 1;
		st->warned = 0;
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

/* job_cancel, also saying in `*ended` whether the job was seen to end. */
static int cancel(struct aml *aml, const char *name, long limit_s, int *ended)
{
	struct http_client *http = aml->arm->http;
	int ret;

	*ended = 0;
	log_info("cancelling job %s", name);
	/* The deadline, a little past the wait's own limit, bounds the POST
	 * and every poll after it: a hung service cannot hold a stopping
	 * program past what its runner allows. */
	http_client_set_deadline(http, limit_s * 1000 + 500);
	ret = aml_job_cancel(aml, name, limit_s);
	http_client_set_deadline(http, 0);
	if (ret == ERR_TIMEOUT) {
		log_info("job %s was asked to cancel; it had not ended after %ld s", name, limit_s);
		return 0;
	}
	if (ret)
		log_warning("cancelling job %s: %s", name, error_message());
	else
		*ended = 1;
	return ret;
}

int job_cancel(struct aml *aml, const char *name, long limit_s)
{
	int ended;

	return cancel(aml, name, limit_s, &ended);
}

/* A 401 this many times in a row is a refusal, not an expired token. */
#define AUTH_RETRIES 3

/* Whether a failed status read is an outage worth waiting out. */
static int transient(int ret, long status, int *auth_failures)
{
	if (ret == ERR_AUTH && status == 401)
		return ++*auth_failures < AUTH_RETRIES;
	*auth_failures = 0;
	return ret == ERR_NETWORK || ret == ERR_TIMEOUT ||
	       (ret == ERR_HTTP && http_status_retryable(status));
}

/* What one follow keeps between polls. */
struct follower {
	struct aml *aml;
	const char *name;
	const struct job_follow_options *o;
	struct log_state st;
	enum aml_job_status last;
	double start, deadline, last_report, outage;
	long wait_ms, cancel_s;
	int first, auth_failures;
};

/* The status could not be read: 1 to try again (an outage, while time
 * is left), or 0 with `*ret` the error to end with, having cancelled the
 * job (we cannot follow it any further). */
static int read_failed(struct follower *f, int *ret, long status)
{
	struct error_saved why = ERROR_SAVED_INIT;
	int timed_out = now_s() >= f->deadline;

	if (transient(*ret, status, &f->auth_failures) && !timed_out) {
		if (!f->outage) {
			f->outage = now_s();
			log_warning("job %s: its status cannot be read (%s); trying again "
				    "until the timeout", f->name, error_message());
		}
		*ret = 0;
		f->wait_ms = job_poll_next_ms(f->wait_ms, 0);
		nap(f->o, f->wait_ms, f->deadline);
		return 1;
	}
	/* Giving up: cancel what we follow first, keeping why. */
	error_save(&why);
	log_warning("following job %s failed: %s", f->name, why.message);
	job_cancel(f->aml, f->name, f->cancel_s);
	if (timed_out)
		*ret = error_set(ERR_TIMEOUT, "job %s: its status could not be read "
				 "until the timeout (%s); it was cancelled", f->name, why.message);
	else
		*ret = error_restore(&why);
	error_saved_release(&why);
	return 0;
}

/* Stopped by a signal: the job cancelled within JOB_CANCEL_STOP_S, and
 * `job` says what the cancel left, so the summary can say it. */
static int stopped(struct follower *f, struct aml_job *job)
{
	const volatile sig_atomic_t *stop = f->o->stop;
	const char *sig = *stop == SIGTERM ? "SIGTERM" : *stop == SIGINT ? "SIGINT" : "a stop signal";
	int ended = 0;

	log_warning("%s received: cancelling job %s before stopping", sig, f->name);
	if (cancel(f->aml, f->name, JOB_CANCEL_STOP_S, &ended) == 0) {
		job->status = ended ? AML_JOB_CANCELED : AML_JOB_CANCEL_REQUESTED;
		free(job->status_text);
		job->status_text = xstrdup(aml_job_status_name(job->status));
	}
	return error_set(ERR_CANCELLED, "stopped by %s while following job %s; the job %s",
			 sig, f->name, ended ? "was cancelled" : "was asked to cancel");
}

/* Progress: a line for each new status, and one every PROGRESS_EVERY_S
 * while it stays; the end of an outage is said once. Returns whether the
 * status moved. */
static int report(struct follower *f, const struct aml_job *job)
{
	const char *status = job->status_text ? job->status_text : aml_job_status_name(job->status);
	long elapsed = (long)(now_s() - f->start);
	int moved = f->first || job->status != f->last;

	if (f->outage) {
		struct buf e = BUF_INIT;

		job_format_elapsed(&e, (long)(now_s() - f->outage));
		log_info("job %s: its status is readable again after %s", f->name, e.data);
		buf_release(&e);
		f->outage = 0;
	}
	f->auth_failures = 0;
	if (moved || now_s() - f->last_report >= PROGRESS_EVERY_S) {
		progress(f->o, moved ? "job %s: %s after %s" : "job %s: still %s after %s",
			 f->name, status, elapsed);
		f->last_report = now_s();
	}
	f->first = 0;
	f->last = job->status;
	return moved;
}

static int timed_out(struct follower *f, const struct aml_job *job)
{
	struct buf e = BUF_INIT;
	int ret;

	job_format_elapsed(&e, f->o->timeout_s);
	log_warning("job %s is still %s after %s: cancelling it", f->name,
		    aml_job_status_name(job->status), e.data);
	job_cancel(f->aml, f->name, f->cancel_s);
	read_log(&f->st, f->aml, f->name, f->o);
	ret = error_set(ERR_TIMEOUT, "job %s did not finish within %s; it was cancelled",
			f->name, e.data);
	buf_release(&e);
	return ret;
}

int job_follow(struct aml_job *out, struct aml *aml, const char *name,
	       const struct job_follow_options *o)
{
	struct follower f;
	int ret = 0;

	memset(&f, 0, sizeof(f));
	f.aml = aml;
	f.name = name;
	f.o = o;
	f.st.log = (struct aml_job_log)AML_JOB_LOG_INIT;
	f.st.lines = (struct job_lines)JOB_LINES_INIT;
	f.last = AML_JOB_UNKNOWN;
	f.start = f.last_report = now_s();
	f.deadline = f.start + (double)o->timeout_s;
	f.wait_ms = JOB_POLL_MIN_MS;
	f.cancel_s = o->cancel_timeout_s > 0 ? o->cancel_timeout_s : 120;
	f.first = 1;
	for (;;) {
		long status = 0;
		int moved;

		if (!stopping(o) && (ret = aml_job_read(out, &status, aml, name))) {
			if (stopping(o))
				ret = 0; /* the stop cut the read: said below */
			else if (read_failed(&f, &ret, status))
				continue;
			else
				break;
		}
		if (stopping(o)) {
			ret = stopped(&f, out);
			break;
		}
		moved = report(&f, out);
		moved |= read_log(&f.st, aml, name, o);
		if (aml_job_status_terminal(out->status)) {
			read_log(&f.st, aml, name, o);
			break;
		}
		if (now_s() >= f.deadline) {
			ret = timed_out(&f, out);
			break;
		}
		f.wait_ms = job_poll_next_ms(f.wait_ms, moved);
		nap(o, f.wait_ms, f.deadline);
	}
	if (o->on_line && f.st.opened)
		job_lines_flush(&f.st.lines, o->on_line, o->ctx);
	job_lines_release(&f.st.lines);
	aml_job_log_release(&f.st.log);
	return ret;
}

/* ---- log download ---- */

int job_logs_download(size_t *count_out, struct aml *aml, const char *name, const char *dir,
		      struct token_source tokens)
{
	static const char *const folders[] = { "user_logs", "system_logs", "azureml-logs", "logs" };
	struct aml_job_log log = AML_JOB_LOG_INIT;
	struct blob_auth auth;
	struct blob_client *c = NULL;
	struct buf key = BUF_INIT, container = BUF_INIT, prefix = BUF_INIT, sub = BUF_INIT;
	const char *host, *p;
	size_t i, n;
	int ret;

	*count_out = 0;
	if ((ret = aml_job_log_open(&log, aml, name, tokens)))
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
		auth.tokens = log.tokens;
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
