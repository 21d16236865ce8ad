#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/json.h"
#include "support/check.h"
#include "support/sandbox.h"

void sandbox_require(void)
{
	if (!getenv("SANDBOX_CONTROL_URL"))
		cr_skip_test("the sandbox is not running (tests/sandbox/run.sh starts it)");
}

const char *sandbox_env(const char *name)
{
	const char *v = getenv(name);

	cr_assert(v && *v, "sandbox variable %s is not set", name);
	return v;
}

struct http_client *sandbox_http(void)
{
	static const struct http_options quick = {
		.max_attempts = 4, .retry_base_ms = 50, .retry_max_delay_ms = 2000,
		.retry_budget_ms = 10000,
	};
	struct http_client *http = NULL;

	cr_assert_ok(http_client_new(&http, &quick));
	return http;
}

long sandbox_control(const char *method, const char *path, const cJSON *body, cJSON **reply)
{
	struct http_client *http = sandbox_http();
	struct http_response r = HTTP_RESPONSE_INIT;
	struct http_request req = { .method = method };
	const char *headers[] = { "Content-Type: application/json", NULL };
	struct buf url = BUF_INIT, text = BUF_INIT;
	long status;

	buf_addf(&url, "%s%s", sandbox_env("SANDBOX_CONTROL_URL"), path);
	req.url = url.data;
	if (body) {
		json_write(&text, body);
		req.body = text.data;
		req.body_len = text.len;
		req.headers = headers;
	}
	cr_assert_ok(http_send(http, &req, &r));
	status = r.status;
	if (reply)
		cr_assert_ok(json_parse(reply, r.body.data, r.body.len, "control reply"));
	http_response_release(&r);
	http_client_free(http);
	buf_release(&url);
	buf_release(&text);
	return status;
}

static cJSON *parse_text(const char *json)
{
	cJSON *v = NULL;

	cr_assert_ok(json_parse(&v, json, strlen(json), "test JSON"));
	return v;
}

void sandbox_reset(void)
{
	cr_assert_eq(sandbox_control("POST", "/reset", NULL, NULL), 200);
}

char *sandbox_fault(const char *json)
{
	cJSON *spec = parse_text(json), *reply = NULL;
	const char *id;
	char *out;

	cr_assert_eq(sandbox_control("POST", "/faults", spec, &reply), 201, "fault %s refused", json);
	id = json_string_or(reply, "faults[0].id", NULL);
	if (!id) {
		const cJSON *n = json_find(reply, "faults[0].id");
		cr_assert(cJSON_IsNumber(n));
		out = xasprintf("%d", n->valueint);
	} else {
		out = xstrdup(id);
	}
	cJSON_Delete(spec);
	cJSON_Delete(reply);
	return out;
}

int sandbox_fault_applied(const char *id)
{
	cJSON *rules = NULL;
	const cJSON *list, *rule;
	int applied = -1;

	sandbox_control("GET", "/faults", NULL, &rules);
	list = cJSON_IsArray(rules) ? rules : json_find(rules, "faults");
	cJSON_ArrayForEach(rule, list) {
		const cJSON *rid = json_find(rule, "id"), *n = json_find(rule, "applied");
		char idtext[64];

		if (cJSON_IsString(rid))
			snprintf(idtext, sizeof(idtext), "%s", rid->valuestring);
		else
			snprintf(idtext, sizeof(idtext), "%d", rid ? rid->valueint : -1);
		if (!strcmp(idtext, id))
			applied = cJSON_IsNumber(n) ? n->valueint : -1;
	}
	cJSON_Delete(rules);
	return applied;
}

void sandbox_config(const char *json)
{
	cJSON *body = parse_text(json);

	cr_assert_eq(sandbox_control("POST", "/config", body, NULL), 200, "config %s refused", json);
	cJSON_Delete(body);
}

static int sandbox_token(void *ctx, const char *scope, const char **token_out)
{
	static char *token;
	cJSON *body = json_new_object(), *reply = NULL;
	struct buf audience = BUF_INIT;
	const char *t;

	(void)ctx;
	buf_addstr(&audience, scope);
	if (audience.len > 9 && !strcmp(audience.data + audience.len - 9, "/.default"))
		buf_setlen(&audience, audience.len - 9);
	json_add_string(body, "audience", audience.data);
	cr_assert_eq(sandbox_control("POST", "/tokens", body, &reply), 200);
	cr_assert_ok(json_get_string(&t, reply, "access_token"));
	free(token);
	token = xstrdup(t);
	*token_out = token;
	cJSON_Delete(body);
	cJSON_Delete(reply);
	buf_release(&audience);
	return 0;
}

const struct token_source sandbox_tokens = { sandbox_token, NULL };

void sandbox_arm(struct arm *arm, struct http_client *http)
{
	arm_init(arm, http, sandbox_tokens, NULL, sandbox_env("AZURE_SUBSCRIPTION_ID"));
	arm->poll_default_ms = 200;
}

const char *sandbox_workspace_path(void)
{
	static char path[512];

	snprintf(path, sizeof(path),
		 "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.MachineLearningServices/workspaces/%s",
		 sandbox_env("AZURE_SUBSCRIPTION_ID"), sandbox_env("AZURE_RESOURCE_GROUP"),
		 sandbox_env("AZURE_ML_WORKSPACE"));
	return path;
}

void sandbox_aml_open(struct sandbox_aml *s)
{
	sandbox_require();
	sandbox_reset();
	s->http = sandbox_http();
	sandbox_arm(&s->arm, s->http);
	cr_assert_ok(aml_init(&s->aml, &s->arm, sandbox_env("AZURE_RESOURCE_GROUP"),
			      sandbox_env("AZURE_ML_WORKSPACE")));
}

void sandbox_aml_close(struct sandbox_aml *s)
{
	aml_release(&s->aml);
	arm_release(&s->arm);
	http_client_free(s->http);
}
