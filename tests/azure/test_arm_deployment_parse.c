#include <string.h>

#include <criterion/criterion.h>

#include "azure/arm_deployment.h"
#include "core/json.h"
#include "core/log.h"
#include "support/check.h"
#include "support/examples.h"
#include "support/json_check.h"

/* ---- what-if ---------------------------------------------------------------------- */

Test(arm_deployment_parse, whatif_parses_the_official_example)
{
	cJSON *ex = example_load(EXAMPLES_DEPLOYMENTS, "PostDeploymentWhatIfOnResourceGroup.json");
	struct arm_deployment_whatif w;
	struct buf lines = BUF_INIT;
	size_t counts[ARM_DEPLOYMENT_CHANGE_COUNT];

	arm_deployment_whatif_init(&w);
	cr_assert_ok(arm_deployment_whatif_parse(&w, json_find(ex, "responses.200.body")));
	cr_assert_str_eq(w.status, "Succeeded");
	cr_assert_eq(w.n_changes, 2);
	cr_assert(strstr(w.changes[0].resource_id, "/userAssignedIdentities/myExistingIdentity") != NULL);
	cr_assert_eq(w.changes[0].type, ARM_DEPLOYMENT_CHANGE_MODIFY);
	cr_assert_eq(w.changes[0].n_delta, 1);
	cr_assert_str_eq(w.changes[0].delta[0].path, "tags.myNewTag");
	cr_assert_eq(w.changes[0].delta[0].change, ARM_DEPLOYMENT_PROPERTY_CREATE);
	cr_assert_null(w.changes[0].delta[0].before);
	cr_assert_str_eq(w.changes[0].delta[0].after->valuestring, "my tag value");
	cr_assert_eq(w.changes[1].type, ARM_DEPLOYMENT_CHANGE_CREATE);
	cr_assert_eq(w.changes[1].n_delta, 0);
	arm_deployment_whatif_count(counts, &w);
	cr_assert_eq(counts[ARM_DEPLOYMENT_CHANGE_MODIFY], 1);
	cr_assert_eq(counts[ARM_DEPLOYMENT_CHANGE_CREATE], 1);
	cr_assert_eq(counts[ARM_DEPLOYMENT_CHANGE_DELETE], 0);
	arm_deployment_change_lines(&lines, &w.changes[0], 80);
	cr_assert_str_eq(lines.data, "tags.myNewTag: (none) -> \"my tag value\"\n");
	cr_assert_str_eq(arm_deployment_change_type_name(w.changes[0].type), "Modify");
	buf_release(&lines);
	arm_deployment_whatif_release(&w);
	arm_deployment_whatif_release(&w); /* released twice: still fine */
	cJSON_Delete(ex);
}

Test(arm_deployment_parse, whatif_lines_flatten_arrays_skip_no_effect_and_cut_long_values)
{
	cJSON *json = json_check_parse(
		"{\"status\":\"Succeeded\",\"properties\":{\"changes\":[{\"resourceId\":\"/r\",\"changeType\":\"Modify\","
		"\"delta\":[{\"path\":\"properties.rules\",\"propertyChangeType\":\"Array\",\"children\":["
		"{\"path\":\"0\",\"propertyChangeType\":\"Modify\",\"before\":{\"port\":80},\"after\":{\"port\":443}},"
		"{\"path\":\"1\",\"propertyChangeType\":\"Delete\",\"before\":\"old\"}]},"
		"{\"path\":\"properties.readOnly\",\"propertyChangeType\":\"NoEffect\",\"after\":1},"
		"{\"path\":\"properties.description\",\"propertyChangeType\":\"Modify\","
		"\"before\":\"short\",\"after\":\"a very long description indeed\"}]},"
		"{\"resourceId\":\"/x\",\"changeType\":\"Teleport\"},"
		"{\"resourceId\":\"/y\",\"changeType\":\"Ignore\"}]}}");
	struct arm_deployment_whatif w;
	struct buf lines = BUF_INIT;
	size_t counts[ARM_DEPLOYMENT_CHANGE_COUNT];

	arm_deployment_whatif_init(&w);
	cr_assert_ok(arm_deployment_whatif_parse(&w, json));
	arm_deployment_change_lines(&lines, &w.changes[0], 12);
	cr_assert_str_eq(lines.data,
			 "properties.rules[0]: {\"port\":80} -> {\"port\":443}\n"
			 "properties.rules[1]: \"old\" -> (none)\n"
			 "properties.description: \"short\" -> \"a very long...\n");
	/* A change type newer than this code is listed as Unsupported, saying why. */
	cr_assert_eq(w.changes[1].type, ARM_DEPLOYMENT_CHANGE_UNSUPPORTED);
	cr_assert(strstr(w.changes[1].unsupported_reason, "'Teleport'") != NULL);
	arm_deployment_whatif_count(counts, &w);
	cr_assert_eq(counts[ARM_DEPLOYMENT_CHANGE_IGNORE], 1);
	buf_release(&lines);
	arm_deployment_whatif_release(&w);
	cJSON_Delete(json);
}

