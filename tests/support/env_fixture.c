#include <string.h>

#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/fs.h"
#include "support/check.h"
#include "support/env_fixture.h"
#include "support/tmpdir.h"

const char *const env_base_yml =
	"name: train\nversion: \"1\"\nimage: " ENV_IMAGE "\nconda_file: conda.yml\n";
const char *const env_base_conda =
	"name: train\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip\n"
	"  - pip:\n      - mlflow==2.12.2\n      - pandas==2.2.2\n";

static char root[] = "/tmp/environment-test-XXXXXX";

void env_fixture_setup(void)
{
	tmpdir_make(root);
	fs_set_workspace("/");
}

void env_fixture_teardown(void)
{
	fs_set_workspace(NULL);
	tmpdir_remove(root);
}

const char *env_fixture_root(void)
{
	return root;
}

void env_fixture_load(struct environment *env, const char *dir, const char *yml, const char *conda)
{
	struct buf rel = BUF_INIT, path = BUF_INIT;

	buf_addf(&rel, "%s/environment.yml", dir);
	tmpdir_write(root, rel.data, yml);
	if (conda) {
		buf_reset(&rel);
		buf_addf(&rel, "%s/conda.yml", dir);
		tmpdir_write(root, rel.data, conda);
	}
	buf_addf(&path, "%s/%s", root, dir);
	cr_assert_ok(environment_load(env, path.data, ENV_VERSIONING_DECLARED));
	buf_release(&rel);
	buf_release(&path);
}

struct env_registered env_fixture_registered(const char *version, const char *conda_text)
{
	struct env_registered r = { version, ENV_IMAGE, conda_text, NULL, "Linux", 0 };

	return r;
}

/* NULL matches NULL only; a string matches an equal string. */
static int same_side(const char *have, const char *want)
{
	return want ? have && !strcmp(have, want) : !have;
}

const struct env_change *env_fixture_find_change(const struct env_diff *d, const char *fieldname,
						 const char *before, const char *after)
{
	size_t i;

	for (i = 0; i < d->nr; i++)
		if (!strcmp(d->items[i].field, fieldname) && same_side(d->items[i].before, before) &&
		    same_side(d->items[i].after, after))
			return &d->items[i];
	return NULL;
}
