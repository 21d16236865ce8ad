#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "azure/credential.h"
#include "azure/mlflow.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

#define MAX_HISTORY_PAGES 10000
#define API_SUFFIX "/api/2.0/mlflow"

int mlflow_rest_base(struct buf *out, const char *uri)
{
	const char *rest;

	if (!strncmp(uri, "azureml://", 10))
		rest = uri + 10;
	else if (!strncmp(uri, "https://", 8))
		rest = uri + 8;
	else
		return error_set(ERR_INPUT, "tracking URI '%.120s' is not azureml:// or https://", uri);
	/* azure-contract 3.8: replace azureml:// with https:// and append
	 * /api/2.0/mlflow/<method>. A host alone would call the wrong API. */
	if (!strchr(rest, '/') || rest[0] == '/')
		return error_set(ERR_INPUT, "tracking URI '%.120s' has no host or path", uri);
	buf_addstr(out, "https://");
	buf_addstr(out, rest);
	while (out->len && out->data[out->len - 1] == '/')
		buf_setlen(out, out->len - 1);
	if (out->len < strlen(API_SUFFIX) ||
	    strcmp(out->data + out->len - strlen(API_SUFFIX), API_SUFFIX))
		buf_addstr(out, API_SUFFIX);
	return 0;
}

int mlflow_init(struct mlflow *m, struct http_client *http, struct token_source tokens,
		const char *tracking_uri, const char *scope)
{
	struct buf base = BUF_INIT;
	int ret;

	memset(m, 0, sizeof(*m));
	if ((ret = mlflow_rest_base(&base, tracking_uri)))
		return ret;
	m->http = http;
	m->tokens = tokens;
	m->base = buf_detach(&base, NULL);
	m->scope = xstrdup(scope ? scope : AZURE_SCOPE_ARM);
	return 0;
}

void mlflow_release(struct mlflow *m)
{
	if (!m)
		return;
	free(m->base);
	free(m->scope);
	memset(m, 0, sizeof(*m));
}

/* ---- parsing ---- */

