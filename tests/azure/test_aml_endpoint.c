#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/aml_endpoint.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "support/check.h"
#include "support/arm_stub.h"
#include "support/examples.h"

/* Every key we send is in the example with the same type ("string" keys
 * are the example's placeholder for any map key). */
static void assert_shape(const cJSON *mine, const cJSON *ex, const char *where)
{
	const cJSON *item;

	/* An empty object in the example ("tags": {}) is a free map. */
	if (!cJSON_IsObject(mine) || !ex->child)
		return;
	cJSON_ArrayForEach(item, mine) {
		const cJSON *want = cJSON_GetObjectItemCaseSensitive(ex, item->string);

		if (!want)
			want = cJSON_GetObjectItemCaseSensitive(ex, "string");
		cr_assert_not_null(want, "%s.%s is not in the official example", where, item->string);
		cr_assert_str_eq(json_type_name(item), json_type_name(want), "%s.%s", where, item->string);
		assert_shape(item, want, item->string);
	}
}

static cJSON *parse(const char *text)
{
	cJSON *json = NULL;

	cr_assert_ok(json_parse(&json, text, strlen(text), "test"));
	return json;
}

static const char *const tags[] = { "sha", "abc", NULL };

Test(aml_endpoint, traffic_sums_to_100_or_is_empty)
{
	struct aml_traffic ok[] = { { "blue", 90 }, { "green", 10 } };
	struct aml_traffic low[] = { { "blue", 90 } };
	struct aml_traffic dup[] = { { "blue", 50 }, { "blue", 50 } };
	struct aml_traffic neg[] = { { "blue", 110 }, { "green", -10 } };

	cr_assert_ok(aml_traffic_check(ok, 2));
	cr_assert_ok(aml_traffic_check(NULL, 0));
	cr_assert_fails(aml_traffic_check(low, 1), ERR_INPUT, "sum to 90%, not 100%");
	cr_assert_fails(aml_traffic_check(dup, 2), ERR_INPUT, "blue appears twice");
	cr_assert_fails(aml_traffic_check(neg, 2), ERR_INPUT, "blue gets 110%");
}

Test(aml_endpoint, names_follow_the_dns_label_rules)
{
	cr_assert_ok(aml_check_endpoint_name("my-endpoint-1"));
	cr_assert_fails(aml_check_endpoint_name("1abc"), ERR_INPUT, "starting with a letter");
	cr_assert_fails(aml_check_endpoint_name("ab"), ERR_INPUT, "3-32");
	cr_assert_fails(aml_check_endpoint_name("ab_c"), ERR_INPUT, "endpoint name 'ab_c'");
	cr_assert_fails(aml_check_endpoint_name("abc-"), ERR_INPUT, "ending with");
	cr_assert_ok(aml_check_deployment_name("1blue"));
}

Test(aml_endpoint, endpoint_body_matches_the_official_example_shape)
{
	cJSON *ex = example_load(EXAMPLES_AML, "Workspace/OnlineEndpoint/createOrUpdate.json");
	struct aml_traffic t[] = { { "blue", 100 } };
	struct aml_endpoint_spec s = { .location = "eastus", .auth_mode = "AMLToken", .description = "d",
				       .tags = tags, .traffic = t, .traffic_nr = 1 };
	cJSON *body = NULL;

	cr_assert_ok(aml_endpoint_body(&body, &s));
	assert_shape(body, json_find(ex, "parameters.body"), "body");
	cr_assert_str_eq(json_string_or(body, "properties.authMode", ""), "AMLToken");
	cr_assert_eq(json_find(body, "properties.traffic.blue")->valueint, 100);
	cr_assert_str_eq(json_string_or(body, "tags.sha", ""), "abc");
	cJSON_Delete(body);
	s.auth_mode = "Password";
	cr_assert_fails(aml_endpoint_body(&body, &s), ERR_INPUT, "auth mode 'Password'");
	cJSON_Delete(ex);
}

Test(aml_endpoint, parses_the_official_endpoint_answer)
{
	cJSON *ex = example_load(EXAMPLES_AML, "Workspace/OnlineEndpoint/get.json");
	struct aml_endpoint e = AML_ENDPOINT_INIT;

	cr_assert_ok(aml_endpoint_parse(&e, json_find(ex, "responses.200.body")));
	cr_assert_str_eq(e.scoring_uri, "https://www.contoso.com/example");
	cr_assert_str_eq(e.provisioning_state, "Creating");
	cr_assert_str_eq(e.auth_mode, "AMLToken");
	cr_assert_eq(aml_endpoint_traffic(&e, "string"), 1);
	cr_assert_eq(aml_endpoint_traffic(&e, "other"), 0);
	aml_endpoint_release(&e);
	cJSON_Delete(ex);
}

