/*
 * Model registration from a training job (mlops/model_register.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azure/aml_assets.h"
#include "azure/aml_names.h"
#include "azure/aml_workspace.h"
#include "azure/blob.h"
#include "azure/mlflow.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/datastore_upload.h"
#include "mlops/job_run.h"
#include "mlops/model_register.h"
#include "core/banned.h"

void model_register_result_release(struct model_register_result *r)
{
	aml_job_release(&r->job);
	aml_model_version_release(&r->version);
	cJSON_Delete(r->metrics);
	free(r->next_version);
	memset(r, 0, sizeof(*r));
}

/* ---- pure pieces ---- */

int model_register_check(const struct model_register_options *o)
{
	if (!o->model || !*o->model)
		return error_set(ERR_INPUT, "Input required and not supplied: model-name");
	if (aml_check_name(o->model, "model name"))
		return error_prefix("Input model-name");
	if (!o->job || !*o->job)
		return error_set(ERR_INPUT, "Input required and not supplied: job-name");
	if (aml_check_name(o->job, "job name"))
		return error_prefix("Input job-name");
	if (!o->output || !*o->output)
		return error_set(ERR_INPUT, "Input required and not supplied: model-output");
	if (aml_check_name(o->output, "output name"))
		return error_prefix("Input model-output");
	if (!o->type || (strcmp(o->type, "mlflow_model") && strcmp(o->type, "custom_model")))
		return error_set(ERR_INPUT, "Input model-type: '%s' is not mlflow_model or custom_model",
				 o->type ? o->type : "");
	return 0;
}

void model_register_uri(struct buf *out, const char *job, const char *output)
{
	buf_addf(out, "azureml://jobs/%s/outputs/%s", job, output);
}

int model_register_next_version(char **out, const char *latest)
{
	unsigned long long n;
	char *end;
	char text[32];

	*out = NULL;
	if (!latest) {
		*out = xstrdup("1");
		return 0;
	}
	errno = 0;
	n = strtoull(latest, &end, 10);
	if (!*latest || *latest < '1' || *latest > '9' || *end || errno || n >= 999999999999ULL)
		return error_set(ERR_CONFLICT, "the latest version of the model is '%s', not a "
				 "positive integer: no next version to register", latest);
	snprintf(text, sizeof(text), "%llu", n + 1);
	*out = xstrdup(text);
	return 0;
}

const struct aml_model_version *model_register_find(const struct aml_model_version *v, size_t nr,
						    const char *job)
{
	const struct aml_model_version *found = NULL;
	size_t i;

	/* Lists come newest first; the newest one from the job stands. */
	for (i = 0; i < nr; i++)
		if (v[i].job_name && !strcmp(v[i].job_name, job) && !found)
			found = &v[i];
	return found;
}

static void add_tag(cJSON *tags, const char *key, const char *value)
{
	if (value && *value)
		json_add_string(tags, key, value);
}

cJSON *model_register_tags(const struct model_register_options *o, const cJSON *metrics)
{
	cJSON *tags = json_new_object();
	const cJSON *m;

	add_tag(tags, MODEL_TAG_COMMIT, o->commit);
	add_tag(tags, MODEL_TAG_REPOSITORY, o->repository);
	add_tag(tags, MODEL_TAG_RUN, o->run_url);
	cJSON_ArrayForEach(m, metrics) {
		struct buf key = BUF_INIT, text = BUF_INIT;

		buf_addf(&key, MODEL_TAG_METRIC_PREFIX "%s", m->string);
		if (cJSON_IsNumber(m))
			mlflow_value_text(&text, m->valuedouble);
		else if (cJSON_IsString(m))
			buf_addstr(&text, m->valuestring);
		if (text.len)
			json_add_string(tags, key.data, text.data);
		buf_release(&key);
		buf_release(&text);
	}
	return tags;
}

int model_register_output_place(char **datastore, char **path, const char *uri, const char *job,
				const char *output)
{
	static const char scheme[] = "azureml://datastores/";
	const char *name, *paths;
	struct buf p = BUF_INIT;

	*datastore = *path = NULL;
	if (!uri) {
		*datastore = xstrdup("workspaceblobstore");
		buf_addf(&p, "azureml/%s/%s/", job, output);
		*path = buf_detach(&p, NULL);
		return 0;
	}
	if (strncmp(uri, scheme, strlen(scheme)))
		return error_set(ERR_INPUT, "output %s of job %s is at '%s', not on a datastore "
				 "(azureml://datastores/<name>/paths/<path>)", output, job, uri);
	name = uri + strlen(scheme);
	paths = strstr(name, "/paths/");
	if (!paths || paths == name || !paths[strlen("/paths/")])
		return error_set(ERR_INPUT, "output %s of job %s: '%s' names no datastore path",
				 output, job, uri);
	*datastore = xstrndup(name, (size_t)(paths - name));
	*path = xstrdup(paths + strlen("/paths/"));
	return 0;
}

