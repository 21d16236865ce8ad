#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/aml_job.h"
#include "core/error.h"
#include "core/log.h"
#include "core/json.h"
#include "support/check.h"
#include "support/arm_stub.h"
#include "support/examples.h"

/* Every key we send exists in the example with the same JSON type; maps
 * whose example key is the placeholder "string" take any key. */
static void assert_shape(const cJSON *mine, const cJSON *ex, const char *where)
{
	const cJSON *item;

	if (!cJSON_IsObject(mine))
		return;
	cJSON_ArrayForEach(item, mine) {
		const cJSON *want = cJSON_GetObjectItemCaseSensitive(ex, item->string);

		if (!want)
			want = cJSON_GetObjectItemCaseSensitive(ex, "string");
		cr_assert_not_null(want, "%s.%s is not in the official example", where, item->string);
		if (cJSON_IsNumber(want) || cJSON_IsString(want) || cJSON_IsObject(want))
			cr_assert_str_eq(json_type_name(item), json_type_name(want), "%s.%s: %s vs %s",
					 where, item->string, json_type_name(item), json_type_name(want));
		assert_shape(item, want, item->string);
	}
}

static const struct aml_job_input inputs[] = {
	{ .name = "lr", .type = AML_INPUT_LITERAL, .value = "0.01" },
	{ .name = "training_data", .type = AML_INPUT_URI_FOLDER,
	  .uri = "azureml:/subscriptions/s/data/ds/versions/1", .mode = "ReadOnlyMount" },
	{ .name = "config", .type = AML_INPUT_URI_FILE, .uri = "https://a.blob.core.windows.net/c/f.yml",
	  .mode = "Download" },
};
static const struct aml_job_output outputs[] = { { .name = "model" } };
static const char *const tags[] = { "git_sha", "abc123", NULL };
static const char *const envs[] = { "EPOCHS", "3", NULL };

static struct aml_job_spec full_spec(void)
{
	struct aml_job_spec s = {
		.display_name = "run 1", .experiment_name = "my-exp", .description = "d",
		.command = "python train.py --lr ${{inputs.lr}}", .code_id = "/codes/src/versions/1",
		.environment_id = "/environments/env/versions/3", .compute_id = "/computes/cpu",
		.inputs = inputs, .inputs_nr = 3, .outputs = outputs, .outputs_nr = 1,
		.environment_variables = envs, .tags = tags, .timeout_s = 7200,
	};
	return s;
}

Test(aml_job, body_matches_the_official_example_shape)
{
	cJSON *ex = example_load(EXAMPLES_AML, "Job/CommandJob/createOrUpdate.json"), *body = NULL;
	struct aml_job_spec s = full_spec();

	/* The example shows a literal input only; uri inputs' uri and mode
	 * are checked against contract 3.5 below. */
	s.inputs_nr = 1;
	cr_assert_ok(aml_job_body(&body, &s));
	assert_shape(body, json_find(ex, "parameters.body"), "body");
	cJSON_Delete(body);
	s.inputs_nr = 3;
	cr_assert_ok(aml_job_body(&body, &s));
	cr_assert_str_eq(json_string_or(body, "properties.jobType", ""), "Command");
	cr_assert_str_eq(json_string_or(body, "properties.inputs.training_data.uri", ""),
			 "azureml:/subscriptions/s/data/ds/versions/1");
	cr_assert_str_eq(json_string_or(body, "properties.inputs.training_data.mode", ""), "ReadOnlyMount");
	cr_assert_str_eq(json_string_or(body, "properties.limits.timeout", ""), "PT2H");
	cr_assert_str_eq(json_string_or(body, "properties.inputs.lr.jobInputType", ""), "literal");
	cr_assert_str_eq(json_string_or(body, "properties.inputs.lr.value", ""), "0.01");
	cr_assert_str_eq(json_string_or(body, "properties.inputs.config.jobInputType", ""), "uri_file");
	cr_assert_str_eq(json_string_or(body, "properties.inputs.config.mode", ""), "Download");
	cr_assert_str_eq(json_string_or(body, "properties.inputs.training_data.jobInputType", ""),
			 "uri_folder");
	cr_assert_str_eq(json_string_or(body, "properties.outputs.model.jobOutputType", ""), "uri_folder");
	cr_assert_str_eq(json_string_or(body, "properties.outputs.model.mode", ""), "ReadWriteMount");
	cr_assert_str_eq(json_string_or(body, "properties.tags.git_sha", ""), "abc123");
	cr_assert_str_eq(json_string_or(body, "properties.environmentVariables.EPOCHS", ""), "3");
	cJSON_Delete(body);
	cJSON_Delete(ex);
}

