#include "azure/monitor.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"

/* Against a server that never stops: far more than any query of ours asks. */
#define MAX_SERIES 10000
#define MAX_POINTS 100000

void monitor_result_release(struct monitor_result *r)
{
	size_t i, j;

	if (!r)
		return;
	for (i = 0; i < r->nr; i++) {
		struct monitor_series *s = &r->series[i];

		free(s->metric);
		free(s->unit);
		for (j = 0; j < s->dims_nr; j++) {
			free(s->dims[j].name);
			free(s->dims[j].value);
		}
		free(s->dims);
		free(s->points);
	}
	free(r->series);
	r->series = NULL;
	r->nr = 0;
}

static int check_resource_id(const char *id)
{
	const char *p;

	if (!id || strncasecmp(id, "/subscriptions/", 15) || strstr(id, ".."))
		return error_set(ERR_INPUT, "metrics: resource id '%s' is not an ARM id",
				 id ? excerpt(id) : "(none)");
	for (p = id; *p; p++)
		if (*p == '?' || *p == '#' || *p == '%' || (unsigned char)*p <= ' ')
			return error_set(ERR_INPUT, "metrics: resource id '%s' holds '%c'",
					 excerpt(id), *p <= ' ' ? ' ' : *p);
	return 0;
}

static void add_time(struct buf *out, time_t t)
{
	struct tm tm;
	char text[32];

	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_addstr(out, text);
}

/* ISO 8601 as Azure Monitor takes it: PT5M, PT1H, P1D, or FULL. */
static int add_interval(struct buf *out, long seconds)
{
	if (seconds == 0)
		buf_addstr(out, "FULL");
	else if (seconds < 0 || seconds % 60)
		return error_set(ERR_INPUT, "metrics: interval %lds is not whole minutes", seconds);
	else if (seconds % 86400 == 0)
		buf_addf(out, "P%ldD", seconds / 86400);
	else if (seconds % 3600 == 0)
		buf_addf(out, "PT%ldH", seconds / 3600);
	else
		buf_addf(out, "PT%ldM", seconds / 60);
	return 0;
}

static void add_param(struct buf *out, const char *name, const char *value)
{
	buf_addf(out, "&%s=", name);
	url_encode(out, value);
}

int monitor_query_path(struct buf *out, const char *resource_id, const struct monitor_query *q)
{
	struct buf names = BUF_INIT, span = BUF_INIT;
	size_t i;
	int ret;

	if ((ret = check_resource_id(resource_id)))
		return ret;
	if (!q->metrics || !q->metrics[0])
		return error_set(ERR_INPUT, "metrics: no metric names");
	if (q->end <= q->start)
		return error_set(ERR_INPUT, "metrics: the timespan ends before it starts");
	for (i = 0; q->metrics[i]; i++)
		buf_addf(&names, "%s%s", i ? "," : "", q->metrics[i]);
	add_time(&span, q->start);
	buf_addch(&span, '/');
	add_time(&span, q->end);
	buf_addf(out, "%s/providers/Microsoft.Insights/metrics?metricnames=", resource_id);
	url_encode(out, names.data);
	add_param(out, "timespan", span.data);
	buf_addstr(out, "&interval=");
	ret = add_interval(out, q->interval_s);
	if (q->aggregation)
		add_param(out, "aggregation", q->aggregation);
	if (q->filter)
		add_param(out, "$filter", q->filter);
	if (q->metric_namespace)
		add_param(out, "metricnamespace", q->metric_namespace);
	if (q->top > 0)
		buf_addf(out, "&top=%d", q->top);
	buf_release(&names);
	buf_release(&span);
	return ret;
}

/* "2021-04-20T09:00:00Z", with or without fractional seconds. */
static int parse_stamp(time_t *out, const char *s)
{
	struct tm tm;
	char rest[16] = "";
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	s += n;
	if (*s == '.')
		s += 1 + strspn(s + 1, "0123456789");
	snprintf(rest, sizeof(rest), "%s", s);
	if (strcmp(rest, "Z") && strcmp(rest, "+00:00") && strcmp(rest, ""))
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return 0;
}

static const struct {
	const char *key;
	unsigned bit;
	size_t offset;
} aggs[] = {
	{ "total", MONITOR_TOTAL, offsetof(struct monitor_point, total) },
	{ "average", MONITOR_AVERAGE, offsetof(struct monitor_point, average) },
	{ "minimum", MONITOR_MINIMUM, offsetof(struct monitor_point, minimum) },
	{ "maximum", MONITOR_MAXIMUM, offsetof(struct monitor_point, maximum) },
	{ "count", MONITOR_COUNT, offsetof(struct monitor_point, count) },
};

int monitor_point_value(const struct monitor_point *p, unsigned which, double *value)
{
	size_t i;

	for (i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++)
		if (aggs[i].bit == which && (p->has & which)) {
			*value = *(const double *)((const char *)p + aggs[i].offset);
			return 1;
		}
	return 0;
}

