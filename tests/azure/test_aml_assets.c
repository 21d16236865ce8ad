/* Azure ML asset clients: body builders against the official example
 * request shapes, parsers over the example replies, and the calls against a
 * scripted server (names checked first, immutability, tag update, paging,
 * snapshot reuse). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/aml_assets.h"
#include "azure/aml_code.h"
#include "azure/aml_data.h"
#include "azure/aml_environment.h"
#include "azure/aml_model.h"
#include "azure/aml_workspace.h"
#include "core/json.h"
#include "core/log.h"
#include "support/check.h"
#include "support/arm_stub.h"
#include "support/examples.h"

/* ---- example files ---- */

static const cJSON *request_of(const cJSON *example)
{
	const cJSON *body = json_find(example, "parameters.body");

	cr_assert_not_null(body, "the example has no request body");
	return body;
}

static const cJSON *reply_of(const cJSON *example, const char *status)
{
	char path[64];
	const cJSON *body;

	snprintf(path, sizeof(path), "responses.%s.body", status);
	body = json_find(example, path);
	cr_assert_not_null(body, "the example has no %s reply", status);
	return body;
}

/* Every field we send exists in the example with the same JSON type
 * (a null we send stands for an optional value of any type); string maps
 * (tags, properties) are compared as objects only. */
static void assert_same_shape(const cJSON *ours, const cJSON *example, const char *path)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, ours) {
		const cJSON *ex = cJSON_GetObjectItemCaseSensitive(example, item->string);
		char sub[256];

		snprintf(sub, sizeof(sub), "%s.%s", path, item->string);
		cr_assert_not_null(ex, "%s is not in the official example", sub);
		if (cJSON_IsNull(item))
			continue;
		cr_assert_eq(item->type & 0xff, ex->type & 0xff, "%s is %s, the example has %s", sub,
			     json_type_name(item), json_type_name(ex));
		if (cJSON_IsObject(item) && strcmp(item->string, "tags") &&
		    strcmp(item->string, "properties") && strcmp(item->string, "flavors"))
			assert_same_shape(item, ex, sub);
	}
}

/* Fields the example request sends that we must send too. */
static void assert_has(const cJSON *ours, const char *const *fields)
{
	for (; *fields; fields++)
		cr_assert_not_null(json_find(ours, *fields), "the body lacks %s", *fields);
}

static cJSON *map(const char *k1, const char *v1, const char *k2, const char *v2)
{
	cJSON *m = json_new_object();

	if (k1)
		json_add_string(m, k1, v1);
	if (k2)
		json_add_string(m, k2, v2);
	return m;
}

/* ---- builders ---- */

Test(aml_assets, data_version_body_has_the_example_shape)
{
	cJSON *ex = example_load(EXAMPLES_AML, "Workspace/DataVersionBase/createOrUpdate.json");
	struct aml_data_version v = { 0 };
	static const char *const need[] = { "properties.dataType", "properties.dataUri",
					    "properties.tags", "properties.isAnonymous", NULL };
	cJSON *body;

	v.data_type = xstrdup("uri_folder");
	v.data_uri = xstrdup("azureml://datastores/workspaceblobstore/paths/data/iris/");
	v.asset.description = xstrdup("iris");
	v.asset.tags = map("source", "ci", NULL, NULL);
	v.asset.properties = map("hash", "abc", NULL, NULL);
	body = aml_data_version_body(&v);
	assert_same_shape(body, request_of(ex), "body");
	assert_has(body, need);
	cr_assert_str_eq(json_string_or(body, "properties.dataType", ""), "uri_folder");
	cr_assert_str_eq(json_string_or(body, "properties.tags.source", ""), "ci");
	aml_data_version_release(&v);
	cJSON_Delete(body);
	cJSON_Delete(ex);
}

Test(aml_assets, environment_version_body_has_the_example_shape)
{
	cJSON *ex = example_load(EXAMPLES_AML, "Workspace/EnvironmentVersion/createOrUpdate.json");
	struct aml_environment_version img = { 0 }, built = { 0 };
	cJSON *a, *b;

	img.image = xstrdup("mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest");
	img.conda_file = xstrdup("name: train\ndependencies:\n  - python=3.11\n");
	img.asset.description = xstrdup("training");
	built.build_context_uri = xstrdup("https://acct.blob.core.windows.net/azureml/DockerBuildContext/abc/");
	built.build_dockerfile_path = xstrdup("prod/Dockerfile");
	a = aml_environment_version_body(&img);
	b = aml_environment_version_body(&built);
	assert_same_shape(a, request_of(ex), "body");
	assert_same_shape(b, request_of(ex), "body");
	/* The conda file travels as its YAML text (contract 3.4). */
	cr_assert_str_eq(json_string_or(a, "properties.condaFile", ""), img.conda_file);
	cr_assert_null(json_find(a, "properties.build"));
	cr_assert_null(json_find(a, "properties.inferenceConfig"));
	cr_assert_str_eq(json_string_or(b, "properties.build.dockerfilePath", ""), "prod/Dockerfile");
	cr_assert_null(json_find(b, "properties.image"));
	aml_environment_version_release(&img);
	aml_environment_version_release(&built);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(ex);
}

