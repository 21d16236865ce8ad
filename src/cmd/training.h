#ifndef CMD_TRAINING_H
#define CMD_TRAINING_H

#include "ci/ci.h"
#include "cmd/model_report.h"
#include "cmd/session.h"

/*
 * The training step: what Model-CI is, and what Model-CT's first stage
 * runs after making sure of the job's environment. The job YAML read and
 * checked, its job submitted (or the job of this very workflow attempt
 * found again), followed to its end with its log streamed, its logs kept
 * as a workflow artifact, its MLflow metrics and params reported in the
 * outputs and the summary (with a chart of each metric logged over
 * steps), its latest metrics checked against `metric-thresholds` (the
 * metric gate, mlops/metric_gate.h). Both workflows list TRAINING_INPUTS and
 * TRAINING_OUTPUTS, so the step reads and writes the same names in each;
 * each describes `job-name` in its own words (Model-CI: TRAINING_JOB_NAME_INPUT).
 */

#define TRAINING_INPUTS \
	{ "job", "Azure ML command job YAML to submit (CLI v2 schema); its code folder is relative to it. Not read when job-name is given.", "jobs/train.yml", 0 }, \
	{ "experiment-name", "Experiment to run the job in; default: the YAML's experiment_name, else the repository name.", NULL, 0 }, \
	{ "compute", "Compute cluster to run on, overriding the YAML's compute (a name or azureml:name).", NULL, 0 }, \
	{ "wait", "Follow the job to its end, streaming its log; false returns once it is submitted.", "true", INPUT_BOOL }, \
	{ "timeout-minutes", "How long to wait for the job before cancelling it.", "120", 0 }, \
	{ "log-artifact", "Name prefix of the workflow artifact holding the job logs (the job name is appended); empty for none.", "training-logs", 0 }, \
	{ "metric-thresholds", "Metric gate: thresholds on the run's latest MLflow metrics, separated by commas or newlines, e.g. 'auc>=0.75, loss<0.5' (operators >=, >, <=, <, ==). A threshold missed, a metric not logged or not finite fails the step after the job is reported.", NULL, 0 }, \
	MODEL_REPORT_INPUTS

/* The job to follow instead of submitting one, read by the step. */
#define TRAINING_JOB_NAME_INPUT \
	{ "job-name", "Follow this existing job (e.g. one a step with wait false started) instead of submitting one.", NULL, 0 }

#define TRAINING_OUTPUTS \
	{ "job-name", "Name of the submitted job (the MLflow run id)." }, \
	{ "status", "Final status of the job (Completed, Failed, Canceled), or its status when not waited for." }, \
	{ "metrics", "JSON object of the run's latest metric values (NaN, Infinity and -Infinity as those strings, as MLflow writes them)." }, \
	{ "studio-url", "Link to the job in Azure ML studio." }, \
	{ "params", "JSON object of the run's MLflow params (each value a string)." }, \
	{ "artifact-id", "Id of the workflow artifact holding the job logs, as the GitHub results service gave it; empty when there is none." }, \
	{ "model-uri", "The job's model output, azureml://jobs/<job>/outputs/<name>: the output named model, else the only uri_folder, mlflow_model or custom_model output; empty when none." }, \
	{ "gate", "The metric gate's verdict: passed, failed, or none (no metric-thresholds, or the job did not complete)." }

/* The step's inputs, read before signing in so that a bad one fails first. */
struct training_config {
	const char *job;
	const char *job_name;         /* "": submit `job`; else follow that job */
	const char *experiment;
	const char *compute;
	int wait;
	long timeout_s;
	const char *log_artifact;
	/* The metric-thresholds input, checked (metric_thresholds_parse takes
	 * it); training_run parses it again, so the config owns nothing. */
	const char *metric_thresholds;
	const char *model_name;       /* NULL or "": the report compares with no model */
};
int training_read_config(struct ci *ci, struct training_config *c);

/*
 * Runs the training step in the open session `s` (its HTTP client already
 * bound to the workflow's stop flag). 0 when the job Completed (or, with
 * wait false, was submitted); 1-class errors when it Failed or was
 * cancelled; ERR_INPUT (exit 2) only before anything was sent to Azure.
 * Whatever the result, a job this run started and gives up on is
 * cancelled first.
 */
int training_run(struct ci *ci, struct session *s, const struct training_config *c);

/* What a workflow does in the session before the step (Model-CT makes sure
 * of the job's environment); non-zero stops the run there. */
typedef int training_before_fn(struct ci *ci, struct session *s, const struct training_config *c);

/* A workflow's whole run of the step: the inputs read, the session opened
 * (its HTTP calls ended by the workflow's stop flag), `before` when not
 * NULL, then training_run. */
int training_main(struct ci *ci, training_before_fn *before);

#endif
