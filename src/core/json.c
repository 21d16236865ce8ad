#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
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

/* ---- strict documents ---- */

struct strict {
	const char *text;
	size_t len, pos;
	const char *what, *file;
	struct buf path;   /* the field being read: "parameters.workspaceName" */
};

/* Line and column (in characters, not bytes) of byte `off`, from 1. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && *line < INT32_MAX && *col < INT32_MAX; i++) {
		if (text[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			++*col;
		}
	}
}

__attribute__((format(printf, 3, 4)))
static int strict_error(const struct strict *s, size_t off, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	int line, col, ret;

	line_col(s->text, off, &line, &col);
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (s->file)
		ret = error_set_at(ERR_INPUT, s->file, line, col, "%s:%d:%d: %s", s->what, line,
				   col, msg.data);
	else
		ret = error_set(ERR_INPUT, "%s:%d:%d: %s", s->what, line, col, msg.data);
	buf_release(&msg);
	return ret;
}

/* The length of the well-formed UTF-8 sequence at `p` (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2, cp = p[0] & 0x1Fu;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3, cp = p[0] & 0x0Fu;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4, cp = p[0] & 0x07u;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3Fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static int check_utf8(const struct strict *s)
{
	const unsigned char *t = (const unsigned char *)s->text;
	size_t n;

	for (size_t i = 0; i < s->len; i += n) {
		if (!t[i])
			return strict_error(s, i, "a NUL byte; JSON text holds none");
		if (!(n = utf8_len(t + i, s->len - i)))
			return strict_error(s, i, "byte 0x%02X is not valid UTF-8", t[i]);
	}
	return 0;
}

static void skip_ws(struct strict *s)
{
	while (s->pos < s->len && strchr(" \t\r\n", s->text[s->pos]) && s->text[s->pos])
		s->pos++;
}

static char peek(const struct strict *s)
{
	return s->pos < s->len ? s->text[s->pos] : '\0';
}

/* Where a message names the field: "the document" at the top. */
static const char *field(const struct strict *s)
{
	return s->path.len ? s->path.data : "the document";
}

static int expect(struct strict *s, char c)
{
	skip_ws(s);
	if (peek(s) != c)
		return strict_error(s, s->pos, "%s: expected '%c'", field(s), c);
	s->pos++;
	return 0;
}

/* Appends a key to the field path; the key is the file's text, so control
 * characters never reach a message (or a workflow command) and it is capped. */
static void path_key(struct buf *path, const char *key)
{
	size_t n = 0;

	if (path->len)
		buf_addch(path, '.');
	for (const char *k = key; *k && n < 200; k++, n++)
		buf_addch(path, (unsigned char)*k < 0x20 || *k == 0x7f ? '?' : *k);
	if (!*key)
		buf_addstr(path, "\"\"");
}

static void scan_string(struct strict *s)
{
	/* cJSON has accepted the document: the string is closed. */
	for (s->pos++; s->pos < s->len && s->text[s->pos] != '"'; s->pos++)
		if (s->text[s->pos] == '\\')
			s->pos++;
	s->pos++;
}