Test(aml_assets, model_version_body_has_the_example_shape)
{
	cJSON *ex = example_load(EXAMPLES_AML, "Workspace/ModelVersion/createOrUpdate.json");
	struct aml_model_version v = { 0 };
	cJSON *body, *flavor;

	v.model_type = xstrdup("mlflow_model");
	v.model_uri = xstrdup("azureml://jobs/train-1/outputs/artifacts/paths/model/");
	v.asset.tags = map("stage", "staged", NULL, NULL);
	v.flavors = json_new_object();
	flavor = json_add_object(json_add_object(v.flavors, "python_function"), "data");
	json_add_string(flavor, "loader_module", "mlflow.sklearn");
	body = aml_model_version_body(&v);
	assert_same_shape(body, request_of(ex), "body");
	cr_assert_str_eq(json_string_or(body, "properties.modelType", ""), "mlflow_model");
	cr_assert_str_eq(json_string_or(body, "properties.flavors.python_function.data.loader_module", ""),
			 "mlflow.sklearn");
	aml_model_version_release(&v);
	cJSON_Delete(body);
	cJSON_Delete(ex);
}

Test(aml_assets, code_version_and_pending_upload_bodies_have_the_example_shape)
{
	cJSON *code = example_load(EXAMPLES_AML, "Workspace/CodeVersion/createOrUpdate.json");
	cJSON *pending = example_load(EXAMPLES_AML, "Workspace/CodeVersion/createOrGetStartPendingUpload.json");
	struct aml_code_version v = { 0 };
	cJSON *a, *b;

	v.code_uri = xstrdup("https://acct.blob.core.windows.net/azureml-blobstore/LocalUpload/abc");
	v.asset.properties = map("hash_sha256", "00", "hash_version", AML_CODE_HASH_VERSION);
	a = aml_code_version_body(&v);
	b = aml_pending_upload_body();
	assert_same_shape(a, request_of(code), "body");
	assert_same_shape(b, request_of(pending), "body");
	cr_assert_str_eq(json_string_or(b, "pendingUploadType", ""), "TemporaryBlobReference");
	aml_code_version_release(&v);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(code);
	cJSON_Delete(pending);
}

Test(aml_assets, container_bodies_have_the_example_shape)
{
	cJSON *data = example_load(EXAMPLES_AML, "Workspace/DataContainer/createOrUpdate.json");
	cJSON *model = example_load(EXAMPLES_AML, "Workspace/ModelContainer/createOrUpdate.json");
	struct aml_container c = { 0 };
	cJSON *a, *b;

	c.asset.name = xstrdup("iris");
	c.asset.description = xstrdup("the iris data");
	c.asset.tags = map("team", "ml", NULL, NULL);
	c.data_type = xstrdup("uri_folder");
	a = aml_container_body(&c, AML_DATA);
	b = aml_container_body(&c, AML_MODEL);
	assert_same_shape(a, request_of(data), "body");
	assert_same_shape(b, request_of(model), "body");
	cr_assert_str_eq(json_string_or(a, "properties.dataType", ""), "uri_folder");
	cr_assert_null(json_find(b, "properties.dataType"));
	aml_container_release(&c);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(data);
	cJSON_Delete(model);
}

/* ---- parsers ---- */

Test(aml_assets, workspace_and_datastore_parse_from_the_examples)
{
	cJSON *ws = example_load(EXAMPLES_AML, "Workspace/get.json");
	cJSON *ds = example_load(EXAMPLES_AML, "Datastore/get.json");
	cJSON *list = example_load(EXAMPLES_AML, "Datastore/list.json");
	struct aml_workspace w = { 0 };
	struct aml_datastore d = { 0 };
	struct buf url = BUF_INIT;

	cr_assert_ok(aml_workspace_parse(&w, reply_of(ws, "200")));
	cr_assert_str_eq(w.name, "testworkspace");
	cr_assert_str_eq(w.location, "eastus2euap");
	cr_assert_str_eq(w.discovery_url, "http://example.com");
	cr_assert(strstr(w.storage_account, "/storageAccounts/testStorageAccount") != NULL);
	/* Read-only and absent from the spec's example [obs]: optional. */
	cr_assert_null(w.mlflow_tracking_uri);
	aml_workspace_release(&w);

	cr_assert_ok(aml_datastore_parse(&d, reply_of(ds, "200")));
	cr_assert_str_eq(d.datastore_type, "AzureBlob");
	cr_assert_str_eq(d.endpoint, "core.windows.net");
	cr_assert_str_eq(d.protocol, "https");
	cr_assert_str_eq(d.credentials_type, "AccountKey");
	cr_assert_ok(aml_datastore_container_url(&url, &d));
	cr_assert_str_eq(url.data, "https://string.blob.core.windows.net/string");
	aml_datastore_release(&d);
	cr_assert_ok(aml_datastore_parse(&d, json_find(reply_of(list, "200"), "value[0]")));
	aml_datastore_release(&d);
	aml_datastore_release(&d); /* twice is fine */
	buf_release(&url);
	cJSON_Delete(ws);
	cJSON_Delete(ds);
	cJSON_Delete(list);
}