Test(arm_deployment_parse, whatif_failure_is_reported)
{
	cJSON *json = json_check_parse("{\"status\":\"Failed\",\"error\":{\"code\":\"InvalidTemplate\","
				       "\"message\":\"bad\"}}");
	struct arm_deployment_whatif w;

	arm_deployment_whatif_init(&w);
	cr_assert_fails(arm_deployment_whatif_parse(&w, json), ERR_REMOTE_FAILED,
			"what-if Failed: InvalidTemplate: bad");
	arm_deployment_whatif_release(&w);
	cJSON_Delete(json);
}

/* ---- the result ------------------------------------------------------------------------ */

Test(arm_deployment_parse, result_parses_the_official_example)
{
	cJSON *ex = example_load(EXAMPLES_DEPLOYMENTS, "PutDeploymentResourceGroup.json");
	struct arm_deployment_result r;

	arm_deployment_result_init(&r);
	cr_assert_ok(arm_deployment_result_parse(&r, json_find(ex, "responses.200.body")));
	cr_assert_str_eq(r.name, "my-deployment");
	cr_assert_str_eq(r.provisioning_state, "Succeeded");
	cr_assert_str_eq(r.duration, "PT22.8356799S");
	cr_assert_str_eq(r.correlation_id, "00000000-0000-0000-0000-000000000000");
	cr_assert_eq(r.n_output_resources, 1);
	cr_assert(strstr(r.output_resources[0], "/storageAccounts/my-storage-account") != NULL);
	cr_assert_eq(r.n_outputs, 0);
	arm_deployment_result_release(&r);
	cJSON_Delete(ex);
}

Test(arm_deployment_parse, result_outputs_are_typed_and_secure_ones_masked)
{
	cJSON *json = json_check_parse(
		"{\"name\":\"d\",\"properties\":{\"provisioningState\":\"Succeeded\",\"outputs\":{"
		"\"storageId\":{\"type\":\"String\",\"value\":\"/subs/sa\"},"
		"\"replicas\":{\"type\":\"Int\",\"value\":3},"
		"\"endpoints\":{\"type\":\"Object\",\"value\":{\"blob\":\"https://b\"}},"
		"\"adminKey\":{\"type\":\"SecureString\",\"value\":\"out-secret-77\"},"
		"\"hidden\":{\"type\":\"SecureObject\"}}}}");
	struct arm_deployment_result r;
	const struct arm_deployment_output *o;
	struct buf line = BUF_INIT;

	log_reset_secrets();
	arm_deployment_result_init(&r);
	cr_assert_ok(arm_deployment_result_parse(&r, json));
	cr_assert_eq(r.n_outputs, 5);
	o = arm_deployment_output_find(&r, "STORAGEID");
	cr_assert_str_eq(o->value->valuestring, "/subs/sa");
	cr_assert_not(o->secure);
	cr_assert_eq(arm_deployment_output_find(&r, "replicas")->value->valuedouble, 3);
	cr_assert_str_eq(json_string_or(arm_deployment_output_find(&r, "endpoints")->value, "blob", ""), "https://b");
	o = arm_deployment_output_find(&r, "adminKey");
	cr_assert(o->secure);
	cr_assert_str_eq(o->type, "SecureString");
	o = arm_deployment_output_find(&r, "hidden");
	cr_assert(o->secure);
	cr_assert_null(o->value);
	cr_assert_null(arm_deployment_output_find(&r, "nope"));
	buf_addstr(&line, "key=out-secret-77");
	log_mask(&line);
	cr_assert_str_eq(line.data, "key=***");
	log_reset_secrets();
	buf_release(&line);
	arm_deployment_result_release(&r);
	cJSON_Delete(json);
}

