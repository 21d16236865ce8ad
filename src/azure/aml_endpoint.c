#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azure/aml_endpoint.h"
#include "azure/aml_job.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

#define SHOWN "%.80s"

/* ---- names and traffic ---- */

static int check_dns_label(const char *name, const char *what, int letter_first)
{
	size_t n = strlen(name), i;
	int ok = n >= 3 && n <= 32 && isalnum((unsigned char)name[n - 1]) &&
		 (letter_first ? isalpha((unsigned char)name[0]) : isalnum((unsigned char)name[0]));

	for (i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)name[i]) || name[i] == '-';
	if (!ok)
		return error_set(ERR_INPUT, "%s '" SHOWN "' is not valid: use 3-32 letters, digits "
				 "and '-', starting with a %s and ending with a letter or digit",
				 what, name, letter_first ? "letter" : "letter or digit");
	return 0;
}

int aml_check_endpoint_name(const char *name)
{
	/* The endpoint name is the first label of its scoring host name
	 * (<name>.<region>.inference.ml.azure.com), hence the DNS rules. */
	return check_dns_label(name, "endpoint name", 1);
}

int aml_check_deployment_name(const char *name)
{
	return check_dns_label(name, "deployment name", 0);
}

int aml_traffic_check(const struct aml_traffic *t, size_t nr)
{
	size_t i, j;
	int sum = 0, ret;

	for (i = 0; i < nr; i++) {
		if (!t[i].deployment)
			return error_set(ERR_INPUT, "traffic: a share has no deployment");
		if ((ret = aml_check_deployment_name(t[i].deployment)))
			return error_prefix("traffic");
		if (t[i].percent < 0 || t[i].percent > 100)
			return error_set(ERR_INPUT, "traffic: %s gets %d%%; use 0-100",
					 t[i].deployment, t[i].percent);
		for (j = 0; j < i; j++)
			if (!strcmp(t[i].deployment, t[j].deployment))
				return error_set(ERR_INPUT, "traffic: %s appears twice", t[i].deployment);
		sum += t[i].percent;
	}
	/* azure-contract 3.7: the values must sum to 100, or the map be empty. */
	if (nr && sum != 100)
		return error_set(ERR_INPUT, "traffic shares sum to %d%%, not 100%%", sum);
	return 0;
}

/* ---- helpers ---- */

static void add_traffic(cJSON *props, const struct aml_traffic *t, size_t nr)
{
	cJSON *map = json_add_object(props, "traffic");
	size_t i;

	for (i = 0; i < nr; i++)
		json_add_number(map, t[i].deployment, t[i].percent);
}

/* ---- endpoints: bodies ---- */

int aml_endpoint_body(cJSON **out, const struct aml_endpoint_spec *spec)
{
	const char *mode = spec->auth_mode ? spec->auth_mode : "Key";
	cJSON *root = NULL, *props, *identity;
	int ret;

	*out = NULL;
	if (!spec->location || !*spec->location)
		return error_set(ERR_INPUT, "the endpoint has no location");
	if (strcmp(mode, "Key") && strcmp(mode, "AMLToken") && strcmp(mode, "AADToken"))
		return error_set(ERR_INPUT, "auth mode '" SHOWN "' is not Key, AMLToken or AADToken", mode);
	if ((ret = aml_traffic_check(spec->traffic, spec->traffic_nr)))
		return ret;
	root = json_new_object();
	json_add_string(root, "location", spec->location);
	json_add_string(root, "kind", "Managed");
	identity = json_add_object(root, "identity");
	json_add_string(identity, "type", "SystemAssigned");
	if ((ret = aml_add_pairs(root, "tags", spec->tags, "endpoint tag"))) {
		cJSON_Delete(root);
		return ret;
	}
	props = json_add_object(root, "properties");
	json_add_string(props, "authMode", mode);
	aml_add_optional(props, "description", spec->description);
	add_traffic(props, spec->traffic, spec->traffic_nr);
	*out = root;
	return 0;
}

