/*
 * Model-CI: the training step (cmd/training.h) on its own. Exit 0 when the
 * job Completed, 1 when it Failed or was cancelled, 2 when the YAML or the
 * inputs are bad (nothing submitted).
 */
#include "cmd/training.h"
#include "cmd/workflow.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	TRAINING_INPUTS,
	TRAINING_JOB_NAME_INPUT,
	MODEL_REPORT_MODEL_INPUT,
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	TRAINING_OUTPUTS,
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_model_ci = {
	.spec = { "model-ci", inputs, outputs },
	.title = "Model CI",
	.description = "Submits a training job, follows it, uploads its logs as a workflow artifact and reports its metrics.",
	.run = run,
	.stops_gracefully = 1,
};

/*
 * Signals: the runner sends SIGINT, SIGTERM 7.5 s later, then kills 2.5 s
 * after that. workflow_run's stop flag (this workflow stops gracefully)
 * ends every HTTP call at once, and the job, if one is followed, is
 * cancelled within JOB_CANCEL_STOP_S, well inside the watchdog's grace.
 */
static int run(struct ci *ci)
{
	return training_main(ci, NULL);
}
