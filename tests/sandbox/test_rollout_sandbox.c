/* The rollout engine over the real endpoint client against the sandbox;
 * the scoring and metrics readers are test ops (the seam), which look at
 * the endpoint as Azure has it while a step bakes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/arm.h"
#include "core/json.h"
#include "mlops/rollout.h"
#include "support/check.h"
#include "support/sandbox.h"

#define MODEL_ID "azureml://registries/azureml/models/sandbox-model/versions/1"
#define ENV_ID "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"
#define EP "sbx-roll"

static const char *const provenance[] = {
	"commit", "3c5e0a7", "repository", "org/repo", "model", "iris:7", NULL,
};
static const struct aml_endpoint_spec endpoint_spec = {
	.location = "eastus", .auth_mode = "Key", .tags = provenance,
};
static const struct aml_deployment_spec deployment_spec = {
	.location = "eastus", .model_id = MODEL_ID, .environment_id = ENV_ID,
	.instance_type = "Standard_DS3_v2", .instance_count = 1, .tags = provenance,
};

struct test_ctx {
	struct sandbox_aml c;
	int smoke_status;        /* what the smoke test answers */
	int breach_at;           /* health breaches when the deployment has this share */
	int cancel_at_sleep;     /* the nth sleep is a stop; 0: never */
	int sleeps;
	int seen[8];             /* the deployment's live share at each health read */
	int mirror_seen[8];      /* its mirrored share */
	int health_nr;
	char scoring_uri[200];   /* as ready saw it */
};

/* The endpoint's raw answer: mirrorTraffic is not in struct aml_endpoint. */
static int raw_share(struct test_ctx *t, const char *field, const char *deployment)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	const cJSON *map;
	int share;

	aml_path(&path, &t->c.aml, "/onlineEndpoints/%s", EP);
	cr_assert_ok(arm_call(t->c.aml.arm, "GET", path.data, AML_API_VERSION, NULL, &r));
	map = json_find(json_find(r.json, "properties"), field);
	share = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(map, deployment)) ?
		cJSON_GetObjectItemCaseSensitive(map, deployment)->valueint : 0;
	arm_response_release(&r);
	buf_release(&path);
	return share;
}

static int ready(void *ctx, const struct aml_endpoint *e)
{
	struct test_ctx *t = ctx;

	cr_assert_not_null(e->scoring_uri);
	snprintf(t->scoring_uri, sizeof(t->scoring_uri), "%s", e->scoring_uri);
	return 0;
}

static int smoke(void *ctx, const char *deployment, struct rollout_smoke *out)
{
	struct test_ctx *t = ctx;

	(void)deployment;
	cr_assert(t->scoring_uri[0], "smoke before ready");
	out->status = t->smoke_status;
	out->passed = t->smoke_status == 200;
	out->latency_ms = 12;
	out->detail = out->passed ? NULL : strdup("HTTP 500: model failed to load");
	return 0;
}

static int health(void *ctx, const char *deployment, time_t from, time_t to,
		  struct rollout_health *out)
{
	struct test_ctx *t = ctx;
	int live = raw_share(t, "traffic", deployment);

	cr_assert_leq(from, to);
	cr_assert_lt(t->health_nr, 8);
	t->mirror_seen[t->health_nr] = raw_share(t, "mirrorTraffic", deployment);
	t->seen[t->health_nr++] = live;
	out->requests = 100;
	out->errors_4xx = 3;
	out->errors_5xx = live == t->breach_at ? 40 : 0;
	out->p90_ms = 80;
	return 0;
}

static int nap(void *ctx, long seconds)
{
	struct test_ctx *t = ctx;

	cr_assert_eq(seconds, 60);
	if (++t->sleeps == t->cancel_at_sleep)
		return error_set(ERR_CANCELLED, "stopped by a signal");
	return 0;
}

static const struct rollout_ops ops = { .ready = ready, .smoke = smoke, .health = health, .sleep = nap };

static void open_ctx(struct test_ctx *t)
{
	memset(t, 0, sizeof(*t));
	sandbox_aml_open(&t->c);
	sandbox_config("{\"lro_step_seconds\":0.05,\"retry_after_seconds\":0}");
	t->c.arm.poll_default_ms = 50;
	t->smoke_status = 200;
	t->breach_at = -1;
}

