#ifndef MLOPS_MODEL_REGISTER_H
#define MLOPS_MODEL_REGISTER_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "azure/aml.h"
#include "azure/aml_job.h"
#include "azure/aml_model.h"
#include "azure/token.h"
#include "core/buf.h"
#include "core/http.h"
#include "mlops/metric_gate.h"

/*
 * Model-CT's second stage: the model a training job wrote to one of its
 * outputs registered as the next version of a model, with the job as its
 * lineage (jobName) and, set at creation because Azure ML cannot be
 * relied on to add them later, tags naming the commit, the repository,
 * the workflow run and the metrics the gate looked at.
 *
 * Idempotent: a version already registered from the same job is found by
 * its jobName and reused, never registered twice. A job that did not
 * complete, or whose output holds nothing, registers nothing.
 */

/* The tags of a registered version; metrics are "metric.<name>". */
#define MODEL_TAG_COMMIT "commit"
#define MODEL_TAG_REPOSITORY "repository"
#define MODEL_TAG_RUN "workflowRun"
#define MODEL_TAG_METRIC_PREFIX "metric."

struct model_register_options {
	const char *model;            /* the model (container) name */
	const char *job;              /* the training job */
	const char *output;           /* its output holding the model: "model" */
	const char *type;             /* mlflow_model or custom_model */
	const char *commit;           /* tags; NULL or "": not tagged */
	const char *repository;
	const char *run_url;
	/*
	 * The metric gate the training stage checked (NULL or none: no
	 * gate). Checked again on the job's run before anything is
	 * registered, so a register stage pointed at a job that missed it
	 * registers nothing; then only the metrics it names are tagged.
	 * Without one, every metric of the run (latest values) is tagged.
	 */
	const struct metric_thresholds *gate;
	struct http_client *http;     /* MLflow and the output's storage */
	struct token_source tokens;
};

struct model_register_result {
	struct aml_job job;           /* the training job as read */
	struct aml_model_version version; /* registered, or found again */
	int reused;                   /* registered earlier from this job */
	char *next_version;           /* decided: the version to register; NULL when reused */
	cJSON *metrics;               /* what was tagged, {"name": value}; never NULL after a call */
};
#define MODEL_REGISTER_RESULT_INIT { .job = AML_JOB_INIT }
void model_register_result_release(struct model_register_result *r);

/* ---- pure pieces ---- */

/* Checks the options a caller read from its inputs: names (the asset name
 * rule), the type (mlflow_model or custom_model), the output name.
 * ERR_INPUT naming the input ("Input model-name: ..."). */
int model_register_check(const struct model_register_options *o);

/* "azureml://jobs/<job>/outputs/<output>": the model's URI. */
void model_register_uri(struct buf *out, const char *job, const char *output);

/* The next version after `latest` (NULL: none yet, "1"); ERR_CONFLICT when
 * `latest` is not a positive integer. `*out` is the caller's. */
int model_register_next_version(char **out, const char *latest);

/* The version of `v[0..nr)` registered from `job`, or NULL. */
const struct aml_model_version *model_register_find(const struct aml_model_version *v, size_t nr,
						    const char *job);

/* The tags to create a version with (the caller frees them): commit,
 * repository, workflow run when given, and each metric of `metrics` as
 * "metric.<name>" in MLflow's text (NaN, Infinity as those strings). */
cJSON *model_register_tags(const struct model_register_options *o, const cJSON *metrics);

/* Where a job output lands, for checking it holds something: the
 * datastore and path of "azureml://datastores/<ds>/paths/<path>" (each
 * the caller's). A NULL `uri` is Azure ML's default place,
 * workspaceblobstore at azureml/<job>/<output>/. ERR_INPUT for another
 * form. */
int model_register_output_place(char **datastore, char **path, const char *uri, const char *job,
				const char *output);

/* ---- the plan ---- */

/*
 * Reads the job; refuses one that did not complete (ERR_CONFLICT "job X
 * did not complete (Failed: ...); ... no model registered") or whose
 * output is missing or empty in storage (ERR_NOT_FOUND); finds the
 * version registered from it earlier (`reused`, its metric tags in
 * `metrics`), else decides the next version (`next_version`) and reads
 * the metrics to tag. Changes nothing.
 */
int model_register_decide(struct model_register_result *out, struct aml *aml,
			  const struct model_register_options *o);

/* Registers `next_version` with its tags (nothing when `reused`); the
 * caller calls workflow_changing() first. */
int model_register_apply(struct model_register_result *out, struct aml *aml,
			 const struct model_register_options *o);

#endif
