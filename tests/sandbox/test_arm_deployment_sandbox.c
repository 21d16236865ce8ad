/* ARM template deployments against the sandbox: the real template in
 * tests/fixtures/arm/ validated, what-if'd, deployed and re-examined, a
 * failing resource named, a rejected template, and a throttled poll. */
#include <string.h>

#include <criterion/criterion.h>

#include "azure/arm_deployment.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/templates.h"
#include "support/check.h"
#include "support/sandbox.h"

#define FIXTURES "tests/fixtures/arm/"
#define RG_API "2025-04-01"

static cJSON *load(const char *name)
{
	struct buf text = BUF_INIT;
	cJSON *json = NULL;

	cr_assert_ok(fs_read_file(&text, name, 1 << 20));
	cr_assert_ok(json_parse(&json, text.data, text.len, name));
	buf_release(&text);
	return json;
}

/* Progress lines arm_wait logs, kept for the test to read. */
static struct buf progress_lines = BUF_INIT;

static void keep_line(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)ctx;
	buf_addf(&progress_lines, "%s\n", text);
}

struct env {
	struct http_client *http;
	struct arm arm;
	struct arm_deployment_target target;
	struct arm_template t;          /* the fixture, as templates_find reads it */
	cJSON *template, *params_file, *params;
	struct arm_deployment_request req;
};

/* A fresh sandbox, an empty resource group of our own, quick async walks. */
static void setup(struct env *e, const char *rg, const char *const *overrides)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	cJSON *body = json_new_object();

	sandbox_require();
	sandbox_reset();
	/* 4 steps (2 resources + 2) of 1.2 s, polled every second: the first
	 * poll still sees Accepted, the later ones Running. */
	sandbox_config("{\"lro_step_seconds\":1.2,\"retry_after_seconds\":1}");
	e->http = sandbox_http();
	sandbox_arm(&e->arm, e->http);
	e->arm.progress_every_ms = 0; /* a progress line per poll, to see the walk */
	json_add_string(body, "location", "westeurope");
	buf_addf(&path, "/subscriptions/%s/resourcegroups/%s", e->arm.subscription_id, rg);
	cr_assert_ok(arm_call(&e->arm, "PUT", path.data, RG_API, body, &r));
	e->target = (struct arm_deployment_target){ &e->arm, rg, "storage-vault", 120 };
	e->template = load(FIXTURES "storage-vault.json");
	e->params_file = load(FIXTURES "storage-vault.parameters.json");
	e->params = NULL;
	e->t = (struct arm_template){ .path = (char *)FIXTURES "storage-vault.json",
				      .parameters_path = (char *)"storage-vault.parameters.json",
				      .template = e->template,
				      .parameters = cJSON_GetObjectItem(e->params_file, "parameters") };
	cr_assert_ok(template_parameters(&e->params, &e->t, overrides));
	e->req = (struct arm_deployment_request)ARM_DEPLOYMENT_REQUEST_INIT;
	e->req.template = e->template;
	e->req.parameters = e->params;
	arm_response_release(&r);
	buf_release(&path);
	cJSON_Delete(body);
}

static void reparameterise(struct env *e, const char *const *overrides)
{
	cJSON_Delete(e->params);
	cr_assert_ok(template_parameters(&e->params, &e->t, overrides));
	e->req.parameters = e->params;
}

static void teardown(struct env *e)
{
	cJSON_Delete(e->template);
	cJSON_Delete(e->params_file);
	cJSON_Delete(e->params);
	arm_release(&e->arm);
	http_client_free(e->http);
	log_set_sink(NULL);
	buf_release(&progress_lines);
	log_reset_secrets();
}

static const struct arm_deployment_change *change_of_type(const struct arm_deployment_whatif *w,
						      const char *type_suffix)
{
	size_t i, n = strlen(type_suffix);

	for (i = 0; i < w->n_changes; i++) {
		size_t len = strlen(w->changes[i].resource_id);
		const char *id = w->changes[i].resource_id;

		if (len > n && strstr(id, type_suffix))
			return &w->changes[i];
	}
	cr_assert_fail("no change for %s", type_suffix);
	return NULL;
}

