/*
 * Model-CI: a training job submitted from its Azure ML command job YAML
 * (code snapshot reused when unchanged, environment and data resolved),
 * followed to its end with its log streamed into the workflow log, its
 * logs kept as a workflow artifact, and its MLflow metrics and params
 * reported. Exit 0 when the job Completed, 1 when it Failed or was
 * cancelled, 2 when the YAML or the inputs are bad (nothing submitted).
 *
 * A re-run of the same workflow attempt (the process was killed, the step
 * retried) follows the job that attempt submitted instead of training
 * twice: the job is tagged with the repository, run id, run attempt,
 * workflow job and job file, and looked up by them before submitting.
 * Whenever the run gives up on a job it started (an error, the timeout, a
 * signal) it cancels it first, unless `wait` is false.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "azure/aml_environment.h"
#include "azure/aml_workspace.h"
#include "azure/mlflow.h"
#include "ci/artifact.h"
#include "ci/summary.h"
#include "cmd/session.h"
#include "cmd/workflow.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/code_snapshot.h"
#include "mlops/job_follow.h"
#include "mlops/job_resolve.h"
#include "mlops/job_spec.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "job", "Azure ML command job YAML to submit (CLI v2 schema); its code folder is relative to it.", "jobs/train.yml", 0 },
	{ "experiment-name", "Experiment to run the job in; default: the YAML's experiment_name, else the repository name.", NULL, 0 },
	{ "compute", "Compute cluster to run on, overriding the YAML's compute (a name or azureml:name).", NULL, 0 },
	{ "wait", "Follow the job to its end, streaming its log; false returns once it is submitted.", "true", INPUT_BOOL },
	{ "timeout-minutes", "How long to wait for the job before cancelling it.", "120", 0 },
	{ "log-artifact", "Name prefix of the workflow artifact holding the job logs (the job name is appended); empty for none.", "training-logs", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	{ "job-name", "Name of the submitted job (the MLflow run id)." },
	{ "status", "Final status of the job (Completed, Failed, Canceled), or its status when not waited for." },
	{ "metrics", "JSON object of the run's latest metric values (NaN, Infinity and -Infinity as those strings, as MLflow writes them)." },
	{ "studio-url", "Link to the job in Azure ML studio." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_model_ci = {
	.spec = { "model-ci", inputs, outputs },
	.title = "Model CI",
	.description = "Submits a training job, follows it, uploads its logs as a workflow artifact and reports its metrics.",
	.run = run,
	.stops_gracefully = 1,
};

struct config {
	const char *job;
	const char *experiment;
	const char *compute;
	int wait;
	long timeout_s;
	const char *log_artifact;
};

static int read_config(struct ci *ci, struct config *c)
{
	long minutes;
	int ret;

	if ((ret = ci_input(ci, "job", &c->job)) ||
	    (ret = ci_input(ci, "experiment-name", &c->experiment)) ||
	    (ret = ci_input(ci, "compute", &c->compute)) ||
	    (ret = ci_input_bool(ci, "wait", &c->wait)) ||
	    (ret = ci_input_int(ci, "timeout-minutes", 1, 7 * 24 * 60, &minutes)) ||
	    (ret = ci_input(ci, "log-artifact", &c->log_artifact)))
		return ret;
	if (!*c->job)
		return error_set(ERR_INPUT, "Input required and not supplied: job");
	/* Checked now, not after the job ran: the job name appended later
	 * holds only letters, digits, '-' and '_'. */
	if (*c->log_artifact && artifact_check_name(c->log_artifact))
		return error_prefix("Input log-artifact");
	c->timeout_s = minutes * 60;
	return 0;
}

/*
 * Signals: the runner sends SIGINT, SIGTERM 7.5 s later, then kills 2.5 s
 * after that. workflow_run's stop flag (this workflow stops gracefully)
 * ends every HTTP call at once, and the job, if one is followed, is
 * cancelled within JOB_CANCEL_STOP_S, well inside the watchdog's grace.
 */

/* ---- what to submit ---- */

/* The experiment: the input, else the YAML's own, else the repository's name. */
static void experiment_name(struct buf *out, const struct config *cfg, const struct job_spec *spec,
			    const struct ci_context *context)
{
	const char *repo = context->repository, *slash;

	if (*cfg->experiment) {
		buf_addstr(out, cfg->experiment);
		return;
	}
	if (spec->experiment_name) {
		buf_addstr(out, spec->experiment_name);
		return;
	}
	slash = repo ? strrchr(repo, '/') : NULL;
	buf_addstr(out, slash ? slash + 1 : repo && *repo ? repo : "Default");
}

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