Test(aml_assets, workspace_parse_takes_the_tracking_uri)
{
	cJSON *json = NULL;
	struct aml_workspace w = { 0 };
	static const char text[] =
		"{\"name\":\"ws\",\"location\":\"westeurope\",\"properties\":{\"workspaceId\":\"g-1\","
		"\"mlFlowTrackingUri\":\"azureml://westeurope.api.azureml.ms/mlflow/v1.0/x\"}}";

	cr_assert_ok(json_parse(&json, text, strlen(text), "t"));
	cr_assert_ok(aml_workspace_parse(&w, json));
	cr_assert_str_eq(w.mlflow_tracking_uri, "azureml://westeurope.api.azureml.ms/mlflow/v1.0/x");
	cr_assert_str_eq(w.workspace_id, "g-1");
	aml_workspace_release(&w);
	cJSON_Delete(json);
}

Test(aml_assets, secrets_are_masked_as_soon_as_parsed)
{
	cJSON *ex = example_load(EXAMPLES_AML, "Datastore/listSecrets.json");
	cJSON *sas = NULL;
	struct aml_datastore_secret s = AML_DATASTORE_SECRET_INIT;
	struct buf line = BUF_INIT;
	static const char text[] = "{\"secretsType\":\"Sas\",\"sasToken\":\"sv=2024&sig=SECRETSIG\"}";

	log_reset_secrets();
	cr_assert_ok(aml_datastore_secret_parse(&s, reply_of(ex, "200")));
	cr_assert_str_eq(s.secrets_type, "AccountKey");
	cr_assert_str_eq(s.value.data, "string");
	aml_datastore_secret_release(&s);
	cr_assert_ok(json_parse(&sas, text, strlen(text), "t"));
	cr_assert_ok(aml_datastore_secret_parse(&s, sas));
	buf_addstr(&line, "token sv=2024&sig=SECRETSIG here");
	log_mask(&line);
	cr_assert(strstr(line.data, "SECRETSIG") == NULL, "not masked: %s", line.data);
	aml_datastore_secret_release(&s);
	cr_assert_eq(s.value.len, 0);
	cJSON_Delete(sas);
	sas = cJSON_Parse("{\"secretsType\":\"AccountKey\"}");
	cr_assert_fails(aml_datastore_secret_parse(&s, sas), ERR_NOT_FOUND, "field 'key' is missing");
	buf_release(&line);
	cJSON_Delete(sas);
	cJSON_Delete(ex);
	log_reset_secrets();
}

Test(aml_assets, version_replies_parse_from_the_examples)
{
	cJSON *data = example_load(EXAMPLES_AML, "Workspace/DataVersionBase/get.json");
	cJSON *env = example_load(EXAMPLES_AML, "Workspace/EnvironmentVersion/get.json");
	cJSON *model = example_load(EXAMPLES_AML, "Workspace/ModelVersion/list.json");
	cJSON *code = example_load(EXAMPLES_AML, "Workspace/CodeVersion/list.json");
	cJSON *pending = example_load(EXAMPLES_AML, "Workspace/CodeVersion/createOrGetStartPendingUpload.json");
	cJSON *cont = example_load(EXAMPLES_AML, "Workspace/DataContainer/get.json");
	struct aml_data_version d;
	struct aml_environment_version e;
	struct aml_model_version m;
	struct aml_code_version c;
	struct aml_pending_upload p;
	struct aml_container dc;

	cr_assert_ok(aml_data_version_parse(&d, reply_of(data, "200")));
	cr_assert_not_null(d.data_uri);
	cr_assert_not_null(d.asset.version);
	aml_data_version_release(&d);
	cr_assert_ok(aml_environment_version_parse(&e, reply_of(env, "200")));
	cr_assert_not_null(e.image);
	cr_assert_str_eq(e.build_dockerfile_path, "prod/Dockerfile");
	cr_assert_str_eq(e.environment_type, "Curated");
	aml_environment_version_release(&e);
	cr_assert_ok(aml_model_version_parse(&m, json_find(reply_of(model, "200"), "value[0]")));
	cr_assert_str_eq(m.model_type, "CustomModel");
	cr_assert_not_null(json_find(m.flavors, "string.data"));
	cr_assert_str_eq(json_string_or(m.asset.tags, "string", ""), "string");
	aml_model_version_release(&m);
	cr_assert_ok(aml_code_version_parse(&c, json_find(reply_of(code, "200"), "value[0]")));
	cr_assert_str_eq(c.code_uri, "https://blobStorage/folderName");
	aml_code_version_release(&c);
	cr_assert_ok(aml_pending_upload_parse(&p, reply_of(pending, "200")));
	cr_assert_str_eq(p.blob_uri, "https://www.contoso.com/example");
	aml_pending_upload_release(&p);
	cr_assert_ok(aml_container_parse(&dc, reply_of(cont, "200"), AML_DATA));
	cr_assert_str_eq(dc.asset.name, "datacontainer123");
	cr_assert_str_eq(dc.data_type, "UriFile");
	cr_assert_null(dc.latest_version);
	aml_container_release(&dc);
	cJSON_Delete(data);
	cJSON_Delete(env);
	cJSON_Delete(model);
	cJSON_Delete(code);
	cJSON_Delete(pending);
	cJSON_Delete(cont);
}