static const char *const svc_props[] = { "logDir", "outputs/tb", NULL };
static const struct aml_job_service services[] = {
	{ .name = "board", .type = "TensorBoard", .port = 6006, .properties = svc_props },
};

Test(aml_job, compute_side_matches_the_official_example_shape)
{
	cJSON *ex = example_load(EXAMPLES_AML, "Job/CommandJob/createOrUpdate.json"), *body = NULL;
	struct aml_job_spec s = full_spec();

	s.inputs_nr = 1;
	s.resources.instance_count = 2;
	s.resources.instance_type = "Standard_DS3_v2";
	s.distribution.type = AML_DIST_TENSORFLOW;
	s.distribution.worker_count = 2;
	s.distribution.parameter_server_count = 1;
	s.services = services;
	s.services_nr = 1;
	cr_assert_ok(aml_job_body(&body, &s));
	assert_shape(body, json_find(ex, "parameters.body"), "body");
	cr_assert_eq(json_find(body, "properties.resources.instanceCount")->valuedouble, 2);
	cr_assert_str_eq(json_string_or(body, "properties.distribution.distributionType", ""),
			 "TensorFlow");
	cr_assert_eq(json_find(body, "properties.distribution.workerCount")->valuedouble, 2);
	cr_assert_eq(json_find(body, "properties.distribution.parameterServerCount")->valuedouble, 1);
	cr_assert_str_eq(json_string_or(body, "properties.services.board.jobServiceType", ""),
			 "TensorBoard");
	cr_assert_eq(json_find(body, "properties.services.board.port")->valuedouble, 6006);
	cr_assert_str_eq(json_string_or(body, "properties.services.board.properties.logDir", ""),
			 "outputs/tb");
	cr_assert_null(json_find(body, "properties.services.board.nodes"));
	cr_assert_str_eq(json_string_or(body, "properties.identity.identityType", ""), "AMLToken");
	cJSON_Delete(body);
	cJSON_Delete(ex);
}

Test(aml_job, sends_pytorch_mpi_queue_managed_identity_and_all_nodes)
{
	struct aml_job_service all[] = { { .name = "lab", .type = "JupyterLab", .all_nodes = 1 } };
	cJSON *props = cJSON_Parse("{\"k\":{\"a\":1}}"), *body = NULL;
	struct aml_job_spec s = full_spec();

	s.resources.shm_size = "16g";
	s.resources.docker_args = "--ipc=host";
	s.resources.properties = props;
	s.distribution.type = AML_DIST_PYTORCH;
	s.distribution.process_count_per_instance = 4;
	s.distribution.worker_count = 9;      /* TensorFlow's only: not sent */
	s.job_tier = "Spot";
	s.identity.type = "Managed";
	s.identity.client_id = "0a1b2c3d-0000-4000-8000-00000000abcd";
	s.identity.resource_id = "/subscriptions/s/uai";
	s.services = all;
	s.services_nr = 1;
	cr_assert_ok(aml_job_body(&body, &s));
	cr_assert_str_eq(json_string_or(body, "properties.resources.shmSize", ""), "16g");
	cr_assert_str_eq(json_string_or(body, "properties.resources.dockerArgs", ""), "--ipc=host");
	cr_assert_eq(json_find(body, "properties.resources.properties.k.a")->valuedouble, 1);
	cr_assert_null(json_find(body, "properties.resources.instanceCount"));
	cr_assert_str_eq(json_string_or(body, "properties.distribution.distributionType", ""), "PyTorch");
	cr_assert_eq(json_find(body, "properties.distribution.processCountPerInstance")->valuedouble, 4);
	cr_assert_null(json_find(body, "properties.distribution.workerCount"));
	cr_assert_str_eq(json_string_or(body, "properties.queueSettings.jobTier", ""), "Spot");
	cr_assert_str_eq(json_string_or(body, "properties.identity.identityType", ""), "Managed");
	cr_assert_str_eq(json_string_or(body, "properties.identity.clientId", ""),
			 "0a1b2c3d-0000-4000-8000-00000000abcd");
	cr_assert_str_eq(json_string_or(body, "properties.identity.resourceId", ""), "/subscriptions/s/uai");
	cr_assert_null(json_find(body, "properties.identity.objectId"));
	cr_assert_str_eq(json_string_or(body, "properties.services.lab.nodes.nodesValueType", ""), "All");
	cr_assert_null(json_find(body, "properties.services.lab.port"));
	cJSON_Delete(body);
	s.distribution.type = AML_DIST_MPI;
	s.identity.type = "UserIdentity";
	cr_assert_ok(aml_job_body(&body, &s));
	cr_assert_str_eq(json_string_or(body, "properties.distribution.distributionType", ""), "Mpi");
	cr_assert_eq(json_find(body, "properties.distribution.processCountPerInstance")->valuedouble, 4);
	cr_assert_null(json_find(body, "properties.identity.clientId"), "ids are a managed identity's");
	cJSON_Delete(body);
	cJSON_Delete(props);
}