static struct rollout_request request(const char *deployment)
{
	struct rollout_request req = {
		.endpoint = EP, .deployment = deployment, .endpoint_spec = &endpoint_spec,
		.deployment_spec = &deployment_spec, .model_version = "7", .mode = ROLLOUT_SAFE,
		.bake_seconds = 60, .max_error_rate = 0.05, .max_latency_ms = 500,
		.keep_previous = 1, .timeout_s = 60,
	};

	cr_assert_ok(rollout_steps_parse(&req.steps, "10,50,100"));
	return req;
}

/* The endpoint's live traffic, as "blue=0,green=100" in map order. */
static void traffic_is(struct test_ctx *t, const char *want)
{
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	struct buf got = BUF_INIT;
	size_t i;

	cr_assert_ok(aml_endpoint_get(&e, &t->c.aml, EP));
	for (i = 0; i < e.traffic_nr; i++)
		buf_addf(&got, "%s%s=%d", i ? "," : "", e.traffic[i].deployment, e.traffic[i].percent);
	cr_assert_str_eq(got.data, want);
	buf_release(&got);
	aml_endpoint_release(&e);
}

static void deploy(struct test_ctx *t, const char *name)
{
	struct rollout_request req = request(name);
	struct rollout_report r = ROLLOUT_REPORT_INIT;

	cr_assert_ok(rollout_run(&r, &t->c.aml, &req, &ops, t));
	rollout_report_release(&r);
}

/* A fresh sandbox where blue serves 100%, and the request for `name`. */
static struct rollout_request after_blue(struct test_ctx *t, const char *name)
{
	open_ctx(t);
	deploy(t, "blue");
	return request(name);
}

Test(rollout_sandbox, first_deployment_breach_success_rerun_and_rollback)
{
	struct rollout_report r = ROLLOUT_REPORT_INIT;
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	struct aml_deployment d = AML_DEPLOYMENT_INIT;
	struct rollout_request req;
	struct test_ctx t;

	open_ctx(&t);
	/* The first deployment ever: endpoint created, 100% at once. */
	req = request("blue");
	cr_assert_ok(rollout_run(&r, &t.c.aml, &req, &ops, &t));
	cr_assert(r.endpoint_created);
	cr_assert_eq(r.steps_nr, 1);
	cr_assert_eq(r.steps[0].percent, 100);
	cr_assert_null(r.previous);
	cr_assert(strstr(r.scoring_uri, "sbx-roll.") != NULL, "%s", r.scoring_uri);
	cr_assert_str_eq(t.scoring_uri, r.scoring_uri);
	traffic_is(&t, "blue=100");
	cr_assert_ok(aml_endpoint_get(&e, &t.c.aml, EP));
	cr_assert_str_eq(json_string_or(e.tags, "commit", ""), "3c5e0a7");
	cr_assert_str_eq(e.auth_mode, "Key");
	cr_assert_ok(aml_deployment_get(&d, &t.c.aml, EP, "blue"));
	cr_assert_str_eq(json_string_or(d.tags, "model", ""), "iris:7");
	cr_assert_not_null(json_string_or(d.tags, ROLLOUT_SERVED_TAG, NULL));

	/* green breaches at 50%: the map before comes back exactly. */
	t.breach_at = 50;
	req = request("green");
	cr_assert_fails(rollout_run(&r, &t.c.aml, &req, &ops, &t), ERR_REMOTE_FAILED,
			"breached at 50%");
	cr_assert(!r.endpoint_created);
	cr_assert_str_eq(r.previous, "blue");
	cr_assert_eq(r.steps_nr, 2);
	cr_assert_eq(t.seen[1], 10);
	cr_assert_eq(t.seen[2], 50);
	cr_assert(!r.steps[0].breached);
	cr_assert(r.steps[1].breached);
	cr_assert_eq(r.steps[1].health.errors_5xx, 40);
	cr_assert(strstr(r.failure, "max-error-rate") != NULL, "%s", r.failure);
	cr_assert_eq(rollout_map_percent(&r.steps[0].traffic, "blue"), 90);
	traffic_is(&t, "blue=100");
	cr_assert_eq(r.after.nr, 1);
	cr_assert_eq(rollout_map_percent(&r.after, "blue"), 100);

	/* Again, healthy: attached to the green already created. */
	t.breach_at = -1;
	cr_assert_ok(rollout_run(&r, &t.c.aml, &req, &ops, &t));
	cr_assert(r.attached);
	cr_assert_eq(r.steps_nr, 3);
	cr_assert_str_eq(r.model_version, "7");
	traffic_is(&t, "blue=0,green=100");
	cr_assert_ok(aml_deployment_get(&d, &t.c.aml, EP, "blue"));

	/* A re-run after it completed does nothing. */
	cr_assert_ok(rollout_run(&r, &t.c.aml, &req, &ops, &t));
	cr_assert(r.noop);
	cr_assert_eq(r.steps_nr, 0);

	/* Rollback returns to blue, once: green, rolled back from, is no target. */
	cr_assert_ok(rollout_rollback(&r, &t.c.aml, EP, 60));
	cr_assert_str_eq(r.deployment, "blue");
	cr_assert_str_eq(r.previous, "green");
	traffic_is(&t, "blue=100,green=0");
	cr_assert_fails(rollout_rollback(&r, &t.c.aml, EP, 60), ERR_NOT_FOUND, "redeploy");
	traffic_is(&t, "blue=100,green=0");

	rollout_report_release(&r);
	aml_deployment_release(&d);
	aml_endpoint_release(&e);
	sandbox_aml_close(&t.c);
}

