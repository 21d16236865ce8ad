/*
 * Credentials against the live sandbox (sandbox/sandbox.sh start, then
 * `. $SANDBOX_DIR/env`). Every test skips when SANDBOX_CONTROL_URL is unset.
 * The HTTP client reaches login.microsoftonline.com through HTTPS_PROXY and
 * trusts the sandbox CA through SSL_CERT_FILE, as in production.
 *
 * Tests may run in parallel: the one that shortens token lifetimes restores
 * them, and fault rules match only the tenant's domain-name path, which no
 * other test uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "azure/credential.h"
#include "core/encode.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/jwt.h"
#include "support/check.h"

#define ARM_SCOPE "https://management.azure.com/.default"
#define STORAGE_SCOPE "https://storage.azure.com/.default"
#define TENANT_DOMAIN "mlopssandbox.onmicrosoft.com"

static const struct http_options quick = {
	.connect_timeout_ms = 5000, .attempt_timeout_ms = 20000, .max_attempts = 5,
	.retry_base_ms = 100, .retry_max_delay_ms = 2000, .retry_budget_ms = 20000,
};

static struct http_client *http;

static const char *env(const char *name)
{
	const char *v = getenv(name);

	cr_assert(v && *v, "%s is not set: source $SANDBOX_DIR/env", name);
	return v;
}

static void setup(void)
{
	if (!getenv("SANDBOX_CONTROL_URL") || !*getenv("SANDBOX_CONTROL_URL"))
		cr_skip_test("SANDBOX_CONTROL_URL is not set: start the sandbox and source its env");
	cr_assert_ok(http_client_new(&http, &quick));
}

static void teardown(void)
{
	http_client_free(http);
	http = NULL;
}

TestSuite(credential_sandbox, .init = setup, .fini = teardown);

/* A control API call; returns the parsed reply. */
static cJSON *control(const char *method, const char *path, const char *body)
{
	static const char *const headers[] = { "Content-Type: application/json", NULL };
	struct buf url = BUF_INIT;
	struct http_request req = { .method = method, .headers = headers, .no_retry = 1 };
	struct http_response r = HTTP_RESPONSE_INIT;
	cJSON *reply = NULL;

	buf_addf(&url, "%s%s", env("SANDBOX_CONTROL_URL"), path);
	req.url = url.data;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	cr_assert_ok(http_send(http, &req, &r));
	cr_assert(r.status / 100 == 2, "%s %s: HTTP %ld %s", method, path, r.status, r.body.data);
	cr_assert_ok(json_parse(&reply, r.body.data, r.body.len, "control reply"));
	http_response_release(&r);
	buf_release(&url);
	return reply;
}

static void control_do(const char *method, const char *path, const char *body)
{
	cJSON_Delete(control(method, path, body));
}

static struct credential *new_credential(const struct credential_config *cfg)
{
	struct credential *c = NULL;

	cr_assert_ok(credential_new(&c, cfg, http));
	return c;
}

/* Asserts `token` is an Entra access token for `audience`. */
static void check_access_token(const char *token, const char *audience)
{
	cJSON *claims = NULL;

	cr_assert_ok(jwt_decode_payload(&claims, token));
	cr_assert_str_eq(json_string_or(claims, "aud", ""), audience);
	cr_assert_str_eq(json_string_or(claims, "tid", ""), env("AZURE_TENANT_ID"));
	cJSON_Delete(claims);
}

static struct credential_config secret_config(void)
{
	struct credential_config cfg = {
		.kind = CREDENTIAL_SECRET, .tenant_id = env("AZURE_TENANT_ID"),
		.client_id = env("AZURE_CLIENT_ID"), .client_secret = env("AZURE_CLIENT_SECRET"),
	};
	return cfg;
}

/* ---- the GitHub ID token, fetched as the CI layer does ---- */

struct github_oidc {
	int calls;
	struct buf last;  /* the last ID token handed out */
};

