/*
 * Model-CD's deploy and rollback stages (mlops/model_deploy.h): the
 * repository read first, the workspace read next, then the changes.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azure/aml_model.h"
#include "azure/aml_score.h"
#include "azure/aml_workspace.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/code_snapshot.h"
#include "mlops/deploy_metrics.h"
#include "mlops/job_run.h"
#include "mlops/model_deploy.h"
#include "mlops/online_env.h"
#include "core/banned.h"

/* A smoke request or its expected answer: small JSON documents. */
#define SMOKE_MAX (1u << 20)
/* The tail of each container's log kept for a diagnosis. */
#define LOG_TAIL_LINES 200

void model_deploy_init(struct model_deploy *d, const struct model_deploy_options *o)
{
	memset(d, 0, sizeof(*d));
	d->o = *o;
	d->yaml = (struct online_deployment)ONLINE_DEPLOYMENT_INIT;
	buf_init(&d->smoke_body);
	buf_init(&d->environment_id);
	buf_init(&d->logs);
}

static void free_notices(struct model_deploy *d)
{
	size_t i;

	for (i = 0; i < d->notices_nr; i++)
		free(d->notices[i]);
	free(d->notices);
	d->notices = NULL;
	d->notices_nr = 0;
}

void model_deploy_release(struct model_deploy *d)
{
	online_deployment_release(&d->yaml);
	if (d->code) {
		code_snapshot_release(d->code);
		free(d->code);
	}
	buf_release(&d->smoke_body);
	cJSON_Delete(d->smoke_expect);
	stage_model_release(&d->model);
	stage_model_release(&d->after);
	free(d->version);
	free(d->model_id);
	free(d->location);
	buf_release(&d->environment_id);
	free_notices(d);
	rollout_report_release(&d->report);
	deploy_diagnosis_release(&d->diagnosis);
	buf_release(&d->logs);
	memset(d, 0, sizeof(*d));
}

const char *model_deploy_version(const struct model_deploy *d)
{
	return d->version ? d->version : d->o.version;
}

/* ---- the repository ---- */

/* A JSON file named by input `input`: inside the workspace, strict JSON. */
static int read_json_input(struct buf *text, cJSON **json, const char *path, const char *input)
{
	int ret;

	if (!fs_is_file(path) || !fs_in_workspace(path))
		return error_set(ERR_INPUT, "Input %s: %s is not a file inside the workspace", input,
				 path);
	if ((ret = fs_read_file(text, path, SMOKE_MAX)))
		return error_prefix("Input %s", input);
	return json_parse_strict(json, text->data, text->len, path, path);
}

int model_deploy_load(struct model_deploy *d)
{
	struct buf expect = BUF_INIT;
	cJSON *smoke = NULL;
	int ret;

	if (aml_check_endpoint_name(d->o.endpoint))
		return error_prefix("Input endpoint-name");
	if ((ret = online_yaml_read(&d->yaml, d->o.workspace_root, d->o.deployment_yaml)))
		return ret;
	if (d->yaml.env_kind == ONLINE_ENV_INLINE) {
		/* Its files read and hashed now, so a bad one fails before any call. */
		struct online_env env = ONLINE_ENV_INIT;

		ret = online_env_load(&env, &d->yaml, d->o.model);
		online_env_release(&env);
		if (ret)
			return ret;
	}
	if (d->yaml.code_dir) {
		d->code = xcalloc(1, sizeof(*d->code));
		if ((ret = code_snapshot_scan(d->code, d->yaml.code_dir)))
			return ret;
	}
	if ((ret = read_json_input(&d->smoke_body, &smoke, d->o.smoke_request, "smoke-request")))
		return ret;
	cJSON_Delete(smoke);
	if (d->o.smoke_expect && *d->o.smoke_expect)
		ret = read_json_input(&expect, &d->smoke_expect, d->o.smoke_expect, "smoke-expect");
	buf_release(&expect);
	return ret;
}

/* ---- the workspace, read ---- */

int model_deploy_served(enum stage_served *served, char **version, struct aml *aml,
			const char *endpoint, const char *model)
{
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	struct aml_deployment_list l = AML_DEPLOYMENT_LIST_INIT;
	int ret;

	*served = STAGE_SERVED_UNKNOWN;
	*version = NULL;
	if (!endpoint || !*endpoint)
		return 0;
	ret = aml_endpoint_get(&e, aml, endpoint);
	if (ret == ERR_NOT_FOUND) {
		error_clear();
		*served = STAGE_SERVED_NONE;
		ret = 0;
	} else if (!ret && !(ret = aml_deployment_list(&l, aml, endpoint))) {
		*served = stage_served(version, &e, l.items, l.nr, model);
	}
	aml_endpoint_release(&e);
	aml_deployment_list_release(&l);
	return ret;
}

