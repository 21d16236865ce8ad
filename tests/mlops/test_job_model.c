#include <string.h>

#include <criterion/criterion.h>

#include "mlops/job_model.h"
#include "support/check.h"

TestSuite(job_model);

static struct aml_job job_with(struct aml_job_output_path *o, size_t n)
{
	struct aml_job job = AML_JOB_INIT;

	job.name = (char *)"crisp_kiwi_1";
	job.outputs = o;
	job.outputs_nr = n;
	return job;
}

Test(job_model, the_output_named_model_wins)
{
	struct aml_job_output_path o[] = {
		{ (char *)"weights", NULL, (char *)"uri_folder" },
		{ (char *)"model", NULL, (char *)"uri_file" },
	};
	struct aml_job job = job_with(o, 2);
	struct buf uri = BUF_INIT;

	cr_assert_ok(job_model_uri(&uri, &job));
	cr_assert_str_eq(uri.data, "azureml://jobs/crisp_kiwi_1/outputs/model");
	buf_release(&uri);
}

Test(job_model, else_the_only_model_kind_output)
{
	struct aml_job_output_path o[] = {
		{ (char *)"report", NULL, (char *)"uri_file" },
		{ (char *)"weights", NULL, (char *)"mlflow_model" },
	};
	struct aml_job job = job_with(o, 2);

	cr_assert_eq(job_model_output(&job), &o[1]);
	o[0].type = NULL; /* read back without a type: a uri_folder */
	cr_assert_null(job_model_output(&job), "two candidates and none named model: none");
}

Test(job_model, none_when_there_is_no_output)
{
	struct aml_job_output_path o[] = { { (char *)"table", NULL, (char *)"mltable" } };
	struct aml_job job = job_with(o, 1);
	struct buf uri = BUF_INIT;

	cr_assert_eq(job_model_uri(&uri, &job), ERR_NOT_FOUND);
	job.outputs_nr = 0;
	cr_assert_eq(job_model_uri(&uri, &job), ERR_NOT_FOUND);
	cr_assert_str_eq(uri.data, "");
	buf_release(&uri);
}
