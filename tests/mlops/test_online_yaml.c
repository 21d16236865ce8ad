#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "azure/aml_endpoint.h"
#include "core/fs.h"
#include "core/json.h"
#include "mlops/online_yaml.h"
#include "support/check.h"
#include "support/tmpdir.h"

#define FIXTURES "tests/fixtures/online"
#define HEAD "environment: azureml:serve:1\ninstance_type: Standard_DS3_v2\n"

static int parse(struct online_deployment *d, const char *text)
{
	return online_yaml_parse(d, text, strlen(text), "deployments/online.yml");
}

/* Parses HEAD + `rest`, which must fail with `code` and `needle`, at `line`. */
static void refused(const char *rest, int code, const char *needle, int line)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	char *text = xasprintf(HEAD "%s", rest);

	cr_assert_fails(parse(&d, text), code, needle);
	cr_assert_eq(error_where()->line, line, "'%s': line %d, wanted %d", needle,
		     error_where()->line, line);
	cr_assert_null(d.doc.root, "nothing is kept of a refused file");
	free(text);
}

/* ---- the shipped shape ---- */

Test(online_yaml, reads_every_field_of_the_fixture)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;

	cr_assert_ok(online_yaml_read(&d, FIXTURES, "deployments/online.yml"));
	cr_assert_str_eq(d.yaml_path, "deployments/online.yml");
	cr_assert_str_eq(d.description, "churn scoring");
	cr_assert_str_eq(d.code, "./score");
	cr_assert_str_eq(d.code_dir, FIXTURES "/deployments/score");
	cr_assert_str_eq(d.scoring_script, "score.py");
	cr_assert_eq(d.env_kind, ONLINE_ENV_VERSION);
	cr_assert_str_eq(d.env_name, "churn-serve");
	cr_assert_str_eq(d.env_version, "2");
	cr_assert_str_eq(d.instance_type, "Standard_DS3_v2");
	cr_assert_eq(d.instance_count, 2);
	cr_assert_eq(d.app_insights_enabled, 1);
	cr_assert_str_eq(d.scale_type, "Default");
	cr_assert_eq(d.request_settings.request_timeout_ms, 1500);
	cr_assert_eq(d.request_settings.max_concurrent_requests_per_instance, 4);
	cr_assert_eq(d.request_settings.max_queue_wait_ms, 500);
	cr_assert(d.liveness_probe.given);
	cr_assert_eq(d.liveness_probe.probe.initial_delay_s, 30);
	cr_assert_eq(d.liveness_probe.probe.period_s, 10);
	cr_assert_eq(d.liveness_probe.probe.timeout_s, 2);
	cr_assert_eq(d.liveness_probe.probe.success_threshold, 1);
	cr_assert_eq(d.liveness_probe.probe.failure_threshold, 30);
	cr_assert_eq(d.readiness_probe.probe.initial_delay_s, 10);
	cr_assert_eq(d.readiness_probe.probe.period_s, 0, "absent: Azure's default");
	cr_assert_eq(d.readiness_probe.probe.failure_threshold, 3);
	cr_assert_str_eq(d.egress, "Disabled");
	cr_assert_str_eq(kv_list_find(&d.environment_variables, "WORKERS"), "2");
	cr_assert_str_eq(kv_list_find(&d.tags, "rows"), "1200");
	online_deployment_release(&d);
	cr_assert_null(d.yaml_path);
}

Test(online_yaml, name_endpoint_and_model_are_noted_not_used)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;

	cr_assert_ok(online_yaml_read(&d, FIXTURES, "deployments/online.yml"));
	cr_assert_eq(d.ignored.nr, 3);
	cr_assert_str_eq(kv_list_find(&d.ignored, "name"), "blue");
	cr_assert_str_eq(kv_list_find(&d.ignored, "endpoint_name"), "churn-endpoint");
	cr_assert_str_eq(kv_list_find(&d.ignored, "model"), "azureml:churn-model:3");
	online_deployment_release(&d);
	cr_assert_ok(parse(&d, HEAD "model:\n  path: ./model\nname: 7\n"));
	cr_assert_str_eq(kv_list_find(&d.ignored, "model"), "(an inline model)");
	cr_assert_str_eq(kv_list_find(&d.ignored, "name"), "7");
	online_deployment_release(&d);
}

Test(online_yaml, defaults_of_a_minimal_file)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct aml_probe zero = { 0 };

	cr_assert_ok(parse(&d, HEAD));
	cr_assert_eq(d.instance_count, 1);
	cr_assert_null(d.code);
	cr_assert_null(d.scale_type);
	cr_assert_null(d.egress);
	cr_assert_eq(d.app_insights_enabled, 0);
	cr_assert_eq(d.request_settings.request_timeout_ms, 0);
	cr_assert_not(d.liveness_probe.given);
	cr_assert_eq(memcmp(&d.readiness_probe.probe, &zero, sizeof(zero)), 0);
	cr_assert_eq(d.ignored.nr, 0);
	online_deployment_release(&d);
	cr_assert_ok(parse(&d, HEAD "type: managed\napp_insights_enabled: false\n"
			       "egress_public_network_access: enabled\n"));
	cr_assert_eq(d.app_insights_enabled, 0);
	cr_assert_str_eq(d.egress, "Enabled");
	online_deployment_release(&d);
}

