#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/arm_deployment.h"
#include "core/fs.h"
#include "core/json.h"
#include "support/arm_stub.h"
#include "support/check.h"
#include "support/examples.h"
#include "support/json_check.h"

/* ---- names -------------------------------------------------------------------- */

Test(arm_deployment, name_follows_arm_rules)
{
	char long_name[66];

	cr_assert_ok(arm_deployment_name_check("workspace-cd_main.(1)"));
	cr_assert_fails(arm_deployment_name_check(""), ERR_INPUT, "1-64 characters");
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	cr_assert_fails(arm_deployment_name_check(long_name), ERR_INPUT, "1-64 characters");
	long_name[64] = '\0';
	cr_assert_ok(arm_deployment_name_check(long_name));
	cr_assert_fails(arm_deployment_name_check("a/b"), ERR_INPUT, "'a/b' may hold only");
	cr_assert_fails(arm_deployment_name_check("a b"), ERR_INPUT, "may hold only");
}

/* ---- the body against the official request shapes ----------------------------- */

struct body_case {
	const char *file;
	enum arm_deployment_on_error on_error;
};

static void check_example_body(const struct body_case *c)
{
	cJSON *ex = example_load(EXAMPLES_DEPLOYMENTS, c->file), *body = NULL;
	const cJSON *want = json_find(ex, "parameters.parameters");
	struct arm_deployment_request req = ARM_DEPLOYMENT_REQUEST_INIT;

	req.template_uri = json_string_or(want, "properties.templateLink.uri", NULL);
	req.template_query = json_string_or(want, "properties.templateLink.queryString", NULL);
	req.parameters = json_find(want, "properties.parameters");
	req.mode = !strcmp(json_string_or(want, "properties.mode", ""), "Complete") ?
		ARM_DEPLOYMENT_COMPLETE : ARM_DEPLOYMENT_INCREMENTAL;
	req.on_error = c->on_error;
	req.on_error_deployment = json_string_or(want, "properties.onErrorDeployment.deploymentName", NULL);
	cr_assert_ok(arm_deployment_body(&body, &req));
	json_check_eq(body, want);
	cJSON_Delete(body);
	cJSON_Delete(ex);
}

