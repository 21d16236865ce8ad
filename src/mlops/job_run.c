#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azure/aml_assets.h"
#include "azure/aml_environment.h"
#include "azure/aml_workspace.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/job_model.h"
#include "mlops/job_run.h"
#include "mlops/pipeline_run.h"
#include "core/banned.h"

/* ---- what the YAML names, found in the workspace ---- */

/* An error located at a field of the job YAML, keeping the message. */
static int at_field(const struct job_yaml *spec, const char *field, int code)
{
	struct error_location where;
	struct buf msg = BUF_INIT;
	int ret;

	buf_addstr(&msg, error_message());
	job_yaml_where(&where, spec, field);
	ret = error_set_at(code, where.file, where.line, where.column, "%s", msg.data);
	buf_release(&msg);
	return ret;
}

int job_environment_id(struct buf *id_out, struct aml *aml, const char *ref, const char *name,
		       const char *version)
{
	struct aml_environment_version env;
	int ret;

	memset(&env, 0, sizeof(env));
	if (!version)
		ret = aml_environment_version_latest(&env, aml, name);
	else
		ret = aml_environment_version_get(&env, aml, name, version);
	if (ret == ERR_NOT_FOUND)
		ret = error_set(ERR_INPUT, "environment %s is not registered in workspace %s "
				"(Environment-CD registers it)", ref, aml->workspace);
	if (!ret) {
		const char *v = env.asset.version ? env.asset.version : version;

		aml_path(id_out, aml, "/environments/%s/versions/%s", name, v);
		log_info("environment %s -> %s:%s", ref, name, v);
	}
	aml_environment_version_release(&env);
	return ret;
}

/* Appends the environment's ARM id (azureml:name:version, or @latest
 * resolved); registry environments are passed through as written. */
static int resolve_environment(struct buf *id_out, struct aml *aml, const struct job_yaml *spec)
{
	int ret;

	if (spec->env_kind == JOB_ENV_REGISTRY) {
		buf_addstr(id_out, spec->environment);
		return 0;
	}
	ret = job_environment_id(id_out, aml, spec->environment, spec->env_name,
				 spec->env_kind == JOB_ENV_LATEST ? NULL : spec->env_version);
	return ret == ERR_INPUT ? at_field(spec, "environment", ERR_INPUT) : ret;
}

/*
 * Fills out[i] for each of spec's inputs: literals and URIs as written,
 * data assets as "azureml:<ARM id of the version>" with @latest resolved.
 * `uris` (one slot per input, NULL-initialised) receives the strings the
 * inputs point to.
 */
static int resolve_inputs(struct aml_job_input *out, char **uris, struct aml *aml,
			  const struct job_yaml *spec)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < spec->inputs_nr && !ret; i++) {
		const struct job_input *in = &spec->inputs[i];
		struct buf uri = BUF_INIT;
		char *version = NULL;
		cJSON *found = NULL;

		out[i].name = in->name;
		out[i].type = in->type;
		out[i].value = in->value;
		out[i].mode = in->mode;
		if (in->type == AML_INPUT_LITERAL)
			continue;
		if (in->path_kind == JOB_PATH_URI) {
			out[i].uri = in->path;
			continue;
		}
		if (!strcmp(in->asset_version, "latest"))
			ret = aml_latest_version(&version, aml, AML_DATA, in->asset_name);
		else if ((ret = aml_version_get_json(&found, aml, AML_DATA, in->asset_name,
						     in->asset_version)) == 0)
			version = xstrdup(in->asset_version);
		cJSON_Delete(found);
		found = NULL;
		if (ret == ERR_NOT_FOUND) {
			error_set(ERR_INPUT, "input %s: data asset %s is not registered in workspace %s "
				  "(Workspace-CD registers the datasets in datasets/)", in->name,
				  in->path, aml->workspace);
			ret = at_field(spec, "inputs", ERR_INPUT);
		}
		if (!ret) {
			buf_addstr(&uri, "azureml:");
			aml_path(&uri, aml, "/data/%s/versions/%s", in->asset_name, version);
			uris[i] = buf_detach(&uri, NULL);
			out[i].uri = uris[i];
			log_info("input %s: %s -> %s:%s", in->name, in->path, in->asset_name, version);
		}
		free(version);
		buf_release(&uri);
	}
	return ret;
}

