#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/mlflow.h"
#include "core/error.h"
#include "core/json.h"
#include "support/check.h"
#include "support/stub_server.h"

static cJSON *parse(const char *text)
{
	cJSON *json = NULL;

	cr_assert_ok(json_parse(&json, text, strlen(text), "test"));
	return json;
}

Test(mlflow, tracking_uri_becomes_the_rest_base)
{
	struct buf b = BUF_INIT;

	cr_assert_ok(mlflow_rest_base(&b, "azureml://eastus.api.azureml.ms/mlflow/v1.0/subscriptions/s/"
				      "resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"));
	cr_assert_str_eq(b.data, "https://eastus.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/rg/"
			 "providers/Microsoft.MachineLearningServices/workspaces/ws/api/2.0/mlflow");
	buf_reset(&b);
	cr_assert_ok(mlflow_rest_base(&b, "https://h/mlflow/v1.0/x/api/2.0/mlflow/"));
	cr_assert_str_eq(b.data, "https://h/mlflow/v1.0/x/api/2.0/mlflow");
	buf_reset(&b);
	cr_assert_fails(mlflow_rest_base(&b, "file:///tmp/mlruns"), ERR_INPUT, "not azureml://");
	cr_assert_fails(mlflow_rest_base(&b, "azureml://hostonly"), ERR_INPUT, "no host or path");
	buf_release(&b);
}

Test(mlflow, run_reply_gives_status_latest_metrics_params_and_tags)
{
	cJSON *json = parse("{\"run\":{\"info\":{\"run_id\":\"job1\",\"experiment_id\":\"1\","
			    "\"run_name\":\"r\",\"status\":\"FINISHED\",\"start_time\":1700000000000,"
			    "\"end_time\":\"1700000060000\",\"artifact_uri\":\"azureml://x\","
			    "\"lifecycle_stage\":\"active\"},\"data\":{\"metrics\":[{\"key\":\"acc\","
			    "\"value\":0.93,\"timestamp\":1700000050000,\"step\":4},{\"key\":\"loss\","
			    "\"value\":\"NaN\",\"timestamp\":1,\"step\":0}],\"params\":[{\"key\":\"lr\","
			    "\"value\":\"0.01\"}],\"tags\":[{\"key\":\"mlflow.user\",\"value\":\"me\"}]}}}");
	struct mlflow_run run = MLFLOW_RUN_INIT;
	const struct mlflow_metric *m;

	cr_assert_ok(mlflow_run_parse(&run, json));
	cr_assert_str_eq(run.run_id, "job1");
	cr_assert_str_eq(run.status, "FINISHED");
	cr_assert_eq(run.start_time, 1700000000000LL);
	cr_assert_eq(run.end_time, 1700000060000LL);
	m = mlflow_run_metric(&run, "acc");
	cr_assert_not_null(m);
	cr_assert_float_eq(m->value, 0.93, 1e-12);
	cr_assert_eq(m->step, 4);
	cr_assert(isnan(mlflow_run_metric(&run, "loss")->value));
	cr_assert_null(mlflow_run_metric(&run, "f1"));
	cr_assert_str_eq(mlflow_run_param(&run, "lr"), "0.01");
	cr_assert_str_eq(mlflow_run_tag(&run, "mlflow.user"), "me");
	mlflow_run_release(&run);
	cJSON_Delete(json);
}

