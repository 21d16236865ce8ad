/*
 * The training step (cmd/training.h), shared by Model-CI and Model-CT: a
 * training job submitted from its Azure ML command job YAML (code snapshot
 * reused when unchanged, environment and data resolved), followed to its
 * end with its log streamed into the workflow log, its logs kept as a
 * workflow artifact, and its MLflow metrics and params reported.
 *
 * A re-run of the same workflow attempt (the process was killed, the step
 * retried) follows the job that attempt submitted instead of training
 * twice: the job is named after the attempt and read by that name before
 * submitting (job_run_name). `job-name` follows a job started earlier.
 * Whenever the run gives up on a job it started (an error, the timeout, a
 * signal) it cancels it first, unless `wait` is false.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci/artifact.h"
#include "ci/summary.h"
#include "cmd/model_report.h"
#include "cmd/training.h"
#include "cmd/workflow.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/job_run.h"
#include "mlops/metric_gate.h"
#include "core/banned.h"

/* The metric gate's thresholds, checked now: a malformed one is exit 2
 * before anything is submitted. */
static int read_thresholds(struct ci *ci, struct training_config *c)
{
	struct metric_thresholds t = METRIC_THRESHOLDS_INIT;
	int ret;

	if ((ret = ci_input(ci, "metric-thresholds", &c->metric_thresholds)))
		return ret;
	if ((ret = metric_thresholds_parse(&t, c->metric_thresholds)))
		return error_prefix("Input metric-thresholds");
	metric_thresholds_release(&t);
	return 0;
}

int training_read_config(struct ci *ci, struct training_config *c)
{
	long minutes;
	int ret;

	if ((ret = ci_input(ci, "job", &c->job)) ||
	    (ret = ci_input(ci, "job-name", &c->job_name)) ||
	    (ret = ci_input(ci, "experiment-name", &c->experiment)) ||
	    (ret = ci_input(ci, "compute", &c->compute)) ||
	    (ret = ci_input_bool(ci, "wait", &c->wait)) ||
	    (ret = ci_input_int(ci, "timeout-minutes", 1, 7 * 24 * 60, &minutes)) ||
	    (ret = ci_input(ci, "log-artifact", &c->log_artifact)) ||
	    (ret = read_thresholds(ci, c)))
		return ret;
	/* The model the pull request's report compares with, when the
	 * workflow names one (Model-CI's optional input, Model-CT's own). */
	c->model_name = NULL;
	if (ci_has_input(ci, "model-name") && (ret = ci_input(ci, "model-name", &c->model_name)))
		return ret;
	if (!*c->job && !*c->job_name)
		return error_set(ERR_INPUT, "Input required and not supplied: job");
	/* Checked now, not after the job ran: the job name appended later
	 * holds only letters, digits, '-' and '_'. */
	if (*c->log_artifact && artifact_check_name(c->log_artifact))
		return error_prefix("Input log-artifact");
	c->timeout_s = minutes * 60;
	return 0;
}

/* ---- following ---- */

static void on_line(const char *line, void *ctx)
{
	(void)ctx;
	/* The host fences lines that look like workflow commands, so a job
	 * printing "::set-output" or "::add-mask" cannot act on the run. */
	log_info("%s", line);
}

static void on_progress(const char *text, void *ctx)
{
	(void)ctx;
	log_info("[mlops] %s", text);
}

/* A pipeline's next step: its log in a group of its own (groups do not
 * nest, so the one before ends). */
static void on_step(const char *step, const char *job, void *ctx)
{
	char title[300];

	snprintf(title, sizeof(title), "Step %s: job %s log", step, job);
	ci_group_end(ctx);
	ci_group_begin(ctx, title);
}

/* The plan's options: the inputs, where the run comes from, the stop flag
 * (which ends the follow, and the job is cancelled, see model_ci.c). */
static void options(struct job_run_options *o, const struct ci_context *c, const struct training_config *cfg,
		    struct session *s, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->job_file = cfg->job;
	o->experiment = cfg->experiment;
	o->compute = cfg->compute;
	o->origin = (struct job_origin){ c->repository, c->sha, c->run_id, c->run_attempt, c->job };
	o->wait = cfg->wait;
	o->timeout_s = cfg->timeout_s;
	o->on_line = on_line;
	o->on_progress = on_progress;
	o->tokens = s->tokens;
	o->stop = workflow_stop_flag();
}

/* The workflow artifact holding the job's logs: its name and link. */
struct logs {
	struct buf name;
	struct buf url;
	struct buf id;          /* the artifact's id, when the host gave one */
};

