#include <string.h>

#include <criterion/criterion.h>

#include "core/fs.h"
#include "core/json.h"
#include "mlops/job_run.h"
#include "support/arm_stub.h"
#include "support/check.h"
#include "support/tmpdir.h"

static char root[] = "/tmp/job-run-test-XXXXXX";
static struct buf yaml = BUF_INIT;

static void setup(void)
{
	tmpdir_make(root);
	fs_set_workspace(root); /* the checkout: the job YAML is a repository file */
	buf_addf(&yaml, "%s/jobs/train.yml", root);
}

static void teardown(void)
{
	fs_set_workspace(NULL);
	tmpdir_remove(root);
	buf_release(&yaml);
}

TestSuite(job_run, .init = setup, .fini = teardown);

#define REGISTRY_ENV "azureml://registries/azureml/environments/sklearn-1.5/versions/1"
#define JOB_HEAD "type: command\ncommand: python train.py\nenvironment: " REGISTRY_ENV "\n"

/* The options of a run in CI run 41, attempt 2, of org/churn-model. */
static void ci_options(struct job_run_options *o)
{
	memset(o, 0, sizeof(*o));
	o->path = yaml.data;
	o->job_file = "jobs/train.yml";
	o->origin = (struct job_origin){ "org/churn-model", "3c5e0a7b", "41", "2", "train" };
	o->wait = 1;
	o->timeout_s = 60;
}

static int prepare_with(struct job_run *r, const struct job_run_options *o, const char *text)
{
	tmpdir_write(root, "jobs/train.yml", text);
	return job_run_prepare(r, o);
}

Test(job_run, the_experiment_is_the_input_else_the_yamls_else_the_repositorys)
{
	struct job_run_options o;
	struct job_run a = JOB_RUN_INIT, b = JOB_RUN_INIT, c = JOB_RUN_INIT, d = JOB_RUN_INIT;

	ci_options(&o);
	o.experiment = "from-input";
	cr_assert_ok(prepare_with(&a, &o, JOB_HEAD "experiment_name: from-yaml\n"));
	cr_assert_str_eq(a.experiment.data, "from-input");
	o.experiment = "";
	cr_assert_ok(prepare_with(&b, &o, JOB_HEAD "experiment_name: from-yaml\n"));
	cr_assert_str_eq(b.experiment.data, "from-yaml");
	cr_assert_ok(prepare_with(&c, &o, JOB_HEAD));
	cr_assert_str_eq(c.experiment.data, "churn-model", "the repository's name, without its owner");
	o.origin.repository = NULL;
	cr_assert_ok(prepare_with(&d, &o, JOB_HEAD));
	cr_assert_str_eq(d.experiment.data, "Default");
	cr_assert_not_null(d.metrics, "the metrics output is an object even before any run is read");
	job_run_release(&a);
	job_run_release(&b);
	job_run_release(&c);
	job_run_release(&d);
}

Test(job_run, a_bad_experiment_or_compute_name_is_an_input_error_before_any_call)
{
	struct job_run_options o;
	struct job_run a = JOB_RUN_INIT, b = JOB_RUN_INIT;

	ci_options(&o);
	o.experiment = "no/slashes";
	cr_assert_fails(prepare_with(&a, &o, JOB_HEAD), ERR_INPUT, "Input experiment-name: ");
	o.experiment = NULL;
	o.compute = "azureml:../x";
	cr_assert_fails(prepare_with(&b, &o, JOB_HEAD), ERR_INPUT, "Input compute: ");
	job_run_release(&a);
	job_run_release(&b);
}

Test(job_run, the_attempt_is_tagged_run_id_first_and_not_at_all_outside_ci)
{
	static const char *const want[] = {
		"run_id", "41", "run_attempt", "2", "repository", "org/churn-model",
		"workflow_job", "train", "job_file", "jobs/train.yml", NULL,
	};
	struct job_run_options o;
	struct job_run a = JOB_RUN_INIT, b = JOB_RUN_INIT;
	size_t i;

	ci_options(&o);
	cr_assert_ok(prepare_with(&a, &o, JOB_HEAD));
	for (i = 0; want[i]; i++)
		cr_assert_str_eq(a.identity[i], want[i]);
	cr_assert_null(a.identity[i]);
	o.origin.run_id = "";
	cr_assert_ok(prepare_with(&b, &o, JOB_HEAD));
	cr_assert_null(b.identity[0]);
	job_run_release(&a);
	job_run_release(&b);
}

