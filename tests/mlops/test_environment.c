#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/fs.h"
#include "mlops/env_plan.h"
#include "mlops/environment.h"
#include "support/check.h"
#include "support/env_fixture.h"
#include "support/tmpdir.h"

static const char *root;

static void setup(void)
{
	/* These tests read both tests/fixtures and /tmp: the whole file system
	 * is their workspace, but for the containment tests, which narrow it. */
	env_fixture_setup();
	root = env_fixture_root();
}

TestSuite(environment, .init = setup, .fini = env_fixture_teardown);

/* ---- validation: every error names file, line, column and field ---- */

struct bad_case {
	const char *dir;
	int code;
	const char *where;   /* "<file>:<line>:<col>" */
	const char *field;   /* the field (or what is wrong) named in the message */
};

static const struct bad_case bad_cases[] = {
	{ "malformed-yaml", ERR_YAML, "malformed-yaml/environment.yml:4:", "did not find expected" },
	{ "missing-name", ERR_YAML, "missing-name/environment.yml:2:1:", "'name'" },
	{ "missing-version", ERR_INPUT, "missing-version/environment.yml:1:7:", "field 'version'" },
	{ "bad-name", ERR_INPUT, "bad-name/environment.yml:1:7:", "field 'name'" },
	{ "image-and-build", ERR_INPUT, "image-and-build/environment.yml:5:3:",
	  "fields 'image' (line 3) and 'build' (line 5)" },
	{ "conda-missing", ERR_INPUT, "conda-missing/environment.yml:4:13:", "field 'conda_file'" },
	{ "bad-conda-spec", ERR_INPUT, "bad-conda-spec/conda.yml:5:5:",
	  "field 'dependencies[1]': invalid conda spec 'numpy>=': '>=' needs a version" },
	{ "bad-pip-spec", ERR_INPUT, "bad-pip-spec/conda.yml:8:9:",
	  "field 'dependencies[2].pip[1]': invalid pip requirement 'pandas=2.2.2'" },
	{ "bad-image", ERR_INPUT, "bad-image/environment.yml:3:8:",
	  "field 'image': 'mcr.microsoft.com/AzureML/openmpi:latest' is not a Docker image "
	  "reference: repository names must be lowercase" },
	{ "unknown-field", ERR_INPUT, "unknown-field/environment.yml:4:8:", "field 'conda': unknown" },
	{ "unknown-conda-key", ERR_INPUT, "unknown-conda-key/conda.yml:4:3:",
	  "field 'dependency': unknown" },
	{ "build-escape", ERR_INPUT, "build-escape/environment.yml:4:9:",
	  "field 'build.path': '../build-ok/docker' must be a folder inside" },
	{ "tag-list", ERR_YAML, "tag-list/environment.yml:6:11:",
	  "field 'tags.owners' is an array, expected a string, number or boolean" },
	{ "conda-with-build", ERR_INPUT, "conda-with-build/environment.yml:5:13:",
	  "field 'conda_file': only with 'image'" },
	{ "bad-os-type", ERR_INPUT, "bad-os-type/environment.yml:4:10:", "field 'os_type'" },
};

Test(environment, every_validation_error_names_file_line_column_and_field)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct environment env = ENVIRONMENT_INIT;
		struct buf dir = BUF_INIT;
		const struct error_location *where;

		buf_addf(&dir, ENV_FIXTURES "%s", c->dir);
		cr_assert_fails(environment_load(&env, dir.data, ENV_VERSIONING_DECLARED), c->code, c->where);
		cr_assert(strstr(error_message(), c->field), "%s: message '%s' lacks '%s'", c->dir,
			  error_message(), c->field);
		where = error_where();
		cr_assert_not_null(where, "%s: no error location", c->dir);
		cr_assert_gt(where->line, 0, "%s: no line", c->dir);
		cr_assert_null(env.yaml_path, "%s: a failed load leaves the environment released", c->dir);
		buf_release(&dir);
	}
}

Test(environment, a_missing_version_is_fine_in_auto_mode)
{
	struct environment env = ENVIRONMENT_INIT;

	cr_assert_ok(environment_load(&env, ENV_FIXTURES "missing-version", ENV_VERSIONING_AUTO));
	cr_assert_null(env.version);
	cr_assert_eq(env.version_at.line, 1);
	environment_release(&env);
}

