/*
 * Hostile text cannot form a workflow command. Every line of a corpus of
 * hostile log lines goes through the real printing paths (the job-log line
 * splitter, each log level, annotations, group titles) under GitHub Actions
 * and under Azure Pipelines; stdout is captured and read back by a reader
 * that splits and matches lines as the runner and the agent do (rules and
 * sources in docs/workflow-commands.md), only stricter: any command name
 * counts, and the agent's markers count anywhere in a line. The only
 * commands allowed are the ones the code emits on purpose.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ci/ci.h"
#include "core/log.h"
#include "mlops/job_follow.h"
#include "support/check.h"

#define S(lit) { lit, sizeof(lit) - 1 }

struct bytes {
	const char *data;
	size_t len;
};

static const struct bytes corpus[] = {
	S("progress\r::error::forged after a carriage return"),
	S("progress 10%\r\r::add-mask::x\r"),
	S("::error::plain command"),
	S("  ::warning::indented with spaces"),
	S("\t\v\f::notice::indented with other white space"),
	S("\xc2\xa0::error::indented with a no-break space"),
	S("\xe3\x80\x80::error::indented with an ideographic space"),
	S(":\xe2\x80\x8b:error::a zero-width space between the colons"),
	S(":\x01:error::a control byte between the colons"),
	S("text ::error::mid-line"),
	S("ok ##[error]legacy form mid-line"),
	S("##[set-output name=x;]y"),
	S("progress\r##[group]forged group"),
	S("##vso[task.setvariable variable=x]y"),
	S("  ##vso[task.complete result=Failed;]indented"),
	S("text ##vso[task.logissue type=error]mid-line"),
	S("##VSO[task.complete result=Failed;]upper case"),
	S("#\xe2\x80\x8b#vso[task.complete result=Failed;]zero-width space"),
	S("##\xc2\xadvso[task.complete result=Failed;]soft hyphen"),
	S("#\x01#vso[task.complete result=Failed;]control byte"),
	S("##vso"),
	S("##["),
	S("###vso[task.complete]"),
	S("##[##vso[##[::::"),
	S("a\0::error::after a NUL"),
	S("a\0##vso[task.setvariable variable=x]after a NUL"),
	S("#\0#vso[task.complete]NUL inside the marker"),
	S("line1\n::error::line2\r##vso[task.complete]line3"),
	S("%0A::error::percent %0D%0A##vso[task.complete]%AZP25"),
	S("]\r##vso[task.setvariable variable=a]b"),
	S("::stop-commands::guessed-token"),
	S("x ##[stop-commands]guessed-token-in-the-legacy-form"),
	S("::guessed-token::"),
	S("::endgroup::"),
	S("\r\n::error::crlf first\r\n"),
	S("mixed \x1b[31m::error::colour\x1b[0m ##vso[task.complete] ##[warning]x\r::notice::y"),
};
#define NR_CORPUS (sizeof(corpus) / sizeof(corpus[0]))

/* ---- capturing stdout ---- */

static FILE *capture_file;
static int saved_stdout = -1;

static void capture_begin(void)
{
	fflush(stdout);
	capture_file = tmpfile();
	cr_assert_not_null(capture_file);
	saved_stdout = dup(STDOUT_FILENO);
	cr_assert(saved_stdout >= 0);
	cr_assert(dup2(fileno(capture_file), STDOUT_FILENO) >= 0);
}

static void capture_end(struct buf *out)
{
	char chunk[4096];
	size_t n;

	fflush(stdout);
	cr_assert(dup2(saved_stdout, STDOUT_FILENO) >= 0);
	close(saved_stdout);
	rewind(capture_file);
	buf_reset(out);
	while ((n = fread(chunk, 1, sizeof(chunk), capture_file)) > 0)
		buf_add(out, chunk, n);
	fclose(capture_file);
}

/* ---- how the runner and the agent read lines ---- */

struct found {
	char names[256][64];    /* what was recognised, in order */
	int n;
};

static void found_add(struct found *f, const char *name, size_t len)
{
	cr_assert(f->n < 256, "too many commands");
	if (len > 63)
		len = 63;
	memcpy(f->names[f->n], name, len);
	f->names[f->n][len] = '\0';
	f->n++;
}

/*
 * .NET's culture-aware search (string.IndexOf(string), StartsWith(string))
 * skips characters without collation weight: NUL and other controls,
 * zero-width characters, the soft hyphen, the byte order mark. The reader
 * drops them before matching, as the runner and the agent would.
 */