static int parse_point(struct monitor_point *p, const cJSON *j, const char *where)
{
	const cJSON *v;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (parse_stamp(&p->time, json_string_or(j, "timeStamp", NULL)))
		return error_set(ERR_JSON, "metrics: %s.timeStamp is not an ISO 8601 UTC time", where);
	for (i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(j, aggs[i].key);
		if (!v || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsNumber(v))
			return error_set(ERR_JSON, "metrics: %s.%s is not a number", where, aggs[i].key);
		*(double *)((char *)p + aggs[i].offset) = v->valuedouble;
		p->has |= aggs[i].bit;
	}
	return 0;
}

static int parse_dims(struct monitor_series *s, const cJSON *meta, const char *where)
{
	const cJSON *m;
	size_t i = 0;

	if (!meta)
		return 0;
	if (!cJSON_IsArray(meta))
		return error_set(ERR_JSON, "metrics: %s.metadatavalues is not an array", where);
	s->dims = xcalloc((size_t)cJSON_GetArraySize(meta) + 1, sizeof(*s->dims));
	cJSON_ArrayForEach(m, meta) {
		const char *name = json_string_or(m, "name.value", NULL);
		const char *value = json_string_or(m, "value", NULL);

		if (!name || !value)
			return error_set(ERR_JSON, "metrics: %s.metadatavalues[%zu] has no name.value or value",
					 where, i);
		s->dims[i].name = xstrdup(name);
		s->dims[i].value = xstrdup(value);
		s->dims_nr = ++i;
	}
	return 0;
}

static int parse_series(struct monitor_series *s, const cJSON *ts, const char *where,
			size_t *points_left)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(ts, "data"), *d;
	struct buf at = BUF_INIT;
	size_t n;
	int ret;

	if ((ret = parse_dims(s, cJSON_GetObjectItemCaseSensitive(ts, "metadatavalues"), where)))
		return ret;
	if (!data)
		return 0;
	if (!cJSON_IsArray(data))
		return error_set(ERR_JSON, "metrics: %s.data is not an array", where);
	n = (size_t)cJSON_GetArraySize(data);
	if (n > *points_left)
		return error_set(ERR_JSON, "metrics: more than %d points", MAX_POINTS);
	*points_left -= n;
	s->points = xcalloc(n + 1, sizeof(*s->points));
	cJSON_ArrayForEach(d, data) {
		buf_reset(&at);
		buf_addf(&at, "%s.data[%zu]", where, s->points_nr);
		if ((ret = parse_point(&s->points[s->points_nr], d, at.data)))
			break;
		s->points_nr++;
	}
	buf_release(&at);
	return ret;
}

static int metric_failed(const cJSON *metric, const char *name)
{
	const char *code = json_string_or(metric, "errorCode", NULL);

	if (!code || !strcasecmp(code, "Success"))
		return 0;
	return error_set(ERR_HTTP, "metrics: %s: %s: %s", name, code,
			 json_string_or(metric, "errorMessage", "no message"));
}

static int parse_metric(struct monitor_result *out, const cJSON *metric, size_t index,
			size_t *points_left)
{
	const char *name = json_string_or(metric, "name.value", NULL);
	const char *unit = json_string_or(metric, "unit", NULL);
	const cJSON *series = json_find(metric, "timeseries"), *ts;
	struct buf where = BUF_INIT;
	size_t k = 0;
	int ret;

	if (!name)
		return error_set(ERR_JSON, "metrics: value[%zu].name.value is missing", index);
	if ((ret = metric_failed(metric, name)))
		return ret;
	if (series && !cJSON_IsArray(series))
		return error_set(ERR_JSON, "metrics: value[%zu].timeseries is not an array", index);
	cJSON_ArrayForEach(ts, series) {
		struct monitor_series *s;

		if (out->nr >= MAX_SERIES)
			return error_set(ERR_JSON, "metrics: more than %d time series", MAX_SERIES);
		out->series = xrealloc(out->series, (out->nr + 1) * sizeof(*out->series));
		s = &out->series[out->nr++];
		memset(s, 0, sizeof(*s));
		s->metric = xstrdup(name);
		s->unit = unit ? xstrdup(unit) : NULL;
		buf_reset(&where);
		buf_addf(&where, "value[%zu].timeseries[%zu]", index, k++);
		if ((ret = parse_series(s, ts, where.data, points_left)))
			break;
	}
	buf_release(&where);
	return ret;
}

int monitor_parse(struct monitor_result *out, const cJSON *json)
{
	const cJSON *value = json_find(json, "value"), *metric;
	size_t i = 0, points_left = MAX_POINTS;
	int ret = 0;

	if (!cJSON_IsArray(value))
		return error_set(ERR_JSON, "metrics: the answer has no value array");
	cJSON_ArrayForEach(metric, value) {
		if ((ret = parse_metric(out, metric, i++, &points_left)))
			break;
	}
	if (ret)
		monitor_result_release(out);
	return ret;
}

int monitor_metrics(struct monitor_result *out, struct arm *arm, const char *resource_id,
		    const struct monitor_query *q)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	int ret;

	if (!(ret = monitor_query_path(&path, resource_id, q)) &&
	    !(ret = arm_call(arm, "GET", path.data, MONITOR_API_VERSION, NULL, &r)))
		ret = monitor_parse(out, r.json);
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

const char *monitor_series_dim(const struct monitor_series *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->dims_nr; i++)
		if (!strcasecmp(s->dims[i].name, name))
			return s->dims[i].value;
	return NULL;
}