static int github_id_token(void *ctx, const char *audience, char **token_out)
{
	static const char *headers[2];
	struct github_oidc *g = ctx;
	struct buf url = BUF_INIT, auth = BUF_INIT;
	struct http_request req = { .method = "GET", .headers = headers };
	struct http_response r = HTTP_RESPONSE_INIT;
	cJSON *reply = NULL;
	const char *value;
	int ret;

	buf_addf(&url, "%s&audience=", env("ACTIONS_ID_TOKEN_REQUEST_URL"));
	url_encode(&url, audience);
	buf_addf(&auth, "Authorization: Bearer %s", env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"));
	headers[0] = auth.data;
	req.url = url.data;
	if ((ret = http_send(http, &req, &r)))
		goto done;
	if (r.status != 200) {
		ret = http_status_error(&r, "GET", url.data, NULL);
		goto done;
	}
	if ((ret = json_parse(&reply, r.body.data, r.body.len, "ID token reply")) ||
	    (ret = json_get_string(&value, reply, "value")))
		goto done;
	g->calls++;
	buf_reset(&g->last);
	buf_addstr(&g->last, value);
	*token_out = xstrdup(value);
done:
	cJSON_Delete(reply);
	http_response_release(&r);
	buf_wipe(&auth);
	buf_release(&url);
	return ret;
}

/* ---- every mode gets a token ---- */

Test(credential_sandbox, client_secret_gets_arm_and_storage_tokens)
{
	struct credential_config cfg = secret_config();
	struct credential *c = new_credential(&cfg);
	const char *tok;

	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	check_access_token(tok, "https://management.azure.com");
	cr_assert_ok(credential_token(c, STORAGE_SCOPE, &tok));
	check_access_token(tok, "https://storage.azure.com");
	credential_free(c);
}

Test(credential_sandbox, azure_credentials_json_gets_a_token)
{
	struct credential_config cfg;
	const char *sub, *arm, *tok;
	cJSON *json = NULL;
	struct credential *c;

	cr_assert_ok(credential_parse_creds(&cfg, &sub, &arm, &json, env("AZURE_CREDENTIALS")));
	cr_assert_str_eq(sub, env("AZURE_SUBSCRIPTION_ID"));
	c = new_credential(&cfg);
	credential_creds_free(json); /* the credential keeps its own copies */
	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	check_access_token(tok, "https://management.azure.com");
	credential_free(c);
}

static void certificate_gets_a_token(enum jwt_alg alg)
{
	struct credential_config cfg = {
		.kind = CREDENTIAL_CERTIFICATE, .tenant_id = env("AZURE_TENANT_ID"),
		.client_id = env("SANDBOX_CERT_CLIENT_ID"), .assertion_alg = alg,
	};
	struct buf pem = BUF_INIT;
	struct credential *c;
	const char *tok;

	cr_assert_ok(fs_read_file(&pem, env("AZURE_CLIENT_CERTIFICATE_PATH"), 1 << 20));
	cfg.certificate_pem = pem.data;
	c = new_credential(&cfg);
	buf_wipe(&pem);
	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	check_access_token(tok, "https://management.azure.com");
	credential_free(c);
}

Test(credential_sandbox, certificate_rs256_gets_a_token)
{
	certificate_gets_a_token(JWT_RS256);
}

Test(credential_sandbox, certificate_ps256_gets_a_token)
{
	certificate_gets_a_token(JWT_PS256);
}

Test(credential_sandbox, certificate_with_a_separate_key_gets_a_token)
{
	struct credential_config cfg = {
		.kind = CREDENTIAL_CERTIFICATE, .tenant_id = env("AZURE_TENANT_ID"),
		.client_id = env("SANDBOX_CERT_CLIENT_ID"),
	};
	struct buf cert = BUF_INIT, key = BUF_INIT;
	struct credential *c;
	const char *tok;

	cr_assert_ok(fs_read_file(&cert, env("SANDBOX_CERT_PATH"), 1 << 20));
	cr_assert_ok(fs_read_file(&key, env("SANDBOX_CERT_KEY_PATH"), 1 << 20));
	cfg.certificate_pem = cert.data;
	cfg.certificate_key_pem = key.data;
	c = new_credential(&cfg);
	buf_wipe(&key);
	buf_release(&cert);
	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	credential_free(c);
}

Test(credential_sandbox, github_oidc_federation_gets_a_token)
{
	struct github_oidc g = { 0, BUF_INIT };
	struct credential_config cfg = {
		.kind = CREDENTIAL_OIDC, .tenant_id = env("AZURE_TENANT_ID"),
		.client_id = env("SANDBOX_OIDC_CLIENT_ID"), .id_token = github_id_token, .id_token_ctx = &g,
	};
	struct credential *c = new_credential(&cfg);
	const char *tok;

	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	check_access_token(tok, "https://management.azure.com");
	cr_assert_eq(g.calls, 1);
	credential_free(c);
	buf_release(&g.last);
}

Test(credential_sandbox, managed_identity_gets_a_token)
{
	struct credential_config cfg = {
		.kind = CREDENTIAL_MANAGED_IDENTITY, .client_id = env("SANDBOX_MI_CLIENT_ID"),
		.identity_endpoint = env("IDENTITY_ENDPOINT"), .identity_header = env("IDENTITY_HEADER"),
	};
	struct credential *c = new_credential(&cfg);
	const char *tok;

	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	check_access_token(tok, "https://management.azure.com");
	cr_assert_ok(credential_token(c, STORAGE_SCOPE, &tok));
	check_access_token(tok, "https://storage.azure.com");
	credential_free(c);
}

/* ---- refusals ---- */

Test(credential_sandbox, wrong_secret_is_aadsts7000215)
{
	struct credential_config cfg = secret_config();
	struct credential *c;
	const char *tok;

	cfg.client_secret = "not-the-secret-value";
	c = new_credential(&cfg);
	cr_assert_fails(credential_token(c, ARM_SCOPE, &tok), ERR_AUTH,
			"client secret sign-in to tenant ");
	cr_assert(strstr(error_message(), ": AADSTS7000215: Invalid client secret provided."),
		  "%s", error_message());
	cr_assert_null(strstr(error_message(), "not-the-secret-value"));
	credential_free(c);
}

static time_t an_hour_ago(void)
{
	return time(NULL) - 3600;
}

static struct credential *certificate_credential(const char *tenant)
{
	struct credential_config cfg = {
		.kind = CREDENTIAL_CERTIFICATE, .tenant_id = tenant,
		.client_id = env("SANDBOX_CERT_CLIENT_ID"),
	};
	struct buf pem = BUF_INIT;
	struct credential *c;

	cr_assert_ok(fs_read_file(&pem, env("AZURE_CLIENT_CERTIFICATE_PATH"), 1 << 20));
	cfg.certificate_pem = pem.data;
	c = new_credential(&cfg);
	buf_wipe(&pem);
	return c;
}

/*
 * A clock an hour behind Entra's signs an assertion that expired 50
 * minutes ago: Entra refuses it (AADSTS700024), and it is signed once more
 * on Entra's clock, taken from the refusal's timestamp (issue 10).
 */
Test(credential_sandbox, an_assertion_refused_for_clock_skew_is_signed_again_on_entras_clock)
{
	struct credential *c = certificate_credential(env("AZURE_TENANT_ID"));
	const char *tok;

	credential_set_clock(c, an_hour_ago);
	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	check_access_token(tok, "https://management.azure.com");
	credential_free(c);
}

/* Injects `count` AADSTS700024 refusals on `tenant`'s token endpoint. */
static int inject_assertion_refused(const char *tenant, int count)
{
	struct buf spec = BUF_INIT;
	cJSON *reply;
	int rule;

	buf_addf(&spec, "{\"kind\":\"expired_token\",\"count\":%d,\"host\":\"login.microsoftonline.com\","
		 "\"path\":\"^/%s/oauth2/v2.0/token$\"}", count, tenant);
	reply = control("POST", "/faults", spec.data);
	cr_assert(cJSON_IsNumber(json_find(reply, "faults[0].id")));
	rule = json_find(reply, "faults[0].id")->valueint;
	cJSON_Delete(reply);
	buf_release(&spec);
	return rule;
}

static int applied(int rule);

Test(credential_sandbox, an_oidc_assertion_refused_as_out_of_time_is_retried_once_with_a_fresh_id_token)
{
	struct github_oidc g = { 0, BUF_INIT };
	struct credential_config cfg = {
		.kind = CREDENTIAL_OIDC, .tenant_id = "MlopsSandbox.onmicrosoft.com",
		.client_id = env("SANDBOX_OIDC_CLIENT_ID"), .id_token = github_id_token, .id_token_ctx = &g,
	};
	struct credential *c = new_credential(&cfg);
	int rule = inject_assertion_refused(cfg.tenant_id, 1);
	const char *tok;

	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	check_access_token(tok, "https://management.azure.com");
	cr_assert_eq(applied(rule), 1);
	cr_assert_eq(g.calls, 2, "a fresh GitHub ID token for the second try, not the refused one");
	credential_free(c);
	buf_release(&g.last);
}

Test(credential_sandbox, an_assertion_refused_twice_is_aadsts700024)
{
	struct credential *c = certificate_credential("mlopsSANDBOX.onmicrosoft.com");
	int rule = inject_assertion_refused("mlopsSANDBOX.onmicrosoft.com", 2);
	const char *tok;

	cr_assert_fails(credential_token(c, ARM_SCOPE, &tok), ERR_AUTH,
			"certificate sign-in to tenant mlopsSANDBOX.onmicrosoft.com: AADSTS700024: "
			"Client assertion is not within its valid time range.");
	cr_assert_eq(applied(rule), 2, "retried exactly once");
	credential_free(c);
}

Test(credential_sandbox, unknown_tenant_is_aadsts90002)
{
	struct credential_config cfg = secret_config();
	struct credential *c;
	const char *tok;

	cfg.tenant_id = "11111111-2222-4333-8444-555555555555";
	c = new_credential(&cfg);
	cr_assert_fails(credential_token(c, ARM_SCOPE, &tok), ERR_AUTH,
			"client secret sign-in to tenant 11111111-2222-4333-8444-555555555555: AADSTS90002: "
			"Tenant '11111111-2222-4333-8444-555555555555' not found.");
	credential_free(c);
}

Test(credential_sandbox, unknown_application_is_aadsts700016)
{
	struct credential_config cfg = secret_config();
	struct credential *c;
	const char *tok;

	cfg.client_id = "99999999-2222-4333-8444-555555555555";
	c = new_credential(&cfg);
	cr_assert_fails(credential_token(c, ARM_SCOPE, &tok), ERR_AUTH, ": AADSTS700016: ");
	credential_free(c);
}

/* ---- renewal and faults ---- */

static void restore_lifetimes(void)
{
	/* Runs before the suite's teardown, which frees the client. */
	control_do("POST", "/config", "{\"token_lifetime_seconds\":3599,\"oidc_token_lifetime_seconds\":300}");
}

Test(credential_sandbox, short_lived_oidc_token_is_renewed_with_a_fresh_id_token,
     .fini = restore_lifetimes)
{
	struct github_oidc g = { 0, BUF_INIT };
	struct credential_config cfg = {
		.kind = CREDENTIAL_OIDC, .tenant_id = env("AZURE_TENANT_ID"),
		.client_id = env("SANDBOX_OIDC_CLIENT_ID"), .id_token = github_id_token, .id_token_ctx = &g,
	};
	struct credential *c;
	struct buf first = BUF_INIT, first_id = BUF_INIT;
	const char *tok;
	int64_t exp;

	/* Access tokens live 4 s and GitHub ID tokens 3 s: reusing either fails. */
	control_do("POST", "/config", "{\"token_lifetime_seconds\":4,\"oidc_token_lifetime_seconds\":3}");
	c = new_credential(&cfg);
	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	buf_addstr(&first, tok);
	buf_addstr(&first_id, g.last.data);
	cr_assert_ok(jwt_expiry(&exp, tok));
	cr_assert_leq(exp - time(NULL), 4);
	sleep(5);
	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	cr_assert_str_neq(tok, first.data, "the expired token was not renewed");
	cr_assert_eq(g.calls, 2, "renewal must ask GitHub for a fresh ID token");
	cr_assert_str_neq(g.last.data, first_id.data);
	cr_assert_ok(jwt_expiry(&exp, tok));
	cr_assert_gt(exp, time(NULL));
	credential_free(c);
	buf_release(&first);
	buf_release(&first_id);
	buf_release(&g.last);
}

/*
 * Injects `count` answers of `status` on the token endpoint of `tenant`, a
 * spelling of the sandbox's domain that no concurrent test uses (Entra
 * compares tenants case-insensitively, the fault rule's path regex does not).
 */
static int inject(const char *tenant, int status, int count)
{
	struct buf spec = BUF_INIT;
	cJSON *reply;
	const cJSON *id;
	int rule;

	buf_addf(&spec, "{\"kind\":\"status\",\"status\":%d,\"count\":%d,\"retry_after\":0,"
		 "\"host\":\"login.microsoftonline.com\",\"path\":\"^/%s/oauth2/v2.0/token$\"}",
		 status, count, tenant);
	reply = control("POST", "/faults", spec.data);
	id = json_find(reply, "faults[0].id");
	cr_assert(cJSON_IsNumber(id));
	rule = id->valueint;
	cJSON_Delete(reply);
	buf_release(&spec);
	return rule;
}

static int applied(int rule)
{
	cJSON *reply = control("GET", "/faults", NULL);
	const cJSON *item;
	int n = -1;

	cJSON_ArrayForEach(item, json_find(reply, "faults")) {
		if (cJSON_GetObjectItem(item, "id")->valueint == rule)
			n = cJSON_GetObjectItem(item, "applied")->valueint;
	}
	cJSON_Delete(reply);
	return n;
}

static void throttled_then_recovers(const char *tenant, int status)
{
	struct credential_config cfg = secret_config();
	struct credential *c;
	const char *tok;
	int rule = inject(tenant, status, 2);

	cfg.tenant_id = tenant;
	c = new_credential(&cfg);
	cr_assert_ok(credential_token(c, ARM_SCOPE, &tok));
	check_access_token(tok, "https://management.azure.com");
	cr_assert_eq(applied(rule), 2, "the fault was not applied twice");
	credential_free(c);
}

Test(credential_sandbox, throttled_token_endpoint_recovers)
{
	throttled_then_recovers(TENANT_DOMAIN, 429);
}

Test(credential_sandbox, unavailable_token_endpoint_recovers)
{
	throttled_then_recovers("MLOPSSANDBOX.onmicrosoft.com", 503);
}
