#include <stdlib.h>
#include <string.h>

#include "azure/aml_environment.h"
#include "core/error.h"
#include "core/json.h"
#include "core/banned.h"

void aml_environment_version_release(struct aml_environment_version *v)
{
	if (!v)
		return;
	aml_asset_release(&v->asset);
	free(v->image);
	free(v->conda_file);
	free(v->build_context_uri);
	free(v->build_dockerfile_path);
	free(v->os_type);
	free(v->stage);
	free(v->environment_type);
	memset(v, 0, sizeof(*v));
}

void aml_environment_versions_free(struct aml_environment_version *v, size_t nr)
{
	size_t i;

	for (i = 0; v && i < nr; i++)
		aml_environment_version_release(&v[i]);
	free(v);
}

int aml_environment_version_parse(struct aml_environment_version *out, const cJSON *json)
{
	static const char what[] = "environment version";
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = aml_asset_parse(&out->asset, json, 1, what)) ||
	    (ret = aml_json_string(&out->image, json, "properties.image", 0, what)) ||
	    (ret = aml_json_string(&out->conda_file, json, "properties.condaFile", 0, what)) ||
	    (ret = aml_json_string(&out->build_context_uri, json, "properties.build.contextUri", 0,
				   what)) ||
	    (ret = aml_json_string(&out->build_dockerfile_path, json,
				   "properties.build.dockerfilePath", 0, what)) ||
	    (ret = aml_json_string(&out->os_type, json, "properties.osType", 0, what)) ||
	    (ret = aml_json_string(&out->stage, json, "properties.stage", 0, what)) ||
	    (ret = aml_json_string(&out->environment_type, json, "properties.environmentType", 0,
				   what)))
		aml_environment_version_release(out);
	return ret;
}

cJSON *aml_environment_version_body(const struct aml_environment_version *v)
{
	cJSON *body = json_new_object();
	cJSON *props = json_add_object(body, "properties");

	if (v->image)
		json_add_string(props, "image", v->image);
	/* A string holding the YAML (contract 3.4: "YAML text, not a path"). */
	if (v->conda_file)
		json_add_string(props, "condaFile", v->conda_file);
	if (v->build_context_uri) {
		cJSON *build = json_add_object(props, "build");
		json_add_string(build, "contextUri", v->build_context_uri);
		if (v->build_dockerfile_path)
			json_add_string(build, "dockerfilePath", v->build_dockerfile_path);
	}
	if (v->os_type)
		json_add_string(props, "osType", v->os_type);
	if (v->stage)
		json_add_string(props, "stage", v->stage);
	aml_asset_build(props, &v->asset);
	return body;
}

int aml_environment_version_get(struct aml_environment_version *out, struct aml *aml,
				const char *name, const char *version)
{
	cJSON *json = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!(ret = aml_version_get_json(&json, aml, AML_ENVIRONMENT, name, version)))
		ret = aml_environment_version_parse(out, json);
	cJSON_Delete(json);
	return ret;
}

int aml_environment_version_put(struct aml_environment_version *out, struct aml *aml,
				const struct aml_environment_version *v)
{
	cJSON *body = NULL, *json = NULL;
	const char *name = v->asset.name ? v->asset.name : "";
	int has_image = v->image && *v->image, has_build = v->build_context_uri && *v->build_context_uri;
	int ret;

	memset(out, 0, sizeof(*out));
	/* "Give image (optionally with condaFile) or build, not both" (contract 3.4). */
	if (has_image == has_build) {
		ret = error_set(ERR_INPUT, "environment '%.80s': give either an image or a build "
				"context, not %s", name, has_image ? "both" : "neither");
		goto done;
	}
	body = aml_environment_version_body(v);
	if (!(ret = aml_version_put_json(&json, aml, AML_ENVIRONMENT, name,
					 v->asset.version ? v->asset.version : "", body)))
		ret = aml_environment_version_parse(out, json);
done:
	cJSON_Delete(body);
	cJSON_Delete(json);
	return ret;
}

int aml_environment_version_list(struct aml_environment_version **out, size_t *nr_out,
				 struct aml *aml, const char *name,
				 const struct aml_list_options *o)
{
	struct aml_environment_version *v = NULL;
	cJSON *items = NULL;
	size_t n = 0;
	int ret;

	*out = NULL;
	*nr_out = 0;
	if ((ret = aml_version_list_json(&items, aml, AML_ENVIRONMENT, name, o)))
		goto done;
	v = xcalloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*v));
	for (n = 0; n < (size_t)cJSON_GetArraySize(items); n++)
		if ((ret = aml_environment_version_parse(&v[n], cJSON_GetArrayItem(items, (int)n))))
			goto done;
	*out = v;
	*nr_out = n;
	v = NULL;
done:
	aml_environment_versions_free(v, n);
	cJSON_Delete(items);
	return ret;
}

int aml_environment_version_latest(struct aml_environment_version *out, struct aml *aml,
				   const char *name)
{
	char *version = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!(ret = aml_latest_version(&version, aml, AML_ENVIRONMENT, name)))
		ret = aml_environment_version_get(out, aml, name, version);
	free(version);
	return ret;
}
