/*
 * The exit-code rule and the signal handling every workflow shares
 * (src/cmd/workflow.c), driven through workflow_run with small workflows
 * on the terminal host.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cmd/workflow.h"
#include "core/fs.h"
#include "core/log.h"
#include "support/check.h"
#include "support/tmpdir.h"

static const struct input_spec no_inputs[] = { { NULL, NULL, NULL, 0 } };
static const struct output_spec no_outputs[] = { { NULL, NULL } };

static void terminal(void)
{
	unsetenv("GITHUB_ACTIONS");
	unsetenv("TF_BUILD");
}

TestSuite(workflow, .init = terminal);

static int input_error_at_once(struct ci *ci)
{
	(void)ci;
	return error_set(ERR_INPUT, "Input x: bad");
}

static int input_error_after_a_change(struct ci *ci)
{
	(void)ci;
	workflow_changing();
	return error_set(ERR_INPUT, "output 'leak' would reveal a secret; not set");
}

#define WORKFLOW(fn, graceful) \
	{ .spec = { "test-wf", no_inputs, no_outputs }, .title = "Test", .description = "t", \
	  .run = (fn), .stops_gracefully = (graceful) }

Test(workflow, an_input_error_before_any_change_is_exit_2)
{
	const struct workflow wf = WORKFLOW(input_error_at_once, 0);

	cr_assert_eq(workflow_run(&wf, 0, NULL), EXIT_USAGE);
	cr_assert_not(workflow_changed());
}

Test(workflow, an_input_error_after_a_change_is_exit_1)
{
	const struct workflow wf = WORKFLOW(input_error_after_a_change, 0);
	const struct workflow again = WORKFLOW(input_error_at_once, 0);

	cr_assert_eq(workflow_run(&wf, 0, NULL), EXIT_FAILED);
	/* Each run starts with nothing changed. */
	cr_assert_eq(workflow_run(&again, 0, NULL), EXIT_USAGE);
}

/* ---- how a failure is reported ---- */

static char root[] = "/tmp/workflow-XXXXXX";

static void terminal_in_a_folder(void)
{
	terminal();
	tmpdir_make(root);
}

static void remove_folder(void)
{
	tmpdir_remove(root);
}

/* Runs `fn` with --summary in the scratch folder; returns the exit code and
 * leaves what the terminal host wrote to stderr and the summary in `log`
 * and `summary`. (Each test is a process of its own: stderr can go.) */
static int run_reported(int (*fn)(struct ci *), struct buf *log, struct buf *summary)
{
	const struct workflow wf = WORKFLOW(fn, 0);
	struct buf path = BUF_INIT, log_path = BUF_INIT;
	char flag[] = "--summary";
	char *argv[] = { flag, NULL, NULL };
	int code;

	buf_addf(&path, "%s/summary.md", root);
	buf_addf(&log_path, "%s/stderr.txt", root);
	argv[1] = path.data;
	cr_assert_not_null(freopen(log_path.data, "w", stderr));
	code = workflow_run(&wf, 2, argv);
	fflush(stderr);
	cr_assert_ok(fs_read_file(summary, path.data, 1 << 20));
	cr_assert_ok(fs_read_file(log, log_path.data, 1 << 20));
	buf_release(&path);
	buf_release(&log_path);
	return code;
}

static int job_failed(struct ci *ci)
{
	(void)ci;
	return error_set(ERR_REMOTE_FAILED, "job j1 ended Failed: UserError: boom");
}

static int service_refused(struct ci *ci)
{
	(void)ci;
	return error_set(ERR_HTTP, "GET /jobs/j1: HTTP 400 UserError: bad");
}

static int job_cancelled(struct ci *ci)
{
	(void)ci;
	return error_set(ERR_CANCELLED, "stopped by SIGTERM while following job j1");
}

/* A training job that failed is the work failing, not an http error; a
 * stop is a cancel. Either way the run failed: exit 1. */
