#include <string.h>

#include "core/encode.h"
#include "core/error.h"
#include "core/xml.h"
#include "core/banned.h"

/* The first `needle` in [s, end), or NULL. */
static const char *find_in(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; s && end - s >= (ptrdiff_t)n; s++) {
		s = memchr(s, *needle, (size_t)(end - s));
		if (!s || end - s < (ptrdiff_t)n)
			return NULL;
		if (!memcmp(s, needle, n))
			return s;
	}
	return NULL;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The first start tag "<name" in [s, end) followed by '>', '/' or a space. */
static const char *find_start_tag(const char *s, const char *end, const char *name)
{
	size_t n = strlen(name);

	while ((s = find_in(s, end, "<")) && end - s > (ptrdiff_t)(n + 1)) {
		char next = s[1 + n];

		if (!memcmp(s + 1, name, n) && (next == '>' || next == '/' || is_space(next)))
			return s;
		s++;
	}
	return NULL;
}

int xml_find(struct xml_element *out, const char *s, size_t len, const char *name)
{
	const char *end = s + len, *lt, *gt, *close;
	size_t n = strlen(name);

	if (!(lt = find_start_tag(s, end, name)))
		return ERR_NOT_FOUND;
	if (!(gt = find_in(lt + 1 + n, end, ">")))
		return ERR_INPUT;
	out->tag = lt;
	out->tag_len = (size_t)(gt + 1 - lt);
	if (gt[-1] == '/') {
		out->text = gt + 1;
		out->len = 0;
		out->end = gt + 1;
		return 0;
	}
	/* "</name>" without building it: "</", the name, then '>'. */
	for (close = gt + 1; (close = find_in(close, end, "</")); close += 2)
		if (end - close > (ptrdiff_t)(n + 2) && !memcmp(close + 2, name, n) &&
		    close[2 + n] == '>')
			break;
	if (!close)
		return ERR_INPUT;
	out->text = gt + 1;
	out->len = (size_t)(close - out->text);
	out->end = close + 3 + n;
	return 0;
}

int xml_attr_is(const struct xml_element *e, const char *name, const char *value)
{
	const char *end = e->tag + e->tag_len, *p = e->tag;
	size_t n = strlen(name), v = strlen(value);

	while ((p = find_in(p + 1, end, name))) {
		const char *q = p + n;

		/* A whole attribute name: after white space, before '='. */
		if (!is_space(p[-1]) || end - q < (ptrdiff_t)(v + 3) || q[0] != '=' ||
		    (q[1] != '"' && q[1] != '\''))
			continue;
		if (!memcmp(q + 2, value, v) && q[2 + v] == q[1])
			return 1;
	}
	return 0;
}

/* Appends code point `cp` as UTF-8 (the caller checked it is a character). */
static void add_utf8(struct buf *out, unsigned long cp)
{
	if (cp < 0x80) {
		buf_addch(out, (char)cp);
	} else if (cp < 0x800) {
		buf_addch(out, (char)(0xC0 | (cp >> 6)));
		buf_addch(out, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_addch(out, (char)(0xE0 | (cp >> 12)));
		buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addch(out, (char)(0x80 | (cp & 0x3F)));
	} else {
		buf_addch(out, (char)(0xF0 | (cp >> 18)));
		buf_addch(out, (char)(0x80 | ((cp >> 12) & 0x3F)));
		buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addch(out, (char)(0x80 | (cp & 0x3F)));
	}
}

/*
 * A character reference "#N;" or "#xH;" at [p, end) (after the '&'):
 * appends the character and returns the bytes read, or 0 when it is not
 * one. At most 8 digits, so a long run of them costs nothing.
 */
static size_t numeric_ref(struct buf *out, const char *p, const char *end)
{
	const char *q = p + 1;
	unsigned long cp = 0;
	int hex, digits = 0;

	if (end - p < 3 || *p != '#')
		return 0;
	hex = *q == 'x' || *q == 'X';
	for (q += hex; q < end && *q != ';' && digits < 8; q++, digits++) {
		int v = hex ? hex_value(*q) : (*q >= '0' && *q <= '9' ? *q - '0' : -1);

		if (v < 0)
			return 0;
		cp = cp * (hex ? 16 : 10) + (unsigned long)v;
	}
	if (q >= end || *q != ';' || !digits || !cp || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	add_utf8(out, cp);
	return (size_t)(q + 1 - p);
}

/* A named entity at [p, end) (after the '&'): as numeric_ref. */
static size_t named_ref(struct buf *out, const char *p, const char *end)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
	};
	size_t k;

	for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
		size_t n = strlen(named[k].name);

		if ((size_t)(end - p) >= n && !memcmp(p, named[k].name, n)) {
			buf_addch(out, named[k].c);
			return n;
		}
	}
	return 0;
}

void xml_decode(struct buf *out, const char *s, size_t len)
{
	const char *end = s + len;

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		size_t used;

		if (!amp) {
			buf_add(out, s, (size_t)(end - s));
			return;
		}
		buf_add(out, s, (size_t)(amp - s));
		s = amp + 1;
		if ((used = named_ref(out, s, end)) || (used = numeric_ref(out, s, end)))
			s += used;
		else
			buf_addch(out, '&');
	}
}

int xml_text(struct buf *out, const char *s, size_t len, const char *name)
{
	struct xml_element e;
	int ret;

	if (!(ret = xml_find(&e, s, len, name)))
		xml_decode(out, e.text, e.len);
	return ret;
}