Test(environment, finds_the_yaml_by_shape_and_reads_versions_as_written)
{
	struct environment env = ENVIRONMENT_INIT;

	cr_assert_ok(environment_load(&env, ENV_FIXTURES "discovered/", ENV_VERSIONING_DECLARED));
	cr_assert_str_eq(env.yaml_path, ENV_FIXTURES "discovered/train-env.yaml");
	cr_assert_str_eq(env.name, "discovered");
	cr_assert_str_eq(env.version, "1.9");
	cr_assert_str_eq(env.os_type, "linux");
	cr_assert_str_eq(env.conda_path, ENV_FIXTURES "discovered/deps.yml");
	cr_assert_eq(env.version_at.line, 2);
	cr_assert_str_eq(env.version_at.file, env.yaml_path);
	environment_release(&env);
}

Test(environment, loads_a_build_context_and_hashes_its_files)
{
	struct environment env = ENVIRONMENT_INIT;

	cr_assert_ok(environment_load(&env, ENV_FIXTURES "build-ok", ENV_VERSIONING_DECLARED));
	cr_assert_null(env.image);
	cr_assert_str_eq(env.build_path, ENV_FIXTURES "build-ok/docker");
	cr_assert_str_eq(env.dockerfile_path, "Dockerfile.gpu");
	cr_assert(strstr(env.canonical, "dockerfile \"Dockerfile.gpu\"\n"));
	cr_assert(strstr(env.canonical, " \"scripts/setup.sh\"\n"), "%s", env.canonical);
	cr_assert(strstr(env.canonical, " \"requirements.txt\"\n"));
	cr_assert_eq(strlen(env.content_hash), 64);
	environment_release(&env);
}

Test(environment, the_shipped_examples_validate)
{
	static const char *const dirs[] = { "environments/train", "environments/inference" };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct environment env = ENVIRONMENT_INIT;

		cr_assert_ok(environment_load(&env, dirs[i], ENV_VERSIONING_DECLARED));
		cr_assert_not_null(env.image);
		cr_assert_not_null(env.conda.canonical);
		cr_assert(strstr(env.conda.canonical, "==") != NULL, "pip deps are pinned");
		environment_release(&env);
	}
}

Test(environment, versioning_input_is_declared_or_auto)
{
	enum env_versioning v;

	cr_assert_ok(env_versioning_parse(&v, "auto"));
	cr_assert_eq(v, ENV_VERSIONING_AUTO);
	cr_assert_ok(env_versioning_parse(&v, "declared"));
	cr_assert_eq(v, ENV_VERSIONING_DECLARED);
	cr_assert_fails(env_versioning_parse(&v, "always"), ERR_INPUT, "'always' is not valid");
}

/* ---- the content hash ---- */

Test(environment, formatting_comments_key_order_and_quoting_do_not_change_the_hash)
{
	struct environment a = ENVIRONMENT_INIT, b = ENVIRONMENT_INIT;

	env_fixture_load(&a, "a", env_base_yml, env_base_conda);
	env_fixture_load(&b, "b",
			 "# the same environment, written differently\n"
			 "description: other words\ntags: {team: ml}\n"
			 "conda_file: ./conda.yml\nimage: '" ENV_IMAGE "'\nversion: 7\nname: other-name\n",
			 "# comment\n"
			 "dependencies: [\"python=3.11\", pip, {pip: ['mlflow==2.12.2', pandas==2.2.2]}]\n"
			 "channels: [conda-forge]   # trailing comment\nname: \"train\"\n");
	cr_assert_str_eq(a.conda.canonical, b.conda.canonical);
	cr_assert_str_eq(a.content_hash, b.content_hash);
	environment_release(&a);
	environment_release(&b);
}

static void assert_hash_differs(const char *yml, const char *conda)
{
	struct environment a = ENVIRONMENT_INIT, b = ENVIRONMENT_INIT;

	env_fixture_load(&a, "a", env_base_yml, env_base_conda);
	env_fixture_load(&b, "b", yml, conda);
	cr_assert_str_neq(a.content_hash, b.content_hash, "%s\n%s", a.canonical, b.canonical);
	environment_release(&a);
	environment_release(&b);
}

Test(environment, a_changed_dependency_image_tag_or_os_changes_the_hash)
{
	struct buf conda = BUF_INIT;
	const char *pin = strstr(env_base_conda, "pandas==2.2.2");

	buf_add(&conda, env_base_conda, (size_t)(pin - env_base_conda));
	buf_addstr(&conda, "pandas==2.2.1\n");
	assert_hash_differs(env_base_yml, conda.data);
	assert_hash_differs("name: train\nversion: \"1\"\nimage: mcr.microsoft.com/azureml/"
			    "openmpi4.1.0-ubuntu22.04:20240101\nconda_file: conda.yml\n", env_base_conda);
	assert_hash_differs("name: train\nversion: \"1\"\nimage: " ENV_IMAGE "\nconda_file: conda.yml\n"
			    "os_type: windows\n", env_base_conda);
	buf_release(&conda);
}