Test(aml_assets, a_wrong_field_type_names_the_json_path)
{
	cJSON *json = cJSON_Parse("{\"name\":\"3\",\"properties\":{\"modelUri\":7}}");
	cJSON *tags = cJSON_Parse("{\"name\":\"3\",\"properties\":{\"tags\":{\"stage\":1}}}");
	struct aml_model_version m;

	cr_assert_fails(aml_model_version_parse(&m, json), ERR_JSON,
			"model version: field 'properties.modelUri' is a number, expected a string");
	cr_assert_fails(aml_model_version_parse(&m, tags), ERR_JSON, "'properties.tags.stage' is a number");
	cJSON_Delete(json);
	cJSON_Delete(tags);
}

Test(aml_assets, version_parse_takes_the_container_name_from_the_id)
{
	cJSON *json = cJSON_Parse("{\"id\":\"/subscriptions/s/resourceGroups/r/providers/"
				  "Microsoft.MachineLearningServices/workspaces/w/models/churn/versions/4\","
				  "\"name\":\"4\",\"properties\":{\"modelUri\":\"u\"}}");
	struct aml_model_version m;

	cr_assert_ok(aml_model_version_parse(&m, json));
	cr_assert_str_eq(m.asset.name, "churn");
	cr_assert_str_eq(m.asset.version, "4");
	aml_model_version_release(&m);
	cJSON_Delete(json);
}

Test(aml_assets, list_queries_spell_the_tag_filter_per_kind)
{
	struct aml_list_options o = { .tags = "stage=production", .order_by = "createdtime desc" };
	struct buf q = BUF_INIT;

	cr_assert_ok(aml_list_query(&q, AML_DATA, &o));
	cr_assert_str_eq(q.data, "?$tags=stage%3Dproduction&$orderBy=createdtime%20desc");
	buf_reset(&q);
	cr_assert_ok(aml_list_query(&q, AML_MODEL, &o));
	cr_assert_str_eq(q.data, "?tags=stage%3Dproduction&$orderBy=createdtime%20desc");
	buf_reset(&q);
	cr_assert_fails(aml_list_query(&q, AML_ENVIRONMENT, &o), ERR_INPUT, "no tag filter");
	buf_release(&q);
}

Test(aml_assets, code_versions_are_named_after_the_snapshot_hash)
{
	struct buf v = BUF_INIT;
	struct aml_pending_upload p = { 0 };
	struct buf url = BUF_INIT, prefix = BUF_INIT;

	cr_assert_ok(aml_code_version_for_hash(&v, "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"));
	cr_assert_str_eq(v.data, "abcdef0123456789abcdef0123456789");
	buf_reset(&v);
	cr_assert_fails(aml_code_version_for_hash(&v, "abc"), ERR_INPUT, "not 64 hex digits");
	p.sas_uri = xstrdup("https://acct.blob.core.windows.net/azureml-blobstore/LocalUpload/u1/?sv=1&sig=x");
	cr_assert_ok(aml_pending_upload_split(&url, &prefix, &p));
	cr_assert_str_eq(url.data, "https://acct.blob.core.windows.net/azureml-blobstore?sv=1&sig=x");
	cr_assert_str_eq(prefix.data, "LocalUpload/u1");
	buf_reset(&url);
	buf_reset(&prefix);
	aml_pending_upload_release(&p);
	p.sas_uri = xstrdup("https://acct.blob.core.windows.net/c?sv=1");
	cr_assert_ok(aml_pending_upload_split(&url, &prefix, &p));
	cr_assert_str_eq(url.data, "https://acct.blob.core.windows.net/c?sv=1");
	cr_assert_str_eq(prefix.data, "");
	aml_pending_upload_release(&p);
	p.sas_uri = xstrdup("https://acct.blob.core.windows.net/?sv=1");
	cr_assert_fails(aml_pending_upload_split(&url, &prefix, &p), ERR_INPUT, "no blob container");
	aml_pending_upload_release(&p);
	buf_release(&v);
	buf_release(&url);
	buf_release(&prefix);
}