/* ---- fields refused, each at its line ---- */

Test(online_yaml, unknown_fields_are_refused_naming_file_line_and_field)
{
	refused("instance_size: big\n", ERR_INPUT, "deployments/online.yml:3:16: field "
		"'instance_size': unknown in a managed online deployment", 3);
	refused("request_settings:\n  timeout_ms: 5\n", ERR_INPUT,
		"field 'request_settings.timeout_ms': unknown", 4);
	refused("liveness_probe:\n  period: 5\n  delay: 3\n", ERR_INPUT,
		"field 'liveness_probe.delay': unknown", 5);
	refused("code_configuration:\n  code: s\n  scoring_script: a.py\n  entry: x\n", ERR_INPUT,
		"field 'code_configuration.entry': unknown", 6);
	refused("scale_settings:\n  type: default\n  min_instances: 1\n", ERR_INPUT,
		"field 'scale_settings.min_instances': unknown", 5);
}

Test(online_yaml, not_a_mapping_is_refused)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;

	cr_assert_fails(parse(&d, "- a\n- b\n"), ERR_YAML, "a deployment YAML is a mapping");
	cr_assert_fails(parse(&d, "key: [unclosed\n"), ERR_YAML, "deployments/online.yml:");
}

Test(online_yaml, instance_type_is_required)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;

	cr_assert_fails(parse(&d, "environment: azureml:serve:1\ninstance_count: 2\n"), ERR_INPUT,
			"field 'instance_type': required: a managed deployment names its VM size");
	cr_assert_fails(parse(&d, "environment: azureml:serve:1\ninstance_type: ''\n"), ERR_INPUT,
			"online.yml:2:16: field 'instance_type' is empty");
	cr_assert_fails(parse(&d, "environment: azureml:serve:1\ninstance_type: [a]\n"), ERR_YAML,
			"field 'instance_type' is an array, expected a string");
}

Test(online_yaml, instance_count_is_a_positive_integer)
{
	refused("instance_count: 0\n", ERR_INPUT, "online.yml:3:17: field 'instance_count': 0 "
		"is not an integer from 1 to 2147483647", 3);
	refused("instance_count: 1.5\n", ERR_INPUT, "field 'instance_count': 1.5 is not an integer", 3);
	refused("instance_count: -2\n", ERR_INPUT, "-2 is not an integer", 3);
	refused("instance_count: two\n", ERR_YAML, "field 'instance_count' is a string, expected an integer", 3);
	refused("instance_count: 1e12\n", ERR_INPUT, "1e12 is not an integer", 3);
}

Test(online_yaml, request_settings_are_checked)
{
	refused("request_settings:\n  request_timeout_ms: 180001\n", ERR_INPUT,
		"field 'request_settings.request_timeout_ms': 180001 is not an integer from 1 to 180000", 4);
	refused("request_settings:\n  max_concurrent_requests_per_instance: 0\n", ERR_INPUT,
		"field 'request_settings.max_concurrent_requests_per_instance': 0", 4);
	refused("request_settings:\n  max_queue_wait_ms: '500'\n", ERR_YAML,
		"field 'request_settings.max_queue_wait_ms' is a string", 4);
	refused("request_settings: 5\n", ERR_YAML, "field 'request_settings' is a number, expected a mapping", 3);
}

Test(online_yaml, probes_are_checked)
{
	refused("liveness_probe:\n  period: 0\n", ERR_INPUT,
		"field 'liveness_probe.period': 0 is not an integer from 1", 4);
	refused("readiness_probe:\n  initial_delay: 2.5\n", ERR_INPUT,
		"field 'readiness_probe.initial_delay': 2.5", 4);
	refused("readiness_probe:\n  timeout: 2s\n", ERR_YAML,
		"field 'readiness_probe.timeout' is a string, expected an integer", 4);
	refused("readiness_probe:\n  failure_threshold: -1\n", ERR_INPUT,
		"field 'readiness_probe.failure_threshold': -1", 4);
	/* Seconds are sent in milliseconds' room: no overflow on the way. */
	refused("liveness_probe:\n  timeout: 2147484\n", ERR_INPUT, "from 1 to 2147483", 4);
}

Test(online_yaml, scale_settings_take_default_only)
{
	refused("scale_settings:\n  type: target_utilization\n", ERR_INPUT,
		"target_utilization is for Kubernetes deployments", 4);
	refused("scale_settings:\n  type: auto\n", ERR_INPUT, "field 'scale_settings.type': use default", 4);
	refused("scale_settings: {}\n", ERR_INPUT, "field 'scale_settings.type': use default", 3);
	refused("scale_settings:\n  type: 1\n", ERR_YAML, "use default", 4);
}