Test(rollout_sandbox, breach_restores_a_split_map_exactly)
{
	struct aml_traffic split[] = { { "blue", 70 }, { "green", 30 } };
	struct rollout_report r = ROLLOUT_REPORT_INIT;
	struct rollout_request req;
	struct test_ctx t;

	req = after_blue(&t, "green");
	cr_assert_ok(rollout_run(&r, &t.c.aml, &req, &ops, &t));
	cr_assert_ok(aml_endpoint_set_traffic(NULL, &t.c.aml, EP, split, 2, 60));
	req = request("red");
	t.breach_at = 50;
	cr_assert_fails(rollout_run(&r, &t.c.aml, &req, &ops, &t), ERR_REMOTE_FAILED,
			"breached at 50%");
	/* 90 shared as 70:30, then 50 as 70:30 (35, 15). */
	cr_assert_eq(rollout_map_percent(&r.steps[0].traffic, "blue"), 63);
	cr_assert_eq(rollout_map_percent(&r.steps[0].traffic, "green"), 27);
	cr_assert_eq(rollout_map_percent(&r.steps[1].traffic, "blue"), 35);
	cr_assert_eq(rollout_map_percent(&r.steps[1].traffic, "green"), 15);
	traffic_is(&t, "blue=70,green=30");
	rollout_report_release(&r);
	sandbox_aml_close(&t.c);
}

Test(rollout_sandbox, a_restore_that_fails_says_so)
{
	struct rollout_report r = ROLLOUT_REPORT_INIT;
	struct rollout_request req;
	struct test_ctx t;
	char *fault;

	req = after_blue(&t, "green");
	t.breach_at = 10;
	/* The PUT of the 10% step passes, the restoring one is refused. */
	fault = sandbox_fault("{\"kind\":\"status\",\"status\":400,\"method\":\"PUT\","
			      "\"path\":\"/onlineEndpoints/" EP "$\",\"skip\":1,\"count\":1}");
	cr_assert_fails(rollout_run(&r, &t.c.aml, &req, &ops, &t), ERR_REMOTE_FAILED,
			"traffic NOT restored: deployment green breached at 10%");
	cr_assert_eq(sandbox_fault_applied(fault), 1);
	cr_assert(strstr(r.failure, "NOT restored") != NULL, "%s", r.failure);
	traffic_is(&t, "blue=90,green=10");
	free(fault);
	rollout_report_release(&r);
	sandbox_aml_close(&t.c);
}

Test(rollout_sandbox, direct_without_keep_previous_deletes_it)
{
	struct rollout_report r = ROLLOUT_REPORT_INIT;
	struct aml_deployment d = AML_DEPLOYMENT_INIT;
	struct rollout_request req;
	struct test_ctx t;

	req = after_blue(&t, "green");
	req.mode = ROLLOUT_DIRECT;
	req.keep_previous = 0;
	cr_assert_ok(rollout_run(&r, &t.c.aml, &req, &ops, &t));
	cr_assert_eq(r.steps_nr, 1);
	cr_assert_eq(t.sleeps, 1, "direct mode bakes nothing (one sleep was blue's)");
	cr_assert_eq(r.deleted_nr, 1);
	cr_assert_str_eq(r.deleted[0], "blue");
	traffic_is(&t, "green=100");
	cr_assert_fails(aml_deployment_get(&d, &t.c.aml, EP, "blue"), ERR_NOT_FOUND, "404");
	/* Nothing kept: a rollback has nowhere to go. */
	cr_assert_fails(rollout_rollback(&r, &t.c.aml, EP, 60), ERR_NOT_FOUND, "surpassed");
	rollout_report_release(&r);
	aml_deployment_release(&d);
	sandbox_aml_close(&t.c);
}

