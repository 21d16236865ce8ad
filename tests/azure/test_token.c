#include <string.h>

#include <criterion/criterion.h>

#include "azure/token.h"
#include "support/check.h"

struct asked {
	const char *scope;
	int calls;
};

static int remember(void *ctx, const char *scope, const char **token_out)
{
	struct asked *a = ctx;

	a->scope = scope;
	a->calls++;
	*token_out = "tok";
	return 0;
}

static int refuse(void *ctx, const char *scope, const char **token_out)
{
	(void)ctx;
	(void)token_out;
	return error_set(ERR_NETWORK, "no answer for %s", scope);
}

Test(token, a_source_is_asked_with_its_context_and_the_scope)
{
	struct asked a = { NULL, 0 };
	struct token_source s = { remember, &a };
	const char *tok = NULL;

	cr_assert(token_source_ready(&s));
	cr_assert_ok(token_source_get(&s, AZURE_SCOPE_STORAGE, &tok));
	cr_assert_str_eq(tok, "tok");
	cr_assert_str_eq(a.scope, "https://storage.azure.com/.default");
	cr_assert_eq(a.calls, 1);
}

Test(token, an_empty_source_is_an_auth_error_naming_the_scope)
{
	struct token_source s = TOKEN_SOURCE_NONE;
	const char *tok = "stale";

	cr_assert_not(token_source_ready(&s));
	cr_assert_not(token_source_ready(NULL));
	cr_assert_fails(token_source_get(&s, AZURE_SCOPE_ARM, &tok), ERR_AUTH,
			"no Azure sign-in was given for a token for https://management.azure.com/.default");
	cr_assert_null(tok);
}

Test(token, a_sources_error_is_passed_on_as_it_is)
{
	struct token_source s = { refuse, NULL };
	const char *tok;

	cr_assert_fails(token_source_get(&s, AZURE_SCOPE_STORAGE, &tok), ERR_NETWORK,
			"no answer for https://storage.azure.com/.default");
}
