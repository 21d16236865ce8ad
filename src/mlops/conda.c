#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/yaml.h"
#include "mlops/conda.h"
#include "mlops/pip_req.h"
#include "core/banned.h"

/* Specs are echoed in messages; a hostile one must not flood the log. */

/* ---- conda match specs ---- */

static int is_name_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* conda's VersionSpec accepts [*.+!_0-9a-z] once lowercased (conda/models/version.py). */
static int is_version_char(int c)
{
	return isalnum(c) || (c && strchr("._+!*", c));
}

static int is_channel_char(int c)
{
	return isalnum(c) || (c && strchr("-_./:~%+@", c));
}

static int bad_spec(const char *spec, const char *fmt, const char *detail)
{
	struct buf why = BUF_INIT;
	int ret;

	buf_addf(&why, fmt, detail);
	ret = error_set(ERR_INPUT, "invalid conda spec '%s': %s", excerpt(spec), why.data);
	buf_release(&why);
	return ret;
}

/* conda's version operators: PEP 440's, and '=' ("numpy=1.24" is numpy 1.24.*). */
static size_t operator_len(const char *s)
{
	size_t n = pip_req_operator_len(s);

	return n ? n : (*s == '=' ? 1 : 0);
}

/* One version without operator: "1.24.*", "2!1.0+local"; no empty segments. */
static int check_version_word(const char *spec, const char *v, size_t n)
{
	struct buf word = BUF_INIT;
	size_t i;
	int ret = 0;

	buf_add(&word, v, n);
	for (i = 0; i < n && !ret; i++)
		if (!is_version_char((unsigned char)v[i])) {
			char c[2] = { v[i], 0 };
			ret = bad_spec(spec, "illegal character '%s' in the version", excerpt(c));
		}
	if (!ret && (strstr(word.data, "..") || strchr("._", v[0]) || strchr("._", v[n - 1])))
		ret = bad_spec(spec, "version '%s' has an empty segment", excerpt(word.data));
	buf_release(&word);
	return ret;
}

/*
 * A version expression: constraints joined by ',' (and) or '|' (or), each an
 * optional operator and a version. `first_bare` forbids an operator on the
 * first constraint (after "name=", where "name=>1" is a typo, not a spec).
 */
static int check_version_expr(const char *spec, const char *s, size_t n, int first_bare)
{
	size_t i = 0;

	for (;;) {
		size_t start = i, op, end = i;
		struct buf opbuf = BUF_INIT;

		while (end < n && s[end] != ',' && s[end] != '|')
			end++;
		op = operator_len(s + start);
		if (op > end - start)
			op = end - start;
		if (op && first_bare && start == 0) {
			char c[2] = { s[0], 0 };
			return bad_spec(spec, "'=' followed by the operator '%s'", excerpt(c));
		}
		if (start + op == end) {
			int ret;
			buf_add(&opbuf, s + start, op);
			ret = op ? bad_spec(spec, "'%s' needs a version after it", excerpt(opbuf.data))
				 : bad_spec(spec, "%s", "an empty version constraint (a stray ',' or '|')");
			buf_release(&opbuf);
			return ret;
		}
		if (check_version_word(spec, s + start + op, end - start - op))
			return ERR_INPUT;
		if (end == n)
			return 0;
		i = end + 1;
	}
}

static int check_build(const char *spec, const char *b, size_t n)
{
	size_t i;

	if (!n)
		return bad_spec(spec, "%s", "'=' at the end needs a build string after it");
	for (i = 0; i < n; i++)
		if (!is_version_char((unsigned char)b[i])) {
			char c[2] = { b[i], 0 };
			return bad_spec(spec, "illegal character '%s' in the build string", excerpt(c));
		}
	return 0;
}

