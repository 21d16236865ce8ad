#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "azure/credential.h"
#include "core/encode.h"
#include "core/json.h"
#include "core/log.h"
#include "support/check.h"
#include "support/stub_server.h"

#define TENANT "5f0c6f2a-8a3b-4c1d-9e2f-7a6b5c4d3e21"
#define CLIENT "0e3f8a51-7b2c-4d9e-8f10-1a2b3c4d5e61"
#define SECRET "s3cr3t~Value.With+Chars"
#define ARM_SCOPE "https://management.azure.com/.default"
#define STORAGE_SCOPE "https://storage.azure.com/.default"

#define OK_REPLY(tok, secs) \
	"{\"token_type\":\"Bearer\",\"expires_in\":" secs ",\"ext_expires_in\":" secs \
	",\"access_token\":\"" tok "\"}"
#define BAD_SECRET_REPLY \
	"{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client " \
	"secret provided. Ensure the secret being sent in the request is the client secret value. " \
	"Trace ID: 1 Correlation ID: 2 Timestamp: 2025-01-01 00:00:00Z\",\"error_codes\":[7000215]}"

/* Fast retries: the credential logic is under test, not the waiting. */
static const struct http_options fast = {
	.connect_timeout_ms = 2000, .attempt_timeout_ms = 5000, .max_attempts = 3,
	.retry_base_ms = 1, .retry_max_delay_ms = 5, .retry_budget_ms = 1000,
};

static time_t fake_now = 1700000000;
static time_t fake_clock(void)
{
	return fake_now;
}

struct fixture {
	struct stub_server *stub;
	struct http_client *http;
	struct credential *cred;
};

static void start(struct fixture *f, const struct stub_reply *script, size_t n,
		  struct credential_config *cfg)
{
	f->stub = stub_start(script, n);
	cr_assert_ok(http_client_new(&f->http, &fast));
	if (!cfg->authority)
		cfg->authority = stub_url(f->stub);
	cr_assert_ok(credential_new(&f->cred, cfg, f->http));
	credential_set_clock(f->cred, fake_clock);
}

static void stop(struct fixture *f)
{
	credential_free(f->cred);
	http_client_free(f->http);
	stub_stop(f->stub);
}

static struct credential_config secret_config(void)
{
	struct credential_config cfg = {
		.kind = CREDENTIAL_SECRET, .tenant_id = TENANT, .client_id = CLIENT,
		.client_secret = SECRET,
	};
	return cfg;
}

/* The form body of request `i` as a NUL-terminated string (borrowed). */
static const char *body_of(struct fixture *f, size_t i)
{
	size_t len;

	return stub_body(f->stub, i, &len);
}

/* The value of form field `name` in `form`, decoded, appended to `out`. */
static void form_value(struct buf *out, const char *form, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = form; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (!strncmp(p, name, n) && p[n] == '=') {
			const char *v = p + n + 1;
			size_t len = strcspn(v, "&");

			for (size_t i = 0; i < len; i++) {
				if (v[i] == '%' && i + 2 < len + 1) {
					char hex[3] = { v[i + 1], v[i + 2], 0 };

					buf_addch(out, (char)strtol(hex, NULL, 16));
					i += 2;
				} else {
					buf_addch(out, v[i]);
				}
			}
			return;
		}
	}
	cr_assert_fail("form has no %s: %s", name, form);
}

/* ---- pure builders ---- */

Test(credential, token_url_is_the_v2_endpoint_of_the_tenant)
{
	struct buf url = BUF_INIT;

	credential_token_url(&url, "https://login.microsoftonline.com/", TENANT);
	cr_assert_str_eq(url.data, "https://login.microsoftonline.com/" TENANT "/oauth2/v2.0/token");
	buf_release(&url);
}

Test(credential, secret_form_has_the_contract_fields_encoded)
{
	struct buf form = BUF_INIT;

	credential_token_form(&form, CLIENT, ARM_SCOPE, "a b&c=d+e", NULL);
	cr_assert_str_eq(form.data,
		"grant_type=client_credentials&client_id=" CLIENT
		"&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
		"&client_secret=a%20b%26c%3Dd%2Be");
	buf_wipe(&form);
}

