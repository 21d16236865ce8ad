#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/buf.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/yaml.h"
#include "core/banned.h"

/* Bounds against hostile input: nesting depth and nodes after alias expansion. */
#define MAX_DEPTH 64
#define MAX_NODES 200000

struct yaml_mark {
	const cJSON *node;
	int line, column;
	char *text; /* scalars only */
};

struct anchor {
	char *name;
	const cJSON *node;
};

struct loader {
	yaml_parser_t parser;
	yaml_event_t event;
	struct yaml_doc *doc;
	const char *text; /* the input, for positions libyaml gives as offsets */
	size_t len;
	struct anchor *anchors;
	size_t nr_anchors;
	size_t nodes;
};

/* ---- the node -> mark table ---- */

static size_t slot_of(const struct yaml_doc *doc, const cJSON *node)
{
	uintptr_t h = (uintptr_t)node;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15u;
	return (size_t)(h >> 7) & (doc->alloc_marks - 1);
}

static void marks_put(struct yaml_doc *doc, const cJSON *node, int line,
		      int column, const char *text)
{
	size_t i;

	if ((doc->nr_marks + 1) * 2 > doc->alloc_marks) {
		struct yaml_mark *old = doc->marks;
		size_t old_alloc = doc->alloc_marks;

		doc->alloc_marks = old_alloc ? old_alloc * 2 : 64;
		doc->marks = xcalloc(doc->alloc_marks, sizeof(*doc->marks));
		doc->nr_marks = 0;
		for (i = 0; i < old_alloc; i++)
			if (old[i].node) {
				size_t s = slot_of(doc, old[i].node);
				while (doc->marks[s].node)
					s = (s + 1) & (doc->alloc_marks - 1);
				doc->marks[s] = old[i];
				doc->nr_marks++;
			}
		free(old);
	}
	i = slot_of(doc, node);
	while (doc->marks[i].node)
		i = (i + 1) & (doc->alloc_marks - 1);
	doc->marks[i].node = node;
	doc->marks[i].line = line;
	doc->marks[i].column = column;
	doc->marks[i].text = text ? xstrdup(text) : NULL;
	doc->nr_marks++;
}

static const struct yaml_mark *marks_get(const struct yaml_doc *doc, const cJSON *node)
{
	size_t i;

	if (!doc->alloc_marks || !node)
		return NULL;
	for (i = slot_of(doc, node); doc->marks[i].node; i = (i + 1) & (doc->alloc_marks - 1))
		if (doc->marks[i].node == node)
			return &doc->marks[i];
	return NULL;
}

int yaml_where(const struct yaml_doc *doc, const cJSON *item, int *line, int *column)
{
	const struct yaml_mark *m = marks_get(doc, item);

	if (!m)
		return ERR_NOT_FOUND;
	*line = m->line;
	*column = m->column;
	return 0;
}

const char *yaml_scalar_text(const struct yaml_doc *doc, const cJSON *item)
{
	const struct yaml_mark *m = marks_get(doc, item);

	return m ? m->text : NULL;
}

int yaml_error_at(const struct yaml_doc *doc, const cJSON *item, int code,
		  const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	int line = 0, column = 0;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	yaml_where(doc, item, &line, &column);
	if (line)
		error_set_at(code, doc->file, line, column, "%s:%d:%d: %s",
			     doc->file, line, column, msg.data);
	else
		error_set_at(code, doc->file, 0, 0, "%s: %s", doc->file, msg.data);
	buf_release(&msg);
	return code;
}

int yaml_error_for_field(const struct yaml_doc *doc, const cJSON *item, const char *field)
{
	struct buf why = BUF_INIT;
	int ret;

	/* Copied first: setting the new error replaces the message read here. */
	buf_addstr(&why, error_message());
	ret = yaml_error_at(doc, item, ERR_INPUT, "field '%s': %s", field, why.data);
	buf_release(&why);
	return ret;
}

/* ---- scalars ---- */

static int is_null(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		*out = 1;
	else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		*out = 0;
	else
		return 0;
	return 1;
}

/* YAML 1.2 core schema numbers: decimal, 0o octal, 0x hex, floats, .inf, .nan. */
static int parse_number(const char *s, double *out)
{
	const char *p = s;
	char *end;
	int digits = 0;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0o", 2)) {
		unsigned long long v;
		errno = 0;
		v = strtoull(s + 2, &end, s[1] == 'x' ? 16 : 8);
		if (end == s + 2 || *end || errno)
			return 0;
		*out = (double)v;
		return 1;
	}
	if (*p == '-' || *p == '+')
		p++;
	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
		*out = *s == '-' ? -HUGE_VAL : HUGE_VAL;
		return 1;
	}
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return 0;
	*out = strtod(s, &end);
	return 1;
}

