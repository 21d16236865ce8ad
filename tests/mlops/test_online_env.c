#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "mlops/online_env.h"
#include "support/arm_stub.h"
#include "support/check.h"
#include "support/tmpdir.h"

#define YAML "deployments/online.yml"
#define IMAGE "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
#define CONDA "name: serve\ndependencies:\n  - python=3.11\n  - pip:\n    - scikit-learn==1.5.2\n"
#define NOT_FOUND "{\"error\":{\"code\":\"UserError\",\"message\":\"not found\"}}"
#define PUT_OK "{\"name\":\"1\",\"properties\":{\"image\":\"" IMAGE "\"}}"

static char root[] = "/tmp/online-env-XXXXXX";

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

TestSuite(online_env, .init = setup, .fini = teardown);

/* Writes the deployment YAML with `env` (the lines under environment:)
 * and the conda file, reads it and loads its environment for model churn. */
static int load(struct online_env *e, struct online_deployment *d, const char *env,
		const char *conda)
{
	char *text = xasprintf("environment:\n%sinstance_type: Standard_DS3_v2\n", env);
	int ret;

	tmpdir_write(root, YAML, text);
	if (conda)
		tmpdir_write(root, "deployments/conda.yml", conda);
	free(text);
	online_deployment_release(d);
	cr_assert_ok(online_yaml_read(d, root, YAML));
	ret = online_env_load(e, d, "churn");
	return ret;
}

#define IMAGE_ENV "  image: " IMAGE "\n  conda_file: conda.yml\n"

/* The version `env` and `conda` give, loaded afresh. */
static void version_of(char *out, const char *env, const char *conda)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct online_env e = ONLINE_ENV_INIT;

	cr_assert_ok(load(&e, &d, env, conda));
	cr_assert_eq(strlen(e.version), ONLINE_ENV_VERSION_LEN);
	memcpy(out, e.version, sizeof(e.version));
	online_env_release(&e);
	online_deployment_release(&d);
}

Test(online_env, named_after_the_model_and_versioned_by_content)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct online_env e = ONLINE_ENV_INIT;

	cr_assert_ok(load(&e, &d, IMAGE_ENV, CONDA));
	cr_assert_str_eq(e.name, "churn-deploy-env");
	cr_assert_eq(strncmp(e.version, e.env.content_hash, ONLINE_ENV_VERSION_LEN), 0);
	cr_assert_eq(strlen(e.env.content_hash), 64);
	cr_assert_eq(e.line, 2);
	online_env_release(&e);
	cr_assert_ok(load(&e, &d, "  name: serve-env\n" IMAGE_ENV, CONDA));
	cr_assert_str_eq(e.name, "serve-env", "the YAML's name wins");
	online_env_release(&e);
	online_deployment_release(&d);
}

Test(online_env, a_content_change_gives_a_new_version)
{
	char base[16], again[16], image[16], meta[16], os[16];

	version_of(base, IMAGE_ENV, CONDA);
	version_of(again, IMAGE_ENV, CONDA);
	cr_assert_str_eq(base, again, "a re-run finds the same version");
	version_of(image, "  image: " IMAGE "-2\n  conda_file: conda.yml\n", CONDA);
	cr_assert_str_neq(base, image);
	version_of(os, IMAGE_ENV "  os_type: windows\n", CONDA);
	cr_assert_str_neq(base, os);
	version_of(meta, "  name: churn-deploy-env\n  version: 7\n  description: scoring\n"
		   "  tags: {team: ml}\n" IMAGE_ENV, CONDA);
	cr_assert_str_eq(base, meta, "name, version, description and tags are not content");
}

Test(online_env, the_conda_file_content_is_in_the_hash)
{
	char base[16], pinned[16], reformatted[16], none[16];

	version_of(base, IMAGE_ENV, CONDA);
	version_of(pinned, IMAGE_ENV, "name: serve\ndependencies:\n  - python=3.11\n  - pip:\n"
		   "    - scikit-learn==1.5.1\n");
	cr_assert_str_neq(base, pinned, "another pin, another version");
	version_of(reformatted, IMAGE_ENV, "# serving\nname: serve\ndependencies: [python=3.11, "
		   "{pip: [scikit-learn==1.5.2]}]\n");
	cr_assert_str_eq(base, reformatted, "the canonical form is hashed, not the text");
	version_of(none, "  image: " IMAGE "\n", NULL);
	cr_assert_str_neq(base, none);
}

