#include <string.h>

#include <criterion/criterion.h>

#include "core/buf.h"

Test(buf, starts_empty_and_never_null)
{
	struct buf b = BUF_INIT;

	cr_assert_not_null(b.data);
	cr_assert_str_eq(b.data, "");
	buf_release(&b);
	cr_assert_str_eq(b.data, "");
}

Test(buf, appends_text_binary_and_formats)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, "abc");
	buf_add(&b, "\0x", 2);
	buf_addf(&b, "%d-%s", 42, "z");
	cr_assert_eq(b.len, 3 + 2 + 4);
	cr_assert(!memcmp(b.data, "abc\0x42-z", 9));
	cr_assert_eq(b.data[b.len], '\0');
	buf_release(&b);
}

Test(buf, grows_past_many_doublings)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < 100000; i++)
		buf_addch(&b, (char)('a' + i % 26));
	cr_assert_eq(b.len, 100000);
	cr_assert_eq(b.data[99999], 'a' + 99999 % 26);
	buf_release(&b);
}

Test(buf, trims_both_ends)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, " \t\n value with spaces \r\n");
	buf_trim(&b);
	cr_assert_str_eq(b.data, "value with spaces");
	buf_reset(&b);
	buf_addstr(&b, "   ");
	buf_trim(&b);
	cr_assert_str_eq(b.data, "");
	buf_release(&b);
}

Test(buf, detach_hands_over_an_allocated_string)
{
	struct buf b = BUF_INIT;
	size_t len;
	char *s;

	s = buf_detach(&b, &len);
	cr_assert_str_eq(s, "");
	cr_assert_eq(len, 0);
	free(s);
	buf_addstr(&b, "kept");
	s = buf_detach(&b, &len);
	cr_assert_str_eq(s, "kept");
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(b.data, "");
	free(s);
}

Test(buf, table_find_matches_a_cut_word_exactly)
{
	static const char *const table[] = { "--pre", "--pre-release", "-r", NULL };
	const char *line = "--pre-release x";

	cr_assert_str_eq(str_table_find(table, line, 13), "--pre-release");
	cr_assert_str_eq(str_table_find(table, line, 5), "--pre");
	cr_assert_null(str_table_find(table, line, 4));
	cr_assert_null(str_table_find(table, "-r", 0));
	cr_assert_str_eq(str_table_find(table, "-rx", 2), "-r");
}