Test(arm_deployment, body_matches_the_official_example_requests)
{
	static const struct body_case cases[] = {
		{ "PutDeploymentResourceGroup.json", ARM_DEPLOYMENT_ON_ERROR_NONE },
		{ "PostDeploymentValidateOnResourceGroup.json", ARM_DEPLOYMENT_ON_ERROR_NONE },
		{ "PostDeploymentWhatIfOnResourceGroup.json", ARM_DEPLOYMENT_ON_ERROR_NONE },
		{ "PutDeploymentWithOnErrorDeploymentLastSuccessful.json", ARM_DEPLOYMENT_ON_ERROR_LAST_SUCCESSFUL },
		{ "PutDeploymentWithOnErrorDeploymentSpecificDeployment.json", ARM_DEPLOYMENT_ON_ERROR_SPECIFIC },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_example_body(&cases[i]);
}

Test(arm_deployment, body_carries_an_inline_template_location_and_tags)
{
	cJSON *template = json_check_parse("{\"$schema\":\"s\",\"resources\":[]}");
	cJSON *params = json_check_parse("{\"p\":{\"value\":1}}");
	cJSON *tags = json_check_parse("{\"team\":\"ml\"}"), *body = NULL;
	struct arm_deployment_request req = ARM_DEPLOYMENT_REQUEST_INIT;

	req.template = template;
	req.parameters = params;
	req.mode = ARM_DEPLOYMENT_COMPLETE;
	req.location = "westeurope";
	req.tags = tags;
	cr_assert_ok(arm_deployment_body(&body, &req));
	json_check_text(body, ("{\"location\":\"westeurope\",\"tags\":{\"team\":\"ml\"},\"properties\":"
				  "{\"mode\":\"Complete\",\"template\":{\"$schema\":\"s\",\"resources\":[]},"
				  "\"parameters\":{\"p\":{\"value\":1}}}}"));
	cJSON_Delete(body);
	cJSON_Delete(template);
	cJSON_Delete(params);
	cJSON_Delete(tags);
}

Test(arm_deployment, body_needs_exactly_one_template_form)
{
	cJSON *template = json_check_parse("{}"), *body = NULL;
	struct arm_deployment_request req = ARM_DEPLOYMENT_REQUEST_INIT;

	cr_assert_fails(arm_deployment_body(&body, &req), ERR_INPUT, "not neither");
	req.template = template;
	req.template_uri = "https://x/t.json";
	cr_assert_fails(arm_deployment_body(&body, &req), ERR_INPUT, "not both");
	req.template_uri = NULL;
	req.on_error = ARM_DEPLOYMENT_ON_ERROR_SPECIFIC;
	cr_assert_fails(arm_deployment_body(&body, &req), ERR_INPUT, "needs a deployment name");
	cr_assert_null(body);
	cJSON_Delete(template);
}

/* ---- calls against the scripted server ------------------------------------------------ */

static const char *failed_operations =
	"[{\"operationId\":\"A\",\"properties\":{\"provisioningState\":\"Succeeded\",\"targetResource\":"
	"{\"id\":\"/kv\",\"resourceType\":\"Microsoft.KeyVault/vaults\",\"resourceName\":\"kv1\"}}},"
	"{\"operationId\":\"B\",\"properties\":{\"provisioningState\":\"Failed\",\"statusCode\":\"Conflict\","
	"\"statusMessage\":{\"status\":\"Failed\",\"error\":{\"code\":\"StorageAccountAlreadyTaken\","
	"\"message\":\"The storage account named sa1 is already taken.\"}},\"targetResource\":"
	"{\"id\":\"/sa\",\"resourceType\":\"Microsoft.Storage/storageAccounts\",\"resourceName\":\"sa1\"}}}]";

struct fixture {
	struct arm_stub s;
	struct arm_deployment_target target;
	cJSON *template;
	struct arm_deployment_request req;
	char header[512];
};

static void start(struct fixture *f, struct stub_reply *script, size_t n)
{
	arm_stub_start(&f->s, script, n);
	f->target = (struct arm_deployment_target){ &f->s.arm, "rg-1", "main", 60 };
	f->template = json_check_parse("{\"$schema\":\"s\",\"resources\":[]}");
	f->req = (struct arm_deployment_request)ARM_DEPLOYMENT_REQUEST_INIT;
	f->req.template = f->template;
}

/* Points script[i]'s `name` header at the stub itself (after it started). */
static void point_back(struct fixture *f, struct stub_reply *reply, const char *name, const char *path)
{
	snprintf(f->header, sizeof(f->header), "%s: %s%s\r\nRetry-After: 0\r\n", name, stub_url(f->s.stub), path);
	reply->headers = f->header;
}

static void stop(struct fixture *f)
{
	cJSON_Delete(f->template);
	arm_stub_stop(&f->s);
}

#define DEP_PATH "/subscriptions/sub-1/resourcegroups/rg-1/providers/Microsoft.Resources/deployments/main"

Test(arm_deployment, validate_names_the_resource_an_invalid_template_targets)
{
	cJSON *ex = example_load(EXAMPLES_DEPLOYMENTS, "PostDeploymentValidateOnResourceGroup.json");
	char *body = cJSON_PrintUnformatted(json_find(ex, "responses.400.body"));
	struct stub_reply script[] = { { .status = 400, .headers = "x-ms-request-id: dccf\r\n", .body = body } };
	struct arm_deployment_validation v;
	struct fixture f;

	start(&f, script, 1);
	arm_deployment_validation_init(&v);
	cr_assert_fails(arm_deployment_validate(&v, &f.target, &f.req), ERR_HTTP,
			"validate deployment main: AccountNameInvalid on resource 'a': a is not a valid "
			"storage account name.");
	cr_assert(strstr(error_message(), "HTTP 400 InvalidTemplateDeployment: The template deployment") != NULL);
	cr_assert(strstr(stub_head(f.s.stub, 0), "POST " DEP_PATH "/validate?api-version=2025-04-01 ") != NULL);
	arm_deployment_validation_release(&v);
	stop(&f);
	cJSON_free(body);
	cJSON_Delete(ex);
}

Test(arm_deployment, validate_waits_on_a_202_location)
{
	struct stub_reply script[] = {
		{ .status = 202 },
		{ .status = 200, .body = "{\"properties\":{\"provisioningState\":\"Succeeded\",\"validatedResources\":"
					 "[{\"id\":\"/sa\"}],\"diagnostics\":[{\"level\":\"Warning\",\"code\":\"W1\","
					 "\"message\":\"careful\"}]}}" },
	};
	struct arm_deployment_validation v;
	struct fixture f;
	size_t len;

	start(&f, script, 2);
	point_back(&f, &script[0], "Location", "/subscriptions/sub-1/operationResults/v1?api-version=2025-04-01");
	arm_deployment_validation_init(&v);
	cr_assert_ok(arm_deployment_validate(&v, &f.target, &f.req));
	cr_assert_str_eq(v.provisioning_state, "Succeeded");
	cr_assert_eq(v.n_validated_resources, 1);
	cr_assert_str_eq(v.validated_resources[0], "/sa");
	cr_assert_str_eq(v.diagnostics[0].code, "W1");
	cr_assert(strstr(stub_head(f.s.stub, 1), "GET /subscriptions/sub-1/operationResults/v1?") != NULL);
	cr_assert(strstr(stub_body(f.s.stub, 0, &len), "\"mode\":\"Incremental\"") != NULL);
	arm_deployment_validation_release(&v);
	stop(&f);
}

Test(arm_deployment, what_if_follows_its_location_to_the_result)
{
	cJSON *ex = example_load(EXAMPLES_DEPLOYMENTS, "PostDeploymentWhatIfOnResourceGroup.json");
	char *body = cJSON_PrintUnformatted(json_find(ex, "responses.200.body"));
	struct stub_reply script[] = { { .status = 202 }, { .status = 202, .headers = "Retry-After: 0\r\n" },
				       { .status = 200, .body = body } };
	struct arm_deployment_whatif w;
	struct fixture f;

	start(&f, script, 3);
	point_back(&f, &script[0], "Location", "/subscriptions/sub-1/operationresults/w1?api-version=2025-04-01");
	arm_deployment_whatif_init(&w);
	cr_assert_ok(arm_deployment_what_if(&w, &f.target, &f.req));
	cr_assert_eq(w.n_changes, 2);
	cr_assert(strstr(stub_head(f.s.stub, 0), "POST " DEP_PATH "/whatIf?api-version=2025-04-01 ") != NULL);
	cr_assert_eq(stub_count(f.s.stub), 3);
	arm_deployment_whatif_release(&w);
	stop(&f);
	cJSON_free(body);
	cJSON_Delete(ex);
}

Test(arm_deployment, deploy_follows_the_operation_and_reads_outputs)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"properties\":{\"provisioningState\":\"Accepted\"}}" },
		{ .status = 200, .body = "{\"status\":\"Running\"}", .headers = "Retry-After: 0\r\n" },
		{ .status = 200, .body = "{\"status\":\"Succeeded\"}" },
		{ .status = 200, .body = "{\"id\":\"" DEP_PATH "\",\"name\":\"main\",\"properties\":{"
					 "\"provisioningState\":\"Succeeded\",\"duration\":\"PT12.5S\","
					 "\"correlationId\":\"c-1\",\"outputs\":{\"vaultUri\":{\"type\":\"String\","
					 "\"value\":\"https://kv1.vault.azure.net/\"}},\"outputResources\":"
					 "[{\"id\":\"/sa\"},{\"id\":\"/kv\"}]}}" },
	};
	struct arm_deployment_result r;
	struct fixture f;

	start(&f, script, 4);
	point_back(&f, &script[0], "Azure-AsyncOperation", DEP_PATH "/operationStatuses/op1?api-version=2025-04-01");
	arm_deployment_result_init(&r);
	cr_assert_ok(arm_deployment_deploy(&r, &f.target, &f.req));
	cr_assert_str_eq(r.provisioning_state, "Succeeded");
	cr_assert_str_eq(r.duration, "PT12.5S");
	cr_assert_str_eq(r.correlation_id, "c-1");
	cr_assert_str_eq(arm_deployment_output_find(&r, "vaultUri")->value->valuestring, "https://kv1.vault.azure.net/");
	cr_assert_eq(r.n_output_resources, 2);
	cr_assert(strstr(stub_head(f.s.stub, 0), "PUT " DEP_PATH "?api-version=2025-04-01 ") != NULL);
	cr_assert(strstr(stub_head(f.s.stub, 3), "GET " DEP_PATH "?api-version=2025-04-01 ") != NULL);
	arm_deployment_result_release(&r);
	stop(&f);
}

