#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/fs.h"
#include "support/check.h"
#include "support/tmpdir.h"

void tmpdir_make(char *template)
{
	cr_assert_not_null(mkdtemp(template));
}

void tmpdir_remove(const char *root)
{
	struct buf cmd = BUF_INIT;

	buf_addf(&cmd, "rm -rf '%s'", root);
	cr_assert_eq(system(cmd.data), 0);
	buf_release(&cmd);
}

void tmpdir_write(const char *root, const char *rel, const char *text)
{
	struct buf path = BUF_INIT;
	char *slash;

	buf_addf(&path, "%s/%s", root, rel);
	slash = strrchr(path.data, '/');
	*slash = '\0';
	cr_assert_ok(fs_mkdirs(path.data));
	*slash = '/';
	cr_assert_ok(fs_write_file(path.data, text, strlen(text)));
	buf_release(&path);
}
