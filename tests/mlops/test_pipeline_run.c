#include <string.h>

#include <criterion/criterion.h>

#include "core/fs.h"
#include "core/json.h"
#include "mlops/job_run.h"
#include "mlops/pipeline_run.h"
#include "support/arm_stub.h"
#include "support/check.h"
#include "support/tmpdir.h"

static char root[] = "/tmp/pipeline-run-test-XXXXXX";
static struct buf yaml = BUF_INIT;

static void setup(void)
{
	tmpdir_make(root);
	fs_set_workspace(root);
	buf_addf(&yaml, "%s/jobs/pipe.yml", root);
}

static void teardown(void)
{
	fs_set_workspace(NULL);
	tmpdir_remove(root);
	buf_release(&yaml);
}

TestSuite(pipeline_run, .init = setup, .fini = teardown);

#define ENV "azureml://registries/azureml/environments/sklearn-1.5/versions/1"
#define PIPE "type: pipeline\n" \
	"experiment_name: churn\n" \
	"settings: {default_compute: azureml:cpu-cluster}\n" \
	"inputs: {epochs: 3}\n" \
	"jobs:\n" \
	"  train:\n" \
	"    code: ../training\n" \
	"    command: python train.py ${{inputs.epochs}} ${{inputs.data}}\n" \
	"    environment: " ENV "\n" \
	"    inputs: {epochs: '${{parent.inputs.epochs}}', data: '${{parent.jobs.prep.outputs.out}}'}\n" \
	"  prep:\n" \
	"    command: python prep.py ${{outputs.out}}\n" \
	"    environment: " ENV "\n" \
	"    outputs: {out: }\n" \
	"tags: {team: ml}\n"

static void options(struct job_run_options *o)
{
	memset(o, 0, sizeof(*o));
	o->path = yaml.data;
	o->job_file = "jobs/pipe.yml";
	o->origin = (struct job_origin){ "org/churn-model", "3c5e0a7b", "41", "2", "train" };
	o->wait = 1;
	o->timeout_s = 60;
}

Test(pipeline_run, a_pipeline_yaml_takes_the_pipeline_path_with_its_own_fields)
{
	struct job_run r = JOB_RUN_INIT;
	struct job_run_options o;

	options(&o);
	tmpdir_write(root, "training/train.py", "print(1)\n");
	tmpdir_write(root, "jobs/pipe.yml", PIPE);
	cr_assert_ok(job_run_prepare(&r, &o));
	cr_assert_not_null(r.pipeline);
	cr_assert_str_eq(r.experiment.data, "churn");
	cr_assert_str_eq(r.spec.compute, "cpu-cluster", "the default compute stands as the job's");
	cr_assert_str_eq(r.pipeline->yaml.steps[0].name, "prep");
	cr_assert_eq(r.pipeline->snaps[0].nr, 0, "prep has no code");
	cr_assert_eq(r.pipeline->snaps[1].nr, 1, "train's code folder is scanned");
	job_run_release(&r);
}

Test(pipeline_run, a_bad_pipeline_fails_before_any_call)
{
	struct job_run r = JOB_RUN_INIT;
	struct job_run_options o;

	options(&o);
	tmpdir_write(root, "jobs/pipe.yml", "type: pipeline\njobs:\n  a:\n    command: x\n"
		     "    environment: " ENV "\n    code: ../nowhere\n");
	cr_assert_fails(job_run_prepare(&r, &o), ERR_INPUT, "field 'jobs.a.code'");
	job_run_release(&r);
}

Test(pipeline_run, the_pipeline_is_submitted_with_its_steps_and_followed_to_its_end)
{
	/* The children are listed on the tracking host, which nothing answers
	 * here: the pipeline's own status still decides. */
	struct stub_reply script[] = {
		{ .status = 404, .body = "{\"error\":{\"code\":\"UserError\",\"message\":\"not found\"}}" },
		{ .status = 201, .body = "{\"name\":\"p1\",\"properties\":{\"status\":\"Running\","
			"\"services\":{\"Tracking\":{\"endpoint\":\"azureml://127.0.0.1:1/mlflow/v1.0/x\"}}}}" },
		{ .status = 200, .body = "{\"name\":\"p1\",\"properties\":{\"status\":\"Completed\"}}" },
	};
	struct job_run r = JOB_RUN_INIT;
	struct job_run_options o;
	struct arm_stub f;
	const char *body;
	size_t len;
	cJSON *json;

	options(&o);
	/* No code: nothing is uploaded. */
	tmpdir_write(root, "jobs/pipe.yml", "type: pipeline\nexperiment_name: churn\n"
		     "settings: {default_compute: azureml:cpu-cluster}\njobs:\n"
		     "  a:\n    command: echo a\n    environment: " ENV "\n    outputs: {o: }\n"
		     "  b:\n    command: echo ${{inputs.i}}\n    environment: " ENV "\n"
		     "    inputs: {i: '${{parent.jobs.a.outputs.o}}'}\n");
	arm_stub_start_aml(&f, script, 3, "ws1");
	cr_assert_ok(job_run_train(&r, &f.aml, f.http, &o));
	cr_assert_str_eq(r.status, "Completed");
	/* A re-run of the attempt would find it by its name: looked up, then
	 * put under it. */
	cr_assert(strstr(stub_head(f.stub, 0), "GET ") && strstr(stub_head(f.stub, 0), "/jobs/churn-model-41-"),
		  "%s", stub_head(f.stub, 0));
	cr_assert(strstr(stub_head(f.stub, 1), "PUT ") && strstr(stub_head(f.stub, 1), "/jobs/churn-model-41-"),
		  "%s", stub_head(f.stub, 1));
	body = stub_body(f.stub, 1, &len);
	json = cJSON_ParseWithLength(body, len);
	cr_assert_str_eq(json_string_or(json, "properties.jobType", ""), "Pipeline");
	cr_assert_str_eq(json_string_or(json, "properties.tags.run_id", ""), "41");
	cr_assert(strstr(json_string_or(json, "properties.settings.default_compute", ""),
			 "/computes/cpu-cluster") != NULL);
	cr_assert_str_eq(json_string_or(json, "properties.jobs.b.inputs.i.value", ""),
			 "${{parent.jobs.a.outputs.o}}");
	cr_assert(strstr(json_string_or(json, "properties.jobs.a.computeId", ""), "/computes/cpu-cluster"),
		  "a step without a compute runs on the default");
	cJSON_Delete(json);
	cr_assert_eq(stub_count(f.stub), 3);
	job_run_release(&r);
	arm_stub_stop(&f);
}
