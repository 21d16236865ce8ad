/* Online endpoints and deployments against the sandbox: every write is a
 * long-running operation, walked quickly with lro_step_seconds. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/aml_endpoint.h"
#include "core/json.h"
#include "core/log.h"
#include "support/check.h"
#include "support/sandbox.h"

#define MODEL_ID "azureml://registries/azureml/models/sandbox-model/versions/1"
#define ENV_ID "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"

static void setup(struct sandbox_aml *c)
{
	sandbox_aml_open(c);
	sandbox_config("{\"lro_step_seconds\":0.05,\"retry_after_seconds\":0}");
	c->arm.poll_default_ms = 50;
}

static const struct aml_deployment_spec deployment = {
	.location = "eastus", .model_id = MODEL_ID, .environment_id = ENV_ID,
	.instance_type = "Standard_DS3_v2", .instance_count = 1,
};

static void endpoint_with(struct sandbox_aml *c, const char *name)
{
	struct aml_endpoint_spec spec = { .location = "eastus", .auth_mode = "Key" };
	struct aml_endpoint e = AML_ENDPOINT_INIT;

	cr_assert_ok(aml_endpoint_put(&e, &c->aml, name, &spec, 60));
	cr_assert_str_eq(e.provisioning_state, "Succeeded");
	cr_assert(strstr(e.scoring_uri, ".inference.ml.azure.com/score") != NULL, "%s", e.scoring_uri);
	aml_endpoint_release(&e);
}

Test(aml_endpoint_sandbox, create_deploy_switch_traffic_tag_and_read_logs_and_keys)
{
	const char *const tags[] = { "git_sha", "3c5e0a7", NULL };
	struct aml_traffic blue[] = { { "blue", 100 } };
	struct aml_traffic green[] = { { "blue", 0 }, { "green", 100 } };
	struct aml_deployment d = AML_DEPLOYMENT_INIT;
	struct aml_deployment_list list = AML_DEPLOYMENT_LIST_INIT;
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	struct aml_endpoint_keys keys = AML_ENDPOINT_KEYS_INIT;
	struct buf logs = BUF_INIT, line = BUF_INIT;
	struct sandbox_aml c;

	setup(&c);
	endpoint_with(&c, "sbx-ep");
	cr_assert_ok(aml_deployment_put(&d, &c.aml, "sbx-ep", "blue", &deployment, 60));
	cr_assert_str_eq(d.provisioning_state, "Succeeded");
	cr_assert_ok(aml_deployment_put(NULL, &c.aml, "sbx-ep", "green", &deployment, 60));
	cr_assert_ok(aml_deployment_list(&list, &c.aml, "sbx-ep"));
	cr_assert_eq(list.nr, 2);

	cr_assert_ok(aml_endpoint_set_traffic(&e, &c.aml, "sbx-ep", blue, 1, 60));
	cr_assert_eq(aml_endpoint_traffic(&e, "blue"), 100);
	cr_assert_ok(aml_endpoint_set_traffic(&e, &c.aml, "sbx-ep", green, 2, 60));
	cr_assert_eq(aml_endpoint_traffic(&e, "green"), 100);
	cr_assert_ok(aml_endpoint_get(&e, &c.aml, "sbx-ep"));
	cr_assert_eq(aml_endpoint_traffic(&e, "green"), 100);
	cr_assert_eq(aml_endpoint_traffic(&e, "blue"), 0);

	cr_assert_ok(aml_endpoint_set_tags(&c.aml, "sbx-ep", tags, 60));
	cr_assert_ok(aml_endpoint_get(&e, &c.aml, "sbx-ep"));
	cr_assert_str_eq(json_string_or(e.tags, "git_sha", ""), "3c5e0a7");

	cr_assert_ok(aml_deployment_update(&c.aml, "sbx-ep", "green", tags, 3, 60));
	cr_assert_ok(aml_deployment_get(&d, &c.aml, "sbx-ep", "green"));
	cr_assert_eq(d.instance_count, 3);
	cr_assert_str_eq(json_string_or(d.tags, "git_sha", ""), "3c5e0a7");

	cr_assert_ok(aml_deployment_logs(&logs, &c.aml, "sbx-ep", "green", NULL, 10));
	cr_assert(strstr(logs.data, "Scoring script") != NULL || strstr(logs.data, "gunicorn") != NULL,
		  "%s", logs.data);

	cr_assert_ok(aml_endpoint_list_keys(&keys, &c.aml, "sbx-ep"));
	cr_assert_not_null(keys.primary);
	buf_addf(&line, "key %s", keys.primary);
	log_mask(&line);
	cr_assert_str_eq(line.data, "key ***");

	cr_assert_ok(aml_deployment_delete(&c.aml, "sbx-ep", "blue", 60));
	cr_assert_fails(aml_deployment_get(&d, &c.aml, "sbx-ep", "blue"), ERR_NOT_FOUND, "HTTP 404");
	cr_assert_ok(aml_endpoint_delete(&c.aml, "sbx-ep", 60));
	cr_assert_fails(aml_endpoint_get(&e, &c.aml, "sbx-ep"), ERR_NOT_FOUND, "HTTP 404");

	log_reset_secrets();
	aml_endpoint_keys_release(&keys);
	aml_deployment_list_release(&list);
	aml_deployment_release(&d);
	aml_endpoint_release(&e);
	buf_release(&logs);
	buf_release(&line);
	sandbox_aml_close(&c);
}

Test(aml_endpoint_sandbox, failed_operation_gives_its_error)
{
	char *fault;
	struct sandbox_aml c;

	setup(&c);
	endpoint_with(&c, "sbx-ep-fail");
	fault = sandbox_fault("{\"kind\":\"lro_failed\",\"method\":\"PUT\",\"path\":\"/deployments/red$\",\"count\":1}");
	cr_assert_fails(aml_deployment_put(NULL, &c.aml, "sbx-ep-fail", "red", &deployment, 60),
			ERR_REMOTE_FAILED,
			"deployment sbx-ep-fail/red: Failed: ResourceNotReady");
	cr_assert_eq(sandbox_fault_applied(fault), 1);
	free(fault);
	sandbox_aml_close(&c);
}

Test(aml_endpoint_sandbox, throttled_status_poll_recovers)
{
	char *fault;
	struct sandbox_aml c;

	setup(&c);
	fault = sandbox_fault("{\"kind\":\"status\",\"status\":429,\"retry_after\":1,\"count\":1,"
			      "\"method\":\"GET\",\"path\":\"mfeOperationsStatus\"}");
	endpoint_with(&c, "sbx-ep-429");
	cr_assert_eq(sandbox_fault_applied(fault), 1);
	free(fault);
	sandbox_aml_close(&c);
}

Test(aml_endpoint_sandbox, traffic_to_a_missing_deployment_fails_the_operation)
{
	struct aml_traffic t[] = { { "ghost", 100 } };
	struct sandbox_aml c;

	setup(&c);
	endpoint_with(&c, "sbx-ep-ghost");
	cr_assert_fails(aml_endpoint_set_traffic(NULL, &c.aml, "sbx-ep-ghost", t, 1, 60),
			ERR_REMOTE_FAILED,
			"ghost");
	sandbox_aml_close(&c);
}
