/* The Azure ML asset clients against the sandbox: workspace and datastores,
 * data, environments, models and code snapshots, with paging, tag filters,
 * immutability, the model tag update, a SAS upload and an injected 503. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "azure/aml_assets.h"
#include "azure/aml_code.h"
#include "azure/aml_data.h"
#include "azure/aml_environment.h"
#include "azure/aml_job.h"
#include "azure/aml_model.h"
#include "azure/aml_workspace.h"
#include "core/json.h"
#include "core/log.h"
#include "support/check.h"
#include "support/sandbox.h"

static cJSON *tags1(const char *k, const char *v)
{
	cJSON *m = json_new_object();

	json_add_string(m, k, v);
	return m;
}

Test(aml_assets_sandbox, workspace_default_datastore_and_its_key)
{
	struct aml_workspace w = { 0 };
	struct aml_datastore d = { 0 };
	struct aml_datastore_secret s = AML_DATASTORE_SECRET_INIT;
	struct buf url = BUF_INIT, line = BUF_INIT;
	struct sandbox_aml e;

	sandbox_aml_open(&e);
	cr_assert_ok(aml_workspace_get(&w, &e.aml));
	cr_assert_str_eq(w.name, sandbox_env("AZURE_ML_WORKSPACE"));
	cr_assert_not_null(w.location);
	cr_assert(!strncmp(w.mlflow_tracking_uri, "azureml://", 10), "%s", w.mlflow_tracking_uri);
	cr_assert(strstr(w.storage_account, "/storageAccounts/") != NULL);
	cr_assert(strstr(w.discovery_url, "api.azureml.ms/discovery") != NULL);
	cr_assert_not_null(w.workspace_id);

	cr_assert_ok(aml_datastore_get_default(&d, &e.aml));
	cr_assert_str_eq(d.name, "workspaceblobstore");
	cr_assert(d.is_default);
	cr_assert_str_eq(d.endpoint, "core.windows.net");
	cr_assert_str_eq(d.credentials_type, "AccountKey");
	cr_assert_ok(aml_datastore_container_url(&url, &d));
	cr_assert(strstr(url.data, ".blob.core.windows.net/") != NULL, "%s", url.data);

	cr_assert_ok(aml_datastore_list_secrets(&s, &e.aml, d.name));
	cr_assert_str_eq(s.secrets_type, "AccountKey");
	cr_assert_gt(s.value.len, 10);
	buf_addf(&line, "key=%s", s.value.data);
	log_mask(&line);
	cr_assert_str_eq(line.data, "key=***");

	cr_assert_fails(aml_datastore_get(&d, &e.aml, "nosuchstore"), ERR_NOT_FOUND, "HTTP 404");
	aml_datastore_secret_release(&s);
	aml_datastore_release(&d);
	aml_workspace_release(&w);
	buf_release(&url);
	buf_release(&line);
	sandbox_aml_close(&e);
}

static void put_data(struct sandbox_aml *e, const char *version, const char *uri, const char *tag,
		     const char *description, int want)
{
	struct aml_data_version v = { 0 }, out;
	int ret;

	v.asset.name = xstrdup("iris");
	v.asset.version = xstrdup(version);
	v.asset.description = description ? xstrdup(description) : NULL;
	v.asset.tags = tag ? tags1("split", tag) : NULL;
	v.data_type = xstrdup("uri_file");
	v.data_uri = xstrdup(uri);
	ret = aml_data_version_put(&out, &e->aml, &v);
	if (want == 0) {
		cr_assert_ok(ret);
		cr_assert_str_eq(out.asset.version, version);
		cr_assert_str_eq(out.data_uri, uri);
	} else {
		cr_assert_fails(ret, want, "already registered and cannot be changed");
	}
	aml_data_version_release(&out);
	aml_data_version_release(&v);
}

Test(aml_assets_sandbox, data_versions_create_list_by_tags_and_stay_immutable)
{
	struct aml_container c = { 0 }, got = { 0 };
	struct aml_data_version *list = NULL, one = { 0 };
	struct aml_list_options o = { .tags = "split=test" };
	size_t n = 0;
	struct sandbox_aml e;

	sandbox_aml_open(&e);
	c.asset.name = xstrdup("iris");
	c.asset.description = xstrdup("iris flowers");
	c.data_type = xstrdup("uri_file");
	cr_assert_ok(aml_container_put(&got, &e.aml, AML_DATA, &c));
	aml_container_release(&got);
	put_data(&e, "1", "azureml://datastores/workspaceblobstore/paths/iris/train.csv", "train", NULL, 0);
	put_data(&e, "2", "azureml://datastores/workspaceblobstore/paths/iris/test.csv", "test", "t", 0);

	cr_assert_ok(aml_data_version_list(&list, &n, &e.aml, "iris", &o));
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].asset.version, "2");
	cr_assert_str_eq(list[0].asset.name, "iris");
	aml_data_versions_free(list, n);

	/* Same version, another dataUri: exists and differs. */
	put_data(&e, "1", "azureml://datastores/workspaceblobstore/paths/iris/other.csv", "train", NULL,
		 ERR_CONFLICT);
	/* Description and tags are mutable: an update. */
	put_data(&e, "1", "azureml://datastores/workspaceblobstore/paths/iris/train.csv", "all",
		 "now described", 0);
	cr_assert_ok(aml_data_version_get(&one, &e.aml, "iris", "1"));
	cr_assert_str_eq(one.asset.description, "now described");
	cr_assert_str_eq(json_string_or(one.asset.tags, "split", ""), "all");
	aml_data_version_release(&one);

	cr_assert_ok(aml_container_get(&got, &e.aml, AML_DATA, "iris"));
	cr_assert_str_eq(got.latest_version, "2");
	cr_assert_str_eq(got.data_type, "uri_file");
	cr_assert_fails(aml_data_version_get(&one, &e.aml, "iris", "9"), ERR_NOT_FOUND, "HTTP 404");
	aml_container_release(&got);
	aml_container_release(&c);
	sandbox_aml_close(&e);
}

