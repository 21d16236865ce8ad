/*
 * Azure Pipelines (a container step, or a script step running the binary):
 * inputs from INPUT_<NAME> variables (also INPUT_<NAME> with '-' as '_',
 * since a pipeline's env names are usually written that way), everything
 * else as ##vso logging commands (azure-pipelines-task-lib's format).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci/host.h"
#include "core/crypto.h"
#include "core/fs.h"
#include "core/banned.h"

static const char *ado_input(struct ci *ci, const char *name)
{
	(void)ci;
	return ci_input_env_lenient(name);
}

/*
 * The agent obeys "##vso[" anywhere in a line (Command.TryParse), warns
 * about any other "##vso" (WorkerCommandManager), and its web console
 * formats "##[" lines. Text from outside is printed with the '#'s of each
 * "##vso" and "##[" turned into '*', as the agent's own
 * DeactivateVsoCommands does ("##vso" -> "**vso"): readable, and no marker
 * is left, however the markers are spelled (ci_marker_at).
 */
static void defuse(struct buf *out, const char *text)
{
	size_t n, i;

	while (*text) {
		n = ci_marker_at(text, "##vso");
		if (!n)
			n = ci_marker_at(text, "##[");
		if (!n) {
			buf_addch(out, *text++);
			continue;
		}
		for (i = 0; i < n; i++)
			buf_addch(out, text[i] == '#' ? '*' : text[i]);
		text += n;
	}
}

/* task-lib's escaping: data escapes %, CR, LF; properties also ; and ]. */
static void escape_exact(struct buf *out, const char *text, int property)
{
	for (; *text; text++) {
		switch (*text) {
		case '%': buf_addstr(out, "%AZP25"); break;
		case '\r': buf_addstr(out, "%0D"); break;
		case '\n': buf_addstr(out, "%0A"); break;
		case ';':
			buf_addstr(out, property ? "%3B" : ";");
			break;
		case ']':
			buf_addstr(out, property ? "%5D" : "]");
			break;
		default:
			buf_addch(out, *text);
		}
	}
}

/* Outside text in a logging command: defused, then escaped (escaping
 * adds no '#', so it cannot undo the defusing). */
static void escape(struct buf *out, const char *text, int property)
{
	struct buf d = BUF_INIT;

	defuse(&d, text);
	escape_exact(out, d.data, property);
	buf_release(&d);
}

/*
 * One logging command. `exact` keeps the data byte for byte (a secret to
 * mask, a variable's value): the agent reads one command a line, the first
 * "##vso[", which is ours at column 0, so whatever follows its ']' is data.
 */
static void vso(const char *area_action, const struct buf *props, const char *data, int exact)
{
	struct buf line = BUF_INIT;

	buf_addf(&line, "##vso[%s%s%s]", area_action, props && props->len ? " " : "",
		 props ? props->data : "");
	if (exact)
		escape_exact(&line, data ? data : "", 0);
	else
		escape(&line, data ? data : "", 0);
	buf_addch(&line, '\n');
	fwrite(line.data, 1, line.len, stdout);
	fflush(stdout);
	buf_release(&line);
}

static void pipelines_format_output(struct buf *out, const char *name, const char *value)
{
	buf_addstr(out, "##vso[task.setvariable variable=");
	escape(out, name, 1);
	buf_addstr(out, ";isOutput=true]");
	escape_exact(out, value, 0); /* exact: see vso() */
	buf_addch(out, '\n');
}

static int ado_output(struct ci *ci, const char *name, const char *value)
{
	struct buf line = BUF_INIT;

	(void)ci;
	pipelines_format_output(&line, name, value);
	fwrite(line.data, 1, line.len, stdout);
	fflush(stdout);
	buf_release(&line);
	return 0;
}

static void ado_secret(struct ci *ci, const char *value)
{
	(void)ci;
	vso("task.setsecret", NULL, value, 1);
}

/* A line of outside text, defused; `prefix` is ours ("##[debug]"). A "\r"
 * in it ends a line for the agent too, but no piece can hold a marker. */
static void plain(const char *prefix, const char *text)
{
	struct buf line = BUF_INIT;

	buf_addstr(&line, prefix);
	defuse(&line, text);
	buf_addch(&line, '\n');
	fwrite(line.data, 1, line.len, stdout);
	fflush(stdout);
	buf_release(&line);
}