Test(credential, assertion_form_names_the_jwt_bearer_type)
{
	struct buf form = BUF_INIT;

	credential_token_form(&form, CLIENT, STORAGE_SCOPE, NULL, "h.p.s");
	cr_assert_str_eq(form.data,
		"grant_type=client_credentials&client_id=" CLIENT
		"&scope=https%3A%2F%2Fstorage.azure.com%2F.default"
		"&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
		"&client_assertion=h.p.s");
	buf_wipe(&form);
}

Test(credential, managed_identity_urls_take_a_resource)
{
	struct buf url = BUF_INIT;

	credential_mi_url(&url, NULL, ARM_SCOPE, NULL);
	cr_assert_str_eq(url.data, "http://169.254.169.254/metadata/identity/oauth2/token"
			 "?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com");
	buf_reset(&url);
	credential_mi_url(&url, "http://127.0.0.1:4141/msi/token", STORAGE_SCOPE, CLIENT);
	cr_assert_str_eq(url.data, "http://127.0.0.1:4141/msi/token?api-version=2019-08-01"
			 "&resource=https%3A%2F%2Fstorage.azure.com&client_id=" CLIENT);
	buf_release(&url);
}

Test(credential, refresh_margin_is_five_minutes_or_a_tenth)
{
	cr_assert_eq(credential_refresh_margin(3599), 300);
	cr_assert_eq(credential_refresh_margin(600), 60);
	cr_assert_eq(credential_refresh_margin(5), 0);
	cr_assert_eq(credential_refresh_margin(-1), 0);
}

/* ---- certificates (a throwaway key made with the openssl CLI) ---- */

static struct buf cert_pem = BUF_INIT;

static void make_cert(void)
{
	char dir[] = "/tmp/test_credential.XXXXXX";
	struct buf cmd = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f;

	cr_assert(mkdtemp(dir));
	buf_addf(&cmd, "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/k.pem -out %s/c.pem "
		 "-subj /CN=mlops-unit-test -days 1 2>/dev/null && cat %s/c.pem %s/k.pem && rm -rf %s",
		 dir, dir, dir, dir, dir);
	f = popen(cmd.data, "r");
	cr_assert(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&cert_pem, chunk, n);
	cr_assert_eq(pclose(f), 0);
	buf_release(&cmd);
}

static void check_assertion(const char *token, const char *alg, const char *aud, time_t t)
{
	struct buf header = BUF_INIT;
	cJSON *h = NULL, *claims = NULL;
	int64_t v;

	cr_assert_ok(base64_decode(&header, token, strcspn(token, ".")));
	cr_assert_ok(json_parse(&h, header.data, header.len, "header"));
	cr_assert_str_eq(json_string_or(h, "alg", ""), alg);
	cr_assert_str_eq(json_string_or(h, "typ", ""), "JWT");
	cr_assert_ok(jwt_decode_payload(&claims, token));
	cr_assert_str_eq(json_string_or(claims, "aud", ""), aud);
	cr_assert_str_eq(json_string_or(claims, "iss", ""), CLIENT);
	cr_assert_str_eq(json_string_or(claims, "sub", ""), CLIENT);
	cr_assert_eq(strlen(json_string_or(claims, "jti", "")), 36);
	cr_assert_ok(json_get_int64(&v, claims, "nbf"));
	cr_assert_eq(v, t);
	cr_assert_ok(json_get_int64(&v, claims, "iat"));
	cr_assert_eq(v, t);
	cr_assert_ok(json_get_int64(&v, claims, "exp"));
	cr_assert_eq(v, t + 600);
	cJSON_Delete(h);
	cJSON_Delete(claims);
	buf_release(&header);
}