static void skeleton(struct buf *out, const char *s, size_t len)
{
	size_t i;

	buf_reset(out);
	for (i = 0; i < len; i++) {
		const unsigned char *u = (const unsigned char *)s + i;
		size_t left = len - i;

		if ((u[0] < 0x20 && u[0] != '\t' && u[0] != '\v' && u[0] != '\f') || u[0] == 0x7f)
			continue;
		if (left >= 2 && u[0] == 0xc2 && u[1] == 0xad) {
			i += 1;
			continue;
		}
		if (left >= 3 && u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x8b && u[2] <= 0x8f) {
			i += 2;
			continue;
		}
		if (left >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) {
			i += 2;
			continue;
		}
		buf_addch(out, (char)u[0]);
	}
}

/* The length of the white space .NET's TrimStart() removes at `s`. */
static size_t dotnet_space(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	for (;;) {
		if (u[i] == ' ' || (u[i] >= '\t' && u[i] <= '\r'))
			i += 1;
		else if (u[i] == 0xc2 && (u[i + 1] == 0xa0 || u[i + 1] == 0x85))
			i += 2;
		else if (u[i] == 0xe1 && u[i + 1] == 0x9a && u[i + 2] == 0x80)
			i += 3;
		else if (u[i] == 0xe2 && u[i + 1] == 0x80 &&
			 ((u[i + 2] >= 0x80 && u[i + 2] <= 0x8a) || u[i + 2] == 0xa8 ||
			  u[i + 2] == 0xa9 || u[i + 2] == 0xaf))
			i += 3;
		else if (u[i] == 0xe2 && u[i + 1] == 0x81 && u[i + 2] == 0x9f)
			i += 3;
		else if (u[i] == 0xe3 && u[i + 1] == 0x80 && u[i + 2] == 0x80)
			i += 3;
		else
			return i;
	}
}

/* Commands the runner has registered: a V2 line naming another is tried
 * again in the legacy form (ActionCommandManager.TryProcessCommand). */
static int runner_registered(const char *name, const char *token)
{
	static const char *const names[] = {
		"stop-commands", "debug", "notice", "warning", "error", "group", "endgroup",
		"add-mask", "echo", "add-matcher", "remove-matcher", "set-output",
		"save-state", "set-env", "add-path", NULL,
	};
	const char *const *n;

	if (token && !strcasecmp(name, token))
		return 1;
	for (n = names; *n; n++)
		if (!strcasecmp(*n, name))
			return 1;
	return 0;
}

/* A line as ActionCommand.TryParseV2 reads it: the command's name into
 * `name` (empty when none), its raw data into `*data`. */
static void runner_parse_v2(const char *line, char *name, size_t cap, const char **data)
{
	const char *t = line + dotnet_space(line), *end;
	size_t n;

	name[0] = '\0';
	*data = NULL;
	if (strncmp(t, "::", 2) || !(end = strstr(t + 2, "::")))
		return;
	n = strcspn(t + 2, " ");
	if (n > (size_t)(end - t - 2))
		n = (size_t)(end - t - 2);
	n = n < cap - 1 ? n : cap - 1;
	memcpy(name, t + 2, n);
	name[n] = '\0';
	*data = end + 2;
}

/* The same for the legacy form, ActionCommand.TryParse: "##[" anywhere. */
static void runner_parse_v1(const char *line, char *name, size_t cap, const char **data)
{
	const char *p, *rb;
	size_t n;

	name[0] = '\0';
	*data = NULL;
	if (!(p = strstr(line, "##[")) || !(rb = strchr(p, ']')))
		return;
	n = strcspn(p + 3, " ");
	if (n > (size_t)(rb - p - 3))
		n = (size_t)(rb - p - 3);
	n = n < cap - 1 ? n : cap - 1;
	memcpy(name, p + 3, n);
	name[n] = '\0';
	*data = rb + 1;
}

/* Calls `fn` for each line of `out` as .NET's StreamReader.ReadLine splits
 * it: at "\n", "\r" and "\r\n". */