Test(aml_job, compute_side_values_are_checked)
{
	struct aml_job_service bad_port[] = { { .name = "lab", .type = "JupyterLab", .port = 70000 } };
	struct aml_job_service no_type[] = { { .name = "lab" } };
	struct aml_job_spec s = full_spec();
	cJSON *body = NULL;

	s.resources.instance_count = -1;
	cr_assert_fails(aml_job_body(&body, &s), ERR_INPUT, "resources.instanceCount is -1");
	s = full_spec();
	s.distribution.type = AML_DIST_PYTORCH;
	s.distribution.process_count_per_instance = -2;
	cr_assert_fails(aml_job_body(&body, &s), ERR_INPUT, "processCountPerInstance is -2");
	s = full_spec();
	s.distribution.type = (enum aml_job_distribution_type)9;
	cr_assert_fails(aml_job_body(&body, &s), ERR_INPUT, "unknown type");
	s = full_spec();
	s.services = bad_port;
	s.services_nr = 1;
	cr_assert_fails(aml_job_body(&body, &s), ERR_INPUT, "port 70000");
	s.services = no_type;
	cr_assert_fails(aml_job_body(&body, &s), ERR_INPUT, "no name or type");
	cr_assert_null(body);
}

Test(aml_job, body_needs_command_environment_and_valid_inputs)
{
	struct aml_job_spec s = full_spec();
	struct aml_job_input bad[] = { { .name = "x", .type = AML_INPUT_URI_FILE } };
	struct aml_job_input noval[] = { { .name = "x", .type = AML_INPUT_LITERAL } };
	cJSON *body = NULL;

	s.command = "";
	cr_assert_fails(aml_job_body(&body, &s), ERR_INPUT, "no command");
	s = full_spec();
	s.environment_id = NULL;
	cr_assert_fails(aml_job_body(&body, &s), ERR_INPUT, "no environment");
	s = full_spec();
	s.inputs = bad;
	s.inputs_nr = 1;
	cr_assert_fails(aml_job_body(&body, &s), ERR_INPUT, "job input 'x' has no uri");
	s.inputs = noval;
	cr_assert_fails(aml_job_body(&body, &s), ERR_INPUT, "literal job input 'x' has no value");
	cr_assert_null(body);
}

Test(aml_job, minimal_body_leaves_azure_defaults)
{
	struct aml_job_spec s = { .command = "echo hi", .environment_id = "azureml:AzureML-x:1" };
	cJSON *body = NULL;

	cr_assert_ok(aml_job_body(&body, &s));
	cr_assert_null(json_find(body, "properties.limits"));
	cr_assert_null(json_find(body, "properties.codeId"));
	cr_assert_null(json_find(body, "properties.experimentName"));
	cr_assert_null(json_find(body, "properties.resources"));
	cr_assert_null(json_find(body, "properties.distribution"));
	cr_assert_null(json_find(body, "properties.queueSettings"));
	cr_assert_null(json_find(body, "properties.services"));
	cr_assert_str_eq(json_string_or(body, "properties.identity.identityType", ""), "AMLToken");
	cJSON_Delete(body);
}

Test(aml_job, parses_the_official_get_example)
{
	cJSON *ex = example_load(EXAMPLES_AML, "Job/CommandJob/get.json");
	struct aml_job job = AML_JOB_INIT;

	cr_assert_ok(aml_job_parse(&job, json_find(ex, "responses.200.body")));
	cr_assert_str_eq(job.name, "string");
	cr_assert_eq(job.status, AML_JOB_NOT_STARTED);
	cr_assert_str_eq(job.created_at, "2020-01-01T12:34:56.999Z");
	cr_assert_eq(job.outputs_nr, 1);
	cr_assert_str_eq(job.outputs[0].uri, "string");
	aml_job_release(&job);
	cJSON_Delete(ex);
}

