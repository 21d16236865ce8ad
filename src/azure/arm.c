#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azure/arm.h"
#include "azure/credential.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

#define MAX_PAGES 1000

void arm_init(struct arm *arm, struct http_client *http, struct token_source tokens,
	      const char *endpoint, const char *subscription_id)
{
	struct buf b = BUF_INIT;

	memset(arm, 0, sizeof(*arm));
	arm->http = http;
	arm->tokens = tokens;
	buf_addstr(&b, endpoint && *endpoint ? endpoint : AZURE_ARM_ENDPOINT);
	while (b.len && b.data[b.len - 1] == '/')
		buf_setlen(&b, b.len - 1);
	arm->endpoint = buf_detach(&b, NULL);
	arm->scope = xasprintf("%s/.default", arm->endpoint);
	arm->subscription_id = xstrdup(subscription_id ? subscription_id : "");
	arm->poll_default_ms = 5000;
	arm->progress_every_ms = 30000;
}

void arm_release(struct arm *arm)
{
	free(arm->endpoint);
	free(arm->scope);
	free(arm->subscription_id);
	memset(arm, 0, sizeof(*arm));
}

void arm_response_release(struct arm_response *r)
{
	cJSON_Delete(r->json);
	r->json = NULL;
	http_response_release(&r->http);
	r->status = 0;
}

static int is_absolute(const char *path)
{
	return !strncmp(path, "https://", 8) || !strncmp(path, "http://", 7);
}

static void build_url(struct buf *url, const struct arm *arm, const char *path,
		      const char *api_version)
{
	if (!is_absolute(path))
		buf_addstr(url, arm->endpoint);
	buf_addstr(url, path);
	if (api_version && !strstr(path, "api-version=")) {
		buf_addch(url, strchr(path, '?') ? '&' : '?');
		buf_addstr(url, "api-version=");
		url_encode(url, api_version);
	}
}

/* "PUT /subscriptions/.../x" for messages: no endpoint, no query. */
static void describe(struct buf *out, const struct arm *arm, const char *method,
		     const char *url)
{
	size_t n = strlen(arm->endpoint);

	buf_addf(out, "%s ", method);
	if (!strncmp(url, arm->endpoint, n) && url[n] == '/')
		url += n;
	url_without_query(out, url);
}

void arm_error_text(struct buf *out, const cJSON *json)
{
	const cJSON *err = json_find(json, "error");
	const cJSON *detail;
	const char *code, *message;

	if (!cJSON_IsObject(err))
		err = json; /* operation status bodies sometimes hold it bare */
	code = json_string_or(err, "code", NULL);
	message = json_string_or(err, "message", NULL);
	if (code)
		buf_addstr(out, code);
	if (message)
		buf_addf(out, "%s%s", code ? ": " : "", message);
	if (!code && !message)
		buf_addstr(out, "no error detail given");
	/* Azure ML nests the useful part: innerError.code says which kind. */
	code = json_string_or(err, "innerError.code", NULL);
	if (code)
		buf_addf(out, " [%s]", code);
	detail = json_find(err, "details[0]");
	if (cJSON_IsObject(detail)) {
		code = json_string_or(detail, "code", NULL);
		message = json_string_or(detail, "message", NULL);
		if (code || message)
			buf_addf(out, " (%s%s%s)", code ? code : "", code && message ? ": " : "",
				 message ? message : "");
	}
}

static int error_from_response(const struct arm *arm, const char *method, const char *url,
			       const struct arm_response *r)
{
	struct buf what = BUF_INIT, text = BUF_INIT, rid = BUF_INIT;
	int code;

	describe(&what, arm, method, url);
	if (r->json) {
		arm_error_text(&text, r->json);
	} else if (r->http.body.len) {
		buf_add(&text, r->http.body.data, r->http.body.len < 300 ? r->http.body.len : 300);
	}
	if (!http_header(&r->http, "x-ms-request-id", &rid) && rid.len)
		buf_addf(&text, " (x-ms-request-id %s)", rid.data);
	code = http_status_code(r->status);
	error_set(code, "%s: HTTP %ld%s%s", what.data, r->status, text.len ? " " : "", text.data);
	buf_release(&what);
	buf_release(&text);
	buf_release(&rid);
	return code;
}

int arm_call(struct arm *arm, const char *method, const char *path,
	     const char *api_version, const cJSON *body, struct arm_response *out)
{
	return arm_call_headers(arm, method, path, api_version, NULL, body, out);
}

