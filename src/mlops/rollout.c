#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azure/arm.h"
#include "core/http.h"
#include "mlops/rollout.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

#define STEPS_INPUT "traffic-steps"
#define DEFAULT_STEPS "10,50,100"

/* ---- steps and mirror ---- */

int rollout_steps_parse(struct rollout_steps *out, const char *text)
{
	const char *p = text && *text ? text : DEFAULT_STEPS;
	int last = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		char *end;
		long v;

		while (isspace((unsigned char)*p))
			p++;
		errno = 0;
		v = isdigit((unsigned char)*p) ? strtol(p, &end, 10) : -1;
		if (v < 0 || errno)
			return error_set(ERR_INPUT, STEPS_INPUT ": '%.40s' is not a list of percents "
					 "such as " DEFAULT_STEPS, text);
		if (v < 1 || v > 100 || v <= last)
			return error_set(ERR_INPUT, STEPS_INPUT ": %ld after %d; the steps must be "
					 "1-100 and strictly increasing", v, last);
		if (out->nr == ROLLOUT_MAX_STEPS)
			return error_set(ERR_INPUT, STEPS_INPUT ": more than %d steps",
					 ROLLOUT_MAX_STEPS);
		out->percent[out->nr++] = last = (int)v;
		for (p = end; isspace((unsigned char)*p); p++)
			;
		if (!*p)
			break;
		if (*p++ != ',')
			return error_set(ERR_INPUT, STEPS_INPUT ": '%.40s' is not a list of percents "
					 "such as " DEFAULT_STEPS, text);
	}
	if (last != 100)
		return error_set(ERR_INPUT, STEPS_INPUT ": the last step is %d%%; it must be 100",
				 last);
	return 0;
}

int rollout_mirror_check(int percent)
{
	if (percent < 0 || percent > ROLLOUT_MIRROR_MAX)
		return error_set(ERR_INPUT, "mirror-percent: %d; use 0-%d (Azure mirrors at most "
				 "%d%%)", percent, ROLLOUT_MIRROR_MAX, ROLLOUT_MIRROR_MAX);
	return 0;
}

/* ---- traffic maps ---- */

void rollout_map_release(struct rollout_map *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nr; i++)
		free(m->items[i].deployment);
	free(m->items);
	m->items = NULL;
	m->nr = 0;
}

static void map_add(struct rollout_map *m, const char *deployment, int percent)
{
	m->items = xrealloc(m->items, (m->nr + 1) * sizeof(*m->items));
	m->items[m->nr].deployment = xstrdup(deployment);
	m->items[m->nr].percent = percent;
	m->nr++;
}

static void map_copy(struct rollout_map *out, const struct aml_traffic_entry *t, size_t nr)
{
	size_t i;

	rollout_map_release(out);
	for (i = 0; i < nr; i++)
		map_add(out, t[i].deployment, t[i].percent);
}

void rollout_map_of(struct rollout_map *out, const struct aml_endpoint *e)
{
	map_copy(out, e->traffic, e->traffic_nr);
}

int rollout_map_percent(const struct rollout_map *m, const char *deployment)
{
	size_t i;

	for (i = 0; i < m->nr; i++)
		if (!strcmp(m->items[i].deployment, deployment))
			return m->items[i].percent;
	return 0;
}

/* The share of the deployment with the most traffic other than `except`,
 * the first of equals; NULL when none has any. */
static const char *map_largest(const struct rollout_map *m, const char *except)
{
	const char *best = NULL;
	int most = 0;
	size_t i;

	for (i = 0; i < m->nr; i++)
		if (m->items[i].percent > most && strcmp(m->items[i].deployment, except)) {
			most = m->items[i].percent;
			best = m->items[i].deployment;
		}
	return best;
}