static void each_line(const struct buf *out, void (*fn)(const char *, size_t, void *), void *ctx)
{
	size_t start = 0, i;

	for (i = 0; i < out->len; i++) {
		if (out->data[i] != '\n' && out->data[i] != '\r')
			continue;
		fn(out->data + start, i - start, ctx);
		if (out->data[i] == '\r' && i + 1 < out->len && out->data[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	if (start < out->len)
		fn(out->data + start, out->len - start, ctx);
}

struct runner {
	struct found *found;
	char token[128];    /* while commands are stopped */
	struct buf skel;
};

static void runner_line(const char *s, size_t len, void *ctx)
{
	struct runner *r = ctx;
	char v2[128], v1[128];
	const char *d2, *d1;
	const char *token = r->token[0] ? r->token : NULL;

	skeleton(&r->skel, s, len);
	runner_parse_v2(r->skel.data, v2, sizeof(v2), &d2);
	/* A V2 line with a registered name is that command; else the legacy
	 * form is tried (TryProcessCommand). */
	if (v2[0] && runner_registered(v2, token))
		v1[0] = '\0';
	else
		runner_parse_v1(r->skel.data, v1, sizeof(v1), &d1);
	if (token) {
		if (!strcasecmp(v2, token) || !strcasecmp(v1, token)) {
			found_add(r->found, "(resume)", 8);
			r->token[0] = '\0';
		}
		return;
	}
	if (!strcasecmp(v2, "stop-commands")) {
		cr_assert(strlen(d2) >= 32, "a stop token must be long and random: '%s'", d2);
		snprintf(r->token, sizeof(r->token), "%s", d2);
		found_add(r->found, "(stop)", 6);
		return;
	}
	/* Stricter than the runner: an unknown V2 name counts too. */
	if (v2[0])
		found_add(r->found, v2, strlen(v2));
	if (v1[0])
		found_add(r->found, v1, strlen(v1));
}

/* What the GitHub runner would obey in `out`; fails when a stop-commands
 * fence is left open. */
static void runner_read(struct found *f, const struct buf *out)
{
	struct runner r;

	memset(&r, 0, sizeof(r));
	memset(f, 0, sizeof(*f));
	r.found = f;
	buf_init(&r.skel);
	each_line(out, runner_line, &r);
	cr_assert(!r.token[0], "a stop-commands fence was left open:\n%s", out->data);
	buf_release(&r.skel);
}

/*
 * The agent: Command.TryParse finds "##vso[" anywhere in a line, and it
 * warns about any "##vso" it cannot parse (WorkerCommandManager); "##["
 * formats a line for the web console. Stricter here: every "##vso"
 * (any case) and every "##[" anywhere counts, each with the text up to
 * the next space or ']' as its name.
 */
static void agent_line(const char *s, size_t len, void *ctx)
{
	struct found *f = ctx;
	struct buf skel = BUF_INIT;
	size_t i, n;

	skeleton(&skel, s, len);
	for (i = 0; i < skel.len; i++) {
		if (!strncasecmp(skel.data + i, "##vso", 5) || !strncmp(skel.data + i, "##[", 3)) {
			n = strcspn(skel.data + i, " ]");
			if (i > 0)
				found_add(f, "(mid-line)", 10);
			else
				found_add(f, skel.data + i, n);
		}
	}
	buf_release(&skel);
}

static void agent_read(struct found *f, const struct buf *out)
{
	memset(f, 0, sizeof(*f));
	each_line(out, agent_line, f);
}

/* ---- the hosts ---- */

static const struct input_spec no_inputs[] = { { NULL, NULL, NULL, 0 } };
static const struct output_spec no_outputs[] = { { NULL, NULL } };
static const struct ci_spec spec = { "test-flow", no_inputs, no_outputs };

static void github_host(void)
{
	setenv("GITHUB_ACTIONS", "true", 1);
	unsetenv("TF_BUILD");
	unsetenv("GITHUB_STEP_SUMMARY");
	setenv("RUNNER_DEBUG", "1", 1);
}

static void pipelines_host(void)
{
	unsetenv("GITHUB_ACTIONS");
	setenv("TF_BUILD", "True", 1);
	setenv("AGENT_TEMPDIRECTORY", "/tmp", 1);
	setenv("SYSTEM_DEBUG", "true", 1);
}

/* The job-log path: model-ci's on_line passes each line to log_info. */
static void job_line(const char *line, void *ctx)
{
	(void)ctx;
	log_info("%s", line);
}

/* The whole corpus as one job log, read in awkward chunks. */
static void print_job_log(void)
{
	struct job_lines lines = JOB_LINES_INIT;
	struct buf log = BUF_INIT;
	size_t i, at, step;

	for (i = 0; i < NR_CORPUS; i++) {
		buf_add(&log, corpus[i].data, corpus[i].len);
		buf_addch(&log, '\n');
	}
	for (at = 0, step = 1; at < log.len; at += step, step = step % 7 + 1)
		job_lines_feed(&lines, log.data + at, at + step > log.len ? log.len - at : step,
			       job_line, NULL);
	job_lines_flush(&lines, job_line, NULL);
	job_lines_release(&lines);
	buf_release(&log);
}

static void assert_only(const struct found *f, const char *const *allowed, const char *what,
			size_t item, const struct buf *out)
{
	int i;
	const char *const *a;

	for (i = 0; i < f->n; i++) {
		for (a = allowed; *a && strcasecmp(*a, f->names[i]); a++)
			;
		cr_assert_not_null(*a, "%s of corpus line %zu formed command '%s':\n%s", what, item,
				   f->names[i], out->data);
	}
}

/* How many lines log_msg hands its sink for `text`. */
static int sink_lines(const char *text)
{
	int n = 1;

	for (; *text; text++)
		if (*text == '\n' && text[1])
			n++;
	return n;
}

static int count(const struct found *f, const char *name)
{
	int i, n = 0;

	for (i = 0; i < f->n; i++)
		n += !strcasecmp(f->names[i], name);
	return n;
}

TestSuite(injection);

/* The readers themselves: what they must catch when printed raw. */
Test(injection, the_readers_find_what_the_hosts_would_obey)
{
	struct buf out = BUF_INIT;
	struct found f;

	buf_addstr(&out, "progress\r::error::a\n\xc2\xa0::warning::b\n:\xe2\x80\x8b:notice::c\n"
			 "x ##[add-mask]d\n::nope::e ##[group]f\n"
			 "::stop-commands::0123456789abcdef0123456789abcdef\n::error::fenced\n"
			 "::0123456789abcdef0123456789abcdef::\n");
	runner_read(&f, &out);
	cr_assert_eq(f.n, 8);
	cr_assert_str_eq(f.names[0], "error");
	cr_assert_str_eq(f.names[1], "warning");
	cr_assert_str_eq(f.names[2], "notice");
	cr_assert_str_eq(f.names[3], "add-mask");
	cr_assert_str_eq(f.names[4], "nope", "an unknown name still counts");
	cr_assert_str_eq(f.names[5], "group", "and the legacy form gets its chance");
	cr_assert_str_eq(f.names[6], "(stop)");
	cr_assert_str_eq(f.names[7], "(resume)");

	buf_reset(&out);
	buf_addstr(&out, "ok\r##[error]a\nb ##vso[task.complete]\n#\xe2\x80\x8b#VSO[x.y]\n");
	agent_read(&f, &out);
	cr_assert_eq(f.n, 3);
	cr_assert_str_eq(f.names[0], "##[error");
	cr_assert_str_eq(f.names[1], "(mid-line)");
	cr_assert_str_eq(f.names[2], "##VSO[x.y");
	buf_release(&out);
}

Test(injection, github_job_log_lines_form_no_command)
{
	static const char *const fence[] = { "(stop)", "(resume)", NULL };
	struct buf out = BUF_INIT;
	struct found f;
	struct ci *ci;

	github_host();
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	capture_begin();
	print_job_log();
	capture_end(&out);
	ci_close(ci);
	runner_read(&f, &out);
	assert_only(&f, fence, "the job log", 0, &out);
	cr_assert(count(&f, "(stop)") > 0, "the reader saw no fence at all:\n%s", out.data);
	cr_assert(strstr(out.data, "\na\\0::error::after a NUL\n"), "a NUL hid the rest of its line:\n%s",
		  out.data);
	buf_release(&out);
}

Test(injection, pipelines_job_log_lines_form_no_command)
{
	static const char *const none[] = { NULL };
	struct buf out = BUF_INIT;
	struct found f;
	struct ci *ci;

	pipelines_host();
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	capture_begin();
	print_job_log();
	capture_end(&out);
	ci_close(ci);
	agent_read(&f, &out);
	assert_only(&f, none, "the job log", 0, &out);
	cr_assert(strstr(out.data, "\na\\0**vso[task.setvariable variable=x]after a NUL\n"),
		  "a NUL hid the rest of its line, or ##vso was not defused:\n%s", out.data);
	buf_release(&out);
}

/* Every level, an annotation with the text as file, title and message, and
 * a group titled with it: each gives its own command(s) and nothing more. */
Test(injection, github_messages_annotations_and_groups_form_only_their_own_command)
{
	static const char *const info[] = { "(stop)", "(resume)", NULL };
	static const char *const debug[] = { "debug", NULL };
	static const char *const warning[] = { "warning", NULL };
	static const char *const error[] = { "error", NULL };
	static const char *const notice[] = { "notice", NULL };
	static const char *const group[] = { "group", "endgroup", NULL };
	struct buf out = BUF_INIT;
	struct found f;
	struct ci *ci;
	size_t i;

	github_host();
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	for (i = 0; i < NR_CORPUS; i++) {
		const char *text = corpus[i].data;
		struct error_location where = { text, 3, 1 };
		int n = sink_lines(text);

		capture_begin();
		log_info("%s", text);
		capture_end(&out);
		runner_read(&f, &out);
		assert_only(&f, info, "log_info", i, &out);

		capture_begin();
		log_debug("%s", text);
		capture_end(&out);
		runner_read(&f, &out);
		assert_only(&f, debug, "log_debug", i, &out);
		cr_assert_eq(count(&f, "debug"), n, "line %zu:\n%s", i, out.data);

		capture_begin();
		log_notice("%s", text);
		capture_end(&out);
		runner_read(&f, &out);
		assert_only(&f, notice, "log_notice", i, &out);
		cr_assert_eq(count(&f, "notice"), n, "line %zu:\n%s", i, out.data);

		capture_begin();
		log_warning("%s", text);
		capture_end(&out);
		runner_read(&f, &out);
		assert_only(&f, warning, "log_warning", i, &out);
		cr_assert_eq(count(&f, "warning"), n, "line %zu:\n%s", i, out.data);

		capture_begin();
		ci_annotate(ci, LOG_ERROR, &where, text, text);
		capture_end(&out);
		runner_read(&f, &out);
		assert_only(&f, error, "an annotation", i, &out);
		cr_assert_eq(count(&f, "error"), 1, "line %zu:\n%s", i, out.data);

		capture_begin();
		ci_group_begin(ci, text);
		ci_group_end(ci);
		capture_end(&out);
		runner_read(&f, &out);
		assert_only(&f, group, "a group title", i, &out);
		cr_assert_eq(f.n, 2, "line %zu:\n%s", i, out.data);
	}
	ci_close(ci);
	buf_release(&out);
}

Test(injection, pipelines_messages_annotations_and_groups_form_only_their_own_command)
{
	static const char *const none[] = { NULL };
	static const char *const debug[] = { "##[debug", NULL };
	static const char *const issue[] = { "##vso[task.logissue", NULL };
	static const char *const group[] = { "##[group", "##[endgroup", NULL };
	struct buf out = BUF_INIT;
	struct found f;
	struct ci *ci;
	size_t i;

	pipelines_host();
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	for (i = 0; i < NR_CORPUS; i++) {
		const char *text = corpus[i].data;
		struct error_location where = { text, 3, 1 };
		int n = sink_lines(text);

		capture_begin();
		log_info("%s", text);
		log_notice("%s", text);
		ci_annotate(ci, LOG_NOTICE, &where, text, text);
		capture_end(&out);
		agent_read(&f, &out);
		assert_only(&f, none, "log_info, log_notice or a notice", i, &out);

		capture_begin();
		log_debug("%s", text);
		capture_end(&out);
		agent_read(&f, &out);
		assert_only(&f, debug, "log_debug", i, &out);
		cr_assert_eq(f.n, n, "line %zu:\n%s", i, out.data);

		capture_begin();
		log_warning("%s", text);
		log_error("%s", text);
		capture_end(&out);
		agent_read(&f, &out);
		assert_only(&f, issue, "log_warning or log_error", i, &out);
		cr_assert_eq(f.n, 2 * n, "line %zu:\n%s", i, out.data);

		capture_begin();
		ci_annotate(ci, LOG_ERROR, &where, text, text);
		capture_end(&out);
		agent_read(&f, &out);
		assert_only(&f, issue, "an annotation", i, &out);
		cr_assert_eq(f.n, 1, "line %zu:\n%s", i, out.data);

		capture_begin();
		ci_group_begin(ci, text);
		ci_group_end(ci);
		capture_end(&out);
		agent_read(&f, &out);
		assert_only(&f, group, "a group title", i, &out);
		cr_assert_eq(f.n, 2, "line %zu:\n%s", i, out.data);
	}
	ci_close(ci);
	buf_release(&out);
}
