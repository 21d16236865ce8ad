#ifndef CORE_ENCODE_H
#define CORE_ENCODE_H

#include <stddef.h>

#include "core/buf.h"

/* Text encodings. Encoders append to `out`; decoders return 0 or ERR_INPUT. */

void hex_encode(struct buf *out, const void *data, size_t len);
void base64_encode(struct buf *out, const void *data, size_t len);
/* base64url without padding (JWT segments). */
void base64url_encode(struct buf *out, const void *data, size_t len);
/* Accepts standard or url alphabets, with or without padding. */
int base64_decode(struct buf *out, const char *text, size_t len);

/* The value of hex digit `c` (either case), or -1 when it is not one. */
int hex_value(char c);

/* RFC 3986 percent-encoding of everything but unreserved characters. */
void url_encode(struct buf *out, const char *s);
/*
 * Appends the `len` bytes at `s` with each "%XX" turned back into its byte.
 * A '%' not followed by two hex digits is kept as it is, and '+' stays '+'
 * (a query's form-encoding is not undone): the lenient reading servers use.
 */
void url_decode(struct buf *out, const char *s, size_t len);
/* application/x-www-form-urlencoded value (space as %20, as curl does). */
#define form_encode url_encode

/* Appends `url` without its query string and fragment (for logs). */
void url_without_query(struct buf *out, const char *url);
/* The scheme://host[:port] part of `url`; ERR_INPUT when it has none. */
int url_origin(struct buf *out, const char *url);

/*
 * Text from a repository file, made fit to quote in a message: at most
 * EXCERPT_MAX bytes of `text` are shown, then "..."; a control character
 * (newline, CR, tab, ESC...), DEL and every byte outside printable ASCII is
 * written as \n, \r, \t or \xNN, and a backslash as \\, so an excerpt is
 * one line that cannot end a log line, start a workflow command or move
 * the terminal. `excerpt_add` appends to `out`; `excerpt` returns one of
 * a few thread-local buffers in turn (valid until the fourth call after
 * it on the same thread), for use in an error_set argument list.
 * NULL is shown as "(null)".
 */
#define EXCERPT_MAX 48
void excerpt_add(struct buf *out, const char *text);
const char *excerpt(const char *text);

/*
 * A file or folder name from a repository (a walk's entry, a path a YAML
 * names), quoted the same way but whole, however long, since the reader
 * needs all of it to find the file: control bytes, DEL, backslash and
 * every byte outside printable ASCII are escaped as in excerpt_add. UTF-8
 * is escaped too, valid or not: one rule for all quoted text, and valid
 * UTF-8 can still carry C1 controls (U+009B is a terminal's CSI), NEL and
 * bidi overrides. Appends to `out`; NULL is shown as "(null)".
 */
void quote_path_add(struct buf *out, const char *path);

#endif
