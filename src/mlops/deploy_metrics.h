#ifndef MLOPS_DEPLOY_METRICS_H
#define MLOPS_DEPLOY_METRICS_H

#include <time.h>

#include "azure/arm.h"
#include "core/buf.h"

/*
 * The health of one online deployment over a bake window, read from the
 * endpoint's Azure Monitor metrics (docs/azure-contract.md 3.9), and the
 * verdict Model-CD takes from it after each traffic step.
 *
 * Counting: RequestsPerMinute of the endpoint split by statusCodeClass,
 * restricted to the deployment, summed (Total) over the window's minutes.
 * `requests` counts every class (1xx and 3xx too). The error rate is
 * (5xx + 424) / requests: a 5xx, or a 424 (Azure's Model Error: the model
 * container did not answer 200), is the deployment failing (a third call,
 * RequestsPerMinute of statusCode 424). The other 4xx are the callers'
 * mistakes (bad payload, bad key); they are counted and reported apart and
 * never make a breach.
 *
 * Latency: RequestLatency_P90 of the deployment per minute; the window's
 * figure is the worst (maximum) of those minutes, so one bad minute is
 * enough to be seen. Absent when Azure gave no value in the window.
 *
 * Azure Monitor publishes a minute's metrics some time after it ends: the
 * caller reads a window that ended a little while ago.
 */

struct deploy_health {
	time_t from, to;
	long requests;
	long status_2xx, status_4xx, status_5xx;
	/* Of status_4xx, the 424s: Azure's "Model Error", the model container
	 * answered other than 200 (a scoring script that raised). The
	 * deployment's failure, not the caller's: counted as an error. */
	long status_424;
	double error_rate;          /* (status_5xx + status_424) / requests; 0 without requests */
	int has_latency;            /* whether p90_ms was given */
	double p90_ms;
};

/*
 * Reads the health of `deployment` of the endpoint `endpoint_id` (its ARM
 * id) over [from, to): two Metrics_List calls. ERR_INPUT for a bad id or
 * deployment name or to <= from; Azure's errors as monitor_metrics gives
 * them.
 */
int deploy_health_read(struct deploy_health *out, struct arm *arm, const char *endpoint_id,
		       const char *deployment, time_t from, time_t to);

enum deploy_verdict {
	DEPLOY_HEALTHY = 0,
	DEPLOY_NO_REQUESTS = 1,      /* nothing to judge: not a breach, but said */
	DEPLOY_BREACH = 2,
};

/*
 * Judges `h` against the limits: a breach when error_rate > max_error_rate
 * (a fraction: 0.05 is 5%; negative: no limit) or p90_ms > max_latency_ms
 * (<= 0: no limit). `reason` gets one sentence in words either way, e.g.
 * "5xx 12 of 40 requests (30.0%) > max-error-rate 5%", and both causes
 * when both are broken.
 */
enum deploy_verdict deploy_health_judge(const struct deploy_health *h, double max_error_rate,
					double max_latency_ms, struct buf *reason);

#endif