static size_t digits(struct strict *s)
{
	size_t start = s->pos;

	while (s->pos < s->len && s->text[s->pos] >= '0' && s->text[s->pos] <= '9')
		s->pos++;
	return s->pos - start;
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and finite. */
static int scan_number(struct strict *s, const cJSON *item)
{
	size_t start = s->pos;
	int ok = 1;

	if (peek(s) == '-')
		s->pos++;
	if (peek(s) == '0')
		s->pos++;
	else
		ok = digits(s) > 0;
	if (ok && peek(s) == '.') {
		s->pos++;
		ok = digits(s) > 0;
	}
	if (ok && (peek(s) == 'e' || peek(s) == 'E')) {
		s->pos++;
		if (peek(s) == '+' || peek(s) == '-')
			s->pos++;
		ok = digits(s) > 0;
	}
	if (ok && peek(s) && strchr("0123456789+-.eE", peek(s)))
		ok = 0;
	while (s->pos < s->len && strchr("0123456789+-.eE", s->text[s->pos]) && s->text[s->pos])
		s->pos++;
	/* The number itself is not quoted: it may sit inside a secret. */
	if (!ok)
		return strict_error(s, start, "%s: not a number as JSON writes them (no leading "
				    "zeros, digits on both sides of '.')", field(s));
	if (!isfinite(item->valuedouble))
		return strict_error(s, start, "%s: a number beyond the range of a double",
				    field(s));
	return 0;
}

struct key_at {
	const char *key;
	size_t at;
};

static int cmp_keys(const void *a, const void *b)
{
	const struct key_at *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : x->at < y->at ? -1 : x->at > y->at;
}

static int scan_value(struct strict *s, const cJSON *item);

/* Members in the text and in the tree are in the same order: the text
 * gives each key's place, the tree its decoded spelling. */
static int scan_object(struct strict *s, const cJSON *item)
{
	size_t base = s->path.len, nr = 0, i;
	struct key_at *keys = xcalloc((size_t)cJSON_GetArraySize(item) + 1, sizeof(*keys));
	const cJSON *child;
	int ret = 0;

	s->pos++;
	for (child = item->child; child && !ret; child = child->next) {
		if (child != item->child && (ret = expect(s, ',')))
			break;
		skip_ws(s);
		if (peek(s) != '"') {
			ret = strict_error(s, s->pos, "%s: unexpected character 0x%02X", field(s),
					   (unsigned char)peek(s));
			break;
		}
		keys[nr].key = child->string;
		keys[nr++].at = s->pos;
		scan_string(s);
		buf_setlen(&s->path, base);
		path_key(&s->path, child->string);
		if (!(ret = expect(s, ':')))
			ret = scan_value(s, child);
	}
	buf_setlen(&s->path, base);
	if (!ret)
		ret = expect(s, '}');
	qsort(keys, nr, sizeof(*keys), cmp_keys);
	for (i = 1; !ret && i < nr; i++) {
		int line, col;

		if (strcmp(keys[i - 1].key, keys[i].key))
			continue;
		line_col(s->text, keys[i - 1].at, &line, &col);
		path_key(&s->path, keys[i].key);
		ret = strict_error(s, keys[i].at, "%s is given twice (first at line %d); "
				   "remove one", s->path.data, line);
		buf_setlen(&s->path, base);
	}
	free(keys);
	return ret;
}

static int scan_array(struct strict *s, const cJSON *item)
{
	size_t base = s->path.len, i = 0;
	const cJSON *child;
	int ret = 0;

	s->pos++;
	for (child = item->child; child && !ret; child = child->next, i++) {
		if (child != item->child && (ret = expect(s, ',')))
			break;
		buf_setlen(&s->path, base);
		buf_addf(&s->path, "[%zu]", i);
		ret = scan_value(s, child);
	}
	buf_setlen(&s->path, base);
	return ret ? ret : expect(s, ']');
}

static int scan_value(struct strict *s, const cJSON *item)
{
	char c;

	skip_ws(s);
	c = peek(s);
	if (c == '{' && cJSON_IsObject(item))
		return scan_object(s, item);
	if (c == '[' && cJSON_IsArray(item))
		return scan_array(s, item);
	if (c == '"' && cJSON_IsString(item)) {
		scan_string(s);
		return 0;
	}
	if ((c == '-' || (c >= '0' && c <= '9')) && cJSON_IsNumber(item))
		return scan_number(s, item);
	if ((c == 't' && cJSON_IsTrue(item)) || (c == 'n' && cJSON_IsNull(item))) {
		s->pos += 4;
		return 0;
	}
	if (c == 'f' && cJSON_IsFalse(item)) {
		s->pos += 5;
		return 0;
	}
	/* Only what cJSON reads more loosely than RFC 8259 gets here
	 * (control characters as white space). */
	return strict_error(s, s->pos, "%s: unexpected character 0x%02X", field(s),
			    (unsigned char)c);
}

int json_parse_strict(cJSON **out, const char *text, size_t len, const char *what,
		      const char *file)
{
	struct strict s = { text, len, 0, what, file, BUF_INIT };
	const char *end = NULL;
	cJSON *root = NULL;
	int ret;

	*out = NULL;
	if ((ret = check_utf8(&s)))
		goto done;
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		ret = strict_error(&s, end && end >= text ? (size_t)(end - text) : 0, "invalid JSON");
		goto done;
	}
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		s.pos = 3;
	if ((ret = scan_value(&s, root)))
		goto done;
	skip_ws(&s);
	if (s.pos < len)
		ret = strict_error(&s, s.pos, strchr("{[\"-0123456789tfn", text[s.pos])
				   ? "a second JSON value after the document; a file holds one"
				   : "unexpected text after the JSON document");
done:
	buf_release(&s.path);
	if (ret)
		cJSON_Delete(root);
	else
		*out = root;
	return ret;
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

/* Out of memory aborts, as it does in buf (xmalloc). */
static void die_oom(void)
{
	fprintf(stderr, "fatal: out of memory handling JSON\n");
	abort();
}

/* cJSON answers NULL here only when an allocation failed. */
static cJSON *check(cJSON *item)
{
	if (!item)
		die_oom();
	return item;
}

void json_write(struct buf *out, const cJSON *item)
{
	char *text = cJSON_PrintUnformatted(item);

	if (!text)
		die_oom();
	buf_addstr(out, text);
	cJSON_free(text);
}

cJSON *json_new_object(void)
{
	return check(cJSON_CreateObject());
}

cJSON *json_duplicate(const cJSON *item)
{
	/* cJSON_Duplicate also answers NULL for a NULL item: that one is no failure. */
	return item ? check(cJSON_Duplicate(item, 1)) : NULL;
}

void json_add_copy(cJSON *parent, const char *key, const cJSON *item)
{
	/* With a parent and an item, it fails only when copying the key does. */
	if (!cJSON_AddItemToObject(parent, key, check(cJSON_Duplicate(item, 1))))
		die_oom();
}

cJSON *json_add_object(cJSON *parent, const char *key)
{
	return check(cJSON_AddObjectToObject(parent, key));
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