Test(online_yaml, flags_and_enums_are_checked)
{
	refused("app_insights_enabled: yes\n", ERR_YAML, "field 'app_insights_enabled' is a string, "
		"expected true or false", 3);
	refused("egress_public_network_access: Disabled\n", ERR_INPUT,
		"field 'egress_public_network_access': use enabled or disabled", 3);
	refused("egress_public_network_access: false\n", ERR_YAML, "use enabled or disabled", 3);
	refused("type: kubernetes\n", ERR_INPUT, "field 'type': 'kubernetes' deployments are not "
		"made by this workflow; use managed", 3);
	refused("description: [a]\n", ERR_YAML, "field 'description' is an array", 3);
	refused("tags:\n  team: [a]\n", ERR_YAML, "tags.team", 4);
	refused("environment_variables: [A]\n", ERR_YAML, "field 'environment_variables' is an array", 3);
}

Test(online_yaml, data_collector_is_refused_as_unsupported)
{
	refused("data_collector:\n  collections:\n    model_inputs: {enabled: 'True'}\n", ERR_INPUT,
		"field 'data_collector': not supported by this workflow", 4);
}

/* ---- environment ---- */

Test(online_yaml, environment_references)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;

	cr_assert_ok(parse(&d, "environment: azureml:serve@latest\ninstance_type: x\n"));
	cr_assert_eq(d.env_kind, ONLINE_ENV_LATEST);
	cr_assert_str_eq(d.env_name, "serve");
	cr_assert_str_eq(d.env_version, "latest");
	cr_assert_str_eq(d.environment, "azureml:serve@latest");
	online_deployment_release(&d);
	cr_assert_ok(parse(&d, "environment: azureml://registries/azureml/environments/sklearn-1.5/versions/3\n"
			       "instance_type: x\n"));
	cr_assert_eq(d.env_kind, ONLINE_ENV_REGISTRY);
	cr_assert_null(d.env_name);
	online_deployment_release(&d);
	cr_assert_fails(parse(&d, "instance_type: x\n"), ERR_INPUT, "field 'environment': required");
	cr_assert_fails(parse(&d, "instance_type: x\nenvironment: serve:1\n"), ERR_INPUT,
			"online.yml:2:14: field 'environment': 'serve:1' is not azureml:<name>:<version>");
	cr_assert_eq(error_where()->line, 2);
	cr_assert_fails(parse(&d, "instance_type: x\nenvironment: azureml:serve@v2\n"), ERR_INPUT,
			"field 'environment': 'serve@v2': only @latest");
	cr_assert_fails(parse(&d, "instance_type: x\nenvironment: 3\n"), ERR_YAML,
			"field 'environment' is a number, expected a string or a mapping");
}

Test(online_yaml, inline_environment_image_and_conda_file)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;

	cr_assert_ok(online_yaml_read(&d, FIXTURES, "deployments/inline.yml"));
	cr_assert_eq(d.env_kind, ONLINE_ENV_INLINE);
	cr_assert_null(d.environment);
	cr_assert_str_eq(d.inline_env.image, "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest");
	cr_assert_str_eq(d.inline_env.conda_path, FIXTURES "/deployments/conda.yml");
	cr_assert_null(d.inline_env.build_dir);
	cr_assert_str_eq(d.inline_env.os_type, "linux");
	cr_assert_not_null(d.inline_env.node);
	cr_assert_str_eq(d.code_dir, FIXTURES "/deployments/score");
	online_deployment_release(&d);
}

Test(online_yaml, inline_environment_build_context)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;

	cr_assert_ok(online_yaml_read(&d, FIXTURES, "deployments/build.yml"));
	cr_assert_eq(d.env_kind, ONLINE_ENV_INLINE);
	cr_assert_null(d.inline_env.image);
	cr_assert_str_eq(d.inline_env.build_dir, FIXTURES "/deployments/docker");
	cr_assert_str_eq(d.inline_env.dockerfile_path, "Dockerfile");
	cr_assert_str_eq(d.inline_env.name, "churn-serve-docker");
	cr_assert_str_eq(d.inline_env.version, "4");
	cr_assert_null(d.code, "no code_configuration: a custom container");
	online_deployment_release(&d);
}

