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
#include "support/check.h"

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

Test(workflow, a_saved_error_comes_back_with_its_location)
{
	struct workflow_error saved;

	error_set_at(ERR_HTTP, "a.json", 3, 7, "deployment d: Failed");
	workflow_error_save(&saved, ERR_HTTP);
	error_set(ERR_IO, "GITHUB_OUTPUT is not set");
	cr_assert_eq(workflow_error_restore(&saved), ERR_HTTP);
	cr_assert_eq(error_last(), ERR_HTTP);
	cr_assert_str_eq(error_message(), "deployment d: Failed");
	cr_assert_str_eq(error_where()->file, "a.json");
	cr_assert_eq(error_where()->line, 3);
	cr_assert_eq(error_where()->column, 7);
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
	return error_set(ERR_IO, "stopped by %s", workflow_signal_name(workflow_stopping()));
}

Test(workflow, the_first_signal_asks_a_graceful_workflow_to_stop)
{
	const struct workflow wf = WORKFLOW(stops_on_sigterm, 1);

	cr_assert_eq(workflow_run(&wf, 0, NULL), EXIT_FAILED);
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
