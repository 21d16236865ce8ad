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

/* ---- fs_walk: what a hostile repository can make an upload read ---- */

#include <stdio.h>
#include <unistd.h>

#include "core/encode.h"
#include "core/error.h"
#include "support/tmpdir.h"

static char root[] = "/tmp/test-fs-XXXXXX";

static void setup(void)
{
	tmpdir_make(root);
}

static void teardown(void)
{
	tmpdir_remove(root);
}

/* Every entry's rel, "d:" before directories, one per line. */
static int collect(const struct fs_entry *e, void *ctx)
{
	struct buf *seen = ctx;

	buf_addf(seen, "%s%s\n", e->is_dir ? "d:" : "", e->rel);
	return 0;
}

static int walk(struct buf *seen, const char *rel)
{
	struct buf dir = BUF_INIT;
	int ret;

	buf_addf(&dir, "%s/%s", root, rel);
	ret = fs_walk(dir.data, collect, seen);
	buf_release(&dir);
	return ret;
}

static void link_at(const char *target, const char *rel)
{
	struct buf path = BUF_INIT;

	buf_addf(&path, "%s/%s", root, rel);
	cr_assert_eq(symlink(target, path.data), 0, "symlink %s -> %s", path.data, target);
	buf_release(&path);
}

Test(fs, walk_refuses_a_link_to_a_runner_file, .init = setup, .fini = teardown)
{
	struct buf seen = BUF_INIT;

	tmpdir_write(root, "data/a.csv", "x\n");
	link_at("/etc/passwd", "data/shadow");
	cr_assert_eq(walk(&seen, "data"), ERR_INPUT);
	cr_assert(strstr(error_message(), "data/shadow"), "%s", error_message());
	cr_assert(strstr(error_message(), "outside"), "%s", error_message());
	buf_release(&seen);
}

Test(fs, walk_refuses_a_linked_folder_leading_out, .init = setup, .fini = teardown)
{
	struct buf seen = BUF_INIT;

	tmpdir_write(root, "data/a.csv", "x\n");
	tmpdir_write(root, "secret/key", "k\n");
	link_at("../secret", "data/more");
	cr_assert_eq(walk(&seen, "data"), ERR_INPUT);
	cr_assert(strstr(error_message(), "data/more"), "%s", error_message());
	cr_assert_null(strstr(seen.data, "key"), "%s", seen.data);
	buf_release(&seen);
}

Test(fs, walk_refuses_a_dangling_link, .init = setup, .fini = teardown)
{
	struct buf seen = BUF_INIT;

	tmpdir_write(root, "data/a.csv", "x\n");
	link_at("nowhere", "data/gone");
	cr_assert_eq(walk(&seen, "data"), ERR_INPUT);
	cr_assert(strstr(error_message(), "leads nowhere"), "%s", error_message());
	buf_release(&seen);
}

Test(fs, walk_follows_links_to_files_that_stay_inside, .init = setup, .fini = teardown)
{
	struct buf seen = BUF_INIT;

	tmpdir_write(root, "data/sub/a.csv", "x\n");
	link_at("sub/a.csv", "data/b.csv");
	cr_assert_eq(walk(&seen, "data"), 0, "%s", error_message());
	cr_assert_str_eq(seen.data, "b.csv\nd:sub\nsub/a.csv\n");
	buf_release(&seen);
}

Test(fs, walk_refuses_a_link_to_a_folder_inside, .init = setup, .fini = teardown)
{
	struct buf seen = BUF_INIT;

	tmpdir_write(root, "data/sub/a.csv", "x\n");
	link_at("sub", "data/twin");
	cr_assert_eq(walk(&seen, "data"), ERR_INPUT);
	cr_assert(strstr(error_message(), "data/twin"), "%s", error_message());
	cr_assert(strstr(error_message(), "a symbolic link to a folder"), "%s", error_message());
	buf_release(&seen);
}

Test(fs, walk_refuses_a_loop, .init = setup, .fini = teardown)
{
	struct buf seen = BUF_INIT;

	tmpdir_write(root, "data/sub/a.csv", "x\n");
	link_at("..", "data/sub/up");
	cr_assert_eq(walk(&seen, "data"), ERR_INPUT);
	cr_assert(strstr(error_message(), "data/sub/up"), "%s", error_message());
	buf_release(&seen);
}