/* The job's logs as artifact "<prefix>-<job>". The artifact was asked
 * for: one that could not be made is a failure of the step (after the
 * job's own result is reported). A run that `attached` to the job of an
 * earlier run of its attempt may find the artifact made already: that run
 * got as far as uploading it, and the artifact stands. */
static int upload_logs(struct ci *ci, struct session *s, const struct training_config *cfg,
		       struct job_run *jr, const struct job_run_options *o, struct logs *logs)
{
	struct buf dir = BUF_INIT;
	char *url = NULL;
	size_t n = 0;
	int ret = 0;

	if (!*cfg->log_artifact)
		return 0;
	if ((ret = ci_artifact_folder(ci, "mlops-logs", &dir))) {
		error_prefix("job logs not kept");
		goto done;
	}
	if ((ret = job_run_logs(&n, jr, &s->aml, dir.data, o))) {
		error_prefix("job logs not kept");
		goto done;
	}
	buf_addf(&logs->name, "%s-%s", cfg->log_artifact, jr->job.name);
	ret = ci_upload_artifact(ci, logs->name.data, dir.data, &url);
	if (ret == ERR_CONFLICT && jr->attached) {
		log_info("job logs: artifact %s was uploaded by the first run of this attempt",
			 logs->name.data);
		ret = 0;
		goto done;
	}
	if (ret) {
		error_prefix("job logs not uploaded as artifact %s", logs->name.data);
		buf_reset(&logs->name);
		goto done;
	}
	log_info("job logs (%zu file%s) uploaded as artifact %s", n, n == 1 ? "" : "s",
		 logs->name.data);
	if (url)
		buf_addstr(&logs->url, url);
	if (ci_artifact_id(ci))
		buf_addstr(&logs->id, ci_artifact_id(ci));
done:
	free(url);
	ci_artifact_folder_done(ci, dir.data);
	buf_release(&dir);
	return ret;
}

/* upload_logs after the job ended with `ret`: when the run already failed
 * that stays the error (the upload's failure is said as well); else the
 * upload's failure is the error. */
static int upload_logs_after(struct ci *ci, struct session *s, const struct training_config *cfg,
			     struct job_run *jr, const struct job_run_options *o,
			     struct logs *logs, int ret)
{
	struct error_saved saved = ERROR_SAVED_INIT;
	int up;

	error_save(&saved);
	up = upload_logs(ci, s, cfg, jr, o, logs);
	if (up && ret)
		log_error("%s", error_message());
	if (ret)
		error_restore(&saved);
	error_saved_release(&saved);
	return ret ? ret : up;
}

/* Follows the job to its end in a group of the log. */
static int follow(struct ci *ci, struct session *s, struct job_run *jr,
		  const struct job_run_options *o)
{
	char title[300];
	int ret;

	snprintf(title, sizeof(title), "Job %s log", jr->job.name);
	ci_group_begin(ci, title);
	ret = job_run_follow(jr, &s->aml, o);
	ci_group_end(ci);
	return ret;
}

/* After the job ended with `ret`: its logs kept, then its run read. */
static int collect(struct ci *ci, struct session *s, const struct training_config *cfg, struct job_run *jr,
		   const struct job_run_options *o, struct logs *logs, int ret)
{
	if ((ret = upload_logs_after(ci, s, cfg, jr, o, logs, ret))) {
		ci_output(ci, "status", jr->status);
		return ret;
	}
	job_run_collect(jr, &s->aml, s->http, o);
	return 0;
}

/* ---- reporting ---- */

static void summarize_job(struct summary *s, const struct job_run *jr)
{
	const struct aml_job *job = jr->last;
	struct buf line = BUF_INIT;

	buf_addstr(&line, "Job `");
	summary_escape(&line, job->name);
	buf_addstr(&line, "`: **");
	summary_escape(&line, jr->status);
	buf_addstr(&line, "**");
	if (jr->duration_s >= 0) {
		buf_addstr(&line, " in ");
		job_format_elapsed(&line, jr->duration_s);
	}
	if (job->studio_url) {
		buf_addstr(&line, " ([Studio](");
		summary_escape(&line, job->studio_url);
		buf_addstr(&line, "))");
	}
	summary_markdown(s, line.data);
	if (job->error && job_outcome_of(job->status) != JOB_OUTCOME_SUCCEEDED)
		summary_code(s, NULL, job->error);
	buf_release(&line);
}

/*
 * Rows a table of the summary shows at most, and bytes a cell keeps:
 * whatever the job logged (thousands of metrics, params of 6000 bytes),
 * the summary stays far under the runner's 1 MiB.
 */