Test(mlflow, run_reply_without_id_is_json_error_and_a_bad_metric_is_left_out)
{
	cJSON *a = parse("{\"run\":{\"info\":{}}}");
	cJSON *b = parse("{\"run\":{\"info\":{\"run_id\":\"x\"},\"data\":{\"metrics\":[{\"key\":\"k\","
			 "\"value\":{}},{\"key\":\"auc\",\"value\":0.9}]}}}");
	struct mlflow_run run = MLFLOW_RUN_INIT;

	cr_assert_fails(mlflow_run_parse(&run, a), ERR_JSON, "no run.info.run_id");
	cr_assert_null(run.run_id);
	/* One unreadable value must not hide the run's other metrics. */
	cr_assert_ok(mlflow_run_parse(&run, b));
	cr_assert_eq(run.metrics_nr, 1);
	cr_assert_str_eq(run.metrics[0].key, "auc");
	mlflow_run_release(&run);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

Test(mlflow, history_pages_append_and_hand_over_the_next_token)
{
	cJSON *p1 = parse("{\"metrics\":[{\"key\":\"loss\",\"value\":3,\"timestamp\":1,\"step\":0},"
			  "{\"key\":\"loss\",\"value\":2,\"timestamp\":2,\"step\":1}],\"next_page_token\":\"2\"}");
	cJSON *p2 = parse("{\"metrics\":[{\"key\":\"loss\",\"value\":1,\"timestamp\":3,\"step\":2}]}");
	struct mlflow_metrics l = MLFLOW_METRICS_INIT;
	char *next = NULL;

	cr_assert_ok(mlflow_history_parse(&l, &next, p1));
	cr_assert_str_eq(next, "2");
	free(next);
	cr_assert_ok(mlflow_history_parse(&l, &next, p2));
	cr_assert_null(next);
	cr_assert_eq(l.nr, 3);
	cr_assert_eq(l.items[2].step, 2);
	cr_assert_float_eq(l.items[2].value, 1.0, 1e-12);
	mlflow_metrics_release(&l);
	cJSON_Delete(p1);
	cJSON_Delete(p2);
}

Test(mlflow, errors_become_messages_and_codes)
{
	const char *missing = "{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\",\"message\":\"Run with id=x not found\"}";
	const char *bad = "{\"error_code\":\"INVALID_PARAMETER_VALUE\",\"message\":\"Missing run_id\"}";

	cr_assert_fails(mlflow_error(404, missing, strlen(missing), "GET /m/runs/get"), ERR_NOT_FOUND,
			"GET /m/runs/get: HTTP 404 RESOURCE_DOES_NOT_EXIST: Run with id=x not found");
	cr_assert_fails(mlflow_error(400, bad, strlen(bad), "GET /m"), ERR_HTTP,
			"HTTP 400 INVALID_PARAMETER_VALUE: Missing run_id");
	cr_assert_fails(mlflow_error(401, "", 0, "GET /m"), ERR_AUTH, "GET /m: HTTP 401");
	cr_assert_fails(mlflow_error(502, "<html>", 6, "GET /m"), ERR_HTTP, "HTTP 502 <html>");
	cr_assert_fails(mlflow_error(404, "", 0, "GET /m"), ERR_NOT_FOUND, "GET /m: HTTP 404");
	cr_assert_fails(mlflow_error(404, bad, strlen(bad), "GET /m"), ERR_HTTP,
			"HTTP 404 INVALID_PARAMETER_VALUE");
	cr_assert_fails(mlflow_error(409, "", 0, "GET /m"), ERR_CONFLICT, "GET /m: HTTP 409");
}

/* ---- against the stub server ---- */

static int fixed_token(void *ctx, const char *scope, const char **out)
{
	(void)ctx;
	cr_assert_str_eq(scope, "https://management.azure.com/.default");
	*out = "mgmt-token";
	return 0;
}

static const struct token_source mgmt_tokens = { fixed_token, NULL };

static const struct http_options fast = {
	.max_attempts = 2, .retry_base_ms = 1, .retry_max_delay_ms = 2, .retry_budget_ms = 100,
};

Test(mlflow, history_follows_page_tokens_with_the_management_token)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"metrics\":[{\"key\":\"l\",\"value\":1,\"step\":0}],\"next_page_token\":\"a b\"}" },
		{ .status = 200, .body = "{\"metrics\":[{\"key\":\"l\",\"value\":2,\"step\":1}]}" },
	};
	struct stub_server *stub = stub_start(script, 2);
	struct http_client *http;
	struct mlflow_metrics l = MLFLOW_METRICS_INIT;
	struct mlflow m;
	char uri[256];

	cr_assert_ok(http_client_new(&http, &fast));
	/* The stub speaks http://; the base is built by hand for it. */
	snprintf(uri, sizeof(uri), "https://x/mlflow/v1.0/w");
	cr_assert_ok(mlflow_init(&m, http, mgmt_tokens, uri, NULL));
	free(m.base);
	m.base = xasprintf("%s/mlflow/v1.0/w/api/2.0/mlflow", stub_url(stub));
	cr_assert_ok(mlflow_metric_history(&l, &m, "job1", "l"));
	cr_assert_eq(l.nr, 2);
	cr_assert(strstr(stub_head(stub, 0), "GET /mlflow/v1.0/w/api/2.0/mlflow/metrics/get-history?"
			 "run_id=job1&metric_key=l HTTP") != NULL);
	cr_assert(strstr(stub_head(stub, 1), "&page_token=a%20b HTTP") != NULL);
	cr_assert(strstr(stub_head(stub, 1), "Authorization: Bearer mgmt-token") != NULL);
	mlflow_metrics_release(&l);
	mlflow_release(&m);
	http_client_free(http);
	stub_stop(stub);
}

