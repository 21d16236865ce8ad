#ifndef TESTS_JSON_CHECK_H
#define TESTS_JSON_CHECK_H

#include <cjson/cJSON.h>

/*
 * JSON in assertions. Each helper fails the test on a mismatch, printing
 * both sides as compact JSON.
 */

/* `text` parsed; the caller frees it (cJSON_Delete). */
cJSON *json_check_parse(const char *text);
/* `got` equals `want`, member order aside. */
void json_check_eq(const cJSON *got, const cJSON *want);
/* `got` equals the JSON `want_text`. */
void json_check_text(const cJSON *got, const char *want_text);

#endif