/* The version to deploy: the one given, which must be staged, or the
 * one staged. */
static int pick_version(struct model_deploy *d)
{
	long i;
	size_t k;

	if (d->o.version && *d->o.version) {
		i = stage_model_find(&d->model, d->o.version);
		if (i < 0)
			return error_set(ERR_INPUT, "Input model-version: model %s has no version %s",
					 d->o.model, d->o.version);
		if (d->model.v[i].stage != STAGE_STAGED && d->model.v[i].stage != STAGE_PRODUCTION)
			return error_set(ERR_INPUT, "model %s version %s is %s, not staged: stage "
					 "evaluate stages a version before it is deployed", d->o.model,
					 d->o.version, stage_name(d->model.v[i].stage));
		d->version = xstrdup(d->o.version);
		return 0;
	}
	for (k = 0; k < d->model.nr; k++)
		if (d->model.v[k].stage == STAGE_STAGED)
			d->version = xstrdup(d->model.v[k].version);
	/* None staged: a re-run of the deploy that made it production finds
	 * its deployment serving and does nothing. */
	for (k = 0; !d->version && k < d->model.nr; k++)
		if (d->model.v[k].stage == STAGE_PRODUCTION) {
			d->version = xstrdup(d->model.v[k].version);
			log_notice("no version of model %s is staged: deploying version %s, the one "
				   "in production", d->o.model, d->version);
		}
	if (!d->version)
		return error_set(ERR_INPUT, "model %s has no version tagged stage=staged: stage "
				 "evaluate stages the winner, or give model-version", d->o.model);
	return 0;
}

/* The environment's id from a reference; an inline environment is
 * registered later, once the run may change things (ensure_inline). */
static int resolve_environment(struct model_deploy *d, struct aml *aml)
{
	const struct online_deployment *y = &d->yaml;
	int ret;

	if (y->env_kind == ONLINE_ENV_INLINE)
		return 0;
	if (y->env_kind == ONLINE_ENV_REGISTRY) {
		buf_addstr(&d->environment_id, y->environment);
		return 0;
	}
	ret = job_environment_id(&d->environment_id, aml, y->environment, y->env_name,
				 y->env_kind == ONLINE_ENV_LATEST ? NULL : y->env_version);
	if (ret == ERR_INPUT)
		error_set_at(ERR_INPUT, d->o.deployment_yaml, online_yaml_line(y, "environment"), 0,
			     "%s: field 'environment': %s", d->o.deployment_yaml, error_message());
	return ret;
}

/* An inline environment, registered when missing (mlops/online_env.h). */
static int ensure_inline(struct model_deploy *d)
{
	struct env_register_context ctx = { d->o.commit, d->o.repository, d->o.http, d->o.tokens };
	struct online_env env = ONLINE_ENV_INIT;
	int ret;

	if (d->yaml.env_kind != ONLINE_ENV_INLINE || d->environment_id.len)
		return 0;
	if (!(ret = online_env_load(&env, &d->yaml, d->o.model)))
		ret = online_env_ensure(&d->environment_id, &env, d->o.aml, &ctx);
	online_env_release(&env);
	return ret;
}

/* The model version's id and the workspace's region. */
static int read_ids(struct model_deploy *d, struct aml *aml)
{
	struct aml_model_version v;
	struct aml_workspace ws;
	int ret;

	memset(&v, 0, sizeof(v));
	memset(&ws, 0, sizeof(ws));
	if (!(ret = aml_model_version_get(&v, aml, d->o.model, d->version))) {
		d->model_id = v.asset.id ? xstrdup(v.asset.id) : NULL;
		if (!d->model_id) {
			struct buf id = BUF_INIT;

			aml_path(&id, aml, "/models/%s/versions/%s", d->o.model, d->version);
			d->model_id = buf_detach(&id, NULL);
		}
	}
	if (!ret && !(ret = aml_workspace_get(&ws, aml)))
		d->location = ws.location ? xstrdup(ws.location) : NULL;
	if (!ret && !d->location)
		ret = error_set(ERR_JSON, "workspace %s has no location", aml->workspace);
	aml_model_version_release(&v);
	aml_workspace_release(&ws);
	return ret;
}