/* ---- the call ---- */

/* The job, which must have completed. */
static int read_job(struct aml_job *job, struct aml *aml, const char *name)
{
	int ret;

	if ((ret = aml_job_get(job, aml, name)))
		return ret == ERR_NOT_FOUND ? error_set(ERR_NOT_FOUND, "job %s does not exist in "
							"workspace %s; no model registered",
							name, aml->workspace) : ret;
	if (!aml_job_status_succeeded(job->status))
		return error_set(ERR_CONFLICT, "job %s did not complete (%s%s%s): only a Completed "
				 "job's model is registered; no model registered", name,
				 job->status_text ? job->status_text : aml_job_status_name(job->status),
				 job->error ? ": " : "", job->error ? job->error : "");
	return 0;
}

/* Whether anything was written under the output's place in storage. */
static int check_output(struct aml *aml, const struct model_register_options *o,
			const struct aml_job *job)
{
	struct aml_datastore store = { 0 };
	struct blob_client *blob = NULL;
	struct blob_list list = BLOB_LIST_INIT;
	char *ds = NULL, *path = NULL;
	const char *uri = NULL;
	size_t i;
	int found = 0, ret;

	for (i = 0; i < job->outputs_nr; i++)
		if (!strcmp(job->outputs[i].name, o->output))
			found = 1, uri = job->outputs[i].uri;
	if (!found)
		return error_set(ERR_NOT_FOUND, "job %s has no output '%s'; no model registered",
				 o->job, o->output);
	if ((ret = model_register_output_place(&ds, &path, uri, o->job, o->output)) ||
	    (ret = aml_datastore_get(&store, aml, ds)) ||
	    (ret = datastore_blob_client(&blob, aml, o->http, &store, o->tokens)) ||
	    (ret = blob_list(&list, blob, path)))
		goto done;
	if (!list.nr)
		ret = error_set(ERR_NOT_FOUND, "output '%s' of job %s is missing: nothing in "
				"datastore %s at %s; no model registered", o->output, o->job, ds, path);
done:
	if (ret && ret != ERR_NOT_FOUND)
		error_prefix("output '%s' of job %s not checked", o->output, o->job);
	blob_list_release(&list);
	blob_client_free(blob);
	aml_datastore_release(&store);
	free(ds);
	free(path);
	return ret;
}

/* Of the run's latest metrics, those `gate` names. */
static cJSON *gate_metrics(const cJSON *metrics, const struct metric_thresholds *gate)
{
	cJSON *out = json_new_object();
	const cJSON *m;
	size_t i;

	for (i = 0; i < gate->nr; i++)
		if (!cJSON_GetObjectItemCaseSensitive(out, gate->items[i].key) &&
		    (m = cJSON_GetObjectItemCaseSensitive(metrics, gate->items[i].key)))
			json_add_copy(out, gate->items[i].key, m);
	return out;
}

/* The gate checked on the run; ERR_REMOTE_FAILED naming the first miss. */
static int check_gate(const struct model_register_options *o, const struct job_run *jr)
{
	struct metric_gate_result g = METRIC_GATE_RESULT_INIT;
	struct buf why = BUF_INIT;
	size_t i;
	int ret = 0;

	metric_gate_evaluate(&g, o->gate, jr->have_mlflow ? &jr->mlflow : NULL);
	for (i = 0; i < g.nr && g.state == METRIC_GATE_FAILED; i++)
		if (g.checks[i].verdict != METRIC_PASSED) {
			metric_check_describe(&why, &g.checks[i]);
			ret = error_set(ERR_REMOTE_FAILED, "job %s did not pass the metric gate "
					"(%zu of %zu thresholds not met: %s): no model registered",
					o->job, g.failed, g.nr, why.data);
			break;
		}
	metric_gate_result_release(&g);
	buf_release(&why);
	return ret;
}

/* What the version is tagged with: the job's MLflow metrics (latest
 * values), only those the gate names when there is one, once it passed. */
static int metrics_of(cJSON **out, struct aml *aml, const struct model_register_options *o,
		      const struct aml_job *job)
{
	struct job_run jr = JOB_RUN_INIT;
	struct job_run_options ro;
	int ret = 0;

	memset(&ro, 0, sizeof(ro));
	ro.tokens = o->tokens;
	/* The run is read as job_run reads the one it followed. */
	jr.last = job;
	jr.job.name = job->name;
	job_run_collect(&jr, aml, o->http, &ro);
	cJSON_Delete(*out);
	if (!jr.metrics)
		jr.metrics = json_new_object();
	if (!o->gate || !o->gate->nr) {
		*out = jr.metrics;
		jr.metrics = NULL;
	} else if (!(ret = check_gate(o, &jr))) {
		*out = gate_metrics(jr.metrics, o->gate);
	} else {
		*out = json_new_object();
	}
	jr.job.name = NULL;
	job_run_release(&jr);
	return ret;
}