Test(credential, assertion_carries_the_contract_claims, .init = make_cert)
{
	struct jwt_key *key = NULL;
	struct buf rs = BUF_INIT, ps = BUF_INIT, header = BUF_INIT;

	cr_assert_ok(jwt_key_load(&key, cert_pem.data, NULL));
	cr_assert_ok(credential_assertion(&rs, key, JWT_RS256, "https://login.microsoftonline.com",
					  TENANT, CLIENT, 1700000000, 1700000600));
	check_assertion(rs.data, "RS256", "https://login.microsoftonline.com/" TENANT "/oauth2/v2.0/token",
			1700000000);
	cr_assert_ok(base64_decode(&header, rs.data, strcspn(rs.data, ".")));
	cr_assert(strstr(header.data, jwt_key_x5t(key)));
	buf_reset(&header);
	cr_assert_ok(credential_assertion(&ps, key, JWT_PS256, "https://login.microsoftonline.com",
					  TENANT, CLIENT, 1700000000, 1700000600));
	check_assertion(ps.data, "PS256", "https://login.microsoftonline.com/" TENANT "/oauth2/v2.0/token",
			1700000000);
	cr_assert_ok(base64_decode(&header, ps.data, strcspn(ps.data, ".")));
	cr_assert(strstr(header.data, "\"x5t#S256\""));
	cr_assert(strstr(header.data, jwt_key_x5t_s256(key)));
	buf_release(&rs);
	buf_release(&ps);
	buf_release(&header);
	jwt_key_free(key);
}

Test(credential, certificate_mode_signs_a_new_assertion_per_request, .init = make_cert)
{
	struct stub_reply script[] = { { .status = 200, .body = OK_REPLY("tok-1", "3599") },
				       { .status = 200, .body = OK_REPLY("tok-2", "3599") } };
	struct credential_config cfg = { .kind = CREDENTIAL_CERTIFICATE, .tenant_id = TENANT,
					 .client_id = CLIENT };
	struct fixture f;
	struct buf a1 = BUF_INIT, a2 = BUF_INIT, aud = BUF_INIT, type = BUF_INIT;
	const char *tok;

	cfg.certificate_pem = cert_pem.data;
	start(&f, script, 2, &cfg);
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "tok-1");
	fake_now += 3400;
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "tok-2");
	form_value(&type, body_of(&f, 0), "client_assertion_type");
	cr_assert_str_eq(type.data, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
	cr_assert_null(strstr(body_of(&f, 0), "client_secret"));
	form_value(&a1, body_of(&f, 0), "client_assertion");
	form_value(&a2, body_of(&f, 1), "client_assertion");
	credential_token_url(&aud, stub_url(f.stub), TENANT);
	check_assertion(a1.data, "RS256", aud.data, 1700000000);
	check_assertion(a2.data, "RS256", aud.data, 1700003400);
	cr_assert_str_neq(a1.data, a2.data);
	/* The private key's lines are masked too, should anything print the PEM. */
	buf_reset(&type);
	buf_addstr(&type, cert_pem.data);
	log_mask(&type);
	cr_assert(strstr(type.data, "BEGIN CERTIFICATE"));
	cr_assert(strstr(type.data, "***"));
	buf_release(&a1);
	buf_release(&a2);
	buf_release(&aud);
	buf_release(&type);
	stop(&f);
}

/* ---- client secret against a scripted Entra ---- */

Test(credential, client_secret_token_is_requested_cached_and_masked)
{
	struct stub_reply script[] = { { .status = 200, .body = OK_REPLY("eyJ.tok-1.sig", "3599") } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	struct buf line = BUF_INIT;
	const char *tok, *again;

	start(&f, script, 1, &cfg);
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "eyJ.tok-1.sig");
	fake_now += 3599 - 301; /* still more than 5 minutes left */
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &again));
	cr_assert_str_eq(again, "eyJ.tok-1.sig");
	cr_assert_eq(stub_count(f.stub), 1);
	cr_assert(!strncmp(stub_head(f.stub, 0), "POST /" TENANT "/oauth2/v2.0/token HTTP/1.1", 60));
	cr_assert(strcasestr(stub_head(f.stub, 0), "Content-Type: application/x-www-form-urlencoded"));
	cr_assert_str_eq(body_of(&f, 0),
		"grant_type=client_credentials&client_id=" CLIENT
		"&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
		"&client_secret=s3cr3t~Value.With%2BChars");
	buf_addstr(&line, "Authorization: Bearer eyJ.tok-1.sig and " SECRET);
	log_mask(&line);
	cr_assert_str_eq(line.data, "Authorization: Bearer *** and ***");
	buf_release(&line);
	stop(&f);
}

