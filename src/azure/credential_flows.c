/*
 * The token request of each sign-in mode: the request builders, Entra's
 * and the identity endpoints' replies, and the one exchange each mode makes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "azure/credential_internal.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

#define IMDS_URL "http://169.254.169.254/metadata/identity/oauth2/token"
#define IMDS_API_VERSION "2018-02-01"
#define APP_SERVICE_API_VERSION "2019-08-01"
#define JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
/* Entra accepts assertions valid 5-10 minutes (contract section 1). */
#define ASSERTION_LIFETIME (10 * 60)
#define REPLY_CAP (64 * 1024)
#define DETAIL_CAP 400     /* of Entra's text quoted in our message */
#define MAX_LIFETIME (366L * 24 * 60 * 60)

/* ---- pure builders ---- */

size_t credential_trimmed_len(const char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		n--;
	return n;
}

void credential_token_url(struct buf *out, const char *authority, const char *tenant_id)
{
	buf_add(out, authority, credential_trimmed_len(authority));
	buf_addch(out, '/');
	url_encode(out, tenant_id);
	buf_addstr(out, "/oauth2/v2.0/token");
}

static void form_field(struct buf *out, const char *name, const char *value)
{
	if (out->len)
		buf_addch(out, '&');
	buf_addstr(out, name);
	buf_addch(out, '=');
	form_encode(out, value);
}

void credential_token_form(struct buf *out, const char *client_id, const char *scope,
			   const char *client_secret, const char *client_assertion)
{
	form_field(out, "grant_type", "client_credentials");
	form_field(out, "client_id", client_id);
	form_field(out, "scope", scope);
	if (client_secret) {
		form_field(out, "client_secret", client_secret);
	} else {
		form_field(out, "client_assertion_type", JWT_BEARER);
		form_field(out, "client_assertion", client_assertion);
	}
}

int credential_assertion(struct buf *out, const struct jwt_key *key, enum jwt_alg alg,
			 const char *authority, const char *tenant_id, const char *client_id,
			 time_t issued_at, time_t expires_at)
{
	cJSON *header = json_new_object(), *claims = json_new_object();
	struct buf aud = BUF_INIT, jti = BUF_INIT;
	int ret;

	/* RS256 goes with the SHA-1 x5t, PS256 with x5t#S256 (contract section 1). */
	json_add_string(header, "alg", jwt_alg_name(alg));
	json_add_string(header, "typ", "JWT");
	if (alg == JWT_PS256)
		json_add_string(header, "x5t#S256", jwt_key_x5t_s256(key));
	else
		json_add_string(header, "x5t", jwt_key_x5t(key));
	credential_token_url(&aud, authority, tenant_id);
	random_uuid(&jti);
	json_add_string(claims, "aud", aud.data);
	json_add_string(claims, "iss", client_id);
	json_add_string(claims, "sub", client_id);
	json_add_string(claims, "jti", jti.data);
	json_add_number(claims, "nbf", (double)issued_at);
	json_add_number(claims, "iat", (double)issued_at);
	json_add_number(claims, "exp", (double)expires_at);
	ret = jwt_sign(out, key, header, claims);
	cJSON_Delete(header);
	cJSON_Delete(claims);
	buf_release(&aud);
	buf_release(&jti);
	return ret;
}

void credential_mi_url(struct buf *out, const char *endpoint, const char *scope,
		       const char *client_id)
{
	static const char suffix[] = "/.default";
	size_t n = strlen(scope), s = strlen(suffix);
	struct buf resource = BUF_INIT;

	/* The identity endpoints take a v1 resource, not a v2 scope. */
	buf_add(&resource, scope, n >= s && !strcmp(scope + n - s, suffix) ? n - s : n);
	buf_addstr(out, endpoint ? endpoint : IMDS_URL);
	buf_addch(out, endpoint && strchr(endpoint, '?') ? '&' : '?');
	buf_addf(out, "api-version=%s&resource=",
		 endpoint ? APP_SERVICE_API_VERSION : IMDS_API_VERSION);
	url_encode(out, resource.data);
	if (client_id) {
		buf_addstr(out, "&client_id=");
		url_encode(out, client_id);
	}
	buf_release(&resource);
}