void aml_endpoint_release(struct aml_endpoint *e)
{
	size_t i;

	if (!e)
		return;
	free(e->name);
	free(e->location);
	free(e->auth_mode);
	free(e->provisioning_state);
	free(e->scoring_uri);
	free(e->swagger_uri);
	for (i = 0; i < e->traffic_nr; i++)
		free(e->traffic[i].deployment);
	free(e->traffic);
	cJSON_Delete(e->tags);
	memset(e, 0, sizeof(*e));
}

int aml_endpoint_traffic(const struct aml_endpoint *e, const char *deployment)
{
	size_t i;

	for (i = 0; i < e->traffic_nr; i++)
		if (!strcmp(e->traffic[i].deployment, deployment))
			return e->traffic[i].percent;
	return 0;
}

int aml_endpoint_parse(struct aml_endpoint *out, const cJSON *json)
{
	const cJSON *props = json_find(json, "properties");
	const cJSON *traffic = json_find(props, "traffic"), *t;
	const cJSON *map = cJSON_IsObject(traffic) ? traffic : NULL;

	aml_endpoint_release(out);
	if (!json_string_or(json, "name", NULL) || !cJSON_IsObject(props))
		return error_set(ERR_JSON, "online endpoint: no name or properties");
	if (traffic && !cJSON_IsNull(traffic) && !cJSON_IsObject(traffic))
		return error_set(ERR_JSON, "online endpoint: traffic is not an object");
	out->name = aml_dup_string(json, "name");
	out->location = aml_dup_string(json, "location");
	out->auth_mode = aml_dup_string(props, "authMode");
	out->provisioning_state = aml_dup_string(props, "provisioningState");
	out->scoring_uri = aml_dup_string(props, "scoringUri");
	out->swagger_uri = aml_dup_string(props, "swaggerUri");
	out->tags = aml_dup_object(json, "tags");
	out->traffic = xcalloc((size_t)cJSON_GetArraySize(traffic) + 1, sizeof(*out->traffic));
	cJSON_ArrayForEach(t, map) {
		if (!cJSON_IsNumber(t)) {
			aml_endpoint_release(out);
			return error_set(ERR_JSON, "online endpoint: traffic.%s is not a number", t->string);
		}
		out->traffic[out->traffic_nr].deployment = xstrdup(t->string);
		out->traffic[out->traffic_nr].percent = t->valueint;
		out->traffic_nr++;
	}
	return 0;
}

int aml_endpoint_traffic_body(cJSON **out, const cJSON *current, const struct aml_traffic *t,
			      size_t nr)
{
	static const char *const keep[] = { "location", "kind", "tags", "sku", NULL };
	static const char *const read_only[] = {
		"provisioningState", "scoringUri", "swaggerUri", "keys", "traffic", NULL,
	};
	const char *const *k;
	const cJSON *props = json_find(current, "properties");
	const char *identity = json_string_or(current, "identity.type", NULL);
	cJSON *root, *copy;
	int ret;

	*out = NULL;
	if ((ret = aml_traffic_check(t, nr)))
		return ret;
	if (!cJSON_IsObject(props) || !json_string_or(current, "location", NULL))
		return error_set(ERR_JSON, "online endpoint: no location or properties");
	root = json_new_object();
	for (k = keep; *k; k++)
		if (json_find(current, *k) && !cJSON_IsNull(json_find(current, *k)))
			json_add_copy(root, *k, json_find(current, *k));
	/* Only the identity's type: principalId and tenantId are read-only. */
	if (identity)
		json_add_string(json_add_object(root, "identity"), "type", identity);
	copy = json_duplicate(props);
	for (k = read_only; *k; k++)
		cJSON_DeleteItemFromObjectCaseSensitive(copy, *k);
	cJSON_AddItemToObject(root, "properties", copy);
	add_traffic(copy, t, nr);
	*out = root;
	return 0;
}

/* ---- deployments: bodies ---- */

