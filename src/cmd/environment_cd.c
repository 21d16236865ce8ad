#include "cmd/environments.h"
#include "cmd/workflow.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "environments", "Folder whose sub-folders each hold an Azure ML environment YAML and its conda file.", "environments", 0 },
	{ "versioning", "declared: register the version in the YAML; auto: register the next free version whenever the content changed.", "declared", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	{ "registered", "JSON list of the environment versions registered by this run." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_environment_cd = {
	.spec = { "environment-cd", inputs, outputs },
	.title = "Environment CD",
	.description = "Registers every new or changed environment version from environments/, tagged with its content hash, commit and repository.",
	.run = run,
};

static int run(struct ci *ci)
{
	return environments_run(ci, ENVIRONMENTS_REGISTER);
}
