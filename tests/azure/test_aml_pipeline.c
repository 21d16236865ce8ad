#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/aml_pipeline.h"
#include "core/error.h"
#include "core/json.h"
#include "support/arm_stub.h"
#include "support/check.h"

static const struct aml_job_input prep_in[] = {
	{ .name = "raw", .type = AML_INPUT_LITERAL, .value = "${{parent.inputs.raw}}" },
};
static const struct aml_job_output prep_out[] = { { .name = "prepared" } };
static const struct aml_job_input train_in[] = {
	{ .name = "data", .type = AML_INPUT_LITERAL, .value = "${{parent.jobs.prep.outputs.prepared}}" },
	{ .name = "epochs", .type = AML_INPUT_LITERAL, .value = "30" },
};
static const struct aml_job_output train_out[] = {
	{ .name = "model", .uri = "${{parent.outputs.model}}" },
};
static const struct aml_job_input parent_in[] = {
	{ .name = "raw", .type = AML_INPUT_URI_FOLDER, .uri = "azureml:/subscriptions/s/data/churn/versions/1" },
};
static const struct aml_job_output parent_out[] = { { .name = "model" } };
static const char *const tags[] = { "run_id", "7", NULL };

static struct aml_pipeline_spec spec(struct aml_job_spec *steps_spec, struct aml_pipeline_step *steps)
{
	struct aml_pipeline_spec ps = {
		.display_name = "pipe", .experiment_name = "exp", .compute_id = "/computes/cpu",
		.inputs = parent_in, .inputs_nr = 1, .outputs = parent_out, .outputs_nr = 1,
		.tags = tags, .steps = steps, .steps_nr = 2,
	};

	steps_spec[0] = (struct aml_job_spec){ .command = "python prep.py", .environment_id = "/environments/e/versions/1",
					       .code_id = "/codes/c/versions/1", .inputs = prep_in, .inputs_nr = 1,
					       .outputs = prep_out, .outputs_nr = 1, .display_name = "prep" };
	steps_spec[1] = (struct aml_job_spec){ .command = "python train.py", .environment_id = "/environments/e/versions/1",
					       .compute_id = "/computes/gpu", .inputs = train_in, .inputs_nr = 2,
					       .outputs = train_out, .outputs_nr = 1 };
	steps[0] = (struct aml_pipeline_step){ "prep", &steps_spec[0] };
	steps[1] = (struct aml_pipeline_step){ "train", &steps_spec[1] };
	return ps;
}

Test(aml_pipeline, body_holds_the_pipeline_and_its_steps)
{
	struct aml_job_spec ss[2];
	struct aml_pipeline_step st[2];
	struct aml_pipeline_spec ps = spec(ss, st);
	const cJSON *props, *train;
	cJSON *body = NULL;

	cr_assert_ok(aml_pipeline_body(&body, &ps));
	props = json_find(body, "properties");
	cr_assert_str_eq(json_string_or(props, "jobType", ""), "Pipeline");
	cr_assert_str_eq(json_string_or(props, "experimentName", ""), "exp");
	cr_assert_str_eq(json_string_or(props, "computeId", ""), "/computes/cpu");
	cr_assert_str_eq(json_string_or(props, "settings.default_compute", ""), "/computes/cpu");
	cr_assert_str_eq(json_string_or(props, "inputs.raw.jobInputType", ""), "uri_folder");
	cr_assert_str_eq(json_string_or(props, "outputs.model.jobOutputType", ""), "uri_folder");
	cr_assert_str_eq(json_string_or(props, "tags.run_id", ""), "7");
	cr_assert_null(json_find(props, "command"), "a pipeline has no command of its own");
	cr_assert_null(json_find(props, "environmentId"));
	cr_assert_str_eq(json_string_or(props, "jobs.prep.type", ""), "command");
	cr_assert_str_eq(json_string_or(props, "jobs.prep.codeId", ""), "/codes/c/versions/1");
	cr_assert_str_eq(json_string_or(props, "jobs.prep.inputs.raw.value", ""), "${{parent.inputs.raw}}");
	train = json_find(props, "jobs.train");
	cr_assert_null(json_find(train, "jobType"));
	cr_assert_str_eq(json_string_or(train, "name", ""), "train");
	cr_assert_str_eq(json_string_or(train, "computeId", ""), "/computes/gpu");
	cr_assert_str_eq(json_string_or(train, "inputs.data.value", ""), "${{parent.jobs.prep.outputs.prepared}}");
	cr_assert_str_eq(json_string_or(train, "inputs.epochs.value", ""), "30");
	cr_assert_str_eq(json_string_or(train, "outputs.model.uri", ""), "${{parent.outputs.model}}");
	cJSON_Delete(body);
}

