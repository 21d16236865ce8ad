#ifndef AZURE_AML_PIPELINE_H
#define AZURE_AML_PIPELINE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "azure/aml.h"
#include "azure/aml_job.h"

/*
 * Azure ML pipeline jobs: the PUT body of a `jobType: Pipeline` job whose
 * steps are inline command components, and the child jobs its steps ran
 * as, listed as run history lists a run's children.
 *
 * Body: {"properties": {"jobType": "Pipeline", displayName, experimentName,
 * description, tags, computeId (the default compute), "settings":
 * {"default_compute": <its id>}, inputs, outputs (as a command job's), and
 * "jobs": {<step>: {"type": "command", "name": <step>, command, codeId,
 * environmentId, computeId, environmentVariables, inputs, outputs}}}}.
 * A step's bound input is a literal whose value is the binding
 * ("${{parent.inputs.x}}", "${{parent.jobs.prep.outputs.y}}"); a bound
 * output's uri is "${{parent.outputs.z}}".
 *
 * Children: GET https://<region>.api.azureml.ms/history/v1.0<workspace
 * path>/runs/<parent>/children (the host of the job's tracking endpoint,
 * the management token), {"value": [{"runId", "displayName", "status",
 * "parentRunId"}], "nextLink"}. Each child is a job of its own: its name
 * is the runId, read, cancelled and its logs found as any job's.
 */

struct aml_pipeline_step {
	const char *name;                 /* the key under jobs */
	const struct aml_job_spec *spec;  /* the step as a command job */
};

struct aml_pipeline_spec {
	const char *display_name;
	const char *experiment_name;
	const char *description;
	const char *compute_id;           /* the default compute; NULL: none */
	const struct aml_job_input *inputs;
	size_t inputs_nr;
	const struct aml_job_output *outputs;
	size_t outputs_nr;
	const char *const *tags;
	const struct aml_pipeline_step *steps;
	size_t steps_nr;
};

/* The PUT body; ERR_INPUT as aml_job_body for a bad step, or for a
 * pipeline without steps. The caller owns `*out`. */
int aml_pipeline_body(cJSON **out, const struct aml_pipeline_spec *spec);

/* Submits pipeline job `name` (NULL or "": generated), as aml_job_create. */
int aml_pipeline_create(struct aml_job *out, struct aml *aml, const char *name,
			const struct aml_pipeline_spec *spec);

struct aml_pipeline_child {
	char *name;                       /* the child job's name (runId) */
	char *display_name;               /* the step's display name */
	char *status_text;
	enum aml_job_status status;
};

struct aml_pipeline_children {
	struct aml_pipeline_child *items; /* in the order the service lists them */
	size_t nr;
};
#define AML_PIPELINE_CHILDREN_INIT { NULL, 0 }
void aml_pipeline_children_release(struct aml_pipeline_children *l);

/* The run history URL of `parent`'s children, on the host of
 * `tracking_uri` (azureml:// or https://). ERR_INPUT for a URI without host. */
int aml_pipeline_children_url(struct buf *out, const struct aml *aml, const char *tracking_uri,
			      const char *parent);

/* Reads a children page into `out` (appending); `*next_out` receives its
 * nextLink (owned) or NULL. ERR_JSON for a child without runId. */
int aml_pipeline_children_parse(struct aml_pipeline_children *out, char **next_out,
				const cJSON *json);

/* Lists the children of pipeline job `parent`, following nextLink; errors
 * as arm_call. */
int aml_pipeline_children_list(struct aml_pipeline_children *out, struct aml *aml,
			       const char *tracking_uri, const char *parent);

#endif
