/*
 * GitHub Actions (and act): inputs from INPUT_* variables, outputs and the
 * step summary through the file commands, everything else as workflow
 * commands on stdout. The rules are those of docs/actions-contract.md, written
 * so that both the runner and act accept them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci/artifact.h"
#include "ci/host.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/banned.h"

static const char *gh_input(struct ci *ci, const char *name)
{
	struct buf env = BUF_INIT;
	const char *v;

	(void)ci;
	ci_input_env_name(&env, name);
	v = getenv(env.data);
	buf_release(&env);
	return v;
}

/* One workflow command line, flushed at once so it keeps its place among
 * the lines a child process or stderr may write. */
static void command(const char *name, const char *props, const char *data)
{
	struct buf line = BUF_INIT;

	buf_addf(&line, "::%s%s%s::", name, props && *props ? " " : "", props ? props : "");
	ci_escape_data(&line, data ? data : "");
	buf_addch(&line, '\n');
	fwrite(line.data, 1, line.len, stdout);
	fflush(stdout);
	buf_release(&line);
}

/*
 * NAME<<DELIM, the value, DELIM: the heredoc form the toolkit always uses,
 * with a fresh 128-bit delimiter that must not occur in the value. One
 * O_APPEND write, LF only, no blank separator lines (act rejects them).
 */
int github_format_output(struct buf *out, const char *name, const char *value)
{
	struct buf delim = BUF_INIT;
	int ret = 0;

	buf_addstr(&delim, "ghadelimiter_");
	random_hex(&delim, 16);
	if (strstr(value, delim.data) || strstr(name, delim.data)) {
		ret = error_set(ERR_INPUT, "output '%s': value contains its delimiter", name);
		goto done;
	}
	buf_addf(out, "%s<<%s\n%s\n%s\n", name, delim.data, value, delim.data);
done:
	buf_release(&delim);
	return ret;
}

static int gh_output(struct ci *ci, const char *name, const char *value)
{
	const char *path = getenv("GITHUB_OUTPUT");
	struct buf block = BUF_INIT;
	int ret;

	(void)ci;
	if (!path || !*path)
		return error_set(ERR_IO, "GITHUB_OUTPUT is not set; cannot set output '%s'", name);
	ret = github_format_output(&block, name, value);
	if (!ret)
		ret = fs_append(path, block.data, block.len);
	buf_release(&block);
	return ret;
}

static void gh_secret(struct ci *ci, const char *value)
{
	(void)ci;
	command("add-mask", NULL, value);
}

/*
 * Whether the runner could read a command anywhere in `text`: its output
 * handler looks at every line holding "::" or "##[" (OutputManager), the
 * legacy form "##[name]" counts anywhere in a line, a line ends at "\r" as
 * well as "\n", and leading white space (Unicode's, not only blanks) is
 * trimmed before "::". So any "::" or "##[" at all, markers matched as
 * .NET does (ci_marker_at), means the line is fenced.
 */
static int runner_could_read_command(const char *text)
{
	for (; *text; text++)
		if (ci_marker_at(text, "::") || ci_marker_at(text, "##["))
			return 1;
	return 0;
}

/*
 * A plain line that could be read as a command (text from Azure or a job's
 * log, say) is fenced with stop-commands and a fresh random token, so the
 * runner prints it instead of obeying it. Every piece the runner splits it
 * into (at "\r") lies inside the fence; only "::<token>::" ends it, and
 * the token is made after the text was written.
 */
static void gh_plain_line(const char *text)
{
	struct buf token = BUF_INIT;

	if (!runner_could_read_command(text)) {
		fprintf(stdout, "%s\n", text);
		fflush(stdout);
		return;
	}
	random_hex(&token, 16);
	fprintf(stdout, "::stop-commands::%s\n%s\n::%s::\n", token.data, text, token.data);
	fflush(stdout);
	buf_release(&token);
}

static void gh_line(struct ci *ci, enum log_level level, const char *text)
{
	(void)ci;
	switch (level) {
	case LOG_DEBUG:
		command("debug", NULL, text);
		break;
	case LOG_INFO:
		gh_plain_line(text);
		break;
	case LOG_NOTICE:
		command("notice", NULL, text);
		break;
	case LOG_WARNING:
		command("warning", NULL, text);
		break;
	case LOG_ERROR:
		command("error", NULL, text);
		break;
	}
}

/* A path the runner can place: relative to the workspace where possible. */
static void annotation_file(struct buf *out, const char *file)
{
	const char *ws = getenv("GITHUB_WORKSPACE");
	size_t n = ws ? strlen(ws) : 0;

	if (n && !strncmp(file, ws, n) && file[n] == '/')
		file += n + 1;
	while (!strncmp(file, "./", 2))
		file += 2;
	ci_escape_property(out, file);
}

static void github_annotation(struct buf *props, const struct error_location *where,
		       const char *title)
{
	if (where && where->file && *where->file) {
		buf_addstr(props, "file=");
		annotation_file(props, where->file);
		if (where->line > 0) {
			buf_addf(props, ",line=%d", where->line);
			if (where->column > 0)
				buf_addf(props, ",col=%d", where->column);
		}
	}
	if (title && *title) {
		if (props->len)
			buf_addch(props, ',');
		buf_addstr(props, "title=");
		/* act drops a property whose value holds '=' (actions-contract 3.1). */
		for (; *title; title++) {
			char one[2] = { *title == '=' ? ':' : *title, 0 };
			ci_escape_property(props, one);
		}
	}
}