int model_deploy_prepare(struct model_deploy *d)
{
	struct aml *aml = d->o.aml;
	int ret;

	if ((ret = stage_load(&d->model, aml, d->o.model))) {
		if (ret == ERR_NOT_FOUND)
			return error_set(ERR_INPUT, "Input model-name: model %s is not registered in "
					 "workspace %s", d->o.model, aml->workspace);
		return ret;
	}
	if ((ret = pick_version(d)) || (ret = read_ids(d, aml)) ||
	    (ret = resolve_environment(d, aml)))
		return ret;
	return online_deployment_name(d->deployment, sizeof(d->deployment), d->o.model, d->version,
				      d->o.commit && *d->o.commit ? d->o.commit : "0000000");
}

/* ---- the ops of the rollout: the real scoring client and Azure Monitor ---- */

struct ops_ctx {
	struct model_deploy *d;
	char *scoring_uri;
	struct aml_endpoint_keys keys;
	struct buf endpoint_id;
};

static int op_ready(void *ctx, const struct aml_endpoint *e)
{
	struct ops_ctx *c = ctx;

	free(c->scoring_uri);
	c->scoring_uri = e->scoring_uri ? xstrdup(e->scoring_uri) : NULL;
	if (!c->scoring_uri)
		return error_set(ERR_JSON, "endpoint %s has no scoring URI", c->d->o.endpoint);
	aml_endpoint_keys_release(&c->keys);
	return aml_endpoint_list_keys(&c->keys, c->d->o.aml, c->d->o.endpoint);
}

/* Why a smoke answer does not pass, or NULL when it does. */
static char *smoke_verdict(const struct model_deploy *d, const struct aml_score_result *r)
{
	struct buf why = BUF_INIT;
	cJSON *got = NULL;

	if (r->status != 200) {
		buf_addf(&why, "HTTP %ld: ", r->status);
		excerpt_add(&why, r->body.data);
	} else if (d->smoke_expect) {
		if (json_parse(&got, r->body.data, r->body.len, "the smoke answer")) {
			buf_addf(&why, "the answer is not JSON: %s", error_message());
			error_clear();
		} else if (!aml_score_subset(d->smoke_expect, got)) {
			buf_addstr(&why, "the answer lacks what smoke-expect holds: ");
			excerpt_add(&why, r->body.data);
		}
	}
	cJSON_Delete(got);
	if (!why.len) {
		buf_release(&why);
		return NULL;
	}
	return buf_detach(&why, NULL);
}

static int op_smoke(void *ctx, const char *deployment, struct rollout_smoke *out)
{
	struct ops_ctx *c = ctx;
	struct aml_score_result r = AML_SCORE_RESULT_INIT;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = aml_score_post(&r, c->d->o.http, c->scoring_uri, c->keys.primary, deployment,
			     c->d->smoke_body.data, c->d->smoke_body.len, 60000);
	if (ret == ERR_INPUT) {
		aml_score_result_release(&r);
		return ret;
	}
	if (ret) {
		/* No answer at all is a failed smoke test, not a reason to stop
		 * without restoring anything. */
		out->detail = xstrdup(error_message());
		error_clear();
	} else {
		out->status = (int)r.status;
		out->latency_ms = r.latency_ms;
		out->detail = smoke_verdict(c->d, &r);
		out->passed = !out->detail;
	}
	aml_score_result_release(&r);
	return 0;
}

static int op_health(void *ctx, const char *deployment, time_t from, time_t to,
		     struct rollout_health *out)
{
	struct ops_ctx *c = ctx;
	struct deploy_health h;
	int ret;

	memset(&h, 0, sizeof(h));
	if ((ret = deploy_health_read(&h, c->d->o.aml->arm, c->endpoint_id.data, deployment, from,
				      to)))
		return ret;
	/* The rollout's "5xx" are the deployment's errors: 5xx and 424. */
	out->requests = h.requests;
	out->errors_4xx = h.status_4xx - h.status_424;
	out->errors_5xx = h.status_5xx + h.status_424;
	out->p90_ms = h.has_latency ? h.p90_ms : -1;
	return 0;
}