/* The job's logs as artifact "<prefix>-<job>". The artifact was asked
 * for: one that could not be made is a failure of the step (after the
 * job's own result is reported). A run that `attached` to the job of an
 * earlier run of its attempt may find the artifact made already: that run
 * got as far as uploading it, and the artifact stands. */
static int upload_logs(struct ci *ci, struct session *s, const struct config *cfg,
		       const char *job, int attached, struct buf *artifact_url,
		       struct buf *artifact_name)
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
	if ((ret = job_logs_download(&n, &s->aml, job, dir.data, s->tokens))) {
		error_prefix("job logs not kept");
		goto done;
	}
	buf_addf(artifact_name, "%s-%s", cfg->log_artifact, job);
	ret = ci_upload_artifact(ci, artifact_name->data, dir.data, &url);
	if (ret == ERR_CONFLICT && attached) {
		log_info("job logs: artifact %s was uploaded by the first run of this attempt",
			 artifact_name->data);
		ret = 0;
		goto done;
	}
	if (ret) {
		error_prefix("job logs not uploaded as artifact %s", artifact_name->data);
		buf_reset(artifact_name);
		goto done;
	}
	log_info("job logs (%zu file%s) uploaded as artifact %s", n, n == 1 ? "" : "s",
		 artifact_name->data);
	if (url)
		buf_addstr(artifact_url, url);
done:
	free(url);
	ci_artifact_folder_done(ci, dir.data);
	buf_release(&dir);
	return ret;
}

/* upload_logs after the job ended with `ret`: when the run already failed
 * that stays the error (the upload's failure is said as well); else the
 * upload's failure is the error. */
static int upload_logs_after(struct ci *ci, struct session *s, const struct config *cfg,
			     const char *job, int attached, struct buf *url, struct buf *name,
			     int ret)
{
	struct error_saved saved = ERROR_SAVED_INIT;
	int up;

	error_save(&saved);
	up = upload_logs(ci, s, cfg, job, attached, url, name);
	if (up && ret)
		log_error("%s", error_message());
	if (ret)
		error_restore(&saved);
	error_saved_release(&saved);
	return ret ? ret : up;
}

static int read_run(struct mlflow_run *run, struct session *s, const struct aml_job *job)
{
	struct aml_workspace ws;
	struct mlflow m;
	const char *uri = job->tracking_uri;
	int ret;

	memset(&ws, 0, sizeof(ws));
	memset(&m, 0, sizeof(m));
	if (!uri || strncmp(uri, "azureml://", strlen("azureml://"))) {
		if ((ret = aml_workspace_get(&ws, &s->aml)))
			goto done;
		uri = ws.mlflow_tracking_uri;
	}
	if (!uri) {
		ret = error_set(ERR_NOT_FOUND, "workspace %s has no MLflow tracking URI", s->aml.workspace);
		goto done;
	}
	if ((ret = mlflow_init(&m, s->http, s->tokens, uri, NULL)))
		goto done;
	ret = mlflow_run_get(run, &m, job->name);
done:
	mlflow_release(&m);
	aml_workspace_release(&ws);
	return ret;
}