/* The compute to run on: the override, else the YAML's; NULL for none. */
static const char *compute_name(const char *override, const struct job_yaml *spec)
{
	const char *c = override && *override ? override : spec->compute;

	if (c && !strncmp(c, "azureml:", strlen("azureml:")))
		c += strlen("azureml:");
	return c;
}

/* ---- the request ---- */

/* The job's own tags, then where it came from. */
static void request_tags(struct kv_list *out, const struct job_yaml *spec, const char *commit,
			 const char *const *identity)
{
	const char *const *p;

	for (p = kv_list_pairs(&spec->tags); *p; p += 2)
		kv_list_add(out, p[0], p[1]);
	if (commit && *commit)
		kv_list_add(out, "commit", commit);
	for (p = identity; p && *p; p += 2)
		kv_list_add(out, p[0], p[1]);
}

int job_request_build(struct job_request *out, struct aml *aml, const struct job_yaml *spec,
		      const char *experiment, const char *compute, const char *commit,
		      const char *const *identity)
{
	struct aml_job_spec *req = &out->spec;
	const char *c = compute_name(compute, spec);
	size_t i;
	int ret;

	memset(req, 0, sizeof(*req));
	if ((ret = resolve_environment(&out->environment_id, aml, spec)))
		return ret;
	out->inputs = xcalloc(spec->inputs_nr + 1, sizeof(*out->inputs));
	out->uris = xcalloc(spec->inputs_nr + 1, sizeof(*out->uris));
	out->uris_nr = spec->inputs_nr;
	if ((ret = resolve_inputs(out->inputs, out->uris, aml, spec)))
		return ret;
	out->outputs = xcalloc(spec->outputs_nr + 1, sizeof(*out->outputs));
	for (i = 0; i < spec->outputs_nr; i++) {
		out->outputs[i].name = spec->outputs[i].name;
		out->outputs[i].uri = spec->outputs[i].path;
		out->outputs[i].mode = spec->outputs[i].mode;
	}
	if (c) {
		aml_path(&out->compute_id, aml, "/computes/%s", c);
		req->compute_id = out->compute_id.data;
	}
	request_tags(&out->tags, spec, commit, identity);
	req->display_name = spec->display_name;
	req->experiment_name = experiment;
	req->description = spec->description;
	req->command = spec->command;
	req->environment_id = out->environment_id.data;
	req->inputs = out->inputs;
	req->inputs_nr = spec->inputs_nr;
	req->outputs = out->outputs;
	req->outputs_nr = spec->outputs_nr;
	req->environment_variables = kv_list_pairs(&spec->environment_variables);
	req->tags = kv_list_pairs(&out->tags);
	req->properties = kv_list_pairs(&spec->properties);
	/* Where and how it runs: as the YAML says, already in REST terms. */
	req->resources = spec->resources;
	req->distribution = spec->distribution;
	req->timeout_s = spec->timeout_s;
	req->job_tier = spec->job_tier;
	req->identity = spec->identity;
	req->services = spec->services;
	req->services_nr = spec->services_nr;
	return 0;
}

int job_request_add_code(struct job_request *req, struct aml *aml, struct http_client *http,
			 const struct code_snapshot *snap, const char *dir)
{
	int ret;

	buf_reset(&req->code_id);
	if (!(ret = code_snapshot_ensure_id(&req->code_id, aml, http, snap, dir)))
		req->spec.code_id = req->code_id.data;
	return ret;
}

void job_request_release(struct job_request *req)
{
	size_t i;

	for (i = 0; req->uris && i < req->uris_nr; i++)
		free(req->uris[i]);
	free(req->uris);
	buf_release(&req->environment_id);
	buf_release(&req->code_id);
	buf_release(&req->compute_id);
	free(req->inputs);
	free(req->outputs);
	kv_list_release(&req->tags);
	memset(req, 0, sizeof(*req));
	buf_init(&req->environment_id);
	buf_init(&req->code_id);
	buf_init(&req->compute_id);
}

/* ---- the job already submitted ---- */

/*
 * Appends `text` lower-cased, each run of characters other than letters and
 * digits made one '-' (none leading or trailing), at most `max` characters.
 * Returns how many were appended.
 */
