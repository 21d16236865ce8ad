#include <stdlib.h>
#include <string.h>

#include "azure/aml_data.h"
#include "core/error.h"
#include "core/json.h"
#include "core/banned.h"

void aml_data_version_release(struct aml_data_version *v)
{
	if (!v)
		return;
	aml_asset_release(&v->asset);
	free(v->data_type);
	free(v->data_uri);
	memset(v, 0, sizeof(*v));
}

void aml_data_versions_free(struct aml_data_version *v, size_t nr)
{
	size_t i;

	for (i = 0; v && i < nr; i++)
		aml_data_version_release(&v[i]);
	free(v);
}

int aml_data_version_parse(struct aml_data_version *out, const cJSON *json)
{
	static const char what[] = "data asset version";
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = aml_asset_parse(&out->asset, json, 1, what)) ||
	    (ret = aml_json_string(&out->data_type, json, "properties.dataType", 1, what)) ||
	    (ret = aml_json_string(&out->data_uri, json, "properties.dataUri", 1, what)))
		aml_data_version_release(out);
	return ret;
}

cJSON *aml_data_version_body(const struct aml_data_version *v)
{
	cJSON *body = json_new_object();
	cJSON *props = json_add_object(body, "properties");

	json_add_string(props, "dataType", v->data_type ? v->data_type : "");
	json_add_string(props, "dataUri", v->data_uri ? v->data_uri : "");
	aml_asset_build(props, &v->asset);
	return body;
}

int aml_data_version_get(struct aml_data_version *out, struct aml *aml, const char *name,
			 const char *version)
{
	cJSON *json = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!(ret = aml_version_get_json(&json, aml, AML_DATA, name, version)))
		ret = aml_data_version_parse(out, json);
	cJSON_Delete(json);
	return ret;
}

int aml_data_version_put(struct aml_data_version *out, struct aml *aml,
			 const struct aml_data_version *v)
{
	cJSON *body = NULL, *json = NULL;
	const char *name = v->asset.name ? v->asset.name : "";
	int ret;

	memset(out, 0, sizeof(*out));
	/* Both are required by the service (contract 3.2); say so before a call. */
	if (!v->data_type || !*v->data_type || !v->data_uri || !*v->data_uri) {
		ret = error_set(ERR_INPUT, "data asset '%.80s': dataType and dataUri are required",
				name);
		goto done;
	}
	body = aml_data_version_body(v);
	if (!(ret = aml_version_put_json(&json, aml, AML_DATA, name,
					 v->asset.version ? v->asset.version : "", body)))
		ret = aml_data_version_parse(out, json);
done:
	cJSON_Delete(body);
	cJSON_Delete(json);
	return ret;
}

int aml_data_version_list(struct aml_data_version **out, size_t *nr_out, struct aml *aml,
			  const char *name, const struct aml_list_options *o)
{
	struct aml_data_version *v = NULL;
	cJSON *items = NULL;
	size_t n = 0;
	int ret;

	*out = NULL;
	*nr_out = 0;
	if ((ret = aml_version_list_json(&items, aml, AML_DATA, name, o)))
		goto done;
	v = xcalloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*v));
	for (n = 0; n < (size_t)cJSON_GetArraySize(items); n++)
		if ((ret = aml_data_version_parse(&v[n], cJSON_GetArrayItem(items, (int)n))))
			goto done;
	*out = v;
	*nr_out = n;
	v = NULL;
done:
	aml_data_versions_free(v, n);
	cJSON_Delete(items);
	return ret;
}
