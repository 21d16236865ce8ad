#include <string.h>

#include <criterion/criterion.h>

#include "azure/aml.h"
#include "support/check.h"

Test(aml, names_follow_azure_rules)
{
	char longname[300];

	cr_assert_ok(aml_check_name("churn-model_2", "model name"));
	cr_assert_fails(aml_check_name("-lead", "model name"), ERR_INPUT, "model name '-lead' is not valid");
	cr_assert_fails(aml_check_name("a b", "job name"), ERR_INPUT, "job name");
	cr_assert_fails(aml_check_name("", "model name"), ERR_INPUT, "model name is empty");
	memset(longname, 'a', 256);
	longname[256] = '\0';
	cr_assert_fails(aml_check_name(longname, "model name"), ERR_INPUT, "1-255");
	cr_assert_ok(aml_check_version("1.10", "version"));
	cr_assert_fails(aml_check_version("1/2", "version"), ERR_INPUT, "version '1/2'");
	cr_assert_ok(aml_check_resource_group("rg-ml.prod(1)"));
	cr_assert_fails(aml_check_resource_group("rg."), ERR_INPUT, "not ending in '.'");
	cr_assert_ok(aml_check_workspace("mlw-prod"));
	cr_assert_fails(aml_check_workspace("ml"), ERR_INPUT, "3-33");
}

Test(aml, paths_are_under_the_workspace)
{
	struct arm arm;
	struct aml aml;
	struct buf p = BUF_INIT;

	arm_init(&arm, NULL, TOKEN_SOURCE_NONE, NULL, "sub");
	cr_assert_ok(aml_init(&aml, &arm, "rg", "ws1"));
	aml_path(&p, &aml, "/models/%s/versions/%s", "m", "3");
	cr_assert_str_eq(p.data, "/subscriptions/sub/resourceGroups/rg/providers/"
				 "Microsoft.MachineLearningServices/workspaces/ws1/models/m/versions/3");
	aml_release(&aml);
	cr_assert_fails(aml_init(&aml, &arm, "rg", "w"), ERR_INPUT, "workspace name 'w'");
	buf_release(&p);
	aml_release(&aml);
	arm_release(&arm);
}