/* A caller that names no job file (Model-CT's stage, say) gets no
 * job_file tag rather than a NULL one. */
Test(job_run, an_attempt_without_a_job_file_name_has_no_job_file_tag)
{
	struct job_run_options o;
	struct job_run r = JOB_RUN_INIT;
	size_t i;

	ci_options(&o);
	o.job_file = NULL;
	cr_assert_ok(prepare_with(&r, &o, JOB_HEAD));
	for (i = 0; r.identity[i]; i += 2)
		cr_assert_str_neq(r.identity[i], "job_file");
	cr_assert_eq(i, 8, "run_id, run_attempt, repository, workflow_job");
	job_run_release(&r);
}

Test(job_run, the_request_carries_the_overrides_and_the_tags_in_order)
{
	static const char *const identity[] = { "run_id", "41", NULL };
	struct stub_reply script[] = { { .status = 500 } };
	struct job_run_options o;
	struct job_run r = JOB_RUN_INIT;
	struct job_request req = JOB_REQUEST_INIT;
	struct arm_stub f;

	ci_options(&o);
	cr_assert_ok(prepare_with(&r, &o, JOB_HEAD "compute: azureml:yaml-cluster\n"
				  "inputs:\n  data: {type: uri_folder, path: 'azureml://datastores/d/paths/x/'}\n"
				  "  lr: 0.1\noutputs:\n  model: {type: uri_folder}\ntags: {team: ml}\n"));
	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_ok(job_request_build(&req, &f.aml, &r.spec, "churn", "azureml:cpu", "3c5e0a7b",
				       identity));
	cr_assert_eq(stub_count(f.stub), 0, "a registry environment and a URI need no look-up");
	cr_assert_str_eq(req.spec.environment_id, REGISTRY_ENV);
	cr_assert(strstr(req.spec.compute_id, "/workspaces/ws1/computes/cpu") != NULL, "%s",
		  req.spec.compute_id);
	cr_assert_str_eq(req.spec.experiment_name, "churn");
	cr_assert_eq(req.spec.inputs_nr, 2);
	cr_assert_str_eq(req.spec.inputs[0].uri, "azureml://datastores/d/paths/x/");
	cr_assert_str_eq(req.spec.inputs[1].value, "0.1");
	cr_assert_eq(req.spec.outputs_nr, 1);
	cr_assert_str_eq(req.spec.outputs[0].name, "model");
	cr_assert_str_eq(req.spec.tags[0], "team");
	cr_assert_str_eq(req.spec.tags[2], "commit");
	cr_assert_str_eq(req.spec.tags[3], "3c5e0a7b");
	cr_assert_str_eq(req.spec.tags[4], "run_id");
	cr_assert_null(req.spec.tags[6]);
	cr_assert_null(req.spec.code_id);
	job_request_release(&req);
	cr_assert_ok(job_request_build(&req, &f.aml, &r.spec, "churn", "", NULL, NULL));
	cr_assert(strstr(req.spec.compute_id, "/computes/yaml-cluster") != NULL, "the YAML's compute");
	cr_assert_null(req.spec.tags[2], "no commit, no identity");
	job_request_release(&req);
	job_run_release(&r);
	arm_stub_stop(&f);
}

