#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "core/banned.h"

static void stderr_line(enum log_level level, const char *text, void *ctx)
{
	static const char *const prefix[] = {
		[LOG_DEBUG] = "debug: ", [LOG_INFO] = "",
		[LOG_NOTICE] = "notice: ", [LOG_WARNING] = "warning: ",
		[LOG_ERROR] = "error: ",
	};
	(void)ctx;
	fprintf(stderr, "%s%s\n", prefix[level], text);
}

static struct log_sink sink = { stderr_line, NULL, NULL };
static int debug_on;
static char **secrets;
static size_t nr_secrets;

void log_set_sink(const struct log_sink *s)
{
	if (s) {
		sink = *s;
	} else {
		sink.line = stderr_line;
		sink.secret = NULL;
		sink.ctx = NULL;
	}
}

void log_set_debug(int enabled)
{
	debug_on = enabled;
}

static void add_one_secret(const char *value, size_t len)
{
	size_t i;

	if (len < 4)
		return;
	for (i = 0; i < nr_secrets; i++)
		if (strlen(secrets[i]) == len && !memcmp(secrets[i], value, len))
			return;
	/* Kept longest first, so a secret that contains another is masked whole. */
	secrets = xrealloc(secrets, (nr_secrets + 1) * sizeof(*secrets));
	for (i = nr_secrets; i > 0 && strlen(secrets[i - 1]) < len; i--)
		secrets[i] = secrets[i - 1];
	secrets[i] = xstrndup(value, len);
	nr_secrets++;
}

static int known_secret(const char *value)
{
	size_t i;

	for (i = 0; i < nr_secrets; i++)
		if (!strcmp(secrets[i], value))
			return 1;
	return 0;
}

void log_secret(const char *value)
{
	const char *line, *nl;

	if (!value || !*value)
		return;
	/* Told to the host once: repeating ::add-mask:: would only add noise. */
	if (known_secret(value))
		return;
	if (sink.secret)
		sink.secret(value, sink.ctx);
	add_one_secret(value, strlen(value));
	/* The runner masks each line of a multi-line secret on its own. */
	if (strchr(value, '\n'))
		for (line = value; *line; line = nl + 1) {
			nl = strchr(line, '\n');
			if (!nl) {
				add_one_secret(line, strlen(line));
				break;
			}
			if (nl > line && nl[-1] == '\r')
				add_one_secret(line, (size_t)(nl - 1 - line));
			else
				add_one_secret(line, (size_t)(nl - line));
		}
}

void log_mask(struct buf *text)
{
	struct buf out = BUF_INIT;
	size_t i, pos;

	for (i = 0; i < nr_secrets; i++) {
		const char *s = secrets[i];
		size_t slen = strlen(s);
		char *hit;

		if (!strstr(text->data, s))
			continue;
		buf_reset(&out);
		pos = 0;
		while ((hit = strstr(text->data + pos, s))) {
			buf_add(&out, text->data + pos, (size_t)(hit - text->data) - pos);
			buf_addstr(&out, "***");
			pos = (size_t)(hit - text->data) + slen;
		}
		buf_addstr(&out, text->data + pos);
		buf_wipe(text);
		*text = out;
		buf_init(&out);
	}
	buf_release(&out);
}

void log_reset_secrets(void)
{
	size_t i;

	for (i = 0; i < nr_secrets; i++) {
		OPENSSL_cleanse(secrets[i], strlen(secrets[i]));
		free(secrets[i]);
	}
	free(secrets);
	secrets = NULL;
	nr_secrets = 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	struct buf text = BUF_INIT;
	va_list ap;
	char *line, *nl;

	if (level == LOG_DEBUG && !debug_on)
		return;
	va_start(ap, fmt);
	buf_vaddf(&text, fmt, ap);
	va_end(ap);
	log_mask(&text);
	/* One sink call a line, so a host prefix applies to each. */
	for (line = text.data;; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		sink.line(level, line, sink.ctx);
		if (!nl || !nl[1])
			break;
	}
	buf_wipe(&text);
}