/* ---- replies ---- */

/*
 * The first sentence of a service's error text (Entra appends trace and
 * correlation ids and a timestamp), with control characters dropped,
 * capped, and any registered secret masked: the text comes from outside.
 */
static void first_sentence(struct buf *out, const char *text)
{
	size_t n = strcspn(text, "\r\n");
	const char *stop = text;

	while ((stop = memchr(stop, '.', n - (size_t)(stop - text)))) {
		if ((size_t)(stop - text) + 1 >= n || stop[1] == ' ') {
			n = (size_t)(stop - text) + 1;
			break;
		}
		stop++;
	}
	if (n > DETAIL_CAP)
		n = DETAIL_CAP;
	for (size_t i = 0; i < n; i++)
		buf_addch(out, iscntrl((unsigned char)text[i]) ? ' ' : text[i]);
	log_mask(out);
}

/* "AADSTS7000215: Invalid client secret provided." or the best the reply offers. */
static void error_detail(struct buf *out, const cJSON *reply)
{
	const char *desc = json_string_or(reply, "error_description", NULL);
	const char *message = json_string_or(reply, "message", NULL);
	const char *code = json_string_or(reply, "error", NULL);
	const cJSON *codes = cJSON_GetObjectItemCaseSensitive(reply, "error_codes");
	const cJSON *first = cJSON_IsArray(codes) ? cJSON_GetArrayItem(codes, 0) : NULL;

	if (desc && strncmp(desc, "AADSTS", 6) && cJSON_IsNumber(first))
		buf_addf(out, "AADSTS%.0f: ", first->valuedouble);
	if (desc || message)
		first_sentence(out, desc ? desc : message);
	else if (code)
		first_sentence(out, code);
}

/*
 * The token's lifetime in seconds: expires_in (a number from Entra, a
 * string from IMDS), else expires_on (epoch seconds, App Service), else the
 * access token's own exp claim.
 */
static int reply_lifetime(long *out, const cJSON *reply, const char *token, time_t now)
{
	int64_t v;

	if (json_get_int64(&v, reply, "expires_in")) {
		if (json_get_int64(&v, reply, "expires_on") && jwt_expiry(&v, token)) {
			error_clear();
			return error_set(ERR_JSON, "the token reply has no expires_in");
		}
		v -= now;
	}
	error_clear();
	/* Bounded so time arithmetic cannot overflow; 0 means renew at once. */
	*out = v < 0 ? 0 : v > MAX_LIFETIME ? MAX_LIFETIME : (long)v;
	return 0;
}

static int parse_success(struct token_reply *out, const struct http_response *r, time_t now)
{
	cJSON *reply = NULL;
	cJSON *token;
	const char *type;
	int ret;

	if ((ret = json_parse(&reply, r->body.data, r->body.len, "the token reply")))
		goto done;
	token = cJSON_GetObjectItemCaseSensitive(reply, "access_token");
	if (!cJSON_IsString(token) || !*token->valuestring) {
		ret = error_set(ERR_JSON, "the token reply has no access_token");
		goto done;
	}
	/* Masked the moment it exists (issue 4). */
	log_secret(token->valuestring);
	type = json_string_or(reply, "token_type", "Bearer");
	if (strcasecmp(type, "Bearer")) {
		ret = error_set(ERR_JSON, "the token reply has token_type \"%.40s\", not Bearer", type);
		goto done;
	}
	if ((ret = reply_lifetime(&out->lifetime, reply, token->valuestring, now)))
		goto done;
	buf_addstr(&out->token, token->valuestring);
done:
	/* The tree holds the token too. */
	token = cJSON_GetObjectItemCaseSensitive(reply, "access_token");
	if (cJSON_IsString(token)) {
		credential_free_secret_string(token->valuestring);
		token->valuestring = NULL;
	}
	cJSON_Delete(reply);
	return ret;
}

