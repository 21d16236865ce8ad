#ifndef CORE_ERROR_H
#define CORE_ERROR_H

/*
 * Errors, libgit2-style: a function that can fail returns 0 or one of the
 * negative codes below, and sets the message once, at the lowest level that
 * knows the facts (the file, line and field of bad input; the method and
 * resource of a failed call, never a token or query string). Callers add
 * context with error_prefix, never by overwriting. Only src/cmd turns an
 * error into an annotation and an exit code.
 *
 * The message lives in thread-local storage and stays valid until the next
 * error_set or error_clear on the same thread.
 */
enum error_code {
	ERR_OK = 0,
	ERR_NOT_FOUND = -1, /* the thing asked for does not exist */
	ERR_AUTH = -2,      /* credentials missing, refused or expired */
	ERR_HTTP = -3,      /* the server answered with an error status */
	ERR_NETWORK = -4,   /* no answer: DNS, connect, TLS, reset */
	ERR_JSON = -5,      /* malformed JSON or a field of the wrong type */
	ERR_YAML = -6,      /* malformed YAML or a field of the wrong type */
	ERR_IO = -7,        /* a local file or pipe failed */
	ERR_INPUT = -8,     /* bad user input: inputs, config files */
	ERR_CONFLICT = -9,  /* the change clashes with what exists */
	ERR_TIMEOUT = -10,  /* waited as long as allowed */
	/* The remote operation ran and failed: a training job, an ARM
	 * deployment or what-if that ended Failed. Not ERR_HTTP: every call
	 * was answered, the work itself went wrong. */
	ERR_REMOTE_FAILED = -11,
	/* Stopped before the end: by a signal (the stop flag), or the remote
	 * operation was Canceled. */
	ERR_CANCELLED = -12,
};

/* Where bad input was found; line and column start at 1, 0 means unknown. */
struct error_location {
	const char *file;
	int line;
	int column;
};

/* Sets the message (printf-style) and returns `code`, for `return error_set(...)`. */
int error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, remembering where in which file the problem is. */
int error_set_at(int code, const char *file, int line, int column,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Puts "<context>: " in front of the current message; returns the last code. */
int error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

const char *error_message(void);
int error_last(void);
/* The location of the last error, or NULL when it has none. */
const struct error_location *error_where(void);
void error_clear(void);
/* A short name for a code: "not found", "auth", ..., "failed", "cancelled". */
const char *error_name(int code);

/*
 * The current error kept aside whole (code, message and location, the file
 * name copied), for code that must do more work, which may fail or clear
 * the error, before it returns the first error: writing outputs after a
 * failure, cancelling a job it gives up on, a best-effort look closer.
 * Initialise with ERROR_SAVED_INIT or error_save; release with
 * error_saved_release (a restored copy stays valid until then).
 */
struct error_saved {
	int code;                    /* error_last() when saved; a caller may set another */
	char *message;
	char *file;                  /* owned; NULL when the error had no location */
	struct error_location where; /* where.file points into `file` */
};
#define ERROR_SAVED_INIT { 0, NULL, NULL, { NULL, 0, 0 } }
/* Copies the current error into `out` (whose old contents it releases). */
void error_save(struct error_saved *out);
/* Makes `saved` the current error again; returns its code. */
int error_restore(const struct error_saved *saved);
/* Its location, for an annotation, or NULL when it has none; borrowed. */
const struct error_location *error_saved_where(const struct error_saved *saved);
void error_saved_release(struct error_saved *saved);

#endif