Test(arm_deployment_parse, result_takes_null_members_as_absent_and_refuses_wrong_types)
{
	cJSON *json = json_check_parse("{\"name\":null,\"properties\":{\"provisioningState\":\"Running\","
				       "\"outputs\":null,\"outputResources\":null,\"error\":null}}");
	cJSON *bad_list = json_check_parse("{\"properties\":{\"outputResources\":\"/sa\"}}");
	cJSON *bad_string = json_check_parse("{\"properties\":{\"duration\":5}}");
	struct arm_deployment_result r;

	arm_deployment_result_init(&r);
	cr_assert_ok(arm_deployment_result_parse(&r, json));
	cr_assert_null(r.name);
	cr_assert_str_eq(r.provisioning_state, "Running");
	cr_assert_null(r.error_code);
	cr_assert_eq(r.n_outputs, 0);
	cr_assert_eq(r.n_output_resources, 0);
	cr_assert_null(r.output_resources);
	cr_assert_fails(arm_deployment_result_parse(&r, bad_list), ERR_JSON, "deployment result");
	cr_assert_null(r.output_resources);
	cr_assert_fails(arm_deployment_result_parse(&r, bad_string), ERR_JSON, "deployment result");
	cr_assert_null(r.duration);
	arm_deployment_result_release(&r);
	cJSON_Delete(json);
	cJSON_Delete(bad_list);
	cJSON_Delete(bad_string);
}

/* ---- the failed operation ------------------------------------------------------------- */

Test(arm_deployment_parse, failure_is_the_first_failed_operation)
{
	cJSON *ops = json_check_parse(
		"[{\"properties\":{\"provisioningState\":\"Succeeded\","
		"\"targetResource\":{\"resourceName\":\"kv1\"}}},"
		"{\"properties\":{\"provisioningState\":\"Failed\",\"statusCode\":\"Conflict\","
		"\"targetResource\":{\"id\":\"/sa\",\"resourceType\":\"Microsoft.Storage/storageAccounts\","
		"\"resourceName\":\"sa1\"},\"statusMessage\":{\"status\":\"Failed\","
		"\"error\":{\"code\":\"StorageAccountAlreadyTaken\",\"message\":\"taken\"}}}},"
		"{\"properties\":{\"provisioningState\":\"Failed\","
		"\"targetResource\":{\"resourceName\":\"later\"}}}]");
	cJSON *none = json_check_parse("[{\"properties\":{\"provisioningState\":\"Succeeded\"}}]");
	/* Older answers hold the error bare in statusMessage, or as plain
	 * text with the code only in statusCode. */
	cJSON *bare = json_check_parse("[{\"properties\":{\"provisioningState\":\"Failed\","
				       "\"statusMessage\":{\"code\":\"QuotaExceeded\",\"message\":\"no cores\"}}}]");
	cJSON *text = json_check_parse("[{\"properties\":{\"provisioningState\":\"Failed\","
				       "\"statusCode\":\"BadRequest\",\"statusMessage\":\"plain words\"}}]");
	struct arm_deployment_failure f;

	arm_deployment_failure_init(&f);
	cr_assert_ok(arm_deployment_failure_find(&f, ops));
	cr_assert_str_eq(f.resource_type, "Microsoft.Storage/storageAccounts");
	cr_assert_str_eq(f.resource_name, "sa1");
	cr_assert_str_eq(f.resource_id, "/sa");
	cr_assert_str_eq(f.code, "StorageAccountAlreadyTaken");
	cr_assert_str_eq(f.message, "taken");
	cr_assert_fails(arm_deployment_failure_find(&f, none), ERR_NOT_FOUND, "no deployment operation failed");
	cr_assert_null(f.resource_name);
	cr_assert_ok(arm_deployment_failure_find(&f, bare));
	cr_assert_str_eq(f.code, "QuotaExceeded");
	cr_assert_str_eq(f.message, "no cores");
	cr_assert_str_eq(f.resource_name, "");
	cr_assert_ok(arm_deployment_failure_find(&f, text));
	cr_assert_str_eq(f.code, "BadRequest");
	cr_assert_str_eq(f.message, "plain words");
	arm_deployment_failure_release(&f);
	cJSON_Delete(ops);
	cJSON_Delete(none);
	cJSON_Delete(bare);
	cJSON_Delete(text);
}