static cJSON *scalar_node(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	double num;
	int b;

	if (tag && !strcmp(tag, YAML_STR_TAG))
		return cJSON_CreateString(s);
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return cJSON_CreateString(s);
	if (is_null(s))
		return cJSON_CreateNull();
	if (parse_bool(s, &b))
		return cJSON_CreateBool(b);
	if (parse_number(s, &num))
		return cJSON_CreateNumber(num);
	return cJSON_CreateString(s);
}

/* ---- the loader ---- */

static int fail_at(struct loader *ld, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *ld, const yaml_mark_t *mark, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	int line = (int)mark->line + 1, column = (int)mark->column + 1;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	error_set_at(ERR_YAML, ld->doc->file, line, column, "%s:%d:%d: %s",
		     ld->doc->file, line, column, msg.data);
	buf_release(&msg);
	return ERR_YAML;
}

/*
 * A reader error (invalid UTF-8, a control character) has no mark, only a
 * byte offset into the input: count its line and column, so the message
 * points at the byte instead of at 1:1.
 */
static yaml_mark_t reader_mark(const struct loader *ld)
{
	yaml_mark_t m = { 0, 0, 0 };
	size_t i, end = ld->parser.problem_offset < ld->len ? ld->parser.problem_offset : ld->len;

	for (i = 0; i < end; i++) {
		if (ld->text[i] == '\n') {
			m.line++;
			m.column = 0;
		} else {
			m.column++;
		}
	}
	m.index = end;
	return m;
}

static int next_event(struct loader *ld)
{
	yaml_event_delete(&ld->event);
	if (!yaml_parser_parse(&ld->parser, &ld->event)) {
		yaml_mark_t m = ld->parser.problem_mark;

		if (ld->parser.error == YAML_READER_ERROR) {
			m = reader_mark(ld);
			if (ld->parser.problem_value != -1)
				return fail_at(ld, &m, "%s (byte \\x%02x): YAML must be UTF-8 text "
					       "without control characters",
					       ld->parser.problem ? ld->parser.problem : "invalid text",
					       (unsigned)ld->parser.problem_value & 0xff);
			return fail_at(ld, &m, "%s: YAML must be UTF-8 text without control characters",
				       ld->parser.problem ? ld->parser.problem : "invalid text");
		}
		return fail_at(ld, &m, "%s%s%s", ld->parser.problem ? ld->parser.problem : "invalid YAML",
			       ld->parser.context ? " " : "",
			       ld->parser.context ? ld->parser.context : "");
	}
	return 0;
}

static cJSON *copy_marked(struct loader *ld, const cJSON *src, int line, int column)
{
	cJSON *copy = json_duplicate(src);

	marks_put(ld->doc, copy, line, column, yaml_scalar_text(ld->doc, src));
	return copy;
}

static int count_nodes(const cJSON *n)
{
	int count = 1;
	const cJSON *c;

	cJSON_ArrayForEach(c, n)
		count += count_nodes(c);
	return count;
}

static int load_node(struct loader *ld, cJSON **out, int depth);

static void remember_anchor(struct loader *ld, const yaml_char_t *anchor, const cJSON *node)
{
	if (!anchor)
		return;
	ld->anchors = xrealloc(ld->anchors, (ld->nr_anchors + 1) * sizeof(*ld->anchors));
	ld->anchors[ld->nr_anchors].name = xstrdup((const char *)anchor);
	ld->anchors[ld->nr_anchors].node = node;
	ld->nr_anchors++;
}

static int load_mapping(struct loader *ld, cJSON *map, int depth)
{
	int ret;

	for (;;) {
		yaml_mark_t key_mark;
		cJSON *value = NULL;
		char *key;

		if ((ret = next_event(ld)))
			return ret;
		if (ld->event.type == YAML_MAPPING_END_EVENT)
			return 0;
		key_mark = ld->event.start_mark;
		if (ld->event.type != YAML_SCALAR_EVENT)
			return fail_at(ld, &key_mark, "mapping keys must be plain text");
		key = xstrdup((const char *)ld->event.data.scalar.value);
		if (cJSON_GetObjectItemCaseSensitive(map, key)) {
			ret = fail_at(ld, &key_mark, "duplicate key '%s'", excerpt(key));
			free(key);
			return ret;
		}
		if ((ret = next_event(ld)) || (ret = load_node(ld, &value, depth + 1))) {
			free(key);
			return ret;
		}
		cJSON_AddItemToObject(map, key, value);
		free(key);
	}
}

