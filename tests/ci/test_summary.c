#include <string.h>

#include <criterion/criterion.h>

#include "ci/summary.h"

Test(summary, escapes_html_and_table_cells)
{
	struct summary s;
	const char *head[] = { "name", "note" };
	const char *row[] = { "a|b", "<script>&\nnext" };

	summary_init(&s, SUMMARY_LIMIT);
	summary_heading(&s, 3, "Environments <2>");
	summary_table_begin(&s, head, 2);
	summary_table_row(&s, row, 2);
	summary_table_end(&s);
	cr_assert_str_eq(summary_finish(&s),
			 "### Environments &lt;2&gt;\n\n"
			 "| name | note |\n| --- | --- |\n"
			 "| a\\|b | &lt;script&gt;&amp;<br>next |\n\n");
	summary_release(&s);
}

Test(summary, code_fence_outgrows_backticks_inside)
{
	struct summary s;

	summary_init(&s, SUMMARY_LIMIT);
	summary_code(&s, "diff", "a ```` b");
	cr_assert_str_eq(summary_finish(&s), "`````diff\na ```` b\n`````\n\n");
	summary_release(&s);
}

Test(summary, details_wrap_content)
{
	struct summary s;

	summary_init(&s, SUMMARY_LIMIT);
	summary_details_begin(&s, "Log <tail>");
	summary_text(&s, "x");
	summary_details_end(&s);
	cr_assert_str_eq(summary_finish(&s),
			 "<details><summary>Log &lt;tail&gt;</summary>\n\nx\n\n</details>\n\n");
	summary_release(&s);
}

Test(summary, stays_under_its_limit_and_says_it_truncated)
{
	struct summary s;
	char line[1000];
	int i;

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	summary_init(&s, 10000);
	for (i = 0; i < 50; i++)
		summary_text(&s, line);
	summary_finish(&s);
	cr_assert_leq(s.text.len, 10000);
	cr_assert(strstr(s.text.data, "Summary truncated") != NULL);
	summary_release(&s);
}

Test(summary, a_full_megabyte_budget_holds_at_github_limit)
{
	struct summary s;
	char line[4096];
	int i;

	memset(line, 'y', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	summary_init(&s, SUMMARY_LIMIT);
	for (i = 0; i < 400; i++)
		summary_text(&s, line);
	summary_finish(&s);
	cr_assert_leq(s.text.len, 1048576);
	summary_release(&s);
}

/* A job's error message (the training script writes it) or an MLflow param
 * reached the summary as Markdown: a link or an image (a tracking pixel)
 * rendered on a page readers trust. Brackets are escaped, and so is the
 * backslash, so "\[" in the text cannot undo the escape. */
Test(summary, outside_text_forms_no_link_or_image)
{
	struct summary s;
	struct buf line = BUF_INIT;
	const char *head[] = { "param", "value" };
	const char *row[] = { "note", "![](https://tracker.invalid/p.gif) [approve](https://evil.invalid)" };

	summary_init(&s, SUMMARY_LIMIT);
	buf_addstr(&line, "**Failed**: ");
	summary_escape(&line, "job ended: boom\n\n[Re-run as admin](https://evil.invalid) \\[x](y)");
	summary_markdown(&s, line.data);
	summary_table_begin(&s, head, 2);
	summary_table_row(&s, row, 2);
	summary_table_end(&s);
	cr_assert_str_eq(summary_finish(&s),
			 "**Failed**: job ended: boom\n\n\\[Re-run as admin\\](https://evil.invalid) \\\\\\[x\\](y)\n\n"
			 "| param | value |\n| --- | --- |\n"
			 "| note | !\\[\\](https://tracker.invalid/p.gif) \\[approve\\](https://evil.invalid) |\n\n");
	summary_release(&s);
	buf_release(&line);
}

Test(summary, mermaid_label_keeps_no_byte_that_ends_it)
{
	struct buf b = BUF_INIT;

	summary_mermaid_label(&b, "churn-classifier:1 data/x_y.z");
	cr_assert_str_eq(b.data, "\"churn-classifier:1 data/x_y.z\"");
	buf_reset(&b);
	summary_mermaid_label(&b, "x\"] --> evil[\"```<b>\n#;");
	cr_assert_str_eq(b.data, "\"x#34;#93; --#62; evil#91;#34;#96;#96;#96;#60;b#62;#10;#35;#59;\"");
	buf_release(&b);
}

Test(summary, a_table_cut_short_says_how_many_rows_more)
{
	struct summary s;
	const char *head[] = { "a", "b" };

	summary_init(&s, SUMMARY_LIMIT);
	summary_table_begin(&s, head, 2);
	summary_table_more(&s, 42);
	summary_table_end(&s);
	cr_assert_str_eq(summary_finish(&s), "| a | b |\n| --- | --- |\n| ... 42 more |  |\n\n");
	summary_release(&s);
}