Test(aml_job, parses_services_error_and_times)
{
	const char *text = "{\"name\":\"j1\",\"properties\":{\"status\":\"Failed\",\"displayName\":\"d\","
			   "\"services\":{\"Studio\":{\"endpoint\":\"https://ml.azure.com/runs/j1\"},"
			   "\"Tracking\":{\"endpoint\":\"azureml://eastus.api.azureml.ms/mlflow/v1.0/x\"}},"
			   "\"error\":{\"code\":\"UserError\",\"message\":\"exit 3\"},"
			   "\"properties\":{\"StartTimeUtc\":\"2025-01-01 10:00:00\",\"EndTimeUtc\":\"2025-01-01 10:05:00\"},"
			   "\"outputs\":{\"model\":{\"jobOutputType\":\"uri_folder\",\"uri\":null}},"
			   "\"tags\":{\"a\":\"b\"}}}";
	struct aml_job job = AML_JOB_INIT;
	cJSON *json = NULL;

	cr_assert_ok(json_parse(&json, text, strlen(text), "t"));
	cr_assert_ok(aml_job_parse(&job, json));
	cr_assert_eq(job.status, AML_JOB_FAILED);
	cr_assert_str_eq(job.studio_url, "https://ml.azure.com/runs/j1");
	cr_assert_str_eq(job.tracking_uri, "azureml://eastus.api.azureml.ms/mlflow/v1.0/x");
	cr_assert_str_eq(job.error, "UserError: exit 3");
	cr_assert_str_eq(job.start_time, "2025-01-01 10:00:00");
	cr_assert_str_eq(job.end_time, "2025-01-01 10:05:00");
	cr_assert_str_eq(job.outputs[0].name, "model");
	cr_assert_null(job.outputs[0].uri);
	cr_assert_str_eq(job.outputs[0].type, "uri_folder");
	cr_assert_str_eq(json_string_or(job.tags, "a", ""), "b");
	aml_job_release(&job);
	cJSON_Delete(json);
}

Test(aml_job, only_completed_failed_and_canceled_are_terminal)
{
	cr_assert(aml_job_status_terminal(aml_job_status_parse("Completed")));
	cr_assert(aml_job_status_terminal(aml_job_status_parse("failed")));
	cr_assert(aml_job_status_terminal(aml_job_status_parse("Canceled")));
	cr_assert_not(aml_job_status_terminal(aml_job_status_parse("CancelRequested")));
	cr_assert_not(aml_job_status_terminal(aml_job_status_parse("NotResponding")));
	cr_assert_not(aml_job_status_terminal(aml_job_status_parse("Paused")));
	cr_assert_not(aml_job_status_terminal(aml_job_status_parse("SomethingNew")));
	cr_assert(aml_job_status_succeeded(AML_JOB_COMPLETED));
	cr_assert_not(aml_job_status_succeeded(AML_JOB_CANCELED));
	cr_assert_str_eq(aml_job_status_name(AML_JOB_CANCEL_REQUESTED), "CancelRequested");
}

Test(aml_job, durations_are_iso_8601)
{
	struct buf b = BUF_INIT;

	aml_duration(&b, 9005);
	cr_assert_str_eq(b.data, "PT2H30M5S");
	buf_reset(&b);
	aml_duration(&b, 300);
	cr_assert_str_eq(b.data, "PT5M");
	buf_reset(&b);
	aml_duration(&b, 0);
	cr_assert_str_eq(b.data, "PT0S");
	buf_release(&b);
}

Test(aml_job, generated_names_are_valid_and_distinct)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	aml_job_generate_name(&a);
	aml_job_generate_name(&b);
	cr_assert_ok(aml_check_name(a.data, "job name"));
	cr_assert_str_neq(a.data, b.data);
	cr_assert_eq(strncmp(a.data, "mlops-", 6), 0);
	buf_release(&a);
	buf_release(&b);
}

/* ---- against the stub server ---- */