#define TABLE_ROWS_MAX 100
#define CELL_MAX 200

/* `text` cut at CELL_MAX bytes, at a UTF-8 character boundary; in `out`. */
static const char *clip(struct buf *out, const char *text)
{
	size_t n = strlen(text);

	buf_reset(out);
	if (n <= CELL_MAX) {
		buf_addstr(out, text);
		return out->data;
	}
	for (n = CELL_MAX; n && ((unsigned char)text[n] & 0xc0) == 0x80; n--)
		;
	buf_add(out, text, n);
	buf_addstr(out, "...");
	return out->data;
}

/* Ends a table of `total` rows, saying how many were left out. */
static void table_end(struct summary *s, size_t total)
{
	if (total > TABLE_ROWS_MAX)
		summary_table_more(s, total - TABLE_ROWS_MAX);
	summary_table_end(s);
}

static void summarize_metrics(struct summary *s, const struct mlflow_run *run, char *const *text)
{
	static const char *const head[] = { "Metric", "Value", "Step" };
	struct buf key = BUF_INIT;
	size_t i;

	summary_heading(s, 3, "Metrics");
	summary_table_begin(s, head, 3);
	for (i = 0; i < run->metrics_nr && i < TABLE_ROWS_MAX; i++) {
		char step[32];
		const char *row[3] = { clip(&key, run->metrics[i].key), text[i], step };

		snprintf(step, sizeof(step), "%lld", (long long)run->metrics[i].step);
		summary_table_row(s, row, 3);
	}
	table_end(s, run->metrics_nr);
	buf_release(&key);
}

static void summarize_params(struct summary *s, const struct kv_list *params)
{
	static const char *const head[] = { "Param", "Value" };
	struct buf key = BUF_INIT, value = BUF_INIT;
	const char *const *p;
	size_t n = 0;

	summary_heading(s, 3, "Params");
	summary_table_begin(s, head, 2);
	for (p = kv_list_pairs(params); *p; p += 2, n++) {
		const char *row[2];

		if (n >= TABLE_ROWS_MAX)
			continue;
		row[0] = clip(&key, p[0]);
		row[1] = clip(&value, p[1] ? p[1] : "");
		summary_table_row(s, row, 2);
	}
	table_end(s, n);
	buf_release(&key);
	buf_release(&value);
}

/* The run's metrics and params, and the job's outputs. */
static void summarize_tables(struct summary *s, const struct job_run *jr)
{
	static const char *const ohead[] = { "Output", "URI" };
	const struct mlflow_run *run = jr->have_mlflow ? &jr->mlflow : NULL;
	const struct aml_job *job = jr->last;
	struct buf uri = BUF_INIT;
	size_t i;

	if (run && run->metrics_nr)
		summarize_metrics(s, run, jr->metric_text);
	if (run && run->params.nr)
		summarize_params(s, &run->params);
	if (job->outputs_nr) {
		summary_heading(s, 3, "Outputs");
		summary_table_begin(s, ohead, 2);
		for (i = 0; i < job->outputs_nr && i < TABLE_ROWS_MAX; i++) {
			const char *u = job->outputs[i].uri;
			const char *row[2] = { job->outputs[i].name, clip(&uri, u ? u : "") };

			summary_table_row(s, row, 2);
		}
		table_end(s, job->outputs_nr);
	}
	buf_release(&uri);
}

/* ---- metric history ---- */

/* A line chart of each metric logged over steps (the loss curve). */
static void summarize_charts(struct summary *s, const struct job_run *jr)
{
	struct buf text = BUF_INIT;
	size_t i;
	int any = 0;

	for (i = 0; i < jr->series_nr; i++) {
		const struct metric_series *m = &jr->series[i];

		buf_reset(&text);
		metric_chart_mermaid(&text, m);
		if (!text.len)
			continue;
		if (!any++)
			summary_heading(s, 3, "Metric history");
		summary_code(s, "mermaid", text.data);
		if (m->logged > m->nr) {
			buf_reset(&text);
			buf_addf(&text, "%zu values of ", m->logged);
			metric_chart_label(&text, m->key);
			buf_addf(&text, " drawn as %zu points (the first, the last, and the means "
				 "of the runs of steps between)", m->nr);
			summary_text(s, text.data);
		}
	}
	buf_release(&text);
}

/* ---- the metric gate ---- */

/* The gate's verdict on the run, when there are thresholds and the job
 * Completed (a job that failed has failed the step already). */
