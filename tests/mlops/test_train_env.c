#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/error.h"
#include "mlops/train_env.h"
#include "support/check.h"

Test(train_env, parse_ref_takes_only_a_workspace_name_and_version)
{
	static const char *const other[] = {
		"azureml:train-env@latest", "azureml://registries/r/environments/e/versions/1",
		"azureml:/subscriptions/x/environments/e/versions/1", "train-env:1", "azureml:train-env",
		"azureml::1", "azureml:e:", "azureml:e:1:2",
	};
	char *name, *version;
	size_t i;

	cr_assert_ok(train_env_parse_ref(&name, &version, "azureml:train-env:1"));
	cr_assert_str_eq(name, "train-env");
	cr_assert_str_eq(version, "1");
	free(name);
	free(version);
	cr_assert_eq(train_env_parse_ref(&name, &version, NULL), ERR_NOT_FOUND);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		cr_assert_eq(train_env_parse_ref(&name, &version, other[i]), ERR_NOT_FOUND, "%s", other[i]);
		cr_assert_null(name);
	}
}