void rollout_traffic_at(struct rollout_map *out, const struct rollout_map *before,
			const char *deployment, int percent)
{
	long old = 0, left, given = 0;
	long *rem;
	size_t i, j;
	int seen = 0;

	rollout_map_release(out);
	for (i = 0; i < before->nr; i++)
		if (strcmp(before->items[i].deployment, deployment))
			old += before->items[i].percent;
	if (!old)
		percent = 100;
	left = 100 - percent;
	rem = xcalloc(before->nr + 1, sizeof(*rem));
	for (i = 0; i < before->nr; i++) {
		const char *name = before->items[i].deployment;
		long share = 0;

		if (!strcmp(name, deployment)) {
			map_add(out, name, percent);
			seen = 1;
			continue;
		}
		if (old) {
			share = before->items[i].percent * left / old;
			rem[i] = before->items[i].percent * left % old;
		}
		given += share;
		map_add(out, name, (int)share);
	}
	/* Largest remainder: each unit left goes to the largest remainder not
	 * yet served, the first listed of equals. Fewer units are left than
	 * there are non-zero remainders, so a 0 share stays 0. */
	for (; given < left; given++) {
		size_t best = before->nr;

		for (j = 0; j < before->nr; j++)
			if (rem[j] > 0 && (best == before->nr || rem[j] > rem[best]))
				best = j;
		out->items[best].percent++;
		rem[best] = 0;
	}
	free(rem);
	if (!seen)
		map_add(out, deployment, percent);
}

/* The map as the endpoint client takes it; borrowed from `m`. */
static struct aml_traffic *map_view(const struct rollout_map *m)
{
	struct aml_traffic *t = xcalloc(m->nr + 1, sizeof(*t));
	size_t i;

	for (i = 0; i < m->nr; i++) {
		t[i].deployment = m->items[i].deployment;
		t[i].percent = m->items[i].percent;
	}
	return t;
}

/* "blue 90%, green 10%", for the log; "none" when empty. */
static void map_describe(struct buf *out, const struct rollout_map *m)
{
	size_t i;

	if (!m->nr)
		buf_addstr(out, "none");
	for (i = 0; i < m->nr; i++)
		buf_addf(out, "%s%s %d%%", i ? ", " : "", m->items[i].deployment,
			 m->items[i].percent);
}

/* ---- judge and choice ---- */

int rollout_judge(const struct rollout_health *h, const struct rollout_request *req,
		  struct buf *reason)
{
	double rate = h->requests > 0 ? (double)h->errors_5xx / (double)h->requests : 0;
	int breach = 0;

	if (req->max_error_rate >= 0 && rate > req->max_error_rate) {
		buf_addf(reason, "5xx rate %.4f > max-error-rate %.4f (%ld of %ld requests)",
			 rate, req->max_error_rate, h->errors_5xx, h->requests);
		breach = 1;
	}
	if (req->max_latency_ms > 0 && h->p90_ms > req->max_latency_ms) {
		buf_addf(reason, "%sP90 latency %.0f ms > max-latency-ms %.0f", breach ? "; " : "",
			 h->p90_ms, req->max_latency_ms);
		breach = 1;
	}
	return breach;
}

long rollout_pick_restore(const struct aml_deployment *d, size_t nr,
			  const struct rollout_map *traffic)
{
	const char *newest = NULL;
	long best = -1;
	size_t i;

	for (i = 0; i < nr; i++) {
		const char *served = json_string_or(d[i].tags, ROLLOUT_SERVED_TAG, NULL);

		if (!served || !d[i].provisioning_state ||
		    strcmp(d[i].provisioning_state, "Succeeded") ||
		    rollout_map_percent(traffic, d[i].name))
			continue;
		/* ISO 8601 UTC of one format: the string order is the time order. */
		if (!newest || strcmp(served, newest) >= 0) {
			newest = served;
			best = (long)i;
		}
	}
	return best;
}

/* ---- the report ---- */

void rollout_smoke_release(struct rollout_smoke *s)
{
	if (!s)
		return;
	free(s->detail);
	memset(s, 0, sizeof(*s));
}

void rollout_report_release(struct rollout_report *r)
{
	size_t i;

	if (!r)
		return;
	free(r->endpoint);
	free(r->deployment);
	free(r->scoring_uri);
	free(r->model_version);
	free(r->previous);
	rollout_smoke_release(&r->smoke);
	rollout_map_release(&r->before);
	rollout_map_release(&r->after);
	for (i = 0; i < r->steps_nr; i++) {
		rollout_map_release(&r->steps[i].traffic);
		free(r->steps[i].reason);
	}
	free(r->steps);
	for (i = 0; i < r->deleted_nr; i++)
		free(r->deleted[i]);
	free(r->deleted);
	free(r->failure);
	memset(r, 0, sizeof(*r));
}

static struct rollout_step *report_step(struct rollout_report *r)
{
	struct rollout_step *s;

