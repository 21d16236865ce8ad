#ifndef AZURE_CREDENTIAL_H
#define AZURE_CREDENTIAL_H

#include <time.h>

#include <cjson/cJSON.h>

#include "azure/token.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/jwt.h"

/*
 * Microsoft Entra ID access tokens for the Azure clients, in the four modes
 * azure/login users have (docs/azure-contract.md section 1): client secret,
 * certificate client assertion, GitHub OIDC workload identity federation,
 * and managed identity. One token cache entry per scope; a token is
 * refreshed before it expires, transparently, for as long as the run lasts.
 *
 * Secrets (client secret, private key, assertions, ID tokens, access
 * tokens) are registered with log_secret the moment this layer holds them,
 * are never put in an error message, and are wiped when released.
 *
 * A credential is not thread-safe: callers on several threads serialise
 * their calls (the returned token is borrowed from the cache).
 */

enum credential_kind {
	CREDENTIAL_SECRET,
	CREDENTIAL_CERTIFICATE,
	CREDENTIAL_OIDC,
	CREDENTIAL_MANAGED_IDENTITY,
};

/* The audience of the GitHub ID token exchanged for an Entra token. */
#define CREDENTIAL_OIDC_AUDIENCE "api://AzureADTokenExchange"
#define CREDENTIAL_DEFAULT_AUTHORITY "https://login.microsoftonline.com"

/*
 * Fetches a fresh GitHub OIDC ID token for `audience` (the CI layer provides
 * it; the Azure layer never reads CI env vars). Returns 0 and a malloc'd
 * token, or a negative code with the message set.
 */
typedef int (*id_token_fn)(void *ctx, const char *audience, char **token_out);

struct credential_config {
	enum credential_kind kind;
	const char *tenant_id, *client_id;
	const char *client_secret;      /* SECRET */
	const char *certificate_pem;    /* CERTIFICATE: PEM text holding the certificate and its private key (RSA) */
	const char *certificate_key_pem; /* CERTIFICATE, optional: the key when it is not in certificate_pem */
	enum jwt_alg assertion_alg;     /* CERTIFICATE: JWT_RS256 + x5t (default) or JWT_PS256 + x5t#S256 */
	const char *authority;          /* default https://login.microsoftonline.com (AZURE_CREDENTIALS activeDirectoryEndpointUrl) */
	id_token_fn id_token; void *id_token_ctx;   /* OIDC */
	/* MANAGED_IDENTITY: App Service/Container Apps style (IDENTITY_ENDPOINT +
	 * IDENTITY_HEADER, api-version 2019-08-01, X-IDENTITY-HEADER); when
	 * NULL, IMDS http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01
	 * with Metadata: true. client_id optional (user-assigned); tenant_id unused. */
	const char *identity_endpoint, *identity_header;
};

struct credential;

/*
 * Parses azure/login's AZURE_CREDENTIALS JSON into a SECRET config
 * (clientId, clientSecret, tenantId required; activeDirectoryEndpointUrl
 * becomes the authority when present; subscriptionId and
 * resourceManagerEndpointUrl are returned too, NULL when absent; either
 * out-pointer may be NULL). The client secret is registered with
 * log_secret. Returns 0 or ERR_INPUT; errors name the missing or mistyped
 * field, never a value. Strings point into `*json_out`, which the caller
 * keeps alive and releases with credential_creds_free (which wipes the
 * secret; cJSON_Delete alone would leave it in freed memory). On failure
 * `*json_out` is NULL.
 */
int credential_parse_creds(struct credential_config *out, const char **subscription_id,
			   const char **resource_manager_url, cJSON **json_out, const char *text);
/* Wipes the clientSecret value in a tree from credential_parse_creds, then frees it. */
void credential_creds_free(cJSON *json);

/* Whether `s` is a GUID (8-4-4-4-12 hex digits): subscription, client and
 * tenant ids. */
int credential_is_guid(const char *s);

/*
 * Checks the endpoints AZURE_CREDENTIALS names (activeDirectoryEndpointUrl
 * and resourceManagerEndpointUrl; NULL or "" for public Azure's): the
 * client secret goes to the first and the token to the second, so each
 * must be the host of one known Azure cloud, the same for both: public
 * (login.microsoftonline.com, management.azure.com), China
 * (login.chinacloudapi.cn, management.chinacloudapi.cn) or US Government
 * (login.microsoftonline.us, management.usgovcloudapi.net), https, no port.
 * ERR_INPUT naming the creds field and the host otherwise; a caller lets a
 * custom cloud through only when the user explicitly allowed it.
 */
int credential_check_cloud(const char *authority, const char *resource_manager);

/*
 * Checks `cfg` (tenant: a GUID or a domain name; client id: a GUID;
 * authority: an https URL, or http on loopback for tests; the mode's own
 * fields present) before any network call, then copies what it needs: the
 * caller's strings may go away. A certificate's PEM is parsed here and only
 * the key object is kept. `http` is borrowed and must outlive the
 * credential. Returns 0, or ERR_INPUT naming the bad input.
 */