static size_t add_segment(struct buf *out, const char *text, size_t max)
{
	size_t start = out->len;
	int gap = 0;

	for (; text && *text && out->len - start < max; text++) {
		unsigned char c = (unsigned char)*text;

		if (c > 0x7f || !isalnum(c)) {
			gap = 1;
			continue;
		}
		if (gap && out->len > start && out->len - start + 1 < max)
			buf_addch(out, '-');
		gap = 0;
		buf_addch(out, (char)tolower(c));
	}
	return out->len - start;
}

/* One field of the name's hash, ended by a NUL so that no two lists of
 * fields hash alike. */
static void hash_field(struct sha256 *h, const char *s)
{
	s = s ? s : "";
	sha256_update(h, s, strlen(s) + 1);
}

void job_run_name(struct buf *out, const struct job_origin *origin, const char *job_file,
		  const char *experiment, const char *compute)
{
	const char *repo = origin->repository ? origin->repository : "";
	const char *slash = strrchr(repo, '/');
	const char *attempt = origin->run_attempt && *origin->run_attempt
			      ? origin->run_attempt : "1";
	unsigned char digest[SHA256_LEN];
	struct sha256 h;

	if (!origin->run_id || !*origin->run_id)
		return;
	/* Readable parts for a person looking at the workspace; the hash is
	 * what tells two jobs apart (a sanitized part may lose characters). */
	if (!add_segment(out, slash ? slash + 1 : repo, 64))
		buf_addstr(out, "mlops");
	buf_addch(out, '-');
	if (!add_segment(out, origin->run_id, 40))
		buf_addch(out, '0');
	buf_addch(out, '-');
	if (!add_segment(out, attempt, 10))
		buf_addch(out, '0');
	buf_addch(out, '-');
	sha256_begin(&h);
	hash_field(&h, repo);
	hash_field(&h, origin->run_id);
	hash_field(&h, attempt);
	hash_field(&h, origin->workflow_job);
	hash_field(&h, job_file);
	hash_field(&h, experiment);
	hash_field(&h, compute);
	sha256_end(&h, digest);
	hex_encode(out, digest, 6);
}

/*
 * The tags that say which workflow attempt submitted a job, run id first
 * (the server filters on it): "key", "value" pairs, NULL-terminated, in
 * `out`. Empty (out[0] NULL) outside a CI run, which then has nothing to
 * find again.
 */
static void attempt_tags(const char **out, const struct job_origin *origin, const char *job_file)
{
	size_t n = 0;

	out[0] = NULL;
	if (!origin->run_id || !*origin->run_id)
		return;
	out[n++] = "run_id";
	out[n++] = origin->run_id;
	out[n++] = "run_attempt";
	out[n++] = origin->run_attempt && *origin->run_attempt ? origin->run_attempt : "1";
	if (origin->repository && *origin->repository) {
		out[n++] = "repository";
		out[n++] = origin->repository;
	}
	if (origin->workflow_job && *origin->workflow_job) {
		out[n++] = "workflow_job";
		out[n++] = origin->workflow_job;
	}
	if (job_file && *job_file) {
		out[n++] = "job_file";
		out[n++] = job_file;
	}
	out[n] = NULL;
}

/* ---- the run ---- */

static void set_last(struct job_run *r, const struct aml_job *job)
{
	r->last = job;
	r->status = job->status_text ? job->status_text : aml_job_status_name(job->status);
}

/* The experiment: the option, else the YAML's own, else the repository's name. */
static void experiment_name(struct buf *out, const struct job_run_options *o,
			    const struct job_yaml *spec)
{
	const char *repo = o->origin.repository, *slash;

	if (o->experiment && *o->experiment) {
		buf_addstr(out, o->experiment);
		return;
	}
	if (spec->experiment_name) {
		buf_addstr(out, spec->experiment_name);
		return;
	}
	slash = repo ? strrchr(repo, '/') : NULL;
	buf_addstr(out, slash ? slash + 1 : repo && *repo ? repo : "Default");
}

