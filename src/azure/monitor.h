#ifndef AZURE_MONITOR_H
#define AZURE_MONITOR_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "azure/arm.h"
#include "core/buf.h"

/*
 * Azure Monitor metrics of one resource (Metrics_List: GET
 * {resourceId}/providers/Microsoft.Insights/metrics). Contract:
 * docs/azure-contract.md 3.9 and the official example GetMetric.json of
 * azure-rest-api-specs monitor/.../stable/2023-10-01. Calls go through
 * arm_call (token, retries, ARM error text); Azure Monitor's errors come
 * bare ({"code","message"}), which arm_error_text reads too.
 */

#define MONITOR_API_VERSION "2023-10-01"

/* Which aggregations a point carries: Azure leaves a value out when the
 * grain had no data, and so do we (never a made-up 0). */
enum monitor_agg {
	MONITOR_TOTAL = 1 << 0,
	MONITOR_AVERAGE = 1 << 1,
	MONITOR_MINIMUM = 1 << 2,
	MONITOR_MAXIMUM = 1 << 3,
	MONITOR_COUNT = 1 << 4,
};

struct monitor_point {
	time_t time;          /* timeStamp: the start of the grain */
	unsigned has;         /* enum monitor_agg bits */
	double total, average, minimum, maximum, count;
};

struct monitor_dim {
	char *name;           /* metadatavalues[].name.value, as Azure spells it */
	char *value;
};

/* One time series of one metric: a combination of dimension values. */
struct monitor_series {
	char *metric;         /* value[].name.value */
	char *unit;
	struct monitor_dim *dims;
	size_t dims_nr;
	struct monitor_point *points;
	size_t points_nr;
};

struct monitor_result {
	struct monitor_series *series;
	size_t nr;
};
#define MONITOR_RESULT_INIT { NULL, 0 }
void monitor_result_release(struct monitor_result *r);

/* What to ask; borrowed for the call. */
struct monitor_query {
	const char *const *metrics;   /* NULL-terminated, at least one */
	time_t start, end;            /* timespan start/end, end > start */
	long interval_s;              /* whole minutes; 0 asks for FULL (one point) */
	const char *aggregation;      /* "Total,Average"; NULL: each metric's default */
	const char *filter;           /* $filter, e.g. "deployment eq '*'"; NULL for none */
	const char *metric_namespace; /* NULL: the resource type's own */
	int top;                      /* series per metric with a filter; 0: Azure's 10 */
};

/* The path and query of the call (below the ARM endpoint, without
 * api-version). ERR_INPUT for an id that is not "/subscriptions/..." or
 * holds '?', '#', whitespace or "..", and for a query without metrics, a
 * timespan that ends before it starts or an interval not in minutes. */
int monitor_query_path(struct buf *out, const char *resource_id, const struct monitor_query *q);

/* Parses a Metrics_List answer. A metric whose errorCode is not Success
 * is ERR_HTTP with Azure's errorCode and errorMessage; a malformed answer
 * is ERR_JSON naming the field (value[0].timeseries[1].data[2].timeStamp). */
int monitor_parse(struct monitor_result *out, const cJSON *json);

/* Queries `resource_id`'s metrics; `out` holds every series returned. */
int monitor_metrics(struct monitor_result *out, struct arm *arm, const char *resource_id,
		    const struct monitor_query *q);

/* The value of dimension `name` (case-insensitive) or NULL. */
const char *monitor_series_dim(const struct monitor_series *s, const char *name);
/* Whether the point has `which` (one enum monitor_agg bit); sets *value. */
int monitor_point_value(const struct monitor_point *p, unsigned which, double *value);

#endif
