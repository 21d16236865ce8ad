#include <string.h>

#include <criterion/criterion.h>

#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/infra.h"
#include "support/arm_stub.h"
#include "support/check.h"
#include "support/tmpdir.h"

static char root[] = "/tmp/infra-test-XXXXXX";

static void setup(void)
{
	tmpdir_make(root);
	fs_set_workspace(root);
}

static void teardown(void)
{
	fs_set_workspace(NULL);
	tmpdir_remove(root);
}

TestSuite(infra, .init = setup, .fini = teardown);

static const char *const patterns[] = { ".cloud/*.json", NULL };
static const char *const reserved[] = { "deployment-names", "outputs", "datasets", NULL };

#define STORAGE_TEMPLATE \
	"{\"$schema\":\"s\",\"resources\":[],\"parameters\":{\"sku\":{\"type\":\"string\"}," \
	"\"days\":{\"type\":\"int\"}},\"outputs\":{\"account\":{\"type\":\"string\"}," \
	"\"key\":{\"type\":\"securestring\"}}}"

static void write_templates(void)
{
	tmpdir_write(root, ".cloud/storage account.json", STORAGE_TEMPLATE);
	tmpdir_write(root, ".cloud/storage account.parameters.json",
		     "{\"parameters\":{\"sku\":{\"value\":\"Standard_LRS\"}}}");
	tmpdir_write(root, ".cloud/vault.json", "{\"$schema\":\"s\",\"resources\":[]}");
}

Test(infra, each_template_is_named_after_itself_and_the_commit_and_parameterised)
{
	const char *const overrides[] = { "days=7", NULL };
	struct infra_options o = { root, patterns, overrides, reserved, "3c5e0a7b9d1f" };
	struct infra_plan plan = INFRA_PLAN_INIT;

	write_templates();
	cr_assert_ok(infra_load(&plan, &o));
	cr_assert_eq(plan.nr, 2);
	/* ARM's alphabet: the space becomes '-'. */
	cr_assert_str_eq(plan.items[0].name.data, "storage-account-3c5e0a7");
	cr_assert_str_eq(plan.items[1].name.data, "vault-3c5e0a7");
	cr_assert_str_eq(json_string_or(plan.items[0].parameters, "sku.value", ""), "Standard_LRS");
	cr_assert_eq(json_find(plan.items[0].parameters, "days.value")->valueint, 7);
	cr_assert_null(plan.items[1].parameters->child, "the override is for the other template");
	cr_assert_eq(cJSON_GetArraySize(plan.names), 0);
	infra_release(&plan);
}

Test(infra, without_a_commit_the_time_names_the_deployment)
{
	struct infra_options o = { root, patterns, NULL, reserved, NULL };
	struct infra_plan plan = INFRA_PLAN_INIT;
	const char *name;

	write_templates();
	cr_assert_ok(infra_load(&plan, &o));
	name = plan.items[1].name.data;
	cr_assert_eq(strlen(name), strlen("vault-20250101-120000"), "%s", name);
	cr_assert_eq(strncmp(name, "vault-20", 8), 0, "%s", name);
	cr_assert_eq(name[14], '-', "%s", name);
	infra_release(&plan);
}

Test(infra, a_bad_override_in_any_template_fails_before_anything_is_named)
{
	const char *const overrides[] = { "days=seven", NULL };
	struct infra_options o = { root, patterns, overrides, reserved, "3c5e0a7b9d1f" };
	struct infra_plan plan = INFRA_PLAN_INIT;

	write_templates();
	cr_assert_fails(infra_load(&plan, &o), ERR_INPUT, "parameter 'days' is an int");
	infra_release(&plan);
	cr_assert_fails(infra_load(&plan, &(struct infra_options){ root, patterns, (const char *const[])
				  { "colour=red", NULL }, reserved, NULL }), ERR_INPUT,
			"no template declares 'colour'");
	infra_release(&plan);
}

#define DEP_PATH "/subscriptions/sub-1/resourcegroups/rg-1/providers/Microsoft.Resources/deployments/"

