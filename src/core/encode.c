#include <stdint.h>
#include <string.h>

#include "core/encode.h"
#include "core/error.h"
#include "core/banned.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void hex_encode(struct buf *out, const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i;

	buf_grow(out, len * 2);
	for (i = 0; i < len; i++) {
		out->data[out->len++] = digits[p[i] >> 4];
		out->data[out->len++] = digits[p[i] & 15];
	}
	out->data[out->len] = '\0';
}

static void b64_with(struct buf *out, const void *data, size_t len,
		     const char *alphabet, int pad)
{
	const unsigned char *p = data;
	size_t i;

	buf_grow(out, (len + 2) / 3 * 4);
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		buf_addch(out, alphabet[v >> 18 & 63]);
		buf_addch(out, alphabet[v >> 12 & 63]);
		buf_addch(out, alphabet[v >> 6 & 63]);
		buf_addch(out, alphabet[v & 63]);
	}
	if (len - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		buf_addch(out, alphabet[v >> 18 & 63]);
		buf_addch(out, alphabet[v >> 12 & 63]);
		if (pad)
			buf_addstr(out, "==");
	} else if (len - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		buf_addch(out, alphabet[v >> 18 & 63]);
		buf_addch(out, alphabet[v >> 12 & 63]);
		buf_addch(out, alphabet[v >> 6 & 63]);
		if (pad)
			buf_addch(out, '=');
	}
}

void base64_encode(struct buf *out, const void *data, size_t len)
{
	b64_with(out, data, len, b64, 1);
}

void base64url_encode(struct buf *out, const void *data, size_t len)
{
	b64_with(out, data, len, b64url, 0);
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int base64_decode(struct buf *out, const char *text, size_t len)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i;

	while (len && text[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		int v = b64_value(text[i]);
		if (v < 0)
			return error_set(ERR_INPUT, "invalid base64 character at offset %zu", i);
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addch(out, (char)(acc >> bits & 0xff));
		}
	}
	if (bits >= 6)
		return error_set(ERR_INPUT, "truncated base64 text");
	return 0;
}

int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void url_encode(struct buf *out, const char *s)
{
	static const char digits[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		    c == '~') {
			buf_addch(out, (char)c);
		} else {
			buf_addch(out, '%');
			buf_addch(out, digits[c >> 4]);
			buf_addch(out, digits[c & 15]);
		}
	}
}

void url_decode(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int hi = -1, lo = -1;

		if (s[i] == '%' && i + 2 < len) {
			hi = hex_value(s[i + 1]);
			lo = hex_value(s[i + 2]);
		}
		if (hi >= 0 && lo >= 0) {
			buf_addch(out, (char)(hi * 16 + lo));
			i += 2;
		} else {
			buf_addch(out, s[i]);
		}
	}
}

void url_without_query(struct buf *out, const char *url)
{
	buf_add(out, url, strcspn(url, "?#"));
}

int url_origin(struct buf *out, const char *url)
{
	const char *host = strstr(url, "://");
	size_t n;

	if (!host || host == url)
		return error_set(ERR_INPUT, "not an absolute URL");
	host += 3;
	n = strcspn(host, "/?#");
	if (!n)
		return error_set(ERR_INPUT, "URL has no host");
	buf_add(out, url, (size_t)(host - url) + n);
	return 0;
}

/* The one escaping rule of excerpt_add and quote_path_add; at most `max` bytes shown. */
static void escape_add(struct buf *out, const char *text, size_t max)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(text ? text : "(null)");
	size_t i;

	for (i = 0; p[i] && i < max; i++) {
		switch (p[i]) {
		case '\n': buf_addstr(out, "\\n"); break;
		case '\r': buf_addstr(out, "\\r"); break;
		case '\t': buf_addstr(out, "\\t"); break;
		case '\\': buf_addstr(out, "\\\\"); break;
		default:
			if (p[i] < 0x20 || p[i] >= 0x7f) {
				buf_addstr(out, "\\x");
				buf_addch(out, digits[p[i] >> 4]);
				buf_addch(out, digits[p[i] & 15]);
			} else {
				buf_addch(out, (char)p[i]);
			}
		}
	}
	if (p[i])
		buf_addstr(out, "...");
}

void excerpt_add(struct buf *out, const char *text)
{
	escape_add(out, text, EXCERPT_MAX);
}

void quote_path_add(struct buf *out, const char *path)
{
	escape_add(out, path, SIZE_MAX);
}

/* Each shown byte takes at most 4 bytes, then "..." and the NUL. */
#define EXCERPT_BYTES (EXCERPT_MAX * 4 + 4)

const char *excerpt(const char *text)
{
	static _Thread_local char slots[4][EXCERPT_BYTES];
	static _Thread_local unsigned next;
	struct buf b = BUF_INIT;
	char *slot = slots[next++ % 4];

	excerpt_add(&b, text);
	memcpy(slot, b.data, b.len + 1);
	buf_release(&b);
	return slot;
}
