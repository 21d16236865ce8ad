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

static void judge_is(struct deploy_health h, double rate, double ms, enum deploy_verdict want,
		     const char *reason)
{
	struct buf text = BUF_INIT;
	enum deploy_verdict got = deploy_health_judge(&h, rate, ms, &text);

	cr_assert_eq(got, want, "verdict %d, wanted %d: %s", got, want, text.data);
	cr_assert_str_eq(text.data, reason);
	buf_release(&text);
}

Test(deploy_health_judge, error_rate_over_the_limit_is_a_breach)
{
	judge_is(health(28, 0, 12, 1, 100), 0.05, 500, DEPLOY_BREACH,
		 "5xx 12 of 40 requests (30.0%) > max-error-rate 5%");
}

Test(deploy_health_judge, error_rate_at_the_limit_is_healthy)
{
	judge_is(health(95, 0, 5, 1, 100), 0.05, 500, DEPLOY_HEALTHY,
		 "5xx 5 of 100 requests (5.0%), P90 latency 100 ms: within the limits");
}

Test(deploy_health_judge, zero_limit_allows_no_5xx)
{
	judge_is(health(99, 0, 1, 1, 10), 0, 0, DEPLOY_BREACH,
		 "5xx 1 of 100 requests (1.0%) > max-error-rate 0%");
	judge_is(health(100, 0, 0, 1, 10), 0, 0, DEPLOY_HEALTHY,
		 "5xx 0 of 100 requests (0.0%), P90 latency 10 ms: within the limits");
}

Test(deploy_health_judge, negative_rate_limit_is_no_limit)
{
	judge_is(health(0, 0, 10, 1, 10), -1, 0, DEPLOY_HEALTHY,
		 "5xx 10 of 10 requests (100.0%), P90 latency 10 ms: within the limits");
}

Test(deploy_health_judge, slow_p90_is_a_breach)
{
	judge_is(health(40, 0, 0, 1, 812.4), 0.05, 500, DEPLOY_BREACH,
		 "P90 latency 812 ms > max-latency 500 ms");
}

Test(deploy_health_judge, p90_at_the_limit_is_healthy)
{
	judge_is(health(40, 0, 0, 1, 500), 0.05, 500, DEPLOY_HEALTHY,
		 "5xx 0 of 40 requests (0.0%), P90 latency 500 ms: within the limits");
}

Test(deploy_health_judge, no_latency_limit_ignores_p90)
{
	judge_is(health(40, 0, 0, 1, 9000), 0.05, 0, DEPLOY_HEALTHY,
		 "5xx 0 of 40 requests (0.0%), P90 latency 9000 ms: within the limits");
	judge_is(health(40, 0, 0, 1, 9000), 0.05, -3, DEPLOY_HEALTHY,
		 "5xx 0 of 40 requests (0.0%), P90 latency 9000 ms: within the limits");
}

Test(deploy_health_judge, both_broken_says_both)
{
	judge_is(health(20, 0, 20, 1, 1500), 0.1, 1000, DEPLOY_BREACH,
		 "5xx 20 of 40 requests (50.0%) > max-error-rate 10%; P90 latency 1500 ms > max-latency 1000 ms");
}

Test(deploy_health_judge, client_errors_are_reported_never_held_against)
{
	judge_is(health(10, 30, 0, 1, 50), 0.05, 500, DEPLOY_HEALTHY,
		 "5xx 0 of 40 requests (0.0%), P90 latency 50 ms: within the limits; "
		 "4xx 30 (client errors, not held against the deployment)");
	judge_is(health(10, 25, 5, 1, 50), 0.05, 500, DEPLOY_BREACH,
		 "5xx 5 of 40 requests (12.5%) > max-error-rate 5%; "
		 "4xx 25 (client errors, not held against the deployment)");
}

Test(deploy_health_judge, unknown_latency_is_said_not_a_breach)
{
	judge_is(health(40, 0, 0, 0, 0), 0.05, 500, DEPLOY_HEALTHY,
		 "5xx 0 of 40 requests (0.0%): within the limits; P90 latency unknown");
	judge_is(health(30, 0, 10, 0, 0), 0.05, 500, DEPLOY_BREACH,
		 "5xx 10 of 40 requests (25.0%) > max-error-rate 5%; P90 latency unknown");
}

Test(deploy_health_judge, no_requests_is_reported_not_a_breach)
{
	judge_is(health(0, 0, 0, 0, 0), 0.05, 500, DEPLOY_NO_REQUESTS,
		 "no requests reached the deployment in the window: nothing to judge");
	judge_is(health(0, 0, 0, 1, 9999), 0, 1, DEPLOY_NO_REQUESTS,
		 "no requests reached the deployment in the window: nothing to judge");
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
	"," SERIES("3xx", "1", "0") "],\"errorCode\":\"Success\"}]}";
static const char latency[] =
	"{\"timespan\":\"x\",\"value\":[{\"name\":{\"value\":\"RequestLatency_P90\"},\"unit\":\"Milliseconds\","
	"\"timeseries\":[{\"metadatavalues\":[{\"name\":{\"value\":\"deployment\"},\"value\":\"green\"}],"
	"\"data\":[{\"timeStamp\":\"2026-01-01T10:00:00Z\",\"average\":120,\"maximum\":140},"
	"{\"timeStamp\":\"2026-01-01T10:01:00Z\"},"
	"{\"timeStamp\":\"2026-01-01T10:02:00Z\",\"average\":310}]}],\"errorCode\":\"Success\"}]}";

Test(deploy_health_read, sums_classes_and_takes_the_worst_p90)
{
	struct stub_reply script[] = { { .status = 200, .body = counts }, { .status = 200, .body = latency } };
	struct deploy_health h;
	struct arm_stub f;

	arm_stub_start(&f, script, 2);
	cr_assert_ok(deploy_health_read(&h, &f.arm, EP, "green", T0, T0 + 180));
	cr_assert_eq(h.requests, 35);
	cr_assert_eq(h.status_2xx, 28);
	cr_assert_eq(h.status_4xx, 3);
	cr_assert_eq(h.status_5xx, 3);
	cr_assert_float_eq(h.error_rate, 3.0 / 35.0, 1e-9);
	cr_assert(h.has_latency);
	cr_assert_float_eq(h.p90_ms, 310, 1e-9, "the average stands in when no maximum: %f", h.p90_ms);
	cr_assert(strstr(stub_head(f.stub, 0), "metricnames=RequestsPerMinute&timespan=2026-01-01T10%3A00%3A00Z%2F"
				 "2026-01-01T10%3A03%3A00Z&interval=PT1M&aggregation=Total&$filter=deployment%20eq%20"
				 "%27green%27%20and%20statusCodeClass%20eq%20%27%2A%27") != NULL, "%s", stub_head(f.stub, 0));
	cr_assert(strstr(stub_head(f.stub, 1), "metricnames=RequestLatency_P90&") != NULL);
	cr_assert(strstr(stub_head(f.stub, 1), "&$filter=deployment%20eq%20%27green%27&api-version") != NULL,
		  "%s", stub_head(f.stub, 1));
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
	};
	struct deploy_health h;
	struct arm_stub f;

	arm_stub_start(&f, script, 2);
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
