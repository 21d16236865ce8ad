#include <string.h>

#include <criterion/criterion.h>

#include "support/arm_stub.h"
#include "support/check.h"

static const struct http_options fast = {
	.max_attempts = 2, .retry_base_ms = 1, .retry_max_delay_ms = 2, .retry_budget_ms = 100,
};

static int fixed_token(void *ctx, const char *scope, const char **out)
{
	(void)ctx;
	/* ARM asks for "<resource>/.default", never a bare resource. */
	cr_assert(strstr(scope, "/.default") != NULL);
	*out = "test-token";
	return 0;
}

void arm_stub_start(struct arm_stub *f, const struct stub_reply *script, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->stub = stub_start(script, n);
	cr_assert_ok(http_client_new(&f->http, &fast));
	arm_init(&f->arm, f->http, (struct token_source){ fixed_token, NULL }, stub_url(f->stub), "sub-1");
	f->arm.poll_default_ms = 1;
}

void arm_stub_start_aml(struct arm_stub *f, const struct stub_reply *script, size_t n,
			const char *workspace)
{
	arm_stub_start(f, script, n);
	cr_assert_ok(aml_init(&f->aml, &f->arm, "rg", workspace));
}

void arm_stub_stop(struct arm_stub *f)
{
	aml_release(&f->aml);
	arm_release(&f->arm);
	http_client_free(f->http);
	stub_stop(f->stub);
}