/* Fourteen levels of two links to the next folder made 3^14 folders out
 * of 44 entries: the walk took hours. It ends at the first link now. */
Test(fs, walk_links_to_folders_cannot_fan_out, .init = setup, .fini = teardown, .timeout = 10)
{
	struct buf seen = BUF_INIT, dir = BUF_INIT;
	int i;

	buf_addstr(&dir, "code");
	tmpdir_write(root, "code/f.py", "x\n");
	for (i = 1; i <= 14; i++) {
		struct buf rel = BUF_INIT;

		buf_addf(&rel, "%s/n/f%d.py", dir.data, i);
		tmpdir_write(root, rel.data, "y\n");
		buf_reset(&rel);
		buf_addf(&rel, "%s/a", dir.data);
		link_at("n", rel.data);
		buf_reset(&rel);
		buf_addf(&rel, "%s/b", dir.data);
		link_at("n", rel.data);
		buf_addstr(&dir, "/n");
		buf_release(&rel);
	}
	cr_assert_eq(walk(&seen, "code"), ERR_INPUT);
	cr_assert(strstr(error_message(), "a symbolic link to a folder"), "%s", error_message());
	buf_release(&seen);
	buf_release(&dir);
}

Test(fs, walk_never_reports_git_folders, .init = setup, .fini = teardown)
{
	struct buf seen = BUF_INIT;

	tmpdir_write(root, "code/train.py", "print(1)\n");
	tmpdir_write(root, "code/.git/config", "[http] extraheader = AUTHORIZATION: basic x\n");
	tmpdir_write(root, "code/sub/.git", "gitdir: ../../.git/modules/sub\n");
	tmpdir_write(root, "code/.gitignore", "*.pyc\n");
	cr_assert_eq(walk(&seen, "code"), 0, "%s", error_message());
	cr_assert_str_eq(seen.data, ".gitignore\nd:sub\ntrain.py\n");
	buf_release(&seen);
}

/* A link is followed inside the root, but never into a .git there: a link
 * named like data would otherwise upload .git/config and its token. */
Test(fs, walk_refuses_a_link_into_a_git_folder, .init = setup, .fini = teardown)
{
	struct buf seen = BUF_INIT;

	tmpdir_write(root, "code/train.py", "print(1)\n");
	tmpdir_write(root, "code/.git/config", "[http] extraheader = AUTHORIZATION: basic x\n");
	link_at(".git", "code/g");
	cr_assert_eq(walk(&seen, "code"), ERR_INPUT);
	cr_assert(strstr(error_message(), "code/g"), "%s", error_message());
	cr_assert(strstr(error_message(), "into .git"), "%s", error_message());
	cr_assert_null(strstr(seen.data, "config"), "%s", seen.data);
	buf_reset(&seen);
	tmpdir_write(root, "code2/train.py", "print(1)\n");
	tmpdir_write(root, "code2/.git/config", "token\n");
	link_at(".git/config", "code2/notes.txt");
	cr_assert_eq(walk(&seen, "code2"), ERR_INPUT);
	cr_assert(strstr(error_message(), "into .git"), "%s", error_message());
	buf_release(&seen);
}

static int skip_sub(const struct fs_entry *e, void *ctx)
{
	collect(e, ctx);
	return e->is_dir && !strcmp(e->rel, "sub") ? FS_WALK_SKIP : 0;
}

Test(fs, walk_skip_leaves_out_a_folders_contents, .init = setup, .fini = teardown)
{
	struct buf seen = BUF_INIT, dir = BUF_INIT;

	tmpdir_write(root, "code/sub/a.py", "x\n");
	tmpdir_write(root, "code/z.py", "x\n");
	buf_addf(&dir, "%s/code", root);
	cr_assert_eq(fs_walk(dir.data, skip_sub, &seen), 0, "%s", error_message());
	cr_assert_str_eq(seen.data, "d:sub\nz.py\n");
	buf_release(&seen);
	buf_release(&dir);
}