Test(aml_endpoint, traffic_body_is_the_full_resource_with_the_new_map)
{
	cJSON *cur = parse("{\"id\":\"x\",\"name\":\"ep\",\"location\":\"eastus\",\"kind\":\"Managed\","
			   "\"tags\":{\"a\":\"b\"},\"identity\":{\"type\":\"SystemAssigned\",\"principalId\":\"p\"},"
			   "\"systemData\":{},\"properties\":{\"authMode\":\"Key\",\"provisioningState\":\"Succeeded\","
			   "\"scoringUri\":\"u\",\"swaggerUri\":\"s\",\"keys\":null,\"traffic\":{\"blue\":100},"
			   "\"mirrorTraffic\":{},\"description\":\"d\"}}");
	struct aml_traffic t[] = { { "blue", 0 }, { "green", 100 } };
	cJSON *body = NULL;

	cr_assert_ok(aml_endpoint_traffic_body(&body, cur, t, 2));
	cr_assert_str_eq(json_string_or(body, "location", ""), "eastus");
	cr_assert_str_eq(json_string_or(body, "tags.a", ""), "b");
	cr_assert_str_eq(json_string_or(body, "identity.type", ""), "SystemAssigned");
	cr_assert_null(json_find(body, "identity.principalId"));
	cr_assert_null(json_find(body, "id"));
	cr_assert_null(json_find(body, "systemData"));
	cr_assert_null(json_find(body, "properties.provisioningState"));
	cr_assert_null(json_find(body, "properties.scoringUri"));
	cr_assert_str_eq(json_string_or(body, "properties.description", ""), "d");
	cr_assert_eq(json_find(body, "properties.traffic.green")->valueint, 100);
	cr_assert_eq(json_find(body, "properties.traffic.blue")->valueint, 0);
	cJSON_Delete(body);
	t[1].percent = 50;
	cr_assert_fails(aml_endpoint_traffic_body(&body, cur, t, 2), ERR_INPUT, "sum to 50%");
	cJSON_Delete(cur);
}

Test(aml_endpoint, deployment_body_matches_the_official_example_shape)
{
	cJSON *ex = example_load(EXAMPLES_AML, "OnlineDeployment/ManagedOnlineDeployment/"
			    "createOrUpdate.json");
	static const char *const env[] = { "WORKERS", "2", NULL };
	struct aml_deployment_spec s = {
		.location = "eastus", .model_id = "/models/m/versions/3", .environment_id = "/environments/e/versions/2",
		.code_id = "/codes/c/versions/1", .scoring_script = "score.py", .instance_type = "Standard_DS3_v2",
		.instance_count = 2, .description = "d", .environment_variables = env, .tags = tags,
	};
	cJSON *body = NULL;

	cr_assert_ok(aml_deployment_body(&body, &s));
	assert_shape(body, json_find(ex, "parameters.body"), "body");
	cr_assert_eq(json_find(body, "sku.capacity")->valueint, 2);
	cr_assert_str_eq(json_string_or(body, "properties.endpointComputeType", ""), "Managed");
	cr_assert_str_eq(json_string_or(body, "properties.codeConfiguration.scoringScript", ""), "score.py");
	cJSON_Delete(body);
	s.scoring_script = NULL;
	cr_assert_fails(aml_deployment_body(&body, &s), ERR_INPUT, "both a code id and a scoring script");
	cJSON_Delete(ex);
}

