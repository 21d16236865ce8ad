#include <string.h>

#include <criterion/criterion.h>

#include "mlops/job_follow.h"
#include "support/arm_stub.h"
#include "support/check.h"

/* Collects lines as "[line]" so boundaries show. */
static void collect(const char *line, void *ctx)
{
	buf_addf(ctx, "[%s]", line);
}

Test(job_follow, lines_split_across_reads_are_joined)
{
	struct job_lines l = JOB_LINES_INIT;
	struct buf got = BUF_INIT;

	job_lines_feed(&l, "epoch 1 lo", 10, collect, &got);
	cr_assert_str_eq(got.data, "", "an incomplete line is held back");
	job_lines_feed(&l, "ss 0.5\nepoch 2", 14, collect, &got);
	cr_assert_str_eq(got.data, "[epoch 1 loss 0.5]");
	job_lines_feed(&l, " loss 0.4\r\n\nlast", 16, collect, &got);
	cr_assert_str_eq(got.data, "[epoch 1 loss 0.5][epoch 2 loss 0.4][]");
	job_lines_flush(&l, collect, &got);
	cr_assert_str_eq(got.data, "[epoch 1 loss 0.5][epoch 2 loss 0.4][][last]",
			 "the rest comes out when the log ends");
	job_lines_flush(&l, collect, &got);
	cr_assert_str_eq(got.data, "[epoch 1 loss 0.5][epoch 2 loss 0.4][][last]");
	job_lines_release(&l);
	buf_release(&got);
}

Test(job_follow, a_chunk_of_one_byte_at_a_time_gives_the_same_lines)
{
	const char *text = "a\nbb\r\nccc\n";
	struct job_lines l = JOB_LINES_INIT;
	struct buf got = BUF_INIT;
	size_t i;

	for (i = 0; text[i]; i++)
		job_lines_feed(&l, text + i, 1, collect, &got);
	cr_assert_str_eq(got.data, "[a][bb][ccc]");
	job_lines_release(&l);
	buf_release(&got);
}

Test(job_follow, a_nul_byte_stays_visible_and_keeps_the_rest_of_its_line)
{
	static const char log[] = "a\0::error::x\nb\0\0\n";
	struct job_lines l = JOB_LINES_INIT;
	struct buf got = BUF_INIT;

	job_lines_feed(&l, log, sizeof(log) - 1, collect, &got);
	cr_assert_str_eq(got.data, "[a\\0::error::x][b\\0\\0]");
	job_lines_release(&l);
	buf_release(&got);
}

static void count(const char *line, void *ctx)
{
	size_t *n = ctx;

	cr_assert(strlen(line) <= 64 * 1024);
	(*n)++;
}

Test(job_follow, a_log_without_newlines_is_passed_on_in_pieces)
{
	struct job_lines l = JOB_LINES_INIT;
	struct buf big = BUF_INIT;
	size_t n = 0, i;

	for (i = 0; i < 200 * 1024; i++)
		buf_addch(&big, 'x');
	job_lines_feed(&l, big.data, big.len, count, &n);
	cr_assert_eq(n, 3);
	cr_assert(l.partial.len < 64 * 1024, "the buffer stays bounded");
	job_lines_release(&l);
	buf_release(&big);
}

Test(job_follow, polling_backs_off_to_the_cap_and_resets_on_progress)
{
	long ms = JOB_POLL_MIN_MS;

	ms = job_poll_next_ms(ms, 0);
	cr_assert_eq(ms, 1500);
	ms = job_poll_next_ms(ms, 0);
	cr_assert_eq(ms, 2250);
	while (ms < JOB_POLL_MAX_MS)
		ms = job_poll_next_ms(ms, 0);
	cr_assert_eq(ms, JOB_POLL_MAX_MS);
	cr_assert_eq(job_poll_next_ms(ms, 0), JOB_POLL_MAX_MS, "never past the cap");
	cr_assert_eq(job_poll_next_ms(ms, 1), JOB_POLL_MIN_MS, "new status or log: poll soon again");
	cr_assert_eq(job_poll_next_ms(0, 0), JOB_POLL_MIN_MS);
}