int job_run_prepare(struct job_run *r, const struct job_run_options *o)
{
	const char *compute;
	int ret;

	if (!r->metrics)
		r->metrics = json_new_object();
	/* The YAML and the code it names first: either one bad fails before
	 * any call to Azure. */
	if (pipeline_yaml_is_pipeline(o->path))
		ret = pipeline_run_load(r, o->path);
	else if (!(ret = job_yaml_load(&r->spec, o->path)) && r->spec.code_dir)
		ret = code_snapshot_scan(&r->snap, r->spec.code_dir);
	if (ret)
		return ret;
	experiment_name(&r->experiment, o, &r->spec);
	if (aml_check_name(r->experiment.data, "experiment name"))
		return error_prefix("Input experiment-name");
	compute = compute_name(o->compute, &r->spec);
	if (compute && aml_check_name(compute, "compute"))
		return error_prefix("Input compute");
	attempt_tags(r->identity, &o->origin, o->job_file);
	/* A name the YAML gives is the user's: a job of that name is that job. */
	if (r->spec.name)
		buf_addstr(&r->name, r->spec.name);
	else
		job_run_name(&r->name, &o->origin, o->job_file, r->experiment.data, compute);
	return 0;
}

/* The job of our name is there already: an earlier run of this attempt (or
 * one racing this run) submitted it, so it is followed, not trained again. */
static void attached(struct job_run *r, const char *how)
{
	r->attached = 1;
	log_info("job %s was already submitted by this run attempt%s (%s): following it "
		 "instead of submitting it again", r->job.name, how, r->job.status_text
		 ? r->job.status_text : aml_job_status_name(r->job.status));
}

/*
 * Submits under r->name. Azure refuses a PUT of a job that exists with
 * another body (only tags may change, azure-contract 3.5; the status is
 * not documented, so a 400 or a 409): when a job of our name exists
 * after such a refusal, a run of this attempt submitted it meanwhile, and
 * it is ours to follow. So it is after a PUT whose answer was lost (the
 * connection dropped, the wait ran out): Azure may have taken it, and a
 * job left unfollowed would train on alone. Otherwise the error stays.
 */
static int create(struct job_run *r, struct aml *aml, const struct aml_job_spec *spec)
{
	struct error_saved why = ERROR_SAVED_INIT;
	int ret;

	ret = aml_job_create(&r->job, aml, r->name.len ? r->name.data : NULL, spec);
	if (!ret || !r->name.len ||
	    (ret != ERR_CONFLICT && ret != ERR_HTTP && ret != ERR_NETWORK && ret != ERR_TIMEOUT))
		return ret;
	error_save(&why);
	if (!aml_job_get(&r->job, aml, r->name.data)) {
		attached(r, " meanwhile");
		ret = 0;
	} else {
		ret = error_restore(&why);
	}
	error_saved_release(&why);
	return ret;
}

/* Everything the job needs found or made in the workspace, then the job
 * submitted: environment, data, compute, code snapshot. */
static int submit(struct job_run *r, struct aml *aml, struct http_client *http,
		  const struct job_run_options *o)
{
	struct job_request req = JOB_REQUEST_INIT;
	int ret;

	if ((ret = job_request_build(&req, aml, &r->spec, r->experiment.data, o->compute,
				     o->origin.commit, r->identity)))
		goto done;
	/* Uploads last: everything above only reads. */
	if (r->spec.code_dir) {
		r->changed = 1; /* an upload: no exit 2 after it */
		if ((ret = job_request_add_code(&req, aml, http, &r->snap, r->spec.code_dir)))
			goto done;
	}
	r->changed = 1;
	if (!(ret = create(r, aml, &req.spec)) && !r->attached)
		log_info("job %s submitted to experiment %s%s%s", r->job.name, r->experiment.data,
			 r->job.studio_url ? ": " : "", r->job.studio_url ? r->job.studio_url : "");
done:
	job_request_release(&req);
	return ret;
}

/* The job read (submitted or found) becomes what the run follows. */
static void started(struct job_run *r, const struct job_run_options *o)
{
	r->submitted = time(NULL);
	r->live = o->wait && !aml_job_status_terminal(r->job.status);
	set_last(r, &r->job);
}