void mlflow_metrics_release(struct mlflow_metrics *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		free(l->items[i].key);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

void mlflow_run_release(struct mlflow_run *r)
{
	size_t i;

	if (!r)
		return;
	free(r->run_id);
	free(r->experiment_id);
	free(r->run_name);
	free(r->status);
	free(r->artifact_uri);
	for (i = 0; i < r->metrics_nr; i++)
		free(r->metrics[i].key);
	free(r->metrics);
	kv_list_release(&r->params);
	kv_list_release(&r->tags);
	memset(r, 0, sizeof(*r));
}

static char *dup_or_null(const cJSON *root, const char *path)
{
	const char *s = json_string_or(root, path, NULL);

	return s ? xstrdup(s) : NULL;
}

/* MLflow writes int64s as JSON numbers or strings; 0 when absent. */
static int64_t int64_or_zero(const cJSON *root, const char *path)
{
	int64_t v = 0;

	if (json_get_int64(&v, root, path))
		error_clear();
	return v;
}

/* 0, 1 for a metric whose value is unreadable, or ERR_JSON without a key. */
static int parse_metric(struct mlflow_metric *out, const cJSON *m)
{
	const cJSON *value = json_find(m, "value");
	const char *key = json_string_or(m, "key", NULL);

	if (!key)
		return error_set(ERR_JSON, "MLflow metric: no key");
	/* MLflow's JSON writes non-finite values as the strings "NaN",
	 * "Infinity" and "-Infinity". */
	if (cJSON_IsNumber(value))
		out->value = value->valuedouble;
	else if (cJSON_IsString(value) && !strcmp(value->valuestring, "NaN"))
		out->value = NAN;
	else if (cJSON_IsString(value) && !strcmp(value->valuestring, "Infinity"))
		out->value = INFINITY;
	else if (cJSON_IsString(value) && !strcmp(value->valuestring, "-Infinity"))
		out->value = -INFINITY;
	else
		return 1; /* the caller skips it, saying so: it must not hide the others */
	out->key = xstrdup(key);
	out->timestamp = int64_or_zero(m, "timestamp");
	out->step = int64_or_zero(m, "step");
	return 0;
}

static int parse_pairs(struct kv_list *out, const cJSON *list, const char *what)
{
	const cJSON *item;

	if (list && !cJSON_IsArray(list))
		return error_set(ERR_JSON, "MLflow run: %s is not an array", what);
	cJSON_ArrayForEach(item, list) {
		const char *key = json_string_or(item, "key", NULL);

		if (!key)
			return error_set(ERR_JSON, "MLflow run: a %s entry has no key", what);
		kv_list_add(out, key, json_string_or(item, "value", ""));
	}
	return 0;
}

static void skip_metric(const cJSON *m)
{
	const cJSON *value = json_find(m, "value");
	struct buf key = BUF_INIT;

	/* The key is the job's text: no control characters in our log line. */
	for (const char *k = json_string_or(m, "key", ""); *k && key.len < 200; k++)
		buf_addch(&key, (unsigned char)*k < 0x20 ? '?' : *k);
	log_warning("MLflow metric '%s' left out: its value is %s, not a number", key.data,
		    cJSON_IsString(value) ? "a string" : json_type_name(value));
	buf_release(&key);
}

int mlflow_run_parse(struct mlflow_run *out, const cJSON *json)
{
	const cJSON *info = json_find(json, "run.info");
	const cJSON *data = json_find(json, "run.data");
	const cJSON *metrics = json_find(data, "metrics"), *m;
	int ret;

	mlflow_run_release(out);
	if (!json_string_or(info, "run_id", NULL) && !json_string_or(info, "run_uuid", NULL))
		return error_set(ERR_JSON, "MLflow run: no run.info.run_id");
	/* run_uuid is the deprecated spelling older servers still send. */
	out->run_id = xstrdup(json_string_or(info, "run_id", json_string_or(info, "run_uuid", "")));
	out->experiment_id = dup_or_null(info, "experiment_id");
	out->run_name = dup_or_null(info, "run_name");
	out->status = dup_or_null(info, "status");
	out->artifact_uri = dup_or_null(info, "artifact_uri");
	out->start_time = int64_or_zero(info, "start_time");
	out->end_time = int64_or_zero(info, "end_time");
	if (metrics && !cJSON_IsArray(metrics)) {
		ret = error_set(ERR_JSON, "MLflow run: metrics is not an array");
		goto done;
	}
	out->metrics = xcalloc((size_t)cJSON_GetArraySize(metrics) + 1, sizeof(*out->metrics));
	cJSON_ArrayForEach(m, metrics) {
		if ((ret = parse_metric(&out->metrics[out->metrics_nr], m)) < 0)
			goto done;
		if (ret)
			skip_metric(m);
		else
			out->metrics_nr++;
	}
	ret = 0;
	if ((ret = parse_pairs(&out->params, json_find(data, "params"), "params")))
		goto done;
	ret = parse_pairs(&out->tags, json_find(data, "tags"), "tags");
done:
	if (ret)
		mlflow_run_release(out);
	return ret;
}

int mlflow_history_parse(struct mlflow_metrics *out, char **next_out, const cJSON *json)
{
	const cJSON *metrics = json_find(json, "metrics"), *m;
	const char *next = json_string_or(json, "next_page_token", NULL);

	*next_out = NULL;
	if (metrics && !cJSON_IsArray(metrics))
		return error_set(ERR_JSON, "MLflow history: metrics is not an array");
	cJSON_ArrayForEach(m, metrics) {
		int ret;

		if (out->nr == out->alloc) {
			out->alloc = out->alloc ? out->alloc * 2 : 16;
			out->items = xrealloc(out->items, out->alloc * sizeof(*out->items));
		}
		memset(&out->items[out->nr], 0, sizeof(out->items[0]));
		if ((ret = parse_metric(&out->items[out->nr], m)) < 0)
			return ret;
		if (ret)
			skip_metric(m);
		else
			out->nr++;
	}
	if (next && *next)
		*next_out = xstrdup(next);
	return 0;
}

const struct mlflow_metric *mlflow_run_metric(const struct mlflow_run *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->metrics_nr; i++)
		if (!strcmp(r->metrics[i].key, key))
			return &r->metrics[i];
	return NULL;
}