	r->steps = xrealloc(r->steps, (r->steps_nr + 1) * sizeof(*r->steps));
	s = &r->steps[r->steps_nr++];
	memset(s, 0, sizeof(*s));
	s->health.p90_ms = -1;
	return s;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* ---- mirror ---- */

/* The full PUT body of `current` with properties.mirrorTraffic replaced:
 * the traffic body (same live map) with the mirror swapped in. */
static int mirror_body(cJSON **out, const cJSON *current, const char *deployment, int percent)
{
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	struct rollout_map live = ROLLOUT_MAP_INIT;
	struct aml_traffic *view = NULL;
	cJSON *props, *mirror;
	int ret;

	if ((ret = aml_endpoint_parse(&e, current)))
		goto done;
	rollout_map_of(&live, &e);
	view = map_view(&live);
	if ((ret = aml_endpoint_traffic_body(out, current, view, live.nr)))
		goto done;
	props = cJSON_GetObjectItemCaseSensitive(*out, "properties");
	cJSON_DeleteItemFromObjectCaseSensitive(props, "mirrorTraffic");
	mirror = json_add_object(props, "mirrorTraffic");
	if (deployment && percent)
		json_add_number(mirror, deployment, percent);
done:
	free(view);
	rollout_map_release(&live);
	aml_endpoint_release(&e);
	return ret;
}

/* Here, not in azure/aml_endpoint.c (which has no mirror call yet), so the
 * rollout needs no change to a shared file; it belongs beside
 * aml_endpoint_set_traffic and should move there. */
int rollout_set_mirror(struct aml *aml, const char *endpoint, const char *deployment,
		       int percent, long timeout_s)
{
	struct arm_response current = ARM_RESPONSE_INIT, started = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	cJSON *body = NULL;
	int ret;

	if ((ret = rollout_mirror_check(percent)) || (ret = aml_check_endpoint_name(endpoint)) ||
	    (deployment && (ret = aml_check_deployment_name(deployment))))
		goto done;
	aml_path(&path, aml, "/onlineEndpoints/%s", endpoint);
	if ((ret = arm_call(aml->arm, "GET", path.data, AML_API_VERSION, NULL, &current)) ||
	    (ret = mirror_body(&body, current.json, deployment, percent)) ||
	    (ret = arm_call(aml->arm, "PUT", path.data, AML_API_VERSION, body, &started)))
		goto done;
	ret = arm_wait(aml->arm, &started, path.data, AML_API_VERSION, "endpoint mirror traffic",
		       timeout_s, NULL);
done:
	cJSON_Delete(body);
	arm_response_release(&current);
	arm_response_release(&started);
	buf_release(&path);
	return ret;
}

/* ---- the engine ---- */

struct run {
	struct rollout_report *out;
	struct aml *aml;
	const struct rollout_request *req;
	const struct rollout_ops *ops;
	void *ctx;
	struct aml_deployment dep;   /* the new deployment as Azure has it */
	int mirrored;                /* the mirror is on: restore turns it off */
};

static time_t run_now(const struct run *r)
{
	return r->ops->now ? r->ops->now(r->ctx) : time(NULL);
}

static int set_map_full(struct run *r, const struct rollout_map *m, struct aml_endpoint *e_out,
			long timeout_s)
{
	struct aml_traffic *view = map_view(m);
	struct buf what = BUF_INIT;
	int ret;

	map_describe(&what, m);
	log_msg(LOG_INFO, "endpoint %s traffic: %s", r->req->endpoint, what.data);
	ret = aml_endpoint_set_traffic(e_out, r->aml, r->req->endpoint, view, m->nr, timeout_s);
	free(view);
	buf_release(&what);
	return ret;
}

static int set_map(struct run *r, const struct rollout_map *m, struct aml_endpoint *e_out)
{
	return set_map_full(r, m, e_out, r->req->timeout_s);
}

/* Keeps the message of the error just set as the report's failure. */
static int failed(struct run *r, int ret)
{
	free(r->out->failure);
	r->out->failure = xstrdup(error_message());
	return ret;
}

/* Puts the traffic back as it was before, mirror off, keeping the error
 * that made us do it (prefixed when the traffic could not be put back).
 * Stopped by a signal, the requests still go out, bounded by a deadline
 * within the runner's grace (the stop flag would cut them at once); an
 * operation not seen to end by then was asked for all the same. */
static int restore(struct run *r, int ret)
{
	struct error_saved why = ERROR_SAVED_INIT;
	struct http_client *http = r->aml->arm->http;
	int stopping = ret == ERR_CANCELLED, mirror = 0, live;
	long timeout_s = r->req->timeout_s;

	error_save(&why);
	log_msg(LOG_WARNING, "endpoint %s: restoring the traffic as it was", r->req->endpoint);
	if (stopping) {
		http_client_set_deadline(http, ROLLOUT_STOP_RESTORE_MS);
		timeout_s = ROLLOUT_STOP_RESTORE_MS / 1000;
	}
	if (r->mirrored && !(mirror = rollout_set_mirror(r->aml, r->req->endpoint, NULL, 0,
						       timeout_s)))
		r->mirrored = 0;
	if (mirror)
		log_msg(LOG_ERROR, "the mirror of endpoint %s could not be turned off: %s",
			r->req->endpoint, error_message());
	live = set_map_full(r, &r->out->before, NULL, timeout_s);
	if (stopping && live == ERR_TIMEOUT) {
		log_msg(LOG_WARNING, "endpoint %s: the traffic was asked back; its operation had "
			"not ended when the step had to stop", r->req->endpoint);
		live = 0;
	} else if (live) {
		log_msg(LOG_ERROR, "the traffic of endpoint %s could not be restored: %s",
			r->req->endpoint, error_message());
	}
	if (stopping)
		http_client_set_deadline(http, 0);
	error_restore(&why);
	if (mirror || live)
		failed(r, error_prefix("traffic NOT restored"));
	error_saved_release(&why);
	return ret;
}

static int ensure_endpoint(struct run *r, struct aml_endpoint *e)
{
	const struct rollout_request *req = r->req;
	int ret = aml_endpoint_get(e, r->aml, req->endpoint);

	if (ret != ERR_NOT_FOUND)
		return ret;
	error_clear();
	if (!req->endpoint_spec)
		return error_set(ERR_INPUT, "endpoint %s does not exist and no spec was given",
				 req->endpoint);
	log_msg(LOG_INFO, "endpoint %s does not exist: creating it", req->endpoint);
	if ((ret = aml_endpoint_put(e, r->aml, req->endpoint, req->endpoint_spec, req->timeout_s)))
		return error_prefix("creating endpoint %s", req->endpoint);
	r->out->endpoint_created = 1;
	return 0;
}

/* The new deployment: reused when it Succeeded before (a re-run), created
 * or replaced (Failed) otherwise. A provisioning failure leaves the
 * traffic as it was: the deployment was never given any. */
static int ensure_deployment(struct run *r)
{
	const struct rollout_request *req = r->req;
	int ret = aml_deployment_get(&r->dep, r->aml, req->endpoint, req->deployment);
	const char *state = r->dep.provisioning_state;

	if (!ret && state && !strcmp(state, "Succeeded")) {
		log_msg(LOG_INFO, "deployment %s/%s exists and Succeeded: attaching to it",
			req->endpoint, req->deployment);
		r->out->attached = 1;
		return 0;
	}
	if (ret && ret != ERR_NOT_FOUND)
		return ret;
	if (!ret) {
		log_msg(LOG_WARNING, "deployment %s/%s exists in state %s: replacing it",
			req->endpoint, req->deployment, state ? state : "unknown");
		r->out->replaced = 1;
	}
	error_clear();
	if (!req->deployment_spec)
		return error_set(ERR_INPUT, "deployment %s/%s does not exist and no spec was given",
				 req->endpoint, req->deployment);
	log_msg(LOG_INFO, "creating deployment %s/%s at 0%% traffic", req->endpoint,
		req->deployment);
	ret = aml_deployment_put(&r->dep, r->aml, req->endpoint, req->deployment,
				 req->deployment_spec, req->timeout_s);
	if (ret == ERR_REMOTE_FAILED)
		ret = failed(r, error_prefix("deployment %s/%s failed provisioning (traffic left "
					     "as it was)", req->endpoint, req->deployment));
	return ret;
}

static int smoke(struct run *r)
{
	struct rollout_smoke *s = &r->out->smoke;
	int ret;

	if ((ret = r->ops->smoke(r->ctx, r->req->deployment, s)))
		return error_prefix("smoke test of %s", r->req->deployment);
	r->out->smoked = 1;
	log_msg(LOG_INFO, "smoke test of %s: status %d in %ld ms", r->req->deployment, s->status,
		s->latency_ms);
	if (!s->passed)
		return failed(r, error_set(ERR_REMOTE_FAILED, "smoke test of deployment %s "
					   "failed (traffic left as it was): status %d in %ld ms%s%s",
					   r->req->deployment, s->status, s->latency_ms,
					   s->detail ? ": " : "", s->detail ? s->detail : ""));
	return 0;
}

/* Holds step `s` for the bake, then reads and judges its metrics. */
/* A step's P90 in words: "120 ms", or "unknown" when Azure gave none. */
static void p90_text(char *out, size_t n, const struct rollout_health *h)
{
	if (h->p90_ms < 0)
		snprintf(out, n, "unknown");
	else
		snprintf(out, n, "%.0f ms", h->p90_ms);
}

static int bake(struct run *r, struct rollout_step *s)
{
	const struct rollout_request *req = r->req;
	struct buf reason = BUF_INIT;
	char p90[32];
	int ret;

	s->started = run_now(r);
	log_msg(LOG_INFO, "baking %s at %d%% (mirror %d%%) for %ld s", req->deployment, s->percent,
		s->mirror_percent, req->bake_seconds);
	if ((ret = r->ops->sleep(r->ctx, req->bake_seconds)))
		goto done;
	s->ended = run_now(r);
	if ((ret = r->ops->health(r->ctx, req->deployment, s->started, s->ended, &s->health)))
		goto done;
	s->have_health = 1;
	p90_text(p90, sizeof(p90), &s->health);
	log_msg(LOG_INFO, "%s at %d%%: %ld requests, %ld 4xx, %ld 5xx, P90 %s",
		req->deployment, s->percent, s->health.requests, s->health.errors_4xx,
		s->health.errors_5xx, p90);
	s->breached = r->ops->judge ? r->ops->judge(r->ctx, &s->health, req, &reason)
				    : rollout_judge(&s->health, req, &reason);
	if (s->breached) {
		s->reason = xstrdup(reason.data);
		ret = failed(r, error_set(ERR_REMOTE_FAILED, "deployment %s breached at %d%%: "
					  "%s; %ld requests, %ld 4xx, %ld 5xx, "
					  "P90 %s", req->deployment, s->percent, reason.data,
					  s->health.requests, s->health.errors_4xx,
					  s->health.errors_5xx, p90));
	}
done:
	if (!s->ended)
		s->ended = run_now(r);
	buf_release(&reason);
	return ret;
}

static int mirror_step(struct run *r)
{
	struct rollout_step *s = report_step(r->out);
	int ret;

	s->mirror_percent = r->req->mirror_percent;
	map_copy(&s->traffic, r->out->before.items, r->out->before.nr);
	log_msg(LOG_INFO, "mirroring %d%% of the traffic to %s", s->mirror_percent,
		r->req->deployment);
	r->mirrored = 1;
	if ((ret = rollout_set_mirror(r->aml, r->req->endpoint, r->req->deployment,
				      s->mirror_percent, r->req->timeout_s)) ||
	    (ret = bake(r, s)))
		return ret;
	/* A deployment cannot take live and mirrored traffic at once. */
	if ((ret = rollout_set_mirror(r->aml, r->req->endpoint, NULL, 0, r->req->timeout_s)))
		return ret;
	r->mirrored = 0;
	return 0;
}

/* At 100% without keep-previous, the previous deployments leave the map:
 * they are deleted next. */
static void drop_previous(struct rollout_map *m, const struct rollout_map *before,
			  const char *deployment)
{
	size_t i, j = 0;

	for (i = 0; i < m->nr; i++) {
		if (strcmp(m->items[i].deployment, deployment) &&
		    rollout_map_percent(before, m->items[i].deployment) > 0) {
			free(m->items[i].deployment);
			continue;
		}
		m->items[j++] = m->items[i];
	}
	m->nr = j;
}

static int live_step(struct run *r, int percent, struct aml_endpoint *e)
{
	const struct rollout_request *req = r->req;
	struct rollout_step *s = report_step(r->out);
	int ret;

	rollout_traffic_at(&s->traffic, &r->out->before, req->deployment, percent);
	s->percent = rollout_map_percent(&s->traffic, req->deployment);
	if (s->percent == 100 && !req->keep_previous)
		drop_previous(&s->traffic, &r->out->before, req->deployment);
	if ((ret = set_map(r, &s->traffic, e)))
		return ret;
	if (req->mode == ROLLOUT_DIRECT)
		return 0;
	return bake(r, s);
}

static int safe_steps(struct run *r, struct aml_endpoint *e)
{
	const struct rollout_request *req = r->req;
	struct rollout_steps steps = req->steps;
	size_t i;
	int ret = 0;

	if (!steps.nr && (ret = rollout_steps_parse(&steps, NULL)))
		return ret;
	if (req->mirror_percent && map_largest(&r->out->before, req->deployment) &&
	    (ret = mirror_step(r)))
		return ret;
	for (i = 0; i < steps.nr && !ret; i++) {
		ret = live_step(r, steps.percent[i], e);
		/* The first deployment ever takes 100% at its first step. */
		if (!ret && r->out->steps[r->out->steps_nr - 1].percent == 100)
			break;
	}
	return ret;
}

/* Tags pairs of `tags` (borrowed) with `key` set to `value` (NULL:
 * dropped), NULL-terminated; the caller frees the array. */
static const char **tags_with(const cJSON *tags, const char *key, const char *value)
{
	const char **pairs = xcalloc((size_t)cJSON_GetArraySize(tags) * 2 + 3, sizeof(*pairs));
	const cJSON *t;
	size_t n = 0;

	cJSON_ArrayForEach(t, tags) {
		if (!cJSON_IsString(t) || !strcmp(t->string, key))
			continue;
		pairs[n++] = t->string;
		pairs[n++] = t->valuestring;
	}
	if (value) {
		pairs[n++] = key;
		pairs[n] = value;
	}
	return pairs;
}

static void iso_time(char *out, size_t size, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The new deployment serves: mark it (a later rollback may return to it)
 * and retire the previous ones. */
static int finish(struct run *r)
{
	const struct rollout_request *req = r->req;
	const struct rollout_map *before = &r->out->before;
	const char **tags;
	char when[32];
	size_t i;
	int ret;

	iso_time(when, sizeof(when), run_now(r));
	tags = tags_with(r->dep.tags, ROLLOUT_SERVED_TAG, when);
	if ((ret = aml_deployment_update(r->aml, req->endpoint, req->deployment, tags, 0,
					 req->timeout_s)))
		error_prefix("deployment %s serves 100%%, but marking it as served failed",
			     req->deployment);
	free(tags);
	for (i = 0; !ret && !req->keep_previous && i < before->nr; i++) {
		const char *old = before->items[i].deployment;

		if (!before->items[i].percent || !strcmp(old, req->deployment))
			continue;
		log_msg(LOG_INFO, "deleting the previous deployment %s/%s", req->endpoint, old);
		if ((ret = aml_deployment_delete(r->aml, req->endpoint, old, req->timeout_s)))
			break;
		r->out->deleted = xrealloc(r->out->deleted,
					   (r->out->deleted_nr + 1) * sizeof(*r->out->deleted));
		r->out->deleted[r->out->deleted_nr++] = xstrdup(old);
	}
	return ret;
}

static int check_request(const struct rollout_request *req)
{
	int ret;

	if ((ret = aml_check_endpoint_name(req->endpoint)) ||
	    (ret = aml_check_deployment_name(req->deployment)) ||
	    (ret = rollout_mirror_check(req->mirror_percent)))
		return ret;
	if (req->bake_seconds < 0)
		return error_set(ERR_INPUT, "bake-minutes: negative");
	return 0;
}

static void report_start(struct rollout_report *out, const struct rollout_request *req,
			 const struct aml_endpoint *e)
{
	out->endpoint = xstrdup(req->endpoint);
	out->deployment = xstrdup(req->deployment);
	out->model_version = dup_or_null(req->model_version);
	out->scoring_uri = dup_or_null(e->scoring_uri);
	rollout_map_of(&out->before, e);
	out->previous = dup_or_null(map_largest(&out->before, req->deployment));
}

/* Smoke, then the traffic; a breach or a stop puts the traffic back. */
static int shift(struct run *r, struct aml_endpoint *e)
{
	int ret;

	if ((ret = smoke(r)))
		return ret;
	if (r->req->mode == ROLLOUT_DIRECT)
		ret = live_step(r, 100, e);
	else
		ret = safe_steps(r, e);
	if (ret)
		return restore(r, ret);
	return finish(r);
}

int rollout_run(struct rollout_report *out, struct aml *aml, const struct rollout_request *req,
		const struct rollout_ops *ops, void *ctx)
{
	struct run r = { out, aml, req, ops, ctx, AML_DEPLOYMENT_INIT, 0 };
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	int ret;

	rollout_report_release(out);
	if ((ret = check_request(req)) || (ret = ensure_endpoint(&r, &e)))
		goto done;
	report_start(out, req, &e);
	if (aml_endpoint_traffic(&e, req->deployment) == 100) {
		log_msg(LOG_INFO, "deployment %s/%s already has 100%% of the traffic: nothing to do",
			req->endpoint, req->deployment);
		out->noop = 1;
		goto done;
	}
	if (ops->ready && (ret = ops->ready(ctx, &e)))
		goto done;
	if (!(ret = ensure_deployment(&r)))
		ret = shift(&r, &e);
done:
	if (out->endpoint) {
		/* After: as Azure has it now, whatever happened. */
		struct error_saved why = ERROR_SAVED_INIT;

		error_save(&why);
		if (!aml_endpoint_get(&e, aml, req->endpoint))
			rollout_map_of(&out->after, &e);
		error_restore(&why);
		error_saved_release(&why);
	}
	aml_deployment_release(&r.dep);
	aml_endpoint_release(&e);
	return ret;
}

/* ---- rollback ---- */

/* The deployment rolled back from is no rollback target any more: a
 * second rollback goes further back, not forth. */
static int unmark(struct aml *aml, const char *endpoint, const struct aml_deployment_list *list,
		  const char *name, long timeout_s)
{
	const char **tags;
	size_t i;
	int ret = 0;

	for (i = 0; name && i < list->nr; i++) {
		if (strcmp(list->items[i].name, name) ||
		    !json_string_or(list->items[i].tags, ROLLOUT_SERVED_TAG, NULL))
			continue;
		tags = tags_with(list->items[i].tags, ROLLOUT_SERVED_TAG, NULL);
		ret = aml_deployment_update(aml, endpoint, name, tags, 0, timeout_s);
		free(tags);
	}
	return ret;
}

int rollout_unmark(struct aml *aml, const char *endpoint, const char *deployment, long timeout_s)
{
	struct aml_deployment_list list = AML_DEPLOYMENT_LIST_INIT;
	int ret;

	if (!(ret = aml_deployment_list(&list, aml, endpoint)))
		ret = unmark(aml, endpoint, &list, deployment, timeout_s);
	aml_deployment_list_release(&list);
	return ret;
}

int rollout_rollback(struct rollout_report *out, struct aml *aml, const char *endpoint,
		     long timeout_s)
{
	struct aml_deployment_list list = AML_DEPLOYMENT_LIST_INIT;
	struct aml_endpoint e = AML_ENDPOINT_INIT;
	struct rollout_map to = ROLLOUT_MAP_INIT;
	struct aml_traffic *view = NULL;
	size_t i;
	long pick;
	int ret;

	rollout_report_release(out);
	if ((ret = aml_endpoint_get(&e, aml, endpoint)) ||
	    (ret = aml_deployment_list(&list, aml, endpoint)))
		goto done;
	out->endpoint = xstrdup(endpoint);
	out->scoring_uri = dup_or_null(e.scoring_uri);
	rollout_map_of(&out->before, &e);
	if ((pick = rollout_pick_restore(list.items, list.nr, &out->before)) < 0) {
		ret = error_set(ERR_NOT_FOUND, "endpoint %s keeps no deployment at 0%% that served "
				"before: redeploy the most recent surpassed version", endpoint);
		goto done;
	}
	out->deployment = xstrdup(list.items[pick].name);
	out->previous = dup_or_null(map_largest(&out->before, out->deployment));
	for (i = 0; i < out->before.nr; i++)
		map_add(&to, out->before.items[i].deployment, 0);
	rollout_traffic_at(&out->after, &to, out->deployment, 100);
	log_msg(LOG_INFO, "rolling endpoint %s back to deployment %s", endpoint, out->deployment);
	view = map_view(&out->after);
	if ((ret = aml_endpoint_set_traffic(&e, aml, endpoint, view, out->after.nr, timeout_s)))
		goto done;
	rollout_map_of(&out->after, &e);
	ret = unmark(aml, endpoint, &list, out->previous, timeout_s);
done:
	free(view);
	rollout_map_release(&to);
	aml_deployment_list_release(&list);
	aml_endpoint_release(&e);
	return ret;
}
