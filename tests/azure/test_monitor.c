#include <string.h>

#include <criterion/criterion.h>

#include "azure/monitor.h"
#include "core/error.h"
#include "core/json.h"
#include "support/arm_stub.h"
#include "support/check.h"

#define EP "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.MachineLearningServices" \
	   "/workspaces/ws1/onlineEndpoints/ep1"

/* Shaped as GetMetric.json (azure-rest-api-specs monitor 2023-10-01): two
 * metrics, series split by dimensions, a grain without data. */
static const char answer[] =
	"{\"cost\":0,\"timespan\":\"2026-01-01T10:00:00Z/2026-01-01T10:03:00Z\",\"interval\":\"PT1M\","
	"\"value\":[{\"id\":\"" EP "/providers/Microsoft.Insights/metrics/RequestsPerMinute\","
	"\"type\":\"Microsoft.Insights/metrics\",\"name\":{\"value\":\"RequestsPerMinute\","
	"\"localizedValue\":\"Requests Per Minute\"},\"unit\":\"Count\",\"timeseries\":["
	"{\"metadatavalues\":[{\"name\":{\"value\":\"deployment\",\"localizedValue\":\"deployment\"},"
	"\"value\":\"green\"},{\"name\":{\"value\":\"statuscodeclass\",\"localizedValue\":\"statusCodeClass\"},"
	"\"value\":\"5xx\"}],\"data\":[{\"timeStamp\":\"2026-01-01T10:00:00Z\",\"total\":3.0},"
	"{\"timeStamp\":\"2026-01-01T10:01:00.0000000Z\"},{\"timeStamp\":\"2026-01-01T10:02:00Z\",\"total\":1}]}],"
	"\"errorCode\":\"Success\"},"
	"{\"id\":\"x\",\"type\":\"Microsoft.Insights/metrics\",\"name\":{\"value\":\"RequestLatency_P90\"},"
	"\"unit\":\"Milliseconds\",\"timeseries\":[{\"metadatavalues\":[],\"data\":["
	"{\"timeStamp\":\"2026-01-01T10:00:00Z\",\"average\":120.5,\"maximum\":130,\"count\":1}]}],"
	"\"errorCode\":\"Success\"},"
	"{\"id\":\"y\",\"name\":{\"value\":\"ConnectionsActive\"},\"unit\":\"Count\",\"timeseries\":[]}],"
	"\"namespace\":\"microsoft.machinelearningservices/workspaces/onlineendpoints\","
	"\"resourceregion\":\"eastus\"}";

static cJSON *parse(const char *text)
{
	cJSON *json = NULL;

	cr_assert_ok(json_parse(&json, text, strlen(text), "test"));
	return json;
}

static const char *const names[] = { "RequestsPerMinute", "RequestLatency_P90", NULL };
#define T0 1767261600 /* 2026-01-01T10:00:00Z */

Test(monitor, path_carries_every_parameter_encoded)
{
	struct monitor_query q = { .metrics = names, .start = T0, .end = T0 + 180, .interval_s = 60,
				   .aggregation = "Total,Maximum",
				   .filter = "deployment eq '*' and statusCodeClass eq '5xx'", .top = 20 };
	struct buf path = BUF_INIT;

	cr_assert_ok(monitor_query_path(&path, EP, &q));
	cr_assert_str_eq(path.data, EP "/providers/Microsoft.Insights/metrics?metricnames="
			 "RequestsPerMinute%2CRequestLatency_P90"
			 "&timespan=2026-01-01T10%3A00%3A00Z%2F2026-01-01T10%3A03%3A00Z&interval=PT1M"
			 "&aggregation=Total%2CMaximum"
			 "&$filter=deployment%20eq%20%27%2A%27%20and%20statusCodeClass%20eq%20%275xx%27&top=20");
	buf_reset(&path);
	q.interval_s = 0;
	q.filter = NULL;
	q.aggregation = NULL;
	q.top = 0;
	q.metric_namespace = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments";
	cr_assert_ok(monitor_query_path(&path, EP, &q));
	cr_assert(strstr(path.data, "&interval=FULL&metricnamespace=Microsoft.MachineLearningServices%2F") != NULL,
		  "%s", path.data);
	cr_assert(!strstr(path.data, "aggregation") && !strstr(path.data, "top="), "%s", path.data);
	buf_release(&path);
}

