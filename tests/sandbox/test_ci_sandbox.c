/* The GitHub host's network parts against the sandbox: the OIDC ID token
 * and the artifact upload through the v4 results service into Azurite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ci/ci.h"
#include "core/encode.h"
#include "core/fs.h"
#include "core/json.h"
#include "support/check.h"
#include "support/sandbox.h"

static const struct input_spec no_inputs[] = { { NULL, NULL, NULL, 0 } };
static const struct output_spec no_outputs[] = { { NULL, NULL } };
static const struct ci_spec spec = { "sandbox-test", no_inputs, no_outputs };

static struct ci *github(void)
{
	struct ci *ci = NULL;

	sandbox_require();
	setenv("GITHUB_ACTIONS", "true", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	return ci;
}

static cJSON *jwt_claims(const char *jwt)
{
	const char *a = strchr(jwt, '.'), *b = a ? strchr(a + 1, '.') : NULL;
	struct buf payload = BUF_INIT;
	cJSON *claims = NULL;

	cr_assert(a && b, "not a JWT");
	cr_assert_ok(base64_decode(&payload, a + 1, (size_t)(b - a - 1)));
	cr_assert_ok(json_parse(&claims, payload.data, payload.len, "claims"));
	buf_release(&payload);
	return claims;
}

Test(ci_sandbox, oidc_id_token_for_an_audience)
{
	struct ci *ci = github();
	char *token = NULL;
	cJSON *claims;

	cr_assert_ok(ci_id_token(ci, "api://AzureADTokenExchange", &token));
	claims = jwt_claims(token);
	cr_assert_str_eq(json_string_or(claims, "aud", ""), "api://AzureADTokenExchange");
	cr_assert_str_eq(json_string_or(claims, "iss", ""), "https://token.actions.githubusercontent.com");
	cJSON_Delete(claims);
	free(token);
	ci_close(ci);
}

Test(ci_sandbox, oidc_without_permission_says_what_to_do)
{
	struct ci *ci = github();
	char *token = NULL;

	unsetenv("ACTIONS_ID_TOKEN_REQUEST_URL");
	cr_assert_fails(ci_id_token(ci, "api://AzureADTokenExchange", &token), ERR_AUTH,
			"permissions: id-token: write");
	ci_close(ci);
}

static char *make_tree(void)
{
	char *dir = xstrdup("/tmp/artifact-tree-XXXXXX");
	struct buf p = BUF_INIT;

	cr_assert_not_null(mkdtemp(dir));
	buf_addf(&p, "%s/logs", dir);
	cr_assert_ok(fs_mkdirs(p.data));
	buf_addstr(&p, "/std_log.txt");
	cr_assert_ok(fs_write_file(p.data, "epoch 1 loss 0.5\n", 17));
	buf_release(&p);
	return dir;
}

Test(ci_sandbox, artifact_upload_lands_finalized_in_the_results_service)
{
	struct ci *ci = github();
	char *dir = make_tree(), *url = NULL;
	cJSON *state = NULL;
	const cJSON *runs, *run, *art;
	int found = 0;

	sandbox_reset();
	cr_assert_ok(ci_upload_artifact(ci, "training-logs-test", dir, &url));
	cr_assert_not_null(url);
	cr_assert(strstr(url, "/actions/runs/") && strstr(url, "/artifacts/"), "url %s", url);
	cr_assert_not_null(ci_artifact_id(ci));
	cr_assert(strstr(url, ci_artifact_id(ci)), "url %s, id %s", url, ci_artifact_id(ci));
	sandbox_control("GET", "/state", NULL, &state);
	runs = json_find(state, "artifacts");
	cJSON_ArrayForEach(run, runs)
		cJSON_ArrayForEach(art, run)
			if (!strcmp(art->string, "training-logs-test") &&
			    cJSON_IsTrue(json_find(art, "finalized")))
				found = 1;
	cr_assert(found, "artifact not finalized in the sandbox");
	/* Names are unique per run: a second upload is a conflict. */
	cr_assert_fails(ci_upload_artifact(ci, "training-logs-test", dir, NULL), ERR_CONFLICT,
			"training-logs-test");
	cJSON_Delete(state);
	free(url);
	free(dir);
	ci_close(ci);
}

Test(ci_sandbox, no_results_service_is_a_warning_not_a_crash)
{
	struct ci *ci = github();
	char *dir = make_tree();

	unsetenv("ACTIONS_RESULTS_URL");
	cr_assert_eq(ci_upload_artifact(ci, "logs", dir, NULL), ERR_NOT_FOUND);
	free(dir);
	ci_close(ci);
}