static void ado_line(struct ci *ci, enum log_level level, const char *text)
{
	struct buf props = BUF_INIT;

	(void)ci;
	switch (level) {
	case LOG_DEBUG:
		plain("##[debug]", text);
		break;
	case LOG_INFO:
		plain("", text);
		break;
	case LOG_NOTICE:
		plain("", text);
		break;
	case LOG_WARNING:
	case LOG_ERROR:
		buf_addstr(&props, level == LOG_ERROR ? "type=error" : "type=warning");
		vso("task.logissue", &props, text, 0);
		break;
	}
	buf_release(&props);
}

static void ado_annotate(struct ci *ci, enum log_level level,
			 const struct error_location *where, const char *title,
			 const char *message)
{
	struct buf props = BUF_INIT, text = BUF_INIT;

	(void)ci;
	if (level != LOG_ERROR && level != LOG_WARNING) {
		/* Pipelines has no notice issue type: a plain line serves. */
		plain("", message);
		return;
	}
	buf_addstr(&props, level == LOG_ERROR ? "type=error" : "type=warning");
	if (where && where->file && *where->file) {
		buf_addstr(&props, ";sourcepath=");
		escape(&props, where->file, 1);
		if (where->line > 0)
			buf_addf(&props, ";linenumber=%d", where->line);
		if (where->line > 0 && where->column > 0)
			buf_addf(&props, ";columnnumber=%d", where->column);
	}
	if (title && *title)
		buf_addf(&text, "%s: ", title);
	buf_addstr(&text, message);
	vso("task.logissue", &props, text.data, 0);
	buf_release(&props);
	buf_release(&text);
}

static void ado_group(struct ci *ci, const char *title)
{
	struct buf one = BUF_INIT;
	const char *t;

	(void)ci;
	if (!title) {
		fputs("##[endgroup]\n", stdout);
		fflush(stdout);
		return;
	}
	/* A title is one line: its line ends become blanks. */
	for (t = title; *t; t++)
		buf_addch(&one, *t == '\r' || *t == '\n' ? ' ' : *t);
	plain("##[group]", one.data);
	buf_release(&one);
}

/* The agent's temporary folder: a container step has it mounted at the
 * path this variable gives inside the container, and the agent empties it
 * after every job. */
static const char *temp_dir(void)
{
	const char *d = getenv("AGENT_TEMPDIRECTORY");

	return d && *d ? d : ci_default_temp_dir();
}

static int ado_write_summary(struct ci *ci, const char *markdown)
{
	struct buf path = BUF_INIT, props = BUF_INIT;
	int ret;

	buf_addf(&path, "%s/mlops-%s-summary-", temp_dir(), ci->spec->name);
	random_hex(&path, 4);
	buf_addstr(&path, ".md");
	ret = fs_write_file(path.data, markdown, strlen(markdown));
	if (!ret)
		vso("task.uploadsummary", NULL, path.data, 0);
	buf_release(&path);
	buf_release(&props);
	return ret;
}

static int ado_upload_artifact(struct ci *ci, const char *name, const char *root,
			       char **url_out)
{
	struct buf props = BUF_INIT;

	(void)ci;
	(void)url_out;
	/* The agent uploads the folder itself, queued once it reads the command
	 * (ArtifactCommandExtension): so the folder stays where it was made
	 * (ci_artifact_folder_done), in a place the agent can read. */
	buf_addstr(&props, "containerfolder=");
	escape(&props, name, 1);
	buf_addstr(&props, ";artifactname=");
	escape(&props, name, 1);
	vso("artifact.upload", &props, root, 0);
	buf_release(&props);
	return 0;
}

static int ado_id_token(struct ci *ci, const char *audience, char **token_out)
{
	(void)ci;
	(void)audience;
	(void)token_out;
	return error_set(ERR_AUTH, "OIDC federation is not available on Azure Pipelines "
			 "in this version; use a client secret, a certificate or a managed identity");
}

const struct ci_host ci_pipelines_host = {
	.kind = CI_PIPELINES,
	.name = "Azure Pipelines",
	.input = ado_input,
	.output = ado_output,
	.secret = ado_secret,
	.line = ado_line,
	.annotate = ado_annotate,
	.group = ado_group,
	.write_summary = ado_write_summary,
	.upload_artifact = ado_upload_artifact,
	.id_token = ado_id_token,
	.finish = NULL,
	.temp_dir = temp_dir,
	.uploads_later = 1,
};
