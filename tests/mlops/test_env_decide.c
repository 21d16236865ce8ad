#include <string.h>

#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/error.h"
#include "mlops/env_decide.h"
#include "mlops/environment.h"
#include "support/check.h"
#include "support/env_fixture.h"

TestSuite(env_decide, .init = env_fixture_setup, .fini = env_fixture_teardown);

Test(env_decide, next_version_increments_integers_and_the_last_dotted_part)
{
	static const char *const cases[][2] = {
		{ "3", "4" }, { "1.9", "1.10" }, { "9", "10" }, { "99", "100" },
		{ "2.0.19", "2.0.20" }, { "1.99", "1.100" }, { "007", "008" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out = BUF_INIT;

		cr_assert_ok(env_next_version(&out, cases[i][0]));
		cr_assert_str_eq(out.data, cases[i][1]);
		buf_release(&out);
	}
}

Test(env_decide, next_version_refuses_what_it_cannot_increment)
{
	static const char *const cases[] = { "beta", "1.0-rc1", "1..2", "1.", ".1", "v2" };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out = BUF_INIT;

		cr_assert_fails(env_next_version(&out, cases[i]), ERR_INPUT,
				"set the next version explicitly");
		buf_release(&out);
	}
}

Test(env_decide, declared_mode_decisions)
{
	struct environment env = ENVIRONMENT_INIT;
	struct env_decision d = ENV_DECISION_INIT;
	struct env_registered same = env_fixture_registered("1", env_base_conda);
	struct env_registered latest = env_fixture_registered("3", env_base_conda);
	struct env_registered changed = env_fixture_registered("1", "dependencies: [python=3.10]\n");

	env_fixture_load(&env, "a", env_base_yml, env_base_conda);

	cr_assert_ok(env_decide(&d, &env, NULL, NULL, ENV_VERSIONING_DECLARED));
	cr_assert_eq(d.status, ENV_NEW);
	cr_assert_str_eq(d.version, "1");
	env_decision_release(&d);

	cr_assert_ok(env_decide(&d, &env, &same, &latest, ENV_VERSIONING_DECLARED));
	cr_assert_eq(d.status, ENV_UNCHANGED);
	cr_assert_eq(d.diff.nr, 0);
	env_decision_release(&d);

	cr_assert_ok(env_decide(&d, &env, &changed, &latest, ENV_VERSIONING_DECLARED));
	cr_assert_eq(d.status, ENV_NEEDS_BUMP);
	cr_assert_str_eq(d.version, "1");
	cr_assert_str_eq(d.next_version, "4");
	cr_assert_gt(d.diff.nr, 0);
	cr_assert_str_eq(env_status_name(d.status), "needs-version-bump");
	env_decision_release(&d);

	latest.version = "beta";
	cr_assert_ok(env_decide(&d, &env, &changed, &latest, ENV_VERSIONING_DECLARED));
	cr_assert_eq(d.status, ENV_NEEDS_BUMP);
	cr_assert_null(d.next_version, "no next version can be computed after 'beta'");
	env_decision_release(&d);
	environment_release(&env);
}