static void check_gate(struct metric_gate_result *g, const struct training_config *c,
		       const struct job_run *jr, int ret)
{
	struct metric_thresholds t = METRIC_THRESHOLDS_INIT;

	if (!*c->metric_thresholds)
		return;
	if (!c->wait) {
		log_warning("metric-thresholds not checked: with wait false the job's metrics "
			    "are not read");
		return;
	}
	if (ret || job_outcome_of(jr->last->status) != JOB_OUTCOME_SUCCEEDED)
		return;
	if (metric_thresholds_parse(&t, c->metric_thresholds)) /* read_thresholds checked it */
		return;
	metric_gate_evaluate(g, &t, jr->have_mlflow ? &jr->mlflow : NULL);
	metric_thresholds_release(&t);
}

static void summarize_gate(struct summary *s, const struct metric_gate_result *g)
{
	static const char *const head[] = { "Metric", "Threshold", "Value", "Verdict" };
	struct buf title = BUF_INIT, limit = BUF_INIT, value = BUF_INIT;
	size_t i;

	if (g->state == METRIC_GATE_NONE)
		return;
	buf_addf(&title, "Metric gate: %s", metric_gate_state_name(g->state));
	summary_heading(s, 3, title.data);
	summary_table_begin(s, head, 4);
	for (i = 0; i < g->nr; i++) {
		const struct metric_check *c = &g->checks[i];
		const char *row[4];

		buf_reset(&limit);
		buf_reset(&value);
		buf_addf(&limit, "%s %s", metric_op_text(c->op), c->limit_text);
		metric_check_value(&value, c);
		row[0] = c->key;
		row[1] = limit.data;
		row[2] = value.data;
		row[3] = metric_verdict_name(c->verdict);
		summary_table_row(s, row, 4);
	}
	summary_table_end(s);
	buf_release(&title);
	buf_release(&limit);
	buf_release(&value);
}

/* Checks the gate reports at most in its error. */
#define GATE_MISSES_SAID 10

/* A failed gate fails the step, after the job and its logs are reported:
 * the error (an annotation) names each threshold missed, its value and
 * the threshold. */
static int gate_verdict(const struct metric_gate_result *g)
{
	struct buf msg = BUF_INIT;
	size_t i, said = 0;
	int ret;

	if (g->state != METRIC_GATE_FAILED)
		return 0;
	buf_addf(&msg, "metric gate failed (%zu of %zu threshold%s not met): ", g->failed, g->nr,
		 g->nr == 1 ? "" : "s");
	for (i = 0; i < g->nr && said < GATE_MISSES_SAID; i++) {
		if (g->checks[i].verdict == METRIC_PASSED)
			continue;
		if (said++)
			buf_addstr(&msg, "; ");
		metric_check_describe(&msg, &g->checks[i]);
	}
	if (g->failed > said)
		buf_addf(&msg, "; and %zu more", g->failed - said);
	ret = error_set(ERR_REMOTE_FAILED, "%s", msg.data);
	buf_release(&msg);
	return ret;
}

static void summarize_logs(struct summary *s, const struct logs *logs)
{
	struct buf line = BUF_INIT;

	if (!logs->name.len)
		return;
	buf_addstr(&line, "Logs: ");
	if (logs->url.len) {
		buf_addstr(&line, "[");
		summary_escape(&line, logs->name.data);
		buf_addstr(&line, "](");
		summary_escape(&line, logs->url.data);
		buf_addstr(&line, ")");
	} else {
		buf_addstr(&line, "artifact `");
		summary_escape(&line, logs->name.data);
		buf_addstr(&line, "`");
	}
	summary_markdown(s, line.data);
	buf_release(&line);
}

/* The run's params, the logs' artifact id, the model output, the gate. */
static int write_run_outputs(struct ci *ci, const struct job_run *jr, const struct logs *logs,
			     const struct metric_gate_result *gate)
{
	struct buf text = BUF_INIT;
	cJSON *params = json_new_object();
	const char *const *p;
	int ret;

	if (jr->have_mlflow)
		for (p = kv_list_pairs(&jr->mlflow.params); *p; p += 2)
			json_add_string(params, p[0], p[1] ? p[1] : "");
	json_write(&text, params);
	if ((ret = ci_output(ci, "params", text.data)) ||
	    (logs->id.len && (ret = ci_output(ci, "artifact-id", logs->id.data))))
		goto done;
	buf_reset(&text);
	if (!job_run_model_uri(&text, jr) && (ret = ci_output(ci, "model-uri", text.data)))
		goto done;
	ret = ci_output(ci, "gate", metric_gate_state_name(gate->state));
done:
	cJSON_Delete(params);
	buf_release(&text);
	return ret;
}

