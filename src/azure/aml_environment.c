#include <stddef.h>

#include "azure/aml_environment.h"
#include "core/error.h"
#include "core/json.h"
#include "core/banned.h"

static void add_properties(cJSON *props, const void *p)
{
	const struct aml_environment_version *v = p;

	if (v->image)
		json_add_string(props, "image", v->image);
	/* A string holding the YAML (azure-contract 3.4: "YAML text, not a path"). */
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
}

/* "Give image (optionally with condaFile) or build, not both" (azure-contract 3.4). */
static int check_source(const void *p)
{
	const struct aml_environment_version *v = p;
	int has_image = v->image && *v->image;
	int has_build = v->build_context_uri && *v->build_context_uri;

	if (has_image != has_build)
		return 0;
	return error_set(ERR_INPUT, "environment '%.80s': give either an image or a build "
			 "context, not %s", v->asset.name ? v->asset.name : "",
			 has_image ? "both" : "neither");
}

#define FIELD(path, member) { path, offsetof(struct aml_environment_version, member), 0 }
static const struct aml_field fields[] = {
	FIELD("properties.image", image),
	FIELD("properties.condaFile", conda_file),
	FIELD("properties.build.contextUri", build_context_uri),
	FIELD("properties.build.dockerfilePath", build_dockerfile_path),
	FIELD("properties.osType", os_type),
	FIELD("properties.stage", stage),
	FIELD("properties.environmentType", environment_type),
	{ 0 },
};
#undef FIELD

AML_VERSION_FUNCTIONS(aml_environment_version, struct aml_environment_version,
		      .kind = AML_ENVIRONMENT, .what = "environment version", .fields = fields,
		      .add_properties = add_properties, .check = check_source)

int aml_environment_version_latest(struct aml_environment_version *out, struct aml *aml,
				   const char *name)
{
	return aml_version_latest(out, aml, &aml_environment_version_type, name);
}
