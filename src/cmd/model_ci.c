#include "cmd/pending.h"
#include "cmd/workflow.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "job", "Azure ML command job YAML to submit.", "jobs/train.yml", 0 },
	{ "experiment-name", "Experiment to run the job in; defaults to the repository name.", NULL, 0 },
	{ "wait", "Follow the job to its end, streaming its log.", "true", INPUT_BOOL },
	{ "timeout-minutes", "How long to wait for the job before cancelling it.", "120", 0 },
	{ "log-artifact", "Name of the workflow artifact holding the job logs; empty for none.", "training-logs", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	{ "job-name", "Name of the submitted job (the MLflow run id)." },
	{ "status", "Final status of the job." },
	{ "metrics", "JSON object of the run's latest metric values." },
	{ "studio-url", "Link to the job in Azure ML studio." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_model_ci = {
	.spec = { "model-ci", inputs, outputs },
	.title = "Model CI",
	.description = "Submits a training job, follows it, uploads its logs as a workflow artifact and reports its metrics.",
	.run = run,
};

static int run(struct ci *ci)
{
	return workflow_pending(ci, &workflow_model_ci.spec);
}