Test(aml_assets, the_immutability_answer_is_recognised)
{
	cJSON *env = cJSON_Parse("{\"error\":{\"code\":\"UserError\",\"message\":\"Environment e with "
				 "version 1 is already registered and cannot be changed.\"}}");
	cJSON *prop = cJSON_Parse("{\"error\":{\"code\":\"UserError\",\"message\":\"Value of property "
				  "'a' of Model m:1 cannot be replaced or removed without increasing "
				  "the version.\"}}");
	cJSON *other = cJSON_Parse("{\"error\":{\"code\":\"UserError\",\"message\":\"The field "
				   "'dataUri' is required.\"}}");

	cr_assert(aml_is_immutable_error(400, env));
	cr_assert(aml_is_immutable_error(400, prop));
	cr_assert_not(aml_is_immutable_error(400, other));
	cr_assert_not(aml_is_immutable_error(500, env));
	cr_assert_not(aml_is_immutable_error(400, NULL));
	cJSON_Delete(env);
	cJSON_Delete(prop);
	cJSON_Delete(other);
}

/* ---- calls against a scripted server ---- */

#define WS "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/mlw"

Test(aml_assets, bad_names_fail_before_any_call)
{
	struct stub_reply script[] = { { .status = 500, .body = "{}" } };
	struct aml_data_version d;
	struct aml_model_version m;
	struct aml_container c;
	struct aml_datastore ds;
	struct aml_environment_version e = { 0 }, eout;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "mlw");
	cr_assert_fails(aml_data_version_get(&d, &f.aml, "bad name", "1"), ERR_INPUT,
			"data asset name 'bad name' is not valid");
	cr_assert_fails(aml_model_version_get(&m, &f.aml, "m", "1/2"), ERR_INPUT,
			"model version '1/2' is not valid");
	cr_assert_fails(aml_container_get(&c, &f.aml, AML_ENVIRONMENT, "-x"), ERR_INPUT,
			"environment name '-x'");
	cr_assert_fails(aml_datastore_get(&ds, &f.aml, ""), ERR_INPUT, "datastore name is empty");
	cr_assert_fails(aml_model_set_tags(&m, &f.aml, "m", "", NULL, NULL), ERR_INPUT,
			"model version is empty");
	e.asset.name = xstrdup("e");
	e.asset.version = xstrdup("1");
	cr_assert_fails(aml_environment_version_put(&eout, &f.aml, &e), ERR_INPUT, "not neither");
	cr_assert_eq(stub_count(f.stub), 0);
	aml_environment_version_release(&e);
	arm_stub_stop(&f);
}

Test(aml_assets, a_put_without_what_the_service_requires_fails_before_any_call)
{
	struct stub_reply script[] = { { .status = 500, .body = "{}" } };
	char dn[] = "d", cn[] = "c", mn[] = "m", one[] = "1", type[] = "uri_file", empty[] = "";
	struct aml_data_version d = { .asset = { .name = dn, .version = one }, .data_type = type };
	struct aml_code_version c = { .asset = { .name = cn, .version = one }, .code_uri = empty };
	struct aml_model_version m = { .asset = { .name = mn, .version = one } };
	struct aml_data_version dout;
	struct aml_code_version cout;
	struct aml_model_version mout;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "mlw");
	cr_assert_fails(aml_data_version_put(&dout, &f.aml, &d), ERR_INPUT,
			"data asset 'd': dataType and dataUri are required");
	cr_assert_fails(aml_code_version_put(&cout, &f.aml, &c), ERR_INPUT,
			"code asset 'c': codeUri is required");
	cr_assert_fails(aml_model_version_put(&mout, &f.aml, &m), ERR_INPUT,
			"model 'm': modelUri is required");
	cr_assert_eq(stub_count(f.stub), 0);
	cr_assert_null(dout.asset.name);
	arm_stub_stop(&f);
}

Test(aml_assets, a_reply_without_a_required_field_or_with_a_wrong_object_names_it)
{
	cJSON *data = cJSON_Parse("{\"name\":\"1\",\"properties\":{\"dataType\":\"uri_file\"}}");
	cJSON *model = cJSON_Parse("{\"name\":\"1\",\"properties\":{\"flavors\":\"python\"}}");
	struct aml_data_version d;
	struct aml_model_version m;

	cr_assert_fails(aml_data_version_parse(&d, data), ERR_JSON,
			"data asset version: field 'properties.dataUri' is missing");
	cr_assert_null(d.data_type, "a failed parse leaves nothing to free");
	cr_assert_fails(aml_model_version_parse(&m, model), ERR_JSON,
			"model version: field 'properties.flavors' is a string, expected an object");
	cJSON_Delete(data);
	cJSON_Delete(model);
}

