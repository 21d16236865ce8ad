#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "mlops/metric_gate.h"
#include "support/check.h"

TestSuite(metric_gate);

Test(metric_gate, parses_every_operator_and_separator)
{
	struct metric_thresholds t = METRIC_THRESHOLDS_INIT;

	cr_assert_ok(metric_thresholds_parse(&t, " auc>=0.75, loss < 0.5\nf1 > -1e-3,,\n"
						 "train/acc <= 1 , eval loss.v2==+2.50\n"));
	cr_assert_eq(t.nr, 5);
	cr_assert_str_eq(t.items[0].key, "auc");
	cr_assert_eq(t.items[0].op, METRIC_GE);
	cr_assert_float_eq(t.items[0].limit, 0.75, 1e-12);
	cr_assert_str_eq(t.items[1].key, "loss");
	cr_assert_eq(t.items[1].op, METRIC_LT);
	cr_assert_eq(t.items[2].op, METRIC_GT);
	cr_assert_float_eq(t.items[2].limit, -0.001, 1e-12);
	cr_assert_str_eq(t.items[3].key, "train/acc");
	cr_assert_eq(t.items[3].op, METRIC_LE);
	cr_assert_str_eq(t.items[4].key, "eval loss.v2");
	cr_assert_eq(t.items[4].op, METRIC_EQ);
	cr_assert_str_eq(t.items[4].limit_text, "+2.50");
	metric_thresholds_release(&t);
}

Test(metric_gate, empty_input_is_no_threshold)
{
	struct metric_thresholds t = METRIC_THRESHOLDS_INIT;

	cr_assert_ok(metric_thresholds_parse(&t, ""));
	cr_assert_eq(t.nr, 0);
	cr_assert_ok(metric_thresholds_parse(&t, " ,\n , "));
	cr_assert_eq(t.nr, 0);
	metric_thresholds_release(&t);
}

Test(metric_gate, malformed_items_are_input_errors_naming_them)
{
	static const struct { const char *text, *needle; } bad[] = {
		{ "auc", "'auc': no comparison" },
		{ "auc=0.7", "unknown operator" },
		{ "auc=>0.7", "unknown operator" },
		{ "auc!=0.7", "unknown operator" },
		{ "auc>==0.7", "unknown operator" },
		{ "auc<>0.7", "unknown operator" },
		{ ">=0.7", "no metric name" },
		{ "auc>=", "not a finite number" },
		{ "auc>=high", "not a finite number" },
		{ "auc>=nan", "not a finite number" },
		{ "auc>=inf", "not a finite number" },
		{ "auc>=0x10", "not a finite number" },
		{ "auc>=1e999", "not a finite number" },
		{ "auc>=1e", "not a finite number" },
		{ "auc>=.", "not a finite number" },
		{ "auc>=0.7 0.8", "not a finite number" },
		{ "a\"uc>=0.7", "only letters, digits" },
		{ "a\tuc>=0.7", "'a?uc>=0.7'" },
		{ "ok>=1, bad", "'bad': no comparison" },
	};
	struct metric_thresholds t = METRIC_THRESHOLDS_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_fails(metric_thresholds_parse(&t, bad[i].text), ERR_INPUT, bad[i].needle);
		cr_assert_eq(t.nr, 0, "%s left thresholds behind", bad[i].text);
	}
}

Test(metric_gate, long_names_and_too_many_items_are_refused)
{
	struct metric_thresholds t = METRIC_THRESHOLDS_INIT;
	struct buf text = BUF_INIT;
	int i;

	for (i = 0; i < METRIC_KEY_MAX + 1; i++)
		buf_addch(&text, 'k');
	buf_addstr(&text, ">1");
	cr_assert_fails(metric_thresholds_parse(&t, text.data), ERR_INPUT, "longer than 250");
	cr_assert(strlen(error_message()) < 200, "the error quotes the whole input: %s", error_message());
	buf_reset(&text);
	for (i = 0; i <= METRIC_THRESHOLDS_MAX; i++)
		buf_addf(&text, "m%d>1,", i);
	cr_assert_fails(metric_thresholds_parse(&t, text.data), ERR_INPUT, "more than 100 thresholds");
	buf_release(&text);
}

static void run_with(struct mlflow_run *run, struct mlflow_metric *m, size_t n)
{
	memset(run, 0, sizeof(*run));
	run->metrics = m;
	run->metrics_nr = n;
}