Test(online_yaml, inline_environment_shapes_refused)
{
	static const struct { const char *env; int code; const char *needle; } cases[] = {
		{ "  conda_file: c.yml\n", ERR_INPUT, "online.yml:3:3: field 'environment': an "
		  "inline environment has exactly one of 'image' and 'build'" },
		{ "  image: a:1\n  build: {path: d}\n", ERR_INPUT, "exactly one of 'image' and 'build'" },
		{ "  image: Ubuntu:22\n", ERR_INPUT, "online.yml:3:10: field 'environment.image': "
		  "'Ubuntu:22' is not a Docker image" },
		{ "  build: {path: d}\n  conda_file: c.yml\n", ERR_INPUT,
		  "field 'environment.conda_file': only with 'image'" },
		{ "  build: {dockerfile_path: D}\n", ERR_INPUT, "field 'environment.build.path': required" },
		{ "  build: {path: 'https://x/y'}\n", ERR_INPUT, "field 'environment.build.path': "
		  "https://x/y is not a folder of the repository" },
		{ "  build: {path: d, dockerfile_path: ../D}\n", ERR_INPUT,
		  "'environment.build.dockerfile_path': ../D is not a path inside" },
		{ "  image: a:1\n  conda_file: /etc/c.yml\n", ERR_INPUT,
		  "field 'environment.conda_file': '/etc/c.yml' is not a file of the repository" },
		{ "  image: a:1\n  conda_file: {a: 1}\n", ERR_YAML, "expected the path of a conda file" },
		{ "  image: a:1\n  os_type: mac\n", ERR_INPUT, "field 'environment.os_type': 'mac' is not valid" },
		{ "  image: a:1\n  dockerfile: D\n", ERR_INPUT,
		  "field 'environment.dockerfile': unknown in an inline environment" },
		{ "  image: a:1\n  name: -bad\n", ERR_INPUT, "field 'environment.name'" },
	};
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *text = xasprintf("instance_type: x\nenvironment:\n%s", cases[i].env);

		cr_assert_fails(parse(&d, text), cases[i].code, cases[i].needle);
		free(text);
	}
}

/* ---- code_configuration, as written ---- */

Test(online_yaml, code_configuration_shapes_refused)
{
	refused("code_configuration:\n  code: s\n", ERR_INPUT,
		"field 'code_configuration.scoring_script': required (code and scoring_script go together)", 4);
	refused("code_configuration:\n  scoring_script: s.py\n", ERR_INPUT,
		"field 'code_configuration.code': required", 4);
	refused("code_configuration:\n  code: azureml:score:1\n  scoring_script: s.py\n", ERR_INPUT,
		"field 'code_configuration.code': a local folder is expected", 4);
	refused("code_configuration:\n  code: /etc\n  scoring_script: passwd\n", ERR_INPUT,
		"online.yml:4:9: field 'code_configuration.code': /etc is an absolute path", 4);
	refused("code_configuration:\n  code: s\n  scoring_script: ../../etc/passwd\n", ERR_INPUT,
		"field 'code_configuration.scoring_script': ../../etc/passwd is not a path inside the "
		"code folder", 5);
	refused("code_configuration:\n  code: s\n  scoring_script: a/../../x.py\n", ERR_INPUT,
		"is not a path inside the code folder", 5);
	refused("code_configuration:\n  code: s\n  scoring_script: /abs/score.py\n", ERR_INPUT,
		"/abs/score.py is not a path inside", 5);
	refused("code_configuration:\n  code: ''\n  scoring_script: s.py\n", ERR_INPUT,
		"field 'code_configuration.code' is empty", 4);
	refused("code_configuration: score\n", ERR_YAML,
		"field 'code_configuration' is a string, expected a mapping", 3);
}

/* ---- on disk: everything stays in the workspace (attack: a deployment
 * YAML uploading the runner's files as its code) ---- */

static char root[] = "/tmp/online-yaml-test-XXXXXX";
static char *ws;

/* <root>/ws with deployments/score/score.py, and <root>/outside. */
static void tree(void)
{
	tmpdir_make(root);
	tmpdir_write(root, "ws/deployments/score/score.py", "def run(x): return x\n");
	tmpdir_write(root, "ws/deployments/conda.yml", "dependencies: [python=3.10]\n");
	tmpdir_write(root, "ws/deployments/docker/Dockerfile", "FROM scratch\n");
	tmpdir_write(root, "outside/secret.py", "runner secret\n");
	tmpdir_write(root, "outside/Dockerfile", "FROM scratch\n");
	ws = xasprintf("%s/ws", root);
}

static void untree(void)
{
	free(ws);
	ws = NULL;
	tmpdir_remove(root);
}

static void link_in_ws(const char *target, const char *rel)
{
	char *link = xasprintf("%s/%s", ws, rel);

	cr_assert_eq(symlink(target, link), 0, "symlink %s", link);
	free(link);
}

/* Writes ws/deployments/<name>.yml holding `head` + `rest` and reads it. */
static int load_with(struct online_deployment *d, const char *name, const char *head,
		     const char *rest)
{
	char *rel = xasprintf("deployments/%s.yml", name), *wsrel = xasprintf("ws/%s", rel);
	char *text = xasprintf("%s%s", head, rest);
	int ret;

	tmpdir_write(root, wsrel, text);
	ret = online_yaml_read(d, ws, rel);
	free(rel);
	free(wsrel);
	free(text);
	return ret;
}

static int load(struct online_deployment *d, const char *name, const char *rest)
{
	return load_with(d, name, HEAD, rest);
}

