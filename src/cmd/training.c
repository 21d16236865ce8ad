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
#include "cmd/training.h"
#include "cmd/workflow.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/job_run.h"
#include "core/banned.h"

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
	    (ret = ci_input(ci, "log-artifact", &c->log_artifact)))
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

/* The run's metrics and params, and the job's outputs. */
static void summarize_tables(struct summary *s, const struct job_run *jr)
{
	static const char *const mhead[] = { "Metric", "Value", "Step" };
	static const char *const phead[] = { "Param", "Value" };
	static const char *const ohead[] = { "Output", "URI" };
	const struct mlflow_run *run = jr->have_mlflow ? &jr->mlflow : NULL;
	const struct aml_job *job = jr->last;
	size_t i;

	if (run && run->metrics_nr) {
		summary_heading(s, 3, "Metrics");
		summary_table_begin(s, mhead, 3);
		for (i = 0; i < run->metrics_nr; i++) {
			char step[32];
			const char *row[3] = { run->metrics[i].key, jr->metric_text[i], step };

			snprintf(step, sizeof(step), "%lld", (long long)run->metrics[i].step);
			summary_table_row(s, row, 3);
		}
		summary_table_end(s);
	}
	if (run && run->params.nr) {
		const char *const *p;

		summary_heading(s, 3, "Params");
		summary_table_begin(s, phead, 2);
		for (p = kv_list_pairs(&run->params); *p; p += 2)
			summary_table_row(s, p, 2);
		summary_table_end(s);
	}
	if (job->outputs_nr) {
		summary_heading(s, 3, "Outputs");
		summary_table_begin(s, ohead, 2);
		for (i = 0; i < job->outputs_nr; i++) {
			const char *row[2] = { job->outputs[i].name, job->outputs[i].uri ? job->outputs[i].uri : "" };

			summary_table_row(s, row, 2);
		}
		summary_table_end(s);
	}
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

/* The outputs of a run that got to its end; then whether the job Completed. */
static int write_outputs(struct ci *ci, const struct training_config *cfg, const struct job_run *jr)
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
	if (cfg->wait)
		ret = job_run_outcome(jr);
done:
	buf_release(&text);
	return ret;
}

int training_run(struct ci *ci, struct session *s, const struct training_config *c)
{
	struct job_run jr = JOB_RUN_INIT;
	struct logs logs = { BUF_INIT, BUF_INIT };
	struct job_run_options o;
	struct buf path = BUF_INIT;
	int ret;

	ci_workspace_path(ci, &path, c->job);
	options(&o, ci_context(ci), c, s, path.data);

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
	summarize_job(ci_summary(ci), &jr);
	summarize_tables(ci_summary(ci), &jr);
	summarize_logs(ci_summary(ci), &logs);
	if (!ret)
		ret = write_outputs(ci, c, &jr);
done:
	job_run_abandon(&jr, &s->aml, ret, workflow_stopping());
	job_run_release(&jr);
	buf_release(&path);
	buf_release(&logs.name);
	buf_release(&logs.url);
	return ret;
}