void aml_duration_ms(struct buf *out, long ms)
{
	long s = ms / 1000;
	char frac[8];
	size_t n;

	if (ms <= 0 || !(ms % 1000)) {
		aml_duration(out, ms <= 0 ? 0 : s);
		return;
	}
	/* Whole hours and minutes as aml_duration, then the seconds with
	 * their fraction, its trailing zeros dropped: 1500 is PT1.5S. */
	buf_addstr(out, "PT");
	if (s >= 3600)
		buf_addf(out, "%ldH", s / 3600);
	if (s % 3600 >= 60)
		buf_addf(out, "%ldM", s % 3600 / 60);
	snprintf(frac, sizeof(frac), "%03ld", ms % 1000);
	for (n = strlen(frac); frac[n - 1] == '0'; n--)
		;
	buf_addf(out, "%ld.%.*sS", s % 60, (int)n, frac);
}

static void add_duration_ms(cJSON *o, const char *key, long ms)
{
	struct buf d = BUF_INIT;

	aml_duration_ms(&d, ms);
	json_add_string(o, key, d.data);
	buf_release(&d);
}

static int probe_empty(const struct aml_probe *p)
{
	return !p->initial_delay_s && !p->period_s && !p->timeout_s &&
	       !p->success_threshold && !p->failure_threshold;
}

/* A probe is sent only with something in it; each field only when set. */
static int add_probe(cJSON *props, const char *key, const struct aml_probe *p)
{
	cJSON *o;

	if (probe_empty(p))
		return 0;
	if (p->initial_delay_s < 0 || p->period_s < 0 || p->timeout_s < 0 ||
	    p->success_threshold < 0 || p->failure_threshold < 0)
		return error_set(ERR_INPUT, "%s: a negative value", key);
	o = json_add_object(props, key);
	if (p->failure_threshold)
		json_add_number(o, "failureThreshold", p->failure_threshold);
	if (p->success_threshold)
		json_add_number(o, "successThreshold", p->success_threshold);
	if (p->timeout_s)
		add_duration_ms(o, "timeout", p->timeout_s * 1000L);
	if (p->period_s)
		add_duration_ms(o, "period", p->period_s * 1000L);
	if (p->initial_delay_s)
		add_duration_ms(o, "initialDelay", p->initial_delay_s * 1000L);
	return 0;
}

static int add_request_settings(cJSON *props, const struct aml_request_settings *r)
{
	cJSON *o;

	if (!r->request_timeout_ms && !r->max_concurrent_requests_per_instance &&
	    !r->max_queue_wait_ms)
		return 0;
	if (r->request_timeout_ms < 0 || r->max_concurrent_requests_per_instance < 0 ||
	    r->max_queue_wait_ms < 0)
		return error_set(ERR_INPUT, "requestSettings: a negative value");
	o = json_add_object(props, "requestSettings");
	if (r->max_queue_wait_ms)
		add_duration_ms(o, "maxQueueWait", r->max_queue_wait_ms);
	if (r->request_timeout_ms)
		add_duration_ms(o, "requestTimeout", r->request_timeout_ms);
	if (r->max_concurrent_requests_per_instance)
		json_add_number(o, "maxConcurrentRequestsPerInstance",
				r->max_concurrent_requests_per_instance);
	return 0;
}

/* Whether `v` is NULL or one of the NULL-terminated `names`. */
static int absent_or_one_of(const char *v, const char *const *names)
{
	for (; v && *names; names++)
		if (!strcmp(v, *names))
			return 1;
	return !v;
}