const char *mlflow_run_param(const struct mlflow_run *r, const char *key)
{
	return kv_list_find(&r->params, key);
}

const char *mlflow_run_tag(const struct mlflow_run *r, const char *key)
{
	return kv_list_find(&r->tags, key);
}

int mlflow_error(long status, const char *body, size_t len, const char *what)
{
	cJSON *json = NULL;
	const char *code = NULL, *message = NULL;
	int ret;

	if (len && !json_parse(&json, body, len, "MLflow error"))
		code = json_string_or(json, "error_code", NULL);
	message = json_string_or(json, "message", NULL);
	error_clear();
	/* MLflow's error_code says more than the status (azure-contract 3.8):
	 * RESOURCE_DOES_NOT_EXIST is a missing run or metric whatever the
	 * status, and a 404 with another code names another problem (its
	 * code is in the message), not a missing thing. Else the shared rule. */
	if (code && !strcmp(code, "RESOURCE_DOES_NOT_EXIST"))
		ret = ERR_NOT_FOUND;
	else if (code && status == 404)
		ret = ERR_HTTP;
	else
		ret = http_status_code(status);
	if (code || message)
		error_set(ret, "%s: HTTP %ld %s%s%s", what, status, code ? code : "",
			  code && message ? ": " : "", message ? message : "");
	else
		error_set(ret, "%s: HTTP %ld%s%.*s", what, status, len ? " " : "",
			  (int)(len < 200 ? len : 200), body);
	cJSON_Delete(json);
	return ret;
}

/* ---- non-finite numbers ---- */

/* A bare NaN, Infinity or -Infinity token at `p` (outside a string). */
static size_t non_finite_token(const char *p, size_t left, const char **as)
{
	static const char *const words[] = { "NaN", "Infinity", "-Infinity" };

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);

		if (left >= n && !memcmp(p, words[i], n) &&
		    (left == n || !((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
				    (p[n] >= '0' && p[n] <= '9')))) {
			*as = words[i];
			return n;
		}
	}
	return 0;
}

int mlflow_json_parse(cJSON **out, const char *body, size_t len)
{
	struct buf fixed = BUF_INIT;
	int in_string = 0, ret;

	*out = NULL;
	if (!json_parse(out, body, len, "MLflow reply"))
		return 0;
	/* Servers that write JSON with Python's json module (allow_nan) send
	 * the bare tokens; read them as MLflow's own strings. */
	for (size_t i = 0; i < len; i++) {
		const char *as;
		size_t n;

		if (in_string) {
			if (body[i] == '\\' && i + 1 < len)
				buf_addch(&fixed, body[i++]);
			else if (body[i] == '"')
				in_string = 0;
		} else if (body[i] == '"') {
			in_string = 1;
		} else if ((n = non_finite_token(body + i, len - i, &as))) {
			buf_addf(&fixed, "\"%s\"", as);
			i += n - 1;
			continue;
		}
		buf_addch(&fixed, body[i]);
	}
	error_clear();
	ret = json_parse(out, fixed.data, fixed.len, "MLflow reply");
	buf_release(&fixed);
	return ret;
}

void mlflow_value_text(struct buf *out, double v)
{
	if (isnan(v))
		buf_addstr(out, "NaN");
	else if (isinf(v))
		buf_addstr(out, v > 0 ? "Infinity" : "-Infinity");
	else
		buf_addf(out, "%.6g", v);
}