/* "[version='>=1.2', build=py*]": conda's bracket form. */
static int check_brackets(const char *spec, const char **pp)
{
	static const char *const keys[] = { "version", "build", "build_number", "channel",
					    "subdir", "md5", "sha256", "license", "fn", "url", NULL };
	const char *p = *pp + 1, *close = strchr(p, ']');

	if (!close)
		return bad_spec(spec, "%s", "'[' without a closing ']'");
	while (p < close) {
		const char *key = p, *val;
		size_t klen;

		while (p < close && *p != '=')
			p++;
		klen = (size_t)(p - key);
		if (!str_table_find(keys, key, klen) || p == close) {
			struct buf k = BUF_INIT;
			int ret;
			buf_add(&k, key, klen);
			ret = bad_spec(spec, "unknown bracket key '%s'", excerpt(k.data));
			buf_release(&k);
			return ret;
		}
		val = ++p;
		if (*p == '\'' || *p == '"') {
			const char *q = memchr(p + 1, *p, (size_t)(close - p - 1));
			if (!q)
				return bad_spec(spec, "%s", "an unterminated quote inside '[...]'");
			val = p + 1;
			p = q + 1;
			if (q == val)
				return bad_spec(spec, "%s", "an empty value inside '[...]'");
		} else {
			while (p < close && *p != ',')
				p++;
			if (p == val)
				return bad_spec(spec, "%s", "an empty value inside '[...]'");
		}
		while (p < close && *p == ' ')
			p++;
		if (p < close && *p++ != ',')
			return bad_spec(spec, "%s", "values inside '[...]' are separated by ','");
		while (p < close && *p == ' ')
			p++;
	}
	*pp = close + 1;
	return 0;
}

/*
 * conda drops white space around operators and separators before it parses
 * ("numpy >= 1.2, <2" is "numpy>=1.2,<2"); what remains separates the
 * version from the build string ("numpy 1.24.* py311_0").
 */
static void squeeze_operators(struct buf *out, const char *s)
{
	static const char ops[] = "<>=!~,|";
	const char *p;

	for (p = s; *p; p++) {
		if (*p == ' ' || *p == '\t') {
			const char *q = p;
			while (*q == ' ' || *q == '\t')
				q++;
			if (!*q || strchr(ops, *q) || (out->len && strchr(ops, out->data[out->len - 1]))) {
				p = q - 1;
				continue;
			}
			buf_addch(out, ' ');
			p = q - 1;
			continue;
		}
		buf_addch(out, *p);
	}
}

static int check_version_part(const char *spec, const char *rest)
{
	struct buf v = BUF_INIT;
	const char *s, *sp, *eq;
	int ret;

	squeeze_operators(&v, rest);
	s = v.data;
	if (s[0] == '=' && s[1] != '=') {
		/* "name=version[=build]" */
		s++;
		eq = strchr(s, '=');
		ret = check_version_expr(spec, s, eq ? (size_t)(eq - s) : strlen(s), 1);
		if (!ret && eq)
			ret = check_build(spec, eq + 1, strlen(eq + 1));
	} else if (s[0] == ' ' || operator_len(s)) {
		/* "name version [build]", "name>=1.2,<2 [build]" */
		if (*s == ' ')
			s++;
		sp = strchr(s, ' ');
		if (sp && strchr(sp + 1, ' '))
			ret = bad_spec(spec, "%s", "too many parts: use 'name version build'");
		else
			ret = check_version_expr(spec, s, sp ? (size_t)(sp - s) : strlen(s), 0);
		if (!ret && sp)
			ret = check_build(spec, sp + 1, strlen(sp + 1));
	} else {
		char c[2] = { *s, 0 };
		ret = bad_spec(spec, "illegal character '%s' after the package name", excerpt(c));
	}
	buf_release(&v);
	return ret;
}

int conda_check_spec(const char *spec)
{
	const char *p = spec, *sep = strstr(spec, "::"), *q;

	if (!*spec)
		return bad_spec(spec, "%s", "the spec is empty");
	if (sep) {
		if (sep == spec)
			return bad_spec(spec, "%s", "an empty channel before '::'");
		for (q = spec; q < sep; q++)
			if (!is_channel_char((unsigned char)*q)) {
				char c[2] = { *q, 0 };
				return bad_spec(spec, "illegal character '%s' in the channel", excerpt(c));
			}
		p = sep + 2;
	}
	if (!*p)
		return bad_spec(spec, "%s", "no package name");
	/* '_' too: conda's own "_libgcc_mutex" and "_openmp_mutex" start with it. */
	if (!isalnum((unsigned char)*p) && *p != '_')
		return bad_spec(spec, "%s", "the package name must start with a letter, digit or '_'");
	while (is_name_char((unsigned char)*p))
		p++;
	if (*p == '[' && check_brackets(spec, &p))
		return ERR_INPUT;
	if (!*p)
		return 0;
	return check_version_part(spec, p);
}

void conda_spec_name(struct buf *out, const char *spec)
{
	const char *sep = strstr(spec, "::"), *p = sep ? sep + 2 : spec;

	if (*spec == '-' || pip_req_is_url(spec) || !isalnum((unsigned char)*p)) {
		buf_addstr(out, spec);
		return;
	}
	/* PEP 503: case and runs of '-', '_', '.' do not distinguish names. */
	for (; is_name_char((unsigned char)*p); p++)
		buf_addch(out, (*p == '_' || *p == '.') ? '-' : (char)tolower((unsigned char)*p));
}