/* An inline environment after "instance_type: x". */
static int load_env(struct online_deployment *d, const char *name, const char *rest)
{
	return load_with(d, name, "instance_type: x\n", rest);
}

#define CODE(c, s) "code_configuration:\n  code: " c "\n  scoring_script: " s "\n"

Test(online_yaml, code_resolves_against_the_yaml_folder, .init = tree, .fini = untree)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	char *want = xasprintf("%s/deployments/score", ws);

	cr_assert_ok(load(&d, "ok", CODE("score/", "score.py")));
	cr_assert_str_eq(d.code_dir, want);
	cr_assert_ok(load(&d, "dot", CODE("../deployments/./score", "./score.py")));
	cr_assert_str_eq(d.code_dir, want);
	online_deployment_release(&d);
	free(want);
}

Test(online_yaml, code_dotdot_out_of_the_workspace_is_refused, .init = tree, .fini = untree)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;

	cr_assert_fails(load(&d, "up", CODE("../..", "outside/secret.py")), ERR_INPUT,
			"deployments/up.yml:4:9: field 'code_configuration.code': ../.. resolves "
			"outside the workspace");
	cr_assert_eq(error_where()->line, 4);
	cr_assert_fails(load(&d, "side", CODE("../../outside", "secret.py")), ERR_INPUT,
			"resolves outside the workspace");
	cr_assert_fails(load(&d, "back", CODE("score/../../../outside", "secret.py")), ERR_INPUT,
			"resolves outside the workspace");
	cr_assert_null(d.code_dir);
	cr_assert_null(d.doc.root);
}

Test(online_yaml, code_linked_out_is_refused_and_linked_in_followed, .init = tree, .fini = untree)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	char *target = xasprintf("%s/outside", root);

	link_in_ws(target, "deployments/linked");
	cr_assert_fails(load(&d, "link", CODE("linked", "secret.py")), ERR_INPUT,
			"field 'code_configuration.code': linked resolves outside the workspace");
	link_in_ws("score", "deployments/inner");
	cr_assert_ok(load(&d, "inner", CODE("inner", "score.py")));
	online_deployment_release(&d);
	free(target);
}

Test(online_yaml, code_into_git_is_refused, .init = tree, .fini = untree)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;

	tmpdir_write(root, "ws/.git/hooks/score.py", "x\n");
	cr_assert_fails(load(&d, "git", CODE("../.git/hooks", "score.py")), ERR_INPUT,
			"resolves outside the workspace or into its .git");
}

Test(online_yaml, scoring_script_must_be_a_file_inside_the_code_folder, .init = tree, .fini = untree)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	char *target = xasprintf("%s/outside/secret.py", root);

	cr_assert_fails(load(&d, "missing", CODE("score", "main.py")), ERR_INPUT,
			"deployments/missing.yml:5:19: field 'code_configuration.scoring_script': "
			"main.py does not exist");
	cr_assert_eq(error_where()->line, 5);
	link_in_ws(target, "deployments/score/evil.py");
	cr_assert_fails(load(&d, "evil", CODE("score", "evil.py")), ERR_INPUT,
			"field 'code_configuration.scoring_script': evil.py resolves outside the code folder");
	/* Inside the workspace, but outside the code folder: not uploaded. */
	link_in_ws("../conda.yml", "deployments/score/up.py");
	cr_assert_fails(load(&d, "up", CODE("score", "up.py")), ERR_INPUT,
			"up.py resolves outside the code folder");
	tmpdir_write(root, "ws/deployments/score/pkg/x", "");
	cr_assert_fails(load(&d, "dir", CODE("score", "pkg")), ERR_INPUT,
			"field 'code_configuration.scoring_script': pkg is not a regular file");
	cr_assert_fails(load(&d, "nocode", CODE("nowhere", "score.py")), ERR_INPUT,
			"field 'code_configuration.code': nowhere does not exist");
	cr_assert_fails(load(&d, "file", CODE("score/score.py", "score.py")), ERR_INPUT,
			"field 'code_configuration.code': score/score.py is not a folder");
	free(target);
}