Test(mlflow, missing_run_is_not_found)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = "{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\",\"message\":\"Run with id=nope not found\"}" },
	};
	struct stub_server *stub = stub_start(script, 1);
	struct http_client *http;
	struct mlflow_run run = MLFLOW_RUN_INIT;
	struct mlflow m;

	cr_assert_ok(http_client_new(&http, &fast));
	cr_assert_ok(mlflow_init(&m, http, mgmt_tokens, "azureml://h/mlflow/v1.0/w", NULL));
	free(m.base);
	m.base = xasprintf("%s/api/2.0/mlflow", stub_url(stub));
	cr_assert_fails(mlflow_run_get(&run, &m, "nope"), ERR_NOT_FOUND, "Run with id=nope not found");
	cr_assert(strstr(error_message(), "?") == NULL, "no query in the message: %s", error_message());
	mlflow_release(&m);
	http_client_free(http);
	stub_stop(stub);
}

/* One value that is not finite made the whole reply unreadable (issue 16). */
Test(mlflow, non_finite_values_in_any_spelling_never_hide_the_other_metrics)
{
	static const char body[] =
		"{\"run\":{\"info\":{\"run_id\":\"r\"},\"data\":{\"metrics\":["
		"{\"key\":\"a\",\"value\":NaN},{\"key\":\"b\",\"value\":Infinity},"
		"{\"key\":\"c\",\"value\":-Infinity},{\"key\":\"d\",\"value\":\"NaN\"},"
		"{\"key\":\"e\",\"value\":null},{\"key\":\"f\",\"value\":0.5},"
		"{\"key\":\"NaN Infinity\",\"value\":\"Infinity\"}],"
		"\"params\":[{\"key\":\"note\",\"value\":\"NaN, \\\"Infinity\\\" and -Infinity\"}]}}}";
	struct mlflow_run run = MLFLOW_RUN_INIT;
	struct buf text = BUF_INIT;
	cJSON *json = NULL, *item;

	cr_assert_ok(mlflow_json_parse(&json, body, strlen(body)));
	cr_assert_ok(mlflow_run_parse(&run, json));
	cr_assert_eq(run.metrics_nr, 6, "only the null one is left out");
	cr_assert(isnan(mlflow_run_metric(&run, "a")->value));
	cr_assert(isinf(mlflow_run_metric(&run, "b")->value) && mlflow_run_metric(&run, "b")->value > 0);
	cr_assert(isinf(mlflow_run_metric(&run, "c")->value) && mlflow_run_metric(&run, "c")->value < 0);
	cr_assert(isnan(mlflow_run_metric(&run, "d")->value));
	cr_assert_null(mlflow_run_metric(&run, "e"));
	cr_assert_float_eq(mlflow_run_metric(&run, "f")->value, 0.5, 1e-12);
	cr_assert_not_null(mlflow_run_metric(&run, "NaN Infinity"));
	/* Strings are left as they are. */
	cr_assert_str_eq(mlflow_run_param(&run, "note"), "NaN, \"Infinity\" and -Infinity");
	mlflow_value_text(&text, mlflow_run_metric(&run, "c")->value);
	cr_assert_str_eq(text.data, "-Infinity");
	item = mlflow_value_json(mlflow_run_metric(&run, "a")->value);
	cr_assert(cJSON_IsString(item) && !strcmp(item->valuestring, "NaN"));
	cJSON_Delete(item);
	item = mlflow_value_json(0.5);
	cr_assert(cJSON_IsNumber(item));
	cJSON_Delete(item);
	buf_release(&text);
	mlflow_run_release(&run);
	cJSON_Delete(json);
}

Test(mlflow, a_reply_that_is_not_json_is_still_refused)
{
	cJSON *json = NULL;

	cr_assert_fails(mlflow_json_parse(&json, "{\"a\":NaNa}", 10), ERR_JSON, "MLflow reply");
	cr_assert_fails(mlflow_json_parse(&json, "<html>", 6), ERR_JSON, "MLflow reply");
	cr_assert_null(json);
}