static int op_judge(void *ctx, const struct rollout_health *h, const struct rollout_request *req,
		    struct buf *reason)
{
	struct deploy_health dh;
	struct buf words = BUF_INIT;
	enum deploy_verdict v;

	(void)ctx;
	memset(&dh, 0, sizeof(dh));
	dh.requests = h->requests;
	dh.status_4xx = h->errors_4xx;
	dh.status_5xx = h->errors_5xx;
	dh.error_rate = h->requests ? (double)h->errors_5xx / (double)h->requests : 0;
	dh.has_latency = h->p90_ms >= 0;
	dh.p90_ms = h->p90_ms;
	v = deploy_health_judge(&dh, req->max_error_rate, req->max_latency_ms, &words);
	if (v == DEPLOY_BREACH)
		buf_addstr(reason, words.data);
	else
		log_info("  %s", words.data);
	buf_release(&words);
	return v == DEPLOY_BREACH;
}

/* Waits in short slices, so a stop is seen within a fifth of a second. */
static int op_sleep(void *ctx, long seconds)
{
	struct ops_ctx *c = ctx;
	long ms = seconds * 1000;

	while (ms > 0) {
		struct timespec ts = { 0, (ms < 200 ? ms : 200) * 1000000L };

		if (c->d->o.stop && *c->d->o.stop)
			return error_set(ERR_CANCELLED, "stopped while the deployment baked");
		nanosleep(&ts, NULL);
		ms -= 200;
	}
	return c->d->o.stop && *c->d->o.stop
		? error_set(ERR_CANCELLED, "stopped while the deployment baked") : 0;
}

static const struct rollout_ops real_ops = {
	.ready = op_ready,
	.smoke = op_smoke,
	.health = op_health,
	.sleep = op_sleep,
	.judge = op_judge,
};

static void ops_release(struct ops_ctx *c)
{
	free(c->scoring_uri);
	aml_endpoint_keys_release(&c->keys);
	buf_release(&c->endpoint_id);
}

/* ---- the changes ---- */

static const struct stage_apply_options *apply_options(const struct model_deploy *d,
							struct stage_apply_options *o)
{
	o->now = time(NULL);
	o->commit = d->o.commit;
	o->run_url = d->o.run_url;
	return o;
}

int model_stage_reconcile(char ***notices, size_t *nr, struct stage_model *m, struct aml *aml,
			  const char *endpoint, const char *model,
			  const struct stage_apply_options *o)
{
	enum stage_served served;
	char *version = NULL, **more = NULL;
	size_t i, more_nr = 0;
	int ret;

	if (!(ret = model_deploy_served(&served, &version, aml, endpoint, model)))
		ret = stage_reconcile(&more, &more_nr, m, aml, model, served, version, o);
	if (more_nr) {
		*notices = xrealloc(*notices, (*nr + more_nr) * sizeof(**notices));
		for (i = 0; i < more_nr; i++)
			(*notices)[(*nr)++] = more[i];
	}
	free(more);
	free(version);
	return ret;
}

/* Repairs what an earlier run left, the endpoint's traffic the truth for
 * production; `m` receives the model as it is afterwards. */
static int reconcile(struct model_deploy *d, struct stage_model *m)
{
	struct stage_apply_options ao;

	return model_stage_reconcile(&d->notices, &d->notices_nr, m, d->o.aml, d->o.endpoint,
				     d->o.model, apply_options(d, &ao));
}

/* The provenance tags of what is created: NULL-terminated pairs into
 * `pairs` (room for 11). The endpoint outlives its deployments and keeps
 * only the tags of its creation (Azure ML drops tags on later updates), so
 * the model version is a deployment's tag only. */
static const char *const *provenance(const struct model_deploy *d, const char **pairs,
				     int deployment)
{
	const char *v[][2] = {
		{ "commit", d->o.commit }, { "repository", d->o.repository },
		{ "workflowRun", d->o.run_url }, { "model", d->o.model },
		{ "modelVersion", deployment ? d->version : NULL },
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i][1] && *v[i][1]) {
			pairs[n++] = v[i][0];
			pairs[n++] = v[i][1];
		}
	pairs[n] = NULL;
	return pairs;
}

/* The code error of a failed operation's message ("...: Failed: Code: ..."). */
static void failure_code(struct buf *out, const char *message)
{
	const char *p = strstr(message, ": Failed: ");
	size_t n;

	if (!p)
		return;
	p += strlen(": Failed: ");
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
	if (n && p[n] == ':')
		buf_add(out, p, n);
}

