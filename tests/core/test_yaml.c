#include <string.h>

#include <criterion/criterion.h>

#include "core/json.h"
#include "core/yaml.h"
#include "support/check.h"

static void load(struct yaml_doc *doc, const char *text)
{
	cr_assert_ok(yaml_load_string(doc, text, strlen(text), "env.yml"));
}

Test(yaml, maps_scalars_by_the_core_schema)
{
	struct yaml_doc doc = YAML_DOC_INIT;

	load(&doc, "name: train\nversion: 1.10\ncount: 3\nflag: true\nnothing: ~\n"
		   "quoted: \"42\"\nlist: [a, 2]\n");
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(doc.root, "name")));
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(doc.root, "count")));
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(doc.root, "flag")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(doc.root, "nothing")));
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(doc.root, "quoted")));
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc.root, "list")), 2);
	yaml_doc_release(&doc);
}

Test(yaml, text_getter_keeps_a_version_as_written)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	const char *v;

	load(&doc, "version: 1.10\n");
	cr_assert_ok(yaml_get_text(&doc, &v, doc.root, "version"));
	cr_assert_str_eq(v, "1.10");
	yaml_doc_release(&doc);
}

Test(yaml, remembers_lines_and_columns)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	int line, col;

	load(&doc, "name: x\nconda:\n  channels:\n    - conda-forge\n");
	cr_assert_ok(yaml_where(&doc, json_find(doc.root, "conda.channels[0]"), &line, &col));
	cr_assert_eq(line, 4);
	cr_assert_eq(col, 7);
	yaml_doc_release(&doc);
}

Test(yaml, missing_field_error_names_file_line_and_field)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	const char *v;

	load(&doc, "name: x\nbuild:\n  context: ./docker\n");
	cr_assert_fails(yaml_get_string(&doc, &v, doc.root, "build.dockerfile"), ERR_YAML,
			"env.yml:3:3: required field 'build.dockerfile' is missing");
	cr_assert_not_null(error_where());
	cr_assert_str_eq(error_where()->file, "env.yml");
	cr_assert_eq(error_where()->line, 3);
	yaml_doc_release(&doc);
}

Test(yaml, wrong_type_error_points_at_the_value)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	const char *v;

	load(&doc, "name:\n  - a\n");
	cr_assert_fails(yaml_get_string(&doc, &v, doc.root, "name"), ERR_YAML,
			"env.yml:2:3: field 'name' is an array, expected a string");
	yaml_doc_release(&doc);
}

Test(yaml, syntax_errors_carry_a_position)
{
	struct yaml_doc doc = YAML_DOC_INIT;

	cr_assert_fails(yaml_load_string(&doc, "a: [1, 2\nb: 3\n", 14, "bad.yml"), ERR_YAML, "bad.yml:");
	cr_assert_not_null(error_where());
	cr_assert_gt(error_where()->line, 0);
}

Test(yaml, duplicate_keys_are_errors)
{
	struct yaml_doc doc = YAML_DOC_INIT;

	cr_assert_fails(yaml_load_string(&doc, "a: 1\na: 2\n", 10, "d.yml"), ERR_YAML,
			"d.yml:2:1: duplicate key 'a'");
}

Test(yaml, aliases_expand_and_billion_laughs_is_refused)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	const char *bomb =
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";

	load(&doc, "base: &base {image: python}\nchild: *base\n");
	cr_assert_str_eq(json_string_or(doc.root, "child.image", ""), "python");
	yaml_doc_release(&doc);
	cr_assert_fails(yaml_load_string(&doc, bomb, strlen(bomb), "bomb.yml"), ERR_YAML, "nodes");
}

Test(yaml, empty_and_multi_document_files_are_errors)
{
	struct yaml_doc doc = YAML_DOC_INIT;

	cr_assert_fails(yaml_load_string(&doc, "", 0, "e.yml"), ERR_YAML, "empty");
	cr_assert_fails(yaml_load_string(&doc, "a: 1\n---\nb: 2\n", 14, "m.yml"), ERR_YAML,
			"one YAML document");
}

Test(yaml, missing_file_is_not_found)
{
	struct yaml_doc doc = YAML_DOC_INIT;

	cr_assert_fails(yaml_load_file(&doc, "/nonexistent/x.yml"), ERR_NOT_FOUND, "/nonexistent/x.yml");
}