Test(aml_endpoint, deployment_serving_fields_match_the_official_example)
{
	cJSON *ex = example_load(EXAMPLES_AML, "OnlineDeployment/ManagedOnlineDeployment/"
			    "createOrUpdate.json");
	const cJSON *want = json_find(ex, "parameters.body.properties");
	struct aml_deployment_spec s = {
		.location = "eastus", .instance_type = "Standard_DS3_v2", .scale_type = "Default",
		.request_settings = { 300000, 1, 300000 }, .app_insights_enabled = 1,
		/* The example's own values, so the durations must come out alike. */
		.liveness_probe = { 300, 300, 300, 1, 1 },
		.readiness_probe = { 1, 10, 2, 1, 30 },
		.model_mount_path = "/var/model",
	};
	static const char *const keys[] = {
		"requestSettings.maxQueueWait", "requestSettings.requestTimeout",
		"livenessProbe.timeout", "livenessProbe.period", "livenessProbe.initialDelay",
		"readinessProbe.timeout", "readinessProbe.period", "readinessProbe.initialDelay",
		"scaleSettings.scaleType",
	};
	cJSON *body = NULL;
	size_t i;

	cr_assert_ok(aml_deployment_body(&body, &s));
	assert_shape(body, json_find(ex, "parameters.body"), "body");
	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		cr_assert_str_eq(json_string_or(json_find(body, "properties"), keys[i], "?"),
				 json_string_or(want, keys[i], "!"), "%s", keys[i]);
	cr_assert_eq(json_find(body, "properties.requestSettings.maxConcurrentRequestsPerInstance")->valueint, 1);
	cr_assert_eq(json_find(body, "properties.readinessProbe.failureThreshold")->valueint, 30);
	cr_assert(cJSON_IsTrue(json_find(body, "properties.appInsightsEnabled")));
	cr_assert_str_eq(json_string_or(body, "properties.modelMountPath", ""), "/var/model");
	cJSON_Delete(body);
	cJSON_Delete(ex);
}

Test(aml_endpoint, deployment_serving_fields_are_left_out_unless_given)
{
	struct aml_deployment_spec s = { .location = "eastus", .instance_type = "Standard_DS3_v2" };
	static const char *const absent[] = {
		"requestSettings", "livenessProbe", "readinessProbe", "scaleSettings",
		"appInsightsEnabled", "egressPublicNetworkAccess", "modelMountPath",
	};
	cJSON *body = NULL;
	size_t i;

	cr_assert_ok(aml_deployment_body(&body, &s));
	for (i = 0; i < sizeof(absent) / sizeof(*absent); i++)
		cr_assert_null(json_find(json_find(body, "properties"), absent[i]), "%s", absent[i]);
	cJSON_Delete(body);
	/* Only the fields given: a probe with a period alone. */
	s.liveness_probe.period_s = 5;
	s.request_settings.request_timeout_ms = 1500;
	cr_assert_ok(aml_deployment_body(&body, &s));
	cr_assert_str_eq(json_string_or(body, "properties.livenessProbe.period", ""), "PT5S");
	cr_assert_null(json_find(body, "properties.livenessProbe.timeout"));
	cr_assert_null(json_find(body, "properties.livenessProbe.failureThreshold"));
	cr_assert_str_eq(json_string_or(body, "properties.requestSettings.requestTimeout", ""), "PT1.5S");
	cr_assert_null(json_find(body, "properties.requestSettings.maxQueueWait"));
	cJSON_Delete(body);
}

/* egressPublicNetworkAccess is in the REST spec (OnlineDeploymentProperties),
 * not in the example body. */
Test(aml_endpoint, deployment_egress_and_scale_are_checked)
{
	struct aml_deployment_spec s = { .location = "eastus", .instance_type = "Standard_DS3_v2" };
	cJSON *body = NULL;

	s.egress_public_network_access = "Disabled";
	cr_assert_ok(aml_deployment_body(&body, &s));
	cr_assert_str_eq(json_string_or(body, "properties.egressPublicNetworkAccess", ""), "Disabled");
	cJSON_Delete(body);
	s.egress_public_network_access = "disabled";
	cr_assert_fails(aml_deployment_body(&body, &s), ERR_INPUT, "'disabled' is not Enabled or Disabled");
	cr_assert_null(body);
	s.egress_public_network_access = NULL;
	s.scale_type = "TargetUtilization";
	cr_assert_fails(aml_deployment_body(&body, &s), ERR_INPUT, "scales Default only");
	s.scale_type = NULL;
	s.readiness_probe.timeout_s = -1;
	cr_assert_fails(aml_deployment_body(&body, &s), ERR_INPUT, "readinessProbe: a negative value");
	s.readiness_probe.timeout_s = 0;
	s.request_settings.max_queue_wait_ms = -5;
	cr_assert_fails(aml_deployment_body(&body, &s), ERR_INPUT, "requestSettings: a negative value");
}

