/* Azure Monitor metrics of an online endpoint against the sandbox: the
 * counts read back are those of the scoring requests sent, with a one
 * second "minute" (metrics_grain_seconds) so the window is seconds long. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "azure/aml_endpoint.h"
#include "azure/monitor.h"
#include "core/http.h"
#include "mlops/deploy_metrics.h"
#include "support/check.h"
#include "support/sandbox.h"

#define MODEL_ID "azureml://registries/azureml/models/sandbox-model/versions/1"
#define ENV_ID "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"

static const struct aml_deployment_spec deployment = {
	.location = "eastus", .model_id = MODEL_ID, .environment_id = ENV_ID,
	.instance_type = "Standard_DS3_v2", .instance_count = 1,
};

static long score(struct sandbox_aml *c, const char *uri, const char *key, const char *force)
{
	struct buf auth = BUF_INIT, pin = BUF_INIT;
	const char *headers[] = { "Content-Type: application/json", NULL, NULL, NULL };
	struct http_request req = { .method = "POST", .url = uri, .headers = headers,
				    .body = "{\"data\":[[1,2]]}", .body_len = 16, .no_retry = 1 };
	struct http_response r = HTTP_RESPONSE_INIT;
	long status;

	buf_addf(&auth, "Authorization: Bearer %s", key);
	headers[1] = auth.data;
	if (force) {
		buf_addf(&pin, "azureml-model-deployment: %s", force);
		headers[2] = pin.data;
	}
	cr_assert_ok(http_send(c->http, &req, &r));
	status = r.status;
	http_response_release(&r);
	buf_release(&auth);
	buf_release(&pin);
	return status;
}

static void endpoint_blue_green(struct sandbox_aml *c, struct aml_endpoint *e,
				struct aml_endpoint_keys *keys)
{
	struct aml_endpoint_spec spec = { .location = "eastus", .auth_mode = "Key" };
	struct aml_traffic blue[] = { { "blue", 100 }, { "green", 0 } };

	cr_assert_ok(aml_endpoint_put(NULL, &c->aml, "sbx-mon", &spec, 60));
	cr_assert_ok(aml_deployment_put(NULL, &c->aml, "sbx-mon", "blue", &deployment, 60));
	cr_assert_ok(aml_deployment_put(NULL, &c->aml, "sbx-mon", "green", &deployment, 60));
	cr_assert_ok(aml_endpoint_set_traffic(e, &c->aml, "sbx-mon", blue, 2, 60));
	cr_assert_ok(aml_endpoint_list_keys(keys, &c->aml, "sbx-mon"));
}

Test(monitor_sandbox, scoring_requests_are_read_back_per_deployment)
{
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	struct aml_endpoint_keys keys = AML_ENDPOINT_KEYS_INIT;
	struct deploy_health blue, green;
	struct buf id = BUF_INIT, reason = BUF_INIT;
	struct sandbox_aml c;
	time_t from;
	int i;

	sandbox_aml_open(&c);
	sandbox_config("{\"lro_step_seconds\":0.05,\"retry_after_seconds\":0,\"metrics_grain_seconds\":1}");
	c.arm.poll_default_ms = 50;
	endpoint_blue_green(&c, &e, &keys);
	buf_addf(&id, "%s/onlineEndpoints/sbx-mon", sandbox_workspace_path());

	from = time(NULL) - 2;
	for (i = 0; i < 5; i++)
		cr_assert_eq(score(&c, e.scoring_uri, keys.primary, NULL), 200);
	for (i = 0; i < 2; i++)
		cr_assert_eq(score(&c, e.scoring_uri, keys.primary, "green"), 200);
	cr_assert_eq(score(&c, e.scoring_uri, "not-the-key", NULL), 401);

	cr_assert_ok(deploy_health_read(&blue, &c.arm, id.data, "blue", from, time(NULL) + 2));
	cr_assert_eq(blue.requests, 5, "blue: %ld requests", blue.requests);
	cr_assert_eq(blue.status_2xx, 5);
	cr_assert_eq(blue.status_5xx + blue.status_4xx, 0);
	cr_assert(blue.has_latency, "the sandbox gives a P90 for minutes with requests");
	cr_assert_eq(deploy_health_judge(&blue, 0.05, 10000, &reason), DEPLOY_HEALTHY, "%s", reason.data);
	cr_assert(!strncmp(reason.data, "5xx 0 of 5 requests (0.0%), P90 latency ", 40), "%s", reason.data);

	cr_assert_ok(deploy_health_read(&green, &c.arm, id.data, "green", from, time(NULL) + 2));
	cr_assert_eq(green.requests, 2, "green: %ld requests", green.requests);

	/* Before the requests: an empty window, said as such. */
	cr_assert_ok(deploy_health_read(&green, &c.arm, id.data, "green", from - 60, from - 30));
	buf_reset(&reason);
	cr_assert_eq(deploy_health_judge(&green, 0.05, 1000, &reason), DEPLOY_NO_REQUESTS, "%s", reason.data);

	aml_endpoint_keys_release(&keys);
	aml_endpoint_release(&e);
	buf_release(&id);
	buf_release(&reason);
	sandbox_aml_close(&c);
}

Test(monitor_sandbox, unknown_metric_and_missing_endpoint_are_azures_errors)
{
	const char *const bogus[] = { "Bogus", NULL };
	struct monitor_query q = { .metrics = bogus, .interval_s = 60, .aggregation = "Total" };
	struct monitor_result r = MONITOR_RESULT_INIT;
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	struct aml_endpoint_keys keys = AML_ENDPOINT_KEYS_INIT;
	struct buf id = BUF_INIT;
	struct sandbox_aml c;

	sandbox_aml_open(&c);
	sandbox_config("{\"lro_step_seconds\":0.05,\"retry_after_seconds\":0}");
	c.arm.poll_default_ms = 50;
	endpoint_blue_green(&c, &e, &keys);
	buf_addf(&id, "%s/onlineEndpoints/sbx-mon", sandbox_workspace_path());
	q.end = time(NULL);
	q.start = q.end - 300;
	cr_assert_fails(monitor_metrics(&r, &c.arm, id.data, &q), ERR_HTTP,
			"HTTP 400 BadRequest: Failed to find metric configuration for provider: "
			"Microsoft.MachineLearningServices, resource Type: workspaces/onlineEndpoints, metric: Bogus");
	buf_addstr(&id, "-gone");
	cr_assert_fails(monitor_metrics(&r, &c.arm, id.data, &q), ERR_NOT_FOUND, "ResourceNotFound");

	aml_endpoint_keys_release(&keys);
	aml_endpoint_release(&e);
	buf_release(&id);
	sandbox_aml_close(&c);
}