static int load_sequence(struct loader *ld, cJSON *seq, int depth)
{
	int ret;

	for (;;) {
		cJSON *value = NULL;

		if ((ret = next_event(ld)))
			return ret;
		if (ld->event.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if ((ret = load_node(ld, &value, depth + 1)))
			return ret;
		cJSON_AddItemToArray(seq, value);
	}
}

/* Builds the node that starts at the current event. */
static int load_node(struct loader *ld, cJSON **out, int depth)
{
	yaml_event_t *ev = &ld->event;
	int line = (int)ev->start_mark.line + 1, column = (int)ev->start_mark.column + 1;
	/* `ev` is overwritten as children are read: keep what we need now. */
	const yaml_event_type_t type = ev->type;
	const yaml_char_t *anchor = NULL;
	cJSON *node = NULL;
	int ret = 0;
	size_t i;

	*out = NULL;
	if (depth > MAX_DEPTH)
		return fail_at(ld, &ev->start_mark, "nesting deeper than %d levels", MAX_DEPTH);
	if (++ld->nodes > MAX_NODES)
		return fail_at(ld, &ev->start_mark, "more than %d nodes", MAX_NODES);

	switch (type) {
	case YAML_SCALAR_EVENT:
		node = scalar_node(ev);
		if (!node)
			abort();
		anchor = ev->data.scalar.anchor;
		marks_put(ld->doc, node, line, column, (const char *)ev->data.scalar.value);
		remember_anchor(ld, anchor, node);
		break;
	case YAML_ALIAS_EVENT:
		for (i = ld->nr_anchors; i > 0; i--)
			if (!strcmp(ld->anchors[i - 1].name, (const char *)ev->data.alias.anchor))
				break;
		if (!i)
			return fail_at(ld, &ev->start_mark, "unknown alias '*%s'",
				       excerpt((const char *)ev->data.alias.anchor));
		ld->nodes += (size_t)count_nodes(ld->anchors[i - 1].node);
		if (ld->nodes > MAX_NODES)
			return fail_at(ld, &ev->start_mark, "aliases expand past %d nodes", MAX_NODES);
		node = copy_marked(ld, ld->anchors[i - 1].node, line, column);
		break;
	case YAML_MAPPING_START_EVENT:
		node = cJSON_CreateObject();
		if (!node)
			abort();
		marks_put(ld->doc, node, line, column, NULL);
		anchor = ev->data.mapping_start.anchor ?
			 (const yaml_char_t *)xstrdup((const char *)ev->data.mapping_start.anchor) : NULL;
		ret = load_mapping(ld, node, depth);
		break;
	case YAML_SEQUENCE_START_EVENT:
		node = cJSON_CreateArray();
		if (!node)
			abort();
		marks_put(ld->doc, node, line, column, NULL);
		anchor = ev->data.sequence_start.anchor ?
			 (const yaml_char_t *)xstrdup((const char *)ev->data.sequence_start.anchor) : NULL;
		ret = load_sequence(ld, node, depth);
		break;
	default:
		return fail_at(ld, &ev->start_mark, "unexpected YAML event");
	}
	if (type != YAML_SCALAR_EVENT && type != YAML_ALIAS_EVENT && anchor) {
		/* Collections register their anchor once complete (no recursion). */
		if (!ret)
			remember_anchor(ld, anchor, node);
		free((void *)anchor);
	}
	if (ret) {
		cJSON_Delete(node);
		return ret;
	}
	*out = node;
	return 0;
}

int yaml_load_string(struct yaml_doc *out, const char *text, size_t len, const char *name)
{
	struct loader ld = { 0 };
	int ret;
	size_t i;

	out->root = NULL;
	out->file = xstrdup(name);
	out->marks = NULL;
	out->nr_marks = out->alloc_marks = 0;
	ld.doc = out;
	ld.text = text;
	ld.len = len;
	if (!yaml_parser_initialize(&ld.parser))
		abort();
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);

	/* STREAM-START, then DOCUMENT-START or STREAM-END for an empty file. */
	if ((ret = next_event(&ld)) || (ret = next_event(&ld)))
		goto done;
	if (ld.event.type == YAML_STREAM_END_EVENT) {
		yaml_mark_t m = ld.event.start_mark;
		ret = fail_at(&ld, &m, "the file is empty");
		goto done;
	}
	if ((ret = next_event(&ld)) || (ret = load_node(&ld, &out->root, 0)))
		goto done;
	if ((ret = next_event(&ld))) /* DOCUMENT-END */
		goto done;
	if ((ret = next_event(&ld)))
		goto done;
	if (ld.event.type != YAML_STREAM_END_EVENT) {
		yaml_mark_t m = ld.event.start_mark;
		ret = fail_at(&ld, &m, "only one YAML document is allowed per file");
	}
done:
	yaml_event_delete(&ld.event);
	yaml_parser_delete(&ld.parser);
	for (i = 0; i < ld.nr_anchors; i++)
		free(ld.anchors[i].name);
	free(ld.anchors);
	if (ret)
		yaml_doc_release(out);
	return ret;
}

