#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/fs.h"
#include "mlops/model_evaluate.h"
#include "support/arm_stub.h"
#include "support/check.h"
#include "support/tmpdir.h"

/* ---- the evaluation job's metrics, pure ---- */

static void add_metric(struct mlflow_run *run, const char *key, double value)
{
	run->metrics = realloc(run->metrics, (run->metrics_nr + 1) * sizeof(*run->metrics));
	cr_assert_not_null(run->metrics);
	memset(&run->metrics[run->metrics_nr], 0, sizeof(*run->metrics));
	run->metrics[run->metrics_nr].key = strdup(key);
	run->metrics[run->metrics_nr++].value = value;
}

static void job_release(struct model_evaluation_job *j)
{
	struct model_evaluation e = MODEL_EVALUATION_INIT;

	e.job = *j;
	model_evaluation_release(&e);
	memset(j, 0, sizeof(*j));
}

Test(model_evaluate_job, each_models_value_is_its_prefixed_metric_and_the_p_value_the_challengers)
{
	struct mlflow_run run = MLFLOW_RUN_INIT;
	struct model_evaluation_job j = { 0 };

	add_metric(&run, "champion_auc", 0.75);
	add_metric(&run, "challenger_auc", 0.8125);
	add_metric(&run, "auc", 0.5);              /* not the job's comparison */
	add_metric(&run, "p_value", 0.001);
	model_evaluation_job_read(&j, &run, "eval-1", "auc");
	cr_assert_str_eq(j.champion_value, "0.75");
	cr_assert_str_eq(j.challenger_value, "0.8125");
	cr_assert_str_eq(j.p_value, "0.001");
	cr_assert_null(j.champion_missing);
	cr_assert_null(j.challenger_missing);
	job_release(&j);
	mlflow_run_release(&run);
}

Test(model_evaluate_job, a_value_not_logged_is_missing_in_words_and_no_p_value_is_null)
{
	struct mlflow_run run = MLFLOW_RUN_INIT;
	struct model_evaluation_job j = { 0 };

	add_metric(&run, "champion_auc", 0.75);
	add_metric(&run, "challenger_accuracy", 0.9);
	model_evaluation_job_read(&j, &run, "eval-1", "auc");
	cr_assert_str_eq(j.champion_value, "0.75");
	cr_assert_null(j.challenger_value);
	cr_assert_str_eq(j.challenger_missing, "evaluation job eval-1 did not log challenger_auc");
	cr_assert_null(j.p_value);
	job_release(&j);
	mlflow_run_release(&run);
}

/* ---- the job, against the stub ---- */

static char root[] = "/tmp/model-evaluate-test-XXXXXX";
static struct buf yaml = BUF_INIT;

static void setup(void)
{
	tmpdir_make(root);
	fs_set_workspace(root);
	buf_addf(&yaml, "%s/jobs/eval.yml", root);
	tmpdir_write(root, "jobs/eval.yml", "type: command\ncommand: python compare.py\n"
		     "environment: azureml://registries/azureml/environments/sklearn-1.5/versions/1\n");
}

static void teardown(void)
{
	fs_set_workspace(NULL);
	tmpdir_remove(root);
	buf_release(&yaml);
}

TestSuite(model_evaluate, .init = setup, .fini = teardown);

/* Challenger 7 and champion 5, neither naming its training job: two reads. */
#define CHALLENGER { .status = 200, .body = "{\"name\":\"7\",\"properties\":{}}" }
#define CHAMPION { .status = 200, .body = "{\"value\":[{\"name\":\"5\",\"properties\":" \
		   "{\"tags\":{\"stage\":\"production\"}}}]}" }
#define NOT_FOUND { .status = 404, .body = "{\"error\":{\"code\":\"UserError\",\"message\":\"no\"}}" }
#define JOB(status) "{\"name\":\"e1\",\"properties\":{\"status\":\"" status "\""
#define WORKSPACE { .status = 200, .body = "{\"name\":\"ws1\",\"location\":\"westeurope\",\"properties\":{}}" }

static struct champion_policy policy;