int job_run_submit(struct job_run *r, struct aml *aml, struct http_client *http,
		   const struct job_run_options *o)
{
	int ret;

	/* A re-run of this attempt finds the job it already submitted by its
	 * name; outside CI the name is random and there is nothing to find. */
	ret = r->name.len ? aml_job_get(&r->job, aml, r->name.data) : ERR_NOT_FOUND;
	if (!ret)
		attached(r, "");
	else if (ret != ERR_NOT_FOUND)
		return error_prefix("looking for job %s of this run attempt", r->name.data);
	else if ((ret = r->pipeline ? pipeline_run_submit(r, aml, http, o) : submit(r, aml, http, o)))
		return ret;
	started(r, o);
	return 0;
}

int job_run_attach_named(struct job_run *r, struct aml *aml, const char *name,
			 const struct job_run_options *o)
{
	int ret;

	if (!r->metrics)
		r->metrics = json_new_object();
	if (aml_check_name(name, "job name"))
		return error_prefix("Input job-name");
	if ((ret = aml_job_get(&r->job, aml, name)) == ERR_NOT_FOUND)
		return error_set(ERR_INPUT, "Input job-name: workspace %s has no job %s",
				 aml->workspace, name);
	if (ret)
		return error_prefix("reading job %s", name);
	buf_addstr(&r->name, name);
	r->attached = 1;
	log_info("following job %s (%s), started earlier", r->job.name, r->job.status_text
		 ? r->job.status_text : aml_job_status_name(r->job.status));
	started(r, o);
	return 0;
}

int job_run_follow(struct job_run *r, struct aml *aml, const struct job_run_options *o)
{
	struct job_follow_options fo;
	int ret;

	memset(&fo, 0, sizeof(fo));
	fo.timeout_s = o->timeout_s;
	fo.on_line = o->on_line;
	fo.on_progress = o->on_progress;
	fo.ctx = o->ctx;
	fo.tokens = o->tokens;
	fo.stop = o->stop;
	ret = r->pipeline ? pipeline_run_follow(r, aml, &fo, o)
			  : job_follow(&r->done, aml, r->job.name, &fo);
	r->live = 0;    /* ended, or cancelled when following gave up */
	r->duration_s = (long)(time(NULL) - r->submitted);
	if (ret == ERR_CANCELLED) {    /* stopped by a signal: out quickly */
		if (r->done.name)
			set_last(r, &r->done); /* as the cancel left it */
		return ret;
	}
	if (ret == ERR_TIMEOUT) {
		/* The state after the cancel; the timeout stays the error. */
		struct error_saved timeout = ERROR_SAVED_INIT;

		error_save(&timeout);
		if (aml_job_get(&r->done, aml, r->job.name))
			log_warning("job %s: %s", r->job.name, error_message());
		error_restore(&timeout);
		error_saved_release(&timeout);
	}
	if (r->done.name)
		set_last(r, &r->done);
	return ret;
}

int job_run_logs(size_t *count_out, struct job_run *r, struct aml *aml, const char *dir,
		 const struct job_run_options *o)
{
	if (r->pipeline)
		return pipeline_run_logs(count_out, r, aml, dir, o);
	return job_logs_download(count_out, aml, r->job.name, dir, o->tokens);
}

int job_run_open_mlflow(struct mlflow *m, struct aml *aml, struct http_client *http,
			const struct aml_job *job, const struct job_run_options *o)
{
	struct aml_workspace ws;
	const char *uri = job->tracking_uri;
	int ret;

	memset(&ws, 0, sizeof(ws));
	if (!uri || strncmp(uri, "azureml://", strlen("azureml://"))) {
		if ((ret = aml_workspace_get(&ws, aml)))
			goto done;
		uri = ws.mlflow_tracking_uri;
	}
	if (!uri) {
		ret = error_set(ERR_NOT_FOUND, "workspace %s has no MLflow tracking URI", aml->workspace);
		goto done;
	}
	/* MLflow takes the Resource Manager token: the cloud's own scope. */
	ret = mlflow_init(m, http, o->tokens, uri, aml->arm->scope);
done:
	aml_workspace_release(&ws);
	return ret;
}

/* The histories of the metrics logged over steps, downsampled; one that
 * cannot be read is left out with a warning. */