Test(credential, token_is_renewed_five_minutes_before_expiry)
{
	struct stub_reply script[] = { { .status = 200, .body = OK_REPLY("tok-1", "3599") },
				       { .status = 200, .body = OK_REPLY("tok-2", "3599") } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	const char *tok;

	start(&f, script, 2, &cfg);
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	fake_now += 3599 - 300;
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "tok-2");
	cr_assert_eq(stub_count(f.stub), 2);
	stop(&f);
}

Test(credential, short_lifetime_is_renewed_at_a_tenth_and_accepts_a_string)
{
	struct stub_reply script[] = { { .status = 200, .body = OK_REPLY("tok-1", "\"60\"") },
				       { .status = 200, .body = OK_REPLY("tok-2", "\"60\"") } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	const char *tok;

	start(&f, script, 2, &cfg);
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	fake_now += 53;
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "tok-1");
	fake_now += 1; /* 6 s (a tenth) left */
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "tok-2");
	stop(&f);
}

Test(credential, each_scope_has_its_own_token)
{
	struct stub_reply script[] = { { .status = 200, .body = OK_REPLY("arm", "3599") },
				       { .status = 200, .body = OK_REPLY("storage", "3599") } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	const char *a, *s;

	start(&f, script, 2, &cfg);
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &a));
	cr_assert_ok(credential_token(f.cred, STORAGE_SCOPE, &s));
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &a));
	cr_assert_str_eq(a, "arm");
	cr_assert_str_eq(s, "storage");
	cr_assert_eq(stub_count(f.stub), 2);
	cr_assert(strstr(body_of(&f, 1), "scope=https%3A%2F%2Fstorage.azure.com%2F.default"));
	stop(&f);
}

/* What every client is given: the same cached tokens, scope by scope. */
Test(credential, its_token_source_answers_from_the_same_cache)
{
	struct stub_reply script[] = { { .status = 200, .body = OK_REPLY("arm", "3599") },
				       { .status = 200, .body = OK_REPLY("storage", "3599") } };
	struct credential_config cfg = secret_config();
	struct token_source src;
	struct fixture f;
	const char *a, *s;

	start(&f, script, 2, &cfg);
	src = credential_token_source(f.cred);
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &a));
	cr_assert_ok(token_source_get(&src, ARM_SCOPE, &a));
	cr_assert_ok(token_source_get(&src, STORAGE_SCOPE, &s));
	cr_assert_str_eq(a, "arm");
	cr_assert_str_eq(s, "storage");
	cr_assert_eq(stub_count(f.stub), 2);
	src = credential_token_source(NULL);
	cr_assert_fails(token_source_get(&src, ARM_SCOPE, &a), ERR_AUTH, "no Azure sign-in");
	stop(&f);
}

Test(credential, wrong_secret_names_mode_tenant_and_aadsts_code)
{
	struct stub_reply script[] = { { .status = 401, .body = BAD_SECRET_REPLY } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	const char *tok = "x";

	start(&f, script, 1, &cfg);
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_AUTH,
			"client secret sign-in to tenant " TENANT
			": AADSTS7000215: Invalid client secret provided.");
	cr_assert_str_eq(error_message(), "client secret sign-in to tenant " TENANT
			 ": AADSTS7000215: Invalid client secret provided.");
	cr_assert_null(tok);
	cr_assert_eq(stub_count(f.stub), 1, "a refusal is not retried");
	stop(&f);
}