Test(monitor, intervals_are_written_as_azure_spells_them)
{
	long secs[] = { 300, 3600, 21600, 86400 };
	const char *want[] = { "interval=PT5M&", "interval=PT1H&", "interval=PT6H&", "interval=P1D&" };
	struct monitor_query q = { .metrics = names, .start = T0, .end = T0 + 60 };
	struct buf path = BUF_INIT;
	size_t i;

	for (i = 0; i < 4; i++) {
		buf_reset(&path);
		q.interval_s = secs[i];
		q.aggregation = "Total";
		cr_assert_ok(monitor_query_path(&path, EP, &q));
		cr_assert(strstr(path.data, want[i]) != NULL, "%s", path.data);
	}
	buf_release(&path);
}

Test(monitor, bad_queries_are_input_errors)
{
	const char *const none[] = { NULL };
	struct monitor_query q = { .metrics = names, .start = T0, .end = T0 + 60, .interval_s = 60 };
	struct buf path = BUF_INIT;

	cr_assert_fails(monitor_query_path(&path, "subscriptions/x", &q), ERR_INPUT, "not an ARM id");
	cr_assert_fails(monitor_query_path(&path, "/subscriptions/x/../y", &q), ERR_INPUT, "not an ARM id");
	cr_assert_fails(monitor_query_path(&path, "/subscriptions/x?a=b", &q), ERR_INPUT, "holds '?'");
	cr_assert_fails(monitor_query_path(&path, "/subscriptions/x y", &q), ERR_INPUT, "holds ' '");
	cr_assert_fails(monitor_query_path(&path, NULL, &q), ERR_INPUT, "(none)");
	q.interval_s = 90;
	cr_assert_fails(monitor_query_path(&path, EP, &q), ERR_INPUT, "not whole minutes");
	q.interval_s = 60;
	q.end = T0;
	cr_assert_fails(monitor_query_path(&path, EP, &q), ERR_INPUT, "ends before it starts");
	q.end = T0 + 60;
	q.metrics = none;
	cr_assert_fails(monitor_query_path(&path, EP, &q), ERR_INPUT, "no metric names");
	buf_release(&path);
}

Test(monitor, parses_series_dimensions_and_absent_values)
{
	struct monitor_result r = MONITOR_RESULT_INIT;
	cJSON *json = parse(answer);
	const struct monitor_series *s;
	double v = -1;

	cr_assert_ok(monitor_parse(&r, json));
	cr_assert_eq(r.nr, 2, "ConnectionsActive has no series: %zu", r.nr);
	s = &r.series[0];
	cr_assert_str_eq(s->metric, "RequestsPerMinute");
	cr_assert_str_eq(s->unit, "Count");
	cr_assert_str_eq(monitor_series_dim(s, "statusCodeClass"), "5xx");
	cr_assert_str_eq(monitor_series_dim(s, "Deployment"), "green");
	cr_assert_null(monitor_series_dim(s, "statusCode"));
	cr_assert_eq(s->points_nr, 3);
	cr_assert_eq(s->points[0].time, T0);
	cr_assert_eq(s->points[1].time, T0 + 60);
	cr_assert(monitor_point_value(&s->points[0], MONITOR_TOTAL, &v) && v == 3.0);
	cr_assert(!monitor_point_value(&s->points[1], MONITOR_TOTAL, &v), "no data is absent, not 0");
	cr_assert_eq(s->points[1].has, 0);
	cr_assert(!monitor_point_value(&s->points[0], MONITOR_AVERAGE, &v));
	s = &r.series[1];
	cr_assert_str_eq(s->metric, "RequestLatency_P90");
	cr_assert_eq(s->dims_nr, 0);
	cr_assert(monitor_point_value(&s->points[0], MONITOR_MAXIMUM, &v) && v == 130.0);
	cr_assert(monitor_point_value(&s->points[0], MONITOR_AVERAGE, &v) && v == 120.5);
	cr_assert(monitor_point_value(&s->points[0], MONITOR_COUNT, &v) && v == 1.0);
	cr_assert(!monitor_point_value(&s->points[0], MONITOR_MINIMUM, &v));
	monitor_result_release(&r);
	monitor_result_release(&r);
	cJSON_Delete(json);
}