Test(aml_endpoint, durations_in_milliseconds_are_iso_8601)
{
	static const struct { long ms; const char *want; } cases[] = {
		{ 0, "PT0S" }, { -3, "PT0S" }, { 1, "PT0.001S" }, { 10, "PT0.01S" },
		{ 500, "PT0.5S" }, { 1000, "PT1S" }, { 1500, "PT1.5S" }, { 5000, "PT5S" },
		{ 60000, "PT1M" }, { 90250, "PT1M30.25S" }, { 180000, "PT3M" },
		{ 3600000, "PT1H" }, { 3600001, "PT1H0.001S" }, { 3661000, "PT1H1M1S" },
		{ 3660500, "PT1H1M0.5S" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct buf b = BUF_INIT;

		aml_duration_ms(&b, cases[i].ms);
		cr_assert_str_eq(b.data, cases[i].want, "%ld ms", cases[i].ms);
		buf_release(&b);
	}
}

Test(aml_endpoint, parses_the_official_deployment_answer)
{
	cJSON *ex = example_load(EXAMPLES_AML, "OnlineDeployment/ManagedOnlineDeployment/get.json");
	struct aml_deployment d = AML_DEPLOYMENT_INIT;

	cr_assert_ok(aml_deployment_parse(&d, json_find(ex, "responses.200.body")));
	cr_assert_str_eq(d.scoring_script, "string");
	cr_assert_eq(d.instance_count, 1);
	cr_assert_not_null(d.provisioning_state);
	aml_deployment_release(&d);
	cJSON_Delete(ex);
}

/* ---- against the stub server ---- */

Test(aml_endpoint, put_waits_on_the_async_operation_then_reads_the_endpoint)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"name\":\"ep1\",\"properties\":{\"provisioningState\":\"Creating\"}}" },
		{ .status = 200, .body = "{\"status\":\"InProgress\"}", .headers = "Retry-After: 0\r\n" },
		{ .status = 200, .body = "{\"status\":\"Succeeded\"}" },
		{ .status = 200, .body = "{\"name\":\"ep1\",\"properties\":{\"provisioningState\":\"Succeeded\","
					 "\"scoringUri\":\"https://ep1.eastus.inference.ml.azure.com/score\",\"traffic\":{}}}" },
	};
	struct aml_endpoint_spec s = { .location = "eastus" };
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 4, "ws1");
	snprintf(f.hdr, sizeof(f.hdr), "Azure-AsyncOperation: %s/ops/1\r\nRetry-After: 0\r\n", stub_url(f.stub));
	script[0].headers = f.hdr;
	cr_assert_ok(aml_endpoint_put(&e, &f.aml, "ep1", &s, 60));
	cr_assert_str_eq(e.provisioning_state, "Succeeded");
	cr_assert_str_eq(e.scoring_uri, "https://ep1.eastus.inference.ml.azure.com/score");
	cr_assert(strstr(stub_head(f.stub, 3), "GET /subscriptions/sub-1/resourceGroups/rg/providers/"
				  "Microsoft.MachineLearningServices/workspaces/ws1/onlineEndpoints/ep1?") != NULL);
	aml_endpoint_release(&e);
	arm_stub_stop(&f);
}

Test(aml_endpoint, failed_operation_is_http_error_with_its_message)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"name\":\"ep1\",\"properties\":{}}" },
		{ .status = 200, .body = "{\"status\":\"Failed\",\"error\":{\"code\":\"ResourceNotReady\","
					 "\"message\":\"liveness probe failed\"}}" },
	};
	struct aml_deployment_spec s = { .location = "eastus", .instance_type = "Standard_DS3_v2" };
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 2, "ws1");
	snprintf(f.hdr, sizeof(f.hdr), "Azure-AsyncOperation: %s/ops/2\r\n", stub_url(f.stub));
	script[0].headers = f.hdr;
	cr_assert_fails(aml_deployment_put(NULL, &f.aml, "ep1", "blue", &s, 60), ERR_REMOTE_FAILED,
			"deployment ep1/blue: Failed: ResourceNotReady: liveness probe failed");
	arm_stub_stop(&f);
}