Test(online_env, a_build_context_file_change_gives_a_new_version)
{
	static const char env[] = "  build:\n    path: ../docker\n";
	char before[16], after[16];

	tmpdir_write(root, "docker/Dockerfile", "FROM " IMAGE "\n");
	tmpdir_write(root, "docker/requirements.txt", "scikit-learn==1.5.2\n");
	version_of(before, env, NULL);
	tmpdir_write(root, "docker/requirements.txt", "scikit-learn==1.5.1\n");
	version_of(after, env, NULL);
	cr_assert_str_neq(before, after);
}

Test(online_env, bad_metadata_and_names_name_the_line)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct online_env e = ONLINE_ENV_INIT;

	cr_assert_fails(load(&e, &d, "  tags: [a, b]\n" IMAGE_ENV, CONDA), ERR_YAML,
			"field 'environment.tags' is an array");
	cr_assert_eq(error_where()->line, 2);
	cr_assert_null(e.name, "nothing is kept");
	cr_assert_fails(load(&e, &d, "  tags: {a: [1]}\n" IMAGE_ENV, CONDA), ERR_YAML,
			"field 'environment.tags' holds");
	cr_assert_fails(load(&e, &d, "  description: {a: 1}\n" IMAGE_ENV, CONDA), ERR_YAML,
			"field 'environment.description'");
	cr_assert_ok(load(&e, &d, IMAGE_ENV, CONDA));
	online_env_release(&e);
	cr_assert_fails(online_env_load(&e, &d, "bad model!"), ERR_INPUT,
			YAML ":2: field 'environment': ");
	cr_assert_eq(error_where()->line, 2);
	online_deployment_release(&d);
}

Test(online_env, a_reference_is_not_inline)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct online_env e = ONLINE_ENV_INIT;

	tmpdir_write(root, YAML, "environment: azureml:serve:1\ninstance_type: Standard_DS3_v2\n");
	cr_assert_ok(online_yaml_read(&d, root, YAML));
	cr_assert_fails(online_env_load(&e, &d, "churn"), ERR_INPUT, "not an inline environment");
	online_deployment_release(&d);
}

/* ---- against the workspace ---- */

static void ensure(struct arm_stub *f, struct online_env *e, struct online_deployment *d,
		   struct stub_reply *script, size_t n, int want)
{
	struct env_register_context ctx = { "3c5e0a7b", "org/churn", NULL, { 0 } };
	struct buf id = BUF_INIT;

	cr_assert_ok(load(e, d, IMAGE_ENV, CONDA));
	arm_stub_start_aml(f, script, n, "ws1");
	cr_assert_eq(online_env_ensure(&id, e, &f->aml, &ctx), want, "%s", error_message());
	if (!want) {
		char *tail = xasprintf("/workspaces/ws1/environments/churn-deploy-env/versions/%s",
				       e->version);
		size_t len = strlen(tail);

		cr_assert(id.len > len && !strcmp(id.data + id.len - len, tail), "%s", id.data);
		free(tail);
	}
	buf_release(&id);
}

Test(online_env, registered_when_missing)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = NOT_FOUND },
		{ .status = 201, .body = PUT_OK },
	};
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct online_env e = ONLINE_ENV_INIT;
	struct arm_stub f;
	const char *text;
	cJSON *body;
	size_t len;

	ensure(&f, &e, &d, script, 2, 0);
	cr_assert(e.registered);
	cr_assert_eq(stub_count(f.stub), 2);
	cr_assert(!strncmp(stub_head(f.stub, 0), "GET ", 4));
	cr_assert(!strncmp(stub_head(f.stub, 1), "PUT ", 4));
	cr_assert(strstr(stub_head(f.stub, 1), "/environments/churn-deploy-env/versions/"));
	cr_assert(strstr(stub_head(f.stub, 1), e.version));
	text = stub_body(f.stub, 1, &len);
	body = cJSON_ParseWithLength(text, len);
	cr_assert_not_null(body);
	cr_assert_str_eq(json_string_or(body, "properties.image", ""), IMAGE);
	cr_assert_str_eq(json_string_or(body, "properties.condaFile", ""), CONDA, "sent as written");
	cr_assert_str_eq(json_string_or(body, "properties.tags.contentHash", ""), e.env.content_hash);
	cr_assert_str_eq(json_string_or(body, "properties.tags.commit", ""), "3c5e0a7b");
	cJSON_Delete(body);
	online_env_release(&e);
	online_deployment_release(&d);
	arm_stub_stop(&f);
}

