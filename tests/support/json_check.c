#include <string.h>

#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/json.h"
#include "support/check.h"
#include "support/json_check.h"

cJSON *json_check_parse(const char *text)
{
	cJSON *json = NULL;

	cr_assert_ok(json_parse(&json, text, strlen(text), "test JSON"));
	return json;
}

void json_check_eq(const cJSON *got, const cJSON *want)
{
	struct buf g = BUF_INIT, w = BUF_INIT;

	json_write(&g, got);
	json_write(&w, want);
	cr_assert(cJSON_Compare(got, want, 1), "got  %s\nwant %s", g.data, w.data);
	buf_release(&g);
	buf_release(&w);
}

void json_check_text(const cJSON *got, const char *want_text)
{
	cJSON *want = json_check_parse(want_text);

	json_check_eq(got, want);
	cJSON_Delete(want);
}
