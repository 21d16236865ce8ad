#include <string.h>

#include <criterion/criterion.h>

#include "mlops/env_compare.h"
#include "mlops/environment.h"
#include "support/check.h"
#include "support/env_fixture.h"

TestSuite(env_compare, .init = env_fixture_setup, .fini = env_fixture_teardown);

Test(env_compare, a_registered_conda_string_compares_equal_to_the_local_file)
{
	struct environment env = ENVIRONMENT_INIT;
	struct env_diff diff = ENV_DIFF_INIT;
	/* As another tool would have serialised it: other order, quoting, flow style. */
	struct env_registered reg = env_fixture_registered("1",
		"channels:\n- conda-forge\ndependencies:\n- python=3.11\n- pip\n- pip:\n"
		"  - mlflow==2.12.2\n  - 'pandas==2.2.2'\nname: train\n");

	env_fixture_load(&env, "a", env_base_yml, env_base_conda);
	cr_assert_eq(env_compare(&diff, &env, &reg), ENV_SAME);
	cr_assert_eq(diff.nr, 0);
	env_diff_release(&diff);
	environment_release(&env);
}

Test(env_compare, the_diff_lists_changed_added_and_removed_dependencies)
{
	static const char *const want[][3] = {
		{ "image", "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:old", ENV_IMAGE },
		{ "conda_file.channels", "[\"defaults\"]", "[\"conda-forge\"]" },
		{ "conda_file.dependencies", "python=3.10", "python=3.11" },
		{ "conda_file.dependencies", "numpy", NULL },
		{ "conda_file.dependencies.pip", "mlflow==2.11.0", "mlflow==2.12.2" },
		{ "conda_file.dependencies.pip", "scipy", NULL },
	};
	struct environment env = ENVIRONMENT_INIT;
	struct env_diff diff = ENV_DIFF_INIT;
	struct env_registered reg = env_fixture_registered("1",
		"name: train\nchannels: [defaults]\ndependencies:\n  - python=3.10\n  - pip\n"
		"  - numpy\n  - pip:\n    - mlflow==2.11.0\n    - pandas==2.2.2\n    - scipy\n");
	size_t i;

	reg.image = want[0][1];
	env_fixture_load(&env, "a", env_base_yml, env_base_conda);
	cr_assert_eq(env_compare(&diff, &env, &reg), ENV_DIFFERENT);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(env_fixture_find_change(&diff, want[i][0], want[i][1], want[i][2]),
				   "no change of %s from %s to %s", want[i][0], want[i][1],
				   want[i][2] ? want[i][2] : "(none)");
	cr_assert_eq(diff.nr, i, "unexpected extra changes: %zu", diff.nr);
	env_diff_release(&diff);
	environment_release(&env);
}

Test(env_compare, a_build_context_is_compared_by_our_hash_tag)
{
	struct environment env = ENVIRONMENT_INIT;
	struct env_diff diff = ENV_DIFF_INIT;
	struct env_registered reg = { "3", NULL, NULL, NULL, NULL, 1 };

	cr_assert_ok(environment_load(&env, ENV_FIXTURES "build-ok", ENV_VERSIONING_DECLARED));
	cr_assert_eq(env_compare(&diff, &env, &reg), ENV_UNKNOWN);
	cr_assert_eq(diff.nr, 1);
	env_diff_release(&diff);
	reg.content_hash_tag = env.content_hash;
	cr_assert_eq(env_compare(&diff, &env, &reg), ENV_SAME);
	reg.content_hash_tag = "0000";
	cr_assert_eq(env_compare(&diff, &env, &reg), ENV_DIFFERENT);
	cr_assert_not_null(env_fixture_find_change(&diff, "build", "0000", env.content_hash));
	env_diff_release(&diff);
	environment_release(&env);
}