Test(job_run, the_request_carries_where_and_how_the_job_runs)
{
	struct stub_reply script[] = { { .status = 500 } };
	struct job_run_options o;
	struct job_run r = JOB_RUN_INIT;
	struct job_request req = JOB_REQUEST_INIT;
	struct arm_stub f;
	cJSON *body = NULL;

	ci_options(&o);
	cr_assert_ok(prepare_with(&r, &o, JOB_HEAD "resources: {instance_count: 2, shm_size: 8g}\n"
				  "distribution: {type: pytorch, process_count_per_instance: 3}\n"
				  "limits: {timeout: 90}\nqueue_settings: {job_tier: basic}\n"
				  "identity: {type: user_identity}\nproperties: {owner: ml}\n"
				  "services:\n  lab: {type: vs_code}\n"));
	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_ok(job_request_build(&req, &f.aml, &r.spec, "churn", NULL, NULL, NULL));
	cr_assert_ok(aml_job_body(&body, &req.spec));
	cr_assert_eq(json_find(body, "properties.resources.instanceCount")->valuedouble, 2);
	cr_assert_str_eq(json_string_or(body, "properties.resources.shmSize", ""), "8g");
	cr_assert_str_eq(json_string_or(body, "properties.distribution.distributionType", ""), "PyTorch");
	cr_assert_eq(json_find(body, "properties.distribution.processCountPerInstance")->valuedouble, 3);
	cr_assert_str_eq(json_string_or(body, "properties.limits.timeout", ""), "PT1M30S");
	cr_assert_str_eq(json_string_or(body, "properties.queueSettings.jobTier", ""), "Basic");
	cr_assert_str_eq(json_string_or(body, "properties.identity.identityType", ""), "UserIdentity");
	cr_assert_str_eq(json_string_or(body, "properties.properties.owner", ""), "ml");
	cr_assert_str_eq(json_string_or(body, "properties.services.lab.jobServiceType", ""), "VSCode");
	cJSON_Delete(body);
	job_request_release(&req);
	job_run_release(&r);
	arm_stub_stop(&f);
}

#define RUNNING "{\"name\":\"j1\",\"properties\":{\"status\":\"Running\"}}"
#define NOT_FOUND "{\"error\":{\"code\":\"UserError\",\"message\":\"not found\"}}"

/* The name of the job of run 41, attempt 2, of org/churn-model's `train`
 * job with jobs/train.yml (ci_options), in the default experiment. */
static void attempt_name(struct buf *out)
{
	struct job_run_options o;

	ci_options(&o);
	job_run_name(out, &o.origin, o.job_file, "churn-model", NULL);
}

Test(job_run, a_ci_job_is_named_after_its_attempt_and_outside_ci_not_at_all)
{
	struct job_origin origin = { "org/churn-model", "3c5e0a7b", "41", "2", "train" };
	struct buf a = BUF_INIT, b = BUF_INIT;

	job_run_name(&a, &origin, "jobs/train.yml", "churn-model", NULL);
	cr_assert_eq(a.len, strlen("churn-model-41-2-") + 12, "%s", a.data);
	cr_assert(!strncmp(a.data, "churn-model-41-2-", strlen("churn-model-41-2-")), "%s", a.data);
	cr_assert_ok(aml_check_name(a.data, "job name"));
	job_run_name(&b, &origin, "jobs/train.yml", "churn-model", NULL);
	cr_assert_str_eq(a.data, b.data, "the same attempt, the same name");
	origin.run_id = "";
	buf_reset(&b);
	job_run_name(&b, &origin, "jobs/train.yml", "churn-model", NULL);
	cr_assert_eq(b.len, 0);
	buf_release(&a);
	buf_release(&b);
}

/* Each field the hash covers tells two jobs apart, so two job files of one
 * workflow job, or a new attempt, never share a name. */
Test(job_run, the_job_file_attempt_workflow_job_and_compute_each_change_the_name)
{
	const struct job_origin base = { "org/churn-model", NULL, "41", "2", "train" };
	struct job_origin other = base;
	struct buf a = BUF_INIT, b = BUF_INIT;

	job_run_name(&a, &base, "jobs/train.yml", "x", NULL);
	job_run_name(&b, &base, "jobs/other.yml", "x", NULL);
	cr_assert_str_neq(a.data, b.data);
	buf_reset(&b);
	other.workflow_job = "train-2";
	job_run_name(&b, &other, "jobs/train.yml", "x", NULL);
	cr_assert_str_neq(a.data, b.data);
	buf_reset(&b);
	job_run_name(&b, &base, "jobs/train.yml", "x", "gpu");
	cr_assert_str_neq(a.data, b.data);
	buf_reset(&b);
	other = base;
	other.run_attempt = "3";
	job_run_name(&b, &other, "jobs/train.yml", "x", NULL);
	cr_assert(!strncmp(b.data, "churn-model-41-3-", strlen("churn-model-41-3-")), "%s", b.data);
	buf_release(&a);
	buf_release(&b);
}