Test(fs, resolves_inside_follows_links_and_refuses_the_way_out, .init = setup, .fini = teardown)
{
	struct buf ws = BUF_INIT, p = BUF_INIT;

	tmpdir_write(root, "repo/env/conda.yml", "name: x\n");
	link_at("/etc/hostname", "repo/env/host.yml");
	link_at("conda.yml", "repo/env/same.yml");
	buf_addf(&ws, "%s/repo", root);
	fs_set_workspace(ws.data);
	buf_addf(&p, "%s/repo/env/conda.yml", root);
	cr_assert(fs_in_workspace(p.data));
	buf_reset(&p);
	buf_addf(&p, "%s/repo/env/same.yml", root);
	cr_assert(fs_in_workspace(p.data));
	buf_reset(&p);
	buf_addf(&p, "%s/repo/env/host.yml", root);
	cr_assert_not(fs_in_workspace(p.data));
	buf_reset(&p);
	buf_addf(&p, "%s/repo/env/../../repo2", root);
	cr_assert_not(fs_in_workspace(p.data));
	buf_reset(&p);
	buf_addf(&p, "%s/repo/env/missing.yml", root);
	cr_assert_not(fs_in_workspace(p.data));
	/* git's folder is not repository content, by name or through a link */
	tmpdir_write(root, "repo/.git/config", "token\n");
	link_at("../.git/config", "repo/env/git.yml");
	buf_reset(&p);
	buf_addf(&p, "%s/repo/.git", root);
	cr_assert_not(fs_in_workspace(p.data));
	buf_reset(&p);
	buf_addf(&p, "%s/repo/.git/config", root);
	cr_assert_not(fs_in_workspace(p.data));
	buf_reset(&p);
	buf_addf(&p, "%s/repo/env/git.yml", root);
	cr_assert_not(fs_in_workspace(p.data));
	cr_assert_not(fs_resolves_inside(p.data, ws.data));
	buf_reset(&p);
	buf_addf(&p, "%s/repo/.gitignore", root);
	tmpdir_write(root, "repo/.gitignore", "x\n");
	cr_assert(fs_in_workspace(p.data));
	fs_set_workspace(NULL);
	cr_assert_str_eq(fs_workspace(), ".");
	buf_release(&ws);
	buf_release(&p);
}

/* Whether `s` is one line of printable ASCII: nothing a log or terminal acts on. */
static int one_printable_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/*
 * A file name is repository content: a link named "evil\n::error::x" must
 * not end the log line and forge a workflow command, nor an ESC move the
 * terminal. The whole path is still shown (past EXCERPT_MAX), escaped.
 */
Test(fs, walk_errors_quote_hostile_names_on_one_printable_line, .init = setup, .fini = teardown)
{
	static const char *const cases[][3] = {
		{ "/etc/passwd", "evil\n::error::x", "outside the folder" },
		{ "nowhere", "gone\r##vso[task.complete]\x1b[2J", "leads nowhere" },
		{ ".", "loop\x7f\xff", "loop" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf seen = BUF_INIT, top = BUF_INIT, deep = BUF_INIT, rel = BUF_INIT,
			   want = BUF_INIT;

		buf_addf(&top, "data%zu", i);
		buf_addf(&deep, "%s/a-folder-name-long-enough-to-pass-the-excerpt-limit", top.data);
		buf_addf(&rel, "%s/a.csv", deep.data);
		tmpdir_write(root, rel.data, "x\n");
		buf_reset(&rel);
		buf_addf(&rel, "%s/%s", deep.data, cases[i][1]);
		link_at(cases[i][0], rel.data);
		cr_assert_eq(walk(&seen, top.data), ERR_INPUT, "%s", error_message());
		cr_assert(one_printable_line(error_message()), "%s", error_message());
		cr_assert(strstr(error_message(), cases[i][2]), "%s", error_message());
		buf_addf(&want, "%s/", deep.data);
		quote_path_add(&want, cases[i][1]);
		buf_addstr(&want, ": ");
		cr_assert(strstr(error_message(), want.data), "%s lacks %s", error_message(), want.data);
		buf_release(&seen);
		buf_release(&top);
		buf_release(&deep);
		buf_release(&rel);
		buf_release(&want);
	}
	cr_assert(strstr(error_message(), "loop\\x7f\\xff: "), "%s", error_message());
}
