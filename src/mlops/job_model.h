#ifndef MLOPS_JOB_MODEL_H
#define MLOPS_JOB_MODEL_H

#include "azure/aml_job.h"
#include "core/buf.h"

/*
 * Which of a job's outputs is its model, for the `model-uri` output and
 * for registering the model later: the output named "model" when there is
 * one; else the only output whose type is uri_folder, mlflow_model or
 * custom_model (an output read back without a type counts as uri_folder,
 * the only kind a job YAML here declares); else none (no such output, or
 * more than one and none named "model"). Borrowed from `job`; NULL: none.
 */
const struct aml_job_output_path *job_model_output(const struct aml_job *job);

/*
 * Appends "azureml://jobs/<job>/outputs/<output>" for the model output of
 * `job` and returns 0; ERR_NOT_FOUND (no message) when it has none.
 */
int job_model_uri(struct buf *out, const struct aml_job *job);

#endif