/* Whatever the repository is called, the name stays within Azure ML's rule. */
Test(job_run, a_repository_name_azure_ml_would_refuse_is_made_a_valid_name)
{
	struct job_origin origin = { "org/.Ünïcode Repo..Name_", NULL, "7", NULL, NULL };
	struct buf name = BUF_INIT, long_repo = BUF_INIT;
	size_t i;

	job_run_name(&name, &origin, NULL, NULL, NULL);
	cr_assert(!strncmp(name.data, "n-code-repo-name-7-1-", strlen("n-code-repo-name-7-1-")), "%s",
		  name.data);
	cr_assert_ok(aml_check_name(name.data, "job name"));
	buf_addstr(&long_repo, "org/");
	for (i = 0; i < 300; i++)
		buf_addstr(&long_repo, "a-");
	origin.repository = long_repo.data;
	origin.run_id = "...";
	buf_reset(&name);
	job_run_name(&name, &origin, NULL, NULL, NULL);
	cr_assert_ok(aml_check_name(name.data, "job name"));
	cr_assert(name.len <= 129, "%zu", name.len);
	origin.repository = "org/---";
	buf_reset(&name);
	job_run_name(&name, &origin, NULL, NULL, NULL);
	cr_assert(!strncmp(name.data, "mlops-0-1-", strlen("mlops-0-1-")), "%s", name.data);
	buf_release(&name);
	buf_release(&long_repo);
}

Test(job_run, a_re_run_of_the_attempt_follows_its_job_instead_of_submitting_again)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"name\":\"j1\",\"properties\":{\"status\":\"Running\"}}" },
	};
	struct job_run_options o;
	struct job_run r = JOB_RUN_INIT;
	struct buf want = BUF_INIT, path = BUF_INIT;
	struct arm_stub f;

	ci_options(&o);
	cr_assert_ok(prepare_with(&r, &o, JOB_HEAD));
	attempt_name(&want);
	cr_assert_str_eq(r.name.data, want.data);
	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_ok(job_run_submit(&r, &f.aml, f.http, &o));
	cr_assert(r.attached);
	cr_assert(!r.changed, "nothing was submitted");
	cr_assert(r.live);
	cr_assert_str_eq(r.status, "Running");
	cr_assert_eq(stub_count(f.stub), 1);
	buf_addf(&path, "GET /subscriptions/");
	cr_assert(strstr(stub_head(f.stub, 0), path.data) == stub_head(f.stub, 0), "%s",
		  stub_head(f.stub, 0));
	buf_reset(&path);
	buf_addf(&path, "/jobs/%s?", want.data);
	cr_assert(strstr(stub_head(f.stub, 0), path.data) != NULL, "read by its name: %s",
		  stub_head(f.stub, 0));
	buf_release(&want);
	buf_release(&path);
	job_run_release(&r);
	arm_stub_stop(&f);
}

/* Submits with `script`: the look-up's 404, the PUT's refusal, the read
 * after it. */
static int submit_refused(struct job_run *r, struct arm_stub *f, struct stub_reply *script)
{
	struct job_run_options o;

	ci_options(&o);
	cr_assert_ok(prepare_with(r, &o, JOB_HEAD));
	arm_stub_start_aml(f, script, 3, "ws1");
	return job_run_submit(r, &f->aml, f->http, &o);
}

/* Two runs of one attempt racing: ours reads no job, then its PUT meets the
 * other's job of the same name (a 400 for the different body) and follows it.
 * A refusal with no job of our name behind it stays the error. */