/* ---- the document ---- */

/* Re-sets the spec checkers' message at the item, naming the field. */
static int located(const struct yaml_doc *doc, const cJSON *item, const char *field, int index)
{
	struct buf why = BUF_INIT;
	int ret;

	buf_addstr(&why, error_message());
	ret = yaml_error_at(doc, item, ERR_INPUT, "field '%s[%d]': %s", field, index, why.data);
	buf_release(&why);
	return ret;
}

static int check_pip_section(const struct yaml_doc *doc, const cJSON *map, int dep_index)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(map, "pip"), *item;
	struct buf field = BUF_INIT;
	int i = 0, ret = 0;

	buf_addf(&field, "dependencies[%d].pip", dep_index);
	if (cJSON_GetArraySize(map) != 1 || !list) {
		ret = yaml_error_at(doc, map, ERR_INPUT,
				    "field 'dependencies[%d]': a mapping among the dependencies must be "
				    "exactly {pip: [...]}", dep_index);
		goto done;
	}
	if (!cJSON_IsArray(list)) {
		ret = yaml_error_at(doc, list, ERR_YAML, "field '%s' is %s, expected a list of pip requirements",
				    field.data, json_type_name(list));
		goto done;
	}
	cJSON_ArrayForEach(item, list) {
		if (!cJSON_IsString(item)) {
			ret = yaml_error_at(doc, item, ERR_YAML, "field '%s[%d]' is %s, expected a pip requirement string",
					    field.data, i, json_type_name(item));
			goto done;
		}
		if (pip_req_check(item->valuestring)) {
			ret = located(doc, item, field.data, i);
			goto done;
		}
		i++;
	}
done:
	buf_release(&field);
	return ret;
}

static int check_dependencies(const struct yaml_doc *doc)
{
	const cJSON *deps, *item, *pip = NULL;
	int i = 0, ret;

	if ((ret = yaml_get_array(doc, &deps, doc->root, "dependencies")))
		return ret;
	cJSON_ArrayForEach(item, deps) {
		if (cJSON_IsString(item)) {
			if (conda_check_spec(item->valuestring))
				return located(doc, item, "dependencies", i);
		} else if (cJSON_IsObject(item)) {
			if (pip)
				return yaml_error_at(doc, item, ERR_INPUT,
						     "field 'dependencies[%d]': a second pip section; "
						     "list every pip requirement in one", i);
			if ((ret = check_pip_section(doc, item, i)))
				return ret;
			pip = item;
		} else {
			return yaml_error_at(doc, item, ERR_YAML,
					     "field 'dependencies[%d]' is %s, expected a conda spec string "
					     "or {pip: [...]}", i, json_type_name(item));
		}
		i++;
	}
	return 0;
}

static int check_channels(const struct yaml_doc *doc)
{
	const cJSON *channels, *item;
	int i = 0, ret;

	if (!cJSON_GetObjectItemCaseSensitive(doc->root, "channels"))
		return 0;
	if ((ret = yaml_get_array(doc, &channels, doc->root, "channels")))
		return ret;
	cJSON_ArrayForEach(item, channels) {
		if (!cJSON_IsString(item) || !*item->valuestring)
			return yaml_error_at(doc, item, ERR_INPUT,
					     "field 'channels[%d]': a channel is a non-empty name or URL", i);
		i++;
	}
	return 0;
}

static int check_variables(const struct yaml_doc *doc)
{
	const cJSON *vars, *item;
	int ret;

	if (!cJSON_GetObjectItemCaseSensitive(doc->root, "variables"))
		return 0;
	if ((ret = yaml_get_object(doc, &vars, doc->root, "variables")))
		return ret;
	cJSON_ArrayForEach(item, vars)
		if (!cJSON_IsString(item) && !cJSON_IsNumber(item) && !cJSON_IsBool(item))
			return yaml_error_at(doc, item, ERR_YAML,
					     "field 'variables.%s' is %s, expected a string, number or boolean",
					     excerpt(item->string), json_type_name(item));
	return 0;
}

static int check_optional_string(const struct yaml_doc *doc, const char *key)
{
	const char *s;

	if (!cJSON_GetObjectItemCaseSensitive(doc->root, key))
		return 0;
	return yaml_get_string(doc, &s, doc->root, key);
}

