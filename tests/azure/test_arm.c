#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/arm.h"
#include "core/json.h"
#include "support/check.h"
#include "support/arm_stub.h"

Test(arm, call_adds_token_api_version_and_parses_json)
{
	struct stub_reply script[] = { { .status = 200, .body = "{\"name\":\"ws\"}" } };
	struct arm_response r = ARM_RESPONSE_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 1);
	cr_assert_ok(arm_call(&f.arm, "GET", "/subscriptions/sub-1/x", "2025-12-01", NULL, &r));
	cr_assert_str_eq(json_string_or(r.json, "name", ""), "ws");
	cr_assert(strstr(stub_head(f.stub, 0), "GET /subscriptions/sub-1/x?api-version=2025-12-01 ") != NULL);
	cr_assert(strstr(stub_head(f.stub, 0), "Authorization: Bearer test-token") != NULL);
	cr_assert(strstr(stub_head(f.stub, 0), "x-ms-client-request-id: ") != NULL);
	arm_response_release(&r);
	arm_stub_stop(&f);
}

Test(arm, error_envelope_becomes_one_message)
{
	struct stub_reply script[] = { {
		.status = 400,
		.headers = "x-ms-request-id: req-42\r\n",
		.body = "{\"error\":{\"code\":\"UserError\",\"message\":\"Environment train:3 already "
			"registered and cannot be changed\",\"innerError\":{\"code\":\"Immutable\"},"
			"\"details\":[{\"code\":\"Conflict\",\"message\":\"image differs\"}]}}",
	} };
	struct arm_response r = ARM_RESPONSE_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 1);
	cr_assert_fails(arm_call(&f.arm, "PUT", "/subscriptions/sub-1/env?x=1", "v", NULL, &r), ERR_HTTP,
			"PUT /subscriptions/sub-1/env: HTTP 400 UserError: Environment train:3 already "
			"registered and cannot be changed [Immutable] (Conflict: image differs) "
			"(x-ms-request-id req-42)");
	cr_assert_eq(r.status, 400);
	arm_response_release(&r);
	arm_stub_stop(&f);
}

/* As http_status_code says; a broken If-Match precondition (412) clashes
 * with what exists, as a 409 does. */
Test(arm, not_found_auth_and_conflicts_map_to_codes)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"no\"}}" },
		{ .status = 403, .body = "{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"no\"}}" },
		{ .status = 412, .body = "{\"error\":{\"code\":\"PreconditionFailed\",\"message\":\"etag\"}}" },
		{ .status = 409, .body = "{\"error\":{\"code\":\"Conflict\",\"message\":\"busy\"}}" },
	};
	struct arm_response r = ARM_RESPONSE_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 4);
	cr_assert_fails(arm_call(&f.arm, "GET", "/a", "v", NULL, &r), ERR_NOT_FOUND, "ResourceNotFound");
	cr_assert_fails(arm_call(&f.arm, "GET", "/a", "v", NULL, &r), ERR_AUTH, "AuthorizationFailed");
	cr_assert_fails(arm_call(&f.arm, "PUT", "/a", "v", NULL, &r), ERR_CONFLICT,
			"HTTP 412 PreconditionFailed: etag");
	cr_assert_fails(arm_call(&f.arm, "PUT", "/a", "v", NULL, &r), ERR_CONFLICT, "HTTP 409 Conflict");
	arm_response_release(&r);
	arm_stub_stop(&f);
}

Test(arm, wait_follows_azure_async_operation_then_gets_the_resource)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"properties\":{\"provisioningState\":\"Creating\"}}" },
		{ .status = 200, .body = "{\"status\":\"InProgress\"}", .headers = "Retry-After: 0\r\n" },
		{ .status = 200, .body = "{\"status\":\"Succeeded\"}" },
		{ .status = 200, .body = "{\"properties\":{\"provisioningState\":\"Succeeded\",\"scoringUri\":\"u\"}}" },
	};
	struct arm_response started = ARM_RESPONSE_INIT, final = ARM_RESPONSE_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 4);
	snprintf(f.hdr, sizeof(f.hdr), "Azure-AsyncOperation: %s/ops/1?api-version=v\r\nRetry-After: 0\r\n",
		 stub_url(f.stub));
	script[0].headers = f.hdr;
	cr_assert_ok(arm_call(&f.arm, "PUT", "/ep", "v", NULL, &started));
	cr_assert_ok(arm_wait(&f.arm, &started, "/ep", "v", "endpoint ep", 60, &final));
	cr_assert_str_eq(json_string_or(final.json, "properties.scoringUri", ""), "u");
	cr_assert(strstr(stub_head(f.stub, 1), "GET /ops/1?api-version=v ") != NULL);
	cr_assert(strstr(stub_head(f.stub, 3), "GET /ep?api-version=v ") != NULL);
	arm_response_release(&started);
	arm_response_release(&final);
	arm_stub_stop(&f);
}

Test(arm, failed_operation_reports_its_error)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{}" },
		{ .status = 200, .body = "{\"status\":\"Failed\",\"error\":{\"code\":\"DeploymentFailed\","
					 "\"message\":\"image pull failed\"}}" },
	};
	struct arm_response started = ARM_RESPONSE_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 2);
	snprintf(f.hdr, sizeof(f.hdr), "Azure-AsyncOperation: %s/ops/2\r\n", stub_url(f.stub));
	script[0].headers = f.hdr;
	cr_assert_ok(arm_call(&f.arm, "PUT", "/d", "v", NULL, &started));
	cr_assert_fails(arm_wait(&f.arm, &started, "/d", "v", "deployment blue", 60, NULL),
			ERR_REMOTE_FAILED,
			"deployment blue: Failed: DeploymentFailed: image pull failed");
	arm_response_release(&started);
	arm_stub_stop(&f);
}

