#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/fs.h"
#include "core/json.h"
#include "mlops/templates.h"
#include "support/check.h"

static char root[] = "/tmp/templates-test-XXXXXX";

static void put(const char *rel, const char *text)
{
	struct buf p = BUF_INIT;

	buf_addf(&p, "%s/.cloud", root);
	cr_assert_ok(fs_mkdirs(p.data));
	buf_reset(&p);
	buf_addf(&p, "%s/%s", root, rel);
	cr_assert_ok(fs_write_file(p.data, text, strlen(text)));
	buf_release(&p);
}

static void setup(void)
{
	cr_assert_not_null(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(templates, .init = setup, .fini = teardown);

#define TEMPLATE "{\"$schema\":\"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\"resources\":[]}"

Test(templates, pairs_templates_with_their_parameters_and_skips_parameter_files)
{
	const char *const patterns[] = { ".cloud/*.json", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;

	put(".cloud/workspace.json", TEMPLATE);
	put(".cloud/workspace.parameters.json", "{\"parameters\":{\"name\":{\"value\":\"mlw\"}}}");
	put(".cloud/alerts.json", TEMPLATE);
	cr_assert_ok(templates_find(&list, root, patterns));
	cr_assert_eq(list.nr, 2);
	cr_assert_str_eq(list.items[0].name, "alerts");
	cr_assert_null(list.items[0].parameters);
	cr_assert_str_eq(list.items[1].name, "workspace");
	cr_assert_str_eq(json_string_or(list.items[1].parameters, "name.value", ""), "mlw");
	templates_release(&list);
}

Test(templates, bad_json_names_line_and_column)
{
	const char *const patterns[] = { ".cloud/*.json", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;

	put(".cloud/broken.json", "{\n  \"$schema\": \"x\",\n  \"resources\": [,]\n}\n");
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT, "broken.json:3:");
	cr_assert_eq(error_where()->line, 3);
}

Test(templates, a_pattern_matching_nothing_is_an_input_error)
{
	const char *const patterns[] = { "infra/*.json", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;

	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT, "'infra/*.json' matches no file");
}

Test(templates, non_templates_and_bad_parameter_files_are_refused)
{
	const char *const patterns[] = { ".cloud/*.json", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;

	put(".cloud/notes.json", "{\"hello\":1}");
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT, "not an ARM template");
	put(".cloud/notes.json", TEMPLATE);
	put(".cloud/notes.parameters.json", "{\"p\":1}");
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT, "needs a \"parameters\" object");
}
