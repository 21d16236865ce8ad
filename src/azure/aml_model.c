#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "azure/aml_model.h"
#include "core/error.h"
#include "core/json.h"
#include "core/banned.h"

static void add_properties(cJSON *props, const void *p)
{
	const struct aml_model_version *v = p;

	/* The spec's example says "CustomModel"; the SDKs send snake_case,
	 * which the service accepts (azure-contract 3.6). */
	json_add_string(props, "modelType", v->model_type ? v->model_type : "custom_model");
	json_add_string(props, "modelUri", v->model_uri ? v->model_uri : "");
	if (v->job_name)
		json_add_string(props, "jobName", v->job_name);
	if (v->flavors)
		json_add_copy(props, "flavors", v->flavors);
	if (v->stage)
		json_add_string(props, "stage", v->stage);
}

#define FIELD(path, member, flags) { path, offsetof(struct aml_model_version, member), flags }
static const struct aml_field fields[] = {
	FIELD("properties.modelType", model_type, 0),
	FIELD("properties.modelUri", model_uri, AML_FIELD_PUT),
	FIELD("properties.jobName", job_name, 0),
	FIELD("properties.flavors", flavors, AML_FIELD_OBJECT),
	FIELD("properties.stage", stage, 0),
	{ 0 },
};
#undef FIELD

AML_VERSION_FUNCTIONS(aml_model_version, struct aml_model_version,
		      .kind = AML_MODEL, .what = "model version", .fields = fields,
		      .add_properties = add_properties)

int aml_model_version_latest(struct aml_model_version *out, struct aml *aml, const char *name)
{
	return aml_version_latest(out, aml, &aml_model_version_type, name);
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
	/* azure-contract 3.6: no PATCH for asset versions; the whole body goes back. */
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