Test(job_run, a_submit_refused_because_the_job_appeared_meanwhile_follows_it)
{
	struct stub_reply raced[] = {
		{ .status = 404, .body = NOT_FOUND },
		{ .status = 400, .body = "{\"error\":{\"code\":\"UserError\",\"message\":\"Job exists\"}}" },
		{ .status = 200, .body = RUNNING },
	};
	struct stub_reply refused[] = {
		{ .status = 404, .body = NOT_FOUND },
		{ .status = 400, .body = "{\"error\":{\"code\":\"UserError\",\"message\":\"bad command\"}}" },
		{ .status = 404, .body = NOT_FOUND },
	};
	struct job_run r = JOB_RUN_INIT, lone = JOB_RUN_INIT;
	struct arm_stub f, g;

	cr_assert_ok(submit_refused(&r, &f, raced));
	cr_assert(r.attached);
	cr_assert(r.changed);
	cr_assert(strstr(stub_head(f.stub, 1), "PUT ") == stub_head(f.stub, 1));
	cr_assert(strstr(stub_head(f.stub, 2), "GET ") == stub_head(f.stub, 2));
	cr_assert_str_eq(r.job.name, "j1");
	cr_assert_fails(submit_refused(&lone, &g, refused), ERR_HTTP, "bad command");
	cr_assert(!lone.attached);
	job_run_release(&r);
	job_run_release(&lone);
	arm_stub_stop(&f);
	arm_stub_stop(&g);
}

Test(job_run, a_name_the_yaml_gives_is_the_jobs_name)
{
	struct job_run_options o;
	struct job_run r = JOB_RUN_INIT;

	ci_options(&o);
	cr_assert_ok(prepare_with(&r, &o, JOB_HEAD "name: my-job\n"));
	cr_assert_str_eq(r.name.data, "my-job");
	job_run_release(&r);
}

Test(job_run, a_job_started_earlier_is_followed_by_its_name_without_a_yaml)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = RUNNING },
		{ .status = 404, .body = NOT_FOUND },
	};
	struct job_run_options o;
	struct job_run r = JOB_RUN_INIT, missing = JOB_RUN_INIT;
	struct arm_stub f;

	ci_options(&o);
	o.path = "/no/such/file.yml";
	arm_stub_start_aml(&f, script, 2, "ws1");
	cr_assert_ok(job_run_attach_named(&r, &f.aml, "j1", &o));
	cr_assert(r.attached && r.live && !r.changed);
	cr_assert_str_eq(r.status, "Running");
	cr_assert(strstr(stub_head(f.stub, 0), "/jobs/j1?") != NULL);
	cr_assert_fails(job_run_attach_named(&missing, &f.aml, "j2", &o), ERR_INPUT,
			"Input job-name: workspace ws1 has no job j2");
	cr_assert_fails(job_run_attach_named(&missing, &f.aml, "no/such", &o), ERR_INPUT,
			"Input job-name");
	cr_assert_eq(stub_count(f.stub), 2, "a bad name is not sent");
	job_run_release(&r);
	job_run_release(&missing);
	arm_stub_stop(&f);
}

Test(job_run, giving_up_on_a_live_job_cancels_it_and_keeps_the_error)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = NOT_FOUND },
		{ .status = 201, .body = RUNNING },
		{ .status = 200 },
	};
	struct job_run_options o;
	struct job_run r = JOB_RUN_INIT;
	struct arm_stub f;

	ci_options(&o);
	cr_assert_ok(prepare_with(&r, &o, JOB_HEAD));
	arm_stub_start_aml(&f, script, 3, "ws1");
	cr_assert_ok(job_run_submit(&r, &f.aml, f.http, &o));
	cr_assert(!r.attached);
	cr_assert(r.changed);
	cr_assert(strstr(stub_head(f.stub, 1), "PUT ") == stub_head(f.stub, 1));
	cr_assert_eq(job_run_abandon(&r, &f.aml, error_set(ERR_INPUT, "outputs not written"), 1),
		     ERR_INPUT);
	cr_assert_str_eq(error_message(), "outputs not written");
	cr_assert(strstr(stub_head(f.stub, 2), "POST ") == stub_head(f.stub, 2));
	cr_assert(strstr(stub_head(f.stub, 2), "/jobs/j1/cancel?") != NULL);
	cr_assert(!r.live);
	cr_assert_eq(job_run_abandon(&r, &f.aml, ERR_INPUT, 1), ERR_INPUT);
	cr_assert_eq(stub_count(f.stub), 3, "cancelled once");
	job_run_release(&r);
	arm_stub_stop(&f);
}

