/* MLflow reads against the sandbox: a job logs through the sandbox's mlflow
 * shim, and the client reads what it logged. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "azure/aml_job.h"
#include "azure/mlflow.h"
#include "core/json.h"
#include "support/check.h"
#include "support/sandbox.h"

#define ENV_ID "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"

struct ctx {
	struct sandbox_aml s;
	struct mlflow mlflow;
};

/* The tracking URI comes from the workspace, as a workflow would pass it. */
static void setup(struct ctx *c)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	const char *uri;

	sandbox_aml_open(&c->s);
	sandbox_config("{\"job_step_seconds\":0.05}");
	cr_assert_ok(arm_call(&c->s.arm, "GET", sandbox_workspace_path(), AML_API_VERSION, NULL, &r));
	cr_assert_ok(json_get_string(&uri, r.json, "properties.mlFlowTrackingUri"));
	cr_assert_eq(strncmp(uri, "azureml://", 10), 0, "%s", uri);
	cr_assert_ok(mlflow_init(&c->mlflow, c->s.http, sandbox_tokens, uri, NULL));
	arm_response_release(&r);
}

static void teardown(struct ctx *c)
{
	mlflow_release(&c->mlflow);
	sandbox_aml_close(&c->s);
}

static void run_job(struct ctx *c, const char *name, const char *command)
{
	struct aml_job_spec spec = { .environment_id = ENV_ID, .command = command };
	struct aml_job job = AML_JOB_INIT;
	time_t deadline = time(NULL) + 60;
	struct timespec pause = { 0, 200 * 1000000L };

	cr_assert_ok(aml_job_create(NULL, &c->s.aml, name, &spec));
	do {
		cr_assert(time(NULL) < deadline);
		nanosleep(&pause, NULL);
		cr_assert_ok(aml_job_get(&job, &c->s.aml, name));
	} while (!aml_job_status_terminal(job.status));
	cr_assert_eq(job.status, AML_JOB_COMPLETED, "%s: %s", job.status_text, job.error);
	aml_job_release(&job);
}

Test(mlflow_sandbox, run_shows_the_latest_value_and_history_every_step)
{
	struct mlflow_run run = MLFLOW_RUN_INIT;
	struct mlflow_metrics hist = MLFLOW_METRICS_INIT;
	const struct mlflow_metric *m;
	struct ctx c;
	size_t i;

	setup(&c);
	run_job(&c, "sbx-mlflow", "python3 -c \"import mlflow\n"
		"mlflow.log_param('lr', '0.1')\n"
		"mlflow.set_tag('stage', 'test')\n"
		"for i in range(6): mlflow.log_metric('loss', 1.0 / (i + 1), step=i)\"");
	cr_assert_ok(mlflow_run_get(&run, &c.mlflow, "sbx-mlflow"));
	cr_assert_str_eq(run.run_id, "sbx-mlflow");
	cr_assert_str_eq(run.status, "FINISHED");
	m = mlflow_run_metric(&run, "loss");
	cr_assert_not_null(m);
	cr_assert_eq(m->step, 5);
	cr_assert_float_eq(m->value, 1.0 / 6, 1e-9);
	cr_assert_str_eq(mlflow_run_param(&run, "lr"), "0.1");
	cr_assert_str_eq(mlflow_run_tag(&run, "stage"), "test");
	cr_assert_ok(mlflow_metric_history(&hist, &c.mlflow, "sbx-mlflow", "loss"));
	cr_assert_eq(hist.nr, 6);
	for (i = 0; i < hist.nr; i++)
		cr_assert_eq(hist.items[i].step, (int64_t)i);
	mlflow_metrics_release(&hist);
	mlflow_run_release(&run);
	teardown(&c);
}

Test(mlflow_sandbox, missing_run_is_not_found)
{
	struct mlflow_run run = MLFLOW_RUN_INIT;
	struct ctx c;

	setup(&c);
	cr_assert_fails(mlflow_run_get(&run, &c.mlflow, "no-such-run"), ERR_NOT_FOUND,
			"RESOURCE_DOES_NOT_EXIST");
	teardown(&c);
}

/* A metric that is not finite made the whole run unreadable (issue 16):
 * each is read as MLflow names it, and none hides the others. */
Test(mlflow_sandbox, non_finite_metrics_are_read_as_such_beside_the_others)
{
	struct mlflow_run run = MLFLOW_RUN_INIT;
	struct mlflow_metrics hist = MLFLOW_METRICS_INIT;
	const struct mlflow_metric *m;
	struct buf text = BUF_INIT;
	struct ctx c;

	setup(&c);
	run_job(&c, "sbx-mlflow-nan", "python3 -c \"import mlflow\n"
		"mlflow.log_metric('auc', 0.93)\n"
		"mlflow.log_metric('loss', float('nan'))\n"
		"mlflow.log_metric('ratio', float('inf'))\n"
		"mlflow.log_metric('drift', float('-inf'))\"");
	cr_assert_ok(mlflow_run_get(&run, &c.mlflow, "sbx-mlflow-nan"));
	cr_assert_eq(run.metrics_nr, 4);
	cr_assert_float_eq(mlflow_run_metric(&run, "auc")->value, 0.93, 1e-12);
	cr_assert(isnan(mlflow_run_metric(&run, "loss")->value));
	m = mlflow_run_metric(&run, "ratio");
	cr_assert(isinf(m->value) && m->value > 0);
	m = mlflow_run_metric(&run, "drift");
	cr_assert(isinf(m->value) && m->value < 0);
	mlflow_value_text(&text, mlflow_run_metric(&run, "loss")->value);
	cr_assert_str_eq(text.data, "NaN");
	cr_assert_ok(mlflow_metric_history(&hist, &c.mlflow, "sbx-mlflow-nan", "loss"));
	cr_assert_eq(hist.nr, 1);
	cr_assert(isnan(hist.items[0].value));
	buf_release(&text);
	mlflow_metrics_release(&hist);
	mlflow_run_release(&run);
	teardown(&c);
}

/* A token refused as expired gets a new one and the read goes on (issue 10). */
Test(mlflow_sandbox, a_token_refused_as_expired_is_replaced_once)
{
	struct mlflow_run run = MLFLOW_RUN_INIT;
	struct ctx c;
	char *once, *twice;

	setup(&c);
	once = sandbox_fault("{\"kind\":\"expired_token\",\"host\":\"*.api.azureml.ms\",\"path\":\"/runs/get$\","
			     "\"query\":\"run_id=no-such-run-1\",\"count\":1}");
	cr_assert_fails(mlflow_run_get(&run, &c.mlflow, "no-such-run-1"), ERR_NOT_FOUND,
			"RESOURCE_DOES_NOT_EXIST");
	cr_assert_eq(sandbox_fault_applied(once), 1);
	twice = sandbox_fault("{\"kind\":\"expired_token\",\"host\":\"*.api.azureml.ms\",\"path\":\"/runs/get$\","
			      "\"query\":\"run_id=no-such-run-2\",\"count\":2}");
	cr_assert_fails(mlflow_run_get(&run, &c.mlflow, "no-such-run-2"), ERR_AUTH,
			"ExpiredAuthenticationToken");
	cr_assert_eq(sandbox_fault_applied(twice), 2, "retried exactly once");
	free(once);
	free(twice);
	teardown(&c);
}
