/* Signing in from the workflow inputs, in every mode, against the sandbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cmd/session.h"
#include "cmd/workflow.h"
#include "core/fs.h"
#include "core/json.h"
#include "support/check.h"
#include "support/sandbox.h"

static const struct input_spec inputs[] = { AZURE_INPUTS, WORKSPACE_INPUT, { NULL, NULL, NULL, 0 } };
static const struct output_spec outputs[] = { { NULL, NULL } };
static const struct ci_spec spec = { "session-test", inputs, outputs };

static void clear_inputs(void)
{
	static const char *const names[] = {
		"INPUT_CREDS", "INPUT_CLIENT-ID", "INPUT_TENANT-ID", "INPUT_SUBSCRIPTION-ID",
		"INPUT_CLIENT-SECRET", "INPUT_CLIENT-CERTIFICATE", "INPUT_AUTH",
		"INPUT_ALLOW-CUSTOM-CLOUD", NULL,
	};
	const char *const *n;

	for (n = names; *n; n++)
		unsetenv(*n);
	setenv("INPUT_RESOURCE-GROUP", sandbox_env("AZURE_RESOURCE_GROUP"), 1);
	setenv("INPUT_WORKSPACE-NAME", sandbox_env("AZURE_ML_WORKSPACE"), 1);
}

/* Opens a session on the given host and reads the workspace with it. */
static void sign_in_and_read_workspace(int github)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct session s;
	struct ci *ci;

	if (github)
		setenv("GITHUB_ACTIONS", "true", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_ok(session_open(&s, ci));
	cr_assert(s.has_workspace);
	cr_assert_ok(arm_call(&s.arm, "GET", s.aml.workspace_path, AML_API_VERSION, NULL, &r));
	cr_assert_str_eq(json_string_or(r.json, "name", ""), sandbox_env("AZURE_ML_WORKSPACE"));
	arm_response_release(&r);
	session_close(&s);
	ci_close(ci);
}

TestSuite(session_sandbox, .init = sandbox_require);

Test(session_sandbox, creds_json)
{
	clear_inputs();
	setenv("INPUT_CREDS", sandbox_env("AZURE_CREDENTIALS"), 1);
	sign_in_and_read_workspace(0);
}

Test(session_sandbox, client_secret)
{
	clear_inputs();
	setenv("INPUT_CLIENT-ID", sandbox_env("AZURE_CLIENT_ID"), 1);
	setenv("INPUT_TENANT-ID", sandbox_env("AZURE_TENANT_ID"), 1);
	setenv("INPUT_SUBSCRIPTION-ID", sandbox_env("AZURE_SUBSCRIPTION_ID"), 1);
	setenv("INPUT_CLIENT-SECRET", sandbox_env("AZURE_CLIENT_SECRET"), 1);
	sign_in_and_read_workspace(0);
}

Test(session_sandbox, certificate)
{
	struct buf pem = BUF_INIT;

	clear_inputs();
	cr_assert_ok(fs_read_file(&pem, sandbox_env("AZURE_CLIENT_CERTIFICATE_PATH"), 1 << 20));
	setenv("INPUT_CLIENT-ID", sandbox_env("SANDBOX_CERT_CLIENT_ID"), 1);
	setenv("INPUT_TENANT-ID", sandbox_env("AZURE_TENANT_ID"), 1);
	setenv("INPUT_SUBSCRIPTION-ID", sandbox_env("AZURE_SUBSCRIPTION_ID"), 1);
	setenv("INPUT_CLIENT-CERTIFICATE", pem.data, 1);
	sign_in_and_read_workspace(0);
	buf_release(&pem);
}

Test(session_sandbox, github_oidc_federation)
{
	clear_inputs();
	setenv("INPUT_CLIENT-ID", sandbox_env("SANDBOX_OIDC_CLIENT_ID"), 1);
	setenv("INPUT_TENANT-ID", sandbox_env("AZURE_TENANT_ID"), 1);
	setenv("INPUT_SUBSCRIPTION-ID", sandbox_env("AZURE_SUBSCRIPTION_ID"), 1);
	sign_in_and_read_workspace(1);
}