/* Options of CI run 41, attempt 2, with the evaluation job. */
static void options(struct model_evaluate_options *o, struct arm_stub *f)
{
	memset(o, 0, sizeof(*o));
	cr_assert_ok(champion_policy_parse(&policy, "auc", NULL, NULL, "0.05"));
	o->aml = &f->aml;
	o->http = f->http;
	o->model = "m";
	o->version = "7";
	o->policy = &policy;
	o->evaluation_job = yaml.data;
	o->evaluation_job_file = "jobs/eval.yml";
	o->origin = (struct job_origin){ "org/churn-model", "3c5e0a7b", "41", "2", "evaluate" };
	o->timeout_s = 60;
}

static void expected_name(struct buf *out)
{
	job_run_name(out, &(struct job_origin){ "org/churn-model", "3c5e0a7b", "41", "2", "evaluate" },
		     "jobs/eval.yml champion 5 challenger 7", "churn-model", NULL);
}

Test(model_evaluate, a_failed_job_is_submitted_with_both_models_and_the_challenger_cannot_win)
{
	struct stub_reply script[] = {
		CHALLENGER, CHAMPION, NOT_FOUND,
		{ .status = 201, .body = JOB("Running") "}}" },
		{ .status = 200, .body = JOB("Failed") ",\"error\":{\"error\":{\"code\":\"UserError\","
					 "\"message\":\"no MLmodel\"}}}}" },
		WORKSPACE,
	};
	struct model_evaluation e = MODEL_EVALUATION_INIT;
	struct model_evaluate_options o;
	struct buf name = BUF_INIT, want = BUF_INIT;
	struct arm_stub f;
	const char *body;
	size_t len;

	arm_stub_start_aml(&f, script, 6, "ws1");
	options(&o, &f);
	cr_assert_ok(model_evaluate_decide(&e, &o));
	cr_assert_eq(stub_count(f.stub), 6);
	/* Named after the attempt and the pair of versions. */
	expected_name(&name);
	buf_addf(&want, "PUT /subscriptions/sub-1/resourceGroups/rg/providers/"
		 "Microsoft.MachineLearningServices/workspaces/ws1/jobs/%s?", name.data);
	cr_assert(strstr(stub_head(f.stub, 3), want.data) == stub_head(f.stub, 3), "%s",
		  stub_head(f.stub, 3));
	body = stub_body(f.stub, 3, &len);
	cr_assert(strstr(body, "\"champion_model\":{\"jobInputType\":\"custom_model\",\"uri\":"
			 "\"azureml:/subscriptions/sub-1/resourceGroups/rg/providers/"
			 "Microsoft.MachineLearningServices/workspaces/ws1/models/m/versions/5\"}"),
		  "%s", body);
	cr_assert(strstr(body, "\"challenger_model\":{\"jobInputType\":\"custom_model\",\"uri\":"
			 "\"azureml:/subscriptions/sub-1/resourceGroups/rg/providers/"
			 "Microsoft.MachineLearningServices/workspaces/ws1/models/m/versions/7\"}"),
		  "%s", body);
	cr_assert(e.job.ran && e.job.changed);
	cr_assert_str_eq(e.job.status, "Failed");
	cr_assert_not(e.decision.deploy);
	cr_assert_eq(e.decision.winner, CHAMPION_WINNER_CHAMPION);
	cr_assert(strstr(e.decision.reason, "challenger 7 has no auc value (evaluation job e1 ended "
			 "Failed: UserError: no MLmodel): it cannot win; champion 5 stays"),
		  "%s", e.decision.reason);
	model_evaluation_release(&e);
	champion_policy_release(&policy);
	buf_release(&name);
	buf_release(&want);
	arm_stub_stop(&f);
}

