#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/json.h"
#include "support/check.h"

static cJSON *parse(const char *text)
{
	cJSON *root = NULL;

	cr_assert_ok(json_parse(&root, text, strlen(text), "test"));
	return root;
}

Test(json, getters_walk_dotted_paths_and_indexes)
{
	cJSON *root = parse("{\"properties\":{\"latestVersion\":\"3\",\"tags\":{\"stage\":\"production\"}},"
			    "\"value\":[{\"name\":\"a\"},{\"name\":\"b\"}]}");
	const char *s;

	cr_assert_ok(json_get_string(&s, root, "properties.latestVersion"));
	cr_assert_str_eq(s, "3");
	cr_assert_ok(json_get_string(&s, root, "properties.tags.stage"));
	cr_assert_str_eq(s, "production");
	cr_assert_ok(json_get_string(&s, root, "value[1].name"));
	cr_assert_str_eq(s, "b");
	cr_assert_null(json_find(root, "value[2].name"));
	cJSON_Delete(root);
}

Test(json, errors_name_the_path_and_the_types)
{
	cJSON *root = parse("{\"a\":{\"b\":42}}");
	const char *s;

	cr_assert_fails(json_get_string(&s, root, "a.b"), ERR_JSON, "'a.b' is a number, expected a string");
	cr_assert_fails(json_get_string(&s, root, "a.c"), ERR_NOT_FOUND, "'a.c' is missing");
	cJSON_Delete(root);
}

Test(json, int64_accepts_numbers_and_decimal_strings)
{
	cJSON *root = parse("{\"n\":12,\"s\":\"9007199254740993\",\"f\":1.5,\"bad\":\"12x\"}");
	int64_t v;

	cr_assert_ok(json_get_int64(&v, root, "n"));
	cr_assert_eq(v, 12);
	cr_assert_ok(json_get_int64(&v, root, "s"));
	cr_assert_eq(v, 9007199254740993LL);
	cr_assert_fails(json_get_int64(&v, root, "f"), ERR_JSON, "expected an integer");
	cr_assert_fails(json_get_int64(&v, root, "bad"), ERR_JSON, "expected an integer");
	cJSON_Delete(root);
}

Test(json, pick_prefers_the_first_spelling_present)
{
	cJSON *root = parse("{\"signedUploadUrl\":\"u\"}");

	cr_assert_str_eq(json_pick(root, "signed_upload_url", "signedUploadUrl"), "signedUploadUrl");
	cJSON_Delete(root);
}

Test(json, parse_error_says_where)
{
	cJSON *root = NULL;

	cr_assert_fails(json_parse(&root, "{\"a\":", 5, "reply"), ERR_JSON, "reply: invalid JSON");
	cr_assert_null(root);
}

/* ---- json_parse_strict: documents people write ---- */

struct strict_case {
	const char *text;
	const char *needle;   /* NULL: accepted */
};

static void check_strict(const struct strict_case *c)
{
	cJSON *root = NULL;
	int ret = json_parse_strict(&root, c->text, strlen(c->text), "t.json", NULL);

	if (!c->needle) {
		cr_assert_eq(ret, 0, "%s refused: %s", c->text, error_message());
		cr_assert_not_null(root);
	} else {
		cr_assert_eq(ret, ERR_INPUT, "%s: returned %d, wanted ERR_INPUT", c->text, ret);
		cr_assert_null(root);
		cr_assert(strstr(error_message(), c->needle), "%s: message '%s' lacks '%s'",
			  c->text, error_message(), c->needle);
	}
	cJSON_Delete(root);
}

Test(json, strict_refuses_a_key_given_twice_naming_field_and_both_lines)
{
	static const char text[] =
		"{\n"
		"  \"parameters\": {\n"
		"    \"workspaceName\": {\"value\": \"mlw-a\"},\n"
		"    \"location\": {\"value\": \"westeurope\"},\n"
		"    \"workspaceName\": {\"value\": \"mlw-b\"}\n"
		"  }\n"
		"}\n";
	cJSON *root = NULL;
	const struct error_location *at;

	cr_assert_fails(json_parse_strict(&root, text, strlen(text), "p.json", "p.json"), ERR_INPUT,
			"p.json:5:5: parameters.workspaceName is given twice (first at line 3)");
	cr_assert_null(root);
	at = error_where();
	cr_assert_not_null(at);
	cr_assert_str_eq(at->file, "p.json");
	cr_assert_eq(at->line, 5);
	cr_assert_eq(at->column, 5);
}

