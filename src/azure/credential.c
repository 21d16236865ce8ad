#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "azure/credential.h"
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
#define CREDS_CAP (64 * 1024)
#define DETAIL_CAP 400     /* of Entra's text quoted in our message */
#define INPUT_CAP 2048     /* of an id, URL or scope */
/* After a failed renewal, a still-valid token is kept and renewal retried this much later. */
#define RENEW_RETRY_SECONDS 30
#define RENEW_KEEP_MIN 60
#define MAX_LIFETIME (366L * 24 * 60 * 60)

/* Everything that would let someone else sign in; wiped by credential_free. */
struct credential_secrets {
	struct buf client_secret;
	struct buf identity_header;
};

struct cache_entry {
	char *scope;
	struct buf token;  /* secret; empty until the first success */
	time_t expires_at;
	time_t renew_at;   /* expires_at minus the refresh margin */
};

struct credential {
	enum credential_kind kind;
	char *tenant_id, *client_id, *authority, *identity_endpoint;
	struct credential_secrets secrets;
	struct jwt_key *key;
	enum jwt_alg alg;
	id_token_fn id_token;
	void *id_token_ctx;
	struct http_client *http;
	time_t (*now)(void);
	time_t skew;       /* Entra's clock minus ours, learnt from a refused assertion */
	struct cache_entry *cache;
	size_t nr_cache;
};

/* A token as an endpoint returned it. */
struct token_reply {
	struct buf token;
	long lifetime;
};

const char *credential_kind_name(enum credential_kind kind)
{
	switch (kind) {
	case CREDENTIAL_SECRET: return "client secret";
	case CREDENTIAL_CERTIFICATE: return "certificate";
	case CREDENTIAL_OIDC: return "GitHub OIDC federation";
	case CREDENTIAL_MANAGED_IDENTITY: return "managed identity";
	}
	return "unknown";
}

static time_t system_now(void)
{
	return time(NULL);
}

long credential_refresh_margin(long lifetime)
{
	long tenth = lifetime > 0 ? lifetime / 10 : 0;

	return tenth < 300 ? tenth : 300;
}

/* ---- input checks ---- */

int credential_is_guid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	for (i = 0; shape[i]; i++) {
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return s[i] == '\0';
}

/* A DNS name with at least two labels (contoso.onmicrosoft.com), RFC 1035 letters. */
static int is_domain(const char *s)
{
	size_t label = 0, labels = 1, len = strlen(s);

	if (len == 0 || len > 253)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			labels++;
		} else if (isalnum((unsigned char)*p) || (*p == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && s[len - 1] != '-' && labels >= 2;
}

static int is_loopback_http(const char *url)
{
	static const char *const hosts[] = { "http://127.0.0.1", "http://localhost", "http://[::1]" };

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		size_t n = strlen(hosts[i]);

		if (!strncmp(url, hosts[i], n) && (!url[n] || url[n] == ':' || url[n] == '/'))
			return 1;
	}
	return 0;
}

/* Secrets are only sent over TLS; plain http is allowed on loopback (tests, sidecars). */
static int check_url(const char *url, const char *what)
{
	struct buf origin = BUF_INIT;
	int ret = 0;

	if (strlen(url) > INPUT_CAP || strpbrk(url, " \t\r\n?#"))
		ret = error_set(ERR_INPUT, "%s is not a base URL (no spaces, query or fragment)", what);
	else if (strncmp(url, "https://", 8) && !is_loopback_http(url))
		ret = error_set(ERR_INPUT, "%s must be an https:// URL", what);
	else if (url_origin(&origin, url) || !strcmp(origin.data, "https://"))
		ret = error_set(ERR_INPUT, "%s has no host", what);
	buf_release(&origin);
	return ret;
}

/* The Azure clouds, as the Azure CLI defines them (azure-cli core/cloud.py:
 * AzureCloud, AzureChinaCloud, AzureUSGovernment). */
static const struct cloud {
	const char *name, *authority, *resource_manager;
} clouds[] = {
	{ "Azure", "https://login.microsoftonline.com", "https://management.azure.com" },
	{ "Azure China", "https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn" },
	{ "Azure US Government", "https://login.microsoftonline.us", "https://management.usgovcloudapi.net" },
};

