#include <string.h>

#include <criterion/criterion.h>

#include "core/error.h"
#include "mlops/deploy_metrics.h"
#include "support/arm_stub.h"
#include "support/check.h"

#define EP "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.MachineLearningServices" \
	   "/workspaces/ws1/onlineEndpoints/ep1"
#define T0 1767261600 /* 2026-01-01T10:00:00Z */

static struct deploy_health health(long n2, long n4, long n5, int has_latency, double p90)
{
	struct deploy_health h = { .from = T0, .to = T0 + 120, .status_2xx = n2, .status_4xx = n4,
				   .status_5xx = n5, .has_latency = has_latency, .p90_ms = p90 };

	h.requests = n2 + n4 + n5;
	h.error_rate = h.requests ? (double)n5 / (double)h.requests : 0;
	return h;
}

/* Every branch of the judge: limits met, at, over; disabled limits; both
 * broken; client errors; unknown latency; no requests. */
static const struct {
	const char *what;
	long n2, n4, n5;
	int has_latency;
	double p90, max_rate, max_ms;
	enum deploy_verdict want;
	const char *reason;
} judge_cases[] = {
	{ "error rate over the limit", 28, 0, 12, 1, 100, 0.05, 500, DEPLOY_BREACH,
	  "5xx 12 of 40 requests (30.0%) > max-error-rate 5%" },
	{ "error rate at the limit", 95, 0, 5, 1, 100, 0.05, 500, DEPLOY_HEALTHY,
	  "5xx 5 of 100 requests (5.0%), P90 latency 100 ms: within the limits" },
	{ "zero limit allows no 5xx", 99, 0, 1, 1, 10, 0, 0, DEPLOY_BREACH,
	  "5xx 1 of 100 requests (1.0%) > max-error-rate 0%" },
	{ "zero limit, no 5xx", 100, 0, 0, 1, 10, 0, 0, DEPLOY_HEALTHY,
	  "5xx 0 of 100 requests (0.0%), P90 latency 10 ms: within the limits" },
	{ "negative rate limit is no limit", 0, 0, 10, 1, 10, -1, 0, DEPLOY_HEALTHY,
	  "5xx 10 of 10 requests (100.0%), P90 latency 10 ms: within the limits" },
	{ "slow P90", 40, 0, 0, 1, 812.4, 0.05, 500, DEPLOY_BREACH,
	  "P90 latency 812 ms > max-latency 500 ms" },
	{ "P90 at the limit", 40, 0, 0, 1, 500, 0.05, 500, DEPLOY_HEALTHY,
	  "5xx 0 of 40 requests (0.0%), P90 latency 500 ms: within the limits" },
	{ "zero latency limit is no limit", 40, 0, 0, 1, 9000, 0.05, 0, DEPLOY_HEALTHY,
	  "5xx 0 of 40 requests (0.0%), P90 latency 9000 ms: within the limits" },
	{ "negative latency limit is no limit", 40, 0, 0, 1, 9000, 0.05, -3, DEPLOY_HEALTHY,
	  "5xx 0 of 40 requests (0.0%), P90 latency 9000 ms: within the limits" },
	{ "both broken says both", 20, 0, 20, 1, 1500, 0.1, 1000, DEPLOY_BREACH,
	  "5xx 20 of 40 requests (50.0%) > max-error-rate 10%; P90 latency 1500 ms > max-latency 1000 ms" },
	{ "4xx reported, never held against", 10, 30, 0, 1, 50, 0.05, 500, DEPLOY_HEALTHY,
	  "5xx 0 of 40 requests (0.0%), P90 latency 50 ms: within the limits; "
	  "4xx 30 (client errors, not held against the deployment)" },
	{ "4xx beside a 5xx breach", 10, 25, 5, 1, 50, 0.05, 500, DEPLOY_BREACH,
	  "5xx 5 of 40 requests (12.5%) > max-error-rate 5%; "
	  "4xx 25 (client errors, not held against the deployment)" },
	{ "unknown latency is said, not a breach", 40, 0, 0, 0, 0, 0.05, 500, DEPLOY_HEALTHY,
	  "5xx 0 of 40 requests (0.0%): within the limits; P90 latency unknown" },
	{ "unknown latency beside a breach", 30, 0, 10, 0, 0, 0.05, 500, DEPLOY_BREACH,
	  "5xx 10 of 40 requests (25.0%) > max-error-rate 5%; P90 latency unknown" },
	{ "no requests", 0, 0, 0, 0, 0, 0.05, 500, DEPLOY_NO_REQUESTS,
	  "no requests reached the deployment in the window: nothing to judge" },
	{ "no requests, whatever the latency", 0, 0, 0, 1, 9999, 0, 1, DEPLOY_NO_REQUESTS,
	  "no requests reached the deployment in the window: nothing to judge" },
};