Test(aml_assets_sandbox, data_version_lists_span_pages)
{
	struct aml_data_version *list = NULL;
	size_t n = 0, i;
	char version[16], uri[128];
	struct sandbox_aml e;

	sandbox_aml_open(&e);
	/* The sandbox pages at 30 (azureml.py _page); 33 versions take two. */
	for (i = 1; i <= 33; i++) {
		snprintf(version, sizeof(version), "%zu", i);
		snprintf(uri, sizeof(uri), "azureml://datastores/workspaceblobstore/paths/p/%zu.csv", i);
		put_data(&e, version, uri, NULL, NULL, 0);
	}
	cr_assert_ok(aml_data_version_list(&list, &n, &e.aml, "iris", NULL));
	cr_assert_eq(n, 33);
	/* createdtime desc, Azure's default order. */
	cr_assert_str_eq(list[0].asset.version, "33");
	cr_assert_str_eq(list[32].asset.version, "1");
	aml_data_versions_free(list, n);
	sandbox_aml_close(&e);
}

static void put_env(struct sandbox_aml *e, const char *version, const char *image, const char *description,
		    int want)
{
	struct aml_environment_version v = { 0 }, out;
	int ret;

	v.asset.name = xstrdup("train-env");
	v.asset.version = xstrdup(version);
	v.asset.description = description ? xstrdup(description) : NULL;
	v.image = xstrdup(image);
	v.conda_file = xstrdup("name: train\ndependencies:\n  - python=3.11\n  - pip:\n    - scikit-learn\n");
	ret = aml_environment_version_put(&out, &e->aml, &v);
	if (want == 0) {
		cr_assert_ok(ret);
		cr_assert_str_eq(out.conda_file, v.conda_file);
		cr_assert_str_eq(out.image, image);
	} else {
		cr_assert_fails(ret, want, "Environment train-env with version 1 is already registered");
	}
	aml_environment_version_release(&out);
	aml_environment_version_release(&v);
}