Test(credential, an_error_text_quoting_the_secret_is_masked)
{
	struct stub_reply script[] = { { .status = 400, .body =
		"{\"error\":\"invalid_request\",\"error_description\":\"AADSTS50027: bad value '"
		SECRET "'\",\"error_codes\":[50027]}" } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	const char *tok;

	start(&f, script, 1, &cfg);
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_AUTH, "AADSTS50027: bad value '***'");
	cr_assert_null(strstr(error_message(), SECRET));
	stop(&f);
}

/* The token endpoint is the exception to http_status_code: any 4xx but
 * throttling refuses the sign-in, a 404 or 409 too (not "not found" or
 * "conflict"). */
Test(credential, a_reply_without_aadsts_text_keeps_the_status)
{
	struct stub_reply script[] = { { .status = 400, .body = "{\"error\":\"invalid_scope\"}" },
				       { .status = 404, .body = "{\"error\":\"invalid_tenant\"}" },
				       { .status = 409 },
				       { .status = 502, .body = "<html>bad gateway</html>" } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	const char *tok;

	start(&f, script, 4, &cfg);
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_AUTH,
			"client secret sign-in to tenant " TENANT ": HTTP 400: invalid_scope");
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_AUTH, "HTTP 404: invalid_tenant");
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_AUTH, "HTTP 409");
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_HTTP,
			"client secret sign-in to tenant " TENANT ": HTTP 502");
	stop(&f);
}

Test(credential, throttling_and_unavailability_are_retried)
{
	struct stub_reply script[] = { { .status = 429, .headers = "Retry-After: 0\r\n" },
				       { .status = 503 },
				       { .status = 200, .body = OK_REPLY("tok", "3599") } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	const char *tok;

	start(&f, script, 3, &cfg);
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "tok");
	cr_assert_eq(stub_count(f.stub), 3);
	stop(&f);
}

Test(credential, a_failed_renewal_keeps_the_valid_token)
{
	struct stub_reply script[] = { { .status = 200, .body = OK_REPLY("tok-1", "3599") },
				       { .status = 503 }, { .status = 503 }, { .status = 503 },
				       { .status = 200, .body = OK_REPLY("tok-2", "3599") } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	const char *tok;

	start(&f, script, 5, &cfg);
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	fake_now += 3400;
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "tok-1");
	cr_assert_eq(stub_count(f.stub), 4);
	fake_now += 10; /* retried only after a pause */
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_eq(stub_count(f.stub), 4);
	fake_now += 30;
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "tok-2");
	stop(&f);
}

Test(credential, no_answer_is_a_network_error_naming_the_host)
{
	struct stub_reply script[] = { { .drop = 1 } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	const char *tok;

	start(&f, script, 1, &cfg);
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_NETWORK,
			"client secret sign-in to tenant " TENANT ": POST http://127.0.0.1:");
	cr_assert_null(strstr(error_message(), SECRET));
	stop(&f);
}

Test(credential, a_reply_without_a_token_is_malformed)
{
	struct stub_reply script[] = { { .status = 200, .body = "{\"token_type\":\"Bearer\"}" },
				       { .status = 200, .body = "{\"access_token\":\"opaque\"}" },
				       { .status = 200, .body = "not json" } };
	struct credential_config cfg = secret_config();
	struct fixture f;
	const char *tok;

	start(&f, script, 3, &cfg);
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_JSON, "no access_token");
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_JSON, "no expires_in");
	cr_assert_null(strstr(error_message(), "opaque"));
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_JSON, "token reply");
	stop(&f);
}

/* ---- GitHub OIDC federation ---- */

struct id_tokens {
	int calls;
	const char *audience;
	int fail;
};

static int fake_id_token(void *ctx, const char *audience, char **token_out)
{
	struct id_tokens *t = ctx;

	t->calls++;
	t->audience = audience;
	if (t->fail)
		return error_set(ERR_AUTH, "ACTIONS_ID_TOKEN_REQUEST_URL is not set");
	*token_out = xasprintf("gh.idtoken-%d.sig", t->calls);
	return 0;
}

