#ifndef MLOPS_JOB_RESOLVE_H
#define MLOPS_JOB_RESOLVE_H

#include "azure/aml.h"
#include "azure/aml_job.h"
#include "core/buf.h"
#include "mlops/job_spec.h"

/*
 * What a job YAML names, found in the workspace before anything is
 * submitted: a missing environment or data asset is an input error at its
 * line in the YAML, not a job that fails later.
 */

/* Appends the environment's ARM id (azureml:name:version, or @latest
 * resolved); registry environments are passed through as written. */
int job_resolve_environment(struct buf *id_out, struct aml *aml, const struct job_spec *spec);

/*
 * Fills out[i] for each of spec's inputs: literals and URIs as written,
 * data assets as "azureml:<ARM id of the version>" with @latest resolved.
 * `uris` (one slot per input, NULL-initialised) receives the strings the
 * inputs point to; the caller frees them.
 */
int job_resolve_inputs(struct aml_job_input *out, char **uris, struct aml *aml,
		       const struct job_spec *spec);

/*
 * The job this very workflow attempt already submitted, if any, so that a
 * re-run after the process was killed follows it instead of training
 * twice: the newest command job whose tags hold every "key", "value" pair
 * of `tags` (NULL-terminated, at least one pair), looked up by the first
 * pair on the server and the others here. 0 with `out` filled when found;
 * ERR_NOT_FOUND when there is none; errors as aml_job_list.
 */
int job_resolve_submitted(struct aml_job *out, struct aml *aml, const char *const *tags);

#endif