/* The error for a refused or failed token request; `who` opens the message. */
static int reply_error(const struct http_response *r, const char *who)
{
	struct buf detail = BUF_INIT;
	cJSON *reply = cJSON_ParseWithLength(r->body.data, r->body.len);
	/* The exception to http_status_code: a token endpoint's 4xx other
	 * than throttling is a refusal of the credentials (an OAuth error
	 * such as invalid_client or invalid_grant, whatever the status),
	 * never "not found" or "conflict"; 5xx and 429 that outlasted the
	 * HTTP client's retries are service trouble. */
	int code = r->status >= 400 && r->status < 500 && r->status != 408 && r->status != 429
		? ERR_AUTH : http_status_code(r->status);
	int ret;

	if (cJSON_IsObject(reply))
		error_detail(&detail, reply);
	if (detail.len && code == ERR_AUTH && !strncmp(detail.data, "AADSTS", 6))
		ret = error_set(code, "%s: %s", who, detail.data);
	else if (detail.len)
		ret = error_set(code, "%s: HTTP %ld: %s", who, r->status, detail.data);
	else
		ret = error_set(code, "%s: HTTP %ld", who, r->status);
	cJSON_Delete(reply);
	buf_release(&detail);
	return ret;
}

/*
 * Entra's AADSTS700024, "Client assertion is not within its valid time
 * range" (azure-contract 1): returns 1 and sets *server_now to the reply's
 * timestamp ("2025-01-01 00:00:00Z"), or to 0 when it has none.
 */
