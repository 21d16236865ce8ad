#include "cmd/pending.h"
#include "cmd/workflow.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "templates", "ARM templates to deploy, one glob a line; each NAME.json takes its parameters from NAME.parameters.json beside it.", ".cloud/*.json", INPUT_MULTILINE },
	{ "parameters", "Template parameter overrides, one name=value a line.", NULL, INPUT_MULTILINE },
	{ "what-if", "Only validate and show the what-if change list (a dry run); deploy nothing.", "false", INPUT_BOOL },
	{ "mode", "Deployment mode: Incremental or Complete.", "Incremental", 0 },
	{ "datasets", "Folder whose sub-folders each hold a data asset YAML and its data.", "datasets", 0 },
	{ "timeout-minutes", "How long to wait for each deployment.", "60", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	{ "deployment-names", "JSON list of the ARM deployments made." },
	{ "outputs", "JSON object of every template output (secure outputs left out)." },
	{ "datasets", "JSON list of the data assets with name, version and status (created or existing)." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_workspace_cd = {
	.spec = { "workspace-cd", inputs, outputs },
	.title = "Workspace CD",
	.description = "Deploys the ARM templates in .cloud/ to a resource group (validate, what-if, deploy) and makes sure every dataset in datasets/ exists as a data asset.",
	.run = run,
};

static int run(struct ci *ci)
{
	return workflow_pending(ci, &workflow_workspace_cd.spec);
}