Test(aml_job, create_puts_the_job_under_a_generated_name)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"name\":\"n\",\"properties\":{\"status\":\"NotStarted\"}}" },
	};
	struct aml_job_spec s = { .command = "echo hi", .environment_id = "azureml:AzureML-x:1" };
	struct aml_job job = AML_JOB_INIT;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_ok(aml_job_create(&job, &f.aml, NULL, &s));
	cr_assert_eq(job.status, AML_JOB_NOT_STARTED);
	cr_assert(strstr(stub_head(f.stub, 0), "PUT /subscriptions/sub-1/resourceGroups/rg/providers/"
				  "Microsoft.MachineLearningServices/workspaces/ws1/jobs/mlops-") != NULL);
	cr_assert(strstr(stub_head(f.stub, 0), "?api-version=" AML_API_VERSION " ") != NULL);
	aml_job_release(&job);
	arm_stub_stop(&f);
}

Test(aml_job, bad_name_fails_before_any_call)
{
	struct stub_reply script[] = { { .status = 500 } };
	struct aml_job_spec s = { .command = "echo", .environment_id = "e" };
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_fails(aml_job_create(NULL, &f.aml, "../x", &s), ERR_INPUT, "job name '../x'");
	cr_assert_fails(aml_job_cancel(&f.aml, "a b", 1), ERR_INPUT, "job name");
	cr_assert_eq(stub_count(f.stub), 0);
	arm_stub_stop(&f);
}

Test(aml_job, cancel_follows_the_location_until_it_stops_answering_202)
{
	struct stub_reply script[] = {
		{ .status = 202 },
		{ .status = 202, .headers = "Retry-After: 0\r\n" },
		{ .status = 200 },
	};
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 3, "ws1");
	snprintf(f.hdr, sizeof(f.hdr), "Location: %s/results/1\r\nRetry-After: 0\r\n", stub_url(f.stub));
	script[0].headers = f.hdr;
	cr_assert_ok(aml_job_cancel(&f.aml, "job1", 30));
	cr_assert_eq(stub_count(f.stub), 3);
	cr_assert(strstr(stub_head(f.stub, 0), "POST /subscriptions/sub-1/resourceGroups/rg/providers/"
				  "Microsoft.MachineLearningServices/workspaces/ws1/jobs/job1/cancel?") != NULL);
	cr_assert(strstr(stub_head(f.stub, 2), "GET /results/1 ") != NULL);
	arm_stub_stop(&f);
}

Test(aml_job, list_follows_next_link_and_filters_by_tag)
{
	struct stub_reply script[] = {
		{ .status = 200 },
		{ .status = 200, .body = "{\"value\":[{\"name\":\"b\",\"properties\":{\"status\":\"Running\"}}]}" },
	};
	struct aml_job_list l = AML_JOB_LIST_INIT;
	char body[512];
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 2, "ws1");
	snprintf(body, sizeof(body), "{\"value\":[{\"name\":\"a\",\"properties\":{\"status\":\"Completed\"}}],"
		 "\"nextLink\":\"%s/next?api-version=x\"}", stub_url(f.stub));
	script[0].body = body;
	cr_assert_ok(aml_job_list(&l, &f.aml, "stage=prod"));
	cr_assert_eq(l.nr, 2);
	cr_assert_str_eq(l.items[0].name, "a");
	cr_assert_eq(l.items[1].status, AML_JOB_RUNNING);
	cr_assert(strstr(stub_head(f.stub, 0), "/jobs?jobType=Command&tag=stage%3Dprod&api-version=") != NULL);
	aml_job_list_release(&l);
	arm_stub_stop(&f);
}

Test(aml_job, shared_key_string_to_sign_for_a_ranged_get)
{
	struct buf b = BUF_INIT;

	aml_blob_get_string_to_sign(&b, "acct", "/azureml/ExperimentRun/dcid.j/user_logs/std_log.txt",
				    "bytes=10-19", "Mon, 01 Jan 2024 00:00:00 GMT", "2021-12-02");
	cr_assert_str_eq(b.data, "GET\n\n\n\n\n\n\n\n\n\n\nbytes=10-19\n"
			 "x-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-version:2021-12-02\n"
			 "/acct/azureml/ExperimentRun/dcid.j/user_logs/std_log.txt");
	buf_reset(&b);
	aml_job_log_blob(&b, "j1");
	cr_assert_str_eq(b.data, "ExperimentRun/dcid.j1/user_logs/std_log.txt");
	buf_release(&b);
}