static int assertion_time_refused(const struct http_response *r, time_t *server_now)
{
	cJSON *reply = cJSON_ParseWithLength(r->body.data, r->body.len);
	const cJSON *code;
	const char *stamp = json_string_or(reply, "timestamp", NULL);
	struct tm tm;
	int yes = !strncmp(json_string_or(reply, "error_description", ""), "AADSTS700024:", 13);

	cJSON_ArrayForEach(code, cJSON_GetObjectItemCaseSensitive(reply, "error_codes"))
		if (cJSON_IsNumber(code) && code->valuedouble == 700024)
			yes = 1;
	*server_now = 0;
	memset(&tm, 0, sizeof(tm));
	if (yes && stamp && sscanf(stamp, "%4d-%2d-%2d %2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
				   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		*server_now = timegm(&tm);
		if (*server_now < 0)
			*server_now = 0;
	}
	cJSON_Delete(reply);
	return yes;
}

/* `time_refused` (may be NULL) is set when Entra refused the assertion's
 * time window, with *server_now its clock (0 unknown). */
static int send_and_read(struct token_reply *out, struct credential *c,
			 const struct http_request *req, const char *who,
			 int *time_refused, time_t *server_now)
{
	struct http_response r = HTTP_RESPONSE_INIT;
	int ret;

	if ((ret = http_send(c->http, req, &r))) {
		error_prefix("%s", who);
		goto done;
	}
	if (r.status / 100 != 2 && time_refused)
		*time_refused = assertion_time_refused(&r, server_now);
	if (r.status / 100 != 2)
		ret = reply_error(&r, who);
	else if ((ret = parse_success(out, &r, c->now())))
		error_prefix("%s", who);
done:
	/* The reply holds the access token. */
	buf_wipe(&r.body);
	http_response_release(&r);
	return ret;
}

/* ---- the four modes ---- */

/* The client_assertion for a certificate or OIDC request, masked. */
static int client_assertion(struct buf *out, struct credential *c)
{
	char *id_token = NULL;
	time_t now = c->now() + c->skew;
	int ret;

	if (c->kind == CREDENTIAL_CERTIFICATE) {
		/* A new assertion per request: each one is valid only minutes. */
		ret = credential_assertion(out, c->key, c->alg, c->authority, c->tenant_id,
					   c->client_id, now, now + ASSERTION_LIFETIME);
	} else {
		/* A FRESH GitHub ID token for every exchange: ID tokens live
		 * minutes, jobs hours (issue 4). */
		ret = c->id_token(c->id_token_ctx, CREDENTIAL_OIDC_AUDIENCE, &id_token);
		if (ret) {
			error_prefix("getting the GitHub ID token");
			goto done;
		}
		if (!id_token || !*id_token) {
			ret = error_set(ERR_AUTH, "the GitHub ID token is empty");
			goto done;
		}
		buf_addstr(out, id_token);
	}
	if (!ret)
		log_secret(out->data);
done:
	credential_free_secret_string(id_token);
	return ret;
}

int credential_entra_token(struct token_reply *out, struct credential *c, const char *scope)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL,
	};
	struct buf url = BUF_INIT, form = BUF_INIT, assertion = BUF_INIT, who = BUF_INIT;
	struct http_request req = { .method = "POST", .headers = headers, .max_response = REPLY_CAP };
	int ret = 0, time_refused = 0;
	time_t server_now = 0;

	buf_addf(&who, "%s sign-in to tenant %s", credential_kind_name(c->kind), c->tenant_id);
	credential_token_url(&url, c->authority, c->tenant_id);
	req.url = url.data;
	for (int attempt = 0;; attempt++) {
		buf_wipe(&form);
		buf_wipe(&assertion);
		if (c->kind == CREDENTIAL_SECRET) {
			credential_token_form(&form, c->client_id, scope, c->secrets.client_secret.data, NULL);
		} else {
			if ((ret = client_assertion(&assertion, c))) {
				error_prefix("%s", who.data);
				goto done;
			}
			credential_token_form(&form, c->client_id, scope, NULL, assertion.data);
		}
		req.body = form.data;
		req.body_len = form.len;
		ret = send_and_read(out, c, &req, who.data, c->kind == CREDENTIAL_SECRET ? NULL
				    : &time_refused, &server_now);
		if (!ret || !time_refused || attempt)
			break;
		/* Once: a certificate assertion signed again on Entra's clock
		 * (ours is off), an OIDC one with a fresh GitHub ID token. */
		if (c->kind == CREDENTIAL_CERTIFICATE && server_now)
			c->skew = server_now - c->now();
		log_warning("%s: Entra refused the assertion as outside its valid time; "
			    "trying once more with a new one%s", who.data,
			    c->kind == CREDENTIAL_CERTIFICATE && server_now ? " on Entra's clock" : "");
		error_clear();
	}
done:
	buf_wipe(&form);
	buf_wipe(&assertion);
	buf_release(&url);
	buf_release(&who);
	return ret;
}

int credential_mi_token(struct token_reply *out, struct credential *c, const char *scope)
{
	struct buf url = BUF_INIT, secret_header = BUF_INIT;
	const char *headers[3] = { "Metadata: true", NULL, NULL };
	struct http_request req = { .method = "GET", .headers = headers, .max_response = REPLY_CAP };
	int ret;

	credential_mi_url(&url, c->identity_endpoint, scope, c->client_id);
	if (c->identity_endpoint) {
		buf_addf(&secret_header, "X-IDENTITY-HEADER: %s", c->secrets.identity_header.data);
		headers[0] = secret_header.data;
	} else {
		/* IMDS is link-local: never through a proxy (a runner's http_proxy
		 * would swallow it), and off Azure it does not answer at all, so
		 * fail in seconds rather than after the usual connect timeout. */
		req.no_proxy = 1;
		req.connect_timeout_ms = 2000;
	}
	req.url = url.data;
	ret = send_and_read(out, c, &req, "managed identity token", NULL, NULL);
	buf_wipe(&secret_header);
	buf_release(&url);
	return ret;
}