Test(online_yaml, inline_environment_files_stay_inside, .init = tree, .fini = untree)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	char *target = xasprintf("%s/outside", root);

	cr_assert_ok(load_env(&d, "img", "environment:\n  image: a:1\n  conda_file: conda.yml\n"));
	cr_assert_fails(load_env(&d, "cout", "environment:\n  image: a:1\n  conda_file: ../../outside/secret.py\n"),
			ERR_INPUT, "cout.yml:4:15: field 'environment.conda_file': ../../outside/secret.py "
			"resolves outside the workspace");
	tmpdir_write(root, "ws/deployments/bad-conda.yml", "dependencies: [python=3.10, 'numpy>>1']\n");
	cr_assert_fails(load_env(&d, "badc", "environment:\n  image: a:1\n  conda_file: bad-conda.yml\n"),
			ERR_INPUT, "bad-conda.yml:1:");
	cr_assert_fails(load_env(&d, "nocon", "environment:\n  image: a:1\n  conda_file: none.yml\n"),
			ERR_INPUT, "none.yml does not exist");
	cr_assert_ok(load_env(&d, "bld", "environment:\n  build:\n    path: docker\n"));
	link_in_ws(target, "deployments/ctx");
	cr_assert_fails(load_env(&d, "bout", "environment:\n  build:\n    path: ctx\n"), ERR_INPUT,
			"field 'environment.build.path': ctx resolves outside the workspace");
	link_in_ws(target, "deployments/docker/up");
	cr_assert_fails(load_env(&d, "dout", "environment:\n  build:\n    path: docker\n    dockerfile_path: up/Dockerfile\n"),
			ERR_INPUT, "field 'environment.build.dockerfile_path': up/Dockerfile resolves "
			"outside the build context");
	cr_assert_fails(load_env(&d, "nodf", "environment:\n  build:\n    path: docker\n    dockerfile_path: Other\n"),
			ERR_INPUT, "Other does not exist");
	free(target);
}

Test(online_yaml, yaml_itself_stays_in_the_workspace, .init = tree, .fini = untree)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	char *abs, *fifo;

	tmpdir_write(root, "outside/online.yml", HEAD);
	cr_assert_fails(online_yaml_read(&d, ws, "../outside/online.yml"), ERR_INPUT,
			"deployment YAML ../outside/online.yml resolves outside the workspace");
	abs = xasprintf("%s/outside/online.yml", root);
	cr_assert_fails(online_yaml_read(&d, ws, abs), ERR_INPUT, "resolves outside the workspace");
	free(abs);
	cr_assert_fails(online_yaml_read(&d, ws, "deployments"), ERR_INPUT,
			"deployment YAML deployments is a folder, not a regular file");
	fifo = xasprintf("%s/online.fifo", ws);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_fails(online_yaml_read(&d, ws, "online.fifo"), ERR_INPUT, "is a FIFO");
	free(fifo);
	cr_assert_fails(online_yaml_read(&d, ws, "deployments/none.yml"), ERR_INPUT,
			"deployment YAML deployments/none.yml:");
	/* An absolute path inside is fine. */
	tmpdir_write(root, "ws/deployments/abs.yml", HEAD);
	abs = xasprintf("%s/deployments/abs.yml", ws);
	cr_assert_ok(online_yaml_read(&d, ws, abs));
	online_deployment_release(&d);
	free(abs);
}

Test(online_yaml, workspace_defaults_to_fs_workspace, .init = tree, .fini = untree)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;

	tmpdir_write(root, "ws/deployments/w.yml", HEAD CODE("score", "score.py"));
	fs_set_workspace(ws);
	cr_assert_ok(online_yaml_read(&d, NULL, "deployments/w.yml"));
	online_deployment_release(&d);
	tmpdir_write(root, "ws/deployments/o.yml", HEAD CODE("../..", "outside/secret.py"));
	cr_assert_fails(online_yaml_read(&d, NULL, "deployments/o.yml"), ERR_INPUT,
			"resolves outside the workspace");
}

/* ---- lines for annotations ---- */

Test(online_yaml, lines_of_fields)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	static const struct { const char *field; int line; } want[] = {
		{ "code_configuration", 7 }, { "code_configuration.code", 7 },
		{ "code_configuration.scoring_script", 8 }, { "environment", 9 },
		{ "instance_type", 10 }, { "instance_count", 11 }, { "scale_settings.type", 14 },
		{ "request_settings.request_timeout_ms", 16 }, { "liveness_probe", 20 },
		{ "liveness_probe.failure_threshold", 24 }, { "readiness_probe.initial_delay", 26 },
		{ "egress_public_network_access", 28 }, { "model", 4 },
		{ "startup_probe", 0 }, { "readiness_probe.period", 0 }, { "", 0 },
	};
	size_t i;

	cr_assert_ok(online_yaml_read(&d, FIXTURES, "deployments/online.yml"));
	for (i = 0; i < sizeof(want) / sizeof(*want); i++)
		cr_assert_eq(online_yaml_line(&d, want[i].field), want[i].line, "%s: %d, wanted %d",
			     want[i].field, online_yaml_line(&d, want[i].field), want[i].line);
	online_deployment_release(&d);
	cr_assert_eq(online_yaml_line(&d, "environment"), 0, "a released file has no lines");
}

/* ---- the spec and its body ---- */