cJSON *mlflow_value_json(double v)
{
	struct buf text = BUF_INIT;
	cJSON *item;

	if (isfinite(v))
		item = cJSON_CreateNumber(v);
	else {
		mlflow_value_text(&text, v);
		item = cJSON_CreateString(text.data);
	}
	buf_release(&text);
	if (!item)
		abort();
	return item;
}

/* ---- calls ---- */

/* GET <base>/<method>?<query>; `*out` receives the parsed body. */
static int mlflow_get(cJSON **out, struct mlflow *m, const char *method, const char *query)
{
	struct http_request req = { 0 };
	struct http_response res = HTTP_RESPONSE_INIT;
	struct buf url = BUF_INIT, auth = BUF_INIT, what = BUF_INIT;
	const char *headers[3], *token = NULL;
	int ret;

	*out = NULL;
	buf_addf(&url, "%s/%s?%s", m->base, method, query);
	buf_addf(&what, "GET ");
	url_without_query(&what, url.data);
	headers[1] = "Accept: application/json";
	headers[2] = NULL;
	req.method = "GET";
	req.url = url.data;
	req.headers = headers;
	for (int attempt = 0;; attempt++) {
		if ((ret = token_source_get(&m->tokens, m->scope, &token))) {
			error_prefix("%s", what.data);
			goto done;
		}
		buf_wipe(&auth);
		buf_addf(&auth, "Authorization: Bearer %s", token);
		headers[0] = auth.data;
		if ((ret = http_send(m->http, &req, &res)))
			goto done;
		/* Expired though we thought it valid: a new token, once (credential.h). */
		if (attempt || !credential_refused_as_expired(&res))
			break;
		log_warning("%s: the token was refused as expired; retrying once with a new one",
			    what.data);
		credential_token_refused(token);
	}
	if (res.status < 200 || res.status >= 300) {
		ret = mlflow_error(res.status, res.body.data, res.body.len, what.data);
		goto done;
	}
	if ((ret = mlflow_json_parse(out, res.body.data, res.body.len)))
		error_prefix("%s", what.data);
done:
	http_response_release(&res);
	buf_wipe(&auth);
	buf_release(&url);
	buf_release(&what);
	return ret;
}

int mlflow_run_get(struct mlflow_run *out, struct mlflow *m, const char *run_id)
{
	struct buf q = BUF_INIT;
	cJSON *json = NULL;
	int ret;

	buf_addstr(&q, "run_id=");
	url_encode(&q, run_id);
	if (!(ret = mlflow_get(&json, m, "runs/get", q.data)) &&
	    (ret = mlflow_run_parse(out, json)))
		error_prefix("GET runs/get %s", run_id);
	cJSON_Delete(json);
	buf_release(&q);
	return ret;
}

int mlflow_metric_history(struct mlflow_metrics *out, struct mlflow *m, const char *run_id,
			  const char *key)
{
	struct buf q = BUF_INIT;
	char *token = NULL;
	int pages, ret = 0;

	for (pages = 0; pages < MAX_HISTORY_PAGES; pages++) {
		cJSON *json = NULL;
		char *next = NULL;

		buf_reset(&q);
		buf_addstr(&q, "run_id=");
		url_encode(&q, run_id);
		buf_addstr(&q, "&metric_key=");
		url_encode(&q, key);
		if (token) {
			buf_addstr(&q, "&page_token=");
			url_encode(&q, token);
		}
		if (!(ret = mlflow_get(&json, m, "metrics/get-history", q.data)) &&
		    (ret = mlflow_history_parse(out, &next, json)))
			error_prefix("GET metrics/get-history %s %s", run_id, key);
		cJSON_Delete(json);
		free(token);
		token = next;
		if (ret || !token)
			break;
	}
	if (!ret && token)
		ret = error_set(ERR_HTTP, "GET metrics/get-history %s %s: more than %d pages",
				run_id, key, MAX_HISTORY_PAGES);
	free(token);
	buf_release(&q);
	return ret;
}