/* A log handle pointed at the stub by hand (the blob host cannot be). */
static void stub_log(struct aml_job_log *log, struct arm_stub *f, const char *key)
{
	log->http = f->http;
	log->url = xasprintf("%s/azureml/ExperimentRun/dcid.j/user_logs/std_log.txt", stub_url(f->stub));
	log->account = xstrdup("acct");
	buf_addstr(&log->key, key);
}

Test(aml_job, log_reads_are_ranged_and_incremental)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = "<Error><Code>BlobNotFound</Code></Error>" },
		{ .status = 206, .body = "line 1\nline" },
		{ .status = 206, .body = " 2\n" },
		{ .status = 416, .body = "<Error><Code>InvalidRange</Code></Error>" },
		{ .status = 403, .headers = "x-ms-error-code: AuthenticationFailed\r\n" },
	};
	struct aml_job_log log = AML_JOB_LOG_INIT;
	struct buf out = BUF_INIT;
	size_t got = 99;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 5, "ws1");
	stub_log(&log, &f, "secret-key");
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 0, 0));
	cr_assert_eq(got, 0);
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 0, 0));
	cr_assert_eq(got, 11);
	cr_assert(strstr(stub_head(f.stub, 1), "Range: bytes=0-4194303\r\n") != NULL);
	cr_assert(strstr(stub_head(f.stub, 1), "Authorization: SharedKey acct:") != NULL);
	cr_assert(strstr(stub_head(f.stub, 1), "x-ms-version: ") != NULL);
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 11, 100));
	cr_assert(strstr(stub_head(f.stub, 2), "Range: bytes=11-110\r\n") != NULL);
	cr_assert_str_eq(out.data, "line 1\nline 2\n");
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 14, 0));
	cr_assert_eq(got, 0);
	cr_assert_fails(aml_job_log_read(&out, &got, &log, 14, 0), ERR_AUTH, "AuthenticationFailed");
	cr_assert(strstr(error_message(), "std_log.txt") != NULL);
	aml_job_log_release(&log);
	buf_release(&out);
	arm_stub_stop(&f);
}

static int counted_token(void *ctx, const char *scope, const char **out)
{
	static const char *const tokens[] = { "token-one", "token-two", "token-three" };
	int *calls = ctx;

	cr_assert_str_eq(scope, "https://storage.azure.com/.default");
	*out = tokens[(*calls)++ % 3];
	return 0;
}

/* Storage refusing the bearer as expired: a new token, once (issue 10). */
Test(aml_job, log_read_with_a_bearer_refused_as_expired_gets_a_new_token_once)
{
	struct stub_reply script[] = {
		{ .status = 401, .headers = "x-ms-error-code: InvalidAuthenticationInfo\r\n",
		  .body = "<Error><Code>InvalidAuthenticationInfo</Code><AuthenticationErrorDetail>Lifetime "
			  "validation failed. The token is expired.</AuthenticationErrorDetail></Error>" },
		{ .status = 206, .body = "hello\n" },
		{ .status = 401, .headers = "x-ms-error-code: InvalidAuthenticationInfo\r\n",
		  .body = "<Error><AuthenticationErrorDetail>Lifetime validation failed.</AuthenticationErrorDetail></Error>" },
	};
	struct aml_job_log log = AML_JOB_LOG_INIT;
	struct buf out = BUF_INIT;
	size_t got = 0;
	int calls = 0;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 3, "ws1");
	stub_log(&log, &f, "");
	log.tokens = (struct token_source){ counted_token, &calls };
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 0, 0));
	cr_assert_str_eq(out.data, "hello\n");
	cr_assert_eq(calls, 2);
	cr_assert(strstr(stub_head(f.stub, 0), "Authorization: Bearer token-one\r\n") != NULL);
	cr_assert(strstr(stub_head(f.stub, 1), "Authorization: Bearer token-two\r\n") != NULL);
	/* Refused again after the new token: the error, after one more try. */
	cr_assert_fails(aml_job_log_read(&out, &got, &log, 6, 0), ERR_AUTH, "InvalidAuthenticationInfo");
	cr_assert_eq(stub_count(f.stub), 4);
	aml_job_log_release(&log);
	buf_release(&out);
	arm_stub_stop(&f);
}

/* A distributed job has no std_log.txt: rank 0's log is read instead,
 * and kept once it answered; a job that has std_log.txt keeps it. */