Test(yaml, invalid_utf8_is_reported_at_its_own_line_and_column)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	const char *latin1 = "name: ok\nversion: 1\ndescription: caf\xe9 au lait\n";
	const char *stray = "name: ok\n\nversion: \xff" "1\n";

	cr_assert_fails(yaml_load_string(&doc, stray, strlen(stray), "u.yml"), ERR_YAML,
			"u.yml:3:10: invalid leading UTF-8 octet (byte \\xff)");
	cr_assert_eq(error_where()->line, 3);
	cr_assert_eq(error_where()->column, 10);
	/* libyaml blames the octet that breaks the sequence: the space after caf\xe9. */
	cr_assert_fails(yaml_load_string(&doc, latin1, strlen(latin1), "l.yml"), ERR_YAML,
			"l.yml:3:18: invalid trailing UTF-8 octet");
}

Test(yaml, a_key_from_a_file_is_quoted_short_and_on_one_line)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	struct buf text = BUF_INIT;
	const char *secret = "root-password-hunter2-and-then-a-very-long-tail-that-goes-on-and-on";

	/* A quoted key may hold anything: a newline, a terminal escape, a secret. */
	buf_addf(&text, "\"%s\\n::error::owned\\e[2J\": 1\n\"%s\\n::error::owned\\e[2J\": 2\n", secret,
		 secret);
	cr_assert_fails(yaml_load_string(&doc, text.data, text.len, "k.yml"), ERR_YAML,
			"k.yml:2:1: duplicate key 'root-password");
	cr_assert_null(strchr(error_message(), '\n'), "%s", error_message());
	cr_assert_null(strchr(error_message(), '\x1b'), "%s", error_message());
	cr_assert_null(strstr(error_message(), "goes-on-and-on"), "%s", error_message());
	cr_assert_null(strstr(error_message(), "::error::"), "%s", error_message());
	buf_release(&text);

	cr_assert_fails(yaml_load_string(&doc, "a: *\"x\n", 7, "a.yml"), ERR_YAML, "a.yml:");
}

Test(yaml, known_keys_pass_and_the_first_unknown_one_is_named_at_its_value)
{
	static const char *const known[] = { "name", "build", NULL };
	static const char *const build_known[] = { "path", NULL };
	struct yaml_doc doc = YAML_DOC_INIT;

	load(&doc, "name: x\nbuild:\n  path: .\n  context: ./docker\ncolour: blue\nsize: 3\n");
	cr_assert_fails(yaml_check_keys(&doc, doc.root, NULL, known, "a test file"), ERR_INPUT,
			"env.yml:5:9: field 'colour': unknown in a test file (known: name, build)");
	cr_assert_eq(error_where()->line, 5);
	cr_assert_fails(yaml_check_keys(&doc, json_find(doc.root, "build"), "build", build_known, NULL),
			ERR_INPUT, "env.yml:4:12: field 'build.context': unknown (known: path)");
	cr_assert_str_eq(strstr(error_message(), "field"), "field 'build.context': unknown (known: path)");
	yaml_doc_release(&doc);

	load(&doc, "build: {path: .}\nname: x\n");
	cr_assert_ok(yaml_check_keys(&doc, doc.root, NULL, known, "a test file"));
	/* Not a mapping: no keys to refuse; the caller says what the node should be. */
	cr_assert_ok(yaml_check_keys(&doc, json_find(doc.root, "name"), "name", known, NULL));
	yaml_doc_release(&doc);
}

Test(yaml, an_unknown_key_is_quoted_as_an_excerpt)
{
	static const char *const known[] = { "name", NULL };
	struct yaml_doc doc = YAML_DOC_INIT;

	load(&doc, "\"token\\nghp_0123456789012345678901234567890123456789-tail\": 1\n");
	cr_assert_fails(yaml_check_keys(&doc, doc.root, NULL, known, NULL), ERR_INPUT,
			"env.yml:1:61: field 'token\\nghp_");
	cr_assert_null(strchr(error_message(), '\n'), "%s", error_message());
	cr_assert_null(strstr(error_message(), "-tail"), "%s", error_message());
	yaml_doc_release(&doc);
}

Test(yaml, a_checker_message_is_set_again_at_its_field)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	const cJSON *name;

	load(&doc, "kind: env\nname: Bad Name\n");
	name = cJSON_GetObjectItemCaseSensitive(doc.root, "name");
	error_set(ERR_INPUT, "%s", "names use letters, digits, '-' and '_'");
	cr_assert_fails(yaml_error_for_field(&doc, name, "name"), ERR_INPUT,
			"env.yml:2:7: field 'name': names use letters, digits, '-' and '_'");
	cr_assert_eq(error_where()->line, 2);
	yaml_doc_release(&doc);
}
