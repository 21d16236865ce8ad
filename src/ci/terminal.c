/*
 * A terminal: inputs from --name value flags (then INPUT_<NAME> variables,
 * so one environment serves every host), logs on stderr, the outputs as one
 * JSON object on stdout at the end, the summary to --summary FILE, and
 * artifacts as zips under --artifacts DIR (default ./artifacts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ci/host.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/zip.h"
#include "core/banned.h"

static const char *term_input(struct ci *ci, const char *name)
{
	const char *const *p = kv_list_pairs(&ci->flags);
	const char *value = NULL;

	/* A flag given twice: the last one counts, as in most programs. */
	for (; *p; p += 2)
		if (!strcmp(p[0], name))
			value = p[1];
	return value ? value : ci_input_env_lenient(name);
}

static int term_output(struct ci *ci, const char *name, const char *value)
{
	(void)ci;
	(void)name;
	(void)value;
	return 0; /* printed together at the end (term_finish) */
}

static void term_secret(struct ci *ci, const char *value)
{
	(void)ci;
	(void)value; /* log.c masks our own lines; there is no runner to tell */
}

static void term_line(struct ci *ci, enum log_level level, const char *text)
{
	static const char *const prefix[] = {
		[LOG_DEBUG] = "debug: ", [LOG_INFO] = "",
		[LOG_NOTICE] = "notice: ", [LOG_WARNING] = "warning: ",
		[LOG_ERROR] = "error: ",
	};

	(void)ci;
	fprintf(stderr, "%s%s\n", prefix[level], text);
}

static void term_annotate(struct ci *ci, enum log_level level,
			  const struct error_location *where, const char *title,
			  const char *message)
{
	struct buf line = BUF_INIT;

	/* The compiler's form, file:line:col, which editors can jump to;
	 * skipped when the message already starts with it. */
	if (where && where->file && *where->file && strncmp(message, where->file, strlen(where->file))) {
		buf_addstr(&line, where->file);
		if (where->line > 0)
			buf_addf(&line, ":%d", where->line);
		if (where->line > 0 && where->column > 0)
			buf_addf(&line, ":%d", where->column);
		buf_addstr(&line, ": ");
	}
	if (title && *title)
		buf_addf(&line, "%s: ", title);
	buf_addstr(&line, message);
	term_line(ci, level == LOG_DEBUG ? LOG_INFO : level, line.data);
	buf_release(&line);
}

static void term_group(struct ci *ci, const char *title)
{
	(void)ci;
	if (title)
		fprintf(stderr, "== %s\n", title);
}

static int term_write_summary(struct ci *ci, const char *markdown)
{
	if (!ci->summary_file)
		return 0;
	return fs_write_file(ci->summary_file, markdown, strlen(markdown));
}

/* A bad --summary is bad input: refused before the workflow changes anything. */
static int term_check_summary(struct ci *ci)
{
	if (ci->summary_file && fs_is_dir(ci->summary_file))
		return error_set(ERR_INPUT, "--summary %s is a folder: give the file to write "
				 "the summary to", ci->summary_file);
	return 0;
}

static int write_to_file(const void *data, size_t len, void *ctx)
{
	FILE *f = ctx;

	if (fwrite(data, 1, len, f) != len)
		return error_set(ERR_IO, "writing the artifact zip: %s", strerror(errno));
	return 0;
}

/*
 * The zip is written beside its final name and renamed into place once
 * whole, so a failed or interrupted zip leaves no empty or truncated file
 * that could pass for the artifact.
 */
static int term_upload_artifact(struct ci *ci, const char *name, const char *root,
				char **url_out)
{
	const char *dir = ci->artifacts_dir ? ci->artifacts_dir : "artifacts";
	struct zip_writer *zip = NULL;
	struct buf path = BUF_INIT, part = BUF_INIT;
	FILE *f = NULL;
	int ret;

	if ((ret = fs_mkdirs(dir)))
		goto done;
	buf_addf(&path, "%s/%s.zip", dir, name);
	buf_addf(&part, "%s.part", path.data);
	f = fopen(part.data, "wb");
	if (!f) {
		ret = error_set(ERR_IO, "%s: %s", part.data, strerror(errno));
		goto done;
	}
	if ((ret = zip_writer_open(&zip, ZIP_DEFAULT_LEVEL, write_to_file, f)) ||
	    (ret = zip_add_tree(zip, root)) || (ret = zip_writer_close(zip)))
		goto done;
	ret = fclose(f);
	f = NULL;
	if (ret || rename(part.data, path.data)) {
		ret = error_set(ERR_IO, "%s: %s", path.data, strerror(errno));
		goto done;
	}
	log_info("artifact '%s' written to %s", name, path.data);
	if (url_out)
		*url_out = buf_detach(&path, NULL);
done:
	zip_writer_free(zip);
	if (f)
		fclose(f);
	if (ret && part.len)
		unlink(part.data);
	buf_release(&path);
	buf_release(&part);
	return ret;
}

static int term_id_token(struct ci *ci, const char *audience, char **token_out)
{
	(void)ci;
	(void)audience;
	(void)token_out;
	return error_set(ERR_AUTH, "no OIDC token outside GitHub Actions: use a client secret, "
			 "a certificate or a managed identity");
}

static int term_finish(struct ci *ci)
{
	cJSON *obj = json_new_object();
	struct buf text = BUF_INIT;
	const char *const *p;

	for (p = kv_list_pairs(&ci->outputs); *p; p += 2) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, p[0]);
		json_add_string(obj, p[0], p[1]);
	}
	json_write(&text, obj);
	fprintf(stdout, "%s\n", text.data);
	fflush(stdout);
	cJSON_Delete(obj);
	buf_release(&text);
	return 0;
}

const struct ci_host ci_terminal_host = {
	.kind = CI_TERMINAL,
	.name = "terminal",
	.input = term_input,
	.output = term_output,
	.secret = term_secret,
	.line = term_line,
	.annotate = term_annotate,
	.group = term_group,
	.write_summary = term_write_summary,
	.check_summary = term_check_summary,
	.upload_artifact = term_upload_artifact,
	.id_token = term_id_token,
	.finish = term_finish,
	.temp_dir = ci_default_temp_dir,
	.uploads_later = 0,
};