Test(rollout_sandbox, smoke_failure_leaves_the_traffic)
{
	struct rollout_report r = ROLLOUT_REPORT_INIT;
	struct rollout_request req;
	struct test_ctx t;

	req = after_blue(&t, "green");
	t.smoke_status = 500;
	cr_assert_fails(rollout_run(&r, &t.c.aml, &req, &ops, &t), ERR_REMOTE_FAILED,
			"smoke test of deployment green failed");
	cr_assert(r.smoked);
	cr_assert_eq(r.smoke.status, 500);
	cr_assert(strstr(r.failure, "model failed to load") != NULL, "%s", r.failure);
	cr_assert_eq(r.steps_nr, 0);
	traffic_is(&t, "blue=100");
	rollout_report_release(&r);
	sandbox_aml_close(&t.c);
}

Test(rollout_sandbox, failed_provisioning_then_replaced)
{
	struct rollout_report r = ROLLOUT_REPORT_INIT;
	struct rollout_request req;
	struct test_ctx t;
	char *fault;

	req = after_blue(&t, "green");
	fault = sandbox_fault("{\"kind\":\"lro_failed\",\"method\":\"PUT\","
			      "\"path\":\"/deployments/green$\",\"count\":1}");
	cr_assert_fails(rollout_run(&r, &t.c.aml, &req, &ops, &t), ERR_REMOTE_FAILED,
			"failed provisioning");
	cr_assert_not_null(r.failure);
	cr_assert(!r.smoked);
	traffic_is(&t, "blue=100");
	/* The Failed deployment is replaced by the next run. */
	cr_assert_ok(rollout_run(&r, &t.c.aml, &req, &ops, &t));
	cr_assert(r.replaced);
	traffic_is(&t, "blue=0,green=100");
	free(fault);
	rollout_report_release(&r);
	sandbox_aml_close(&t.c);
}

Test(rollout_sandbox, mirror_bake_breach_then_success_turn_it_off)
{
	struct rollout_report r = ROLLOUT_REPORT_INIT;
	struct rollout_request req;
	struct test_ctx t;

	/* A breach while mirrored: the mirror is off again, traffic as before. */
	req = after_blue(&t, "green");
	t.breach_at = 0;
	req.mirror_percent = 50;
	cr_assert_fails(rollout_run(&r, &t.c.aml, &req, &ops, &t), ERR_REMOTE_FAILED,
			"breached at 0%");
	cr_assert_eq(t.mirror_seen[1], 50);
	cr_assert_eq(raw_share(&t, "mirrorTraffic", "green"), 0);
	traffic_is(&t, "blue=100");

	/* Healthy: mirrored, then off before green takes live traffic. */
	t.breach_at = -1;
	req.mirror_percent = 20;
	cr_assert_ok(rollout_steps_parse(&req.steps, "50,100"));
	cr_assert_ok(rollout_run(&r, &t.c.aml, &req, &ops, &t));
	cr_assert_eq(r.steps_nr, 3);
	cr_assert_eq(r.steps[0].mirror_percent, 20);
	cr_assert_eq(r.steps[0].percent, 0);
	cr_assert_eq(t.mirror_seen[2], 20);
	cr_assert_eq(t.seen[2], 0);
	cr_assert_eq(t.mirror_seen[3], 0);
	cr_assert_eq(t.seen[3], 50);
	cr_assert_eq(raw_share(&t, "mirrorTraffic", "green"), 0);
	traffic_is(&t, "blue=0,green=100");
	rollout_report_release(&r);
	sandbox_aml_close(&t.c);
}

Test(rollout_sandbox, stop_during_a_bake_restores_the_traffic)
{
	struct rollout_report r = ROLLOUT_REPORT_INIT;
	struct rollout_request req;
	struct test_ctx t;

	req = after_blue(&t, "green");
	t.cancel_at_sleep = 3;  /* blue's, green's 10%, green's 50% */
	cr_assert_fails(rollout_run(&r, &t.c.aml, &req, &ops, &t), ERR_CANCELLED, "signal");
	cr_assert_eq(r.steps_nr, 2);
	traffic_is(&t, "blue=100");
	rollout_report_release(&r);
	sandbox_aml_close(&t.c);
}
