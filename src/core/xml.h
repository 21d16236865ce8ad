#ifndef CORE_XML_H
#define CORE_XML_H

#include <stddef.h>

#include "core/buf.h"

/*
 * Reading the small, flat XML documents storage services answer with (an
 * error body, a page of a listing): find an element by name, test an
 * attribute of its start tag, decode its character data. Not a general
 * parser: no namespaces, CDATA, comments or DTDs, and an element is its
 * first start tag with the first end tag after it, so an element nested in
 * one of the same name is not told apart. That is all these documents
 * need, and it keeps every search linear in the bytes it is given and
 * inside them (the text need not be NUL-terminated). Nothing is allocated
 * but the decoded text.
 */

/* An element found in a document: pointers into the caller's text. */
struct xml_element {
	const char *tag;     /* its start tag, from '<' to '>' inclusive */
	size_t tag_len;
	const char *text;    /* its raw content, entities not decoded */
	size_t len;          /* 0 for an empty element, <X/> or <X></X> */
	const char *end;     /* just past the element: where a search for the next starts */
};

/*
 * Finds the first element `name` in the `len` bytes at `s` (a start tag
 * "<name" followed by '>', '/' or white space). Returns 0; ERR_NOT_FOUND
 * when there is none; ERR_INPUT when the first one is cut short (no '>'
 * or no "</name>" in the text), as a truncated body is. Sets no message:
 * a missing element is often no error, and the caller knows what it is.
 */
int xml_find(struct xml_element *out, const char *s, size_t len, const char *name);

/* 1 when the start tag of `e` carries name="value" (or 'value'), else 0. */
int xml_attr_is(const struct xml_element *e, const char *name, const char *value);

/*
 * Appends XML character data with its references replaced: the five
 * named entities and &#N; / &#xH; as UTF-8. Anything else, including a
 * reference to NUL, a surrogate or a code point past U+10FFFF, is kept as
 * written.
 */
void xml_decode(struct buf *out, const char *s, size_t len);

/* Appends the decoded content of the first element `name`; as xml_find. */
int xml_text(struct buf *out, const char *s, size_t len, const char *name);

#endif
