#ifndef AZURE_CREDENTIAL_INTERNAL_H
#define AZURE_CREDENTIAL_INTERNAL_H

#include <stddef.h>
#include <time.h>

#include "azure/credential.h"
#include "core/buf.h"

/*
 * What the pieces of the credential share, for src/azure/credential*.c
 * only: credential.c (the object, its cache and renewal, refused tokens),
 * credential_flows.c (the token request of each sign-in mode) and
 * credential_config.c (the checks of a config, AZURE_CREDENTIALS, clouds).
 */

#define INPUT_CAP 2048     /* of an id, URL or scope */

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

/* credential.c */

/* Wipes and frees a malloc'd string that held a secret (NULL is fine). */
void credential_free_secret_string(char *s);

/* credential_config.c */

/*
 * Checks `cfg` before any network call: the ids, the mode's own fields,
 * then `authority` (cfg's or the default). 0 or ERR_INPUT naming the input.
 */
int credential_check_config(const struct credential_config *cfg, const char *authority);

/* credential_flows.c */

/* The length of `s` without its trailing '/'s. */
size_t credential_trimmed_len(const char *s);
/* A new token for `scope` from Entra: client secret, certificate or OIDC. */
int credential_entra_token(struct token_reply *out, struct credential *c, const char *scope);
/* A new token for `scope` from the managed identity endpoint. */
int credential_mi_token(struct token_reply *out, struct credential *c, const char *scope);

#endif