Test(monitor, malformed_answers_name_the_field)
{
	struct {
		const char *body;
		int code;
		const char *needle;
	} cases[] = {
		{ "{}", ERR_JSON, "no value array" },
		{ "{\"value\":[{\"unit\":\"Count\"}]}", ERR_JSON, "value[0].name.value is missing" },
		{ "{\"value\":[{\"name\":{\"value\":\"A\"},\"timeseries\":[{\"data\":[{\"timeStamp\":\"yesterday\"}]}]}]}",
		  ERR_JSON, "value[0].timeseries[0].data[0].timeStamp" },
		{ "{\"value\":[{\"name\":{\"value\":\"A\"},\"timeseries\":[{\"data\":[{\"timeStamp\":"
		  "\"2026-01-01T10:00:00+02:00\"}]}]}]}", ERR_JSON, "timeStamp is not an ISO 8601 UTC" },
		{ "{\"value\":[{\"name\":{\"value\":\"A\"},\"timeseries\":[{},{\"data\":[{\"timeStamp\":"
		  "\"2026-01-01T10:00:00Z\",\"total\":\"3\"}]}]}]}", ERR_JSON, "timeseries[1].data[0].total is not a number" },
		{ "{\"value\":[{\"name\":{\"value\":\"A\"},\"timeseries\":[{\"metadatavalues\":[{\"value\":\"x\"}]}]}]}",
		  ERR_JSON, "metadatavalues[0] has no name.value" },
		{ "{\"value\":[{\"name\":{\"value\":\"A\"},\"timeseries\":{}}]}", ERR_JSON, "timeseries is not an array" },
		{ "{\"value\":[{\"name\":{\"value\":\"MongoRequestsCount\"},\"timeseries\":[],\"errorCode\":"
		  "\"InvalidSamplingType\",\"errorMessage\":\"Sampling type is not found.\"}]}", ERR_HTTP,
		  "MongoRequestsCount: InvalidSamplingType: Sampling type is not found." },
	};
	struct monitor_result r = MONITOR_RESULT_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *json = parse(cases[i].body);

		cr_assert_fails(monitor_parse(&r, json), cases[i].code, cases[i].needle);
		cr_assert_eq(r.nr, 0, "case %zu keeps nothing", i);
		cJSON_Delete(json);
	}
}

Test(monitor, metrics_calls_arm_and_parses)
{
	struct stub_reply script[] = { { .status = 200, .body = answer } };
	struct monitor_query q = { .metrics = names, .start = T0, .end = T0 + 180, .interval_s = 60,
				   .aggregation = "Total" };
	struct monitor_result r = MONITOR_RESULT_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 1);
	cr_assert_ok(monitor_metrics(&r, &f.arm, EP, &q));
	cr_assert_eq(r.nr, 2);
	cr_assert(strstr(stub_head(f.stub, 0), "GET " EP "/providers/Microsoft.Insights/metrics?metricnames=") != NULL,
		  "%s", stub_head(f.stub, 0));
	cr_assert(strstr(stub_head(f.stub, 0), "&api-version=2023-10-01") != NULL, "%s", stub_head(f.stub, 0));
	cr_assert(strstr(stub_head(f.stub, 0), "Bearer test-token") != NULL);
	monitor_result_release(&r);
	arm_stub_stop(&f);
}

Test(monitor, unknown_metric_is_azures_bare_400)
{
	struct stub_reply script[] = { { .status = 400, .body =
		"{\"code\":\"BadRequest\",\"message\":\"Failed to find metric configuration for provider: "
		"Microsoft.MachineLearningServices, resource Type: workspaces/onlineEndpoints, metric: Nope, "
		"Valid metrics: RequestsPerMinute\"}" } };
	const char *const nope[] = { "Nope", NULL };
	struct monitor_query q = { .metrics = nope, .start = T0, .end = T0 + 60, .interval_s = 60 };
	struct monitor_result r = MONITOR_RESULT_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 1);
	cr_assert_fails(monitor_metrics(&r, &f.arm, EP, &q), ERR_HTTP,
			"HTTP 400 BadRequest: Failed to find metric configuration");
	cr_assert(!strstr(error_message(), "timespan="), "no query string in errors: %s", error_message());
	cr_assert_eq(r.nr, 0);
	arm_stub_stop(&f);
}