/* The version registered from the job earlier, into `out`: 0 found,
 * ERR_NOT_FOUND none. */
static int find_earlier(struct aml_model_version *out, struct aml *aml, const char *model,
			const char *job)
{
	const struct aml_list_options lo = { NULL, NULL, "All" };
	struct aml_model_version *list = NULL, *hit;
	size_t nr = 0;
	int ret;

	ret = aml_model_version_list(&list, &nr, aml, model, &lo);
	if (ret == ERR_NOT_FOUND) {
		error_clear();
		return ERR_NOT_FOUND;
	}
	if (ret)
		return ret;
	hit = (struct aml_model_version *)model_register_find(list, nr, job);
	if (hit) {
		*out = *hit;
		memset(hit, 0, sizeof(*hit));
	}
	aml_model_versions_free(list, nr);
	return hit ? 0 : ERR_NOT_FOUND;
}

/* What an earlier registration tagged: its "metric.<name>" tags. */
static void metrics_of_tags(cJSON *metrics, const cJSON *tags)
{
	const size_t n = strlen(MODEL_TAG_METRIC_PREFIX);
	const cJSON *t;

	cJSON_ArrayForEach(t, tags)
		if (cJSON_IsString(t) && !strncmp(t->string, MODEL_TAG_METRIC_PREFIX, n))
			json_add_string(metrics, t->string + n, t->valuestring);
}

static int next_version(char **out, struct aml *aml, const char *model)
{
	char *latest = NULL;
	int ret = aml_latest_version(&latest, aml, AML_MODEL, model);

	if (ret == ERR_NOT_FOUND) {
		error_clear();
		ret = 0;
	}
	if (!ret)
		ret = model_register_next_version(out, latest);
	free(latest);
	return ret;
}

/* The names the caller reports, as asked for where Azure's answer left
 * them out (a version's name comes from its optional `id`). */
static void fill_names(struct model_register_result *out, const struct model_register_options *o)
{
	if (!out->version.asset.name)
		out->version.asset.name = xstrdup(o->model);
	if (!out->version.asset.version && out->next_version)
		out->version.asset.version = xstrdup(out->next_version);
	if (!out->job.name)
		out->job.name = xstrdup(o->job);
}

int model_register_decide(struct model_register_result *out, struct aml *aml,
			  const struct model_register_options *o)
{
	int ret;

	if (!out->metrics)
		out->metrics = json_new_object();
	if ((ret = model_register_check(o)) || (ret = read_job(&out->job, aml, o->job)))
		return ret;
	ret = find_earlier(&out->version, aml, o->model, o->job);
	if (!ret) {
		out->reused = 1;
		fill_names(out, o);
		metrics_of_tags(out->metrics, out->version.asset.tags);
		log_info("model %s: version %s was registered from job %s already; nothing to do",
			 o->model, out->version.asset.version, o->job);
		return 0;
	}
	if (ret != ERR_NOT_FOUND)
		return error_prefix("looking for a version of model %s from job %s", o->model, o->job);
	if ((ret = check_output(aml, o, &out->job)) ||
	    (ret = metrics_of(&out->metrics, aml, o, &out->job)))
		return ret;
	return next_version(&out->next_version, aml, o->model);
}

int model_register_apply(struct model_register_result *out, struct aml *aml,
			 const struct model_register_options *o)
{
	struct aml_model_version v = { 0 };
	struct buf uri = BUF_INIT;
	int ret;

	if (out->reused || !out->next_version)
		return 0;
	model_register_uri(&uri, o->job, o->output);
	/* The request borrows our strings: the client only reads them. */
	v.asset.name = (char *)o->model;
	v.asset.version = out->next_version;
	v.asset.tags = model_register_tags(o, out->metrics);
	v.model_type = (char *)o->type;
	v.model_uri = uri.data;
	v.job_name = (char *)o->job;
	if (!(ret = aml_model_version_put(&out->version, aml, &v)))
		fill_names(out, o);
	if (!ret)
		log_info("model %s: registered version %s from job %s", o->model, out->next_version,
			 o->job);
	else
		error_prefix("model %s version %s", o->model, out->next_version);
	cJSON_Delete(v.asset.tags);
	buf_release(&uri);
	return ret;
}