Test(arm_deployment, failed_deployment_names_the_failing_resource)
{
	char ops[2048];
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"properties\":{\"provisioningState\":\"Accepted\"}}" },
		{ .status = 200, .body = "{\"status\":\"Failed\",\"error\":{\"code\":\"DeploymentFailed\",\"message\":"
					 "\"At least one resource deployment operation failed.\"}}" },
		{ .status = 200, .body = "{\"name\":\"main\",\"properties\":{\"provisioningState\":\"Failed\","
					 "\"error\":{\"code\":\"DeploymentFailed\",\"message\":\"At least one\"}}}" },
		{ .status = 200, .body = ops },
	};
	struct arm_deployment_result r;
	struct fixture f;

	snprintf(ops, sizeof(ops), "{\"value\":%s}", failed_operations);
	start(&f, script, 4);
	point_back(&f, &script[0], "Azure-AsyncOperation", DEP_PATH "/operationStatuses/op2");
	arm_deployment_result_init(&r);
	cr_assert_fails(arm_deployment_deploy(&r, &f.target, &f.req), ERR_REMOTE_FAILED,
			"deployment main: resource Microsoft.Storage/storageAccounts 'sa1' failed: "
			"StorageAccountAlreadyTaken: The storage account named sa1 is already taken.: "
			"deployment main: Failed: DeploymentFailed: At least one resource deployment operation failed.");
	cr_assert_str_eq(r.provisioning_state, "Failed");
	cr_assert_str_eq(r.error_code, "DeploymentFailed");
	cr_assert_str_eq(r.failure.resource_name, "sa1");
	cr_assert(strstr(stub_head(f.s.stub, 3), "GET " DEP_PATH "/operations?api-version=2025-04-01 ") != NULL);
	arm_deployment_result_release(&r);
	stop(&f);
}

