/* A job's model output (mlops/job_model.h). */
#include <string.h>

#include "core/error.h"
#include "mlops/job_model.h"
#include "core/banned.h"

static int model_kind(const char *type)
{
	return !type || !strcmp(type, "uri_folder") || !strcmp(type, "mlflow_model") ||
	       !strcmp(type, "custom_model");
}

const struct aml_job_output_path *job_model_output(const struct aml_job *job)
{
	const struct aml_job_output_path *only = NULL;
	size_t i, n = 0;

	for (i = 0; i < job->outputs_nr; i++)
		if (job->outputs[i].name && !strcmp(job->outputs[i].name, "model"))
			return &job->outputs[i];
	for (i = 0; i < job->outputs_nr; i++) {
		const struct aml_job_output_path *o = &job->outputs[i];

		if (o->name && *o->name && model_kind(o->type)) {
			only = o;
			n++;
		}
	}
	return n == 1 ? only : NULL;
}

int job_model_uri(struct buf *out, const struct aml_job *job)
{
	const struct aml_job_output_path *o = job->name ? job_model_output(job) : NULL;

	if (!o)
		return ERR_NOT_FOUND;
	buf_addf(out, "azureml://jobs/%s/outputs/%s", job->name, o->name);
	return 0;
}
