#include <string.h>

#include <criterion/criterion.h>

#include "core/log.h"

static struct buf seen;
static int secrets_told;

static void line(enum log_level level, const char *text, void *ctx)
{
	(void)ctx;
	buf_addf(&seen, "%d:%s\n", (int)level, text);
}

static void secret(const char *s, void *ctx)
{
	(void)s;
	(void)ctx;
	secrets_told++;
}

static void setup(void)
{
	struct log_sink sink = { line, secret, NULL };

	buf_reset(&seen);
	secrets_told = 0;
	log_reset_secrets();
	log_set_sink(&sink);
}

TestSuite(log, .init = setup);

Test(log, masks_secrets_and_each_line_of_a_multiline_secret)
{
	log_secret("-----BEGIN KEY-----\nMIIEabcdef\n-----END KEY-----");
	log_info("pem is -----BEGIN KEY-----\nMIIEabcdef\n-----END KEY-----!");
	log_info("just MIIEabcdef here");
	cr_assert_eq(secrets_told, 1);
	cr_assert_str_eq(seen.data, "1:pem is ***!\n1:just *** here\n");
}

Test(log, longest_secret_wins)
{
	log_secret("abcd");
	log_secret("abcdefgh");
	log_info("x abcdefgh y abcd");
	cr_assert_str_eq(seen.data, "1:x *** y ***\n");
}

Test(log, debug_only_when_enabled)
{
	log_set_debug(0);
	log_debug("no");
	log_set_debug(1);
	log_debug("yes");
	log_set_debug(0);
	cr_assert_str_eq(seen.data, "0:yes\n");
}