Test(model_evaluate, a_re_run_follows_the_job_of_its_attempt_and_a_run_not_read_cannot_win)
{
	struct stub_reply script[] = {
		CHALLENGER, CHAMPION,
		{ .status = 200, .body = JOB("Completed") "}}" },
		{ .status = 200, .body = JOB("Completed") "}}" },
		WORKSPACE,      /* no tracking URI: the run is not read */
	};
	struct model_evaluation e = MODEL_EVALUATION_INIT;
	struct model_evaluate_options o;
	struct arm_stub f;
	size_t i;

	arm_stub_start_aml(&f, script, 5, "ws1");
	options(&o, &f);
	cr_assert_ok(model_evaluate_decide(&e, &o));
	cr_assert_eq(stub_count(f.stub), 5);
	for (i = 0; i < 5; i++)
		cr_assert(strncmp(stub_head(f.stub, i), "PUT ", 4), "nothing submitted: %s",
			  stub_head(f.stub, i));
	cr_assert_not(e.job.changed);
	cr_assert_str_eq(e.job.status, "Completed");
	cr_assert_not(e.decision.deploy);
	cr_assert(strstr(e.decision.reason, "(evaluation job e1: its MLflow run was not read): "
			 "it cannot win"), "%s", e.decision.reason);
	model_evaluation_release(&e);
	champion_policy_release(&policy);
	arm_stub_stop(&f);
}

Test(model_evaluate, no_champion_runs_no_job_and_the_challenger_wins_by_default_or_not_at_all)
{
	struct stub_reply script[] = {
		CHALLENGER, { .status = 200, .body = "{\"value\":[]}" },
	};
	struct model_evaluation e = MODEL_EVALUATION_INIT;
	struct model_evaluate_options o;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 2, "ws1");
	options(&o, &f);
	cr_assert_ok(model_evaluate_decide(&e, &o));
	cr_assert_eq(stub_count(f.stub), 2, "no job looked for");
	cr_assert_not(e.job.ran);
	cr_assert_not(e.job.changed);
	/* Its training run names no job: with nothing in production, no one wins. */
	cr_assert_eq(e.decision.winner, CHAMPION_WINNER_NONE);
	model_evaluation_release(&e);
	champion_policy_release(&policy);
	arm_stub_stop(&f);
}

Test(model_evaluate, the_version_in_production_as_challenger_runs_no_job)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"name\":\"5\",\"properties\":{}}" }, CHAMPION,
	};
	struct model_evaluation e = MODEL_EVALUATION_INIT;
	struct model_evaluate_options o;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 2, "ws1");
	options(&o, &f);
	o.version = "5";
	cr_assert_ok(model_evaluate_decide(&e, &o));
	cr_assert_eq(stub_count(f.stub), 2);
	cr_assert_not(e.job.ran);
	cr_assert(e.decision.same_version);
	model_evaluation_release(&e);
	champion_policy_release(&policy);
	arm_stub_stop(&f);
}

/* The job YAML `text` refused with `needle` once the versions are read,
 * before any job is looked for. */
static void refused(const char *text, const char *needle)
{
	struct stub_reply script[] = { CHALLENGER, CHAMPION };
	struct model_evaluation e = MODEL_EVALUATION_INIT;
	struct model_evaluate_options o;
	struct arm_stub f;

	tmpdir_write(root, "jobs/eval.yml", text);
	arm_stub_start_aml(&f, script, 2, "ws1");
	options(&o, &f);
	cr_assert_fails(model_evaluate_decide(&e, &o), ERR_INPUT, needle);
	cr_assert_eq(stub_count(f.stub), 2, "no job looked for");
	cr_assert_not(e.job.changed);
	model_evaluation_release(&e);
	champion_policy_release(&policy);
	arm_stub_stop(&f);
}

#define ENV "environment: azureml://registries/azureml/environments/sklearn-1.5/versions/1\n"

Test(model_evaluate, a_job_declaring_a_model_input_itself_is_an_input_error_before_any_job)
{
	refused("type: command\ncommand: python compare.py\n" ENV "inputs:\n  challenger_model:\n"
		"    type: uri_folder\n    path: azureml://datastores/x/paths/y\n",
		"input challenger_model is Model-CD's own");
}

Test(model_evaluate, a_pipeline_as_evaluation_job_is_an_input_error_before_any_job)
{
	refused("type: pipeline\njobs:\n  compare:\n    command: python compare.py\n    " ENV,
		"Input evaluation-job: jobs/eval.yml is a pipeline job");
}