/* Cancelled by someone else in Azure: every poll was answered, so not http. */
Test(arm, a_canceled_operation_is_cancelled)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"properties\":{\"provisioningState\":\"Accepted\"}}" },
		{ .status = 200, .body = "{\"properties\":{\"provisioningState\":\"Canceled\"}}" },
	};
	struct arm_response started = ARM_RESPONSE_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 2);
	cr_assert_ok(arm_call(&f.arm, "PUT", "/dep", "v", NULL, &started));
	cr_assert_fails(arm_wait(&f.arm, &started, "/dep", "v", "deployment main", 60, NULL),
			ERR_CANCELLED, "deployment main: Canceled");
	arm_response_release(&started);
	arm_stub_stop(&f);
}

/* The caller's stop flag ends the wait; the operation is left to go on. */
Test(arm, the_stop_flag_ends_the_wait_as_cancelled)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"properties\":{\"provisioningState\":\"Accepted\"}}" },
	};
	static volatile sig_atomic_t stop = SIGTERM;
	struct arm_response started = ARM_RESPONSE_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 1);
	cr_assert_ok(arm_call(&f.arm, "PUT", "/dep", "v", NULL, &started));
	f.arm.stop = &stop;
	cr_assert_fails(arm_wait(&f.arm, &started, "/dep", "v", "deployment main", 60, NULL),
			ERR_CANCELLED, "deployment main: stopped waiting while Accepted; it goes on");
	cr_assert_eq(stub_count(f.stub), 1, "no poll after the stop");
	arm_response_release(&started);
	arm_stub_stop(&f);
}

Test(arm, wait_polls_location_until_it_stops_answering_202)
{
	struct stub_reply script[] = {
		{ .status = 202 },
		{ .status = 202, .headers = "Retry-After: 0\r\n" },
		{ .status = 200, .body = "{\"done\":true}" },
	};
	struct arm_response started = ARM_RESPONSE_INIT, final = ARM_RESPONSE_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 3);
	snprintf(f.hdr, sizeof(f.hdr), "Location: %s/results/3\r\nRetry-After: 0\r\n", stub_url(f.stub));
	script[0].headers = f.hdr;
	cr_assert_ok(arm_call(&f.arm, "PATCH", "/ep", "v", NULL, &started));
	cr_assert_ok(arm_wait(&f.arm, &started, "/ep", "v", "update", 60, &final));
	cr_assert_eq(final.status, 200);
	cr_assert(cJSON_IsTrue(json_find(final.json, "done")));
	cr_assert_eq(stub_count(f.stub), 3);
	arm_response_release(&started);
	arm_response_release(&final);
	arm_stub_stop(&f);
}

Test(arm, wait_falls_back_to_provisioning_state)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"properties\":{\"provisioningState\":\"Accepted\"}}" },
		{ .status = 200, .body = "{\"properties\":{\"provisioningState\":\"Running\"}}" },
		{ .status = 200, .body = "{\"properties\":{\"provisioningState\":\"Failed\",\"error\":"
					 "{\"code\":\"DeploymentFailed\",\"message\":\"m\",\"details\":"
					 "[{\"code\":\"BadRequest\",\"message\":\"storage name taken\"}]}}}" },
	};
	struct arm_response started = ARM_RESPONSE_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 3);
	cr_assert_ok(arm_call(&f.arm, "PUT", "/dep", "v", NULL, &started));
	cr_assert_fails(arm_wait(&f.arm, &started, "/dep", "v", "deployment main", 60, NULL),
			ERR_REMOTE_FAILED,
			"deployment main: Failed: DeploymentFailed: m (BadRequest: storage name taken)");
	arm_response_release(&started);
	arm_stub_stop(&f);
}

Test(arm, wait_times_out)
{
	struct stub_reply script[] = {
		{ .status = 201, .body = "{\"properties\":{\"provisioningState\":\"Accepted\"}}" },
		{ .status = 200, .body = "{\"properties\":{\"provisioningState\":\"Running\"}}" },
	};
	struct arm_response started = ARM_RESPONSE_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 2);
	f.arm.poll_default_ms = 300;
	cr_assert_ok(arm_call(&f.arm, "PUT", "/dep", "v", NULL, &started));
	cr_assert_fails(arm_wait(&f.arm, &started, "/dep", "v", "deployment slow", 1, NULL), ERR_TIMEOUT,
			"deployment slow: still Running after");
	arm_response_release(&started);
	arm_stub_stop(&f);
}

Test(arm, list_follows_next_links)
{
	struct stub_reply script[] = {
		{ .status = 200 },
		{ .status = 200, .body = "{\"value\":[{\"name\":\"3\"}]}" },
	};
	cJSON *items = NULL;
	struct arm_stub f;

	arm_stub_start(&f, script, 2);
	snprintf(f.hdr, sizeof(f.hdr),
		 "{\"value\":[{\"name\":\"1\"},{\"name\":\"2\"}],\"nextLink\":\"%s/models/m/versions?$skip=2&api-version=v\"}",
		 stub_url(f.stub));
	script[0].body = f.hdr;
	cr_assert_ok(arm_list(&f.arm, "/models/m/versions", "v", &items));
	cr_assert_eq(cJSON_GetArraySize(items), 3);
	cr_assert_str_eq(json_string_or(items, "[2].name", ""), "3");
	cr_assert(strstr(stub_head(f.stub, 1), "GET /models/m/versions?$skip=2&api-version=v ") != NULL);
	cJSON_Delete(items);
	arm_stub_stop(&f);
}