Test(credential, oidc_exchanges_a_fresh_id_token_on_every_renewal)
{
	struct stub_reply script[] = { { .status = 200, .body = OK_REPLY("tok-1", "600") },
				       { .status = 200, .body = OK_REPLY("tok-2", "600") } };
	struct id_tokens ids = { 0 };
	struct credential_config cfg = { .kind = CREDENTIAL_OIDC, .tenant_id = TENANT, .client_id = CLIENT,
					 .id_token = fake_id_token, .id_token_ctx = &ids };
	struct fixture f;
	struct buf a1 = BUF_INIT, a2 = BUF_INIT;
	const char *tok;

	start(&f, script, 2, &cfg);
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_eq(ids.calls, 1, "a cached token needs no ID token");
	cr_assert_str_eq(ids.audience, "api://AzureADTokenExchange");
	fake_now += 540;
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "tok-2");
	cr_assert_eq(ids.calls, 2);
	form_value(&a1, body_of(&f, 0), "client_assertion");
	form_value(&a2, body_of(&f, 1), "client_assertion");
	cr_assert_str_eq(a1.data, "gh.idtoken-1.sig");
	cr_assert_str_eq(a2.data, "gh.idtoken-2.sig");
	buf_release(&a1);
	buf_release(&a2);
	stop(&f);
}

Test(credential, oidc_id_token_failure_is_prefixed)
{
	struct stub_reply script[] = { { .status = 200, .body = OK_REPLY("tok", "600") } };
	struct id_tokens ids = { .fail = 1 };
	struct credential_config cfg = { .kind = CREDENTIAL_OIDC, .tenant_id = TENANT, .client_id = CLIENT,
					 .id_token = fake_id_token, .id_token_ctx = &ids };
	struct fixture f;
	const char *tok;

	start(&f, script, 1, &cfg);
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_AUTH,
			"GitHub OIDC federation sign-in to tenant " TENANT
			": getting the GitHub ID token: ACTIONS_ID_TOKEN_REQUEST_URL is not set");
	cr_assert_eq(stub_count(f.stub), 0);
	stop(&f);
}

Test(credential, oidc_without_matching_federation_names_aadsts70021)
{
	struct stub_reply script[] = { { .status = 400, .body =
		"{\"error\":\"invalid_client\",\"error_description\":\"AADSTS70021: No matching federated "
		"identity record found for presented assertion. Assertion Issuer: 'x'.\",\"error_codes\":[70021]}" } };
	struct id_tokens ids = { 0 };
	struct credential_config cfg = { .kind = CREDENTIAL_OIDC, .tenant_id = TENANT, .client_id = CLIENT,
					 .id_token = fake_id_token, .id_token_ctx = &ids };
	struct fixture f;
	const char *tok;

	start(&f, script, 1, &cfg);
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_AUTH,
			": AADSTS70021: No matching federated identity record found for presented assertion.");
	cr_assert_null(strstr(error_message(), "gh.idtoken"));
	stop(&f);
}

/* ---- managed identity ---- */