static int check_document(const struct yaml_doc *doc)
{
	static const char *const known[] = { "name", "channels", "dependencies", "prefix",
					     "variables", NULL };
	int ret;

	if (!cJSON_IsObject(doc->root))
		return yaml_error_at(doc, doc->root, ERR_YAML,
				     "a conda file is a mapping with 'dependencies' (and 'name', "
				     "'channels', 'prefix', 'variables'), not %s",
				     json_type_name(doc->root));
	if ((ret = yaml_check_keys(doc, doc->root, NULL, known, "a conda file")) ||
	    (ret = check_optional_string(doc, "name")) ||
	    (ret = check_optional_string(doc, "prefix")) ||
	    (ret = check_channels(doc)) ||
	    (ret = check_dependencies(doc)) ||
	    (ret = check_variables(doc)))
		return ret;
	return 0;
}

/* ---- canonical JSON ---- */

static void write_json_string(struct buf *out, const char *s)
{
	const unsigned char *p;

	buf_addch(out, '"');
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			buf_addch(out, '\\');
			buf_addch(out, (char)*p);
		} else if (*p < 0x20 || *p == 0x7f) {
			buf_addf(out, "\\u%04x", *p);
		} else {
			buf_addch(out, (char)*p);
		}
	}
	buf_addch(out, '"');
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static void write_scalar(struct buf *out, const struct yaml_doc *doc, const cJSON *node)
{
	const char *text = doc ? yaml_scalar_text(doc, node) : NULL;

	if (cJSON_IsString(node)) {
		write_json_string(out, node->valuestring);
	} else if (text) {
		write_json_string(out, text);
	} else if (cJSON_IsBool(node)) {
		write_json_string(out, cJSON_IsTrue(node) ? "true" : "false");
	} else if (cJSON_IsNumber(node)) {
		struct buf num = BUF_INIT;
		json_write(&num, node);
		write_json_string(out, num.data);
		buf_release(&num);
	} else {
		buf_addstr(out, "null");
	}
}

void conda_write_canonical(struct buf *out, const struct yaml_doc *doc, const cJSON *node)
{
	const cJSON **children = NULL, *child;
	size_t n = 0, i;

	if (!cJSON_IsObject(node) && !cJSON_IsArray(node)) {
		write_scalar(out, doc, node);
		return;
	}
	children = xcalloc((size_t)cJSON_GetArraySize(node) + 1, sizeof(*children));
	cJSON_ArrayForEach(child, node)
		children[n++] = child;
	if (cJSON_IsObject(node) && n > 1)
		qsort(children, n, sizeof(*children), cmp_keys);
	buf_addch(out, cJSON_IsObject(node) ? '{' : '[');
	for (i = 0; i < n; i++) {
		if (i)
			buf_addch(out, ',');
		if (cJSON_IsObject(node)) {
			write_json_string(out, children[i]->string);
			buf_addch(out, ':');
		}
		conda_write_canonical(out, doc, children[i]);
	}
	buf_addch(out, cJSON_IsObject(node) ? '}' : ']');
	free(children);
}

/* ---- loading ---- */

void conda_file_init(struct conda_file *c)
{
	struct conda_file fresh = CONDA_FILE_INIT;

	*c = fresh;
}

void conda_file_release(struct conda_file *c)
{
	if (!c)
		return;
	yaml_doc_release(&c->doc);
	free(c->canonical);
	conda_file_init(c);
}

static int finish_load(struct conda_file *out)
{
	struct buf canon = BUF_INIT;
	int ret;

	if ((ret = check_document(&out->doc)))
		return ret;
	conda_write_canonical(&canon, &out->doc, out->doc.root);
	out->canonical = buf_detach(&canon, NULL);
	return 0;
}

int conda_load_file(struct conda_file *out, const char *path)
{
	int ret;

	conda_file_init(out);
	ret = yaml_load_file(&out->doc, path);
	if (!ret)
		ret = finish_load(out);
	if (ret)
		conda_file_release(out);
	return ret;
}

int conda_load_string(struct conda_file *out, const char *text, size_t len, const char *name)
{
	int ret;

	conda_file_init(out);
	ret = yaml_load_string(&out->doc, text, len, name);
	if (!ret)
		ret = finish_load(out);
	if (ret)
		conda_file_release(out);
	return ret;
}

int conda_canonical_text(struct buf *out, const char *text, size_t len, const char *name)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	int ret;

	ret = yaml_load_string(&doc, text, len, name);
	if (!ret)
		conda_write_canonical(out, &doc, doc.root);
	yaml_doc_release(&doc);
	return ret;
}