static void gh_annotate(struct ci *ci, enum log_level level,
			const struct error_location *where, const char *title,
			const char *message)
{
	struct buf props = BUF_INIT;

	(void)ci;
	github_annotation(&props, where, title);
	command(level == LOG_ERROR ? "error" : level == LOG_WARNING ? "warning" : "notice",
		props.data, message);
	buf_release(&props);
}

static void gh_group(struct ci *ci, const char *title)
{
	(void)ci;
	if (title)
		command("group", NULL, title);
	else
		command("endgroup", NULL, "");
}

static int gh_write_summary(struct ci *ci, const char *markdown)
{
	const char *path = getenv("GITHUB_STEP_SUMMARY");

	(void)ci;
	if (!path || !*path)
		return 0; /* no summary on this host: nothing to do */
	return fs_append(path, markdown, strlen(markdown));
}

static int gh_check_summary(struct ci *ci)
{
	const char *path = getenv("GITHUB_STEP_SUMMARY");

	(void)ci;
	if (path && *path && fs_is_dir(path))
		return error_set(ERR_IO, "GITHUB_STEP_SUMMARY (%s) is a folder, not a file: "
				 "the step summary cannot be written", path);
	return 0;
}

static int gh_upload_artifact(struct ci *ci, const char *name, const char *root,
			      char **url_out)
{
	struct artifact_service svc = { 0 };
	struct artifact_result result = ARTIFACT_RESULT_INIT;
	struct http_client *http;
	const char *days = getenv("GITHUB_RETENTION_DAYS");
	struct buf url = BUF_INIT;
	int ret;

	svc.results_url = getenv("ACTIONS_RESULTS_URL");
	svc.runtime_token = getenv("ACTIONS_RUNTIME_TOKEN");
	if (!svc.results_url || !*svc.results_url || !svc.runtime_token || !*svc.runtime_token) {
		log_warning("artifact '%s' not uploaded: this run offers no artifact storage "
			    "(ACTIONS_RESULTS_URL is not set; under act, pass --artifact-server-path)",
			    name);
		return ERR_NOT_FOUND;
	}
	log_secret(svc.runtime_token);
	/* The repository's maximum retention is the default we ask for. */
	svc.retention_days = days && *days ? (int)strtol(days, NULL, 10) : 0;
	if ((ret = ci_http(ci, &http)))
		return ret;
	ret = artifact_upload(&result, http, &svc, name, root);
	if (!ret) {
		free(ci->artifact_id);
		ci->artifact_id = result.id ? xstrdup(result.id) : NULL;
	}
	if (!ret && url_out) {
		if (*ci->context.server_url && *ci->context.repository && *ci->context.run_id) {
			artifact_url(&url, ci->context.server_url, ci->context.repository,
				     ci->context.run_id, result.id);
			*url_out = buf_detach(&url, NULL);
		}
	}
	artifact_result_release(&result);
	buf_release(&url);
	return ret;
}

/* GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=... (contract section 4). */
static int gh_id_token(struct ci *ci, const char *audience, char **token_out)
{
	const char *url = getenv("ACTIONS_ID_TOKEN_REQUEST_URL");
	const char *token = getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { 0 };
	struct buf full = BUF_INIT, auth = BUF_INIT;
	struct http_client *http;
	const char *headers[3];
	const char *value;
	cJSON *json = NULL;
	int ret;

	if (!url || !*url || !token || !*token)
		return error_set(ERR_AUTH, "no GitHub OIDC token available: the job needs "
				 "'permissions: id-token: write' (and act offers none)");
	log_secret(token);
	buf_addstr(&full, url);
	if (audience && *audience) {
		buf_addstr(&full, strchr(url, '?') ? "&audience=" : "?audience=");
		url_encode(&full, audience);
	}
	buf_addf(&auth, "Authorization: Bearer %s", token);
	headers[0] = auth.data;
	headers[1] = "Accept: application/json";
	headers[2] = NULL;
	req.method = "GET";
	req.url = full.data;
	req.headers = headers;
	if ((ret = ci_http(ci, &http)) || (ret = http_send(http, &req, &resp)))
		goto done;
	if (resp.status != 200) {
		ret = http_status_error(&resp, "GET", full.data, "GitHub OIDC token request failed");
		if (ret == ERR_HTTP || ret == ERR_NOT_FOUND)
			ret = error_set(ERR_AUTH, "%s", error_message());
		goto done;
	}
	if ((ret = json_parse(&json, resp.body.data, resp.body.len, "GitHub OIDC token reply")))
		goto done;
	if ((ret = json_get_string(&value, json, "value")) || !*value) {
		ret = error_set(ERR_AUTH, "GitHub OIDC token reply has no 'value'");
		goto done;
	}
	log_secret(value);
	*token_out = xstrdup(value);
done:
	cJSON_Delete(json);
	http_response_release(&resp);
	buf_release(&full);
	buf_wipe(&auth);
	return ret;
}

const struct ci_host ci_github_host = {
	.kind = CI_GITHUB,
	.name = "GitHub Actions",
	.input = gh_input,
	.output = gh_output,
	.secret = gh_secret,
	.line = gh_line,
	.annotate = gh_annotate,
	.group = gh_group,
	.write_summary = gh_write_summary,
	.check_summary = gh_check_summary,
	.upload_artifact = gh_upload_artifact,
	.id_token = gh_id_token,
	.finish = NULL,
	.temp_dir = ci_default_temp_dir,
	.uploads_later = 0,
};