/* The cloud whose `which` endpoint (0 authority, 1 resource manager) is `url`'s origin. */
static const struct cloud *cloud_of(const char *url, int which, struct buf *origin)
{
	buf_reset(origin);
	if (url_origin(origin, url))
		return NULL;
	for (size_t i = 0; i < sizeof(clouds) / sizeof(*clouds); i++)
		if (!strcasecmp(origin->data, which ? clouds[i].resource_manager : clouds[i].authority))
			return &clouds[i];
	return NULL;
}

int credential_check_cloud(const char *authority, const char *resource_manager)
{
	static const char *const fields[] = { "activeDirectoryEndpointUrl", "resourceManagerEndpointUrl" };
	const char *urls[2] = { authority, resource_manager };
	const struct cloud *found[2];
	struct buf origin = BUF_INIT;
	int ret = 0;

	for (int i = 0; i < 2 && !ret; i++) {
		if (!urls[i] || !*urls[i]) {
			found[i] = &clouds[0];
			continue;
		}
		if (!(found[i] = cloud_of(urls[i], i, &origin))) {
			error_clear();
			for (char *p = origin.data; *p; p++)  /* quoted from outside */
				if (iscntrl((unsigned char)*p))
					*p = '?';
			ret = error_set(ERR_INPUT, "creds: %s is %.200s, which is not the %s host of "
					"a known Azure cloud (%s, %s or %s); set allow-custom-cloud: true "
					"to send the sign-in there", fields[i],
					origin.len ? origin.data : "not a URL", i ? "Resource Manager" : "sign-in",
					i ? clouds[0].resource_manager : clouds[0].authority,
					i ? clouds[1].resource_manager : clouds[1].authority,
					i ? clouds[2].resource_manager : clouds[2].authority);
		}
	}
	if (!ret && found[0] != found[1])
		ret = error_set(ERR_INPUT, "creds: activeDirectoryEndpointUrl is %s's but "
				"resourceManagerEndpointUrl is %s's: give the endpoints of one cloud",
				found[0]->name, found[1]->name);
	buf_release(&origin);
	return ret;
}

static int check_ids(const struct credential_config *cfg)
{
	int mi = cfg->kind == CREDENTIAL_MANAGED_IDENTITY;

	if (!mi && (!cfg->tenant_id || !*cfg->tenant_id))
		return error_set(ERR_INPUT, "tenant-id is required for %s sign-in",
				 credential_kind_name(cfg->kind));
	if (!mi && !credential_is_guid(cfg->tenant_id) && !is_domain(cfg->tenant_id))
		return error_set(ERR_INPUT, "tenant-id must be a GUID or a domain name "
				 "such as contoso.onmicrosoft.com");
	if (!mi && (!cfg->client_id || !*cfg->client_id))
		return error_set(ERR_INPUT, "client-id is required for %s sign-in",
				 credential_kind_name(cfg->kind));
	/* For a user-assigned managed identity the client id is optional. */
	if (cfg->client_id && *cfg->client_id && !credential_is_guid(cfg->client_id))
		return error_set(ERR_INPUT, "client-id must be a GUID "
				 "(the application or managed identity client ID)");
	return 0;
}

static int check_mode_fields(const struct credential_config *cfg)
{
	switch (cfg->kind) {
	case CREDENTIAL_SECRET:
		if (!cfg->client_secret || !*cfg->client_secret)
			return error_set(ERR_INPUT, "client-secret is required for client secret sign-in");
		return 0;
	case CREDENTIAL_CERTIFICATE:
		if (!cfg->certificate_pem || !*cfg->certificate_pem)
			return error_set(ERR_INPUT, "a PEM certificate is required for certificate sign-in");
		if (cfg->assertion_alg != JWT_RS256 && cfg->assertion_alg != JWT_PS256)
			return error_set(ERR_INPUT, "the assertion algorithm must be RS256 or PS256");
		return 0;
	case CREDENTIAL_OIDC:
		if (!cfg->id_token)
			return error_set(ERR_INPUT, "GitHub OIDC federation needs an ID token source "
					 "(permissions: id-token: write)");
		return 0;
	case CREDENTIAL_MANAGED_IDENTITY:
		if (cfg->identity_endpoint && *cfg->identity_endpoint &&
		    (!cfg->identity_header || !*cfg->identity_header))
			return error_set(ERR_INPUT, "IDENTITY_ENDPOINT is set but IDENTITY_HEADER is not");
		if (cfg->identity_endpoint && *cfg->identity_endpoint)
			return check_url(cfg->identity_endpoint, "IDENTITY_ENDPOINT");
		return 0;
	}
	return error_set(ERR_INPUT, "unknown credential kind %d", (int)cfg->kind);
}

