/* The health of an online deployment over a bake window (deploy_metrics.h). */
#include <string.h>

#include "azure/aml_endpoint.h"
#include "azure/monitor.h"
#include "core/error.h"
#include "mlops/deploy_metrics.h"
#include "core/banned.h"

/* Requests over the window: each minute's Total, or its Average where
 * Azure gives only that (RequestsPerMinute's documented default
 * aggregation; at PT1M a minute's average is that minute's count). */
static double sum_total(const struct monitor_series *s)
{
	double sum = 0, v;
	size_t i;

	for (i = 0; i < s->points_nr; i++)
		if (monitor_point_value(&s->points[i], MONITOR_TOTAL, &v) ||
		    monitor_point_value(&s->points[i], MONITOR_AVERAGE, &v))
			sum += v;
	return sum;
}

static void add_class(struct deploy_health *h, const struct monitor_series *s)
{
	const char *class = monitor_series_dim(s, "statusCodeClass");
	long n = (long)(sum_total(s) + 0.5);

	h->requests += n;
	if (!class)
		return;
	if (!strcmp(class, "2xx"))
		h->status_2xx += n;
	else if (!strcmp(class, "4xx"))
		h->status_4xx += n;
	else if (!strcmp(class, "5xx"))
		h->status_5xx += n;
}

/* The worst minute: its Maximum, or its Average when Azure gives only that. */
static void add_p90(struct deploy_health *h, const struct monitor_series *s)
{
	double v;
	size_t i;

	for (i = 0; i < s->points_nr; i++) {
		if (!monitor_point_value(&s->points[i], MONITOR_MAXIMUM, &v) &&
		    !monitor_point_value(&s->points[i], MONITOR_AVERAGE, &v))
			continue;
		if (!h->has_latency || v > h->p90_ms)
			h->p90_ms = v;
		h->has_latency = 1;
	}
}

static int query(struct monitor_result *out, struct arm *arm, const char *endpoint_id,
		 const struct deploy_health *h, const char *metric, const char *aggregation,
		 const char *filter)
{
	const char *const names[] = { metric, NULL };
	struct monitor_query q = { .metrics = names, .start = h->from, .end = h->to,
				   .interval_s = 60, .aggregation = aggregation, .filter = filter };

	return monitor_metrics(out, arm, endpoint_id, &q);
}

int deploy_health_read(struct deploy_health *out, struct arm *arm, const char *endpoint_id,
		       const char *deployment, time_t from, time_t to)
{
	struct monitor_result counts = MONITOR_RESULT_INIT, p90 = MONITOR_RESULT_INIT;
	struct monitor_result model = MONITOR_RESULT_INIT;
	struct buf filter = BUF_INIT;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	out->from = from;
	out->to = to;
	if ((ret = aml_check_deployment_name(deployment)))
		return ret;
	if (to <= from)
		return error_set(ERR_INPUT, "deployment %s: the bake window ends before it starts",
				 deployment);
	buf_addf(&filter, "deployment eq '%s' and statusCodeClass eq '*'", deployment);
	if ((ret = query(&counts, arm, endpoint_id, out, "RequestsPerMinute", "Total,Average", filter.data)))
		goto done;
	buf_reset(&filter);
	buf_addf(&filter, "deployment eq '%s'", deployment);
	if ((ret = query(&p90, arm, endpoint_id, out, "RequestLatency_P90", "Average,Maximum",
			 filter.data)))
		goto done;
	buf_reset(&filter);
	buf_addf(&filter, "deployment eq '%s' and statusCode eq '424'", deployment);
	if ((ret = query(&model, arm, endpoint_id, out, "RequestsPerMinute", "Total,Average",
			 filter.data)))
		goto done;
	for (i = 0; i < counts.nr; i++)
		add_class(out, &counts.series[i]);
	for (i = 0; i < p90.nr; i++)
		add_p90(out, &p90.series[i]);
	for (i = 0; i < model.nr; i++)
		out->status_424 += (long)(sum_total(&model.series[i]) + 0.5);
	if (out->status_424 > out->status_4xx)
		out->status_424 = out->status_4xx; /* the two reads disagree: trust the classes */
	out->error_rate = out->requests
		? (double)(out->status_5xx + out->status_424) / (double)out->requests : 0;
done:
	if (ret)
		error_prefix("deployment %s metrics", deployment);
	monitor_result_release(&counts);
	monitor_result_release(&p90);
	monitor_result_release(&model);
	buf_release(&filter);
	return ret;
}

static void add_counts(struct buf *reason, const struct deploy_health *h)
{
	buf_addf(reason, "5xx %ld", h->status_5xx);
	if (h->status_424)
		buf_addf(reason, " and 424 (model error) %ld", h->status_424);
	buf_addf(reason, " of %ld requests (%.1f%%)", h->requests, h->error_rate * 100.0);
}

static void add_limits_note(struct buf *reason, const struct deploy_health *h)
{
	if (h->status_4xx > h->status_424)
		buf_addf(reason, "; 4xx %ld (client errors, not held against the deployment)",
			 h->status_4xx - h->status_424);
	if (!h->has_latency)
		buf_addstr(reason, "; P90 latency unknown");
}

enum deploy_verdict deploy_health_judge(const struct deploy_health *h, double max_error_rate,
					double max_latency_ms, struct buf *reason)
{
	int rate_bad = max_error_rate >= 0 && h->error_rate > max_error_rate;
	int slow = max_latency_ms > 0 && h->has_latency && h->p90_ms > max_latency_ms;

	if (!h->requests) {
		buf_addstr(reason, "no requests reached the deployment in the window: nothing to judge");
		return DEPLOY_NO_REQUESTS;
	}
	if (rate_bad) {
		add_counts(reason, h);
		buf_addf(reason, " > max-error-rate %g%%", max_error_rate * 100.0);
	}
	if (slow)
		buf_addf(reason, "%sP90 latency %.0f ms > max-latency %g ms", rate_bad ? "; " : "",
			 h->p90_ms, max_latency_ms);
	if (!rate_bad && !slow) {
		add_counts(reason, h);
		if (h->has_latency)
			buf_addf(reason, ", P90 latency %.0f ms", h->p90_ms);
		buf_addstr(reason, ": within the limits");
	}
	add_limits_note(reason, h);
	return rate_bad || slow ? DEPLOY_BREACH : DEPLOY_HEALTHY;
}
