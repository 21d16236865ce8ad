#ifndef AZURE_TOKEN_H
#define AZURE_TOKEN_H

#include "core/error.h"

/*
 * The one way an Azure client is given bearer tokens: a source it asks for
 * a token for a scope, every time it sends a request, so the credential
 * behind it can renew as it sees fit. The ARM, Azure ML, MLflow and blob
 * clients all take one; credential_token_source (azure/credential.h) makes
 * it from a sign-in, a test makes its own.
 *
 * get() sets *token_out to a token for `scope` (borrowed until the next
 * call on the same source) and returns 0, or a negative code with the
 * message set. `ctx` is borrowed and passed back as it is.
 */
struct token_source {
	int (*get)(void *ctx, const char *scope, const char **token_out);
	void *ctx;
};

/* An empty source: a client with one refuses bearer requests (ERR_AUTH). */
#define TOKEN_SOURCE_NONE ((struct token_source){ NULL, NULL })

/* The scopes asked for, each named once (docs/azure-contract.md sections 1-4). */
#define AZURE_SCOPE_STORAGE "https://storage.azure.com/.default"
/* Public Azure's Resource Manager; a sovereign cloud's is <its endpoint>/.default. */
#define AZURE_ARM_ENDPOINT "https://management.azure.com"
#define AZURE_SCOPE_ARM AZURE_ARM_ENDPOINT "/.default"

/* Whether `s` can give tokens at all. */
static inline int token_source_ready(const struct token_source *s)
{
	return s && s->get;
}

/*
 * A token for `scope` from `s`: ERR_AUTH naming the scope when the source
 * is empty (no sign-in was given to the client), else whatever get()
 * returns (*token_out is set to NULL first).
 */
static inline int token_source_get(const struct token_source *s, const char *scope,
				   const char **token_out)
{
	*token_out = NULL;
	if (!token_source_ready(s))
		return error_set(ERR_AUTH, "no Azure sign-in was given for a token for %s", scope);
	return s->get(s->ctx, scope, token_out);
}

#endif
