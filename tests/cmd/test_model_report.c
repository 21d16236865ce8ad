#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cmd/model_report.h"
#include "support/check.h"

static void run_with(struct job_run *jr, const char *const *keys, const double *values, size_t n)
{
	jr->job.name = xstrdup("job-1");
	jr->job.studio_url = xstrdup("https://ml.azure.com/runs/job-1?wsid=/s&x=1");
	jr->last = &jr->job;
	jr->status = "Completed";
	jr->duration_s = 125;
	jr->have_mlflow = 1;
	jr->mlflow.metrics = xcalloc(n + 1, sizeof(*jr->mlflow.metrics));
	jr->mlflow.metrics_nr = n;
	for (size_t i = 0; i < n; i++) {
		jr->mlflow.metrics[i].key = xstrdup(keys[i]);
		jr->mlflow.metrics[i].value = values[i];
	}
}

static void production(struct production_model *p, const char *key, double value)
{
	p->found = p->have_run = 1;
	p->name = xstrdup("churn");
	p->version = xstrdup("3");
	p->job_name = xstrdup("job-0");
	p->run.metrics = xcalloc(1, sizeof(*p->run.metrics));
	p->run.metrics_nr = 1;
	p->run.metrics[0].key = xstrdup(key);
	p->run.metrics[0].value = value;
}

Test(model_report, status_link_metrics_against_production_gate_and_chart)
{
	static const char *const keys[] = { "accuracy", "loss" };
	static const double values[] = { 0.9, INFINITY };
	struct job_run jr = JOB_RUN_INIT;
	struct production_model p = PRODUCTION_MODEL_INIT;
	struct buf out = BUF_INIT;

	run_with(&jr, keys, values, 2);
	production(&p, "accuracy", 0.85);
	model_report_compose(&out, &jr, &p, "**Gate: passed**", "```mermaid\nx\n```", "abc123",
			     CI_PR_COMMENT_MAX);
	cr_assert_str_eq(out.data,
		"### Model report\n\n"
		"**Job** job-1: **Completed** in 2m05s ([Azure ML studio]"
		"(https://ml.azure.com/runs/job-1?wsid=/s&amp;x=1))\n\n"
		"Model **churn** version **3** is in production, trained by job job-0.\n\n"
		"**Gate: passed**\n\n"
		"| Metric | This run | Production | Difference |\n| --- | --- | --- | --- |\n"
		"| accuracy | 0.9 | 0.85 | +0.05 |\n"
		"| loss | Infinity | \xE2\x80\x94 | \xE2\x80\x94 |\n\n"
		"```mermaid\nx\n```\n\n"
		"<sub>Commit abc123; this comment is updated on every push.</sub>\n");
	buf_release(&out);
	production_model_release(&p);
	job_run_release(&jr);
}

Test(model_report, hostile_metric_keys_are_escaped_and_mention_no_one)
{
	static const char *const keys[] = { "<img src=x>|[a](http://e) @octocat #1\nnext" };
	static const double values[] = { 1 };
	struct job_run jr = JOB_RUN_INIT;
	struct buf out = BUF_INIT;

	run_with(&jr, keys, values, 1);
	model_report_compose(&out, &jr, NULL, NULL, NULL, NULL, CI_PR_COMMENT_MAX);
	cr_assert(strstr(out.data, "| &lt;img src=x&gt;\\|\\[a\\](http://e) @&#8203;octocat "
			 "#&#8203;1<br>next | 1 |\n"), "%s", out.data);
	cr_assert_null(strstr(out.data, "<img"));
	cr_assert_null(strstr(out.data, "| Production |"));
	buf_release(&out);
	job_run_release(&jr);
}

Test(model_report, without_production_or_metrics_it_says_so)
{
	struct job_run jr = JOB_RUN_INIT;
	struct production_model p = PRODUCTION_MODEL_INIT;
	struct buf out = BUF_INIT;

	run_with(&jr, NULL, NULL, 0);
	jr.status = "Failed";
	jr.duration_s = -1;
	p.name = xstrdup("churn");
	model_report_compose(&out, &jr, &p, "", NULL, NULL, CI_PR_COMMENT_MAX);
	cr_assert(strstr(out.data, "**Job** job-1: **Failed** ([Azure ML studio]"), "%s", out.data);
	cr_assert(strstr(out.data, "Model **churn**: no version is in production"), "%s", out.data);
	cr_assert(strstr(out.data, "_No metrics were read from the run._"), "%s", out.data);
	buf_release(&out);
	production_model_release(&p);
	job_run_release(&jr);
}

Test(model_report, rows_beyond_the_limit_are_left_out_and_counted)
{
	enum { N = 2000 };
	static char names[N][40];
	const char *keys[N];
	double values[N];
	struct job_run jr = JOB_RUN_INIT;
	struct buf out = BUF_INIT, chart = BUF_INIT;
	size_t i;

	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "metric_with_a_long_name_%zu", i);
		keys[i] = names[i];
		values[i] = (double)i;
	}
	run_with(&jr, keys, values, N);
	for (i = 0; i < 2000; i++)
		buf_addstr(&chart, "0123456789");
	model_report_compose(&out, &jr, NULL, "**Gate: failed**", chart.data, "abc", 8192);
	cr_assert_leq(out.len, 8192);
	cr_assert(strstr(out.data, "**Gate: failed**"));
	cr_assert(strstr(out.data, "| metric_with_a_long_name_0 | 0 |"));
	cr_assert(strstr(out.data, " more metrics left out: a comment holds 65,536 characters"), "%s",
		  out.data);
	cr_assert(strstr(out.data, "_The chart is too long for the comment"));
	cr_assert(strstr(out.data, "<sub>Commit abc;"));
	buf_release(&out);
	buf_release(&chart);
	job_run_release(&jr);
}