int yaml_load_file(struct yaml_doc *out, const char *path)
{
	struct buf text = BUF_INIT;
	int ret;

	ret = fs_read_file(&text, path, YAML_MAX_FILE);
	if (!ret)
		ret = yaml_load_string(out, text.data, text.len, path);
	else
		out->file = NULL, out->root = NULL, out->marks = NULL,
		out->nr_marks = out->alloc_marks = 0;
	buf_release(&text);
	return ret;
}

void yaml_doc_release(struct yaml_doc *doc)
{
	size_t i;

	cJSON_Delete(doc->root);
	for (i = 0; i < doc->alloc_marks; i++)
		free(doc->marks[i].text);
	free(doc->marks);
	free(doc->file);
	doc->root = NULL;
	doc->file = NULL;
	doc->marks = NULL;
	doc->nr_marks = doc->alloc_marks = 0;
}

/* ---- typed getters ---- */

/* The deepest existing node on `path`, to point at when a field is missing. */
static const cJSON *nearest(const cJSON *obj, const char *path)
{
	struct buf prefix = BUF_INIT;
	const cJSON *best = obj, *item;
	const char *p;

	for (p = path; *p; p++) {
		if (*p != '.' && *p != '[')
			continue;
		buf_reset(&prefix);
		buf_add(&prefix, path, (size_t)(p - path));
		item = json_find(obj, prefix.data);
		if (!item)
			break;
		best = item;
	}
	buf_release(&prefix);
	return best;
}

static int relocate(const struct yaml_doc *doc, const cJSON *obj, const char *path, int ret)
{
	const cJSON *item = json_find(obj, path);
	struct buf msg = BUF_INIT;

	if (!ret)
		return 0;
	buf_addstr(&msg, error_message());
	if (ret == ERR_NOT_FOUND)
		ret = yaml_error_at(doc, nearest(obj, path), ERR_YAML,
				    "required field '%s' is missing", path);
	else
		ret = yaml_error_at(doc, item, ERR_YAML, "%s", msg.data);
	buf_release(&msg);
	return ret;
}

int yaml_get_string(const struct yaml_doc *doc, const char **out,
		    const cJSON *obj, const char *path)
{
	return relocate(doc, obj, path, json_get_string(out, obj, path));
}

int yaml_get_text(const struct yaml_doc *doc, const char **out,
		  const cJSON *obj, const char *path)
{
	const cJSON *item = json_find(obj, path);
	const char *text;

	if (item && (cJSON_IsNumber(item) || cJSON_IsBool(item)) &&
	    (text = yaml_scalar_text(doc, item))) {
		*out = text;
		return 0;
	}
	return yaml_get_string(doc, out, obj, path);
}

int yaml_get_object(const struct yaml_doc *doc, const cJSON **out,
		    const cJSON *obj, const char *path)
{
	return relocate(doc, obj, path, json_get_object(out, obj, path));
}

int yaml_get_array(const struct yaml_doc *doc, const cJSON **out,
		   const cJSON *obj, const char *path)
{
	return relocate(doc, obj, path, json_get_array(out, obj, path));
}

/* ---- known keys ---- */

static int is_known(const char *const *known, const char *key)
{
	for (; *known; known++)
		if (!strcmp(*known, key))
			return 1;
	return 0;
}

int yaml_check_keys(const struct yaml_doc *doc, const cJSON *map, const char *path,
		    const char *const *known, const char *what)
{
	struct buf list = BUF_INIT;
	const char *const *k;
	const cJSON *item;
	int ret = 0;

	if (!cJSON_IsObject(map))
		return 0;
	cJSON_ArrayForEach(item, map) {
		if (is_known(known, item->string))
			continue;
		for (k = known; *k; k++)
			buf_addf(&list, "%s%s", k == known ? "" : ", ", *k);
		ret = yaml_error_at(doc, item, ERR_INPUT, "field '%s%s%s': unknown%s%s (known: %s)",
				    path ? path : "", path ? "." : "", excerpt(item->string),
				    what ? " in " : "", what ? what : "", list.data);
		break;
	}
	buf_release(&list);
	return ret;
}