Test(arm_deployment, failed_deployment_keeps_arms_message_when_operations_are_unreadable)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{}" },
		{ .status = 200, .body = "{\"status\":\"Failed\",\"error\":{\"code\":\"DeploymentFailed\",\"message\":\"m\"}}" },
		{ .status = 404, .body = "{\"error\":{\"code\":\"DeploymentNotFound\",\"message\":\"gone\"}}" },
	};
	struct arm_deployment_result r;
	struct fixture f;

	start(&f, script, 3);
	point_back(&f, &script[0], "Azure-AsyncOperation", DEP_PATH "/operationStatuses/op3");
	arm_deployment_result_init(&r);
	cr_assert_fails(arm_deployment_deploy(&r, &f.target, &f.req), ERR_REMOTE_FAILED,
			"deployment main: Failed: DeploymentFailed: m");
	cr_assert(strncmp(error_message(), "deployment main: Failed", 23) == 0, "%s", error_message());
	arm_deployment_result_release(&r);
	stop(&f);
}

/* Someone cancelled it in Azure: cancelled, and what ARM reports is read. */
Test(arm_deployment, a_deployment_canceled_in_azure_is_cancelled_and_read)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{}" },
		{ .status = 200, .body = "{\"status\":\"Canceled\"}" },
		{ .status = 200, .body = "{\"name\":\"main\",\"properties\":{\"provisioningState\":\"Canceled\"}}" },
		{ .status = 200, .body = "{\"value\":[]}" },
	};
	struct arm_deployment_result r;
	struct fixture f;

	start(&f, script, 4);
	point_back(&f, &script[0], "Azure-AsyncOperation", DEP_PATH "/operationStatuses/op4");
	arm_deployment_result_init(&r);
	cr_assert_fails(arm_deployment_deploy(&r, &f.target, &f.req), ERR_CANCELLED,
			"deployment main: Canceled");
	cr_assert_str_eq(r.provisioning_state, "Canceled");
	cr_assert_eq(stub_count(f.s.stub), 4);
	arm_deployment_result_release(&r);
	stop(&f);
}