/* The serving side: request settings, probes, scale, monitoring, network. */
static int add_serving(cJSON *props, const struct aml_deployment_spec *spec)
{
	static const char *const egress[] = { "Enabled", "Disabled", NULL };
	static const char *const scale[] = { "Default", NULL };
	int ret;

	if (!absent_or_one_of(spec->egress_public_network_access, egress))
		return error_set(ERR_INPUT, "egress public network access '" SHOWN "' is not "
				 "Enabled or Disabled", spec->egress_public_network_access);
	if (!absent_or_one_of(spec->scale_type, scale))
		return error_set(ERR_INPUT, "scale type '" SHOWN "': a managed deployment "
				 "scales Default only", spec->scale_type);
	if ((ret = add_request_settings(props, &spec->request_settings)) ||
	    (ret = add_probe(props, "livenessProbe", &spec->liveness_probe)) ||
	    (ret = add_probe(props, "readinessProbe", &spec->readiness_probe)))
		return ret;
	if (spec->scale_type)
		json_add_string(json_add_object(props, "scaleSettings"), "scaleType", spec->scale_type);
	if (spec->app_insights_enabled)
		json_add_bool(props, "appInsightsEnabled", 1);
	aml_add_optional(props, "egressPublicNetworkAccess", spec->egress_public_network_access);
	aml_add_optional(props, "modelMountPath", spec->model_mount_path);
	return 0;
}

static int check_deployment_spec(const struct aml_deployment_spec *spec)
{
	if (!spec->location || !*spec->location)
		return error_set(ERR_INPUT, "the deployment has no location");
	if (!spec->instance_type || !*spec->instance_type)
		return error_set(ERR_INPUT, "the deployment has no instance type");
	if (spec->instance_count < 0)
		return error_set(ERR_INPUT, "instance count %d is negative", spec->instance_count);
	if (!!spec->code_id != !!spec->scoring_script)
		return error_set(ERR_INPUT, "a deployment's code needs both a code id and a scoring script");
	return 0;
}

int aml_deployment_body(cJSON **out, const struct aml_deployment_spec *spec)
{
	cJSON *root, *props, *o;
	int ret;

	*out = NULL;
	if ((ret = check_deployment_spec(spec)))
		return ret;
	root = json_new_object();
	json_add_string(root, "location", spec->location);
	json_add_string(root, "kind", "Managed");
	o = json_add_object(root, "sku");
	json_add_string(o, "name", "Default");
	json_add_number(o, "capacity", spec->instance_count ? spec->instance_count : 1);
	if ((ret = aml_add_pairs(root, "tags", spec->tags, "deployment tag")))
		goto done;
	props = json_add_object(root, "properties");
	json_add_string(props, "endpointComputeType", "Managed");
	aml_add_optional(props, "description", spec->description);
	aml_add_optional(props, "model", spec->model_id);
	aml_add_optional(props, "environmentId", spec->environment_id);
	aml_add_optional(props, "instanceType", spec->instance_type);
	if (spec->code_id) {
		o = json_add_object(props, "codeConfiguration");
		json_add_string(o, "codeId", spec->code_id);
		json_add_string(o, "scoringScript", spec->scoring_script);
	}
	if (!(ret = aml_add_pairs(props, "environmentVariables", spec->environment_variables,
				  "environment variable")))
		ret = add_serving(props, spec);
done:
	if (ret)
		cJSON_Delete(root);
	else
		*out = root;
	return ret;
}

void aml_deployment_release(struct aml_deployment *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->provisioning_state);
	free(d->model_id);
	free(d->environment_id);
	free(d->code_id);
	free(d->scoring_script);
	free(d->instance_type);
	cJSON_Delete(d->tags);
	memset(d, 0, sizeof(*d));
}

int aml_deployment_parse(struct aml_deployment *out, const cJSON *json)
{
	const cJSON *props = json_find(json, "properties");
	const cJSON *capacity = json_find(json, "sku.capacity");

	aml_deployment_release(out);
	if (!json_string_or(json, "name", NULL) || !cJSON_IsObject(props))
		return error_set(ERR_JSON, "online deployment: no name or properties");
	out->name = aml_dup_string(json, "name");
	out->provisioning_state = aml_dup_string(props, "provisioningState");
	out->model_id = aml_dup_string(props, "model");
	out->environment_id = aml_dup_string(props, "environmentId");
	out->code_id = aml_dup_string(props, "codeConfiguration.codeId");
	out->scoring_script = aml_dup_string(props, "codeConfiguration.scoringScript");
	out->instance_type = aml_dup_string(props, "instanceType");
	out->instance_count = cJSON_IsNumber(capacity) ? capacity->valueint : 0;
	out->tags = aml_dup_object(json, "tags");
	return 0;
}

