#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/json.h"
#include "support/check.h"
#include "support/examples.h"

#define EXAMPLES_DIR "../shared/azure-examples"
#define EXAMPLE_CAP (4u << 20)

static const char *examples_dir(void)
{
	const char *dir = getenv("MLOPS_AZURE_EXAMPLES");

	return dir && *dir ? dir : EXAMPLES_DIR;
}

static int examples_required(void)
{
	const char *v = getenv("MLOPS_REQUIRE_EXAMPLES");

	return v && !strcmp(v, "1");
}

/* The folder as the reader should look for it: a relative one from here. */
static void where(char *out, size_t size, const char *dir)
{
	char cwd[4096];

	if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)))
		snprintf(out, size, "%s/%s", cwd, dir);
	else
		snprintf(out, size, "%s", dir);
}

/*
 * The examples folder is not there: skip, loudly, or fail when the run
 * requires the examples. Neither returns. Criterion shows a skip's reason
 * only with --verbose and leaves it out of its totals, hence the line on stderr.
 */
static void examples_absent(const char *dir)
{
	char shown[4200];

	where(shown, sizeof(shown), dir);
	if (examples_required())
		cr_assert_fail("MLOPS_REQUIRE_EXAMPLES=1 but the official Azure examples are "
			       "missing: no folder %s (set MLOPS_AZURE_EXAMPLES to their folder)",
			       shown);
	fprintf(stderr, "SKIPPED %s::%s: the official Azure examples are missing: no folder %s "
		"(set MLOPS_AZURE_EXAMPLES to their folder; MLOPS_REQUIRE_EXAMPLES=1 makes this "
		"a failure)\n", criterion_current_suite->name, criterion_current_test->name, shown);
	cr_skip_test("official Azure examples missing: no folder %s", shown);
}

cJSON *example_load(const char *set, const char *name)
{
	const char *dir = examples_dir();
	struct buf path = BUF_INIT, text = BUF_INIT;
	cJSON *json = NULL;

	if (!fs_is_dir(dir))
		examples_absent(dir);
	buf_addf(&path, "%s/%s/%s", dir, set, name);
	if (!fs_is_file(path.data)) {
		char shown[512];

		/* cr_assert_fail does not return: free the path first. */
		snprintf(shown, sizeof(shown), "%s", path.data);
		buf_release(&path);
		cr_assert_fail("official example %s is not in the examples folder", shown);
	}
	cr_assert_ok(fs_read_file(&text, path.data, EXAMPLE_CAP));
	cr_assert_ok(json_parse(&json, text.data, text.len, path.data));
	buf_release(&path);
	buf_release(&text);
	return json;
}
