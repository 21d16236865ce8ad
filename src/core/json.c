#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/banned.h"

int json_parse(cJSON **out, const char *text, size_t len, const char *what)
{
	const char *end = NULL;
	cJSON *root;

	*out = NULL;
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		size_t off = end ? (size_t)(end - text) : 0;
		return error_set(ERR_JSON, "%s: invalid JSON at byte %zu", what, off);
	}
	*out = root;
	return 0;
}

/* Walks one step of `path` from `*pos`; returns the child or NULL. */
static const cJSON *step(const cJSON *item, const char **pos)
{
	const char *p = *pos;
	char key[256];
	size_t n;

	if (*p == '[') {
		char *end;
		long idx = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end != ']' || idx < 0 || !cJSON_IsArray(item))
			return NULL;
		*pos = end + 1;
		if (**pos == '.')
			(*pos)++;
		return cJSON_GetArrayItem(item, (int)idx);
	}
	n = strcspn(p, ".[");
	if (n >= sizeof(key) || !cJSON_IsObject(item))
		return NULL;
	memcpy(key, p, n);
	key[n] = '\0';
	*pos = p + n;
	if (**pos == '.')
		(*pos)++;
	return cJSON_GetObjectItemCaseSensitive(item, key);
}

const cJSON *json_find(const cJSON *root, const char *path)
{
	const char *pos = path;
	const cJSON *item = root;

	while (item && *pos)
		item = step(item, &pos);
	return item;
}

const char *json_type_name(const cJSON *item)
{
	if (!item)
		return "missing";
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsBool(item))
		return "a boolean";
	if (cJSON_IsNull(item))
		return "null";
	if (cJSON_IsArray(item))
		return "an array";
	if (cJSON_IsObject(item))
		return "an object";
	return "invalid";
}

static int lookup(const cJSON **out, const cJSON *root, const char *path)
{
	*out = json_find(root, path);
	if (!*out)
		return error_set(ERR_NOT_FOUND, "field '%s' is missing", path);
	return 0;
}

static int wrong_type(const cJSON *item, const char *path, const char *want)
{
	return error_set(ERR_JSON, "field '%s' is %s, expected %s", path,
			 json_type_name(item), want);
}

int json_get_string(const char **out, const cJSON *root, const char *path)
{
	const cJSON *item;
	int ret = lookup(&item, root, path);

	if (ret)
		return ret;
	if (!cJSON_IsString(item))
		return wrong_type(item, path, "a string");
	*out = item->valuestring;
	return 0;
}

int json_get_int64(int64_t *out, const cJSON *root, const char *path)
{
	const cJSON *item;
	int ret = lookup(&item, root, path);

	if (ret)
		return ret;
	if (cJSON_IsNumber(item)) {
		double v = item->valuedouble;
		/* 2^53: beyond it a double no longer holds every integer. */
		if (v != floor(v) || fabs(v) > 9007199254740992.0)
			return wrong_type(item, path, "an integer");
		*out = (int64_t)v;
		return 0;
	}
	if (cJSON_IsString(item)) {
		const char *s = item->valuestring;
		char *end;
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (!*s || *end || errno == ERANGE)
			return error_set(ERR_JSON, "field '%s' is \"%.40s\", expected an integer",
					 path, s);
		*out = v;
		return 0;
	}
	return wrong_type(item, path, "an integer");
}

int json_get_bool(int *out, const cJSON *root, const char *path)
{
	const cJSON *item;
	int ret = lookup(&item, root, path);

	if (ret)
		return ret;
	if (!cJSON_IsBool(item))
		return wrong_type(item, path, "a boolean");
	*out = cJSON_IsTrue(item);
	return 0;
}

int json_get_object(const cJSON **out, const cJSON *root, const char *path)
{
	const cJSON *item;
	int ret = lookup(&item, root, path);

	if (ret)
		return ret;
	if (!cJSON_IsObject(item))
		return wrong_type(item, path, "an object");
	*out = item;
	return 0;
}

int json_get_array(const cJSON **out, const cJSON *root, const char *path)
{
	const cJSON *item;
	int ret = lookup(&item, root, path);

	if (ret)
		return ret;
	if (!cJSON_IsArray(item))
		return wrong_type(item, path, "an array");
	*out = item;
	return 0;
}

const char *json_pick(const cJSON *root, const char *a, const char *b)
{
	return json_find(root, a) ? a : b;
}

const char *json_string_or(const cJSON *root, const char *path, const char *fallback)
{
	const cJSON *item = json_find(root, path);

	return cJSON_IsString(item) ? item->valuestring : fallback;
}

void json_write(struct buf *out, const cJSON *item)
{
	char *text = cJSON_PrintUnformatted(item);

	if (!text)
		abort();
	buf_addstr(out, text);
	cJSON_free(text);
}

static cJSON *check(cJSON *item)
{
	if (!item)
		abort();
	return item;
}

cJSON *json_new_object(void)
{
	return check(cJSON_CreateObject());
}

cJSON *json_add_object(cJSON *parent, const char *key)
{
	return check(cJSON_AddObjectToObject(parent, key));
}

cJSON *json_add_array(cJSON *parent, const char *key)
{
	return check(cJSON_AddArrayToObject(parent, key));
}

void json_add_string(cJSON *parent, const char *key, const char *value)
{
	check(cJSON_AddStringToObject(parent, key, value));
}

void json_add_number(cJSON *parent, const char *key, double value)
{
	check(cJSON_AddNumberToObject(parent, key, value));
}

void json_add_bool(cJSON *parent, const char *key, int value)
{
	check(cJSON_AddBoolToObject(parent, key, value));
}