/* A failed provisioning or smoke test explained: the containers' logs and
 * the cause; the run's error is kept. */
static void diagnose(struct model_deploy *d)
{
	static const char *const containers[] = { "StorageInitializer", "InferenceServer" };
	struct error_saved saved = ERROR_SAVED_INIT;
	struct buf code = BUF_INIT;
	size_t i;

	error_save(&saved);
	for (i = 0; i < 2; i++) {
		buf_addf(&d->logs, "==> %s\n", containers[i]);
		if (aml_deployment_logs(&d->logs, d->o.aml, d->o.endpoint, d->deployment,
					containers[i], LOG_TAIL_LINES)) {
			buf_addf(&d->logs, "(not read: %s)\n", error_message());
			error_clear();
		}
	}
	failure_code(&code, saved.message ? saved.message : "");
	deploy_diagnose(&d->diagnosis, code.data, d->report.failure ? d->report.failure
			: saved.message, d->logs.data);
	d->diagnosed = 1;
	buf_release(&code);
	error_restore(&saved);
}

static void fill_request(struct rollout_request *req, const struct model_deploy *d)
{
	memset(req, 0, sizeof(*req));
	req->endpoint = d->o.endpoint;
	req->deployment = d->deployment;
	req->model_version = d->version;
	req->mode = d->o.mode;
	req->steps = d->o.steps;
	req->mirror_percent = d->o.mirror_percent;
	req->bake_seconds = d->o.bake_seconds;
	req->max_error_rate = d->o.max_error_rate;
	req->max_latency_ms = d->o.max_latency_ms;
	req->keep_previous = d->o.keep_previous;
	req->timeout_s = d->o.timeout_s;
}

/* Whether a failed rollout failed in the deployment itself: its
 * provisioning (before any smoke test), or a smoke test the deployment
 * did not answer well (a 200 lacking what smoke-expect holds is said
 * plainly already). A breach or a refused traffic change is not. */
static int needs_diagnosis(const struct rollout_report *r)
{
	if (!r->smoked)
		return !r->steps_nr;
	return !r->smoke.passed && r->smoke.status != 200;
}

/* The code uploaded, the specs built and the rollout run. */
static int roll_out(struct model_deploy *d, enum rollout_mode mode)
{
	struct ops_ctx c = { d, NULL, AML_ENDPOINT_KEYS_INIT, BUF_INIT };
	struct aml_endpoint_spec es;
	struct aml_deployment_spec ds;
	struct rollout_request req;
	struct buf code_id = BUF_INIT;
	const char *tags[12], *endpoint_tags[12];
	int ret;

	ret = ensure_inline(d);
	if (!ret && d->code)
		ret = code_snapshot_ensure_id(&code_id, d->o.aml, d->o.http, d->code,
					      d->yaml.code_dir);
	if (!ret)
		ret = online_deployment_spec(&ds, &d->yaml, d->location, d->model_id,
					     d->environment_id.data, d->code ? code_id.data : NULL,
					     provenance(d, tags, 1));
	if (!ret) {
		memset(&es, 0, sizeof(es));
		es.location = d->location;
		es.auth_mode = "Key";
		es.description = "Model-CD's endpoint";
		es.tags = provenance(d, endpoint_tags, 0);
		aml_path(&c.endpoint_id, d->o.aml, "/onlineEndpoints/%s", d->o.endpoint);
		fill_request(&req, d);
		req.mode = mode;
		req.endpoint_spec = &es;
		req.deployment_spec = &ds;
		ret = rollout_run(&d->report, d->o.aml, &req, &real_ops, &c);
	}
	if (ret == ERR_REMOTE_FAILED && needs_diagnosis(&d->report))
		diagnose(d);
	ops_release(&c);
	buf_release(&code_id);
	return ret;
}

/* Moves the stage tags once the deployment serves, then reconciles
 * again: a run that raced this one is repaired by whichever ends last.
 * `d->after` is the model as it is now. */
static int move_stages(struct model_deploy *d, struct stage_model *m, int rollback)
{
	struct stage_plan p = STAGE_PLAN_INIT;
	struct stage_apply_options ao;
	int ret;

	ret = rollback ? stage_plan_rollback(&p, m, d->version)
		: stage_plan_deploy(&p, m, d->version);
	if (!ret && !(ret = stage_apply(NULL, d->o.aml, d->o.model, &p, apply_options(d, &ao))))
	stage_plan_release(&p);
	if (!ret)
		ret = reconcile(d, &d->after);
	return ret;
}