Test(environment, a_changed_build_file_changes_the_hash_and_metadata_does_not)
{
	struct environment a = ENVIRONMENT_INIT, b = ENVIRONMENT_INIT, c = ENVIRONMENT_INIT;
	char dir[256];

	tmpdir_write(root, "ctx/docker/Dockerfile", "FROM ubuntu:22.04\n");
	tmpdir_write(root, "ctx/docker/app/req.txt", "mlflow==2.12.2\n");
	snprintf(dir, sizeof(dir), "%s/ctx", root);
	env_fixture_load(&a, "ctx", "name: ctx\nversion: \"1\"\nbuild:\n  path: docker\n", NULL);
	env_fixture_load(&b, "ctx",
			 "name: ctx\nversion: \"2\"\ndescription: new words\nbuild: {path: ./docker}\n",
			 NULL);
	cr_assert_str_eq(a.content_hash, b.content_hash);
	tmpdir_write(root, "ctx/docker/app/req.txt", "mlflow==2.12.1\n");
	cr_assert_ok(environment_load(&c, dir, ENV_VERSIONING_DECLARED));
	cr_assert_str_neq(a.content_hash, c.content_hash);
	environment_release(&a);
	environment_release(&b);
	environment_release(&c);
}

Test(environment, a_context_holding_the_yaml_hashes_without_it)
{
	struct environment a = ENVIRONMENT_INIT, b = ENVIRONMENT_INIT;

	tmpdir_write(root, "dot/Dockerfile", "FROM ubuntu:22.04\n");
	env_fixture_load(&a, "dot", "name: dot\nversion: \"1\"\nbuild: {path: .}\n", NULL);
	env_fixture_load(&b, "dot", "name: dot\nversion: \"1\"\ndescription: edited\nbuild: {path: .}\n",
			 NULL);
	cr_assert_str_eq(a.content_hash, b.content_hash);
	cr_assert_null(strstr(a.canonical, "environment.yml"), "%s", a.canonical);
	environment_release(&a);
	environment_release(&b);
}

Test(environment, inference_config_routes_are_checked)
{
	struct environment env = ENVIRONMENT_INIT;
	char dir[256];

	env_fixture_load(&env, "inf",
			 "name: inf\nversion: \"1\"\nimage: " ENV_IMAGE "\ninference_config:\n"
			 "  liveness_route: {path: /, port: 5001}\n"
			 "  readiness_route: {path: /ready, port: 5001}\n"
			 "  scoring_route: {path: /score, port: 5001}\n", NULL);
	environment_release(&env);
	snprintf(dir, sizeof(dir), "%s/inf", root);
	tmpdir_write(root, "inf/environment.yml",
		     "name: inf\nversion: \"1\"\nimage: " ENV_IMAGE "\ninference_config:\n"
		     "  scoring_route: {path: /score, port: http}\n");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"environment.yml:5:39: field 'inference_config.scoring_route.port'");
	tmpdir_write(root, "inf/environment.yml",
		     "name: inf\nversion: \"1\"\nimage: " ENV_IMAGE "\ninference_config:\n"
		     "  health_route: {path: /, port: 1}\n");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"field 'inference_config.health_route': unknown");
}

Test(environment, the_yaml_must_be_unambiguous)
{
	struct environment env = ENVIRONMENT_INIT;
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/two", root);
	tmpdir_write(root, "two/env.yml", "name: a\nversion: \"1\"\nimage: ubuntu\n");
	tmpdir_write(root, "two/environment.yaml", "name: b\nversion: \"1\"\nimage: ubuntu\n");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"both environment.yaml and env.yml");

	snprintf(dir, sizeof(dir), "%s/shape", root);
	tmpdir_write(root, "shape/a.yml", "name: a\nversion: \"1\"\nimage: ubuntu\n");
	tmpdir_write(root, "shape/b.yml", "name: b\nversion: \"1\"\nbuild: {path: .}\n");
	tmpdir_write(root, "shape/conda.yml", "name: c\ndependencies: [python]\n");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"several environment YAML files");

	snprintf(dir, sizeof(dir), "%s/none", root);
	tmpdir_write(root, "none/conda.yml", "name: c\ndependencies: [python]\n");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"no environment YAML");
	cr_assert_fails(environment_load(&env, "tests/fixtures/environments/nope", ENV_VERSIONING_DECLARED),
			ERR_IO, "not a folder");
}