Test(metric_gate, verdicts_pass_miss_not_logged_and_not_finite)
{
	struct mlflow_metric m[] = {
		{ (char *)"auc", 0.71, 0, 0 }, { (char *)"loss", 0.3, 0, 29 }, { (char *)"acc", NAN, 0, 0 },
		{ (char *)"big", INFINITY, 0, 0 }, { (char *)"eq", 2.5, 0, 0 },
	};
	struct metric_thresholds t = METRIC_THRESHOLDS_INIT;
	struct metric_gate_result g = METRIC_GATE_RESULT_INIT;
	struct mlflow_run run;
	struct buf text = BUF_INIT;

	run_with(&run, m, 5);
	cr_assert_ok(metric_thresholds_parse(&t, "auc>=0.75, loss<0.5, acc>0, big>1, f1>=0.5, eq==2.5"));
	metric_gate_evaluate(&g, &t, &run);
	metric_thresholds_release(&t);
	cr_assert_eq(g.state, METRIC_GATE_FAILED);
	cr_assert_eq(g.nr, 6);
	cr_assert_eq(g.failed, 4);
	cr_assert_eq(g.checks[0].verdict, METRIC_MISSED);
	cr_assert_eq(g.checks[1].verdict, METRIC_PASSED);
	cr_assert_eq(g.checks[2].verdict, METRIC_NOT_FINITE);
	cr_assert_eq(g.checks[3].verdict, METRIC_NOT_FINITE, "an infinite value passes nothing");
	cr_assert_eq(g.checks[4].verdict, METRIC_NOT_LOGGED);
	cr_assert_eq(g.checks[5].verdict, METRIC_PASSED);
	metric_check_describe(&text, &g.checks[0]);
	cr_assert_str_eq(text.data, "auc = 0.71 is not >= 0.75");
	buf_reset(&text);
	metric_check_describe(&text, &g.checks[1]);
	cr_assert_str_eq(text.data, "loss = 0.3 < 0.5");
	buf_reset(&text);
	metric_check_describe(&text, &g.checks[2]);
	cr_assert_str_eq(text.data, "acc = NaN is not finite (needs > 0)");
	buf_reset(&text);
	metric_check_describe(&text, &g.checks[4]);
	cr_assert_str_eq(text.data, "f1 was not logged (needs >= 0.5)");
	buf_reset(&text);
	metric_check_value(&text, &g.checks[4]);
	cr_assert_str_eq(text.data, "");
	cr_assert_str_eq(metric_verdict_name(g.checks[3].verdict), "not finite");
	cr_assert_str_eq(metric_gate_state_name(g.state), "failed");
	buf_release(&text);
	metric_gate_result_release(&g);
}

Test(metric_gate, all_met_passes_and_no_thresholds_is_none)
{
	struct mlflow_metric m[] = { { (char *)"auc", 0.8, 0, 0 } };
	struct metric_thresholds t = METRIC_THRESHOLDS_INIT;
	struct metric_gate_result g = METRIC_GATE_RESULT_INIT;
	struct mlflow_run run;

	run_with(&run, m, 1);
	metric_gate_evaluate(&g, &t, &run);
	cr_assert_eq(g.state, METRIC_GATE_NONE);
	cr_assert_str_eq(metric_gate_state_name(g.state), "none");
	cr_assert_ok(metric_thresholds_parse(&t, "auc>=0.75,auc<=0.8"));
	metric_gate_evaluate(&g, &t, &run);
	cr_assert_eq(g.state, METRIC_GATE_PASSED);
	cr_assert_eq(g.failed, 0);
	metric_thresholds_release(&t);
	/* The result owns its text: it outlives the thresholds. */
	cr_assert_str_eq(g.checks[1].key, "auc");
	cr_assert_str_eq(g.checks[1].limit_text, "0.8");
	metric_gate_result_release(&g);
}

Test(metric_gate, a_run_not_read_logged_nothing)
{
	struct metric_thresholds t = METRIC_THRESHOLDS_INIT;
	struct metric_gate_result g = METRIC_GATE_RESULT_INIT;

	cr_assert_ok(metric_thresholds_parse(&t, "auc>=0.75"));
	metric_gate_evaluate(&g, &t, NULL);
	cr_assert_eq(g.state, METRIC_GATE_FAILED);
	cr_assert_eq(g.checks[0].verdict, METRIC_NOT_LOGGED);
	metric_thresholds_release(&t);
	metric_gate_result_release(&g);
}