Test(aml_assets, a_list_with_one_bad_version_returns_none)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"value\":[{\"name\":\"2\",\"properties\":{\"dataType\":"
					 "\"uri_file\",\"dataUri\":\"u\"}},{\"name\":\"1\","
					 "\"properties\":{\"dataType\":\"uri_file\"}}]}" },
	};
	struct aml_data_version *v = (void *)1;
	size_t n = 7;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "mlw");
	cr_assert_fails(aml_data_version_list(&v, &n, &f.aml, "d", NULL), ERR_JSON,
			"field 'properties.dataUri' is missing");
	cr_assert_null(v);
	cr_assert_eq(n, 0);
	arm_stub_stop(&f);
}

Test(aml_assets, a_changed_create_only_field_is_a_conflict)
{
	struct stub_reply script[] = { {
		.status = 400,
		.body = "{\"error\":{\"code\":\"UserError\",\"message\":\"Data iris with version 1 is "
			"already registered and cannot be changed.\",\"innerError\":{\"code\":\"Immutable\"}}}",
	} };
	struct aml_data_version v = { 0 }, out;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "mlw");
	v.asset.name = xstrdup("iris");
	v.asset.version = xstrdup("1");
	v.data_type = xstrdup("uri_file");
	v.data_uri = xstrdup("azureml://datastores/workspaceblobstore/paths/iris2.csv");
	cr_assert_fails(aml_data_version_put(&out, &f.aml, &v), ERR_CONFLICT,
			"PUT " WS "/data/iris/versions/1: HTTP 400 UserError: Data iris with version 1 "
			"is already registered and cannot be changed.");
	cr_assert(strstr(stub_head(f.stub, 0), "PUT " WS "/data/iris/versions/1?api-version=2025-12-01 ") != NULL);
	aml_data_version_release(&v);
	arm_stub_stop(&f);
}

Test(aml_assets, other_bad_requests_stay_http_errors)
{
	struct stub_reply script[] = { {
		.status = 400,
		.body = "{\"error\":{\"code\":\"UserError\",\"message\":\"The field 'modelUri' is required.\"}}",
	} };
	struct aml_model_version v = { 0 }, out;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "mlw");
	v.asset.name = xstrdup("m");
	v.asset.version = xstrdup("1");
	v.model_uri = xstrdup("azureml://x");
	cr_assert_fails(aml_model_version_put(&out, &f.aml, &v), ERR_HTTP, "'modelUri' is required");
	aml_model_version_release(&v);
	arm_stub_stop(&f);
}

#define MODEL_V3                                                                          \
	"{\"id\":\"" WS "/models/churn/versions/3\",\"name\":\"3\",\"type\":\"Microsoft.MachineLearningServices/workspaces/models/versions\"," \
	"\"properties\":{\"description\":\"d\",\"tags\":{\"stage\":\"staged\",\"owner\":\"ml\",\"old\":\"x\"}," \
	"\"properties\":{\"accuracy\":\"0.93\"},\"flavors\":{\"python_function\":{\"data\":{\"loader_module\":\"m\"}}}," \
	"\"modelType\":\"mlflow_model\",\"modelUri\":\"azureml://jobs/j1/outputs/artifacts/paths/model/\"," \
	"\"jobName\":\"j1\",\"stage\":null,\"isAnonymous\":false,\"isArchived\":false,\"futureField\":{\"k\":[1,2]}}," \
	"\"systemData\":{\"createdAt\":\"2025-01-01T00:00:00Z\"}}"

Test(aml_assets, tag_update_puts_back_every_other_field)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = MODEL_V3 },
		{ .status = 200, .body = MODEL_V3 }, /* the PUT's answer; its content is not checked here */
	};
	static const char *const remove[] = { "old", "absent", NULL };
	struct aml_model_version out;
	cJSON *set = map("stage", "production", "approvedBy", "ci");
	cJSON *sent = NULL, *want = NULL;
	const char *body;
	size_t len;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 2, "mlw");
	cr_assert_ok(aml_model_set_tags(&out, &f.aml, "churn", "3", set, remove));
	cr_assert_eq(stub_count(f.stub), 2);
	cr_assert(strstr(stub_head(f.stub, 0), "GET " WS "/models/churn/versions/3?") != NULL);
	cr_assert(strstr(stub_head(f.stub, 1), "PUT " WS "/models/churn/versions/3?") != NULL);
	body = stub_body(f.stub, 1, &len);
	cr_assert_ok(json_parse(&sent, body, len, "PUT body"));
	/* What we expect: the GET body with only the tags changed. */
	want = cJSON_Parse(MODEL_V3);
	cJSON_ReplaceItemInObject(json_find(want, "properties") ? (cJSON *)json_find(want, "properties") : want,
				  "tags", cJSON_Parse("{\"stage\":\"production\",\"owner\":\"ml\",\"approvedBy\":\"ci\"}"));
	cr_assert(cJSON_Compare(sent, want, 1), "sent %s", body);
	cr_assert_str_eq(out.asset.version, "3");
	aml_model_version_release(&out);
	cJSON_Delete(set);
	cJSON_Delete(sent);
	cJSON_Delete(want);
	arm_stub_stop(&f);
}