Test(arm_deployment_sandbox, validate_whatif_deploy_and_whatif_again)
{
	/* Not storageSku: the sandbox's what-if drops nested "name" keys (sku.name). */
	static const char *const bigger[] = { "storageTags={\"team\":\"ml\"}", "softDeleteDays=30", NULL };
	struct log_sink sink = { keep_line, NULL, NULL };
	struct arm_deployment_validation v;
	struct arm_deployment_whatif w;
	struct arm_deployment_result r;
	const struct arm_deployment_output *o;
	size_t counts[ARM_DEPLOYMENT_CHANGE_COUNT];
	struct buf lines = BUF_INIT, masked = BUF_INIT;
	struct env e;

	setup(&e, "deploy-e2e-rg", NULL);
	arm_deployment_validation_init(&v);
	arm_deployment_whatif_init(&w);
	arm_deployment_result_init(&r);

	cr_assert_ok(arm_deployment_validate(&v, &e.target, &e.req));
	cr_assert_str_eq(v.provisioning_state, "Succeeded");
	cr_assert_eq(v.n_validated_resources, 2);

	/* A fresh resource group: everything is created. */
	cr_assert_ok(arm_deployment_what_if(&w, &e.target, &e.req));
	arm_deployment_whatif_count(counts, &w);
	cr_assert_eq(w.n_changes, 2);
	cr_assert_eq(counts[ARM_DEPLOYMENT_CHANGE_CREATE], 2);

	log_set_sink(&sink);
	cr_assert_ok(arm_deployment_deploy(&r, &e.target, &e.req));
	log_set_sink(NULL);
	cr_assert(strstr(progress_lines.data, "deployment storage-vault: Accepted (") != NULL, "%s",
		  progress_lines.data);
	cr_assert(strstr(progress_lines.data, "deployment storage-vault: Running (") != NULL, "%s",
		  progress_lines.data);
	cr_assert_str_eq(r.provisioning_state, "Succeeded");
	cr_assert_not_null(r.duration);
	cr_assert_not_null(r.correlation_id);
	cr_assert_eq(r.n_output_resources, 2);
	o = arm_deployment_output_find(&r, "blobEndpoint");
	cr_assert_not_null(o);
	cr_assert(strstr(o->value->valuestring, ".blob.core.windows.net/") != NULL);
	cr_assert(strstr(arm_deployment_output_find(&r, "vaultUri")->value->valuestring, ".vault.azure.net/") != NULL);
	cr_assert_eq(arm_deployment_output_find(&r, "softDeleteDays")->value->valuedouble, 7);
	o = arm_deployment_output_find(&r, "adminSecretEcho");
	cr_assert(o->secure);
	buf_addstr(&masked, "echo sandbox-admin-secret-42");
	log_mask(&masked);
	cr_assert_str_eq(masked.data, "echo ***");

	/* The same again changes nothing... */
	cr_assert_ok(arm_deployment_what_if(&w, &e.target, &e.req));
	arm_deployment_whatif_count(counts, &w);
	cr_assert_eq(counts[ARM_DEPLOYMENT_CHANGE_NO_CHANGE], 2, "%zu creates, %zu modifies",
		     counts[ARM_DEPLOYMENT_CHANGE_CREATE], counts[ARM_DEPLOYMENT_CHANGE_MODIFY]);

	/* ...and other parameters modify both resources, property by property. */
	reparameterise(&e, bigger);
	cr_assert_ok(arm_deployment_what_if(&w, &e.target, &e.req));
	arm_deployment_whatif_count(counts, &w);
	cr_assert_eq(counts[ARM_DEPLOYMENT_CHANGE_MODIFY], 2, "%zu changes: %s %s, %s %s", w.n_changes,
		     arm_deployment_change_type_name(w.changes[0].type), w.changes[0].resource_id,
		     w.n_changes > 1 ? arm_deployment_change_type_name(w.changes[1].type) : "", 
		     w.n_changes > 1 ? w.changes[1].resource_id : "");
	arm_deployment_change_lines(&lines, change_of_type(&w, "/storageAccounts/"), 200);
	cr_assert_str_eq(lines.data, "tags.team: (none) -> \"ml\"\n");
	buf_reset(&lines);
	arm_deployment_change_lines(&lines, change_of_type(&w, "/vaults/"), 200);
	cr_assert_str_eq(lines.data, "properties.softDeleteRetentionInDays: 7 -> 30\n");

	buf_release(&lines);
	buf_release(&masked);
	arm_deployment_validation_release(&v);
	arm_deployment_whatif_release(&w);
	arm_deployment_result_release(&r);
	teardown(&e);
}

Test(arm_deployment_sandbox, failed_deployment_names_the_failing_resource)
{
	/* The sandbox fails a resource tagged sandbox-fail with that code. */
	static const char *const failing[] = { "storageTags={\"sandbox-fail\":\"StorageAccountAlreadyTaken\"}", NULL };
	struct arm_deployment_result r;
	struct env e;

	setup(&e, "deploy-fail-rg", failing);
	arm_deployment_result_init(&r);
	cr_assert_fails(arm_deployment_deploy(&r, &e.target, &e.req), ERR_REMOTE_FAILED,
			"deployment storage-vault: resource Microsoft.Storage/storageAccounts 'mlopssa");
	cr_assert(strstr(error_message(), "' failed: StorageAccountAlreadyTaken: ") != NULL, "%s", error_message());
	cr_assert(strstr(error_message(), "DeploymentFailed") != NULL, "%s", error_message());
	cr_assert_str_eq(r.provisioning_state, "Failed");
	cr_assert_str_eq(r.failure.resource_type, "Microsoft.Storage/storageAccounts");
	cr_assert_str_eq(r.failure.code, "StorageAccountAlreadyTaken");
	arm_deployment_result_release(&r);
	teardown(&e);
}