Test(credential, app_service_identity_sends_its_header_and_resource)
{
	struct stub_reply script[] = { { .status = 200, .body =
		"{\"access_token\":\"mi-tok\",\"expires_on\":\"1700003600\",\"resource\":\"https://management.azure.com\","
		"\"token_type\":\"Bearer\",\"client_id\":\"" CLIENT "\"}" } };
	struct credential_config cfg = { .kind = CREDENTIAL_MANAGED_IDENTITY, .client_id = CLIENT,
					 .identity_header = "hdr-secret-value" };
	struct fixture f;
	struct buf endpoint = BUF_INIT;
	const char *tok;

	f.stub = stub_start(script, 1);
	buf_addf(&endpoint, "%s/msi/token", stub_url(f.stub));
	cfg.identity_endpoint = endpoint.data;
	cr_assert_ok(http_client_new(&f.http, &fast));
	cr_assert_ok(credential_new(&f.cred, &cfg, f.http));
	credential_set_clock(f.cred, fake_clock);
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_str_eq(tok, "mi-tok");
	cr_assert(!strncmp(stub_head(f.stub, 0), "GET /msi/token?api-version=2019-08-01"
			   "&resource=https%3A%2F%2Fmanagement.azure.com&client_id=" CLIENT " HTTP/1.1", 120));
	cr_assert(strcasestr(stub_head(f.stub, 0), "X-IDENTITY-HEADER: hdr-secret-value\r\n"));
	fake_now += 3599 - 300;  /* expires_on gave a 3600 s lifetime */
	cr_assert_ok(credential_token(f.cred, ARM_SCOPE, &tok));
	cr_assert_eq(stub_count(f.stub), 1);
	buf_release(&endpoint);
	stop(&f);
}

Test(credential, managed_identity_refusal_quotes_the_endpoint)
{
	struct stub_reply script[] = { { .status = 400, .body =
		"{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}" } };
	struct credential_config cfg = { .kind = CREDENTIAL_MANAGED_IDENTITY, .identity_header = "h-value" };
	struct fixture f;
	struct buf endpoint = BUF_INIT;
	const char *tok;

	f.stub = stub_start(script, 1);
	buf_addf(&endpoint, "%s/msi/token", stub_url(f.stub));
	cfg.identity_endpoint = endpoint.data;
	cr_assert_ok(http_client_new(&f.http, &fast));
	cr_assert_ok(credential_new(&f.cred, &cfg, f.http));
	cr_assert_fails(credential_token(f.cred, ARM_SCOPE, &tok), ERR_AUTH,
			"managed identity token: HTTP 400: Identity not found");
	cr_assert_null(strstr(stub_head(f.stub, 0), "client_id="), "system-assigned sends no client_id");
	buf_release(&endpoint);
	stop(&f);
}

/* The answers that mean "this token is expired", by service (issue 10). */
Test(credential, refusals_as_expired_are_recognised_by_their_shape)
{
	static const struct { long status; const char *headers, *body; int expired; } cases[] = {
		{ 401, "", "{\"error\":{\"code\":\"ExpiredAuthenticationToken\",\"message\":\"The access token expiry "
		  "UTC time '12/03/2026 09:00:00' is earlier than current UTC time.\"}}", 1 },
		{ 401, "", "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"bad audience\"}}", 0 },
		{ 401, "", "{\"error\":{\"code\":\"InvalidAuthenticationTokenTenant\",\"message\":\"wrong tenant\"}}", 0 },
		{ 403, "", "{\"error\":{\"code\":\"ExpiredAuthenticationToken\"}}", 0 },
		{ 401, "x-ms-error-code: InvalidAuthenticationInfo\n",
		  "<?xml version=\"1.0\"?><Error><Code>InvalidAuthenticationInfo</Code><Message>Server failed to "
		  "authenticate the request.</Message><AuthenticationErrorDetail>Lifetime validation failed. The token "
		  "is expired.</AuthenticationErrorDetail></Error>", 1 },
		{ 401, "x-ms-error-code: InvalidAuthenticationInfo\n",
		  "<Error><AuthenticationErrorDetail>Audience validation failed.</AuthenticationErrorDetail></Error>", 0 },
		{ 401, "WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"The access token has expired\"\n",
		  "", 1 },
		{ 401, "WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"bad signature\"\n", "", 0 },
		{ 500, "", "{\"error\":{\"code\":\"ExpiredAuthenticationToken\"}}", 0 },
		{ 200, "", "", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct http_response r = HTTP_RESPONSE_INIT;

		r.status = cases[i].status;
		buf_addstr(&r.headers, cases[i].headers);
		buf_addstr(&r.body, cases[i].body);
		cr_assert_eq(credential_refused_as_expired(&r), cases[i].expired, "case %zu", i);
		http_response_release(&r);
	}
}