int credential_new(struct credential **out, const struct credential_config *cfg,
		   struct http_client *http);

/*
 * A bearer token for `scope` (e.g. "https://management.azure.com/.default",
 * "https://storage.azure.com/.default"), from the cache when it has more
 * than min(5 minutes, 10% of its lifetime) left, otherwise a new one. For
 * OIDC every exchange first asks id_token for a FRESH GitHub ID token: ID
 * tokens live minutes, jobs hours. A certificate credential signs a new
 * assertion per request. The token is masked (log_secret) the moment it
 * exists. The string is borrowed: valid until the next call for the same
 * scope or credential_free.
 *
 * A token refused by a service (credential_token_refused) is never answered
 * from the cache. A certificate or OIDC assertion Entra refuses as outside
 * its valid time (AADSTS700024) is made again once: with Entra's clock (the
 * reply's timestamp) for a certificate, a fresh GitHub ID token for OIDC.
 *
 * Errors: ERR_AUTH when Entra or the identity endpoint refuses, which is
 * any 4xx but 408 and 429, unlike http_status_code (the message
 * names the mode, the tenant and Entra's AADSTS code and first sentence,
 * e.g. "client secret sign-in to tenant 5f0c...: AADSTS7000215: Invalid
 * client secret provided."); ERR_NETWORK naming the host when no answer
 * came; ERR_HTTP for other failed statuses; ERR_JSON for an unreadable
 * reply; whatever id_token returned, prefixed. Never a secret or token.
 */
int credential_token(struct credential *c, const char *scope, const char **token_out);

/*
 * `c` as the token source every Azure client takes (azure/token.h): its
 * get() is credential_token. `c` is borrowed and must outlive the source;
 * NULL gives the empty source.
 */
struct token_source credential_token_source(struct credential *c);

void credential_free(struct credential *c);

/*
 * Whether a service's answer refuses the bearer token as expired, though we
 * thought it had time left (a clock skewed against Azure's, a token revoked
 * early): 401 with ARM's error.code ExpiredAuthenticationToken (ARM, Azure
 * ML, MLflow); 401/403 with Storage's InvalidAuthenticationInfo "Lifetime
 * validation failed"; or RFC 6750's WWW-Authenticate error="invalid_token"
 * naming expiry. Every client answers it the same way, once per request:
 * credential_token_refused(token), then a new token from its token
 * source, then the request again; a second refusal is the error.
 */
int credential_refused_as_expired(const struct http_response *r);

/*
 * Notes that a service refused `token` (the bearer string that was sent):
 * the next credential_token for the scope that holds it signs in again
 * instead of answering from the cache. Process-wide, like log_secret: a
 * token source (azure/token.h) carries no more than a scope, so this is
 * how a client reaches the credential behind it.
 * Only a SHA-256 of the token is kept.
 */
void credential_token_refused(const char *token);

/* "client secret", "certificate", "GitHub OIDC federation", "managed identity". */
const char *credential_kind_name(enum credential_kind kind);

/*
 * Replaces the clock (default time(NULL)) that token lifetimes and
 * assertion times are computed from: for tests, and to make long runs
 * reproducible. NULL restores time().
 */
void credential_set_clock(struct credential *c, time_t (*now)(void));

/* ---- Pure builders, exposed for tests ---- */

/* <authority>/<tenant>/oauth2/v2.0/token (a trailing '/' on authority is dropped). */
void credential_token_url(struct buf *out, const char *authority, const char *tenant_id);

/*
 * The form body of a client-credentials token request: grant_type,
 * client_id, scope, then client_secret when it is not NULL, else
 * client_assertion_type (jwt-bearer) and client_assertion. Values are
 * form-encoded. The body holds a secret: buf_wipe it.
 */
void credential_token_form(struct buf *out, const char *client_id, const char *scope,
			   const char *client_secret, const char *client_assertion);

/*
 * The certificate client assertion: header {alg, typ: JWT, x5t or
 * x5t#S256}, claims aud = <token url>, iss = sub = client_id, jti = a new
 * UUID, nbf = iat = issued_at, exp = expires_at. Times are explicit so a
 * test can make an expired one. Returns 0 (or jwt_sign's error).
 */
int credential_assertion(struct buf *out, const struct jwt_key *key, enum jwt_alg alg,
			 const char *authority, const char *tenant_id, const char *client_id,
			 time_t issued_at, time_t expires_at);

/*
 * The managed identity token URL for `scope` (its "/.default" suffix
 * dropped, as the endpoints want a resource): `endpoint` (NULL for IMDS)
 * with resource=, api-version= (2019-08-01, or 2018-02-01 for IMDS) and
 * client_id= when not NULL.
 */
void credential_mi_url(struct buf *out, const char *endpoint, const char *scope,
		       const char *client_id);

/*
 * The seconds before expiry at which a token of `lifetime` seconds is
 * renewed: min(300, lifetime / 10).
 */
long credential_refresh_margin(long lifetime);

#endif
