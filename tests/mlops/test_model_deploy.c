/*
 * mlops/model_deploy: what the deploy plan reads from the repository before
 * any call to Azure. Each refusal is bad input (exit 2, nothing changed).
 * The Azure side is proven end to end by tests/workflows/model-cd-test.sh.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/fs.h"
#include "mlops/model_deploy.h"
#include "support/tmpdir.h"

static char root[] = "/tmp/model-deploy-test-XXXXXX";
static char *ws;

static const char deployment_yaml[] =
	"$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n"
	"model: azureml:churn:1\n"
	"code_configuration:\n"
	"  code: .\n"
	"  scoring_script: score.py\n"
	"environment: azureml:inference-env:1\n"
	"instance_type: Standard_DS3_v2\n";

static void tree(void)
{
	tmpdir_make(root);
	tmpdir_write(root, "ws/deployments/online.yml", deployment_yaml);
	tmpdir_write(root, "ws/deployments/score.py", "def init(): pass\ndef run(x): return x\n");
	tmpdir_write(root, "ws/deployments/smoke.json", "{\"input_data\": [[1, 2]]}\n");
	tmpdir_write(root, "ws/deployments/expect.json", "{\"predictions\": [0]}\n");
	tmpdir_write(root, "outside/smoke.json", "{\"secret\": true}\n");
	ws = xasprintf("%s/ws", root);
	fs_set_workspace(ws);
}

static void untree(void)
{
	fs_set_workspace(".");
	free(ws);
	ws = NULL;
	tmpdir_remove(root);
}

TestSuite(model_deploy, .init = tree, .fini = untree);

/* Loads with the smoke request and expected answer at these paths
 * (relative to the workspace; NULL: none). */
static int load(struct model_deploy *d, const char *smoke, const char *expect)
{
	struct model_deploy_options o;
	char *smoke_path = smoke ? xasprintf("%s/%s", ws, smoke) : NULL;
	char *expect_path = expect ? xasprintf("%s/%s", ws, expect) : NULL;
	int ret;

	memset(&o, 0, sizeof(o));
	o.model = "churn";
	o.endpoint = "churn-endpoint";
	o.workspace_root = ws;
	o.deployment_yaml = "deployments/online.yml";
	o.smoke_request = smoke_path;
	o.smoke_expect = expect_path;
	model_deploy_init(d, &o);
	ret = model_deploy_load(d);
	/* The paths are the options' only while loading. */
	d->o.smoke_request = d->o.smoke_expect = NULL;
	free(smoke_path);
	free(expect_path);
	return ret;
}

Test(model_deploy, reads_the_yaml_the_code_and_the_smoke_files)
{
	struct model_deploy d;

	cr_assert_eq(load(&d, "deployments/smoke.json", "deployments/expect.json"), 0, "%s",
		     error_message());
	cr_assert_str_eq(d.yaml.instance_type, "Standard_DS3_v2");
	cr_assert_not_null(d.code, "the code folder is scanned before anything is sent");
	cr_assert(d.code->nr >= 2, "online.yml, score.py and the JSON files are in the snapshot");
	cr_assert(strstr(d.smoke_body.data, "input_data"));
	cr_assert_not_null(d.smoke_expect);
	model_deploy_release(&d);
}

Test(model_deploy, a_smoke_request_outside_the_workspace_is_refused)
{
	struct model_deploy d;

	cr_assert_eq(load(&d, "../outside/smoke.json", NULL), ERR_INPUT);
	cr_assert(strstr(error_message(), "Input smoke-request"), "%s", error_message());
	cr_assert(strstr(error_message(), "not a file inside the workspace"), "%s", error_message());
	model_deploy_release(&d);
}

Test(model_deploy, a_smoke_request_linked_out_of_the_workspace_is_refused)
{
	struct model_deploy d;
	char *target = xasprintf("%s/outside/smoke.json", root);
	char *link = xasprintf("%s/link.json", ws); /* outside the code folder */

	cr_assert_eq(symlink(target, link), 0);
	cr_assert_eq(load(&d, "link.json", NULL), ERR_INPUT);
	cr_assert(strstr(error_message(), "Input smoke-request"), "%s", error_message());
	model_deploy_release(&d);
	free(target);
	free(link);
}

Test(model_deploy, a_smoke_request_that_is_not_json_names_its_line)
{
	struct model_deploy d;

	tmpdir_write(root, "ws/deployments/bad.json", "{\n  \"input_data\": [1, 2,]\n}\n");
	cr_assert_eq(load(&d, "deployments/bad.json", NULL), ERR_INPUT);
	cr_assert(strstr(error_message(), "bad.json:2:"), "%s", error_message());
	model_deploy_release(&d);
}

Test(model_deploy, a_missing_expected_answer_is_refused)
{
	struct model_deploy d;

	cr_assert_eq(load(&d, "deployments/smoke.json", "deployments/none.json"), ERR_INPUT);
	cr_assert(strstr(error_message(), "Input smoke-expect"), "%s", error_message());
	model_deploy_release(&d);
}

Test(model_deploy, a_deployment_yaml_error_comes_first_at_its_line)
{
	struct model_deploy d;

	tmpdir_write(root, "ws/deployments/online.yml",
		     "code_configuration:\n  code: ../../outside\n  scoring_script: smoke.json\n"
		     "environment: azureml:inference-env:1\ninstance_type: Standard_DS3_v2\n");
	cr_assert_eq(load(&d, "deployments/smoke.json", NULL), ERR_INPUT);
	cr_assert(strstr(error_message(), "online.yml:2:"), "%s", error_message());
	model_deploy_release(&d);
}
