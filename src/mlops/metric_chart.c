/*
 * Metric history charts (mlops/metric_chart.h): a history ordered and
 * downsampled, then written as a Mermaid xychart-beta line chart.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlops/metric_chart.h"
#include "core/banned.h"

void metric_series_release(struct metric_series *s)
{
	free(s->key);
	free(s->points);
	memset(s, 0, sizeof(*s));
}

/* By step; equal steps keep their order (the index breaks the tie). */
struct indexed {
	struct chart_point p;
	size_t i;
};

static int by_step(const void *a, const void *b)
{
	const struct indexed *x = a, *y = b;

	if (x->p.step != y->p.step)
		return x->p.step < y->p.step ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* The mean of points [from, to) of `p`, at the step of the first. */
static struct chart_point bucket(const struct indexed *p, size_t from, size_t to)
{
	struct chart_point out = { p[from].p.step, 0 };
	size_t i;

	/* A running mean: a sum of large finite values could overflow. */
	for (i = from; i < to; i++)
		out.value += (p[i].p.value - out.value) / (double)(i - from + 1);
	return out;
}

void metric_series_build(struct metric_series *out, const char *key,
			 const struct mlflow_metric *in, size_t n, size_t max)
{
	struct indexed *p = xcalloc(n + 1, sizeof(*p));
	size_t i, k = 0, mid, b;

	metric_series_release(out);
	if (max < 2)
		max = 2;
	out->key = xstrdup(key);
	out->logged = n;
	for (i = 0; i < n; i++)
		if (isfinite(in[i].value))
			p[k++] = (struct indexed){ { in[i].step, in[i].value }, i };
	qsort(p, k, sizeof(*p), by_step);
	out->points = xcalloc(k < max ? k + 1 : max, sizeof(*out->points));
	if (k <= max) {
		for (i = 0; i < k; i++)
			out->points[i] = p[i].p;
		out->nr = k;
		free(p);
		return;
	}
	/* The ends as they are; k - 2 points between in max - 2 buckets,
	 * each non-empty since k > max. */
	mid = k - 2;
	b = max - 2;
	out->points[0] = p[0].p;
	for (i = 0; i < b; i++)
		out->points[i + 1] = bucket(p, 1 + i * mid / b, 1 + (i + 1) * mid / b);
	out->points[max - 1] = p[k - 1].p;
	out->nr = max;
	free(p);
}

/* Decimals for 6 significant digits of `v`, and at least `min`. */
static int decimals_for(double v, int min)
{
	int d = 0;

	if (v != 0 && fabs(v) < 1e6)
		d = 5 - (int)floor(log10(fabs(v)));
	if (d < min)
		d = min;
	return d < 0 ? 0 : d > 20 ? 20 : d;
}

/* A plain decimal with `decimals` places at most, no exponent. */
static void number(struct buf *out, double v, int decimals)
{
	char text[400];
	size_t len;

	snprintf(text, sizeof(text), "%.*f", decimals, v);
	len = strlen(text);
	if (strchr(text, '.')) {
		while (text[len - 1] == '0')
			len--;
		if (text[len - 1] == '.')
			len--;
	}
	text[len] = 0;
	buf_addstr(out, strcmp(text, "-0") ? text : "0");
}

void metric_chart_label(struct buf *out, const char *key)
{
	size_t i;

	for (i = 0; key[i] && i < METRIC_CHART_TITLE_MAX; i++) {
		unsigned char c = (unsigned char)key[i];

		buf_addch(out, c < 0x80 && (isalnum(c) || strchr(" _-./:", c)) ? (char)c : '_');
	}
}

/*
 * The y axis: the values' range, widened by 2% of it on each side (a flat
 * line by a tenth of its value, or 1) so that no point sits on the frame
 * and no bound rounded to its decimals cuts a point off. `*decimals_out`:
 * places enough to tell apart values 1/100,000 of the range apart.
 * `bars`: below, by the range itself (not below 0 for values that are
 * not), so that the lowest bar is half the height of the highest, not a
 * sliver on the axis.
 */
static void y_range(double *lo, double *hi, int *decimals_out, const struct metric_series *s,
		    int bars)
{
	double pad, below;
	size_t i;

	*lo = *hi = s->points[0].value;
	for (i = 1; i < s->nr; i++) {
		*lo = fmin(*lo, s->points[i].value);
		*hi = fmax(*hi, s->points[i].value);
	}
	pad = *lo == *hi ? (*lo ? fabs(*lo) / 10 : 1) : (*hi - *lo) / 50;
	below = bars && *lo != *hi ? *hi - *lo : pad;
	if (bars && *lo >= 0 && *lo - below < 0)
		below = *lo;
	if (isfinite(*lo - below) && isfinite(*hi + pad) && isfinite(*hi - *lo + below + pad)) {
		*lo -= below;
		*hi += pad;
	}
	/* A range past a double's (values near its limits) takes no decimals. */
	*decimals_out = isfinite(*hi - *lo) && *hi > *lo ? 5 - (int)floor(log10(*hi - *lo)) : 0;
}

/* The y axis over `s`'s values, its label `key`: "    y-axis "auc" 0.7 --> 0.9\n";
 * returns the places each value is written with at least. */
static int y_axis(struct buf *out, const char *key, const struct metric_series *s, int bars)
{
	double lo, hi;
	int d;

	y_range(&lo, &hi, &d, s, bars);
	buf_addstr(out, "    y-axis \"");
	metric_chart_label(out, key);
	buf_addstr(out, "\" ");
	number(out, lo, decimals_for(lo, d));
	buf_addstr(out, " --> ");
	number(out, hi, decimals_for(hi, d));
	buf_addch(out, '\n');
	return d;
}

/* "    line [0.5, 0.25]\n", "    bar [...]\n" */
static void values(struct buf *out, const char *kind, const struct metric_series *s, int d)
{
	size_t i;

	buf_addf(out, "    %s [", kind);
	for (i = 0; i < s->nr; i++) {
		if (i)
			buf_addstr(out, ", ");
		number(out, s->points[i].value, decimals_for(s->points[i].value, d));
	}
	buf_addstr(out, "]\n");
}

void metric_chart_mermaid(struct buf *out, const struct metric_series *s)
{
	size_t i;
	int d;

	if (s->nr < 2)
		return;
	buf_addstr(out, "xychart-beta\n    title \"");
	metric_chart_label(out, s->key);
	buf_addstr(out, "\"\n    x-axis \"step\" [");
	for (i = 0; i < s->nr; i++)
		buf_addf(out, "%s\"%lld\"", i ? ", " : "", (long long)s->points[i].step);
	buf_addstr(out, "]\n");
	d = y_axis(out, s->key, s, 0);
	values(out, "line", s, d);
}

void metric_chart_bars(struct buf *out, const char *title, const char *const *labels,
		       const double *v, size_t n)
{
	struct metric_series s = METRIC_SERIES_INIT;
	size_t i;
	int d;

	s.points = xcalloc(n + 1, sizeof(*s.points));
	for (i = 0; i < n; i++)
		if (isfinite(v[i]))
			s.points[s.nr++] = (struct chart_point){ (int64_t)i, v[i] };
	if (!s.nr)
		goto done;
	buf_addstr(out, "xychart-beta\n    title \"");
	metric_chart_label(out, title);
	buf_addstr(out, "\"\n    x-axis [");
	/* A bar's step is the index of its label. */
	for (i = 0; i < s.nr; i++) {
		buf_addstr(out, i ? ", \"" : "\"");
		metric_chart_label(out, labels[s.points[i].step]);
		buf_addch(out, '"');
	}
	buf_addstr(out, "]\n");
	d = y_axis(out, title, &s, 1);
	values(out, "bar", &s, d);
done:
	metric_series_release(&s);
}