Test(infra, preview_then_deploy_keeps_the_changes_the_state_and_the_plain_outputs)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"properties\":{\"provisioningState\":\"Succeeded\"}}" },
		{ .status = 200, .body = "{\"status\":\"Succeeded\",\"properties\":{\"changes\":["
					 "{\"resourceId\":\"/sa\",\"changeType\":\"Create\"},"
					 "{\"resourceId\":\"/kv\",\"changeType\":\"Modify\",\"delta\":[{\"path\":"
					 "\"tags.team\",\"propertyChangeType\":\"Modify\",\"before\":\"a\","
					 "\"after\":\"b\"}]},{\"resourceId\":\"/old\",\"changeType\":\"Create\"}]}}" },
		{ .status = 200, .body = "{\"name\":\"n\",\"properties\":{\"provisioningState\":\"Succeeded\","
					 "\"duration\":\"PT3S\",\"outputs\":{\"account\":{\"type\":\"String\","
					 "\"value\":\"sa1\"},\"key\":{\"type\":\"SecureString\"}}}}" },
	};
	struct infra_options o = { root, patterns, NULL, reserved, "3c5e0a7b9d1f" };
	struct infra_plan plan = INFRA_PLAN_INIT;
	struct infra_target t;
	const struct infra_deployment *d;
	struct arm_stub f;

	write_templates();
	arm_stub_start(&f, script, 3);
	t = (struct infra_target){ &f.arm, "rg-1", ARM_DEPLOYMENT_COMPLETE, 60 };
	cr_assert_ok(infra_load(&plan, &o));
	d = &plan.items[0];
	cr_assert_ok(infra_preview(&plan, 0, &t));
	cr_assert(strstr(stub_head(f.stub, 1), "POST " DEP_PATH "storage-account-3c5e0a7/whatIf?") != NULL);
	cr_assert_str_eq(d->change_counts.data, " 2 Create, 1 Modify");
	cr_assert_eq(d->changes_nr, 3);
	cr_assert_str_eq(d->changes[1].type, "Modify");
	cr_assert_str_eq(d->changes[1].resource_id, "/kv");
	cr_assert_str_eq(d->changes[1].details, "tags.team: \"a\" -> \"b\"\n");
	cr_assert_null(d->changes[0].details);

	cr_assert_ok(infra_deploy(&plan, 0, &t));
	cr_assert(strstr(stub_head(f.stub, 2), "PUT " DEP_PATH "storage-account-3c5e0a7?") != NULL);
	cr_assert_str_eq(d->state, "Succeeded");
	cr_assert_eq(d->outputs_nr, 2);
	cr_assert_str_eq(d->outputs[0].text, "sa1");
	cr_assert(d->outputs[0].emit);
	cr_assert_str_eq(d->outputs[1].text, "***");
	cr_assert(!d->outputs[1].emit, "a secure output never becomes a step output");
	cr_assert_str_eq(cJSON_GetArrayItem(plan.names, 0)->valuestring, "storage-account-3c5e0a7");
	infra_keep_output(&plan, &d->outputs[0]);
	infra_keep_output(&plan, &d->outputs[0]);
	cr_assert_eq(cJSON_GetArraySize(plan.outputs), 1, "kept once");
	cr_assert_str_eq(json_string_or(plan.outputs, "account", ""), "sa1");
	infra_release(&plan);
	arm_stub_stop(&f);
	log_reset_secrets();
}

Test(infra, a_failed_deployment_says_so_and_adds_no_name)
{
	struct stub_reply script[] = {
		{ .status = 400, .body = "{\"error\":{\"code\":\"InvalidTemplateDeployment\",\"message\":\"no\"}}" },
	};
	struct infra_options o = { root, patterns, NULL, reserved, "3c5e0a7b9d1f" };
	struct infra_plan plan = INFRA_PLAN_INIT;
	struct infra_target t;
	struct arm_stub f;

	write_templates();
	arm_stub_start(&f, script, 1);
	t = (struct infra_target){ &f.arm, "rg-1", ARM_DEPLOYMENT_INCREMENTAL, 60 };
	cr_assert_ok(infra_load(&plan, &o));
	cr_assert_fails(infra_deploy(&plan, 1, &t), ERR_HTTP, "deployment vault-3c5e0a7: ");
	cr_assert_str_eq(plan.items[1].state, "Failed");
	cr_assert_eq(cJSON_GetArraySize(plan.names), 0);
	cr_assert_eq(plan.items[1].outputs_nr, 0);
	infra_release(&plan);
	arm_stub_stop(&f);
}
