#include <stdlib.h>
#include <string.h>

#include "azure/aml_model.h"
#include "core/error.h"
#include "core/json.h"
#include "core/banned.h"

void aml_model_version_release(struct aml_model_version *v)
{
	if (!v)
		return;
	aml_asset_release(&v->asset);
	free(v->model_type);
	free(v->model_uri);
	free(v->job_name);
	cJSON_Delete(v->flavors);
	free(v->stage);
	memset(v, 0, sizeof(*v));
}

void aml_model_versions_free(struct aml_model_version *v, size_t nr)
{
	size_t i;

	for (i = 0; v && i < nr; i++)
		aml_model_version_release(&v[i]);
	free(v);
}

static int parse_flavors(cJSON **out, const cJSON *json, const char *what)
{
	const cJSON *item = json_find(json, "properties.flavors");

	*out = NULL;
	if (!item || cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsObject(item))
		return error_set(ERR_JSON, "%s: field 'properties.flavors' is %s, expected an object",
				 what, json_type_name(item));
	*out = json_duplicate(item);
	return 0;
}

int aml_model_version_parse(struct aml_model_version *out, const cJSON *json)
{
	static const char what[] = "model version";
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = aml_asset_parse(&out->asset, json, 1, what)) ||
	    (ret = aml_json_string(&out->model_type, json, "properties.modelType", 0, what)) ||
	    (ret = aml_json_string(&out->model_uri, json, "properties.modelUri", 0, what)) ||
	    (ret = aml_json_string(&out->job_name, json, "properties.jobName", 0, what)) ||
	    (ret = parse_flavors(&out->flavors, json, what)) ||
	    (ret = aml_json_string(&out->stage, json, "properties.stage", 0, what)))
		aml_model_version_release(out);
	return ret;
}

cJSON *aml_model_version_body(const struct aml_model_version *v)
{
	cJSON *body = json_new_object();
	cJSON *props = json_add_object(body, "properties");

	/* The spec's example says "CustomModel"; the SDKs send snake_case,
	 * which the service accepts (contract 3.6). */
	json_add_string(props, "modelType", v->model_type ? v->model_type : "custom_model");
	json_add_string(props, "modelUri", v->model_uri ? v->model_uri : "");
	if (v->job_name)
		json_add_string(props, "jobName", v->job_name);
	if (v->flavors)
		json_add_copy(props, "flavors", v->flavors);
	if (v->stage)
		json_add_string(props, "stage", v->stage);
	aml_asset_build(props, &v->asset);
	return body;
}

int aml_model_version_get(struct aml_model_version *out, struct aml *aml, const char *name,
			  const char *version)
{
	cJSON *json = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!(ret = aml_version_get_json(&json, aml, AML_MODEL, name, version)))
		ret = aml_model_version_parse(out, json);
	cJSON_Delete(json);
	return ret;
}

int aml_model_version_put(struct aml_model_version *out, struct aml *aml,
			  const struct aml_model_version *v)
{
	cJSON *body = NULL, *json = NULL;
	const char *name = v->asset.name ? v->asset.name : "";
	int ret;

	memset(out, 0, sizeof(*out));
	if (!v->model_uri || !*v->model_uri) {
		ret = error_set(ERR_INPUT, "model '%.80s': modelUri is required", name);
		goto done;
	}
	body = aml_model_version_body(v);
	if (!(ret = aml_version_put_json(&json, aml, AML_MODEL, name,
					 v->asset.version ? v->asset.version : "", body)))
		ret = aml_model_version_parse(out, json);
done:
	cJSON_Delete(body);
	cJSON_Delete(json);
	return ret;
}

int aml_model_version_list(struct aml_model_version **out, size_t *nr_out, struct aml *aml,
			   const char *name, const struct aml_list_options *o)
{
	struct aml_model_version *v = NULL;
	cJSON *items = NULL;
	size_t n = 0;
	int ret;

	*out = NULL;
	*nr_out = 0;
	if ((ret = aml_version_list_json(&items, aml, AML_MODEL, name, o)))
		goto done;
	v = xcalloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*v));
	for (n = 0; n < (size_t)cJSON_GetArraySize(items); n++)
		if ((ret = aml_model_version_parse(&v[n], cJSON_GetArrayItem(items, (int)n))))
			goto done;
	*out = v;
	*nr_out = n;
	v = NULL;
done:
	aml_model_versions_free(v, n);
	cJSON_Delete(items);
	return ret;
}

int aml_model_version_latest(struct aml_model_version *out, struct aml *aml, const char *name)
{
	char *version = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!(ret = aml_latest_version(&version, aml, AML_MODEL, name)))
		ret = aml_model_version_get(out, aml, name, version);
	free(version);
	return ret;
}

static void replace_string(cJSON *obj, const char *key, const char *value)
{
	cJSON *item = cJSON_CreateString(value);

	if (!item)
		abort();
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		cJSON_AddItemToObject(obj, key, item);
}

int aml_model_apply_update(cJSON *body, const struct aml_model_update *u)
{
	cJSON *props = cJSON_GetObjectItemCaseSensitive(body, "properties");
	cJSON *tags;
	const cJSON *t;
	const char *const *r;

	if (!cJSON_IsObject(props))
		return error_set(ERR_JSON, "model version: field 'properties' is %s, expected an object",
				 json_type_name(props));
	if (u->set_tags && !cJSON_IsObject(u->set_tags))
		return error_set(ERR_INPUT, "model tags to set are %s, expected an object",
				 json_type_name(u->set_tags));
	cJSON_ArrayForEach(t, u->set_tags)
		if (!cJSON_IsString(t))
			return error_set(ERR_INPUT, "model tag '%.80s' is %s, expected a string",
					 t->string ? t->string : "", json_type_name(t));
	tags = cJSON_GetObjectItemCaseSensitive(props, "tags");
	if (!cJSON_IsObject(tags)) {
		cJSON_DeleteItemFromObjectCaseSensitive(props, "tags");
		tags = json_add_object(props, "tags");
	}
	cJSON_ArrayForEach(t, u->set_tags)
		replace_string(tags, t->string, t->valuestring);
	for (r = u->remove_tags; r && *r; r++)
		cJSON_DeleteItemFromObjectCaseSensitive(tags, *r);
	if (u->description)
		replace_string(props, "description", u->description);
	if (u->stage)
		replace_string(props, "stage", u->stage);
	if (u->archive) {
		cJSON_DeleteItemFromObjectCaseSensitive(props, "isArchived");
		json_add_bool(props, "isArchived", u->archive > 0);
	}
	return 0;
}

int aml_model_update(struct aml_model_version *out, struct aml *aml, const char *name,
		     const char *version, const struct aml_model_update *u)
{
	cJSON *body = NULL, *json = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	/* Contract 3.6: no PATCH for asset versions; the whole body goes back. */
	if ((ret = aml_version_get_json(&body, aml, AML_MODEL, name, version)) ||
	    (ret = aml_model_apply_update(body, u)))
		goto done;
	if ((ret = aml_version_put_json(&json, aml, AML_MODEL, name, version, body)))
		goto done;
	ret = aml_model_version_parse(out, json);
done:
	cJSON_Delete(body);
	cJSON_Delete(json);
	return ret;
}

int aml_model_set_tags(struct aml_model_version *out, struct aml *aml, const char *name,
		       const char *version, const cJSON *tags_to_set,
		       const char *const *tags_to_remove)
{
	struct aml_model_update u = { .set_tags = tags_to_set, .remove_tags = tags_to_remove };

	return aml_model_update(out, aml, name, version, &u);
}
