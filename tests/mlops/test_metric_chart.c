#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "mlops/metric_chart.h"

TestSuite(metric_chart);

/* The chart text of history `h` of metric `key`, appended to `text`. */
static void render(struct buf *text, const char *key, const struct mlflow_metric *h, size_t n)
{
	struct metric_series s = METRIC_SERIES_INIT;

	metric_series_build(&s, key, h, n, 100);
	metric_chart_mermaid(text, &s);
	metric_series_release(&s);
}

Test(metric_chart, short_history_is_kept_in_step_order_without_non_finite_values)
{
	struct mlflow_metric h[] = {
		{ (char *)"loss", 0.5, 0, 2 }, { (char *)"loss", 0.9, 0, 0 }, { (char *)"loss", NAN, 0, 1 },
		{ (char *)"loss", 0.7, 0, 1 }, { (char *)"loss", INFINITY, 0, 3 }, { (char *)"loss", 0.6, 0, 1 },
	};
	struct metric_series s = METRIC_SERIES_INIT;

	metric_series_build(&s, "loss", h, 6, 100);
	cr_assert_eq(s.logged, 6);
	cr_assert_eq(s.nr, 4);
	cr_assert_eq(s.points[0].step, 0);
	cr_assert_float_eq(s.points[0].value, 0.9, 1e-12);
	/* equal steps keep the order they were logged in */
	cr_assert_float_eq(s.points[1].value, 0.7, 1e-12);
	cr_assert_float_eq(s.points[2].value, 0.6, 1e-12);
	cr_assert_eq(s.points[3].step, 2);
	metric_series_release(&s);
}

Test(metric_chart, long_history_keeps_its_ends_and_bucket_means)
{
	struct mlflow_metric *h = calloc(10000, sizeof(*h));
	struct metric_series s = METRIC_SERIES_INIT;
	size_t i;

	for (i = 0; i < 10000; i++)
		h[i] = (struct mlflow_metric){ (char *)"loss", (double)i, 0, (int64_t)i + 1 };
	h[0].value = -5; /* the first point stays as it is, not averaged */
	metric_series_build(&s, "loss", h, 10000, 100);
	cr_assert_eq(s.nr, 100);
	cr_assert_eq(s.logged, 10000);
	cr_assert_eq(s.points[0].step, 1);
	cr_assert_float_eq(s.points[0].value, -5, 1e-12);
	cr_assert_eq(s.points[99].step, 10000);
	cr_assert_float_eq(s.points[99].value, 9999, 1e-9);
	/* 9998 points between in 98 buckets of 102 or 103: the first holds
	 * steps 2..103, values 1..102, mean 51.5 */
	cr_assert_eq(s.points[1].step, 2);
	cr_assert_float_eq(s.points[1].value, 51.5, 1e-9);
	for (i = 1; i < 100; i++)
		cr_assert_gt(s.points[i].step, s.points[i - 1].step);
	metric_series_release(&s);
	free(h);
}

Test(metric_chart, mermaid_text_of_a_curve)
{
	struct mlflow_metric h[] = {
		{ (char *)"loss", 0.6931, 0, 0 }, { (char *)"loss", 0.5, 0, 1 }, { (char *)"loss", 0.25, 0, 2 },
	};
	struct buf text = BUF_INIT;

	render(&text, "loss", h, 3);
	cr_assert_str_eq(text.data,
			 "xychart-beta\n"
			 "    title \"loss\"\n"
			 "    x-axis \"step\" [\"0\", \"1\", \"2\"]\n"
			 "    y-axis \"loss\" 0.241138 --> 0.701962\n"
			 "    line [0.6931, 0.5, 0.25]\n");
	buf_release(&text);
}

Test(metric_chart, hostile_keys_cannot_leave_the_quotes)
{
	struct mlflow_metric h[] = { { (char *)"x", 1, 0, 1 }, { (char *)"x", 2, 0, 2 } };
	struct buf text = BUF_INIT;
	const char *p;

	render(&text, "a\"]\n```\n<script>#quot;é", h, 2);
	cr_assert(strstr(text.data, "title \"a_]_____script__quot___\"\n") == NULL);
	cr_assert(strstr(text.data, "title \"a________script__quot___\"\n"), "%s", text.data);
	for (p = text.data; *p; p++)
		cr_assert(*p != '`' && *p != '<' && *p != '#' && (unsigned char)*p < 0x80);
	buf_release(&text);
}

