#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growable byte buffer. `data` is never NULL and always NUL-terminated, so
 * a buf can be used as a C string; it may also hold binary data (use `len`).
 * Appends abort the program on out-of-memory: these are short-lived command
 * line programs and there is nothing sensible to do instead (git and redis
 * decide the same). The buf owns `data` until buf_detach hands it over.
 */
struct buf {
	char *data;
	size_t len;
	size_t alloc;
};

extern char buf_empty[];
#define BUF_INIT { buf_empty, 0, 0 }

void buf_init(struct buf *b);
/* Frees the contents; the buf is BUF_INIT again afterwards. */
void buf_release(struct buf *b);
/* Ensures room for `extra` more bytes (plus the NUL). */
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void buf_setlen(struct buf *b, size_t len);
static inline void buf_reset(struct buf *b) { buf_setlen(b, 0); }
/* Hands the (always allocated) string to the caller, who frees it. */
char *buf_detach(struct buf *b, size_t *len_out);
/* Removes leading and trailing ASCII white space. */
void buf_trim(struct buf *b);
/* Overwrites the contents with zeros (for secrets) and releases. */
void buf_wipe(struct buf *b);

/* Allocating helpers that abort on out-of-memory, as buf does. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The entry of the NULL-terminated `table` that is exactly the `len` bytes
 * at `word` (a word cut out of a longer line, so not terminated there), or
 * NULL when none is.
 */
const char *str_table_find(const char *const *table, const char *word, size_t len);

#endif
