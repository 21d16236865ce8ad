/* The model in production against the sandbox: the version tagged
 * stage=production found among others, its job's MLflow run read. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "azure/aml_job.h"
#include "core/json.h"
#include "mlops/production.h"
#include "support/check.h"
#include "support/sandbox.h"

#define ENV_ID "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"

static void train(struct sandbox_aml *e, const char *name, const char *accuracy)
{
	struct buf cmd = BUF_INIT;
	struct aml_job_spec spec = { .environment_id = ENV_ID };
	struct aml_job job = AML_JOB_INIT;
	time_t deadline = time(NULL) + 60;
	struct timespec pause = { 0, 200 * 1000000L };

	buf_addf(&cmd, "python3 -c \"import mlflow\nmlflow.log_metric('accuracy', %s)\"", accuracy);
	spec.command = cmd.data;
	cr_assert_ok(aml_job_create(NULL, &e->aml, name, &spec));
	do {
		cr_assert(time(NULL) < deadline);
		nanosleep(&pause, NULL);
		cr_assert_ok(aml_job_get(&job, &e->aml, name));
	} while (!aml_job_status_terminal(job.status));
	cr_assert_eq(job.status, AML_JOB_COMPLETED, "%s: %s", job.status_text, job.error);
	aml_job_release(&job);
	buf_release(&cmd);
}

static void register_model(struct sandbox_aml *e, const char *name, const char *version,
			   const char *stage, const char *job)
{
	struct aml_model_version v = { 0 }, out = { 0 };

	v.asset.name = xstrdup(name);
	v.asset.version = xstrdup(version);
	v.asset.tags = json_new_object();
	json_add_string(v.asset.tags, "stage", stage);
	v.model_type = xstrdup("custom_model");
	v.model_uri = xasprintf("azureml://jobs/%s/outputs/artifacts/paths/model/", job);
	v.job_name = xstrdup(job);
	cr_assert_ok(aml_model_version_put(&out, &e->aml, &v));
	aml_model_version_release(&out);
	aml_model_version_release(&v);
}

Test(production_sandbox, the_production_version_and_its_runs_metrics)
{
	struct production_model p = PRODUCTION_MODEL_INIT;
	const struct mlflow_metric *m;
	struct sandbox_aml e;

	sandbox_aml_open(&e);
	sandbox_config("{\"job_step_seconds\":0.05}");
	train(&e, "train-prod", "0.875");
	register_model(&e, "churn", "1", "archived", "train-prod");
	register_model(&e, "churn", "2", "production", "train-prod");
	register_model(&e, "churn", "3", "staging", "train-prod");
	cr_assert_ok(production_model_find(&p, &e.aml, e.http, sandbox_tokens, "churn"));
	cr_assert(p.found);
	cr_assert_str_eq(p.version, "2");
	cr_assert_str_eq(p.job_name, "train-prod");
	cr_assert(p.have_run);
	m = mlflow_run_metric(&p.run, "accuracy");
	cr_assert_not_null(m);
	cr_assert_float_eq(m->value, 0.875, 1e-12);
	production_model_release(&p);

	/* Nothing in production, or no such model: nothing to compare with. */
	register_model(&e, "other", "1", "staging", "train-prod");
	cr_assert_ok(production_model_find(&p, &e.aml, e.http, sandbox_tokens, "other"));
	cr_assert_not(p.found);
	production_model_release(&p);
	cr_assert_ok(production_model_find(&p, &e.aml, e.http, sandbox_tokens, "no-such-model"));
	cr_assert_not(p.found);
	production_model_release(&p);
	sandbox_aml_close(&e);
}

Test(production_sandbox, a_run_that_cannot_be_read_is_found_without_metrics)
{
	struct production_model p = PRODUCTION_MODEL_INIT;
	struct sandbox_aml e;

	char *fault;

	sandbox_aml_open(&e);
	sandbox_config("{\"job_step_seconds\":0.05}");
	/* A version's jobName names a job of the workspace; its run is what
	 * cannot be read. */
	train(&e, "train-unread", "0.5");
	register_model(&e, "churn", "4", "production", "train-unread");
	fault = sandbox_fault("{\"kind\":\"status\",\"status\":404,\"count\":0,"
			      "\"method\":\"GET\",\"path\":\"/mlflow/runs/get$\"}");
	cr_assert_ok(production_model_find(&p, &e.aml, e.http, sandbox_tokens, "churn"));
	cr_assert_gt(sandbox_fault_applied(fault), 0);
	cr_assert(p.found);
	cr_assert_str_eq(p.version, "4");
	cr_assert_not(p.have_run);
	production_model_release(&p);
	free(fault);
	sandbox_aml_close(&e);
}
