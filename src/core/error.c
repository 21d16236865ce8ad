#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/banned.h"

static _Thread_local struct {
	int code;
	struct buf msg;
	struct buf file;
	struct error_location where;
	int has_where;
} last;

/* Formats into a new buffer first: an argument may be error_message()
 * itself (a message kept, its code changed), which resetting the old one
 * first would have emptied. */
static int vset(int code, const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT;

	buf_vaddf(&msg, fmt, ap);
	buf_release(&last.msg);
	last.msg = msg;
	last.code = code;
	last.has_where = 0;
	return code;
}

int error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(code, fmt, ap);
	va_end(ap);
	return code;
}

int error_set_at(int code, const char *file, int line, int column,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(code, fmt, ap);
	va_end(ap);
	buf_reset(&last.file);
	buf_addstr(&last.file, file ? file : "");
	last.where.file = last.file.data;
	last.where.line = line;
	last.where.column = column;
	last.has_where = 1;
	return code;
}

int error_prefix(const char *fmt, ...)
{
	struct buf prefixed = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&prefixed, fmt, ap);
	va_end(ap);
	buf_addstr(&prefixed, ": ");
	buf_add(&prefixed, last.msg.data, last.msg.len);
	buf_release(&last.msg);
	last.msg = prefixed;
	return last.code;
}

const char *error_message(void)
{
	return last.msg.len ? last.msg.data : "unknown error";
}

int error_last(void)
{
	return last.code;
}

const struct error_location *error_where(void)
{
	return last.has_where ? &last.where : NULL;
}

void error_clear(void)
{
	buf_release(&last.msg);
	buf_release(&last.file);
	last.code = ERR_OK;
	last.has_where = 0;
}

const char *error_name(int code)
{
	switch (code) {
	case ERR_OK: return "ok";
	case ERR_NOT_FOUND: return "not found";
	case ERR_AUTH: return "authentication";
	case ERR_HTTP: return "http";
	case ERR_NETWORK: return "network";
	case ERR_JSON: return "json";
	case ERR_YAML: return "yaml";
	case ERR_IO: return "io";
	case ERR_INPUT: return "input";
	case ERR_CONFLICT: return "conflict";
	case ERR_TIMEOUT: return "timeout";
	case ERR_REMOTE_FAILED: return "failed";
	case ERR_CANCELLED: return "cancelled";
	}
	return "error";
}

void error_save(struct error_saved *out)
{
	error_saved_release(out);
	out->code = last.code;
	out->message = xstrdup(error_message());
	if (last.has_where) {
		out->file = xstrdup(last.where.file);
		out->where = last.where;
		out->where.file = out->file;
	}
}

int error_restore(const struct error_saved *saved)
{
	const char *message = saved->message ? saved->message : "";

	if (saved->file)
		return error_set_at(saved->code, saved->file, saved->where.line,
				    saved->where.column, "%s", message);
	return error_set(saved->code, "%s", message);
}

const struct error_location *error_saved_where(const struct error_saved *saved)
{
	return saved->file ? &saved->where : NULL;
}

void error_saved_release(struct error_saved *saved)
{
	free(saved->message);
	free(saved->file);
	*saved = (struct error_saved)ERROR_SAVED_INIT;
}
