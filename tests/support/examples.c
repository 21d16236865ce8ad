#include <stdio.h>

#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/json.h"
#include "support/check.h"
#include "support/examples.h"

#define EXAMPLES_DIR "../shared/azure-examples"
#define EXAMPLE_CAP (4u << 20)

cJSON *example_load(const char *set, const char *name)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	cJSON *json = NULL;

	buf_addf(&path, EXAMPLES_DIR "/%s/%s", set, name);
	if (!fs_is_file(path.data)) {
		char shown[512];

		/* cr_skip_test does not return: free the path first. */
		snprintf(shown, sizeof(shown), "%s", path.data);
		buf_release(&path);
		cr_skip_test("official example %s is not available", shown);
	}
	cr_assert_ok(fs_read_file(&text, path.data, EXAMPLE_CAP));
	cr_assert_ok(json_parse(&json, text.data, text.len, path.data));
	buf_release(&path);
	buf_release(&text);
	return json;
}