Test(online_yaml, spec_carries_what_was_read_and_the_callers_ids)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	static const char *const tags[] = { "team", "mlops", "mlops.model_version", "3", NULL };
	static const char *const want[][2] = {
		{ "properties.model", "/m/churn-model/versions/3" },
		{ "properties.environmentId", "/e/churn-serve/versions/2" },
		{ "properties.codeConfiguration.codeId", "/c/code/versions/9" },
		{ "properties.environmentVariables.WORKERS", "2" },
		{ "properties.requestSettings.requestTimeout", "PT1.5S" },
		{ "properties.requestSettings.maxQueueWait", "PT0.5S" },
		{ "properties.livenessProbe.initialDelay", "PT30S" },
		{ "properties.livenessProbe.timeout", "PT2S" },
		{ "properties.readinessProbe.initialDelay", "PT10S" },
		{ "properties.scaleSettings.scaleType", "Default" },
		{ "properties.egressPublicNetworkAccess", "Disabled" },
		{ "properties.instanceType", "Standard_DS3_v2" },
		{ "properties.description", "churn scoring" },
		{ "sku.name", "Default" },
	};
	struct aml_deployment_spec s;
	cJSON *body = NULL;
	size_t i;

	cr_assert_ok(online_yaml_read(&d, FIXTURES, "deployments/online.yml"));
	cr_assert_ok(online_deployment_spec(&s, &d, "eastus", "/m/churn-model/versions/3",
					    "/e/churn-serve/versions/2", "/c/code/versions/9", tags));
	cr_assert_str_eq(s.scoring_script, "score.py");
	cr_assert_eq(s.instance_count, 2);
	cr_assert_str_eq(s.egress_public_network_access, "Disabled");
	cr_assert_ok(aml_deployment_body(&body, &s));
	cr_assert_str_eq(json_string_or(body, "location", ""), "eastus");
	cr_assert_str_eq(json_string_or(body, "tags.team", ""), "mlops", "the caller's tag wins");
	cr_assert_str_eq(json_string_or(body, "tags.rows", ""), "1200");
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(json_find(body, "tags"),
							  "mlops.model_version")->valuestring, "3");
	cr_assert_eq(cJSON_GetArraySize(json_find(body, "tags")), 3);
	for (i = 0; i < sizeof(want) / sizeof(*want); i++)
		cr_assert_str_eq(json_string_or(body, want[i][0], ""), want[i][1], "%s", want[i][0]);
	cr_assert_null(json_find(body, "properties.readinessProbe.period"));
	cr_assert(cJSON_IsTrue(json_find(body, "properties.appInsightsEnabled")));
	cr_assert_eq(json_find(body, "sku.capacity")->valueint, 2);
	cJSON_Delete(body);
	online_deployment_release(&d);
}

Test(online_yaml, spec_refuses_missing_or_mismatched_ids)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct aml_deployment_spec s;

	cr_assert_ok(online_yaml_read(&d, FIXTURES, "deployments/online.yml"));
	cr_assert_fails(online_deployment_spec(&s, &d, "eastus", "/m", "/e", NULL, NULL), ERR_INPUT,
			"deployments/online.yml: code_configuration needs the code version's id");
	cr_assert_fails(online_deployment_spec(&s, &d, "eastus", NULL, "/e", "/c", NULL), ERR_INPUT,
			"needs the model's and the environment's ids");
	cr_assert_fails(online_deployment_spec(&s, &d, "eastus", "/m", "", "/c", NULL), ERR_INPUT,
			"needs the model's and the environment's ids");
	online_deployment_release(&d);
	cr_assert_ok(parse(&d, HEAD));
	cr_assert_fails(online_deployment_spec(&s, &d, "eastus", "/m", "/e", "/c", NULL), ERR_INPUT,
			"a code version id, but no code_configuration");
	cr_assert_ok(online_deployment_spec(&s, &d, "eastus", "/m", "/e", NULL, NULL));
	cr_assert_null(s.tags);
	cr_assert_null(s.environment_variables);
	cr_assert_null(s.code_id);
	cr_assert_null(s.scoring_script);
	cr_assert_eq(s.instance_count, 1);
	online_deployment_release(&d);
}

/* ---- the deployment's name ---- */

#define SHA "0123456789abcdef0123456789abcdef01234567"

static const char *name_of(const char *model, const char *version, const char *sha)
{
	static char out[33];

	cr_assert_ok(online_deployment_name(out, sizeof(out), model, version, sha));
	cr_assert_leq(strlen(out), 32, "%s", out);
	cr_assert_ok(aml_check_deployment_name(out));
	cr_assert(out[0] >= 'a' && out[0] <= 'z', "%s starts with a letter", out);
	return out;
}

Test(online_yaml, deployment_names_read_as_model_version_commit)
{
	cr_assert_str_eq(name_of("churn", "3", SHA), "churn-v3-0123456");
	cr_assert_str_eq(name_of("Churn_Model", "12", "ABCDEF0123"), "churn-model-v12-abcdef0");
	cr_assert_str_eq(name_of("churn..model__x", "1", SHA), "churn-model-x-v1-0123456");
	cr_assert_str_eq(name_of("_churn_", "1", SHA), "churn-v1-0123456");
	cr_assert_str_eq(name_of("2024-model", "5", SHA), "m-2024-model-v5-0123456", "a letter leads");
	cr_assert_str_eq(name_of("_9lives", "5", SHA), "m-9lives-v5-0123456");
	cr_assert_str_eq(name_of("___", "5", SHA), "m-v5-0123456", "nothing of the model left");
	cr_assert_str_eq(name_of("a", "1", SHA), "a-v1-0123456");
	cr_assert_str_eq(name_of("m", "1234567890", SHA), "m-v1234567890-0123456");
}