/* Zeroes a secret in a way the compiler may not drop as a dead store. */
static void wipe(char *s)
{
	volatile char *p = s;

	while (p && *p)
		*p++ = 0;
}

void aml_endpoint_keys_release(struct aml_endpoint_keys *k)
{
	wipe(k->primary);
	wipe(k->secondary);
	free(k->primary);
	free(k->secondary);
	k->primary = k->secondary = NULL;
}

/* ---- calls ---- */

static int endpoint_path(struct buf *path, struct aml *aml, const char *endpoint,
			 const char *deployment)
{
	int ret;

	if ((ret = aml_check_endpoint_name(endpoint)))
		return ret;
	if (deployment && (ret = aml_check_deployment_name(deployment)))
		return ret;
	aml_path(path, aml, "/onlineEndpoints/%s", endpoint);
	if (deployment)
		buf_addf(path, "/deployments/%s", deployment);
	return 0;
}

/*
 * One write (PUT/PATCH/DELETE), then arm_wait; `final` may be NULL. The
 * operation's name for messages ("endpoint e1 tags") is formatted from
 * `fmt`, so no caller builds it.
 */
static int write_and_waitv(struct arm_response *final, struct aml *aml, const char *method,
			   const char *path, const cJSON *body, long timeout_s,
			   const char *fmt, va_list ap)
{
	struct arm_response started = ARM_RESPONSE_INIT;
	struct buf what = BUF_INIT;
	int ret;

	buf_vaddf(&what, fmt, ap);
	if (!(ret = arm_call(aml->arm, method, path, AML_API_VERSION, body, &started))) {
		/* DELETE's final GET would be a 404: follow without the resource. */
		const char *resource = strcmp(method, "DELETE") ? path : NULL;

		if (started.status != 204)
			ret = arm_wait(aml->arm, &started, resource, AML_API_VERSION, what.data,
				       timeout_s, final);
	}
	arm_response_release(&started);
	buf_release(&what);
	return ret;
}

__attribute__((format(printf, 7, 8)))
static int write_and_wait(struct arm_response *final, struct aml *aml, const char *method,
			  const char *path, const cJSON *body, long timeout_s, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = write_and_waitv(final, aml, method, path, body, timeout_s, fmt, ap);
	va_end(ap);
	return ret;
}

/* GET `path` and parse it with `parse`. */
static int get_parsed(struct aml *aml, const char *path, int (*parse)(void *, const cJSON *),
		      void *out)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	int ret;

	if (!(ret = arm_call(aml->arm, "GET", path, AML_API_VERSION, NULL, &r)))
		ret = parse(out, r.json);
	arm_response_release(&r);
	return ret;
}

static int parse_endpoint(void *out, const cJSON *json)
{
	return aml_endpoint_parse(out, json);
}

static int parse_deployment(void *out, const cJSON *json)
{
	return aml_deployment_parse(out, json);
}

/* PUT `body` to `path`, wait for it, then parse the final state into `out`
 * with `parse` when `out` is not NULL. */
__attribute__((format(printf, 7, 8)))
static int put_parsed(void *out, int (*parse)(void *, const cJSON *), struct aml *aml,
		      const char *path, const cJSON *body, long timeout_s, const char *fmt, ...)
{
	struct arm_response final = ARM_RESPONSE_INIT;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = write_and_waitv(out ? &final : NULL, aml, "PUT", path, body, timeout_s, fmt, ap);
	va_end(ap);
	if (!ret && out)
		ret = parse(out, final.json);
	arm_response_release(&final);
	return ret;
}