Test(aml_assets, model_update_changes_only_what_it_is_asked)
{
	cJSON *body = cJSON_Parse(MODEL_V3);
	cJSON *before = json_duplicate(body);
	struct aml_model_update u = { .description = "new", .stage = "Production", .archive = 1 };
	cJSON *bad = cJSON_Parse("{\"stage\":1}");
	struct aml_model_update wrong = { .set_tags = bad };

	cr_assert_ok(aml_model_apply_update(body, &u));
	cr_assert_str_eq(json_string_or(body, "properties.description", ""), "new");
	cr_assert_str_eq(json_string_or(body, "properties.stage", ""), "Production");
	cr_assert(cJSON_IsTrue(json_find(body, "properties.isArchived")));
	cr_assert(cJSON_Compare(json_find(body, "properties.tags"), json_find(before, "properties.tags"), 1));
	cr_assert(cJSON_Compare(json_find(body, "properties.futureField"),
				json_find(before, "properties.futureField"), 1));
	cr_assert_fails(aml_model_apply_update(body, &wrong), ERR_INPUT, "model tag 'stage' is a number");
	cJSON_Delete(body);
	cJSON_Delete(before);
	cJSON_Delete(bad);
}

Test(aml_assets, version_lists_follow_next_links)
{
	char page1[1024];
	struct stub_reply script[2] = {
		{ .status = 200 },
		{ .status = 200, .body = "{\"value\":[{\"id\":\"" WS "/models/m/versions/1\",\"name\":\"1\","
					 "\"properties\":{\"modelUri\":\"u1\",\"tags\":{\"stage\":\"production\"}}}]}" },
	};
	struct aml_model_version *v = NULL;
	struct aml_list_options o = { .tags = "stage=production" };
	size_t n = 0;
	struct arm_stub f;

	/* The first page's nextLink points back at the stub (its URL is known
	 * only once it runs), so start it first with a placeholder. */
	script[0].body = "{}";
	arm_stub_start_aml(&f, script, 2, "mlw");
	snprintf(page1, sizeof(page1),
		 "{\"value\":[{\"id\":\"" WS "/models/m/versions/2\",\"name\":\"2\",\"properties\":"
		 "{\"modelUri\":\"u2\",\"tags\":{\"stage\":\"production\"}}}],\"nextLink\":\"%s" WS
		 "/models/m/versions?tags=stage%%3Dproduction&$skip=1&api-version=2025-12-01\"}",
		 stub_url(f.stub));
	script[0].body = page1;
	cr_assert_ok(aml_model_version_list(&v, &n, &f.aml, "m", &o));
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[0].asset.version, "2");
	cr_assert_str_eq(v[1].asset.version, "1");
	cr_assert_str_eq(v[1].asset.name, "m");
	cr_assert(strstr(stub_head(f.stub, 0), "GET " WS "/models/m/versions?tags=stage%3Dproduction&api-version=") != NULL);
	cr_assert(strstr(stub_head(f.stub, 1), "$skip=1") != NULL);
	aml_model_versions_free(v, n);
	arm_stub_stop(&f);
}

static int upload_calls;

static int fake_upload(void *ctx, const struct aml_pending_upload *target, const char *dir)
{
	(void)ctx;
	cr_assert_str_eq(dir, "src");
	cr_assert(strstr(target->sas_uri, "?sv=") != NULL);
	upload_calls++;
	return 0;
}

#define HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HASH32 "0123456789abcdef0123456789abcdef"

Test(aml_assets, an_unchanged_snapshot_is_not_uploaded_again)
{
	struct stub_reply script[] = { {
		.status = 200,
		.body = "{\"id\":\"" WS "/codes/src/versions/" HASH32 "\",\"name\":\"" HASH32 "\","
			"\"properties\":{\"codeUri\":\"https://a.blob.core.windows.net/c/LocalUpload/x\","
			"\"properties\":{\"hash_sha256\":\"" HASH "\",\"hash_version\":\"202208\"}}}",
	} };
	struct aml_code_version out;
	int uploaded = -1;
	struct arm_stub f;

	upload_calls = 0;
	arm_stub_start_aml(&f, script, 1, "mlw");
	cr_assert_ok(aml_code_ensure(&out, &uploaded, &f.aml, "src", HASH, "src", fake_upload, NULL));
	cr_assert_eq(uploaded, 0);
	cr_assert_eq(upload_calls, 0);
	cr_assert_eq(stub_count(f.stub), 1);
	cr_assert_str_eq(out.code_uri, "https://a.blob.core.windows.net/c/LocalUpload/x");
	aml_code_version_release(&out);
	arm_stub_stop(&f);
}