Test(online_env, reused_when_present)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct online_env e = ONLINE_ENV_INIT;
	struct stub_reply script[1];
	struct arm_stub f;
	char *found;

	/* The hash is known once loaded: load first to write the reply. */
	cr_assert_ok(load(&e, &d, IMAGE_ENV, CONDA));
	found = xasprintf("{\"name\":\"%s\",\"properties\":{\"image\":\"" IMAGE "\","
			  "\"tags\":{\"contentHash\":\"%s\"}}}", e.version, e.env.content_hash);
	online_env_release(&e);
	script[0] = (struct stub_reply){ .status = 200, .body = found };
	ensure(&f, &e, &d, script, 1, 0);
	cr_assert(!e.registered);
	cr_assert_eq(stub_count(f.stub), 1, "no PUT");
	online_env_release(&e);
	online_deployment_release(&d);
	arm_stub_stop(&f);
	free(found);
}

Test(online_env, a_version_with_other_content_is_a_conflict)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"name\":\"x\",\"properties\":{\"image\":\"" IMAGE "\","
					 "\"tags\":{\"contentHash\":\"0123456789abcdef\"}}}" },
	};
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct online_env e = ONLINE_ENV_INIT;
	struct arm_stub f;

	ensure(&f, &e, &d, script, 1, ERR_CONFLICT);
	cr_assert(strstr(error_message(), YAML ":2: field 'environment': "), "%s", error_message());
	cr_assert(strstr(error_message(), "registered with other content"));
	cr_assert_eq(stub_count(f.stub), 1, "nothing registered over it");
	online_env_release(&e);
	online_deployment_release(&d);
	arm_stub_stop(&f);
}

Test(online_env, a_failed_registration_names_the_line)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = NOT_FOUND },
		{ .status = 400, .body = "{\"error\":{\"code\":\"UserError\",\"message\":\"bad image\"}}" },
	};
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct online_env e = ONLINE_ENV_INIT;
	struct arm_stub f;

	ensure(&f, &e, &d, script, 2, ERR_HTTP);
	cr_assert(strstr(error_message(), YAML ":2: field 'environment': "), "%s", error_message());
	cr_assert(strstr(error_message(), "bad image"), "%s", error_message());
	cr_assert(!e.registered);
	online_env_release(&e);
	online_deployment_release(&d);
	arm_stub_stop(&f);
}

Test(online_env, a_run_that_registered_it_meanwhile_is_reused)
{
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct online_env e = ONLINE_ENV_INIT;
	struct stub_reply script[3];
	struct arm_stub f;
	char *found;

	cr_assert_ok(load(&e, &d, IMAGE_ENV, CONDA));
	found = xasprintf("{\"name\":\"%s\",\"properties\":{\"image\":\"" IMAGE "\","
			  "\"tags\":{\"contentHash\":\"%s\"}}}", e.version, e.env.content_hash);
	online_env_release(&e);
	script[0] = (struct stub_reply){ .status = 404, .body = NOT_FOUND };
	script[1] = (struct stub_reply){ .status = 409, .body = "{\"error\":{\"code\":\"Conflict\","
					 "\"message\":\"exists\"}}" };
	script[2] = (struct stub_reply){ .status = 200, .body = found };
	ensure(&f, &e, &d, script, 3, 0);
	cr_assert(!e.registered);
	cr_assert_eq(stub_count(f.stub), 3, "looked up again after the conflict");
	online_env_release(&e);
	online_deployment_release(&d);
	arm_stub_stop(&f);
	free(found);
}
