#include <stdlib.h>
#include <string.h>

#include "azure/aml_names.h"
#include "azure/aml_pipeline.h"
#include "azure/arm.h"
#include "core/error.h"
#include "core/json.h"
#include "core/banned.h"

#define MAX_CHILD_PAGES 100

/* A step's definition: its command job body, typed as a pipeline node. */
static int add_step(cJSON *jobs, const struct aml_pipeline_step *step)
{
	cJSON *body = NULL, *props;
	int ret;

	if (!step->name || (ret = aml_check_name(step->name, "pipeline step name")))
		return step->name ? ret : error_set(ERR_INPUT, "a pipeline step has no name");
	if ((ret = aml_job_body(&body, step->spec)))
		return error_prefix("pipeline step %s", step->name);
	props = cJSON_DetachItemFromObjectCaseSensitive(body, "properties");
	cJSON_Delete(body);
	cJSON_DeleteItemFromObjectCaseSensitive(props, "jobType");
	cJSON_DeleteItemFromObjectCaseSensitive(props, "identity");
	json_add_string(props, "type", "command");
	json_add_string(props, "name", step->name);
	cJSON_AddItemToObject(jobs, step->name, props);
	return 0;
}

/*
 * The pipeline's own fields. Its inputs, outputs and tags are written as a
 * command job's are, so they come from aml_job_body with the fields only a
 * command has standing in and then taken out again.
 */
static int pipeline_props(cJSON **out, const struct aml_pipeline_spec *spec)
{
	struct aml_job_spec js;
	cJSON *body = NULL, *props;
	int ret;

	memset(&js, 0, sizeof(js));
	js.command = js.environment_id = "-";
	js.display_name = spec->display_name;
	js.experiment_name = spec->experiment_name;
	js.description = spec->description;
	js.compute_id = spec->compute_id;
	js.inputs = spec->inputs;
	js.inputs_nr = spec->inputs_nr;
	js.outputs = spec->outputs;
	js.outputs_nr = spec->outputs_nr;
	js.tags = spec->tags;
	if ((ret = aml_job_body(&body, &js)))
		return ret;
	props = cJSON_DetachItemFromObjectCaseSensitive(body, "properties");
	cJSON_Delete(body);
	cJSON_DeleteItemFromObjectCaseSensitive(props, "command");
	cJSON_DeleteItemFromObjectCaseSensitive(props, "environmentId");
	cJSON_DeleteItemFromObjectCaseSensitive(props, "environmentVariables");
	cJSON_DeleteItemFromObjectCaseSensitive(props, "identity");
	cJSON_ReplaceItemInObjectCaseSensitive(props, "jobType", cJSON_CreateString("Pipeline"));
	*out = props;
	return 0;
}

int aml_pipeline_body(cJSON **out, const struct aml_pipeline_spec *spec)
{
	cJSON *root, *props = NULL, *jobs;
	size_t i;
	int ret;

	*out = NULL;
	if (!spec->steps_nr)
		return error_set(ERR_INPUT, "the pipeline has no steps");
	if ((ret = pipeline_props(&props, spec)))
		return ret;
	root = json_new_object();
	cJSON_AddItemToObject(root, "properties", props);
	if (spec->compute_id)
		json_add_string(json_add_object(props, "settings"), "default_compute", spec->compute_id);
	jobs = json_add_object(props, "jobs");
	for (i = 0; i < spec->steps_nr; i++)
		if ((ret = add_step(jobs, &spec->steps[i]))) {
			cJSON_Delete(root);
			return ret;
		}
	*out = root;
	return 0;
}

int aml_pipeline_create(struct aml_job *out, struct aml *aml, const char *name,
			const struct aml_pipeline_spec *spec)
{
	cJSON *body = NULL;
	int ret;

	if (!(ret = aml_pipeline_body(&body, spec)))
		ret = aml_job_put(out, aml, name, body);
	cJSON_Delete(body);
	return ret;
}

/* ---- children ---- */

void aml_pipeline_children_release(struct aml_pipeline_children *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		free(l->items[i].name);
		free(l->items[i].display_name);
		free(l->items[i].status_text);
	}
	free(l->items);
	l->items = NULL;
	l->nr = 0;
}

int aml_pipeline_children_url(struct buf *out, const struct aml *aml, const char *tracking_uri,
			      const char *parent)
{
	const char *host = tracking_uri, *end;

	if (host && !strncmp(host, "azureml://", 10))
		host += 10;
	else if (host && !strncmp(host, "https://", 8))
		host += 8;
	else
		host = NULL;
	if (!host || !(end = strchr(host, '/')) || end == host)
		return error_set(ERR_INPUT, "tracking URI '%.120s' names no host of the workspace's "
				 "services", tracking_uri ? tracking_uri : "");
	buf_addf(out, "https://%.*s/history/v1.0%s/runs/%s/children", (int)(end - host), host,
		 aml->workspace_path, parent);
	return 0;
}

int aml_pipeline_children_parse(struct aml_pipeline_children *out, char **next_out,
				const cJSON *json)
{
	const cJSON *value = json_find(json, "value"), *it;
	size_t n = (size_t)cJSON_GetArraySize(value);

	*next_out = NULL;
	if (!cJSON_IsArray(value))
		return error_set(ERR_JSON, "children of a run: no value array");
	out->items = xrealloc(out->items, (out->nr + n + 1) * sizeof(*out->items));
	cJSON_ArrayForEach(it, value) {
		struct aml_pipeline_child *c = &out->items[out->nr];
		const char *id = json_string_or(it, "runId", NULL);

		if (!id || aml_check_name(id, "child job name"))
			return error_set(ERR_JSON, "children of a run: a child without a valid runId");
		memset(c, 0, sizeof(*c));
		c->name = xstrdup(id);
		c->display_name = aml_dup_string(it, "displayName");
		c->status_text = aml_dup_string(it, "status");
		c->status = aml_job_status_parse(c->status_text);
		out->nr++;
	}
	*next_out = aml_dup_string(json, "nextLink");
	return 0;
}

int aml_pipeline_children_list(struct aml_pipeline_children *out, struct aml *aml,
			       const char *tracking_uri, const char *parent)
{
	struct buf url = BUF_INIT;
	char *next = NULL, *host = NULL;
	size_t host_len;
	int ret, pages = 0;

	if ((ret = aml_check_name(parent, "job name")) ||
	    (ret = aml_pipeline_children_url(&url, aml, tracking_uri, parent)))
		goto done;
	host_len = (size_t)(strchr(url.data + 8, '/') - url.data) + 1;
	host = xstrndup(url.data, host_len);
	while (!ret && url.len && pages++ < MAX_CHILD_PAGES) {
		struct arm_response r = ARM_RESPONSE_INIT;

		if (!(ret = arm_call(aml->arm, "GET", url.data, NULL, NULL, &r)))
			ret = aml_pipeline_children_parse(out, &next, r.json);
		arm_response_release(&r);
		buf_reset(&url);
		/* Only a link to the same service is followed: the token goes with it. */
		if (next && !strncmp(next, host, host_len))
			buf_addstr(&url, next);
		free(next);
		next = NULL;
	}
done:
	free(host);
	buf_release(&url);
	return ret;
}