Test(arm_deployment_sandbox, invalid_template_fails_validation)
{
	struct arm_deployment_validation v;
	cJSON *bad = load(FIXTURES "invalid-function.json");
	static const char *const bad_name[] = { "prefix=BAD_", NULL };
	struct env e;

	setup(&e, "deploy-invalid-rg", NULL);
	arm_deployment_validation_init(&v);
	e.req.template = bad;
	e.req.parameters = NULL;
	cr_assert_fails(arm_deployment_validate(&v, &e.target, &e.req), ERR_HTTP, "HTTP 400 InvalidTemplate: ");
	cr_assert(strstr(error_message(), "noSuchFunction") != NULL, "%s", error_message());

	/* A preflight failure names the resource it is about. */
	e.req.template = e.template;
	reparameterise(&e, bad_name);
	cr_assert_fails(arm_deployment_validate(&v, &e.target, &e.req), ERR_HTTP,
			"validate deployment storage-vault: AccountNameInvalid on resource 'BAD_sa");
	cr_assert(strstr(error_message(), "InvalidTemplateDeployment") != NULL, "%s", error_message());
	arm_deployment_validation_release(&v);
	cJSON_Delete(bad);
	teardown(&e);
}

Test(arm_deployment_sandbox, throttled_status_poll_recovers)
{
	struct arm_deployment_result r;
	char *throttle;
	struct env e;

	setup(&e, "deploy-throttle-rg", NULL);
	throttle = sandbox_fault("{\"kind\":\"status\",\"status\":429,\"retry_after\":1,\"count\":1,"
				 "\"method\":\"GET\",\"path\":\"/operationStatuses/\"}");
	arm_deployment_result_init(&r);
	cr_assert_ok(arm_deployment_deploy(&r, &e.target, &e.req));
	cr_assert_str_eq(r.provisioning_state, "Succeeded");
	cr_assert_eq(sandbox_fault_applied(throttle), 1);
	free(throttle);
	arm_deployment_result_release(&r);
	teardown(&e);
}

/*
 * The connection drops after ARM has taken the PUT (issue 11): the HTTP
 * client sends it again and ARM answers 409 DeploymentActive, about our
 * own deployment. It is followed to its end, not reported Failed while it
 * Succeeds.
 */
Test(arm_deployment_sandbox, a_retried_put_meeting_its_own_active_deployment_follows_it)
{
	struct arm_deployment_result r;
	char *drop;
	struct env e;

	setup(&e, "deploy-drop-rg", NULL);
	drop = sandbox_fault("{\"kind\":\"drop\",\"count\":1,\"method\":\"PUT\","
			     "\"path\":\"/providers/Microsoft.Resources/deployments/storage-vault$\"}");
	arm_deployment_result_init(&r);
	cr_assert_ok(arm_deployment_deploy(&r, &e.target, &e.req));
	cr_assert_eq(sandbox_fault_applied(drop), 1);
	cr_assert_str_eq(r.provisioning_state, "Succeeded");
	cr_assert_not_null(arm_deployment_output_find(&r, "blobEndpoint"), "the outputs were read");
	free(drop);
	arm_deployment_result_release(&r);
	teardown(&e);
}

/* Someone else's deployment of the same name is still a conflict. */
Test(arm_deployment_sandbox, a_put_meeting_another_active_deployment_is_a_conflict)
{
	struct arm_response started = ARM_RESPONSE_INIT;
	struct arm_deployment_result r;
	struct buf path = BUF_INIT;
	cJSON *body = NULL;
	struct env e;

	setup(&e, "deploy-busy-rg", NULL);
	cr_assert_ok(arm_deployment_body(&body, &e.req));
	buf_addf(&path, "/subscriptions/%s/resourcegroups/deploy-busy-rg/providers/Microsoft.Resources/"
		 "deployments/storage-vault", e.arm.subscription_id);
	cr_assert_ok(arm_call(&e.arm, "PUT", path.data, ARM_DEPLOYMENT_API_VERSION, body, &started));
	arm_deployment_result_init(&r);
	cr_assert_fails(arm_deployment_deploy(&r, &e.target, &e.req), ERR_CONFLICT, "DeploymentActive");
	arm_response_release(&started);
	arm_deployment_result_release(&r);
	cJSON_Delete(body);
	buf_release(&path);
	teardown(&e);
}