static void read_histories(struct job_run *r, struct mlflow *m)
{
	const struct mlflow_run *run = &r->mlflow;
	size_t i;

	r->series = xcalloc(JOB_RUN_SERIES_MAX, sizeof(*r->series));
	for (i = 0; i < run->metrics_nr && r->series_nr < JOB_RUN_SERIES_MAX; i++) {
		struct mlflow_metrics hist = MLFLOW_METRICS_INIT;
		const struct mlflow_metric *k = &run->metrics[i];

		if (k->step <= 0)
			continue;
		if (mlflow_metric_history(&hist, m, r->job.name, k->key))
			log_warning("history of metric %s not read: %s", k->key, error_message());
		else
			metric_series_build(&r->series[r->series_nr++], k->key, hist.items, hist.nr,
					    METRIC_CHART_POINTS);
		mlflow_metrics_release(&hist);
	}
}

/* The latest values as text and as the JSON output: one that is not
 * finite is the string MLflow writes, beside the others. */
static void metric_values(struct job_run *r)
{
	const struct mlflow_run *m = &r->mlflow;
	size_t i;

	r->metric_text = xcalloc(m->metrics_nr + 1, sizeof(*r->metric_text));
	for (i = 0; i < m->metrics_nr; i++) {
		struct buf text = BUF_INIT;

		mlflow_value_text(&text, m->metrics[i].value);
		r->metric_text[i] = buf_detach(&text, NULL);
		cJSON_AddItemToObject(r->metrics, m->metrics[i].key,
				      mlflow_value_json(m->metrics[i].value));
	}
}

void job_run_collect(struct job_run *r, struct aml *aml, struct http_client *http,
		     const struct job_run_options *o)
{
	const struct mlflow_run *m = &r->mlflow;
	struct mlflow client;

	memset(&client, 0, sizeof(client));
	if (!r->metrics)
		r->metrics = json_new_object();
	if (r->pipeline ? pipeline_run_read_mlflow(&r->mlflow, r, aml, http, o)
			: job_run_open_mlflow(&client, aml, http, r->last, o) ||
			  mlflow_run_get(&r->mlflow, &client, r->last->name)) {
		log_warning("MLflow run %s not read: %s", r->job.name, error_message());
		goto done;
	}
	r->have_mlflow = 1;
	metric_values(r);
	if (m->start_time > 0 && m->end_time >= m->start_time)
		r->duration_s = (long)((m->end_time - m->start_time) / 1000);
	/* A pipeline's steps each have a run of their own: no histories. */
	if (!r->pipeline)
		read_histories(r, &client);
done:
	mlflow_release(&client);
}

int job_run_outcome(const struct job_run *r)
{
	return job_outcome_error(r->last);
}

int job_run_model_uri(struct buf *out, const struct job_run *r)
{
	return r->pipeline ? pipeline_run_model_uri(out, r) : job_model_uri(out, r->last);
}

int job_run_abandon(struct job_run *r, struct aml *aml, int ret, int stopping)
{
	if (ret && r->live) {
		/* Giving up on a job this run started: it must not train on alone. */
		struct error_saved why = ERROR_SAVED_INIT;

		error_save(&why);
		job_cancel(aml, r->job.name, stopping ? JOB_CANCEL_STOP_S : 60);
		error_restore(&why);
		error_saved_release(&why);
		r->live = 0;
	}
	return ret;
}

int job_run_train(struct job_run *r, struct aml *aml, struct http_client *http,
		  const struct job_run_options *o)
{
	int ret;

	if (!(ret = job_run_prepare(r, o)) && !(ret = job_run_submit(r, aml, http, o)) &&
	    !(ret = job_run_follow(r, aml, o))) {
		job_run_collect(r, aml, http, o);
		ret = job_run_outcome(r);
	}
	return job_run_abandon(r, aml, ret, o->stop && *o->stop);
}

void job_run_release(struct job_run *r)
{
	size_t i;

	job_yaml_release(&r->spec);
	pipeline_run_release(r->pipeline);
	code_snapshot_release(&r->snap);
	buf_release(&r->experiment);
	buf_release(&r->name);
	aml_job_release(&r->job);
	aml_job_release(&r->done);
	for (i = 0; r->metric_text && i < r->mlflow.metrics_nr; i++)
		free(r->metric_text[i]);
	free(r->metric_text);
	for (i = 0; i < r->series_nr; i++)
		metric_series_release(&r->series[i]);
	free(r->series);
	mlflow_run_release(&r->mlflow);
	cJSON_Delete(r->metrics);
	memset(r, 0, sizeof(*r));
}
