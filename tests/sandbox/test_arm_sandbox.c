/* The ARM plumbing against the sandbox: real TLS through the proxy to the
 * production host name, the real error envelope, and injected faults. */
#include <string.h>

#include <criterion/criterion.h>

#include "azure/arm.h"
#include "core/json.h"
#include "support/check.h"
#include "support/sandbox.h"

#define ML_API "2025-12-01"

Test(arm_sandbox, gets_the_workspace_over_tls_through_the_proxy)
{
	struct http_client *http;
	struct arm_response r = ARM_RESPONSE_INIT;
	struct arm arm;

	sandbox_require();
	http = sandbox_http();
	sandbox_arm(&arm, http);
	cr_assert_ok(arm_call(&arm, "GET", sandbox_workspace_path(), ML_API, NULL, &r));
	cr_assert_str_eq(json_string_or(r.json, "name", ""), sandbox_env("AZURE_ML_WORKSPACE"));
	cr_assert_not_null(json_find(r.json, "properties.mlFlowTrackingUri"));
	arm_response_release(&r);
	arm_release(&arm);
	http_client_free(http);
}

Test(arm_sandbox, missing_resource_is_not_found_with_the_envelope)
{
	struct http_client *http;
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	struct arm arm;

	sandbox_require();
	http = sandbox_http();
	sandbox_arm(&arm, http);
	buf_addf(&path, "%s/models/no-such-model", sandbox_workspace_path());
	cr_assert_fails(arm_call(&arm, "GET", path.data, ML_API, NULL, &r), ERR_NOT_FOUND, "HTTP 404");
	buf_release(&path);
	arm_response_release(&r);
	arm_release(&arm);
	http_client_free(http);
}

Test(arm_sandbox, recovers_from_throttling_and_a_server_error)
{
	struct http_client *http;
	struct arm_response r = ARM_RESPONSE_INIT;
	struct arm arm;
	char *throttle, *broken;

	sandbox_require();
	sandbox_reset();
	throttle = sandbox_fault("{\"kind\":\"status\",\"status\":429,\"retry_after\":1,\"count\":1,"
				 "\"method\":\"GET\",\"path\":\"/workspaces/[^/]+$\"}");
	broken = sandbox_fault("{\"kind\":\"status\",\"status\":503,\"retry_after\":0,\"count\":1,"
			       "\"method\":\"GET\",\"path\":\"/workspaces/[^/]+$\"}");
	http = sandbox_http();
	sandbox_arm(&arm, http);
	cr_assert_ok(arm_call(&arm, "GET", sandbox_workspace_path(), ML_API, NULL, &r));
	cr_assert_eq(r.http.attempts, 3);
	cr_assert_eq(sandbox_fault_applied(throttle), 1);
	cr_assert_eq(sandbox_fault_applied(broken), 1);
	free(throttle);
	free(broken);
	arm_response_release(&r);
	arm_release(&arm);
	http_client_free(http);
}

Test(arm_sandbox, recovers_from_a_dropped_connection)
{
	struct http_client *http;
	struct arm_response r = ARM_RESPONSE_INIT;
	struct arm arm;
	char *drop;

	sandbox_require();
	sandbox_reset();
	drop = sandbox_fault("{\"kind\":\"drop\",\"count\":1,\"method\":\"GET\",\"path\":\"/workspaces/[^/]+$\"}");
	http = sandbox_http();
	sandbox_arm(&arm, http);
	cr_assert_ok(arm_call(&arm, "GET", sandbox_workspace_path(), ML_API, NULL, &r));
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.http.attempts, 2);
	cr_assert_eq(sandbox_fault_applied(drop), 1);
	free(drop);
	arm_response_release(&r);
	arm_release(&arm);
	http_client_free(http);
}