Test(deploy_health_judge, verdicts_and_reasons)
{
	struct buf text = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(judge_cases) / sizeof(judge_cases[0]); i++) {
		struct deploy_health h = health(judge_cases[i].n2, judge_cases[i].n4, judge_cases[i].n5,
						judge_cases[i].has_latency, judge_cases[i].p90);
		enum deploy_verdict got;

		buf_reset(&text);
		got = deploy_health_judge(&h, judge_cases[i].max_rate, judge_cases[i].max_ms, &text);
		cr_expect_eq(got, judge_cases[i].want, "%s: verdict %d: %s", judge_cases[i].what, got, text.data);
		cr_expect_str_eq(text.data, judge_cases[i].reason, "%s", judge_cases[i].what);
	}
	buf_release(&text);
}

Test(deploy_health_judge, reason_is_appended)
{
	struct deploy_health h = health(1, 0, 0, 1, 1);
	struct buf text = BUF_INIT;

	buf_addstr(&text, "step 2: ");
	cr_assert_eq(deploy_health_judge(&h, 0.5, 10, &text), DEPLOY_HEALTHY);
	cr_assert(!strncmp(text.data, "step 2: 5xx 0 of 1 requests", 27), "%s", text.data);
	buf_release(&text);
}

/* -- reading ---------------------------------------------------------------- */

#define SERIES(cls, a, b) \
	"{\"metadatavalues\":[{\"name\":{\"value\":\"deployment\"},\"value\":\"green\"}," \
	"{\"name\":{\"value\":\"statuscodeclass\"},\"value\":\"" cls "\"}],\"data\":[" \
	"{\"timeStamp\":\"2026-01-01T10:00:00Z\",\"total\":" a "}," \
	"{\"timeStamp\":\"2026-01-01T10:01:00Z\"}," \
	"{\"timeStamp\":\"2026-01-01T10:02:00Z\",\"total\":" b "}]}"

static const char counts[] =
	"{\"timespan\":\"x\",\"value\":[{\"name\":{\"value\":\"RequestsPerMinute\"},\"unit\":\"Count\","
	"\"timeseries\":[" SERIES("2xx", "20", "8") "," SERIES("4xx", "3", "0") "," SERIES("5xx", "2", "1")
	"," SERIES("3xx", "1", "0") ","
	"{\"metadatavalues\":[{\"name\":{\"value\":\"statuscodeclass\"},\"value\":\"2xx\"}],"
	"\"data\":[{\"timeStamp\":\"2026-01-01T10:00:00Z\",\"average\":4}]}],\"errorCode\":\"Success\"}]}";
static const char latency[] =
	"{\"timespan\":\"x\",\"value\":[{\"name\":{\"value\":\"RequestLatency_P90\"},\"unit\":\"Milliseconds\","
	"\"timeseries\":[{\"metadatavalues\":[{\"name\":{\"value\":\"deployment\"},\"value\":\"green\"}],"
	"\"data\":[{\"timeStamp\":\"2026-01-01T10:00:00Z\",\"average\":120,\"maximum\":140},"
	"{\"timeStamp\":\"2026-01-01T10:01:00Z\"},"
	"{\"timeStamp\":\"2026-01-01T10:02:00Z\",\"average\":310}]}],\"errorCode\":\"Success\"}]}";

static const char no_424[] =
	"{\"timespan\":\"x\",\"value\":[{\"name\":{\"value\":\"RequestsPerMinute\"},\"timeseries\":[]}]}";
/* Two of the three 4xx were 424, the model container's failure. */
static const char two_424[] =
	"{\"timespan\":\"x\",\"value\":[{\"name\":{\"value\":\"RequestsPerMinute\"},\"unit\":\"Count\","
	"\"timeseries\":[{\"metadatavalues\":[{\"name\":{\"value\":\"statuscode\"},\"value\":\"424\"}],"
	"\"data\":[{\"timeStamp\":\"2026-01-01T10:00:00Z\",\"total\":2}]}],\"errorCode\":\"Success\"}]}";