/* The only YAML of an unconventional name is broken: its own error, with
 * the line it names, is the answer. */
Test(environment, a_broken_yaml_that_may_be_the_environment_keeps_its_location)
{
	struct environment env = ENVIRONMENT_INIT;
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/broken", root);
	tmpdir_write(root, "broken/train.yml", "name: train\nimage: [unclosed\n");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_YAML, "train.yml");
	cr_assert_not_null(error_where(), "the YAML error keeps its file and line: %s", error_message());
	cr_assert(strstr(error_where()->file, "broken/train.yml"), "%s", error_where()->file);
	cr_assert_gt(error_where()->line, 1, "%s", error_message());
}

/* ---- a repository cannot make Environment-CD register or upload runner files ---- */

/* A workspace of its own under root, and a runner file outside it. */
static char *hostile_setup(void)
{
	char *ws = xasprintf("%s/ws", root);

	tmpdir_write(root, "runner/shadow", "root:$6$secret-hash:19000:0:99999:7:::\n");
	tmpdir_write(root, "runner/conda.yml", "name: stolen\ndependencies: [secret-package]\n");
	tmpdir_write(root, "runner/environment.yml", "name: evil\nversion: \"1\"\nimage: ubuntu\n");
	tmpdir_write(root, "ws/outside.yml", "name: shared\ndependencies: [python]\n");
	cr_assert_ok(fs_mkdirs(ws));
	fs_set_workspace(ws);
	return ws;
}

static void link_to(const char *rel, const char *target_rel)
{
	char *path = xasprintf("%s/%s", root, rel), *target = xasprintf("%s/%s", root, target_rel);

	cr_assert_eq(symlink(target, path), 0, "symlink %s", path);
	free(path);
	free(target);
}

Test(environment, a_conda_file_climbing_out_of_the_environment_folder_is_refused)
{
	struct environment env = ENVIRONMENT_INIT;
	char *ws = hostile_setup(), *dir = xasprintf("%s/environments/e", ws);

	tmpdir_write(root, "ws/environments/e/environment.yml",
		     "name: e\nversion: \"1\"\nimage: " ENV_IMAGE "\nconda_file: ../../outside.yml\n");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"e/environment.yml:4:13: field 'conda_file': '../../outside.yml' must be a "
			"file inside the environment folder");
	free(dir);
	free(ws);
}

Test(environment, a_conda_file_that_links_to_a_runner_file_is_not_registered)
{
	struct environment env = ENVIRONMENT_INIT;
	char *ws = hostile_setup(), *dir = xasprintf("%s/environments/e", ws);

	tmpdir_write(root, "ws/environments/e/environment.yml",
		     "name: e\nversion: \"1\"\nimage: " ENV_IMAGE "\nconda_file: conda.yml\n");
	link_to("ws/environments/e/conda.yml", "runner/conda.yml");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"e/environment.yml:4:13: field 'conda_file': 'conda.yml' must be a file inside");
	cr_assert_null(env.conda.canonical);
	free(dir);
	free(ws);
}

Test(environment, a_build_context_with_a_link_to_a_runner_file_is_refused_at_build_path)
{
	struct environment env = ENVIRONMENT_INIT;
	char *ws = hostile_setup(), *dir = xasprintf("%s/environments/b", ws);

	tmpdir_write(root, "ws/environments/b/environment.yml",
		     "name: b\nversion: \"1\"\nbuild:\n  path: docker\n");
	tmpdir_write(root, "ws/environments/b/docker/Dockerfile", "FROM ubuntu\nCOPY . /\n");
	link_to("ws/environments/b/docker/shadow", "runner/shadow");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"b/environment.yml:4:9: field 'build.path': ");
	cr_assert(strstr(error_message(), "docker/shadow: a symbolic link to outside the folder"),
		  "%s", error_message());
	free(dir);
	free(ws);
}

