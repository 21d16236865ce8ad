#include "cmd/workflow.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "job", "Azure ML command job YAML to submit.", "jobs/train.yml", 0 },
	{ "model-name", "Name of the model to register from the run.", NULL, INPUT_REQUIRED },
	{ "model-path", "Path of the model inside the job outputs.", "model", 0 },
	{ "stage", "train: run the job only; register: register the model of the run given by job-name; all: both.", "all", 0 },
	{ "job-name", "Job whose model to register (stage register).", NULL, 0 },
	{ "timeout-minutes", "How long to wait for the job before cancelling it.", "120", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	{ "job-name", "Name of the training job." },
	{ "model-name", "Name of the registered model." },
	{ "model-version", "Version of the registered model." },
	{ "metrics", "JSON object of the run's latest metric values." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_model_ct = {
	.spec = { "model-ct", inputs, outputs },
	.title = "Model CT",
	.description = "Trains a model and registers it with a link to the run that made it.",
	.run = run,
};

static int run(struct ci *ci)
{
	return workflow_pending(ci, &workflow_model_ct.spec);
}