int arm_call_headers(struct arm *arm, const char *method, const char *path,
		     const char *api_version, const char *const *extra_headers,
		     const cJSON *body, struct arm_response *out)
{
	struct buf url = BUF_INIT, auth = BUF_INIT, reqid = BUF_INIT, text = BUF_INIT;
	struct http_request req = { 0 };
	const char *headers[6 + ARM_MAX_EXTRA_HEADERS];
	const char *token = NULL;
	size_t n = 0;
	int ret, attempt;

	arm_response_release(out);
	build_url(&url, arm, path, api_version);
	buf_addstr(&reqid, "x-ms-client-request-id: ");
	random_uuid(&reqid);
	headers[n++] = NULL; /* the Authorization, set per attempt */
	headers[n++] = "Accept: application/json";
	headers[n++] = reqid.data;
	for (size_t i = 0; extra_headers && extra_headers[i] && i < ARM_MAX_EXTRA_HEADERS; i++)
		headers[n++] = extra_headers[i];
	if (body) {
		headers[n++] = "Content-Type: application/json";
		json_write(&text, body);
		req.body = text.data;
		req.body_len = text.len;
	}
	headers[n] = NULL;
	req.method = method;
	req.url = url.data;
	req.headers = headers;
	for (attempt = 0;; attempt++) {
		if ((ret = token_source_get(&arm->tokens, arm->scope, &token))) {
			error_prefix("%s %s", method, path);
			goto done;
		}
		buf_wipe(&auth);
		buf_addf(&auth, "Authorization: Bearer %s", token);
		headers[0] = auth.data;
		if ((ret = http_send(arm->http, &req, &out->http)))
			goto done;
		/* A token Azure calls expired though we thought it valid: a new
		 * one, once (credential.h). */
		if (attempt || !credential_refused_as_expired(&out->http))
			break;
		log_warning("%s %s: Azure refused the token as expired; retrying once with a new one",
			    method, path);
		credential_token_refused(token);
	}
	out->status = out->http.status;
	if (out->http.body.len &&
	    json_parse(&out->json, out->http.body.data, out->http.body.len, "reply") &&
	    out->status >= 200 && out->status < 300) {
		struct buf what = BUF_INIT;
		describe(&what, arm, method, url.data);
		ret = error_prefix("%s", what.data);
		buf_release(&what);
		goto done;
	}
	error_clear();
	if (out->status < 200 || out->status >= 300)
		ret = error_from_response(arm, method, url.data, out);
done:
	buf_release(&url);
	buf_wipe(&auth);
	buf_release(&reqid);
	buf_release(&text);
	return ret;
}

/* Whether a provisioningState or operation status is terminal. */
static int arm_state_terminal(const char *state)
{
	static const char *const terminal[] = {
		"Succeeded", "Failed", "Canceled", "Cancelled", "Completed", NULL,
	};
	const char *const *t;

	if (!state)
		return 0;
	for (t = terminal; *t; t++)
		if (!strcasecmp(state, *t))
			return 1;
	return 0;
}

int arm_state_succeeded(const char *state)
{
	return state && (!strcasecmp(state, "Succeeded") || !strcasecmp(state, "Completed"));
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The poll interval: Retry-After when the server gave one (ARM asks for
 * whole seconds), else our default; never more than a minute. */
static long poll_delay(const struct arm *arm, const struct arm_response *r)
{
	struct buf v = BUF_INIT;
	long ms = -1;

	if (!http_header(&r->http, "Retry-After", &v))
		ms = http_retry_after_ms(v.data, (long long)time(NULL));
	buf_release(&v);
	if (ms < 0)
		ms = arm->poll_default_ms;
	return ms > 60000 ? 60000 : ms;
}

struct poll {
	long long start, deadline, last_progress;
	const char *what;
	long progress_every;
	const volatile sig_atomic_t *stop;
};

static void progress(struct poll *p, const char *state)
{
	long long now = now_ms();
	long secs;

	if (now - p->last_progress < p->progress_every)
		return;
	p->last_progress = now;
	secs = (long)((now - p->start) / 1000);
	log_info("%s: %s (%ldm %02lds)", p->what, state ? state : "waiting", secs / 60, secs % 60);
}

static int stopped(const struct poll *p, const char *state)
{
	if (!p->stop || !*p->stop)
		return 0;
	return error_set(ERR_CANCELLED, "%s: stopped waiting while %s; it goes on in Azure",
			 p->what, state ? state : "running");
}

/* Sleeps before the next poll, in short slices so that a stop request ends
 * it early; ERR_TIMEOUT once the deadline has passed. */
static int wait_turn(struct poll *p, long delay, const char *state)
{
	long long now = now_ms();

	if (stopped(p, state))
		return ERR_CANCELLED;
	if (now >= p->deadline)
		return error_set(ERR_TIMEOUT, "%s: still %s after %lld s", p->what,
				 state ? state : "running", (now - p->start) / 1000);
	if (now + delay > p->deadline)
		delay = (long)(p->deadline - now);
	while (delay > 0) {
		long slice = p->stop && delay > 100 ? 100 : delay;

		sleep_ms(slice);
		delay -= slice;
		if (stopped(p, state))
			return ERR_CANCELLED;
	}
	return 0;
}

/* Every poll was answered; the operation itself ended Failed, or Canceled
 * (by someone else: a stop of ours never cancels it). */
static int operation_failed(const struct poll *p, const char *state, const cJSON *json)
{
	struct buf text = BUF_INIT;
	/* Operation status bodies carry "error"; resources "properties.error". */
	const cJSON *holder = json_find(json, "error") ? json : json_find(json, "properties");
	int code = strcasecmp(state, "Canceled") && strcasecmp(state, "Cancelled")
		? ERR_REMOTE_FAILED : ERR_CANCELLED;

	if (holder && json_find(holder, "error"))
		arm_error_text(&text, holder);
	error_set(code, "%s: %s%s%s", p->what, state, text.len ? ": " : "", text.data);
	buf_release(&text);
	return code;
}

static int follow_async(struct arm *arm, struct poll *p, const char *op_url,
			const struct arm_response *started)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	long delay = poll_delay(arm, started);
	const char *state = "Accepted";
	int ret;

	for (;;) {
		if ((ret = wait_turn(p, delay, state)))
			break;
		if ((ret = arm_call(arm, "GET", op_url, NULL, NULL, &r)))
			break;
		state = json_string_or(r.json, "status", "InProgress");
		if (arm_state_terminal(state)) {
			if (!arm_state_succeeded(state))
				ret = operation_failed(p, state, r.json);
			break;
		}
		progress(p, state);
		delay = poll_delay(arm, &r);
	}
	arm_response_release(&r);
	return ret;
}