Test(workflow, a_failure_is_titled_by_its_kind_or_its_outcome, .init = terminal_in_a_folder,
     .fini = remove_folder)
{
	static const struct {
		int (*run)(struct ci *);
		const char *title, *summary;
	} cases[] = {
		{ job_failed, "test-wf: failed: job j1 ended Failed: UserError: boom",
		  "**Failed**: job j1 ended Failed" },
		{ service_refused, "test-wf: http error: GET /jobs/j1: HTTP 400",
		  "**Failed** (http error): GET /jobs/j1" },
		{ job_cancelled, "test-wf: cancelled: stopped by SIGTERM",
		  "**Cancelled**: stopped by SIGTERM" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf log = BUF_INIT, summary = BUF_INIT;

		cr_assert_eq(run_reported(cases[i].run, &log, &summary), EXIT_FAILED, "%s", cases[i].title);
		cr_assert(strstr(log.data, cases[i].title), "%s", log.data);
		cr_assert(strstr(summary.data, cases[i].summary), "%s", summary.data);
		if (cases[i].run == job_failed)
			cr_assert_null(strstr(log.data, "http error"), "%s", log.data);
		buf_release(&log);
		buf_release(&summary);
	}
}

/* A graceful workflow sees the first signal as a flag and finishes. */
static int stops_on_sigterm(struct ci *ci)
{
	(void)ci;
	if (workflow_stopping())
		return error_set(ERR_INPUT, "stop flag set before the signal");
	raise(SIGTERM);
	if (workflow_stopping() != SIGTERM || !*workflow_stop_flag())
		return error_set(ERR_INPUT, "no stop flag after SIGTERM");
	return error_set(ERR_CANCELLED, "stopped by %s", workflow_signal_name(workflow_stopping()));
}

Test(workflow, the_first_signal_asks_a_graceful_workflow_to_stop)
{
	const struct workflow wf = WORKFLOW(stops_on_sigterm, 1);

	cr_assert_eq(workflow_run(&wf, 0, NULL), EXIT_FAILED, "a cancel is a failure, not bad input");
	cr_assert_eq(error_last(), ERR_CANCELLED);
	cr_assert_str_eq(error_message(), "stopped by SIGTERM");
}

static int signalled_twice(struct ci *ci)
{
	(void)ci;
	raise(SIGINT);
	raise(SIGTERM);
	return error_set(ERR_INPUT, "still running after the second signal");
}

Test(workflow, a_second_signal_exits_at_once, .exit_code = EXIT_SIGNAL + SIGTERM)
{
	const struct workflow wf = WORKFLOW(signalled_twice, 1);

	workflow_run(&wf, 0, NULL);
	cr_assert_fail("workflow_run returned");
}

static int signalled_once(struct ci *ci)
{
	(void)ci;
	raise(SIGINT);
	return error_set(ERR_INPUT, "still running after the signal");
}

/* A workflow that does not watch the flag is not left running, as PID 1
 * would be with no handler at all. */
Test(workflow, a_workflow_that_does_not_stop_gracefully_exits_at_the_first_signal,
     .exit_code = EXIT_SIGNAL + SIGINT)
{
	const struct workflow wf = WORKFLOW(signalled_once, 0);

	workflow_run(&wf, 0, NULL);
	cr_assert_fail("workflow_run returned");
}

static void keep_warning(enum log_level level, const char *text, void *ctx)
{
	if (level == LOG_WARNING)
		buf_addstr(ctx, text);
}

Test(workflow, outputs_written_after_a_failure_keep_the_run_error)
{
	struct error_saved saved = ERROR_SAVED_INIT;
	struct buf warned = BUF_INIT;
	const struct log_sink sink = { keep_warning, NULL, &warned };
	int out;

	error_set(ERR_HTTP, "%s", "deployment failed");
	error_save(&saved);
	out = error_set(ERR_IO, "%s", "no output file");
	log_set_sink(&sink);
	cr_assert_eq(workflow_outputs_written(ERR_HTTP, out, &saved), ERR_HTTP);
	log_set_sink(NULL);
	cr_assert_str_eq(error_message(), "deployment failed");
	cr_assert_str_eq(warned.data, "outputs not written: no output file");
	cr_assert_null(saved.message);
	buf_release(&warned);

	/* After a success the outputs' own failure is the result. */
	out = error_set(ERR_IO, "%s", "no output file");
	cr_assert_eq(workflow_outputs_written(0, out, &saved), ERR_IO);
	cr_assert_str_eq(error_message(), "no output file");
	cr_assert_eq(workflow_outputs_written(0, 0, &saved), 0);
}