static void summarize(struct ci *ci, const struct aml_job *job, const struct mlflow_run *run,
		      long duration_s, const char *artifact_name, const char *artifact_url)
{
	static const char *const mhead[] = { "Metric", "Value", "Step" };
	static const char *const phead[] = { "Param", "Value" };
	static const char *const ohead[] = { "Output", "URI" };
	struct summary *s = ci_summary(ci);
	struct buf line = BUF_INIT, a = BUF_INIT, b = BUF_INIT;
	size_t i;

	buf_addstr(&line, "Job `");
	summary_escape(&line, job->name);
	buf_addstr(&line, "`: **");
	summary_escape(&line, job->status_text ? job->status_text : aml_job_status_name(job->status));
	buf_addstr(&line, "**");
	if (duration_s >= 0) {
		buf_addstr(&line, " in ");
		job_format_elapsed(&line, duration_s);
	}
	if (job->studio_url) {
		buf_addstr(&line, " ([Studio](");
		summary_escape(&line, job->studio_url);
		buf_addstr(&line, "))");
	}
	summary_markdown(s, line.data);
	if (job->error && job_outcome_of(job->status) != JOB_OUTCOME_SUCCEEDED)
		summary_code(s, NULL, job->error);
	if (run && run->metrics_nr) {
		summary_heading(s, 3, "Metrics");
		summary_table_begin(s, mhead, 3);
		for (i = 0; i < run->metrics_nr; i++) {
			const char *row[3];

			buf_reset(&a);
			buf_reset(&b);
			mlflow_value_text(&a, run->metrics[i].value);
			buf_addf(&b, "%lld", (long long)run->metrics[i].step);
			row[0] = run->metrics[i].key;
			row[1] = a.data;
			row[2] = b.data;
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
	if (artifact_name && *artifact_name) {
		buf_reset(&line);
		buf_addstr(&line, "Logs: ");
		if (artifact_url && *artifact_url) {
			buf_addstr(&line, "[");
			summary_escape(&line, artifact_name);
			buf_addstr(&line, "](");
			summary_escape(&line, artifact_url);
			buf_addstr(&line, ")");
		} else {
			buf_addstr(&line, "artifact `");
			summary_escape(&line, artifact_name);
			buf_addstr(&line, "`");
		}
		summary_markdown(s, line.data);
	}
	buf_release(&line);
	buf_release(&a);
	buf_release(&b);
}

/*
 * The tags that say which workflow attempt submitted a job, run id first
 * (the server filters on it): "key", "value" pairs, NULL-terminated, in
 * `out` (room for 11). Empty (out[0] NULL) outside a CI run, which then
 * has nothing to find again.
 */
static void attempt_tags(const char **out, const struct ci_context *context, const struct config *cfg)
{
	size_t n = 0;

	out[0] = NULL;
	if (!context->run_id || !*context->run_id)
		return;
	out[n++] = "run_id";
	out[n++] = context->run_id;
	out[n++] = "run_attempt";
	out[n++] = context->run_attempt && *context->run_attempt ? context->run_attempt : "1";
	if (context->repository && *context->repository) {
		out[n++] = "repository";
		out[n++] = context->repository;
	}
	if (context->job && *context->job) {
		out[n++] = "workflow_job";
		out[n++] = context->job;
	}
	out[n++] = "job_file";
	out[n++] = cfg->job;
	out[n] = NULL;
}

/* Everything the job needs found or made in the workspace, then the job
 * submitted into `job`: environment, data, compute, code snapshot. */
static int submit(struct aml_job *job, struct session *session, const struct config *cfg,
		  const struct job_spec *spec, const struct code_snapshot *snap,
		  const char *experiment, const char *const *identity,
		  const struct ci_context *context)
{
	struct aml_code_version code;
	struct aml_job_spec req;
	struct aml_job_input *req_inputs = NULL;
	struct aml_job_output *req_outputs = NULL;
	struct buf env_id = BUF_INIT, code_id = BUF_INIT, compute_id = BUF_INIT;
	char **uris = NULL;
	const char **tags = NULL;
	size_t i, n, m, uris_nr = 0;
	int ret, uploaded = 0;

	memset(&code, 0, sizeof(code));
	memset(&req, 0, sizeof(req));
	if ((ret = job_resolve_environment(&env_id, &session->aml, spec)))
		goto done;
	req_inputs = xcalloc(spec->inputs_nr + 1, sizeof(*req_inputs));
	uris = xcalloc(spec->inputs_nr + 1, sizeof(*uris));
	uris_nr = spec->inputs_nr;
	if ((ret = job_resolve_inputs(req_inputs, uris, &session->aml, spec)))
		goto done;
	req_outputs = xcalloc(spec->outputs_nr + 1, sizeof(*req_outputs));
	for (i = 0; i < spec->outputs_nr; i++) {
		req_outputs[i].name = spec->outputs[i].name;
		req_outputs[i].uri = spec->outputs[i].path;
		req_outputs[i].mode = spec->outputs[i].mode;
	}
	if (*cfg->compute || spec->compute) {
		const char *c = *cfg->compute ? cfg->compute : spec->compute;

		if (!strncmp(c, "azureml:", strlen("azureml:")))
			c += strlen("azureml:");
		aml_path(&compute_id, &session->aml, "/computes/%s", c);
		req.compute_id = compute_id.data;
	}
	/* Uploads last: everything above only reads. */
	if (spec->code_dir) {
		workflow_changing(); /* an upload: no exit 2 after it */
		if ((ret = code_snapshot_ensure(&code, &uploaded, &session->aml, session->http, snap,
						spec->code_dir)))
			goto done;
		log_info("code snapshot %s:%s %s", code.asset.name, code.asset.version,
			 uploaded ? "uploaded" : "reused (unchanged)");
		buf_addstr(&code_id, code.asset.id ? code.asset.id : "");
		if (!code.asset.id)
			aml_path(&code_id, &session->aml, "/codes/%s/versions/%s", code.asset.name,
				 code.asset.version);
		req.code_id = code_id.data;
	}
	/* The job's own tags, then where it came from. */
	n = 2 * spec->tags.nr;
	for (m = 0; identity[m]; m += 2)
		;
	tags = xcalloc(n + m + 3, sizeof(*tags));
	memcpy(tags, kv_list_pairs(&spec->tags), n * sizeof(*tags));
	if (context->sha && *context->sha) {
		tags[n++] = "commit";
		tags[n++] = context->sha;
	}
	memcpy(tags + n, identity, m * sizeof(*tags));
	req.display_name = spec->display_name;
	req.experiment_name = experiment;
	req.description = spec->description;
	req.command = spec->command;
	req.environment_id = env_id.data;
	req.inputs = req_inputs;
	req.inputs_nr = spec->inputs_nr;
	req.outputs = req_outputs;
	req.outputs_nr = spec->outputs_nr;
	req.environment_variables = kv_list_pairs(&spec->environment_variables);
	req.tags = tags;
	workflow_changing();
	if (!(ret = aml_job_create(job, &session->aml, spec->name, &req)))
		log_info("job %s submitted to experiment %s%s%s", job->name, experiment,
			 job->studio_url ? ": " : "", job->studio_url ? job->studio_url : "");
done:
	aml_code_version_release(&code);
	for (i = 0; uris && i < uris_nr; i++)
		free(uris[i]);
	free(uris);
	buf_release(&env_id);
	buf_release(&code_id);
	buf_release(&compute_id);
	free(req_inputs);
	free(req_outputs);
	free(tags);
	return ret;
}

static int run(struct ci *ci)
{
	const struct ci_context *context = ci_context(ci);
	struct job_spec spec = JOB_SPEC_INIT;
	struct code_snapshot snap = CODE_SNAPSHOT_INIT;
	struct aml_job job = AML_JOB_INIT, done = AML_JOB_INIT;
	struct mlflow_run mrun = MLFLOW_RUN_INIT;
	struct session session;
	struct config cfg;
	struct buf path = BUF_INIT, experiment = BUF_INIT, text = BUF_INIT;
	struct buf art_url = BUF_INIT, art_name = BUF_INIT;
	const char *identity[11];
	const struct aml_job *last;
	cJSON *metrics = json_new_object();
	time_t submitted;
	long duration = -1;
	size_t i;
	/* live: a job this attempt started, not yet ended nor cancelled */
	int ret, opened = 0, have_run = 0, live = 0, attached = 0;

	if ((ret = read_config(ci, &cfg)) || (ret = session_open(&session, ci)))
		goto done;
	opened = 1;
	http_client_set_stop(session.http, workflow_stop_flag());

	/* The YAML and the code it names first: either one bad fails before
	 * any call to Azure. */
	ci_workspace_path(ci, &path, cfg.job);
	if ((ret = job_spec_load(&spec, path.data)) ||
	    (spec.code_dir && (ret = code_snapshot_scan(&snap, spec.code_dir))))
		goto done;
	experiment_name(&experiment, &cfg, &spec, context);
	if (aml_check_name(experiment.data, "experiment name")) {
		ret = error_prefix("Input experiment-name");
		goto done;
	}
	if (*cfg.compute || spec.compute) {
		const char *c = *cfg.compute ? cfg.compute : spec.compute;

		if (!strncmp(c, "azureml:", strlen("azureml:")))
			c += strlen("azureml:");
		if (aml_check_name(c, "compute")) {
			ret = error_prefix("Input compute");
			goto done;
		}
	}

	/* A re-run of this attempt follows the job it already submitted. */
	attempt_tags(identity, context, &cfg);
	ret = identity[0] ? job_resolve_submitted(&job, &session.aml, identity) : ERR_NOT_FOUND;
	if (!ret) {
		attached = 1;
		log_info("job %s was already submitted by this run attempt (%s): following it "
			 "instead of submitting it again", job.name, job.status_text ? job.status_text
			 : aml_job_status_name(job.status));
	} else if (ret != ERR_NOT_FOUND) {
		error_prefix("looking for the job of this run attempt");
		goto done;
	} else if ((ret = submit(&job, &session, &cfg, &spec, &snap, experiment.data, identity, context))) {
		goto done;
	}
	submitted = time(NULL);
	live = cfg.wait && !aml_job_status_terminal(job.status);
	if ((ret = ci_output(ci, "job-name", job.name)) ||
	    (job.studio_url && (ret = ci_output(ci, "studio-url", job.studio_url))))
		goto done;

	last = &job;
	if (cfg.wait) {
		struct job_follow_options fo;
		char title[300];

		memset(&fo, 0, sizeof(fo));
		fo.timeout_s = cfg.timeout_s;
		fo.on_line = on_line;
		fo.on_progress = on_progress;
		fo.tokens = session.tokens;
		fo.stop = workflow_stop_flag();
		snprintf(title, sizeof(title), "Job %s log", job.name);
		ci_group_begin(ci, title);
		ret = job_follow(&done, &session.aml, job.name, &fo);
		ci_group_end(ci);
		live = 0;    /* ended, or cancelled when following gave up */
		duration = (long)(time(NULL) - submitted);
		if (ret == ERR_CANCELLED)      /* stopped by a signal: out quickly */
			goto done;
		if (ret == ERR_TIMEOUT) {
			/* The state after the cancel; the timeout stays the error. */
			struct error_saved timeout = ERROR_SAVED_INIT;

			error_save(&timeout);
			if (aml_job_get(&done, &session.aml, job.name))
				log_warning("job %s: %s", job.name, error_message());
			error_restore(&timeout);
			error_saved_release(&timeout);
		}
		if (done.name)
			last = &done;
		ret = upload_logs_after(ci, &session, &cfg, job.name, attached, &art_url, &art_name,
					ret);
		if (ret) {
			ci_output(ci, "status", last->status_text ? last->status_text
				  : aml_job_status_name(last->status));
			goto report;
		}
		if (!read_run(&mrun, &session, last))
			have_run = 1;
		else
			log_warning("MLflow run %s not read: %s", job.name, error_message());
		if (have_run) {
			for (i = 0; i < mrun.metrics_nr; i++)
				cJSON_AddItemToObject(metrics, mrun.metrics[i].key,
						      mlflow_value_json(mrun.metrics[i].value));
			if (mrun.start_time > 0 && mrun.end_time >= mrun.start_time)
				duration = (long)((mrun.end_time - mrun.start_time) / 1000);
		}
	}
report:
	summarize(ci, last, have_run ? &mrun : NULL, duration, art_name.data, art_url.data);
	if (ret)
		goto done;
	json_write(&text, metrics);
	if ((ret = ci_output(ci, "status", last->status_text ? last->status_text
			     : aml_job_status_name(last->status))) ||
	    (ret = ci_output(ci, "metrics", text.data)))
		goto done;
	if (done.studio_url && !job.studio_url && (ret = ci_output(ci, "studio-url", done.studio_url)))
		goto done;
	if (cfg.wait)
		ret = job_outcome_error(last);
done:
	if (ret && live) {
		/* Giving up on a job this run started: it must not train on alone. */
		struct error_saved why = ERROR_SAVED_INIT;

		error_save(&why);
		job_cancel(&session.aml, job.name, workflow_stopping() ? JOB_CANCEL_STOP_S : 60);
		error_restore(&why);
		error_saved_release(&why);
	}
	job_spec_release(&spec);
	code_snapshot_release(&snap);
	aml_job_release(&job);
	aml_job_release(&done);
	mlflow_run_release(&mrun);
	if (opened)
		session_close(&session);
	cJSON_Delete(metrics);
	buf_release(&path);
	buf_release(&experiment);
	buf_release(&text);
	buf_release(&art_url);
	buf_release(&art_name);
	return ret;
}