Test(job_follow, statuses_map_to_outcomes)
{
	cr_assert_eq(job_outcome_of(AML_JOB_COMPLETED), JOB_OUTCOME_SUCCEEDED);
	cr_assert_eq(job_outcome_of(AML_JOB_FAILED), JOB_OUTCOME_FAILED);
	cr_assert_eq(job_outcome_of(AML_JOB_CANCELED), JOB_OUTCOME_CANCELED);
	cr_assert_eq(job_outcome_of(AML_JOB_CANCEL_REQUESTED), JOB_OUTCOME_RUNNING,
		     "a cancel asked for is not a cancel done");
	cr_assert_eq(job_outcome_of(AML_JOB_NOT_RESPONDING), JOB_OUTCOME_RUNNING);
	cr_assert_eq(job_outcome_of(AML_JOB_PAUSED), JOB_OUTCOME_RUNNING);
	cr_assert_eq(job_outcome_of(AML_JOB_UNKNOWN), JOB_OUTCOME_RUNNING);
	cr_assert_eq(job_outcome_of(aml_job_status_parse("finalizing")), JOB_OUTCOME_RUNNING);
}

/* How a job ended, as the error of a run that waited on it. */
Test(job_follow, a_failed_job_is_a_remote_failure_and_a_canceled_one_cancelled)
{
	char name[] = "j1", error[] = "UserError: exit code 3";
	struct aml_job job = { .name = name, .status = AML_JOB_COMPLETED };

	cr_assert_ok(job_outcome_error(&job));
	job.status = AML_JOB_FAILED;
	job.error = error;
	cr_assert_fails(job_outcome_error(&job), ERR_REMOTE_FAILED,
			"job j1 ended Failed: UserError: exit code 3");
	job.status = AML_JOB_CANCELED;
	job.error = NULL;
	cr_assert_fails(job_outcome_error(&job), ERR_CANCELLED, "job j1 ended Canceled");
	cr_assert_str_eq(error_message(), "job j1 ended Canceled");
	job.status = AML_JOB_NOT_RESPONDING;
	cr_assert_fails(job_outcome_error(&job), ERR_REMOTE_FAILED, "job j1 ended NotResponding");
}

/* A stop asks Azure to cancel the job, then says why it ended: cancelled. */
Test(job_follow, the_stop_flag_cancels_the_job_and_is_cancelled)
{
	struct stub_reply script[] = { { .status = 200 } };
	static volatile sig_atomic_t stop = SIGTERM;
	struct job_follow_options o = { .timeout_s = 60, .stop = &stop };
	struct aml_job job = AML_JOB_INIT;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_fails(job_follow(&job, &f.aml, "j1", &o), ERR_CANCELLED,
			"stopped by SIGTERM while following job j1; the job was cancelled");
	cr_assert_eq(job.status, AML_JOB_CANCELED, "the cancel ended it: the summary says so");
	cr_assert_str_eq(job.status_text, "Canceled");
	cr_assert_eq(stub_count(f.stub), 1, "the cancel, and no status read");
	cr_assert(strstr(stub_head(f.stub, 0), "POST ") &&
		  strstr(stub_head(f.stub, 0), "/jobs/j1/cancel?"), "%s", stub_head(f.stub, 0));
	aml_job_release(&job);
	arm_stub_stop(&f);
}

Test(job_follow, elapsed_times_read_as_people_write_them)
{
	struct buf b = BUF_INIT;

	job_format_elapsed(&b, 7);
	cr_assert_str_eq(b.data, "7s");
	buf_reset(&b);
	job_format_elapsed(&b, 200);
	cr_assert_str_eq(b.data, "3m20s");
	buf_reset(&b);
	job_format_elapsed(&b, 3725);
	cr_assert_str_eq(b.data, "1h02m05s");
	buf_release(&b);
}
