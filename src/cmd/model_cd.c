#include "cmd/workflow.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "model-name", "Registered model to evaluate and deploy.", NULL, INPUT_REQUIRED },
	{ "model-version", "Challenger version; defaults to the version tagged stage=staged.", NULL, 0 },
	{ "metric", "Metric that decides champion against challenger.", NULL, INPUT_REQUIRED },
	{ "higher-is-better", "Whether a larger metric value is better.", "true", INPUT_BOOL },
	{ "endpoint-name", "Managed online endpoint to deploy to.", NULL, INPUT_REQUIRED },
	{ "instance-type", "VM size of the deployment.", "Standard_DS3_v2", 0 },
	{ "instance-count", "Number of instances.", "1", 0 },
	{ "timeout-minutes", "How long to wait for the endpoint and deployment.", "60", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	{ "decision", "promoted when the challenger won and was deployed, kept when the champion stays." },
	{ "production-version", "Model version in production after the run." },
	{ "scoring-uri", "Scoring URI of the endpoint." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_model_cd = {
	.spec = { "model-cd", inputs, outputs },
	.title = "Model CD",
	.description = "Champion/challenger evaluation of a model version, stage tags, and deployment to a managed online endpoint tagged with the commit and repository.",
	.run = run,
};

static int run(struct ci *ci)
{
	return workflow_pending(ci, &workflow_model_cd.spec);
}
