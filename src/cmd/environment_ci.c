#include "cmd/environments.h"
#include "cmd/workflow.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "environments", "Folder whose sub-folders each hold an Azure ML environment YAML and its conda file.", "environments", 0 },
	{ "versioning", "declared: the YAML version must change when the content does; auto: the next version is computed.", "declared", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	{ "changed", "JSON list of the environments that are new or changed, with their folder and version." },
	{ "status", "ok when every environment is unchanged or correctly versioned, otherwise needs-version-bump." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_environment_ci = {
	.spec = { "environment-ci", inputs, outputs },
	.title = "Environment CI",
	.description = "Validates each environment in environments/ and checks it against what is registered: a changed definition must get a new version.",
	.run = run,
};

static int run(struct ci *ci)
{
	return environments_run(ci, ENVIRONMENTS_CHECK);
}