static int check_scope(const char *scope)
{
	size_t n = strlen(scope);

	if (!n || n > INPUT_CAP)
		return error_set(ERR_INPUT, "token scope is empty or too long");
	for (const char *p = scope; *p; p++) {
		if (!isgraph((unsigned char)*p))
			return error_set(ERR_INPUT, "token scope \"%.100s\" contains a space or "
					 "control character", scope);
	}
	return 0;
}

/* ---- secrets ---- */

/*
 * Registers the base64 lines of each PRIVATE KEY block for masking; the
 * certificate lines are public and masking them would only garble logs.
 */
static void mask_private_key(const char *pem)
{
	const char *p = pem;

	while ((p = strstr(p, "-----BEGIN "))) {
		const char *eol = strchr(p, '\n');
		const char *end;
		struct buf body = BUF_INIT;

		if (!eol)
			return;
		if (!memmem(p, (size_t)(eol - p), "PRIVATE KEY-----", 16)) {
			p = eol;
			continue;
		}
		end = strstr(eol + 1, "-----END ");
		if (!end)
			end = eol + 1 + strlen(eol + 1);
		buf_add(&body, eol + 1, (size_t)(end - eol - 1));
		buf_trim(&body);
		if (body.len)
			log_secret(body.data);
		buf_wipe(&body);
		p = end;
		if (!*p)
			return;
		p++;
	}
}

/*
 * Wipes and frees a malloc'd string that held a secret (a cJSON value, an
 * ID token from id_token_fn). A buf lends its OPENSSL_cleanse: only
 * src/core may include OpenSSL.
 */
static void free_secret_string(char *s)
{
	if (s) {
		struct buf w = { s, strlen(s), strlen(s) + 1 };

		buf_wipe(&w);
	}
}

/* ---- AZURE_CREDENTIALS ---- */

static int creds_string(const char **out, const cJSON *root, const char *key, int required)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);

	*out = NULL;
	if (!item || cJSON_IsNull(item)) {
		if (required)
			return error_set(ERR_INPUT, "creds: %s is missing", key);
		return 0;
	}
	if (!cJSON_IsString(item))
		return error_set(ERR_INPUT, "creds: %s must be a string, not %s", key,
				 json_type_name(item));
	if (required && !*item->valuestring)
		return error_set(ERR_INPUT, "creds: %s is empty", key);
	*out = item->valuestring;
	return 0;
}

int credential_parse_creds(struct credential_config *out, const char **subscription_id,
			   const char **resource_manager_url, cJSON **json_out, const char *text)
{
	size_t len = strnlen(text, CREDS_CAP + 1);
	const char *secret = NULL, *unused;
	cJSON *root = NULL;
	const cJSON *item;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->kind = CREDENTIAL_SECRET;
	*json_out = NULL;
	subscription_id = subscription_id ? subscription_id : &unused;
	resource_manager_url = resource_manager_url ? resource_manager_url : &unused;
	*subscription_id = *resource_manager_url = NULL;
	if (len > CREDS_CAP)
		return error_set(ERR_INPUT, "creds: longer than %d bytes", CREDS_CAP);
	/* Strictly: with clientId given twice, which one signs in would
	 * depend on the reader. */
	if ((ret = json_parse_strict(&root, text, len, "creds", NULL)))
		goto done;
	if (!cJSON_IsObject(root)) {
		ret = error_set(ERR_INPUT, "creds: expected a JSON object, not %s", json_type_name(root));
		goto done;
	}
	/* Masked first, so no later message or log line can show it. */
	item = cJSON_GetObjectItemCaseSensitive(root, "clientSecret");
	if (cJSON_IsString(item) && *item->valuestring)
		log_secret(item->valuestring);
	if ((ret = creds_string(&out->client_id, root, "clientId", 1)) ||
	    (ret = creds_string(&secret, root, "clientSecret", 1)) ||
	    (ret = creds_string(&out->tenant_id, root, "tenantId", 1)) ||
	    (ret = creds_string(subscription_id, root, "subscriptionId", 0)) ||
	    (ret = creds_string(&out->authority, root, "activeDirectoryEndpointUrl", 0)) ||
	    (ret = creds_string(resource_manager_url, root, "resourceManagerEndpointUrl", 0)))
		goto done;
	out->client_secret = secret;
	*json_out = root;
	root = NULL;
done:
	if (ret) {
		memset(out, 0, sizeof(*out));
		*subscription_id = *resource_manager_url = NULL;
	}
	credential_creds_free(root);
	return ret;
}

