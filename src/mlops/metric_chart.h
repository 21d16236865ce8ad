#ifndef MLOPS_METRIC_CHART_H
#define MLOPS_METRIC_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "azure/mlflow.h"
#include "core/buf.h"

/*
 * A metric's history as a line chart (the loss curve), in Mermaid's
 * xychart-beta syntax, for the step summary. Pure text building: nothing
 * here knows the CI host.
 *
 * Downsampling: the history is ordered by step (a stable sort, so values
 * logged at the same step stay in the order logged), values that are not
 * finite are dropped, and when more than `max` points remain the first
 * and the last are kept as they are and the ones between are split into
 * `max` - 2 runs of consecutive points of (nearly) equal length, each
 * drawn as one point: the step of its first point and the mean of its
 * values. A curve keeps its shape and its end points; a single spike in
 * a long run is flattened.
 */

#define METRIC_CHART_POINTS 100
/* Longest chart title: a longer metric key is cut (at a character boundary). */
#define METRIC_CHART_TITLE_MAX 100

struct chart_point {
	int64_t step;
	double value;
};

/* One metric's downsampled history. */
struct metric_series {
	char *key;
	struct chart_point *points;
	size_t nr;
	size_t logged;          /* values the history held, finite or not */
};
#define METRIC_SERIES_INIT { NULL, NULL, 0, 0 }
void metric_series_release(struct metric_series *s);

/*
 * Fills `out` (released first) with `key`'s history `in` (`n` values, any
 * order) downsampled to at most `max` points (at least 2). Leaves `in` as
 * it is.
 */
void metric_series_build(struct metric_series *out, const char *key,
			 const struct mlflow_metric *in, size_t n, size_t max);

/*
 * Appends the xychart-beta text for `s` (without the ``` fence): a title,
 * the steps as the x axis, the y axis over the range of the values
 * widened by 2% each side, one line. The key is hostile text: in the
 * chart it is a double-quoted Mermaid string holding only letters, digits
 * and " _-./:" (anything else becomes '_'), cut at METRIC_CHART_TITLE_MAX.
 * Numbers are plain decimals (no exponent, which Mermaid does not read),
 * of 6 significant digits or as many places as tell apart values
 * 1/100,000 of the range apart. Nothing is appended for a series of fewer
 * than 2 points: there is no line to draw.
 */
void metric_chart_mermaid(struct buf *out, const struct metric_series *s);

/* Appends `key` as metric_chart_mermaid quotes it, without the quotes. */
void metric_chart_label(struct buf *out, const char *key);

/*
 * Appends an xychart-beta bar chart (without the ``` fence) of `n` named
 * values, e.g. the champion's and the challenger's metric: `title` (and
 * the y axis) and each label quoted as metric_chart_label does; the y axis
 * from the lowest value less the values' range (not below 0 for values
 * that are not), so that two close values still differ to the eye, to the
 * highest plus 2% of the range; numbers as metric_chart_mermaid writes them.
 * Values that are not finite cannot be drawn: they and their labels are
 * left out; nothing is appended when no value is left.
 */
void metric_chart_bars(struct buf *out, const char *title, const char *const *labels,
		       const double *values, size_t n);

#endif
