#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/json.h"
#include "mlops/model_register.h"
#include "support/check.h"

static struct model_register_options good(void)
{
	struct model_register_options o;

	memset(&o, 0, sizeof(o));
	o.model = "churn";
	o.job = "mlops-20261203-1";
	o.output = "model";
	o.type = "mlflow_model";
	return o;
}

Test(model_register, check_accepts_both_types_and_names_the_bad_input)
{
	struct model_register_options o = good();

	cr_assert_ok(model_register_check(&o));
	o.type = "custom_model";
	cr_assert_ok(model_register_check(&o));
	o.type = "triton_model";
	cr_assert_fails(model_register_check(&o), ERR_INPUT, "Input model-type: 'triton_model'");
	o = good();
	o.model = "";
	cr_assert_fails(model_register_check(&o), ERR_INPUT, "not supplied: model-name");
	o = good();
	o.model = "bad name";
	cr_assert_fails(model_register_check(&o), ERR_INPUT, "Input model-name");
	o = good();
	o.job = NULL;
	cr_assert_fails(model_register_check(&o), ERR_INPUT, "not supplied: job-name");
	o = good();
	o.job = "../x";
	cr_assert_fails(model_register_check(&o), ERR_INPUT, "Input job-name");
	o = good();
	o.output = "a/b";
	cr_assert_fails(model_register_check(&o), ERR_INPUT, "Input model-output");
}

Test(model_register, uri_names_the_job_output)
{
	struct buf b = BUF_INIT;

	model_register_uri(&b, "job1", "model");
	cr_assert_str_eq(b.data, "azureml://jobs/job1/outputs/model");
	buf_release(&b);
}

Test(model_register, next_version_follows_the_latest_integer)
{
	static const char *const cases[][2] = { { "1", "2" }, { "9", "10" }, { "41", "42" } };
	char *v = NULL;
	size_t i;

	cr_assert_ok(model_register_next_version(&v, NULL));
	cr_assert_str_eq(v, "1");
	free(v);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_ok(model_register_next_version(&v, cases[i][0]));
		cr_assert_str_eq(v, cases[i][1]);
		free(v);
	}
	cr_assert_fails(model_register_next_version(&v, "1.2"), ERR_CONFLICT, "not a positive integer");
	cr_assert_fails(model_register_next_version(&v, "0"), ERR_CONFLICT, "'0'");
	cr_assert_fails(model_register_next_version(&v, "07"), ERR_CONFLICT, "'07'");
	cr_assert_fails(model_register_next_version(&v, ""), ERR_CONFLICT, "''");
	cr_assert_null(v);
}

Test(model_register, find_returns_the_newest_version_of_the_job)
{
	struct aml_model_version v[3];

	memset(v, 0, sizeof(v));
	v[0].job_name = (char *)"other";
	v[1].job_name = (char *)"job1";
	v[1].asset.version = (char *)"3";
	v[2].job_name = (char *)"job1";
	v[2].asset.version = (char *)"2";
	cr_assert_eq(model_register_find(v, 3, "job1"), &v[1]);
	cr_assert_null(model_register_find(v, 3, "job2"));
	cr_assert_null(model_register_find(v, 1, "job1"));
	cr_assert_null(model_register_find(NULL, 0, "job1"));
}

static const char *tag(const cJSON *tags, const char *key)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(tags, key);

	return cJSON_IsString(t) ? t->valuestring : "";
}

Test(model_register, tags_hold_the_origin_and_each_metric_as_mlflow_writes_it)
{
	struct model_register_options o = good();
	cJSON *metrics = json_new_object(), *tags;

	o.commit = "abc";
	o.repository = "org/repo";
	o.run_url = "";
	cJSON_AddNumberToObject(metrics, "accuracy", 0.5);
	cJSON_AddNumberToObject(metrics, "steps", 30);
	json_add_string(metrics, "loss", "NaN");
	tags = model_register_tags(&o, metrics);
	cr_assert_str_eq(json_string_or(tags, "commit", ""), "abc");
	cr_assert_str_eq(json_string_or(tags, "repository", ""), "org/repo");
	cr_assert_null(json_find(tags, "workflowRun"), "an empty run URL is no tag");
	cr_assert_str_eq(tag(tags, "metric.accuracy"), "0.5");
	cr_assert_str_eq(tag(tags, "metric.steps"), "30");
	cr_assert_str_eq(tag(tags, "metric.loss"), "NaN");
	cJSON_Delete(tags);
	cJSON_Delete(metrics);
}

Test(model_register, output_place_reads_a_datastore_uri_or_the_default)
{
	char *ds, *path;

	cr_assert_ok(model_register_output_place(&ds, &path,
		"azureml://datastores/workspaceblobstore/paths/azureml/j1/model/", "j1", "model"));
	cr_assert_str_eq(ds, "workspaceblobstore");
	cr_assert_str_eq(path, "azureml/j1/model/");
	free(ds);
	free(path);
	cr_assert_ok(model_register_output_place(&ds, &path, NULL, "j1", "model"));
	cr_assert_str_eq(ds, "workspaceblobstore");
	cr_assert_str_eq(path, "azureml/j1/model/");
	free(ds);
	free(path);
	cr_assert_fails(model_register_output_place(&ds, &path, "https://x/y", "j1", "model"),
			ERR_INPUT, "not on a datastore");
	cr_assert_fails(model_register_output_place(&ds, &path, "azureml://datastores/d/paths/",
						    "j1", "model"), ERR_INPUT, "names no datastore path");
	cr_assert_fails(model_register_output_place(&ds, &path, "azureml://datastores//paths/x",
						    "j1", "model"), ERR_INPUT, "names no datastore path");
	cr_assert_null(ds);
}