void credential_creds_free(cJSON *json)
{
	cJSON *item = cJSON_GetObjectItemCaseSensitive(json, "clientSecret");

	if (cJSON_IsString(item)) {
		free_secret_string(item->valuestring);
		item->valuestring = NULL;
	}
	cJSON_Delete(json);
}

/* ---- pure builders ---- */

static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		n--;
	return n;
}

void credential_token_url(struct buf *out, const char *authority, const char *tenant_id)
{
	buf_add(out, authority, trimmed_len(authority));
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
		free_secret_string(token->valuestring);
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
 * range" (contract 1): returns 1 and sets *server_now to the reply's
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
	free_secret_string(id_token);
	return ret;
}

static int entra_token(struct token_reply *out, struct credential *c, const char *scope)
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

static int managed_identity_token(struct token_reply *out, struct credential *c, const char *scope)
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

/* ---- tokens services refused ---- */

#define REFUSED_MAX 16
static unsigned char refused[REFUSED_MAX][SHA256_LEN];
static size_t nr_refused, refused_next;

void credential_token_refused(const char *token)
{
	if (!token || !*token)
		return;
	sha256_digest(refused[refused_next], token, strlen(token));
	refused_next = (refused_next + 1) % REFUSED_MAX;
	if (nr_refused < REFUSED_MAX)
		nr_refused++;
}

static int is_refused(const struct buf *token)
{
	unsigned char h[SHA256_LEN];

	if (!nr_refused || !token->len)
		return 0;
	sha256_digest(h, token->data, token->len);
	for (size_t i = 0; i < nr_refused; i++)
		if (!memcmp(h, refused[i], SHA256_LEN))
			return 1;
	return 0;
}

static int contains_nocase(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (!strncasecmp(hay + i, needle, m))
			return 1;
	return 0;
}

int credential_refused_as_expired(const struct http_response *r)
{
	struct buf v = BUF_INIT;
	cJSON *json = NULL;
	int yes = 0;

	if (r->status != 401 && r->status != 403)
		return 0;
	/* ARM's envelope (contract 2), which Azure ML and MLflow share. */
	if (r->status == 401 && r->body.len && r->body.data[0] == '{' &&
	    (json = cJSON_ParseWithLength(r->body.data, r->body.len)))
		yes = !strcmp(json_string_or(json, "error.code", ""), "ExpiredAuthenticationToken");
	cJSON_Delete(json);
	/* Storage: 401 InvalidAuthenticationInfo, AuthenticationErrorDetail
	 * "Lifetime validation failed. The token is expired." [obs]. */
	if (!yes && !http_header(r, "x-ms-error-code", &v) && !strcmp(v.data, "InvalidAuthenticationInfo"))
		yes = contains_nocase(r->body.data, r->body.len, "Lifetime validation failed");
	buf_reset(&v);
	/* RFC 6750 section 3: error="invalid_token", error_description="... expired". */
	if (!yes && r->status == 401 && !http_header(r, "WWW-Authenticate", &v))
		yes = contains_nocase(v.data, v.len, "invalid_token") && contains_nocase(v.data, v.len, "expired");
	buf_release(&v);
	return yes;
}

/* ---- lifecycle and cache ---- */

static struct cache_entry *cache_entry(struct credential *c, const char *scope)
{
	struct cache_entry *e;

	for (size_t i = 0; i < c->nr_cache; i++) {
		if (!strcmp(c->cache[i].scope, scope))
			return &c->cache[i];
	}
	c->cache = xrealloc(c->cache, (c->nr_cache + 1) * sizeof(*c->cache));
	e = &c->cache[c->nr_cache++];
	e->scope = xstrdup(scope);
	buf_init(&e->token);
	e->expires_at = e->renew_at = 0;
	return e;
}