Test(metric_chart, numbers_are_plain_decimals_and_a_flat_line_has_a_range)
{
	struct mlflow_metric h[] = { { (char *)"k", 1e-7, 0, 1 }, { (char *)"k", 1e-7, 0, 2 } };
	struct mlflow_metric big[] = { { (char *)"k", -2.5e7, 0, 1 }, { (char *)"k", 0, 0, 2 } };
	struct buf text = BUF_INIT;

	render(&text, "k", h, 2);
	cr_assert(strstr(text.data, "y-axis \"k\" 0.00000009 --> 0.00000011\n"), "%s", text.data);
	cr_assert(strstr(text.data, "line [0.0000001, 0.0000001]\n"), "%s", text.data);
	cr_assert_null(strstr(text.data, "e-"), "an exponent: %s", text.data);
	buf_reset(&text);
	render(&text, "k", big, 2);
	cr_assert(strstr(text.data, "line [-25000000, 0]\n"), "%s", text.data);
	buf_release(&text);
}

Test(metric_chart, values_close_together_stay_apart)
{
	struct mlflow_metric h[] = { { (char *)"k", 1000.0001, 0, 1 }, { (char *)"k", 1000.0002, 0, 2 } };
	struct buf text = BUF_INIT;

	render(&text, "k", h, 2);
	cr_assert(strstr(text.data, "y-axis \"k\" 1000.000098 --> 1000.000202\n"), "%s", text.data);
	cr_assert(strstr(text.data, "line [1000.0001, 1000.0002]\n"), "%s", text.data);
	buf_release(&text);
}

Test(metric_chart, no_line_from_fewer_than_two_points)
{
	struct mlflow_metric h[] = { { (char *)"k", NAN, 0, 1 }, { (char *)"k", 3, 0, 2 } };
	struct metric_series s = METRIC_SERIES_INIT;
	struct buf text = BUF_INIT;

	metric_series_build(&s, "k", h, 2, 100);
	cr_assert_eq(s.nr, 1);
	metric_chart_mermaid(&text, &s);
	cr_assert_eq(text.len, 0);
	metric_series_build(&s, "k", NULL, 0, 100);
	cr_assert_eq(s.nr, 0);
	metric_series_release(&s);
	buf_release(&text);
}

Test(metric_chart, bars_of_two_close_values_stay_apart)
{
	static const char *const labels[] = { "champion 5", "challenger 7" };
	static const double v[] = { 0.797, 0.812 };
	struct buf text = BUF_INIT;

	metric_chart_bars(&text, "auc", labels, v, 2);
	/* From 0.797 less the range 0.015: the lower bar is half the higher. */
	cr_assert_str_eq(text.data, "xychart-beta\n"
			 "    title \"auc\"\n"
			 "    x-axis [\"champion 5\", \"challenger 7\"]\n"
			 "    y-axis \"auc\" 0.782 --> 0.8123\n"
			 "    bar [0.797, 0.812]\n");
	buf_release(&text);
}

Test(metric_chart, bars_start_at_zero_when_they_can_and_go_below_it_when_not)
{
	static const char *const labels[] = { "a", "b" };
	static const double positive[] = { 1, 10 }, negative[] = { -3, -1 };
	struct buf text = BUF_INIT;

	metric_chart_bars(&text, "m", labels, positive, 2);
	cr_assert(strstr(text.data, "    y-axis \"m\" 0 --> 10.18\n"), "%s", text.data);
	buf_reset(&text);
	metric_chart_bars(&text, "m", labels, negative, 2);
	cr_assert(strstr(text.data, "    y-axis \"m\" -5 --> -0.96\n"), "%s", text.data);
	buf_release(&text);
}

Test(metric_chart, bars_leave_out_what_cannot_be_drawn_and_quote_labels)
{
	static const char *const labels[] = { "champion 5\"]\n", "challenger 7" };
	static const double nan_first[] = { NAN, 0.5 }, none[] = { NAN, INFINITY };
	struct buf text = BUF_INIT;

	metric_chart_bars(&text, "a\"uc", labels, nan_first, 2);
	cr_assert_str_eq(text.data, "xychart-beta\n"
			 "    title \"a_uc\"\n"
			 "    x-axis [\"challenger 7\"]\n"
			 "    y-axis \"a_uc\" 0.45 --> 0.55\n"
			 "    bar [0.5]\n");
	buf_reset(&text);
	metric_chart_bars(&text, "auc", labels, none, 2);
	cr_assert_eq(text.len, 0);
	metric_chart_bars(&text, "auc", labels, nan_first, 0);
	cr_assert_eq(text.len, 0);
	buf_reset(&text);
	/* A hostile label never closes its quotes or the line. */
	metric_chart_bars(&text, "auc", labels, (const double[]){ 0.4, 0.5 }, 2);
	cr_assert(strstr(text.data, "[\"champion 5___\", \"challenger 7\"]"), "%s", text.data);
	buf_release(&text);
}
