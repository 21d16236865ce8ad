#include "cmd/workflow.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "stage", "evaluate: champion against challenger, the winner tagged staged; deploy: the staged version rolled out to the endpoint and tagged production; rollback: the traffic back to the previous deployment; history: the model's stage timeline.", "evaluate", 0 },
	{ "model-name", "Registered model to evaluate and deploy.", NULL, INPUT_REQUIRED },
	{ "model-version", "Challenger version (stage evaluate; default: the latest version), or the version to deploy (stage deploy; default: the one tagged stage=staged).", NULL, 0 },
	{ "metric", "Metric of each version's training run that decides champion against challenger (stage evaluate).", NULL, 0 },
	{ "direction", "maximize or minimize: which way the metric is better.", "maximize", 0 },
	{ "min-delta", "How much better the challenger must be: absolute (0.01) or relative to the champion's value (1%).", "0", 0 },
	{ "force", "Promote the challenger whatever the policy says; the decision records it and who asked (GITHUB_ACTOR).", "false", INPUT_BOOL },
	{ "endpoint-name", "Managed online endpoint to deploy to (stages deploy and rollback); created with key auth when missing.", NULL, 0 },
	{ "deployment", "Azure ML CLI v2 online deployment YAML describing the deployment.", "deployments/online.yml", 0 },
	{ "smoke-request", "JSON request sent to the new deployment before it gets traffic; it must answer 200.", "deployments/smoke-request.json", 0 },
	{ "smoke-expect", "JSON file whose keys and values the smoke answer must contain (optional).", NULL, 0 },
	{ "rollout", "safe: traffic in steps, watched; direct: all traffic at once after the smoke test.", "safe", 0 },
	{ "traffic-steps", "Percentages of traffic the new deployment gets in turn (safe rollout); the last is 100.", "10,50,100", 0 },
	{ "bake-minutes", "How long each traffic step is held and watched.", "5", 0 },
	{ "mirror-percent", "Share of live traffic copied to the new deployment while it bakes at 0% (0-50).", "0", 0 },
	{ "max-error-rate", "Largest share of 5xx answers of the new deployment a step may see (0.01 or 1%).", "1%", 0 },
	{ "max-latency-ms", "Largest P90 latency of the new deployment a step may see, in milliseconds; 0: not checked.", "0", 0 },
	{ "keep-previous", "Keep the previous deployment at 0% traffic for rollback once the new one serves everything.", "true", INPUT_BOOL },
	{ "timeout-minutes", "How long to wait for each endpoint or deployment operation.", "60", 0 },
	{ "log-artifact", "Name of the artifact holding a failed deployment's full logs; empty: none.", "deployment-logs", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	{ "decision", "The evaluation as JSON: champion, challenger, their values, delta, policy, winner, forced." },
	{ "deploy", "true when the challenger won (stage evaluate) and is to be deployed." },
	{ "model-version", "The challenger (evaluate), the version now in production (deploy, rollback)." },
	{ "endpoint", "Name of the endpoint." },
	{ "deployment", "Deployment that serves the model." },
	{ "scoring-uri", "Scoring URI of the endpoint." },
	{ "previous-deployment", "Deployment that served before (kept at 0% for rollback unless keep-previous is false)." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_model_cd = {
	.spec = { "model-cd", inputs, outputs },
	.title = "Model CD",
	.description = "Champion/challenger evaluation of a model version, stage tags, and deployment to a managed online endpoint tagged with the commit and repository.",
	.run = run,
	.stops_gracefully = 1,
};

static int run(struct ci *ci)
{
	return workflow_pending(ci, &workflow_model_cd.spec);
}