/* Our own stop leaves it running: nothing more is asked of ARM. */
Test(arm_deployment, the_stop_flag_while_following_is_cancelled_without_more_calls)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"properties\":{\"provisioningState\":\"Accepted\"}}" },
	};
	static volatile sig_atomic_t stop_flag = SIGINT;
	struct arm_deployment_result r;
	struct fixture f;

	start(&f, script, 1);
	f.s.arm.stop = &stop_flag;
	arm_deployment_result_init(&r);
	cr_assert_fails(arm_deployment_deploy(&r, &f.target, &f.req), ERR_CANCELLED,
			"deployment main: stopped waiting while Accepted; it goes on in Azure");
	cr_assert_eq(stub_count(f.s.stub), 1);
	cr_assert_null(r.provisioning_state);
	arm_deployment_result_release(&r);
	stop(&f);
}

Test(arm_deployment, bad_names_fail_before_any_call)
{
	struct stub_reply script[] = { { .status = 500 } };
	struct arm_deployment_result r;
	struct fixture f;

	start(&f, script, 1);
	arm_deployment_result_init(&r);
	f.target.name = "no/slashes";
	cr_assert_fails(arm_deployment_deploy(&r, &f.target, &f.req), ERR_INPUT, "deployment name 'no/slashes'");
	f.target.name = "main";
	f.target.resource_group = "rg?x=1";
	cr_assert_fails(arm_deployment_get(&r, &f.target), ERR_INPUT, "resource group 'rg?x=1' may hold only");
	f.target.resource_group = "rg.";
	cr_assert_fails(arm_deployment_cancel(&f.target), ERR_INPUT, "not ending in '.'");
	cr_assert_eq(stub_count(f.s.stub), 0);
	arm_deployment_result_release(&r);
	stop(&f);
}

Test(arm_deployment, deploy_rejected_up_front_names_the_resource_and_a_running_one_conflicts)
{
	struct stub_reply script[] = {
		{ .status = 400, .body = "{\"error\":{\"code\":\"InvalidTemplateDeployment\",\"message\":\"not valid\","
					 "\"details\":[{\"code\":\"PreflightValidationCheckFailed\",\"message\":\"p\","
					 "\"details\":[{\"code\":\"VaultNameNotValid\",\"target\":\"k_v\",\"message\":"
					 "\"The vault name 'k_v' is invalid.\"}]}]}}" },
		{ .status = 409, .body = "{\"error\":{\"code\":\"DeploymentActive\",\"message\":\"still active\"}}" },
	};
	struct arm_deployment_result r;
	struct fixture f;

	start(&f, script, 2);
	arm_deployment_result_init(&r);
	cr_assert_fails(arm_deployment_deploy(&r, &f.target, &f.req), ERR_HTTP,
			"deployment main: VaultNameNotValid on resource 'k_v': The vault name 'k_v' is invalid.: "
			"PUT " DEP_PATH ": HTTP 400 InvalidTemplateDeployment: not valid");
	cr_assert_fails(arm_deployment_deploy(&r, &f.target, &f.req), ERR_CONFLICT,
			"deployment main: PUT " DEP_PATH ": HTTP 409 DeploymentActive: still active");
	cr_assert_eq(stub_count(f.s.stub), 2);
	arm_deployment_result_release(&r);
	stop(&f);
}

Test(arm_deployment, cancel_posts_cancel_and_a_finished_one_conflicts)
{
	struct stub_reply script[] = {
		{ .status = 204 },
		{ .status = 409, .body = "{\"error\":{\"code\":\"DeploymentCannotBeCancelled\",\"message\":\"terminal\"}}" },
	};
	struct fixture f;

	start(&f, script, 2);
	cr_assert_ok(arm_deployment_cancel(&f.target));
	cr_assert(strstr(stub_head(f.s.stub, 0), "POST " DEP_PATH "/cancel?api-version=2025-04-01 ") != NULL);
	cr_assert_fails(arm_deployment_cancel(&f.target), ERR_CONFLICT, "DeploymentCannotBeCancelled");
	stop(&f);
}