int aml_endpoint_put(struct aml_endpoint *out, struct aml *aml, const char *name,
		     const struct aml_endpoint_spec *spec, long timeout_s)
{
	struct buf path = BUF_INIT;
	cJSON *body = NULL;
	int ret;

	if ((ret = endpoint_path(&path, aml, name, NULL)) || (ret = aml_endpoint_body(&body, spec)))
		goto done;
	ret = put_parsed(out, parse_endpoint, aml, path.data, body, timeout_s, "endpoint %s", name);
done:
	cJSON_Delete(body);
	buf_release(&path);
	return ret;
}

int aml_endpoint_get(struct aml_endpoint *out, struct aml *aml, const char *name)
{
	struct buf path = BUF_INIT;
	int ret;

	if (!(ret = endpoint_path(&path, aml, name, NULL)))
		ret = get_parsed(aml, path.data, parse_endpoint, out);
	buf_release(&path);
	return ret;
}

int aml_endpoint_set_tags(struct aml *aml, const char *name, const char *const *tags,
			  long timeout_s)
{
	struct buf path = BUF_INIT;
	cJSON *body = json_new_object();
	int ret;

	/* azure-contract 3.7: PATCH takes only tags and identity. */
	if ((ret = endpoint_path(&path, aml, name, NULL)) ||
	    (ret = aml_add_pairs(body, "tags", tags, "endpoint tag")))
		goto done;
	ret = write_and_wait(NULL, aml, "PATCH", path.data, body, timeout_s,
			     "endpoint %s tags", name);
done:
	cJSON_Delete(body);
	buf_release(&path);
	return ret;
}

int aml_endpoint_set_traffic(struct aml_endpoint *out, struct aml *aml, const char *name,
			     const struct aml_traffic *traffic, size_t nr, long timeout_s)
{
	struct arm_response current = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	cJSON *body = NULL;
	int ret;

	if ((ret = endpoint_path(&path, aml, name, NULL)) || (ret = aml_traffic_check(traffic, nr)) ||
	    (ret = arm_call(aml->arm, "GET", path.data, AML_API_VERSION, NULL, &current)) ||
	    (ret = aml_endpoint_traffic_body(&body, current.json, traffic, nr)))
		goto done;
	ret = put_parsed(out, parse_endpoint, aml, path.data, body, timeout_s,
			 "endpoint %s traffic", name);
done:
	cJSON_Delete(body);
	arm_response_release(&current);
	buf_release(&path);
	return ret;
}

int aml_endpoint_delete(struct aml *aml, const char *name, long timeout_s)
{
	struct buf path = BUF_INIT;
	int ret;

	if (!(ret = endpoint_path(&path, aml, name, NULL))) {
		ret = write_and_wait(NULL, aml, "DELETE", path.data, NULL, timeout_s,
				     "delete endpoint %s", name);
	}
	buf_release(&path);
	return ret;
}

int aml_endpoint_list_keys(struct aml_endpoint_keys *out, struct aml *aml, const char *name)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	const char *primary, *secondary;
	int ret;

	aml_endpoint_keys_release(out);
	if ((ret = endpoint_path(&path, aml, name, NULL)))
		goto done;
	buf_addstr(&path, "/listKeys");
	if ((ret = arm_call(aml->arm, "POST", path.data, AML_API_VERSION, NULL, &r)))
		goto done;
	primary = json_string_or(r.json, "primaryKey", NULL);
	secondary = json_string_or(r.json, "secondaryKey", NULL);
	/* Masked before anything else could print them. */
	if (primary)
		log_secret(primary);
	if (secondary)
		log_secret(secondary);
	if (!primary) {
		ret = error_set(ERR_JSON, "POST %s: no primaryKey (auth mode not Key?)", path.data);
		goto done;
	}
	out->primary = xstrdup(primary);
	out->secondary = secondary ? xstrdup(secondary) : NULL;
done:
	/* The reply body holds the keys too. */
	buf_wipe(&r.http.body);
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