Test(aml_endpoint, set_traffic_gets_then_puts_the_whole_endpoint)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"name\":\"ep1\",\"location\":\"eastus\",\"properties\":{\"authMode\":\"Key\","
					 "\"traffic\":{\"blue\":100},\"provisioningState\":\"Succeeded\"}}" },
		{ .status = 200, .body = "{\"name\":\"ep1\",\"location\":\"eastus\",\"properties\":{\"authMode\":\"Key\","
					 "\"traffic\":{\"blue\":20,\"green\":80},\"provisioningState\":\"Succeeded\"}}" },
	};
	struct aml_traffic t[] = { { "blue", 20 }, { "green", 80 } };
	struct aml_traffic bad[] = { { "blue", 20 } };
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	const char *sent;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 2, "ws1");
	cr_assert_fails(aml_endpoint_set_traffic(NULL, &f.aml, "ep1", bad, 1, 60), ERR_INPUT, "sum to 20%");
	cr_assert_eq(stub_count(f.stub), 0);
	cr_assert_ok(aml_endpoint_set_traffic(&e, &f.aml, "ep1", t, 2, 60));
	cr_assert_eq(aml_endpoint_traffic(&e, "green"), 80);
	cr_assert(strstr(stub_head(f.stub, 1), "PUT /subscriptions/") != NULL);
	sent = stub_body(f.stub, 1, NULL);
	cr_assert(strstr(sent, "\"traffic\":{\"blue\":20,\"green\":80}") != NULL, "%s", sent);
	cr_assert(strstr(sent, "\"location\":\"eastus\"") != NULL);
	cr_assert(strstr(sent, "provisioningState") == NULL);
	aml_endpoint_release(&e);
	arm_stub_stop(&f);
}

Test(aml_endpoint, tags_patch_follows_the_location)
{
	struct stub_reply script[] = {
		{ .status = 202 },
		{ .status = 202, .headers = "Retry-After: 0\r\n" },
		{ .status = 200, .body = "{}" },
	};
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 3, "ws1");
	snprintf(f.hdr, sizeof(f.hdr), "Location: %s/results/9\r\nRetry-After: 0\r\n", stub_url(f.stub));
	script[0].headers = f.hdr;
	cr_assert_ok(aml_endpoint_set_tags(&f.aml, "ep1", tags, 60));
	cr_assert(strstr(stub_head(f.stub, 0), "PATCH /subscriptions/") != NULL);
	cr_assert_str_eq(stub_body(f.stub, 0, NULL), "{\"tags\":{\"sha\":\"abc\"}}");
	cr_assert(strstr(stub_head(f.stub, 2), "GET /results/9 ") != NULL);
	arm_stub_stop(&f);
}

Test(aml_endpoint, list_keys_masks_both_keys_at_once)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"primaryKey\":\"primary-key-1\",\"secondaryKey\":\"secondary-key-2\"}" },
	};
	struct aml_endpoint_keys k = AML_ENDPOINT_KEYS_INIT;
	struct buf line = BUF_INIT;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_ok(aml_endpoint_list_keys(&k, &f.aml, "ep1"));
	cr_assert_str_eq(k.primary, "primary-key-1");
	buf_addstr(&line, "p=primary-key-1 s=secondary-key-2");
	log_mask(&line);
	cr_assert_str_eq(line.data, "p=*** s=***");
	cr_assert(strstr(stub_head(f.stub, 0), "POST /subscriptions/sub-1/resourceGroups/rg/providers/"
				  "Microsoft.MachineLearningServices/workspaces/ws1/onlineEndpoints/ep1/listKeys?") != NULL);
	aml_endpoint_keys_release(&k);
	buf_release(&line);
	log_reset_secrets();
	arm_stub_stop(&f);
}

Test(aml_endpoint, get_logs_posts_container_type_and_tail)
{
	struct stub_reply script[] = { { .status = 200, .body = "{\"content\":\"a\\nb\\n\"}" } };
	struct buf out = BUF_INIT;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_ok(aml_deployment_logs(&out, &f.aml, "ep1", "blue", "StorageInitializer", 50));
	cr_assert_str_eq(out.data, "a\nb\n");
	cr_assert_str_eq(stub_body(f.stub, 0, NULL), "{\"containerType\":\"StorageInitializer\",\"tail\":50}");
	buf_release(&out);
	arm_stub_stop(&f);
}

Test(aml_endpoint, delete_of_a_missing_endpoint_is_fine)
{
	struct stub_reply script[] = { { .status = 204 } };
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_ok(aml_endpoint_delete(&f.aml, "ep1", 60));
	cr_assert_eq(stub_count(f.stub), 1);
	arm_stub_stop(&f);
}
