#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/templates.h"
#include "support/check.h"
#include "support/json_check.h"
#include "support/tmpdir.h"

static char root[] = "/tmp/templates-test-XXXXXX";

static void setup(void)
{
	tmpdir_make(root);
	fs_set_workspace(root); /* the checkout: templates are repository files */
}

static void teardown(void)
{
	fs_set_workspace(NULL);
	tmpdir_remove(root);
}

TestSuite(templates, .init = setup, .fini = teardown);

#define TEMPLATE "{\"$schema\":\"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\"resources\":[]}"

Test(templates, pairs_templates_with_their_parameters_and_skips_parameter_files)
{
	const char *const patterns[] = { ".cloud/*.json", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;

	tmpdir_write(root, ".cloud/workspace.json", TEMPLATE);
	tmpdir_write(root, ".cloud/workspace.parameters.json", "{\"parameters\":{\"name\":{\"value\":\"mlw\"}}}");
	tmpdir_write(root, ".cloud/alerts.json", TEMPLATE);
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

	tmpdir_write(root, ".cloud/broken.json", "{\n  \"$schema\": \"x\",\n  \"resources\": [,]\n}\n");
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT, "broken.json:3:");
	cr_assert_eq(error_where()->line, 3);
}

/* A duplicated workspaceName deployed a whole second workspace (issue 12). */
Test(templates, a_key_given_twice_or_a_second_document_names_file_line_and_field)
{
	const char *const patterns[] = { ".cloud/*.json", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;

	tmpdir_write(root, ".cloud/ws.json", "{\"$schema\":\"s\",\"resources\":[],"
		     "\"parameters\":{\"workspaceName\":{\"type\":\"string\"}}}");
	tmpdir_write(root, ".cloud/ws.parameters.json", "{\n  \"parameters\": {\n"
		     "    \"workspaceName\": {\"value\": \"mlw-a\"},\n"
		     "    \"workspaceName\": {\"value\": \"mlw-b\"}\n  }\n}\n");
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT,
			"ws.parameters.json:4:5: parameters.workspaceName is given twice (first at line 3)");
	cr_assert_eq(error_where()->line, 4);
	tmpdir_write(root, ".cloud/ws.parameters.json", "{\"parameters\":{}}\n{\"parameters\":{}}\n");
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT,
			"ws.parameters.json:2:1: a second JSON value");
	tmpdir_write(root, ".cloud/ws.parameters.json", "{\"parameters\":{}}");
	tmpdir_write(root, ".cloud/ws.json", "{\"$schema\":\"s\",\"resources\":[{\"n\":1e999999}]}");
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT,
			"ws.json:1:34: resources[0].n: a number beyond the range of a double");
	tmpdir_write(root, ".cloud/ws.json", "{\"$schema\":\"s\",\"resources\":[{\"n\":\"\xC3\"}]}");
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT,
			"ws.json:1:35: byte 0xC3 is not valid UTF-8");
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

	tmpdir_write(root, ".cloud/notes.json", "{\"hello\":1}");
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT, "not an ARM template");
	tmpdir_write(root, ".cloud/notes.json", TEMPLATE);
	tmpdir_write(root, ".cloud/notes.parameters.json", "{\"p\":1}");
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT, "needs a \"parameters\" object");
}

#define TWO_TEMPLATES \
	tmpdir_write(root, ".cloud/a.json", "{\"$schema\":\"s\",\"resources\":[],\"parameters\":" \
		     "{\"nodes\":{\"type\":\"int\",\"defaultValue\":1},\"Name\":{\"type\":\"string\"}}}"); \
	tmpdir_write(root, ".cloud/a.parameters.json", "{\"parameters\":{\"Name\":{\"value\":\"from-file\"}}}"); \
	tmpdir_write(root, ".cloud/b.json", "{\"$schema\":\"s\",\"resources\":[],\"parameters\":" \
		     "{\"sku\":{\"type\":\"string\"}}}")

