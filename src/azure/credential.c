/*
 * The credential object: its token cache and renewal, the tokens services
 * refused, and the token source the Azure clients take. The sign-in
 * requests are in credential_flows.c, the input checks in credential_config.c.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "azure/credential_internal.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

/* After a failed renewal, a still-valid token is kept and renewal retried this much later. */
#define RENEW_RETRY_SECONDS 30
#define RENEW_KEEP_MIN 60

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
void credential_free_secret_string(char *s)
{
	if (s) {
		struct buf w = { s, strlen(s), strlen(s) + 1 };

		buf_wipe(&w);
	}
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
	/* ARM's envelope (azure-contract 2), which Azure ML and MLflow share. */
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
		ret = credential_mi_token(&reply, c, scope);
	else
		ret = credential_entra_token(&reply, c, scope);
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
	if ((ret = credential_check_config(cfg, authority)))
		return ret;
	c = xcalloc(1, sizeof(*c));
	buf_init(&c->secrets.client_secret);
	buf_init(&c->secrets.identity_header);
	c->kind = cfg->kind;
	c->http = http;
	c->now = system_now;
	c->authority = xstrndup(authority, credential_trimmed_len(authority));
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
