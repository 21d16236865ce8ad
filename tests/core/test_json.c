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
