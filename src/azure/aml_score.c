#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azure/aml_endpoint.h"
#include "azure/aml_score.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/log.h"
#include "core/banned.h"

void aml_score_result_release(struct aml_score_result *r)
{
	buf_release(&r->body);
	free(r->deployment);
	free(r->request_id);
	r->deployment = r->request_id = NULL;
	r->status = r->latency_ms = 0;
}

/* "http://<host>:<digits>" then "/" or the end: nothing after the port
 * may name another host. */
static int local_http(const char *uri, const char *prefix)
{
	size_t n = strlen(prefix), digits;

	if (strncmp(uri, prefix, n))
		return 0;
	digits = strspn(uri + n, "0123456789");
	return digits && (uri[n + digits] == '/' || !uri[n + digits]);
}

/* Plain http only to this host: a local inference server (azmlinfsrv
 * listens on http://127.0.0.1:5001/score). The key goes in the request, so
 * an authority with user information ("https://x@other.host") is refused
 * too: curl would send it to the host after the '@'. */
int aml_score_check_uri(const char *uri)
{
	const char *p, *authority, *end;
	int ok = uri && ((!strncmp(uri, "https://", 8) && uri[8]) ||
			 local_http(uri, "http://127.0.0.1:") || local_http(uri, "http://localhost:"));

	if (!ok)
		return error_set(ERR_INPUT, "scoring URI '%s' is not an https:// URL",
				 excerpt(uri ? uri : ""));
	for (p = uri; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return error_set(ERR_INPUT, "scoring URI '%s' holds a space or control character",
					 excerpt(uri));
	authority = strstr(uri, "//") + 2;
	end = authority + strcspn(authority, "/?#");
	if (memchr(authority, '@', (size_t)(end - authority)))
		return error_set(ERR_INPUT, "scoring URI '%s' names a user: the key goes to its host "
				 "alone", excerpt(uri));
	return 0;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

static char *header_or_null(const struct http_response *r, const char *name)
{
	struct buf v = BUF_INIT;
	char *out = NULL;

	if (!http_header(r, name, &v) && v.len)
		out = buf_detach(&v, NULL);
	buf_release(&v);
	return out;
}

int aml_score_post(struct aml_score_result *out, struct http_client *http,
		   const char *scoring_uri, const char *key, const char *deployment,
		   const char *body, size_t len, long timeout_ms)
{
	struct buf auth = BUF_INIT, target = BUF_INIT;
	struct http_response res = HTTP_RESPONSE_INIT;
	const char *headers[5];
	struct http_request req = {
		.method = "POST", .url = scoring_uri, .headers = headers, .body = body,
		.body_len = len, .max_response = AML_SCORE_MAX_BODY, .no_retry = 1,
		.timeout_ms = timeout_ms,
	};
	struct timespec t0;
	size_t n = 0;
	int ret;

	aml_score_result_release(out);
	if ((ret = aml_score_check_uri(scoring_uri)) ||
	    (deployment && (ret = aml_check_deployment_name(deployment))))
		return ret;
	if (!key || !*key)
		return error_set(ERR_INPUT, "scoring %.80s: no endpoint key", scoring_uri);
	/* Masked before any line could hold it. */
	log_secret(key);
	buf_addf(&auth, "Authorization: Bearer %s", key);
	headers[n++] = auth.data;
	headers[n++] = "Content-Type: application/json";
	headers[n++] = "Accept: application/json";
	if (deployment) {
		buf_addf(&target, "azureml-model-deployment: %s", deployment);
		headers[n++] = target.data;
	}
	headers[n] = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = http_send(http, &req, &res);
	out->latency_ms = elapsed_ms(&t0);
	buf_wipe(&auth);
	buf_release(&target);
	if (ret) {
		error_prefix("scoring %s", deployment ? deployment : "by traffic");
		goto done;
	}
	out->status = res.status;
	out->deployment = header_or_null(&res, "azureml-model-deployment");
	out->request_id = header_or_null(&res, "x-request-id");
	if (!out->request_id)
		out->request_id = header_or_null(&res, "x-ms-request-id");
	out->body = res.body;
	buf_init(&res.body);
done:
	http_response_release(&res);
	return ret;
}

static bool scalar_equal(const cJSON *a, const cJSON *b)
{
	if (cJSON_IsNumber(a))
		return cJSON_IsNumber(b) && a->valuedouble == b->valuedouble;
	if (cJSON_IsString(a))
		return cJSON_IsString(b) && !strcmp(a->valuestring, b->valuestring);
	if (cJSON_IsBool(a))
		return cJSON_IsBool(b) && cJSON_IsTrue(a) == cJSON_IsTrue(b);
	return cJSON_IsNull(a) && cJSON_IsNull(b);
}

bool aml_score_subset(const cJSON *expect, const cJSON *got)
{
	const cJSON *e, *g;

	if (!expect || !got)
		return false;
	if (cJSON_IsObject(expect)) {
		if (!cJSON_IsObject(got))
			return false;
		cJSON_ArrayForEach(e, expect)
			if (!aml_score_subset(e, cJSON_GetObjectItemCaseSensitive(got, e->string)))
				return false;
		return true;
	}
	if (cJSON_IsArray(expect)) {
		if (!cJSON_IsArray(got) || cJSON_GetArraySize(expect) != cJSON_GetArraySize(got))
			return false;
		for (e = expect->child, g = got->child; e && g; e = e->next, g = g->next)
			if (!aml_score_subset(e, g))
				return false;
		return true;
	}
	return scalar_equal(expect, got);
}