Test(online_yaml, long_model_names_are_cut_to_32)
{
	const char *n = name_of("customer-churn-prediction-gradient-boosting", "42", SHA);

	cr_assert_str_eq(n, "customer-churn-predi-v42-0123456");
	/* A cut that ends on a '-' drops it. */
	cr_assert_str_eq(name_of("customer-churn-prediction-gradient", "1234567", SHA),
			 "customer-churn-v1234567-0123456");
	cr_assert_eq(strlen(name_of("x-very-long-model-name-of-many-words-and-more", "1", SHA)), 32);
}

Test(online_yaml, versions_that_do_not_show_as_themselves_are_hashed)
{
	char a[33], b[33];

	/* 1.2 and 1-2 would map alike; each gets its hash. */
	cr_assert_ok(online_deployment_name(a, sizeof(a), "churn", "1.2", SHA));
	cr_assert_ok(online_deployment_name(b, sizeof(b), "churn", "1-2", SHA));
	cr_assert_str_neq(a, b);
	cr_assert(!strncmp(a, "churn-vh", 8), "%s", a);
	cr_assert_eq(strlen(a), strlen("churn-vh") + 8 + 8);
	cr_assert_ok(online_deployment_name(b, sizeof(b), "churn", "V1", SHA));
	cr_assert(!strncmp(b, "churn-vh", 8), "uppercase is hashed, not folded: %s", b);
	cr_assert_ok(online_deployment_name(b, sizeof(b), "churn", "12345678901", SHA));
	cr_assert(!strncmp(b, "churn-vh", 8), "longer than 10: %s", b);
	cr_assert_str_eq(name_of("churn", "1.2", SHA), a, "deterministic");
}

Test(online_yaml, names_differ_by_version_and_commit_and_repeat_for_a_rerun)
{
	static const char *const versions[] = { "1", "2", "10", "11", "1.0", "1.1", "a", "b" };
	static const char *const shas[] = { SHA, "fedcba9876543210", "0123457" };
	char names[24][33];
	size_t i, j, k = 0;

	for (i = 0; i < 8; i++)
		for (j = 0; j < 3; j++)
			cr_assert_ok(online_deployment_name(names[k++], 33,
				"a-model-name-long-enough-to-be-cut-short", versions[i], shas[j]));
	for (i = 0; i < k; i++)
		for (j = i + 1; j < k; j++)
			cr_assert_str_neq(names[i], names[j], "%zu and %zu", i, j);
	cr_assert_str_eq(name_of("a-model-name-long-enough-to-be-cut-short", "2", SHA), names[3]);
}

Test(online_yaml, name_inputs_are_checked)
{
	char out[33];

	cr_assert_fails(online_deployment_name(out, sizeof(out), "churn", "1", "0123"), ERR_INPUT,
			"commit '0123' is not a hex commit id of 7 or more digits");
	cr_assert_fails(online_deployment_name(out, sizeof(out), "churn", "1", "0123456z"), ERR_INPUT,
			"is not a hex commit id");
	cr_assert_fails(online_deployment_name(out, sizeof(out), "churn", "1", NULL), ERR_INPUT,
			"is not a hex commit id");
	cr_assert_fails(online_deployment_name(out, sizeof(out), "", "1", SHA), ERR_INPUT,
			"needs the model's name and version");
	cr_assert_fails(online_deployment_name(out, sizeof(out), "churn", "", SHA), ERR_INPUT,
			"needs the model's name and version");
	cr_assert_fails(online_deployment_name(out, 32, "churn", "1", SHA), ERR_INPUT, "needs 33 bytes");
}

Test(online_yaml, any_model_name_gives_a_valid_name)
{
	static const char *const models[] = {
		"churn\nmodel", "\xd0\xbc\xd0\xbe\xd0\xb4\xd0\xb5\xd0\xbb\xd1\x8c", "a/b\\c",
		"$(rm -rf /)", "-", "9", "x.y.z", "UPPER_case.Mixed-9",
		"a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t",
		"0000000000000000000000000000000000000000000000000",
	};
	static const char *const versions[] = { "1", "2.0.1", "release_candidate-1", "x" };
	size_t i, j;

	for (i = 0; i < sizeof(models) / sizeof(*models); i++)
		for (j = 0; j < sizeof(versions) / sizeof(*versions); j++)
			name_of(models[i], versions[j], SHA);
	cr_assert_str_eq(name_of("\xd0\xbc\xd0\xbe", "1", SHA), "m-v1-0123456");
	cr_assert_str_eq(name_of("$(rm -rf /)", "1", SHA), "rm-rf-v1-0123456");
}