Test(aml_assets_sandbox, environment_versions_latest_and_immutability)
{
	struct aml_environment_version latest = { 0 }, *list = NULL;
	struct aml_container c = { 0 };
	size_t n = 0;
	struct sandbox_aml e;

	sandbox_aml_open(&e);
	cr_assert_fails(aml_container_get(&c, &e.aml, AML_ENVIRONMENT, "train-env"), ERR_NOT_FOUND,
			"HTTP 404");
	put_env(&e, "1", "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest", NULL, 0);
	put_env(&e, "2", "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250101", NULL, 0);
	put_env(&e, "1", "mcr.microsoft.com/azureml/other:latest", NULL, ERR_CONFLICT);
	put_env(&e, "1", "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest", "described", 0);
	cr_assert_ok(aml_environment_version_latest(&latest, &e.aml, "train-env"));
	cr_assert_str_eq(latest.asset.version, "2");
	cr_assert_str_eq(latest.environment_type, "UserCreated");
	cr_assert_str_eq(latest.os_type, "Linux");
	cr_assert_ok(aml_environment_version_list(&list, &n, &e.aml, "train-env", NULL));
	cr_assert_eq(n, 2);
	aml_environment_versions_free(list, n);
	aml_environment_version_release(&latest);
	sandbox_aml_close(&e);
}

/* The training job a model version names as its jobName: the service
 * links the version to it, so it must exist. */
static void ensure_job(struct sandbox_aml *e, const char *name)
{
	struct aml_job_spec spec = {
		.experiment_name = "sandbox-tests", .command = "true",
		.environment_id = "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
	};
	struct aml_job job = AML_JOB_INIT;

	if (aml_job_get(&job, &e->aml, name) == ERR_NOT_FOUND) {
		error_clear();
		cr_assert_ok(aml_job_create(NULL, &e->aml, name, &spec));
	}
	aml_job_release(&job);
}

static void put_model(struct sandbox_aml *e, const char *version, const char *stage)
{
	struct aml_model_version v = { 0 }, out;
	cJSON *data;

	v.asset.name = xstrdup("churn");
	v.asset.version = xstrdup(version);
	v.asset.tags = tags1("stage", stage);
	v.asset.properties = tags1("accuracy", "0.93");
	v.model_type = xstrdup("mlflow_model");
	v.model_uri = xasprintf("azureml://jobs/train-%s/outputs/artifacts/paths/model/", version);
	v.job_name = xasprintf("train-%s", version);
	ensure_job(e, v.job_name);
	v.flavors = json_new_object();
	data = json_add_object(json_add_object(v.flavors, "python_function"), "data");
	json_add_string(data, "loader_module", "mlflow.sklearn");
	cr_assert_ok(aml_model_version_put(&out, &e->aml, &v));
	cr_assert_str_eq(out.model_uri, v.model_uri);
	aml_model_version_release(&out);
	aml_model_version_release(&v);
}

Test(aml_assets_sandbox, model_versions_by_tags_latest_and_tag_update)
{
	struct aml_model_version *list = NULL, latest = { 0 }, updated = { 0 }, again = { 0 };
	struct aml_list_options o = { .tags = "stage=production" };
	static const char *const remove[] = { "reviewer", NULL };
	cJSON *set = tags1("stage", "production");
	size_t n = 0;
	struct sandbox_aml e;

	sandbox_aml_open(&e);
	put_model(&e, "1", "production");
	put_model(&e, "2", "staged");
	put_model(&e, "3", "unstaged");
	cr_assert_ok(aml_model_version_list(&list, &n, &e.aml, "churn", &o));
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].asset.version, "1");
	aml_model_versions_free(list, n);
	cr_assert_ok(aml_model_version_latest(&latest, &e.aml, "churn"));
	cr_assert_str_eq(latest.asset.version, "3");

	/* Promote 2: only the tag moves; modelUri, flavors, properties stay. */
	cr_assert_ok(aml_model_set_tags(&updated, &e.aml, "churn", "2", set, remove));
	cr_assert_str_eq(json_string_or(updated.asset.tags, "stage", ""), "production");
	cr_assert_ok(aml_model_version_get(&again, &e.aml, "churn", "2"));
	cr_assert_str_eq(json_string_or(again.asset.tags, "stage", ""), "production");
	cr_assert_str_eq(again.model_uri, "azureml://jobs/train-2/outputs/artifacts/paths/model/");
	cr_assert_str_eq(again.job_name, "train-2");
	cr_assert_str_eq(json_string_or(again.asset.properties, "accuracy", ""), "0.93");
	cr_assert_str_eq(json_string_or(again.flavors, "python_function.data.loader_module", ""),
			 "mlflow.sklearn");
	cr_assert_ok(aml_model_version_list(&list, &n, &e.aml, "churn", &o));
	cr_assert_eq(n, 2);
	aml_model_versions_free(list, n);
	aml_model_version_release(&again);
	aml_model_version_release(&updated);
	aml_model_version_release(&latest);
	cJSON_Delete(set);
	sandbox_aml_close(&e);
}

