#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/ignore.h"
#include "core/json.h"
#include "support/check.h"

/* Answers of git itself (tests/fixtures/ignore/generate.py). */
#define GIT_ANSWERS "tests/fixtures/ignore/git-check-ignore.json"

static void parse_str(struct ignore *ig, const char *text)
{
	ignore_parse(ig, text, strlen(text));
}

Test(ignore, every_answer_agrees_with_git_check_ignore)
{
	struct buf text = BUF_INIT, path = BUF_INIT;
	cJSON *doc = NULL;
	const cJSON *cases, *c, *p;
	size_t checked = 0;

	cr_assert_ok(fs_read_file(&text, GIT_ANSWERS, 1 << 20));
	cr_assert_ok(json_parse(&doc, text.data, text.len, GIT_ANSWERS));
	cr_assert_ok(json_get_array(&cases, doc, "cases"));
	cJSON_ArrayForEach(c, cases) {
		struct ignore ig = IGNORE_INIT;
		const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
		const char *rules = cJSON_GetObjectItem(c, "rules")->valuestring;

		parse_str(&ig, rules);
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(c, "paths")) {
			const char *rel = cJSON_GetArrayItem(p, 0)->valuestring;
			int want = cJSON_IsTrue(cJSON_GetArrayItem(p, 1));
			int want_line = cJSON_GetArrayItem(p, 2)->valueint, line = -1, got;
			int is_dir;

			buf_reset(&path);
			buf_addstr(&path, rel);
			is_dir = path.len && path.data[path.len - 1] == '/';
			if (is_dir)
				buf_setlen(&path, path.len - 1);
			got = ignore_excludes(&ig, path.data, is_dir, &line);
			cr_expect_eq(got, want, "%s: '%s' is %s by git, %s here", name, rel,
				     want ? "ignored" : "not ignored", got ? "ignored" : "not ignored");
			cr_expect_eq(line, want_line, "%s: '%s' decided by line %d for git, %d here",
				     name, rel, want_line, line);
			checked++;
		}
		ignore_release(&ig);
	}
	cr_assert_gt(checked, 200, "only %zu answers read", checked);
	cJSON_Delete(doc);
	buf_release(&text);
	buf_release(&path);
}

Test(ignore, match_judges_the_path_alone_so_a_walk_can_skip_folders)
{
	struct ignore ig = IGNORE_INIT;
	int line;

	parse_str(&ig, "logs/\n!logs/keep.txt\n*.tmp\n!a.tmp\n");
	cr_assert_eq(ignore_match(&ig, "logs", 1, &line), IGNORE_EXCLUDED);
	cr_assert_eq(line, 1);
	cr_assert_eq(ignore_match(&ig, "logs", 0, &line), IGNORE_UNMATCHED);
	cr_assert_eq(line, 0);
	/* Alone it is re-included; under its excluded folder it is not. */
	cr_assert_eq(ignore_match(&ig, "logs/keep.txt", 0, &line), IGNORE_INCLUDED);
	cr_assert_eq(line, 2);
	cr_assert(ignore_excludes(&ig, "logs/keep.txt", 0, &line));
	cr_assert_eq(line, 1);
	cr_assert_eq(ignore_match(&ig, "a.tmp", 0, NULL), IGNORE_INCLUDED);
	cr_assert_eq(ignore_match(&ig, "b.tmp", 0, NULL), IGNORE_EXCLUDED);
	ignore_release(&ig);
}

Test(ignore, rules_keep_their_line_numbers_and_release_cleanly)
{
	struct ignore ig = IGNORE_INIT;

	parse_str(&ig, "# c\n\n!/a/\nb\\ \n");
	cr_assert_eq(ig.nr, 2);
	cr_assert_str_eq(ig.rules[0].pattern, "a");
	cr_assert_eq(ig.rules[0].line, 3);
	cr_assert_str_eq(ig.rules[1].pattern, "b\\ ");
	cr_assert_eq(ig.rules[1].line, 4);
	ignore_release(&ig);
	cr_assert_eq(ig.nr, 0);
	ignore_release(&ig);
	ignore_release(NULL);
}

Test(ignore, a_nul_ends_its_line_only)
{
	struct ignore ig = IGNORE_INIT;
	static const char text[] = "abc\0def\nxyz\n";

	ignore_parse(&ig, text, sizeof(text) - 1);
	cr_assert_eq(ig.nr, 2);
	cr_assert(ignore_excludes(&ig, "abc", 0, NULL));
	cr_assert_not(ignore_excludes(&ig, "abcdef", 0, NULL));
	cr_assert(ignore_excludes(&ig, "xyz", 0, NULL));
	ignore_release(&ig);
}

/* The star backtracking is cut short: a hostile .gitignore cannot stall a
 * run with a pattern that would take exponential time. */
Test(ignore, many_stars_against_a_long_name_end_quickly, .timeout = 10)
{
	struct ignore ig = IGNORE_INIT;
	struct buf pat = BUF_INIT, name = BUF_INIT;
	clock_t start = clock();
	int i;

	for (i = 0; i < 40; i++)
		buf_addstr(&pat, "*a");
	buf_addstr(&pat, "*b\n");
	for (i = 0; i < 4000; i++)
		buf_addch(&name, 'a');
	for (i = 0; i < 40; i++)
		buf_addstr(&pat, "**/a");
	buf_addstr(&pat, "/**/b\n");
	parse_str(&ig, pat.data);
	cr_assert_not(ignore_excludes(&ig, name.data, 0, NULL));
	buf_reset(&name);
	for (i = 0; i < 300; i++)
		buf_addstr(&name, "a/");
	buf_addstr(&name, "c");
	cr_assert_not(ignore_excludes(&ig, name.data, 0, NULL));
	/* Found by fuzz/fuzz_ignore.c: nested "**" + "/" against many folders
	 * is cubic for backtracking (git too). */
	ignore_release(&ig);
	parse_str(&ig, "**/**/**/**/**x\n");
	buf_reset(&name);
	for (i = 0; i < 1000; i++)
		buf_addstr(&name, "a/");
	buf_addstr(&name, "b");
	cr_assert_not(ignore_match(&ig, name.data, 0, NULL));
	buf_addstr(&name, "x");
	cr_assert_eq(ignore_match(&ig, name.data, 0, NULL), IGNORE_EXCLUDED);
	cr_assert_lt((double)(clock() - start) / CLOCKS_PER_SEC, 2.0);
	ignore_release(&ig);
	buf_release(&pat);
	buf_release(&name);
}

Test(ignore, glob_without_pathname_lets_stars_cross_slashes)
{
	cr_assert(ignore_glob("a*c", "ab/c", 0));
	cr_assert_not(ignore_glob("a*c", "ab/c", 1));
	cr_assert(ignore_glob("a?c", "a/c", 0));
	cr_assert_not(ignore_glob("a?c", "a/c", 1));
	cr_assert(ignore_glob("a/**/c", "a/c", 1));
	cr_assert(ignore_glob("a\\*", "a*", 1));
	cr_assert_not(ignore_glob("a\\*", "ab", 1));
	cr_assert_not(ignore_glob("a\\", "a", 1));
}
