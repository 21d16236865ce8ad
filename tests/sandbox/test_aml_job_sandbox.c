/* Command jobs against the sandbox: its executor really runs them, and their
 * log grows in Azurite while they run. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "azure/aml_job.h"
#include "core/json.h"
#include "support/check.h"
#include "support/sandbox.h"

/* Registry environments need no asset in the workspace. */
#define ENV_ID "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"

static void setup(struct sandbox_aml *c)
{
	sandbox_aml_open(c);
	sandbox_config("{\"job_step_seconds\":0.05,\"lro_step_seconds\":0.05,\"retry_after_seconds\":0}");
	c->arm.poll_default_ms = 100;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Polls the job until `until` (or a terminal status); returns the last. */
static enum aml_job_status wait_for(struct sandbox_aml *c, const char *name,
				    enum aml_job_status until, struct aml_job *out)
{
	time_t deadline = time(NULL) + 60;

	for (;;) {
		cr_assert_ok(aml_job_get(out, &c->aml, name));
		if (out->status == until || aml_job_status_terminal(out->status))
			return out->status;
		cr_assert(time(NULL) < deadline, "job %s still %s", name, out->status_text);
		sleep_ms(100);
	}
}

Test(aml_job_sandbox, runs_to_completed_while_its_log_is_read_incrementally)
{
	struct aml_job_spec spec = {
		.display_name = "sandbox hello", .experiment_name = "sandbox-tests", .environment_id = ENV_ID,
		.command = "for i in 1 2 3 4 5 6 7 8; do echo line $i; sleep 0.3; done",
	};
	struct aml_job job = AML_JOB_INIT;
	struct aml_job_log log = AML_JOB_LOG_INIT;
	struct buf text = BUF_INIT;
	uint64_t offset = 0;
	int reads_with_news = 0;
	time_t deadline;
	size_t got;
	struct sandbox_aml c;

	setup(&c);
	cr_assert_ok(aml_job_create(&job, &c.aml, "", &spec));
	cr_assert_eq(strncmp(job.name, "mlops-", 6), 0);
	cr_assert_not_null(job.studio_url);
	cr_assert_ok(aml_job_log_open(&log, &c.aml, job.name, TOKEN_SOURCE_NONE));
	deadline = time(NULL) + 60;
	while (!aml_job_status_terminal(job.status)) {
		char *name = xstrdup(job.name);

		cr_assert_ok(aml_job_log_read(&text, &got, &log, offset, 0));
		if (got)
			reads_with_news++;
		offset += got;
		cr_assert_ok(aml_job_get(&job, &c.aml, name));
		free(name);
		cr_assert(time(NULL) < deadline);
		sleep_ms(250);
	}
	cr_assert_ok(aml_job_log_read(&text, &got, &log, offset, 0));
	offset += got;
	cr_assert_eq(job.status, AML_JOB_COMPLETED, "status %s: %s", job.status_text, job.error);
	cr_assert_geq(reads_with_news, 2, "the log arrived in %d reads", reads_with_news);
	cr_assert(strstr(text.data, "line 1\n") != NULL, "%s", text.data);
	cr_assert(strstr(text.data, "line 8\n") != NULL, "%s", text.data);
	cr_assert_eq(offset, text.len);
	aml_job_log_release(&log);
	aml_job_release(&job);
	buf_release(&text);
	sandbox_aml_close(&c);
}

/* The compute side as sent is what the service runs: two ranks, each with
 * its environment, and the reader follows rank 0's log. */
Test(aml_job_sandbox, a_distributed_job_runs_its_ranks_and_rank_0_log_is_read)
{
	struct aml_job_spec spec = {
		.experiment_name = "sandbox-tests", .environment_id = ENV_ID,
		.command = "echo rank $RANK of $WORLD_SIZE local $LOCAL_RANK node $NODE_RANK",
		.resources = { .instance_count = 1, .shm_size = "2g" },
		.distribution = { .type = AML_DIST_PYTORCH, .process_count_per_instance = 2 },
		.timeout_s = 120,
	};
	struct aml_job job = AML_JOB_INIT;
	struct aml_job_log log = AML_JOB_LOG_INIT;
	struct buf text = BUF_INIT;
	struct aml_job done = AML_JOB_INIT;
	size_t got;
	struct sandbox_aml c;

	setup(&c);
	cr_assert_ok(aml_job_create(&job, &c.aml, "", &spec));
	cr_assert_ok(aml_job_log_open(&log, &c.aml, job.name, TOKEN_SOURCE_NONE));
	cr_assert_eq(wait_for(&c, job.name, AML_JOB_COMPLETED, &done), AML_JOB_COMPLETED, "%s", done.error);
	cr_assert_ok(aml_job_log_read(&text, &got, &log, 0, 0));
	cr_assert_str_eq(text.data, "rank 0 of 2 local 0 node 0\n");
	cr_assert(strstr(log.url, "std_log_process_0.txt") != NULL, "%s", log.url);
	aml_job_log_release(&log);
	aml_job_release(&job);
	aml_job_release(&done);
	buf_release(&text);
	sandbox_aml_close(&c);
}

Test(aml_job_sandbox, failing_command_ends_failed_with_its_status)
{
	struct aml_job_spec spec = { .environment_id = ENV_ID, .command = "echo oops; exit 3" };
	struct aml_job job = AML_JOB_INIT;
	struct sandbox_aml c;

	setup(&c);
	cr_assert_ok(aml_job_create(NULL, &c.aml, "sbx-fails", &spec));
	cr_assert_eq(wait_for(&c, "sbx-fails", AML_JOB_COMPLETED, &job), AML_JOB_FAILED);
	cr_assert_not_null(job.error);
	cr_assert(strstr(job.error, "status code 3") != NULL, "%s", job.error);
	aml_job_release(&job);
	sandbox_aml_close(&c);
}

Test(aml_job_sandbox, cancel_stops_a_running_job)
{
	struct aml_job_spec spec = { .environment_id = ENV_ID, .command = "echo start; sleep 120" };
	struct aml_job job = AML_JOB_INIT;
	struct aml_job_list list = AML_JOB_LIST_INIT;
	const char *const tags[] = { "purpose", "cancel-test", NULL };
	struct sandbox_aml c;

	setup(&c);
	spec.tags = tags;
	cr_assert_ok(aml_job_create(NULL, &c.aml, "sbx-cancel", &spec));
	cr_assert_eq(wait_for(&c, "sbx-cancel", AML_JOB_RUNNING, &job), AML_JOB_RUNNING);
	cr_assert_ok(aml_job_cancel(&c.aml, "sbx-cancel", 30));
	cr_assert_ok(aml_job_get(&job, &c.aml, "sbx-cancel"));
	cr_assert_eq(job.status, AML_JOB_CANCELED, "status %s", job.status_text);
	cr_assert_ok(aml_job_list(&list, &c.aml, "purpose=cancel-test"));
	cr_assert_eq(list.nr, 1);
	cr_assert_str_eq(list.items[0].name, "sbx-cancel");
	aml_job_list_release(&list);
	aml_job_release(&job);
	sandbox_aml_close(&c);
}

Test(aml_job_sandbox, missing_job_is_not_found)
{
	struct aml_job job = AML_JOB_INIT;
	struct sandbox_aml c;

	setup(&c);
	cr_assert_fails(aml_job_get(&job, &c.aml, "no-such-job"), ERR_NOT_FOUND, "HTTP 404");
	sandbox_aml_close(&c);
}

/* The poller tells an outage from a refusal by the status. */
Test(aml_job_sandbox, a_read_gives_the_status_of_a_failed_answer)
{
	struct aml_job_spec spec = { .environment_id = ENV_ID, .command = "echo hi" };
	struct aml_job job = AML_JOB_INIT;
	struct sandbox_aml c;
	long status = 0;

	setup(&c);
	cr_assert_ok(aml_job_create(NULL, &c.aml, "sbx-read", &spec));
	cr_assert_ok(aml_job_read(&job, &status, &c.aml, "sbx-read"));
	cr_assert_eq(status, 200);
	sandbox_fault("{\"kind\":\"status\",\"status\":503,\"method\":\"GET\",\"path\":\"/jobs/sbx-read$\","
		      "\"retry_after\":0,\"count\":0}");
	cr_assert_fails(aml_job_read(&job, &status, &c.aml, "sbx-read"), ERR_HTTP, "HTTP 503");
	cr_assert_eq(status, 503);
	aml_job_release(&job);
	sandbox_aml_close(&c);
}