Test(deploy_health_read, sums_classes_and_takes_the_worst_p90)
{
	struct stub_reply script[] = { { .status = 200, .body = counts }, { .status = 200, .body = latency },
				       { .status = 200, .body = no_424 } };
	struct deploy_health h;
	struct arm_stub f;

	arm_stub_start(&f, script, 3);
	cr_assert_ok(deploy_health_read(&h, &f.arm, EP, "green", T0, T0 + 180));
	cr_assert_eq(h.requests, 39, "%ld", h.requests);
	cr_assert_eq(h.status_2xx, 32, "an Average stands in for a missing Total");
	cr_assert_eq(h.status_4xx, 3);
	cr_assert_eq(h.status_5xx, 3);
	cr_assert_float_eq(h.error_rate, 3.0 / 39.0, 1e-9);
	cr_assert(h.has_latency);
	cr_assert_float_eq(h.p90_ms, 310, 1e-9, "the average stands in when no maximum: %f", h.p90_ms);
	cr_assert(strstr(stub_head(f.stub, 0), "metricnames=RequestsPerMinute&timespan=2026-01-01T10%3A00%3A00Z%2F"
				 "2026-01-01T10%3A03%3A00Z&interval=PT1M&aggregation=Total%2CAverage&$filter=deployment%20eq%20"
				 "%27green%27%20and%20statusCodeClass%20eq%20%27%2A%27") != NULL, "%s", stub_head(f.stub, 0));
	cr_assert(strstr(stub_head(f.stub, 1), "metricnames=RequestLatency_P90&") != NULL);
	cr_assert(strstr(stub_head(f.stub, 1), "&$filter=deployment%20eq%20%27green%27&api-version") != NULL,
		  "%s", stub_head(f.stub, 1));
	cr_assert(strstr(stub_head(f.stub, 2), "statusCode%20eq%20%27424%27") != NULL, "%s",
		  stub_head(f.stub, 2));
	arm_stub_stop(&f);
}

Test(deploy_health_read, a_424_is_the_deployment_s_error_not_the_caller_s)
{
	struct stub_reply script[] = { { .status = 200, .body = counts }, { .status = 200, .body = latency },
				       { .status = 200, .body = two_424 } };
	struct deploy_health h;
	struct buf reason = BUF_INIT;
	struct arm_stub f;

	arm_stub_start(&f, script, 3);
	cr_assert_ok(deploy_health_read(&h, &f.arm, EP, "green", T0, T0 + 180));
	cr_assert_eq(h.status_4xx, 3);
	cr_assert_eq(h.status_424, 2);
	cr_assert_float_eq(h.error_rate, 5.0 / 39.0, 1e-9);
	cr_assert_eq(deploy_health_judge(&h, 0.1, 0, &reason), DEPLOY_BREACH);
	cr_assert(strstr(reason.data, "5xx 3 and 424 (model error) 2 of 39 requests (12.8%)"), "%s",
		  reason.data);
	cr_assert(strstr(reason.data, "; 4xx 1 (client errors"), "%s", reason.data);
	buf_release(&reason);
	arm_stub_stop(&f);
}

Test(deploy_health_read, empty_window_has_no_requests_and_no_latency)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"timespan\":\"x\",\"value\":[{\"name\":{\"value\":\"RequestsPerMinute\"},"
					 "\"timeseries\":[]}]}" },
		{ .status = 200, .body = "{\"timespan\":\"x\",\"value\":[{\"name\":{\"value\":\"RequestLatency_P90\"},"
					 "\"timeseries\":[{\"metadatavalues\":[],\"data\":[{\"timeStamp\":"
					 "\"2026-01-01T10:00:00Z\"}]}]}]}" },
		{ .status = 200, .body = no_424 },
	};
	struct deploy_health h;
	struct arm_stub f;

	arm_stub_start(&f, script, 3);
	cr_assert_ok(deploy_health_read(&h, &f.arm, EP, "green", T0, T0 + 60));
	cr_assert_eq(h.requests, 0);
	cr_assert_eq(h.error_rate, 0);
	cr_assert(!h.has_latency);
	arm_stub_stop(&f);
}

Test(deploy_health_read, bad_input_is_refused_before_any_call)
{
	struct stub_reply script[] = { { .status = 500, .body = "{}" } };
	struct deploy_health h;
	struct arm_stub f;

	arm_stub_start(&f, script, 1);
	cr_assert_fails(deploy_health_read(&h, &f.arm, EP, "gr'een", T0, T0 + 60), ERR_INPUT, "gr'een");
	cr_assert_fails(deploy_health_read(&h, &f.arm, EP, "green", T0, T0), ERR_INPUT, "ends before it starts");
	cr_assert_fails(deploy_health_read(&h, &f.arm, "ep1", "green", T0, T0 + 60), ERR_INPUT, "not an ARM id");
	cr_assert_eq(stub_count(f.stub), 0);
	arm_stub_stop(&f);
}

Test(deploy_health_read, azure_errors_name_the_deployment)
{
	struct stub_reply script[] = { { .status = 403, .body = "{\"error\":{\"code\":\"AuthorizationFailed\","
							       "\"message\":\"no read on metrics\"}}" } };
	struct deploy_health h;
	struct arm_stub f;

	arm_stub_start(&f, script, 1);
	cr_assert_fails(deploy_health_read(&h, &f.arm, EP, "green", T0, T0 + 60), ERR_AUTH,
			"deployment green metrics: GET ");
	cr_assert(strstr(error_message(), "AuthorizationFailed: no read on metrics") != NULL, "%s", error_message());
	arm_stub_stop(&f);
}
