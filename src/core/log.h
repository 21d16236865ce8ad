#ifndef CORE_LOG_H
#define CORE_LOG_H

#include "core/buf.h"

/*
 * Logging for every layer. Lines go to a sink that the CI layer installs
 * (the default sink writes to stderr), so library code never prints a
 * workflow command itself. Every line is masked before it reaches the sink:
 * each registered secret, and each line of a multi-line secret, becomes
 * "***" — the same rule the GitHub runner applies after ::add-mask::, kept
 * here too because a terminal or Azure Pipelines has no runner to do it.
 */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERROR };

struct log_sink {
	/* One masked line (no trailing newline). */
	void (*line)(enum log_level level, const char *text, void *ctx);
	/* A new secret, so the host can mask it too (::add-mask::). */
	void (*secret)(const char *secret, void *ctx);
	void *ctx;
};

/* Installs `sink` (copied); NULL restores the stderr sink. */
void log_set_sink(const struct log_sink *sink);
void log_set_debug(int enabled);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_msg(LOG_ERROR, __VA_ARGS__)

/*
 * Registers a secret: from now on it is masked in every log line, and the
 * sink is told (before anything could print it). Pieces shorter than 4
 * bytes are told to the sink but not replaced in our own text: masking "a"
 * everywhere would garble every line. Copies `value`.
 */
void log_secret(const char *value);
/* Replaces every registered secret in `text` with "***". */
void log_mask(struct buf *text);
/* Forgets all secrets (tests). */
void log_reset_secrets(void);

#endif