Test(json, strict_refuses_trailing_text_and_a_second_document)
{
	static const struct strict_case cases[] = {
		{ "{\"a\":1} x", "t.json:1:9: unexpected text after the JSON document" },
		{ "{\"a\":1}\n{\"a\":2}", "t.json:2:1: a second JSON value after the document" },
		{ "[1][2]", "t.json:1:4: a second JSON value" },
		{ "{\"a\":1}  \n\t\r\n", NULL },
		{ "\xEF\xBB\xBF{\"a\":1}", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_strict(&cases[i]);
}

Test(json, strict_refuses_duplicates_at_any_depth_but_not_across_objects)
{
	static const struct strict_case cases[] = {
		{ "{\"a\":1,\"a\":1}", "t.json:1:8: a is given twice (first at line 1)" },
		{ "{\"r\":[{\"n\":1},{\"n\":2,\"t\":{\"x\":1,\"y\":2,\"x\":3}}]}", "r[1].t.x is given twice" },
		/* The same key once escaped: the same key to every reader. */
		{ "{\"ab\":1,\"a\\u0062\":2}", "t.json:1:9: ab is given twice" },
		{ "{\"a\":{\"a\":1},\"b\":{\"a\":1}}", NULL },
		{ "{\"a\":1,\"A\":2}", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_strict(&cases[i]);
}

Test(json, strict_refuses_invalid_utf8_naming_line_and_column)
{
	static const struct strict_case cases[] = {
		{ "{\n \"a\": \"\xC3\x28\"}", "t.json:2:8: byte 0xC3 is not valid UTF-8" },
		{ "{\"a\": \"\xC0\xAF\"}", "byte 0xC0 is not valid UTF-8" },          /* overlong '/' */
		{ "{\"a\": \"\xED\xA0\x80\"}", "byte 0xED is not valid UTF-8" },      /* a surrogate */
		{ "{\"a\": \"\xF4\x90\x80\x80\"}", "byte 0xF4 is not valid UTF-8" },  /* above U+10FFFF */
		{ "{\"a\": \"\xFF\"}", "byte 0xFF" },
		{ "{\"a\": \"\xE2\x82\"}", "byte 0xE2" },                            /* cut short */
		{ "{\"\xC3\xA9t\xC3\xA9\": \"\xF0\x9F\x98\x80 \xE2\x82\xAC\"}", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_strict(&cases[i]);
}

Test(json, strict_refuses_numbers_beyond_a_double_or_not_written_as_json)
{
	static const struct strict_case cases[] = {
		{ "{\"p\":{\"n\":1e999999}}", "t.json:1:11: p.n: a number beyond the range of a double" },
		{ "[-1e999999]", "[0]: a number beyond the range" },
		{ "{\"n\":012}", "n: not a number as JSON writes them" },
		{ "{\"n\":1.}", "n: not a number" },
		{ "{\"n\":1e}", "t.json:1:7: invalid JSON" },
		{ "{\"n\":-0.5e-3, \"m\":1E+2, \"z\":0, \"t\":1e-999999}", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_strict(&cases[i]);
}

Test(json, strict_reports_syntax_errors_with_line_and_column)
{
	static const struct strict_case cases[] = {
		{ "{\n  \"a\": 1,\n  \"b\" 2\n}", "t.json:3:7: invalid JSON" },
		{ "", "invalid JSON" },
		{ "{\"a\":\f1}", "a: unexpected character 0x0C" },
		{ "{\f\"a\":1}", "t.json:1:2: the document: unexpected character 0x0C" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_strict(&cases[i]);
	{
		static const char nul[] = "{\"a\":\"x\0\"}";
		cJSON *root = NULL;

		cr_assert_fails(json_parse_strict(&root, nul, sizeof(nul) - 1, "t.json", NULL), ERR_INPUT,
				"t.json:1:8: a NUL byte");
	}
}

Test(json, strict_keeps_control_characters_of_a_key_out_of_the_message)
{
	static const char text[] = "{\"a\\n::error::x\":1,\"a\\n::error::x\":2}";
	cJSON *root = NULL;

	cr_assert_fails(json_parse_strict(&root, text, strlen(text), "t.json", NULL), ERR_INPUT,
			"a?::error::x is given twice");
	cr_assert_null(strchr(error_message(), '\n'));
}

Test(json, duplicate_is_a_deep_copy_the_caller_owns)
{
	cJSON *root = parse("{\"tags\":{\"stage\":\"production\"},\"n\":[1,2]}");
	cJSON *copy = json_duplicate(root);
	struct buf text = BUF_INIT;

	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "tags"),
						"stage");
	cJSON_Delete(root);
	json_write(&text, copy);
	cr_assert_str_eq(text.data, "{\"tags\":{\"stage\":\"production\"},\"n\":[1,2]}");
	cr_assert_null(json_duplicate(NULL));
	buf_release(&text);
	cJSON_Delete(copy);
}

Test(json, add_copy_leaves_the_original_with_its_owner)
{
	cJSON *tags = parse("{\"stage\":\"production\"}");
	cJSON *body = json_new_object();
	struct buf text = BUF_INIT;

	json_add_copy(body, "tags", tags);
	json_add_string(tags, "owner", "someone");
	json_write(&text, body);
	cr_assert_str_eq(text.data, "{\"tags\":{\"stage\":\"production\"}}");
	buf_release(&text);
	cJSON_Delete(body);
	cJSON_Delete(tags);
}

/* cJSON allocates through these hooks: `allocations_left` succeed, then
 * every one fails, as it would out of memory. */
static int allocations_left, allocations_made;
static cJSON *kept; /* reachable from here, so a checker sees no leak at the abort */

static void *scarce_malloc(size_t n)
{
	if (allocations_left-- <= 0)
		return NULL;
	allocations_made++;
	return malloc(n);
}

static void run_out_of_memory_after(int allocations)
{
	cJSON_Hooks hooks = { .malloc_fn = scarce_malloc, .free_fn = free };

	if (!kept)
		kept = parse("{\"stage\":\"production\"}");
	allocations_left = allocations;
	allocations_made = 0;
	cJSON_InitHooks(&hooks);
}

Test(json, duplicate_aborts_when_memory_runs_out, .signal = SIGABRT)
{
	run_out_of_memory_after(0);
	json_duplicate(kept);
}

Test(json, add_copy_aborts_when_the_key_cannot_be_copied, .signal = SIGABRT)
{
	cJSON *body = json_new_object();
	int for_the_item;

	/* Measure what a copy of the item takes, then allow exactly that:
	 * only the copy of the key is left to fail. */
	run_out_of_memory_after(1000);
	cJSON_Delete(json_duplicate(kept));
	for_the_item = allocations_made;
	run_out_of_memory_after(for_the_item);
	json_add_copy(body, "tags", kept);
}