int aml_deployment_put(struct aml_deployment *out, struct aml *aml, const char *endpoint,
		       const char *name, const struct aml_deployment_spec *spec, long timeout_s)
{
	struct buf path = BUF_INIT;
	cJSON *body = NULL;
	int ret;

	if ((ret = endpoint_path(&path, aml, endpoint, name)) ||
	    (ret = aml_deployment_body(&body, spec)))
		goto done;
	ret = put_parsed(out, parse_deployment, aml, path.data, body, timeout_s,
			 "deployment %s/%s", endpoint, name);
done:
	cJSON_Delete(body);
	buf_release(&path);
	return ret;
}

int aml_deployment_get(struct aml_deployment *out, struct aml *aml, const char *endpoint,
		       const char *name)
{
	struct buf path = BUF_INIT;
	int ret;

	if (!(ret = endpoint_path(&path, aml, endpoint, name)))
		ret = get_parsed(aml, path.data, parse_deployment, out);
	buf_release(&path);
	return ret;
}

void aml_deployment_list_release(struct aml_deployment_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		aml_deployment_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->nr = 0;
}

int aml_deployment_list(struct aml_deployment_list *out, struct aml *aml, const char *endpoint)
{
	struct buf path = BUF_INIT;
	cJSON *items = NULL;
	const cJSON *item;
	int ret;

	aml_deployment_list_release(out);
	if ((ret = endpoint_path(&path, aml, endpoint, NULL)))
		goto done;
	buf_addstr(&path, "/deployments");
	if ((ret = arm_list(aml->arm, path.data, AML_API_VERSION, &items)))
		goto done;
	out->items = xcalloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*out->items));
	cJSON_ArrayForEach(item, items) {
		if ((ret = aml_deployment_parse(&out->items[out->nr], item))) {
			error_prefix("GET %s", path.data);
			break;
		}
		out->nr++;
	}
done:
	if (ret)
		aml_deployment_list_release(out);
	cJSON_Delete(items);
	buf_release(&path);
	return ret;
}

int aml_deployment_update(struct aml *aml, const char *endpoint, const char *name,
			  const char *const *tags, int instance_count, long timeout_s)
{
	struct buf path = BUF_INIT;
	cJSON *body = json_new_object();
	int ret;

	if ((ret = endpoint_path(&path, aml, endpoint, name)))
		goto done;
	if (instance_count < 0) {
		ret = error_set(ERR_INPUT, "instance count %d is negative", instance_count);
		goto done;
	}
	/* azure-contract 3.7: PATCH D takes {"tags", "sku":{"capacity"}}. */
	if (tags && (ret = aml_add_pairs(body, "tags", tags, "deployment tag")))
		goto done;
	if (instance_count)
		json_add_number(json_add_object(body, "sku"), "capacity", instance_count);
	ret = write_and_wait(NULL, aml, "PATCH", path.data, body, timeout_s,
			     "deployment %s/%s update", endpoint, name);
done:
	cJSON_Delete(body);
	buf_release(&path);
	return ret;
}

int aml_deployment_delete(struct aml *aml, const char *endpoint, const char *name,
			  long timeout_s)
{
	struct buf path = BUF_INIT;
	int ret;

	if (!(ret = endpoint_path(&path, aml, endpoint, name))) {
		ret = write_and_wait(NULL, aml, "DELETE", path.data, NULL, timeout_s,
				     "delete deployment %s/%s", endpoint, name);
	}
	buf_release(&path);
	return ret;
}

int aml_deployment_logs(struct buf *out, struct aml *aml, const char *endpoint,
			const char *name, const char *container_type, int tail)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	cJSON *body = json_new_object();
	const char *content;
	int ret;

	if ((ret = endpoint_path(&path, aml, endpoint, name)))
		goto done;
	buf_addstr(&path, "/getLogs");
	json_add_string(body, "containerType", container_type ? container_type : "InferenceServer");
	if (tail > 0)
		json_add_number(body, "tail", tail);
	if ((ret = arm_call(aml->arm, "POST", path.data, AML_API_VERSION, body, &r)))
		goto done;
	if ((ret = json_get_string(&content, r.json, "content"))) {
		error_prefix("POST %s", path.data);
		goto done;
	}
	buf_addstr(out, content);
done:
	cJSON_Delete(body);
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}