Test(templates, each_override_goes_to_the_templates_that_declare_it)
{
	const char *const patterns[] = { ".cloud/*.json", NULL };
	const char *const overrides[] = { "NODES=4", "sku=Standard_LRS", "name=over", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;
	cJSON *a = NULL, *b = NULL;

	TWO_TEMPLATES;
	cr_assert_ok(templates_find(&list, root, patterns));
	cr_assert_ok(templates_check_overrides(&list, overrides));
	cr_assert_ok(template_parameters(&a, &list.items[0], overrides));
	cr_assert_ok(template_parameters(&b, &list.items[1], overrides));
	/* Typed by the template (an int), names matched without case. */
	cr_assert_eq(json_find(a, "nodes.value")->valueint, 4);
	cr_assert(cJSON_IsNumber(json_find(a, "nodes.value")));
	cr_assert_str_eq(json_string_or(a, "Name.value", ""), "over");
	cr_assert_null(json_find(a, "sku"));
	cr_assert_str_eq(json_string_or(b, "sku.value", ""), "Standard_LRS");
	cr_assert_null(json_find(b, "nodes"));
	cJSON_Delete(a);
	cJSON_Delete(b);
	templates_release(&list);
}

Test(templates, an_override_no_template_declares_is_an_input_error)
{
	const char *const patterns[] = { ".cloud/*.json", NULL };
	const char *const overrides[] = { "sku=x", "colour=blue", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;

	TWO_TEMPLATES;
	cr_assert_ok(templates_find(&list, root, patterns));
	cr_assert_fails(templates_check_overrides(&list, overrides), ERR_INPUT,
			"no template declares 'colour'");
	templates_release(&list);
}

Test(templates, a_badly_typed_override_names_the_parameter)
{
	const char *const patterns[] = { ".cloud/*.json", NULL };
	const char *const overrides[] = { "nodes=many", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;
	cJSON *a = NULL;

	TWO_TEMPLATES;
	cr_assert_ok(templates_find(&list, root, patterns));
	cr_assert_fails(template_parameters(&a, &list.items[0], overrides), ERR_INPUT, "nodes");
	templates_release(&list);
}

/* Template outputs become step outputs: checked before anything is deployed. */
static int check_outputs_of(const char *a_outputs, const char *b_outputs)
{
	static const char *const reserved[] = { "deployment-names", "outputs", "datasets", NULL };
	const char *const patterns[] = { ".cloud/*.json", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;
	struct buf a = BUF_INIT, b = BUF_INIT;
	int ret;

	buf_addf(&a, "{\"$schema\":\"s\",\"resources\":[],\"outputs\":%s}", a_outputs);
	buf_addf(&b, "{\"$schema\":\"s\",\"resources\":[],\"outputs\":%s}", b_outputs);
	tmpdir_write(root, ".cloud/a.json", a.data);
	tmpdir_write(root, ".cloud/b.json", b.data);
	cr_assert_ok(templates_find(&list, root, patterns));
	ret = templates_check_outputs(&list, reserved);
	templates_release(&list);
	buf_release(&a);
	buf_release(&b);
	return ret;
}

Test(templates, outputs_with_plain_unique_names_pass)
{
	cr_assert_ok(check_outputs_of("{\"workspaceName\":{\"type\":\"string\",\"value\":\"x\"},"
				      "\"storage_id\":{\"type\":\"string\",\"value\":\"y\"}}",
				      "{\"computeName\":{\"type\":\"string\",\"value\":\"z\"}}"));
}

Test(templates, an_output_named_like_a_workflow_output_is_an_input_error)
{
	cr_assert_fails(check_outputs_of("{}", "{\"Datasets\":{\"type\":\"array\",\"value\":[]}}"),
			ERR_INPUT, "output 'Datasets' has the name of one of the workflow's own outputs");
	cr_assert(strstr(error_where()->file, "b.json"));
}

Test(templates, an_output_name_no_host_carries_is_an_input_error)
{
	cr_assert_fails(check_outputs_of("{\"storage.name\":{\"type\":\"string\",\"value\":\"x\"}}", "{}"),
			ERR_INPUT, "output 'storage.name' cannot be a step output");
	cr_assert_fails(check_outputs_of("{\"1st\":{\"type\":\"string\",\"value\":\"x\"}}", "{}"),
			ERR_INPUT, "output '1st'");
	cr_assert_fails(check_outputs_of("{\"a\\nb\":{\"type\":\"string\",\"value\":\"x\"}}", "{}"),
			ERR_INPUT, "cannot be a step output");
}

Test(templates, an_output_two_templates_declare_is_an_input_error)
{
	cr_assert_fails(check_outputs_of("{\"location\":{\"type\":\"string\",\"value\":\"x\"}}",
					 "{\"Location\":{\"type\":\"string\",\"value\":\"y\"}}"),
			ERR_INPUT, "output 'Location' is declared by");
}

Test(templates, secure_outputs_never_become_step_outputs_and_are_not_checked)
{
	cr_assert_ok(check_outputs_of("{\"datasets\":{\"type\":\"SecureString\",\"value\":\"x\"}}",
				      "{\"key.one\":{\"type\":\"secureObject\",\"value\":{}}}"));
}

Test(templates, outputs_that_are_not_an_object_are_an_input_error)
{
	cr_assert_fails(check_outputs_of("[]", "{}"), ERR_INPUT, "\"outputs\" must be an object");
}

/* A template or parameters file that is a link out of the checkout would
 * send a runner file to ARM (and quote it in a parse error): not read. */
Test(templates, a_template_or_parameters_file_linked_outside_the_workspace_is_not_read)
{
	const char *const patterns[] = { ".cloud/*.json", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;
	char outside[] = "/tmp/templates-outside-XXXXXX";
	char target[128], link[128];

	tmpdir_make(outside);
	tmpdir_write(outside, "t.json", TEMPLATE);
	tmpdir_write(outside, "p.json", "{\"parameters\":{\"key\":{\"value\":\"runner-secret\"}}}");
	tmpdir_write(root, ".cloud/main.json", TEMPLATE);
	snprintf(target, sizeof(target), "%s/p.json", outside);
	snprintf(link, sizeof(link), "%s/.cloud/main.parameters.json", root);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT, "outside the workspace");
	cr_assert(strstr(error_message(), "main.parameters.json"), "%s", error_message());
	templates_release(&list);
	cr_assert_eq(unlink(link), 0);
	snprintf(target, sizeof(target), "%s/t.json", outside);
	snprintf(link, sizeof(link), "%s/.cloud/runner.json", root);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_fails(templates_find(&list, root, patterns), ERR_INPUT, "outside the workspace");
	cr_assert(strstr(error_message(), "runner.json"), "%s", error_message());
	templates_release(&list);
	tmpdir_remove(outside);
}

/* ---- parameters: the file and the overrides, typed by the template ---- */

/* A template and its parameters file's "parameters" object (NULL: no file),
 * as templates_find leaves them; templates_release frees it. */
static void mem_template(struct template_list *list, const char *template, const char *parameters)
{
	struct arm_template *t = xcalloc(1, sizeof(*t));

	t->path = xstrdup("main.json");
	t->name = xstrdup("main");
	t->template = json_check_parse(template);
	if (parameters) {
		t->parameters_path = xstrdup("main.parameters.json");
		t->parameters = json_check_parse(parameters);
	}
	list->items = t;
	list->nr = 1;
}

static const char *typed_template =
	"{\"parameters\":{"
	"\"name\":{\"type\":\"string\"},\"count\":{\"type\":\"int\"},\"enabled\":{\"type\":\"bool\"},"
	"\"settings\":{\"type\":\"object\"},\"zones\":{\"type\":\"array\"},"
	"\"adminPassword\":{\"type\":\"securestring\"},\"connection\":{\"type\":\"secureObject\"},"
	"\"fromVault\":{\"type\":\"securestring\"}}}";

Test(templates, parameters_type_each_override_by_its_declared_type)
{
	const char *const overrides[] = {
		"name=my=name", "COUNT=-42", "enabled=TRUE", "settings={\"a\":[1,2]}", "zones=[\"1\",\"2\"]",
		"adminPassword=s3cret-pass", "connection={\"key\":\"obj-secret-1\"}", NULL,
	};
	struct template_list list = TEMPLATE_LIST_INIT;
	cJSON *out = NULL;

	mem_template(&list, typed_template, NULL);
	cr_assert_ok(template_parameters(&out, &list.items[0], overrides));
	json_check_text(out, ("{\"name\":{\"value\":\"my=name\"},\"count\":{\"value\":-42},"
			      "\"enabled\":{\"value\":true},\"settings\":{\"value\":{\"a\":[1,2]}},"
			      "\"zones\":{\"value\":[\"1\",\"2\"]},\"adminPassword\":{\"value\":\"s3cret-pass\"},"
			      "\"connection\":{\"value\":{\"key\":\"obj-secret-1\"}}}"));
	cJSON_Delete(out);
	templates_release(&list);
	log_reset_secrets();
}

Test(templates, parameters_put_overrides_over_the_parameters_file)
{
	const char *const overrides[] = { "name=from-input", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;
	cJSON *out = NULL;

	mem_template(&list, typed_template, "{\"Name\":{\"value\":\"from-file\"},\"count\":{\"value\":3},"
		     "\"fromVault\":{\"reference\":{\"keyVault\":{\"id\":\"/kv\"},\"secretName\":\"s\"}}}");
	cr_assert_ok(template_parameters(&out, &list.items[0], overrides));
	/* One key per parameter, in the template's spelling; references untouched. */
	json_check_text(out, ("{\"count\":{\"value\":3},\"fromVault\":{\"reference\":{\"keyVault\":"
			      "{\"id\":\"/kv\"},\"secretName\":\"s\"}},\"name\":{\"value\":\"from-input\"}}"));
	cJSON_Delete(out);
	templates_release(&list);
}

struct bad_override {
	const char *override;
	const char *needle;
};

Test(templates, parameters_reject_an_override_that_does_not_fit_the_template)
{
	static const struct bad_override cases[] = {
		{ "count=12abc", "parameter 'count' is an int; '12abc' is not a whole number" },
		{ "count=", "parameter 'count' is an int" },
		{ "count=99999999999999999999", "is not a whole number" },
		{ "enabled=yes", "parameter 'enabled' is a bool; 'yes' is not true or false" },
		{ "settings=[1]", "parameter 'settings' is of type object; the value given is not a JSON object" },
		{ "zones={", "parameter 'zones' is of type array" },
		/* Read as strictly as a file: ARM would take the last key or ignore nothing. */
		{ "settings={\"a\":1,\"a\":2}", "parameter 'settings' is of type object; the value given is not" },
		{ "zones=[1] [2]", "parameter 'zones' is of type array; the value given is not" },
		{ "connection=oops", "parameter 'connection' is of type secureObject" },
		{ "just-a-value", "is not name=value" },
		{ "=x", "is not name=value" },
	};
	struct template_list list = TEMPLATE_LIST_INIT;
	cJSON *out = NULL;
	size_t i;

	mem_template(&list, typed_template, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const overrides[] = { cases[i].override, NULL };

		cr_assert_fails(template_parameters(&out, &list.items[0], overrides), ERR_INPUT,
				cases[i].needle);
		cr_assert_null(out);
	}
	templates_release(&list);
	log_reset_secrets();
}

Test(templates, parameters_reject_an_undeclared_or_bare_parameter_in_the_file)
{
	struct template_list list = TEMPLATE_LIST_INIT, bare = TEMPLATE_LIST_INIT;
	cJSON *out = NULL;

	mem_template(&list, typed_template, "{\"sku\":{\"value\":\"S1\"}}");
	mem_template(&bare, typed_template, "{\"name\":\"bare\"}");
	cr_assert_fails(template_parameters(&out, &list.items[0], NULL), ERR_INPUT,
			"main.parameters.json: parameter 'sku' is not declared by the template "
			"(it declares: name, count,");
	cr_assert_fails(template_parameters(&out, &bare.items[0], NULL), ERR_INPUT,
			"main.parameters.json: parameter 'name' must be an object with a 'value'");
	templates_release(&list);
	templates_release(&bare);
}

/* Two spellings of one parameter in a file: ARM names ignore case, so one
 * of the two values would be deployed silently (issue 12). */
Test(templates, parameters_reject_a_parameter_given_twice_in_another_case)
{
	struct template_list list = TEMPLATE_LIST_INIT;
	cJSON *out = NULL;

	mem_template(&list, typed_template, "{\"name\":{\"value\":\"a\"},\"NAME\":{\"value\":\"b\"}}");
	cr_assert_fails(template_parameters(&out, &list.items[0], NULL), ERR_INPUT,
			"main.parameters.json: parameter 'NAME' is given twice (names ignore case)");
	cr_assert_null(out);
	templates_release(&list);
}

Test(templates, parameters_mask_secure_values)
{
	const char *const overrides[] = { "connection={\"key\":\"obj-secret-2\"}", "name=visible-name", NULL };
	struct template_list list = TEMPLATE_LIST_INIT;
	struct buf line = BUF_INIT;
	cJSON *out = NULL;

	log_reset_secrets();
	mem_template(&list, typed_template, "{\"adminPassword\":{\"value\":\"file-secret-9\"}}");
	cr_assert_ok(template_parameters(&out, &list.items[0], overrides));
	buf_addstr(&line, "file-secret-9 obj-secret-2 visible-name");
	log_mask(&line);
	cr_assert_str_eq(line.data, "*** *** visible-name");
	log_reset_secrets();
	buf_release(&line);
	cJSON_Delete(out);
	templates_release(&list);
}