static void train(struct job_run *r, struct arm_stub *f, struct stub_reply *script, size_t n,
		  int expect)
{
	struct job_run_options o;

	ci_options(&o);
	tmpdir_write(root, "jobs/train.yml", JOB_HEAD "tags: {team: ml}\n");
	arm_stub_start_aml(f, script, n, "ws1");
	if (expect)
		cr_assert_fails(job_run_train(r, &f->aml, f->http, &o), expect, "job j1 ended Failed");
	else
		cr_assert_ok(job_run_train(r, &f->aml, f->http, &o));
}

Test(job_run, training_submits_follows_and_reports_a_completed_job)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = NOT_FOUND },
		{ .status = 201, .body = RUNNING },
		{ .status = 200, .body = "{\"name\":\"j1\",\"properties\":{\"status\":\"Completed\"}}" },
	};
	struct job_run r = JOB_RUN_INIT;
	struct arm_stub f;
	size_t len;
	const char *body;

	train(&r, &f, script, 3, 0);
	cr_assert_str_eq(r.status, "Completed");
	cr_assert(!r.live);
	cr_assert(r.duration_s >= 0);
	/* The workspace answered without a tracking URI: no run, a warning. */
	cr_assert(!r.have_mlflow);
	cr_assert_eq(cJSON_GetArraySize(r.metrics), 0);
	body = stub_body(f.stub, 1, &len);
	cr_assert(strstr(body, "\"team\":\"ml\",\"commit\":\"3c5e0a7b\",\"run_id\":\"41\"") != NULL,
		  "%s", body);
	job_run_release(&r);
	arm_stub_stop(&f);
}

Test(job_run, training_a_job_that_fails_is_an_error_naming_its_error)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = NOT_FOUND },
		{ .status = 201, .body = RUNNING },
		{ .status = 200, .body = "{\"name\":\"j1\",\"properties\":{\"status\":\"Failed\","
					 "\"error\":{\"error\":{\"code\":\"UserError\",\"message\":\"boom\"}}}}" },
	};
	struct job_run r = JOB_RUN_INIT;
	struct arm_stub f;

	train(&r, &f, script, 3, ERR_REMOTE_FAILED);
	cr_assert_str_eq(r.status, "Failed");
	cr_assert(strstr(error_message(), "boom") != NULL, "%s", error_message());
	job_run_release(&r);
	arm_stub_stop(&f);
}

static int refuse_and_note_scope(void *ctx, const char *scope, const char **out)
{
	struct buf *seen = ctx;

	(void)out;
	buf_reset(seen);
	buf_addstr(seen, scope);
	return error_set(ERR_AUTH, "no token in this test");
}

/* MLflow is read with a Resource Manager token of the workspace's own
 * cloud, not always public Azure's (it took a NULL scope once). */
Test(job_run, mlflow_is_read_with_the_clouds_own_resource_manager_scope)
{
	struct job_run_options o;
	struct job_run r = JOB_RUN_INIT;
	struct arm_stub f;
	struct buf seen = BUF_INIT;

	ci_options(&o);
	o.tokens = (struct token_source){ refuse_and_note_scope, &seen };
	arm_stub_start_aml(&f, NULL, 0, "ws1");
	free(f.arm.scope);
	f.arm.scope = xstrdup("https://management.usgovcloudapi.net/.default");
	r.job.name = xstrdup("j1");
	r.job.tracking_uri = xstrdup("azureml://usgovvirginia.api.ml.azure.us/mlflow/v1.0"
				     "/subscriptions/sub-1/resourceGroups/rg/providers"
				     "/Microsoft.MachineLearningServices/workspaces/ws1");
	r.last = &r.job;
	job_run_collect(&r, &f.aml, f.http, &o);
	cr_assert(!r.have_mlflow);
	cr_assert_str_eq(seen.data, "https://management.usgovcloudapi.net/.default");
	cr_assert_eq(stub_count(f.stub), 0, "nothing sent without a token");
	buf_release(&seen);
	job_run_release(&r);
	arm_stub_stop(&f);
}