Test(env_decide, declared_mode_requires_a_version)
{
	struct environment env = ENVIRONMENT_INIT;
	struct env_decision d = ENV_DECISION_INIT;

	cr_assert_ok(environment_load(&env, ENV_FIXTURES "missing-version", ENV_VERSIONING_AUTO));
	cr_assert_fails(env_decide(&d, &env, NULL, NULL, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"missing-version/environment.yml:1:7: field 'version'");
	environment_release(&env);
}

Test(env_decide, auto_mode_decisions)
{
	struct environment env = ENVIRONMENT_INIT;
	struct env_decision d = ENV_DECISION_INIT;
	struct env_registered latest = env_fixture_registered("1.9", env_base_conda);
	struct env_registered changed = env_fixture_registered("1.9", "dependencies: [python=3.10]\n");

	cr_assert_ok(environment_load(&env, ENV_FIXTURES "missing-version", ENV_VERSIONING_AUTO));

	cr_assert_ok(env_decide(&d, &env, NULL, NULL, ENV_VERSIONING_AUTO));
	cr_assert_eq(d.status, ENV_NEW);
	cr_assert_str_eq(d.version, "1");
	env_decision_release(&d);

	latest.conda_text = NULL; /* missing-version has an image and no conda file */
	cr_assert_ok(env_decide(&d, &env, NULL, &latest, ENV_VERSIONING_AUTO));
	cr_assert_eq(d.status, ENV_UNCHANGED);
	cr_assert_str_eq(d.version, "1.9");
	env_decision_release(&d);

	cr_assert_ok(env_decide(&d, &env, NULL, &changed, ENV_VERSIONING_AUTO));
	cr_assert_eq(d.status, ENV_CHANGED_AUTO);
	cr_assert_str_eq(d.version, "1.10");
	cr_assert_str_eq(d.next_version, "1.10");
	cr_assert_not_null(env_fixture_find_change(&d.diff, "conda_file", "a conda file", NULL));
	env_decision_release(&d);

	changed.version = "beta";
	cr_assert_fails(env_decide(&d, &env, NULL, &changed, ENV_VERSIONING_AUTO), ERR_INPUT,
			"'beta', which cannot be incremented");
	cr_assert_null(d.version);
	environment_release(&env);
}

Test(env_decide, auto_mode_with_a_declared_version)
{
	struct environment env = ENVIRONMENT_INIT;
	struct env_decision d = ENV_DECISION_INIT;
	struct env_registered same = env_fixture_registered("1", env_base_conda);
	struct env_registered latest = env_fixture_registered("5", "dependencies: [x]\n");
	struct env_registered changed = env_fixture_registered("1", "dependencies: [python=3.10]\n");

	env_fixture_load(&env, "a", env_base_yml, env_base_conda);

	/* Declared and not registered: created as declared. */
	cr_assert_ok(env_decide(&d, &env, NULL, &latest, ENV_VERSIONING_AUTO));
	cr_assert_eq(d.status, ENV_NEW);
	cr_assert_str_eq(d.version, "1");
	env_decision_release(&d);

	/* Declared, registered and the same: the declared version pins it. */
	cr_assert_ok(env_decide(&d, &env, &same, &latest, ENV_VERSIONING_AUTO));
	cr_assert_eq(d.status, ENV_UNCHANGED);
	cr_assert_str_eq(d.version, "1");
	env_decision_release(&d);

	/* Declared, registered and different: the version after the latest. */
	cr_assert_ok(env_decide(&d, &env, &changed, &latest, ENV_VERSIONING_AUTO));
	cr_assert_eq(d.status, ENV_CHANGED_AUTO);
	cr_assert_str_eq(d.version, "6");
	env_decision_release(&d);
	environment_release(&env);
}

Test(env_decide, an_uncomparable_build_context)
{
	struct environment env = ENVIRONMENT_INIT;
	struct env_decision d = ENV_DECISION_INIT;
	struct env_registered reg = { "3", NULL, NULL, NULL, NULL, 1 };

	cr_assert_ok(environment_load(&env, ENV_FIXTURES "build-ok", ENV_VERSIONING_DECLARED));
	cr_assert_ok(env_decide(&d, &env, &reg, &reg, ENV_VERSIONING_DECLARED));
	cr_assert_eq(d.status, ENV_UNCHANGED);
	cr_assert(d.uncertain);
	env_decision_release(&d);

	cr_assert_ok(env_decide(&d, &env, &reg, &reg, ENV_VERSIONING_AUTO));
	cr_assert_eq(d.status, ENV_CHANGED_AUTO);
	cr_assert_str_eq(d.version, "4");
	cr_assert(d.uncertain);
	env_decision_release(&d);
	environment_release(&env);
}