int credential_token(struct credential *c, const char *scope, const char **token_out)
{
	struct token_reply reply = { BUF_INIT, 0 };
	struct cache_entry *e;
	time_t now = c->now();
	int ret;

	*token_out = NULL;
	if ((ret = check_scope(scope)))
		return ret;
	e = cache_entry(c, scope);
	if (e->token.len && now < e->renew_at && !is_refused(&e->token)) {
		*token_out = e->token.data;
		return 0;
	}
	if (c->kind == CREDENTIAL_MANAGED_IDENTITY)
		ret = managed_identity_token(&reply, c, scope);
	else
		ret = entra_token(&reply, c, scope);
	if (ret) {
		/* A renewal that failed leaves a token with minutes to live: use it
		 * and try again shortly, rather than failing a long job now. */
		if (e->token.len && e->expires_at - now >= RENEW_KEEP_MIN && !is_refused(&e->token)) {
			log_warning("token renewal failed, using the current token for %ld s more: %s",
				    (long)(e->expires_at - now), error_message());
			error_clear();
			e->renew_at = now + RENEW_RETRY_SECONDS;
			*token_out = e->token.data;
			ret = 0;
		}
		goto done;
	}
	buf_wipe(&e->token);
	e->token = reply.token;
	buf_init(&reply.token);
	e->expires_at = now + reply.lifetime;
	e->renew_at = e->expires_at - credential_refresh_margin(reply.lifetime);
	log_debug("%s token for %s valid %ld s", credential_kind_name(c->kind), scope, reply.lifetime);
	*token_out = e->token.data;
done:
	buf_wipe(&reply.token);
	return ret;
}

static int source_get(void *ctx, const char *scope, const char **token_out)
{
	return credential_token(ctx, scope, token_out);
}

struct token_source credential_token_source(struct credential *c)
{
	struct token_source s = { c ? source_get : NULL, c };

	return s;
}

static void copy_secret(struct buf *out, const char *value)
{
	buf_addstr(out, value);
	log_secret(out->data);
}

static int load_certificate(struct credential *c, const struct credential_config *cfg)
{
	int ret;

	mask_private_key(cfg->certificate_pem);
	if (cfg->certificate_key_pem)
		mask_private_key(cfg->certificate_key_pem);
	if ((ret = jwt_key_load(&c->key, cfg->certificate_pem, cfg->certificate_key_pem)))
		return error_prefix("client certificate");
	c->alg = cfg->assertion_alg;
	return 0;
}

int credential_new(struct credential **out, const struct credential_config *cfg,
		   struct http_client *http)
{
	struct credential *c = NULL;
	const char *authority = cfg->authority && *cfg->authority ? cfg->authority
		: CREDENTIAL_DEFAULT_AUTHORITY;
	int ret;

	*out = NULL;
	if ((ret = check_ids(cfg)) || (ret = check_mode_fields(cfg)) ||
	    (ret = check_url(authority, "the authority (activeDirectoryEndpointUrl)")))
		return ret;
	c = xcalloc(1, sizeof(*c));
	buf_init(&c->secrets.client_secret);
	buf_init(&c->secrets.identity_header);
	c->kind = cfg->kind;
	c->http = http;
	c->now = system_now;
	c->authority = xstrndup(authority, trimmed_len(authority));
	c->tenant_id = xstrdup(cfg->tenant_id ? cfg->tenant_id : "");
	if (cfg->client_id && *cfg->client_id)
		c->client_id = xstrdup(cfg->client_id);
	switch (cfg->kind) {
	case CREDENTIAL_SECRET:
		copy_secret(&c->secrets.client_secret, cfg->client_secret);
		break;
	case CREDENTIAL_CERTIFICATE:
		ret = load_certificate(c, cfg);
		break;
	case CREDENTIAL_OIDC:
		c->id_token = cfg->id_token;
		c->id_token_ctx = cfg->id_token_ctx;
		break;
	case CREDENTIAL_MANAGED_IDENTITY:
		if (cfg->identity_endpoint && *cfg->identity_endpoint) {
			c->identity_endpoint = xstrdup(cfg->identity_endpoint);
			copy_secret(&c->secrets.identity_header, cfg->identity_header);
		}
		break;
	}
	if (ret) {
		credential_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

void credential_set_clock(struct credential *c, time_t (*now)(void))
{
	c->now = now ? now : system_now;
}

void credential_free(struct credential *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nr_cache; i++) {
		free(c->cache[i].scope);
		buf_wipe(&c->cache[i].token);
	}
	free(c->cache);
	buf_wipe(&c->secrets.client_secret);
	buf_wipe(&c->secrets.identity_header);
	jwt_key_free(c->key);
	free(c->tenant_id);
	free(c->client_id);
	free(c->authority);
	free(c->identity_endpoint);
	free(c);
}
