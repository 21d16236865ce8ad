/* Scoring a managed online deployment against the sandbox, which runs the
 * example scoring script (deployments/score.py) on a model folder shaped as
 * training/train.py writes it, uploaded and registered here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/aml_code.h"
#include "azure/aml_endpoint.h"
#include "azure/aml_model.h"
#include "azure/aml_score.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "support/check.h"
#include "support/sandbox.h"
#include "support/tmpdir.h"

#define ENV_ID "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"

static char root[] = "/tmp/aml-score-sandbox-XXXXXX";

static void setup(void)
{
	tmpdir_make(root);
}

static void teardown(void)
{
	tmpdir_remove(root);
}

/* Uploads `dir` through a code pending upload; returns its blob folder URI. */
static char *upload(struct sandbox_aml *c, const char *name, const char *dir)
{
	struct aml_pending_upload p = { 0 };
	char *uri;

	cr_assert_ok(aml_code_start_pending_upload(&p, &c->aml, name, "1"));
	cr_assert_ok(aml_code_upload_blob(c->http, &p, dir));
	uri = xstrdup(p.blob_uri);
	aml_pending_upload_release(&p);
	return uri;
}

static char *register_code(struct sandbox_aml *c)
{
	struct aml_code_version v = { 0 }, out = { 0 };
	struct buf text = BUF_INIT, dir = BUF_INIT;
	char *id;

	buf_addf(&dir, "%s/code", root);
	cr_assert_ok(fs_read_file(&text, "deployments/score.py", 1 << 20));
	tmpdir_write(dir.data, "score.py", text.data);
	v.asset.name = xstrdup("score-src");
	v.asset.version = xstrdup("1");
	v.code_uri = upload(c, "score-src", dir.data);
	cr_assert_ok(aml_code_version_put(&out, &c->aml, &v));
	id = xstrdup(out.asset.id);
	aml_code_version_release(&v);
	aml_code_version_release(&out);
	buf_release(&text);
	buf_release(&dir);
	return id;
}

/* The model folder train.py writes (MLmodel, code/churn_model.py), with
 * made-up weights, registered as churn-classifier:1. */
static char *register_model(struct sandbox_aml *c)
{
	struct aml_model_version v = { 0 }, out = { 0 };
	struct buf cmd = BUF_INIT, dir = BUF_INIT;
	char *base, *id;

	buf_addf(&dir, "%s/model-root", root);
	buf_addf(&cmd, "python3 -c 'import json, sys, types; sys.modules[\"mlflow\"] = types.ModuleType(\"mlflow\"); "
		 "sys.path.insert(0, \"training\"); import train; d = \"%s/model\"; train.write_mlmodel(d, 0.8, 0.85); "
		 "json.dump({\"features\": train.NUMERIC + [\"contract=\" + k for k in train.CONTRACTS], "
		 "\"mean\": [24, 60, 2, 0, 0, 0], \"std\": [20, 20, 1.5, 1, 1, 1], "
		 "\"weights\": [-1.2, 0.8, 0.9, 0.7, -0.3, -0.8], \"bias\": -0.2, \"threshold\": 0.5}, "
		 "open(d + \"/model.json\", \"w\"))'", dir.data);
	cr_assert_eq(system(cmd.data), 0, "%s", cmd.data);
	base = upload(c, "score-model", dir.data);
	v.asset.name = xstrdup("churn-classifier");
	v.asset.version = xstrdup("1");
	v.model_type = xstrdup("mlflow_model");
	v.model_uri = xasprintf("%s/model", base);
	cr_assert_ok(aml_model_version_put(&out, &c->aml, &v));
	id = xstrdup(out.asset.id);
	aml_model_version_release(&v);
	aml_model_version_release(&out);
	buf_release(&cmd);
	buf_release(&dir);
	free(base);
	return id;
}

static void expect_answer(const struct aml_score_result *r, const char *expect)
{
	cJSON *want = cJSON_Parse(expect), *got = cJSON_Parse(r->body.data);

	cr_assert(aml_score_subset(want, got), "answer %s lacks %s", r->body.data, expect);
	cJSON_Delete(want);
	cJSON_Delete(got);
}

Test(aml_score_sandbox, the_example_script_scores_by_header_then_by_traffic, .init = setup, .fini = teardown)
{
	struct aml_endpoint_spec espec = { .location = "eastus", .auth_mode = "Key" };
	struct aml_deployment_spec dspec = { .location = "eastus", .environment_id = ENV_ID,
		.scoring_script = "score.py", .instance_type = "Standard_DS3_v2", .instance_count = 1 };
	struct aml_traffic blue[] = { { "blue", 100 } };
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	struct aml_deployment d = AML_DEPLOYMENT_INIT;
	struct aml_endpoint_keys keys = AML_ENDPOINT_KEYS_INIT;
	struct aml_score_result r = AML_SCORE_RESULT_INIT;
	struct buf req = BUF_INIT;
	struct sandbox_aml c;
	char *code_id, *model_id, *fault;

	sandbox_aml_open(&c);
	sandbox_config("{\"lro_step_seconds\":0.05,\"retry_after_seconds\":0}");
	c.arm.poll_default_ms = 50;
	code_id = register_code(&c);
	model_id = register_model(&c);
	dspec.code_id = code_id;
	dspec.model_id = model_id;
	cr_assert_ok(aml_endpoint_put(&e, &c.aml, "sbx-score", &espec, 60));
	cr_assert_ok(aml_deployment_put(&d, &c.aml, "sbx-score", "blue", &dspec, 120));
	cr_assert_str_eq(d.provisioning_state, "Succeeded");
	cr_assert_ok(aml_endpoint_list_keys(&keys, &c.aml, "sbx-score"));
	cr_assert_ok(fs_read_file(&req, "deployments/smoke-request.json", 1 << 20));

	/* 0% traffic: only the header reaches it. */
	cr_assert_ok(aml_score_post(&r, c.http, e.scoring_uri, keys.primary, "blue", req.data, req.len, 30000));
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body.data);
	cr_assert_str_eq(r.deployment, "blue");
	cr_assert_not_null(r.request_id);
	expect_answer(&r, "{\"predictions\":[1,0]}");
	cr_assert_ok(aml_score_post(&r, c.http, e.scoring_uri, keys.primary, NULL, req.data, req.len, 30000));
	cr_assert_eq(r.status, 424);

	cr_assert_ok(aml_endpoint_set_traffic(&e, &c.aml, "sbx-score", blue, 1, 60));
	cr_assert_ok(aml_score_post(&r, c.http, e.scoring_uri, keys.primary, NULL, req.data, req.len, 30000));
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.deployment, "blue");

	cr_assert_ok(aml_score_post(&r, c.http, e.scoring_uri, "not-the-key", NULL, req.data, req.len, 30000));
	cr_assert_eq(r.status, 401);

	/* A deployment gone bad answers its status; the client reports it, once. */
	fault = sandbox_fault("{\"kind\":\"unhealthy\",\"endpoint\":\"sbx-score\",\"deployment\":\"blue\","
			      "\"error_share\":1,\"status\":503}");
	cr_assert_ok(aml_score_post(&r, c.http, e.scoring_uri, keys.primary, NULL, req.data, req.len, 30000));
	cr_assert_eq(r.status, 503);
	cr_assert_eq(sandbox_fault_applied(fault), 1);

	log_reset_secrets();
	free(fault);
	free(code_id);
	free(model_id);
	buf_release(&req);
	aml_score_result_release(&r);
	aml_endpoint_keys_release(&keys);
	aml_deployment_release(&d);
	aml_endpoint_release(&e);
	sandbox_aml_close(&c);
}