/* The outputs of a run that got to its end; then whether the job Completed. */
static int write_outputs(struct ci *ci, const struct training_config *cfg, const struct job_run *jr,
			 const struct logs *logs, const struct metric_gate_result *gate)
{
	struct buf text = BUF_INIT;
	int ret;

	json_write(&text, jr->metrics);
	if ((ret = ci_output(ci, "status", jr->status)) ||
	    (ret = ci_output(ci, "metrics", text.data)))
		goto done;
	if (jr->done.studio_url && !jr->job.studio_url &&
	    (ret = ci_output(ci, "studio-url", jr->done.studio_url)))
		goto done;
	if ((ret = write_run_outputs(ci, jr, logs, gate)))
		goto done;
	if (cfg->wait)
		ret = job_run_outcome(jr);
done:
	buf_release(&text);
	return ret;
}

/* ---- the pull request's model report ---- */

/* The gate and the charts as the summary shows them, each within a
 * quarter of a comment, so the metrics table keeps the room it needs. */
static void report(struct ci *ci, struct session *s, const struct training_config *c,
		   const struct job_run *jr, const struct metric_gate_result *g)
{
	struct summary gate_md, chart_md;

	summary_init(&gate_md, CI_PR_COMMENT_MAX / 4);
	summary_init(&chart_md, CI_PR_COMMENT_MAX / 4);
	summarize_gate(&gate_md, g);
	summarize_charts(&chart_md, jr);
	/* A report never fails the step: what stopped it was a warning. */
	(void)model_report_post(ci, s, jr, c->model_name, summary_finish(&gate_md),
				summary_finish(&chart_md));
	summary_release(&gate_md);
	summary_release(&chart_md);
}

int training_run(struct ci *ci, struct session *s, const struct training_config *c)
{
	struct job_run jr = JOB_RUN_INIT;
	struct logs logs = { BUF_INIT, BUF_INIT, BUF_INIT };
	struct metric_gate_result gate = METRIC_GATE_RESULT_INIT;
	struct job_run_options o;
	struct buf path = BUF_INIT;
	int ret;

	ci_workspace_path(ci, &path, c->job);
	options(&o, ci_context(ci), c, s, path.data);
	o.on_step = on_step;
	o.ctx = ci;

	/* The YAML and its code checked, then the job submitted (or found again). */
	if (*c->job_name) /* started earlier (wait false): followed, nothing submitted */
		ret = job_run_attach_named(&jr, &s->aml, c->job_name, &o);
	else if (!(ret = job_run_prepare(&jr, &o)))
		ret = job_run_submit(&jr, &s->aml, s->http, &o);
	if (jr.changed)
		workflow_changing(); /* no exit 2 after an upload or a submit */
	if (ret)
		goto done;
	if ((ret = ci_output(ci, "job-name", jr.job.name)) ||
	    (jr.job.studio_url && (ret = ci_output(ci, "studio-url", jr.job.studio_url))))
		goto done;

	/* Followed to its end, its logs kept, its metrics read; then reported. */
	if (c->wait) {
		/* Stopped by a signal: out quickly, the summary saying how the job was left. */
		if ((ret = follow(ci, s, &jr, &o)) != ERR_CANCELLED)
			ret = collect(ci, s, c, &jr, &o, &logs, ret);
	}
	check_gate(&gate, c, &jr, ret);
	summarize_job(ci_summary(ci), &jr);
	summarize_gate(ci_summary(ci), &gate);
	summarize_tables(ci_summary(ci), &jr);
	summarize_charts(ci_summary(ci), &jr);
	summarize_logs(ci_summary(ci), &logs);
	report(ci, s, c, &jr, &gate);
	if (!ret)
		ret = write_outputs(ci, c, &jr, &logs, &gate);
	if (!ret)
		ret = gate_verdict(&gate);
done:
	metric_gate_result_release(&gate);
	job_run_abandon(&jr, &s->aml, ret, workflow_stopping());
	job_run_release(&jr);
	buf_release(&path);
	buf_release(&logs.name);
	buf_release(&logs.url);
	buf_release(&logs.id);
	return ret;
}

int training_main(struct ci *ci, training_before_fn *before)
{
	struct training_config cfg;
	struct session session;
	int ret;

	if ((ret = training_read_config(ci, &cfg)) || (ret = session_open(&session, ci)))
		return ret;
	http_client_set_stop(session.http, workflow_stop_flag());
	if (!before || !(ret = before(ci, &session, &cfg)))
		ret = training_run(ci, &session, &cfg);
	session_close(&session);
	return ret;
}