Test(aml_pipeline, body_refuses_no_steps_and_a_bad_step)
{
	struct aml_job_spec ss[2];
	struct aml_pipeline_step st[2];
	struct aml_pipeline_spec ps = spec(ss, st);
	cJSON *body = NULL;

	ps.steps_nr = 0;
	cr_assert_fails(aml_pipeline_body(&body, &ps), ERR_INPUT, "no steps");
	ps.steps_nr = 2;
	ss[1].command = NULL;
	cr_assert_fails(aml_pipeline_body(&body, &ps), ERR_INPUT, "pipeline step train: the job has no command");
	ss[1].command = "x";
	st[0].name = "a/b";
	cr_assert_fails(aml_pipeline_body(&body, &ps), ERR_INPUT, "pipeline step name");
	cr_assert_null(body);
}

Test(aml_pipeline, children_are_listed_on_the_tracking_host)
{
	struct aml_pipeline_children l = AML_PIPELINE_CHILDREN_INIT;
	char path[] = "/subscriptions/s/resourceGroups/rg/providers/"
		      "Microsoft.MachineLearningServices/workspaces/ws";
	struct aml aml = { .workspace_path = path };
	struct buf url = BUF_INIT;
	char *next = NULL;
	cJSON *json;

	cr_assert_ok(aml_pipeline_children_url(&url, &aml, "azureml://eastus.api.azureml.ms/mlflow/v1.0"
					       "/subscriptions/s/x", "p1"));
	cr_assert_str_eq(url.data, "https://eastus.api.azureml.ms/history/v1.0/subscriptions/s/resourceGroups/"
			 "rg/providers/Microsoft.MachineLearningServices/workspaces/ws/runs/p1/children");
	cr_assert_fails(aml_pipeline_children_url(&url, &aml, "file:///x", "p1"), ERR_INPUT, "names no host");
	cr_assert_fails(aml_pipeline_children_url(&url, &aml, NULL, "p1"), ERR_INPUT, "names no host");
	buf_release(&url);

	json = cJSON_Parse("{\"value\":[{\"runId\":\"c-1\",\"displayName\":\"prep\",\"status\":\"Completed\"},"
			   "{\"runId\":\"c-2\",\"displayName\":\"train\",\"status\":\"Running\"}],"
			   "\"nextLink\":\"https://eastus.api.azureml.ms/next\"}");
	cr_assert_ok(aml_pipeline_children_parse(&l, &next, json));
	cr_assert_eq(l.nr, 2);
	cr_assert_str_eq(l.items[0].name, "c-1");
	cr_assert_str_eq(l.items[1].display_name, "train");
	cr_assert_eq(l.items[1].status, AML_JOB_RUNNING);
	cr_assert_str_eq(next, "https://eastus.api.azureml.ms/next");
	free(next);
	cJSON_Delete(json);
	json = cJSON_Parse("{\"value\":[{\"runId\":\"../x\"}]}");
	cr_assert_fails(aml_pipeline_children_parse(&l, &next, json), ERR_JSON, "valid runId");
	cJSON_Delete(json);
	json = cJSON_Parse("{}");
	cr_assert_fails(aml_pipeline_children_parse(&l, &next, json), ERR_JSON, "no value");
	cJSON_Delete(json);
	aml_pipeline_children_release(&l);
}

Test(aml_pipeline, create_puts_the_pipeline_job)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"name\":\"p\",\"properties\":{\"jobType\":\"Pipeline\",\"status\":\"NotStarted\"}}" },
	};
	struct aml_job_spec ss[2];
	struct aml_pipeline_step st[2];
	struct aml_pipeline_spec ps = spec(ss, st);
	struct aml_job job = AML_JOB_INIT;
	struct arm_stub f;
	size_t len;

	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_ok(aml_pipeline_create(&job, &f.aml, "p", &ps));
	cr_assert_str_eq(job.name, "p");
	cr_assert(strstr(stub_head(f.stub, 0), "PUT /subscriptions/sub-1/resourceGroups/rg/providers/"
				  "Microsoft.MachineLearningServices/workspaces/ws1/jobs/p?") != NULL);
	cr_assert(strstr(stub_body(f.stub, 0, &len), "\"jobType\":\"Pipeline\"") != NULL);
	cr_assert_fails(aml_pipeline_create(NULL, &f.aml, "a b", &ps), ERR_INPUT, "job name");
	cr_assert_eq(stub_count(f.stub), 1);
	aml_job_release(&job);
	arm_stub_stop(&f);
}