Test(aml_assets_sandbox, a_model_version_put_recovers_from_a_503)
{
	char *fault;
	struct sandbox_aml e;

	sandbox_aml_open(&e);
	fault = sandbox_fault("{\"kind\":\"status\",\"status\":503,\"retry_after\":0,\"count\":1,"
			      "\"method\":\"PUT\",\"path\":\"/models/churn/versions/7$\"}");
	put_model(&e, "7", "staged");
	cr_assert_eq(sandbox_fault_applied(fault), 1);
	free(fault);
	sandbox_aml_close(&e);
}

Test(aml_assets_sandbox, pending_upload_gives_a_writable_sas_url)
{
	struct aml_pending_upload p = { 0 };
	struct http_request req = { .method = "PUT" };
	struct http_response r = HTTP_RESPONSE_INIT;
	const char *headers[] = { "x-ms-blob-type: BlockBlob", "Content-Type: text/plain", NULL };
	struct buf url = BUF_INIT;
	const char *q;
	struct sandbox_aml e;

	sandbox_aml_open(&e);
	cr_assert_ok(aml_code_start_pending_upload(&p, &e.aml, "src", "1"));
	cr_assert_not_null(p.pending_upload_id);
	cr_assert(strstr(p.sas_uri, "sig=") != NULL);
	q = strchr(p.sas_uri, '?');
	cr_assert_not_null(q);
	buf_addf(&url, "%s/hello.txt%s", p.blob_uri, q);
	req.url = url.data;
	req.headers = headers;
	req.body = "hello";
	req.body_len = 5;
	cr_assert_ok(http_send(e.http, &req, &r));
	cr_assert_eq(r.status, 201, "PUT blob: HTTP %ld %s", r.status, r.body.data);
	http_response_release(&r);
	aml_pending_upload_release(&p);
	buf_release(&url);
	sandbox_aml_close(&e);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(aml_assets_sandbox, a_code_snapshot_is_uploaded_once)
{
	static const char hash[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	char dir[] = "/tmp/aml-code-XXXXXX";
	char file[64];
	struct aml_code_version first = { 0 }, second = { 0 }, *list = NULL;
	int uploaded = -1;
	size_t n = 0;
	struct sandbox_aml e;

	sandbox_aml_open(&e);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/train.py", dir);
	write_file(file, "print('train')\n");
	cr_assert_ok(aml_code_ensure(&first, &uploaded, &e.aml, "src", hash, dir, aml_code_upload_blob,
				     e.http));
	cr_assert_eq(uploaded, 1);
	cr_assert_str_eq(first.asset.version, "9f86d081884c7d659a2feaa0c55ad015");
	cr_assert_str_eq(json_string_or(first.asset.properties, "hash_sha256", ""), hash);
	cr_assert_ok(aml_code_ensure(&second, &uploaded, &e.aml, "src", hash, dir, aml_code_upload_blob,
				     e.http));
	cr_assert_eq(uploaded, 0);
	cr_assert_str_eq(second.code_uri, first.code_uri);
	cr_assert_ok(aml_code_version_list(&list, &n, &e.aml, "src", NULL));
	cr_assert_eq(n, 1);
	aml_code_versions_free(list, n);
	aml_code_version_release(&first);
	aml_code_version_release(&second);
	unlink(file);
	rmdir(dir);
	sandbox_aml_close(&e);
}