Test(aml_assets, a_new_snapshot_is_uploaded_and_registered)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = "{\"error\":{\"code\":\"UserError\",\"message\":\"not found\"}}" },
		{ .status = 200, .body = "{\"pendingUploadId\":\"u1\",\"pendingUploadType\":\"TemporaryBlobReference\","
					 "\"blobReferenceForConsumption\":{\"blobUri\":\"https://a.blob.core.windows.net/c/LocalUpload/u1\","
					 "\"credential\":{\"credentialType\":\"SAS\",\"sasUri\":"
					 "\"https://a.blob.core.windows.net/c/LocalUpload/u1?sv=2024&sig=zz\"}}}" },
		{ .status = 201, .body = "{\"id\":\"" WS "/codes/src/versions/" HASH32 "\",\"name\":\"" HASH32 "\","
					 "\"properties\":{\"codeUri\":\"https://a.blob.core.windows.net/c/LocalUpload/u1\"}}" },
	};
	struct aml_code_version out;
	cJSON *sent = NULL;
	const char *body;
	size_t len;
	int uploaded = -1;
	struct arm_stub f;

	upload_calls = 0;
	arm_stub_start_aml(&f, script, 3, "mlw");
	cr_assert_ok(aml_code_ensure(&out, &uploaded, &f.aml, "src", HASH, "src", fake_upload, NULL));
	cr_assert_eq(uploaded, 1);
	cr_assert_eq(upload_calls, 1);
	cr_assert(strstr(stub_head(f.stub, 1), "POST " WS "/codes/src/versions/" HASH32 "/startPendingUpload?") != NULL);
	body = stub_body(f.stub, 1, &len);
	cr_assert(strstr(body, "\"pendingUploadType\":\"TemporaryBlobReference\"") != NULL);
	body = stub_body(f.stub, 2, &len);
	cr_assert_ok(json_parse(&sent, body, len, "PUT body"));
	cr_assert_str_eq(json_string_or(sent, "properties.codeUri", ""),
			 "https://a.blob.core.windows.net/c/LocalUpload/u1");
	cr_assert_str_eq(json_string_or(sent, "properties.properties.hash_sha256", ""), HASH);
	cr_assert_str_eq(json_string_or(sent, "properties.properties.hash_version", ""), "202208");
	aml_code_version_release(&out);
	cJSON_Delete(sent);
	arm_stub_stop(&f);
}

Test(aml_assets, a_version_with_another_hash_is_a_conflict)
{
	struct stub_reply script[] = { {
		.status = 200,
		.body = "{\"name\":\"" HASH32 "\",\"properties\":{\"codeUri\":\"u\",\"properties\":{\"hash_sha256\":\"ff\"}}}",
	} };
	struct aml_code_version out;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "mlw");
	cr_assert_fails(aml_code_ensure(&out, NULL, &f.aml, "src", HASH, "src", fake_upload, NULL),
			ERR_CONFLICT, "exists with hash_sha256 ff");
	arm_stub_stop(&f);
}

Test(aml_assets, latest_version_comes_from_the_container)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"name\":\"churn\",\"properties\":{\"latestVersion\":\"3\",\"nextVersion\":\"4\"}}" },
		{ .status = 200, .body = MODEL_V3 },
	};
	struct stub_reply empty[] = {
		{ .status = 200, .body = "{\"name\":\"churn\",\"properties\":{\"latestVersion\":null}}" },
	};
	struct aml_model_version m;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 2, "mlw");
	cr_assert_ok(aml_model_version_latest(&m, &f.aml, "churn"));
	cr_assert_str_eq(m.asset.version, "3");
	cr_assert_str_eq(m.job_name, "j1");
	cr_assert(strstr(stub_head(f.stub, 0), "GET " WS "/models/churn?") != NULL);
	aml_model_version_release(&m);
	arm_stub_stop(&f);
	arm_stub_start_aml(&f, empty, 1, "mlw");
	cr_assert_fails(aml_model_version_latest(&m, &f.aml, "churn"), ERR_NOT_FOUND, "has no version yet");
	arm_stub_stop(&f);
}

Test(aml_assets, default_datastore_falls_back_to_workspaceblobstore)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"value\":[]}" },
		{ .status = 200, .body = "{\"name\":\"workspaceblobstore\",\"properties\":{\"datastoreType\":\"AzureBlob\","
					 "\"accountName\":\"acct\",\"containerName\":\"azureml-blobstore\","
					 "\"credentials\":{\"credentialsType\":\"AccountKey\"},\"isDefault\":true}}" },
	};
	struct aml_datastore d;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 2, "mlw");
	cr_assert_ok(aml_datastore_get_default(&d, &f.aml));
	cr_assert_str_eq(d.name, "workspaceblobstore");
	cr_assert_str_eq(d.container_name, "azureml-blobstore");
	cr_assert(d.is_default);
	cr_assert(strstr(stub_head(f.stub, 0), "GET " WS "/datastores?isDefault=true&api-version=") != NULL);
	cr_assert(strstr(stub_head(f.stub, 1), "GET " WS "/datastores/workspaceblobstore?") != NULL);
	aml_datastore_release(&d);
	arm_stub_stop(&f);
}