Test(session_sandbox, managed_identity)
{
	clear_inputs();
	setenv("INPUT_AUTH", "managed-identity", 1);
	setenv("INPUT_SUBSCRIPTION-ID", sandbox_env("AZURE_SUBSCRIPTION_ID"), 1);
	sign_in_and_read_workspace(0);
}

Test(session_sandbox, no_way_to_sign_in_is_an_input_error)
{
	struct session s;
	struct ci *ci;

	clear_inputs();
	setenv("INPUT_SUBSCRIPTION-ID", "x", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_fails(session_open(&s, ci), ERR_INPUT, "no way to sign in to Azure");
	session_close(&s);
	ci_close(ci);
}

Test(session_sandbox, wrong_secret_names_the_aadsts_code_not_the_secret)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct session s;
	struct ci *ci;

	clear_inputs();
	setenv("INPUT_CLIENT-ID", sandbox_env("AZURE_CLIENT_ID"), 1);
	setenv("INPUT_TENANT-ID", sandbox_env("AZURE_TENANT_ID"), 1);
	setenv("INPUT_SUBSCRIPTION-ID", sandbox_env("AZURE_SUBSCRIPTION_ID"), 1);
	setenv("INPUT_CLIENT-SECRET", "not-the-right-secret", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_ok(session_open(&s, ci));
	cr_assert_fails(arm_call(&s.arm, "GET", s.aml.workspace_path, AML_API_VERSION, NULL, &r),
			ERR_AUTH, "AADSTS7000215");
	cr_assert_null(strstr(error_message(), "not-the-right-secret"));
	arm_response_release(&r);
	session_close(&s);
	ci_close(ci);
}

/* The sandbox's AZURE_CREDENTIALS with `field` set to `value` (and
 * `field2` to `value2` unless NULL), as INPUT_CREDS. */
static void creds_with2(const char *field, const char *value, const char *field2, const char *value2)
{
	const char *text = sandbox_env("AZURE_CREDENTIALS");
	cJSON *creds = NULL;
	struct buf out = BUF_INIT;

	cr_assert_ok(json_parse(&creds, text, strlen(text), "AZURE_CREDENTIALS"));
	cJSON_DeleteItemFromObjectCaseSensitive(creds, field);
	json_add_string(creds, field, value);
	if (field2) {
		cJSON_DeleteItemFromObjectCaseSensitive(creds, field2);
		json_add_string(creds, field2, value2);
	}
	json_write(&out, creds);
	setenv("INPUT_CREDS", out.data, 1);
	cJSON_Delete(creds);
	buf_release(&out);
}

static void creds_with(const char *field, const char *value)
{
	creds_with2(field, value, NULL, NULL);
}

static void open_fails(int code, const char *needle)
{
	struct session s;
	struct ci *ci;

	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_fails(session_open(&s, ci), code, needle);
	session_close(&s);
	ci_close(ci);
}

Test(session_sandbox, subscription_id_that_is_not_a_guid_is_refused_before_any_request)
{
	clear_inputs();
	setenv("INPUT_CLIENT-ID", sandbox_env("AZURE_CLIENT_ID"), 1);
	setenv("INPUT_TENANT-ID", sandbox_env("AZURE_TENANT_ID"), 1);
	setenv("INPUT_CLIENT-SECRET", sandbox_env("AZURE_CLIENT_SECRET"), 1);
	/* "../x" would move the request, with its bearer token, to another path. */
	setenv("INPUT_SUBSCRIPTION-ID", "../../providers/Microsoft.Evil/x", 1);
	open_fails(ERR_INPUT, "Input subscription-id must be a GUID");
	clear_inputs();
	creds_with("subscriptionId", "../x");
	open_fails(ERR_INPUT, "Input creds: subscriptionId must be a GUID");
}

Test(session_sandbox, creds_endpoints_outside_the_known_clouds_are_refused_naming_the_field)
{
	clear_inputs();
	creds_with("activeDirectoryEndpointUrl", "https://login.example.net");
	open_fails(ERR_INPUT, "Input creds: creds: activeDirectoryEndpointUrl is https://login.example.net, "
		   "which is not the sign-in host of a known Azure cloud");
	creds_with("activeDirectoryEndpointUrl", "https://login.microsoftonline.com@login.example.net");
	open_fails(ERR_INPUT, "activeDirectoryEndpointUrl is https://login.microsoftonline.com@login.example.net");
	clear_inputs();
	creds_with("resourceManagerEndpointUrl", "https://management.example.net/");
	open_fails(ERR_INPUT, "creds: resourceManagerEndpointUrl is https://management.example.net, which "
		   "is not the Resource Manager host");
	/* One cloud's sign-in with another's Resource Manager is a mistake too. */
	creds_with("resourceManagerEndpointUrl", "https://management.chinacloudapi.cn/");
	open_fails(ERR_INPUT, "activeDirectoryEndpointUrl is Azure's but resourceManagerEndpointUrl is "
		   "Azure China's");
}

Test(session_sandbox, known_clouds_and_an_explicitly_allowed_custom_cloud_open)
{
	struct session s;
	struct ci *ci;

	clear_inputs();
	creds_with2("activeDirectoryEndpointUrl", "https://login.microsoftonline.us",
		    "resourceManagerEndpointUrl", "https://management.usgovcloudapi.net/");
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_ok(session_open(&s, ci));
	cr_assert_str_eq(s.arm.endpoint, "https://management.usgovcloudapi.net");
	session_close(&s);
	ci_close(ci);

	clear_inputs();
	creds_with("activeDirectoryEndpointUrl", "https://login.example.net");
	setenv("INPUT_ALLOW-CUSTOM-CLOUD", "true", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_ok(session_open(&s, ci));
	session_close(&s);
	ci_close(ci);
}

/* Token requests the sandbox's Entra has answered so far. */
static int token_requests(void)
{
	cJSON *reply = NULL;
	const cJSON *r;
	int n = 0;

	cr_assert_eq(sandbox_control("GET", "/requests", NULL, &reply), 200);
	cJSON_ArrayForEach(r, json_find(reply, "requests"))
		if (!strcmp(json_string_or(r, "host", ""), "login.microsoftonline.com") &&
		    strstr(json_string_or(r, "path", ""), "/oauth2/v2.0/token"))
			n++;
	cJSON_Delete(reply);
	return n;
}

/*
 * ARM answering 401 ExpiredAuthenticationToken to a token we thought had
 * an hour left (issue 10): the credential signs in again instead of
 * serving its cache, and the call is made once more; a second refusal is
 * the error.
 */
Test(session_sandbox, a_token_arm_refuses_as_expired_is_replaced_once)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf rule = BUF_INIT;
	struct session s;
	struct ci *ci;
	char *id;
	int before;

	sandbox_require();
	clear_inputs();
	setenv("INPUT_CREDS", sandbox_env("AZURE_CREDENTIALS"), 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_ok(session_open(&s, ci));
	cr_assert_ok(arm_call(&s.arm, "GET", s.aml.workspace_path, AML_API_VERSION, NULL, &r));
	before = token_requests();
	buf_addf(&rule, "{\"kind\":\"expired_token\",\"host\":\"management.azure.com\",\"path\":\"%s$\","
		 "\"count\":1}", s.aml.workspace_path);
	id = sandbox_fault(rule.data);
	cr_assert_ok(arm_call(&s.arm, "GET", s.aml.workspace_path, AML_API_VERSION, NULL, &r));
	cr_assert_eq(sandbox_fault_applied(id), 1);
	cr_assert_eq(token_requests(), before + 1, "the refused token came from the cache again");
	free(id);
	buf_reset(&rule);
	buf_addf(&rule, "{\"kind\":\"expired_token\",\"host\":\"management.azure.com\",\"path\":\"%s$\","
		 "\"count\":2}", s.aml.workspace_path);
	id = sandbox_fault(rule.data);
	cr_assert_fails(arm_call(&s.arm, "GET", s.aml.workspace_path, AML_API_VERSION, NULL, &r),
			ERR_AUTH, "ExpiredAuthenticationToken");
	cr_assert_eq(sandbox_fault_applied(id), 2, "retried exactly once");
	free(id);
	buf_release(&rule);
	arm_response_release(&r);
	session_close(&s);
	ci_close(ci);
}
