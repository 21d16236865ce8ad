#include <string.h>

#include <criterion/criterion.h>

#include "core/fs.h"

static void check(const char *in, const char *want)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, in);
	fs_normalize(&b);
	cr_assert_str_eq(b.data, want, "normalize(%s)", in);
	buf_release(&b);
}

Test(fs, normalize_is_lexical_and_keeps_what_it_cannot_resolve)
{
	check("jobs/../training", "training");
	check("jobs/../training/", "training");
	check("./a/./b//c/", "a/b/c");
	check("a/b/../../c", "c");
	check("../x/../y", "../y");
	check("../../z", "../../z");
	check("a/..", ".");
	check(".", ".");
	check("/a/../../b", "/b");
	check("/", "/");
	check("//srv//data/", "/srv/data");
}
