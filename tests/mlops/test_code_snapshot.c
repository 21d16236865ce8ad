#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/fs.h"
#include "mlops/code_snapshot.h"
#include "mlops/dataset.h"
#include "support/check.h"
#include "support/tmpdir.h"

static char root[] = "/tmp/code-snapshot-test-XXXXXX";
static char *code;

static void setup(void)
{
	tmpdir_make(root);
	code = xasprintf("%s/code", root);
	tmpdir_write(root, "code/train.py", "print('train')\n");
	tmpdir_write(root, "code/lib/util.py", "x = 1\n");
	/* actions/checkout leaves the token here */
	tmpdir_write(root, "code/.git/config", "[http]\n\textraheader = AUTHORIZATION: basic c2VjcmV0\n");
	tmpdir_write(root, "outside/secret.txt", "runner secret\n");
}

static void teardown(void)
{
	tmpdir_remove(root);
	free(code);
}

TestSuite(code_snapshot, .init = setup, .fini = teardown);

/* "a,b,c": the relative names listed, in order. */
static void listed(struct buf *out, const struct code_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++)
		buf_addf(out, "%s%s", i ? "," : "", s->files[i].rel);
}

static void expect_listed(const char *want)
{
	struct code_snapshot s = CODE_SNAPSHOT_INIT;
	struct buf got = BUF_INIT;

	cr_assert_ok(code_snapshot_scan(&s, code));
	listed(&got, &s);
	cr_assert_str_eq(got.data, want);
	code_snapshot_release(&s);
	buf_release(&got);
}

Test(code_snapshot, git_folder_holding_the_token_is_never_listed)
{
	tmpdir_write(root, "code/lib/.git/HEAD", "ref: refs/heads/main\n"); /* a submodule's too */
	expect_listed("lib/util.py,train.py");
}

Test(code_snapshot, amlignore_entries_are_left_out_and_win_over_gitignore)
{
	struct code_snapshot s = CODE_SNAPSHOT_INIT;

	tmpdir_write(root, "code/.amlignore", "# what Azure ML leaves out\nsecrets/\n*.log\n!keep.log\n");
	tmpdir_write(root, "code/.gitignore", "train.py\n"); /* not read: .amlignore wins */
	tmpdir_write(root, "code/secrets/token.txt", "t0ken\n");
	tmpdir_write(root, "code/run.log", "log\n");
	tmpdir_write(root, "code/keep.log", "kept\n");
	tmpdir_write(root, "code/lib/deep.log", "log\n");
	/* An ignore file below the root is a plain file, as for the CLI. */
	tmpdir_write(root, "code/lib/.amlignore", "util.py\n");
	cr_assert_ok(code_snapshot_scan(&s, code));
	cr_assert_str_eq(s.ignore_file, ".amlignore");
	cr_assert_eq(s.ignored, 3, "secrets/, run.log, lib/deep.log: %u", s.ignored);
	code_snapshot_release(&s);
	expect_listed(".amlignore,.gitignore,keep.log,lib/.amlignore,lib/util.py,train.py");
}

Test(code_snapshot, gitignore_entries_are_left_out_when_there_is_no_amlignore)
{
	tmpdir_write(root, "code/.gitignore", "/data/\n__pycache__/\n");
	tmpdir_write(root, "code/data/big.csv", "1,2\n");
	tmpdir_write(root, "code/lib/__pycache__/util.pyc", "\x01");
	tmpdir_write(root, "code/lib/data/small.csv", "3\n"); /* /data/ is anchored */
	expect_listed(".gitignore,lib/data/small.csv,lib/util.py,train.py");
}

Test(code_snapshot, editing_an_ignored_file_keeps_the_hash)
{
	struct code_snapshot a = CODE_SNAPSHOT_INIT, b = CODE_SNAPSHOT_INIT, c = CODE_SNAPSHOT_INIT;

	tmpdir_write(root, "code/.amlignore", "outputs/\n");
	tmpdir_write(root, "code/outputs/model.bin", "v1");
	cr_assert_ok(code_snapshot_scan(&a, code));
	tmpdir_write(root, "code/outputs/model.bin", "v2, larger");
	tmpdir_write(root, "code/outputs/new.bin", "new");
	tmpdir_write(root, "code/.git/config", "changed");
	cr_assert_ok(code_snapshot_scan(&b, code));
	cr_assert_str_eq(a.hash, b.hash);
	cr_assert_eq(a.size, b.size);
	tmpdir_write(root, "code/train.py", "print('changed')\n");
	cr_assert_ok(code_snapshot_scan(&c, code));
	cr_assert_str_neq(b.hash, c.hash);
	code_snapshot_release(&a);
	code_snapshot_release(&b);
	code_snapshot_release(&c);
}

/* A folder with nothing ignored keeps the version it had before ignore
 * files were read: the hash is dataset_hash's. */
Test(code_snapshot, hash_without_ignored_files_is_the_folder_hash)
{
	struct code_snapshot s = CODE_SNAPSHOT_INIT;
	struct buf hex = BUF_INIT;
	uint64_t size;
	unsigned files;

	cr_assert_ok(code_snapshot_scan(&s, code));
	cr_assert_ok(dataset_hash(&hex, &size, &files, code, 1));
	cr_assert_str_eq(s.hash, hex.data);
	cr_assert_eq(s.size, size);
	cr_assert_eq(s.nr, files);
	code_snapshot_release(&s);
	buf_release(&hex);
}

Test(code_snapshot, a_link_to_a_file_outside_is_refused)
{
	char *target = xasprintf("%s/outside/secret.txt", root);
	char *link = xasprintf("%s/lib/secret.txt", code);
	struct code_snapshot s = CODE_SNAPSHOT_INIT;

	cr_assert_eq(symlink(target, link), 0);
	cr_assert_fails(code_snapshot_scan(&s, code), ERR_INPUT,
			"lib/secret.txt: a symbolic link to outside the folder");
	cr_assert_eq(s.nr, 0);
	free(target);
	free(link);
}

Test(code_snapshot, a_link_that_stays_inside_is_followed)
{
	char *link = xasprintf("%s/main.py", code);

	cr_assert_eq(symlink("train.py", link), 0);
	expect_listed("lib/util.py,main.py,train.py");
	free(link);
}

Test(code_snapshot, an_ignore_file_leading_out_or_not_a_file_is_refused)
{
	struct code_snapshot s = CODE_SNAPSHOT_INIT;
	char *target = xasprintf("%s/outside/secret.txt", root);
	char *path = xasprintf("%s/.amlignore", code);

	cr_assert_eq(symlink(target, path), 0);
	cr_assert_fails(code_snapshot_scan(&s, code), ERR_INPUT,
			".amlignore: a symbolic link to outside the code folder");
	cr_assert_eq(unlink(path), 0);
	/* A FIFO would block the run in open(). */
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_fails(code_snapshot_scan(&s, code), ERR_INPUT, ".amlignore: not a regular file");
	free(target);
	free(path);
}