int model_deploy_run(struct model_deploy *d)
{
	struct stage_model m = STAGE_MODEL_INIT;
	long i;
	int ret;

	if ((ret = reconcile(d, &m)))
		goto done;
	i = stage_model_find(&m, d->version);
	if (i < 0 || (m.v[i].stage != STAGE_STAGED && m.v[i].stage != STAGE_PRODUCTION)) {
		ret = error_set(ERR_CONFLICT, "model %s version %s is no longer staged (another run "
				"moved it): nothing deployed", d->o.model, d->version);
		goto done;
	}
	if (!(ret = roll_out(d, d->o.mode)))
		ret = move_stages(d, &m, 0);
done:
	stage_model_release(&m);
	return ret;
}

/* ---- rollback ---- */

/* Where a redeploying rollback goes: the newest surpassed version older
 * than the one in production (by version number), so that a second
 * rollback goes further back, never forth to the version just rolled
 * back from. With none in production, the newest surpassed. */
static const char *rollback_target(const struct stage_model *m)
{
	const char *best = NULL;
	long best_n = -1, current = LONG_MAX;
	size_t i;

	for (i = 0; i < m->nr; i++)
		if (m->v[i].stage == STAGE_PRODUCTION)
			current = strtol(m->v[i].version, NULL, 10);
	for (i = 0; i < m->nr; i++) {
		long n = strtol(m->v[i].version, NULL, 10);

		if (m->v[i].stage == STAGE_SURPASSED && n < current && n > best_n) {
			best = m->v[i].version;
			best_n = n;
		}
	}
	return best;
}

/* The model version the restored deployment serves. */
static int restored_version(struct model_deploy *d)
{
	struct aml_deployment dep = AML_DEPLOYMENT_INIT;
	char *name = NULL;
	int ret;

	if (!(ret = aml_deployment_get(&dep, d->o.aml, d->o.endpoint, d->report.deployment)) &&
	    !(ret = stage_model_ref(&name, &d->version, dep.model_id ? dep.model_id : "")) &&
	    strcmp(name, d->o.model))
		ret = error_set(ERR_CONFLICT, "deployment %s serves model %s, not %s: its stage tags "
				"are left alone", d->report.deployment, name, d->o.model);
	free(name);
	aml_deployment_release(&dep);
	return ret;
}

/* No deployment was kept: the newest surpassed version deployed again,
 * all traffic at once. */
static int redeploy(struct model_deploy *d, const struct stage_model *m)
{
	const char *v = rollback_target(m);
	int ret;

	if (!v)
		return error_set(ERR_NOT_FOUND, "nothing to roll back to: endpoint %s keeps no "
				 "previous deployment and model %s has no surpassed version older "
				 "than the one in production", d->o.endpoint, d->o.model);
	log_notice("no previous deployment kept: redeploying version %s, the newest surpassed one "
		   "older than production (with this checkout's deployment YAML and code)", v);
	free(d->version);
	d->version = xstrdup(v);
	d->redeployed = 1;
	rollout_report_release(&d->report);
	if ((ret = read_ids(d, d->o.aml)) || (ret = resolve_environment(d, d->o.aml)) ||
	    (ret = online_deployment_name(d->deployment, sizeof(d->deployment), d->o.model,
					  d->version, d->o.commit && *d->o.commit
					  ? d->o.commit : "0000000")))
		return ret;
	if ((ret = roll_out(d, ROLLOUT_DIRECT)))
		return ret;
	return rollout_unmark(d->o.aml, d->o.endpoint, d->report.previous, d->o.timeout_s);
}

int model_deploy_rollback(struct model_deploy *d)
{
	struct stage_model m = STAGE_MODEL_INIT;
	int ret;

	/* The model before: for the report. */
	if ((ret = stage_load(&d->model, d->o.aml, d->o.model)) || (ret = reconcile(d, &m)))
		goto done;
	ret = rollout_rollback(&d->report, d->o.aml, d->o.endpoint, d->o.timeout_s);
	if (!ret) {
		ret = restored_version(d);
	} else if (ret == ERR_NOT_FOUND) {
		error_clear();
		ret = redeploy(d, &m);
	}
	if (!ret)
		ret = move_stages(d, &m, 1);
done:
	stage_model_release(&m);
	return ret;
}