Test(aml_job, log_read_falls_back_to_rank_0_of_a_distributed_job)
{
	struct stub_reply script[] = {
		{ .status = 404 }, { .status = 404 },             /* neither yet */
		{ .status = 404 }, { .status = 206, .body = "rank 0\n" },
		{ .status = 206, .body = "more\n" },            /* process 0 only now */
		{ .status = 206, .body = "single\n" },          /* a second handle */
		{ .status = 404 },
	};
	struct aml_job_log log = AML_JOB_LOG_INIT;
	struct buf out = BUF_INIT, b = BUF_INIT;
	size_t got;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 7, "ws1");
	stub_log(&log, &f, "k");
	log.process_url = xasprintf("%s/azureml/ExperimentRun/dcid.j/user_logs/std_log_process_0.txt",
				    stub_url(f.stub));
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 0, 0));
	cr_assert_eq(got, 0);
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 0, 0));
	cr_assert_str_eq(out.data, "rank 0\n");
	cr_assert(strstr(stub_head(f.stub, 3), "std_log_process_0.txt") != NULL);
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 7, 0));
	cr_assert(strstr(stub_head(f.stub, 4), "std_log_process_0.txt") != NULL, "kept");
	cr_assert_str_eq(out.data, "rank 0\nmore\n");
	aml_job_log_release(&log);
	stub_log(&log, &f, "k");
	log.process_url = xstrdup("https://unused.invalid/p0");
	buf_reset(&out);
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 0, 0));
	cr_assert_str_eq(out.data, "single\n");
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 7, 0));
	cr_assert_eq(stub_count(f.stub), 7, "settled on std_log.txt: a 404 later is no switch");
	aml_job_log_process_blob(&b, "j1", 3);
	cr_assert_str_eq(b.data, "ExperimentRun/dcid.j1/user_logs/std_log_process_3.txt");
	buf_release(&b);
	aml_job_log_release(&log);
	buf_release(&out);
	arm_stub_stop(&f);
}

Test(aml_job, log_read_skips_bytes_when_the_server_ignores_the_range)
{
	struct stub_reply script[] = { { .status = 200, .body = "old\nnew\n" } };
	struct aml_job_log log = AML_JOB_LOG_INIT;
	struct buf out = BUF_INIT;
	size_t got;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "ws1");
	stub_log(&log, &f, "k");
	cr_assert_ok(aml_job_log_read(&out, &got, &log, 4, 0));
	cr_assert_str_eq(out.data, "new\n");
	aml_job_log_release(&log);
	buf_release(&out);
	arm_stub_stop(&f);
}

Test(aml_job, log_open_reads_the_artifact_datastore_and_masks_its_key)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"name\":\"workspaceartifactstore\",\"properties\":{"
					 "\"accountName\":\"acct\",\"containerName\":\"azureml\","
					 "\"endpoint\":\"core.windows.net\"}}" },
		{ .status = 200, .body = "{\"secretsType\":\"AccountKey\",\"key\":\"c2VjcmV0LWtleQ==\"}" },
	};
	struct aml_job_log log = AML_JOB_LOG_INIT;
	struct buf text = BUF_INIT;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 2, "ws1");
	cr_assert_ok(aml_job_log_open(&log, &f.aml, "job1", TOKEN_SOURCE_NONE));
	cr_assert_str_eq(log.url, "https://acct.blob.core.windows.net/azureml/"
			 "ExperimentRun/dcid.job1/user_logs/std_log.txt");
	cr_assert_str_eq(log.key.data, "secret-key");
	cr_assert(strstr(stub_head(f.stub, 1), "/datastores/workspaceartifactstore/listSecrets?") != NULL);
	buf_addstr(&text, "key c2VjcmV0LWtleQ== here");
	log_mask(&text);
	cr_assert_str_eq(text.data, "key *** here");
	buf_release(&text);
	aml_job_log_release(&log);
	log_reset_secrets();
	arm_stub_stop(&f);
}

Test(aml_job, log_open_without_key_or_token_is_an_auth_error)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"properties\":{\"accountName\":\"a\",\"containerName\":\"c\"}}" },
		{ .status = 200, .body = "{\"secretsType\":\"None\"}" },
	};
	struct aml_job_log log = AML_JOB_LOG_INIT;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 2, "ws1");
	cr_assert_fails(aml_job_log_open(&log, &f.aml, "job1", TOKEN_SOURCE_NONE), ERR_AUTH,
			"no account key");
	cr_assert_null(log.url);
	arm_stub_stop(&f);
}