static int follow_location(struct arm *arm, struct poll *p, const char *location,
			   const struct arm_response *started, struct arm_response *final_out)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	long delay = poll_delay(arm, started);
	int ret;

	for (;;) {
		if ((ret = wait_turn(p, delay, "Accepted")))
			break;
		if ((ret = arm_call(arm, "GET", location, NULL, NULL, &r)))
			break;
		if (r.status != 202)
			break;
		progress(p, "InProgress");
		delay = poll_delay(arm, &r);
	}
	if (!ret && final_out) {
		*final_out = r;
		return 0;
	}
	arm_response_release(&r);
	return ret;
}

static int follow_state(struct arm *arm, struct poll *p, const char *resource_path,
			const char *api_version, const struct arm_response *started,
			struct arm_response *final_out)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	const char *state = json_string_or(started->json, "properties.provisioningState", NULL);
	long delay = poll_delay(arm, started);
	int ret = 0;

	while (!arm_state_terminal(state)) {
		if ((ret = wait_turn(p, delay, state)))
			break;
		if ((ret = arm_call(arm, "GET", resource_path, api_version, NULL, &r)))
			break;
		state = json_string_or(r.json, "properties.provisioningState", "Succeeded");
		progress(p, state);
		delay = poll_delay(arm, &r);
	}
	if (!ret && !arm_state_succeeded(state))
		ret = operation_failed(p, state, r.json ? r.json : started->json);
	if (!ret && final_out && r.json) {
		*final_out = r;
		return 0;
	}
	arm_response_release(&r);
	return ret;
}

int arm_wait(struct arm *arm, const struct arm_response *started,
	     const char *resource_path, const char *api_version, const char *what,
	     long timeout_s, struct arm_response *final_out)
{
	struct buf op = BUF_INIT, location = BUF_INIT;
	struct poll p;
	int ret;

	p.start = now_ms();
	p.deadline = p.start + (long long)timeout_s * 1000;
	p.last_progress = p.start;
	p.what = what;
	p.progress_every = arm->progress_every_ms;
	p.stop = arm->stop;

	if (!http_header(&started->http, "Azure-AsyncOperation", &op) && op.len) {
		ret = follow_async(arm, &p, op.data, started);
		if (!ret && resource_path && final_out)
			ret = arm_call(arm, "GET", resource_path, api_version, NULL, final_out);
	} else if (!http_header(&started->http, "Location", &location) && location.len &&
		   started->status == 202) {
		ret = follow_location(arm, &p, location.data, started, final_out);
	} else if (resource_path) {
		ret = follow_state(arm, &p, resource_path, api_version, started, final_out);
		if (!ret && final_out && !final_out->json && started->json) {
			final_out->status = started->status;
			final_out->json = json_duplicate(started->json);
		}
	} else {
		ret = 0;
	}
	buf_release(&op);
	buf_release(&location);
	return ret;
}

int arm_list(struct arm *arm, const char *path, const char *api_version, cJSON **items_out)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	cJSON *items = cJSON_CreateArray();
	char *next = xstrdup(path);
	int pages, ret = 0;

	*items_out = NULL;
	for (pages = 0; next && pages < MAX_PAGES; pages++) {
		cJSON *value, *item;
		const char *link;

		/* A nextLink normally carries its api-version; add ours if not. */
		if ((ret = arm_call(arm, "GET", next, api_version, NULL, &r)))
			break;
		value = cJSON_DetachItemFromObjectCaseSensitive(r.json, "value");
		if (value && !cJSON_IsArray(value)) {
			cJSON_Delete(value);
			ret = error_set(ERR_JSON, "GET %s: 'value' is not an array", path);
			break;
		}
		while (value && (item = cJSON_DetachItemFromArray(value, 0)))
			cJSON_AddItemToArray(items, item);
		cJSON_Delete(value);
		link = json_string_or(r.json, "nextLink", NULL);
		free(next);
		next = link && *link ? xstrdup(link) : NULL;
	}
	if (!ret && next)
		ret = error_set(ERR_HTTP, "GET %s: more than %d pages", path, MAX_PAGES);
	free(next);
	arm_response_release(&r);
	if (ret)
		cJSON_Delete(items);
	else
		*items_out = items;
	return ret;
}
