#ifndef MLOPS_JOB_FOLLOW_H
#define MLOPS_JOB_FOLLOW_H

#include <signal.h>
#include <stddef.h>

#include "azure/aml_job.h"
#include "azure/token.h"
#include "core/buf.h"
#include "core/http.h"

/*
 * Following a submitted command job to its end: poll its status with
 * backoff, stream new lines of its std_log.txt as they arrive (incremental
 * ranged reads; a line is passed on only once its newline has come), report
 * progress, ride out outages of the service for as long as the timeout
 * allows, and cancel the job whenever following gives up (the wait ran
 * out, an error that will not clear, the process asked to stop) so that no
 * training job is left burning compute behind a workflow that ended.
 */

/* ---- pure pieces, exported for tests ---- */

/* Splits a byte stream read in arbitrary chunks into lines. */
struct job_lines {
	struct buf partial;     /* bytes after the last newline so far */
};
#define JOB_LINES_INIT { BUF_INIT }
typedef void (*job_line_fn)(const char *line, void *ctx);
/* Calls `fn` for every complete line in `partial` + `data` (without its
 * "\n" or "\r\n"), keeping the incomplete rest. A NUL byte reaches `fn`
 * as the two characters "\0", so the rest of its line is kept. A line longer than 64 KiB
 * is passed on in 64 KiB pieces, so a log without newlines cannot grow the
 * buffer without bound. */
void job_lines_feed(struct job_lines *l, const char *data, size_t len, job_line_fn fn, void *ctx);
/* Passes on the incomplete rest, if any (the log has ended). */
void job_lines_flush(struct job_lines *l, job_line_fn fn, void *ctx);
void job_lines_release(struct job_lines *l);

/* The polling schedule: the first wait, and after each poll the next one,
 * shorter again as soon as something moved (a new status or new log
 * bytes), else 1.5 times longer up to the cap. Milliseconds. */
#define JOB_POLL_MIN_MS 1000
#define JOB_POLL_MAX_MS 15000
long job_poll_next_ms(long current_ms, int progressed);

/* What a status means for a follower. */
enum job_outcome {
	JOB_OUTCOME_RUNNING,     /* keep following (also NotResponding, Paused, Unknown) */
	JOB_OUTCOME_SUCCEEDED,   /* Completed */
	JOB_OUTCOME_FAILED,      /* Failed */
	JOB_OUTCOME_CANCELED,    /* Canceled */
};
enum job_outcome job_outcome_of(enum aml_job_status s);
/*
 * The error for how a job waited on ended: 0 when Completed; ERR_CANCELLED
 * when Canceled; else ERR_REMOTE_FAILED (it ran and failed, or it has not
 * ended). The message is "job <name> ended <status>: <its error>".
 */
int job_outcome_error(const struct aml_job *job);

/* "1h02m05s", "3m20s", "7s". */
void job_format_elapsed(struct buf *out, long seconds);

/* ---- following ---- */

struct job_follow_options {
	long timeout_s;               /* how long to wait at most; then cancel */
	job_line_fn on_line;          /* each new log line; NULL: logs not read */
	/* A status line for the log ("Running after 1m05s"); NULL: none. */
	void (*on_progress)(const char *text, void *ctx);
	void *ctx;
	struct token_source tokens;   /* bearer fallback for the log blob; may be empty */
	long cancel_timeout_s;        /* how long to wait for a cancel; 0: 120 */
	/* Set by the caller's signal handler to the signal's number (NULL:
	 * none; SIGTERM and SIGINT are named in the log): following stops
	 * within a second or so and the job is cancelled within
	 * JOB_CANCEL_STOP_S, whatever the network does. */
	const volatile sig_atomic_t *stop;
};

/* How long the cancel a stopping program sends may take, all of it (the
 * HTTP deadline adds half a second): the step must be out within 5 s of
 * the runner's first signal, and the stop flag may take a second to end
 * the transfer in flight before the cancel starts; the watchdog
 * (WORKFLOW_STOP_GRACE_S, 4 s) comes after, and the summary is written
 * in between. */
#define JOB_CANCEL_STOP_S 2

/*
 * Asks Azure to cancel job `name` and waits for it to end, the whole of it
 * bounded to `limit_s` seconds even when the network hangs and even after
 * the stop flag of the client is up (http_client_set_deadline). 0 when the
 * job ended or the cancel was accepted and the time ran out; else the
 * error, already logged as a warning (a failed cancel does not change why
 * the caller gave up).
 */
int job_cancel(struct aml *aml, const char *name, long limit_s);

/*
 * Follows job `name` until it ends. `out` receives the last state read.
 * 0 when the job ended (Completed, Failed or Canceled: see out->status).
 * A status read that fails for a while (no answer, a timeout, 5xx, 429,
 * or a 401 up to twice in a row: an expired token) is an outage: logged, then polled again
 * with backoff until the timeout. Whenever it gives up the job is
 * cancelled first: ERR_TIMEOUT after `timeout_s`; ERR_CANCELLED when the
 * stop flag was raised; any other error of the status read (as aml_job_get)
 * that will not clear. A log that cannot be read is a warning, not an
 * error: the status decides.
 */
int job_follow(struct aml_job *out, struct aml *aml, const char *name,
	       const struct job_follow_options *o);

/*
 * Downloads a job's logs from the workspace's artifact store into `dir`:
 * everything under ExperimentRun/dcid.<job>/ user_logs/, system_logs/,
 * azureml-logs/ and logs/ (what Azure ML and the sandbox write), each
 * into the sub-folder of that name. `*count_out` receives the number of
 * files. `tokens` (may be empty) is the bearer fallback of aml_job_log_open.
 * ERR_NOT_FOUND when there is none at all.
 */
int job_logs_download(size_t *count_out, struct aml *aml, const char *name, const char *dir,
		      struct token_source tokens);

#endif