Test(environment, a_build_context_that_is_a_link_out_of_the_workspace_is_refused)
{
	struct environment env = ENVIRONMENT_INIT;
	char *ws = hostile_setup(), *dir = xasprintf("%s/environments/c", ws);

	tmpdir_write(root, "ws/environments/c/environment.yml",
		     "name: c\nversion: \"1\"\nbuild:\n  path: docker\n");
	tmpdir_write(root, "runner/docker/Dockerfile", "FROM ubuntu\n");
	link_to("ws/environments/c/docker", "runner/docker");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"c/environment.yml:4:9: field 'build.path': 'docker' must be a folder inside");
	free(dir);
	free(ws);
}

Test(environment, an_environment_folder_that_links_out_of_the_workspace_is_refused)
{
	struct environment env = ENVIRONMENT_INIT;
	struct env_plan plan = ENV_PLAN_INIT;
	char *ws = hostile_setup(), *envs = xasprintf("%s/environments", ws);

	tmpdir_write(root, "ws/environments/good/environment.yml",
		     "name: good\nversion: \"1\"\nimage: " ENV_IMAGE "\n");
	link_to("ws/environments/evil", "runner");
	cr_assert_ok(env_plan_load(&plan, envs, ENV_VERSIONING_DECLARED));
	cr_assert_eq(plan.nr, 2);
	cr_assert_eq(plan.invalid, 1);
	cr_assert(plan.items[0].failed, "environments/evil is refused");
	cr_assert(strstr(plan.items[0].error.message, "environments/evil: an environment folder that "
		  "leads outside the workspace"), "%s", plan.items[0].error.message);
	cr_assert(strstr(error_saved_where(&plan.items[0].error)->file, "environments/evil"), "%s",
		  plan.items[0].error.file);
	cr_assert(!plan.items[1].failed, "%s", plan.items[1].error.message);
	env_plan_release(&plan);
	environment_release(&env);
	free(envs);
	free(ws);
}

Test(environment, an_environment_yaml_that_links_to_a_runner_file_is_not_read)
{
	struct environment env = ENVIRONMENT_INIT;
	char *ws = hostile_setup(), *dir = xasprintf("%s/environments/y", ws);
	char *yml = xasprintf("%s/environment.yml", dir);

	cr_assert_ok(fs_mkdirs(dir));
	link_to("ws/environments/y/environment.yml", "runner/shadow");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"leads outside the workspace");
	cr_assert_null(strstr(error_message(), "secret-hash"), "%s", error_message());
	/* Found by shape, too. */
	cr_assert_eq(unlink(yml), 0);
	link_to("ws/environments/y/passwd.yml", "runner/shadow");
	cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
			"leads outside the workspace");
	cr_assert_null(strstr(error_message(), "secret-hash"), "%s", error_message());
	free(yml);
	free(dir);
	free(ws);
}

Test(environment, versions_are_whole_numbers_from_one_without_leading_zeros)
{
	static const char *const bad[][2] = {
		{ "latest", "is reserved" }, { "\"latest\"", "is reserved" }, { "LATEST", "is reserved" },
		{ "0", "versions start at 1" }, { "\"0.0\"", "versions start at 1" },
		{ "01", "leading zero" }, { "\"007\"", "leading zero" }, { "1.01", "leading zero" },
		{ "1e3", "(1000, not 1e3)" }, { "\"1E3\"", "not a version" }, { "0x10", "not a version" },
	};
	static const char *const good[] = { "1", "\"2\"", "10", "1.10", "\"2.0.1\"", "beta", "0.1" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct environment env = ENVIRONMENT_INIT;
		struct buf yml = BUF_INIT;
		char *dir = xasprintf("%s/v%zu", root, i);

		buf_addf(&yml, "name: v\nversion: %s\nimage: " ENV_IMAGE "\n", bad[i][0]);
		tmpdir_write(dir, "environment.yml", yml.data);
		cr_assert_fails(environment_load(&env, dir, ENV_VERSIONING_DECLARED), ERR_INPUT,
				"environment.yml:2:10: field 'version': '");
		cr_assert(strstr(error_message(), bad[i][1]), "%s: %s", bad[i][0], error_message());
		buf_release(&yml);
		free(dir);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct environment env = ENVIRONMENT_INIT;
		struct buf yml = BUF_INIT;
		char *dir = xasprintf("%s/g%zu", root, i);

		buf_addf(&yml, "name: v\nversion: %s\nimage: " ENV_IMAGE "\n", good[i]);
		tmpdir_write(dir, "environment.yml", yml.data);
		cr_assert_ok(environment_load(&env, dir, ENV_VERSIONING_DECLARED));
		environment_release(&env);
		buf_release(&yml);
		free(dir);
	}
}
