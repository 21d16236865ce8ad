/*
 * The GitHub host's file commands and workflow commands, checked by
 * reading them back the way the runner does (docs/actions-contract.md 2.1, 3.3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "ci/ci.h"
#include "ci/host.h"
#include "ci/summary.h"
#include "core/fs.h"
#include "support/check.h"

/* The runner's EnvFileKeyValuePairs over an LF-split file: fills up to
 * `max` name/value pairs; returns their count or -1 on a parse error. */
static int runner_parse(const char *text, char names[][64], char values[][4096], int max)
{
	const char *p = text;
	int n = 0;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *eq = memchr(p, '=', len), *heredoc = NULL;
		const char *q;

		for (q = p; q + 1 < p + len; q++)
			if (q[0] == '<' && q[1] == '<') {
				heredoc = q;
				break;
			}
		if (!len) { /* empty lines between entries are skipped */
			p = eol ? eol + 1 : p + len;
			continue;
		}
		if (n == max)
			return -1;
		if (eq && (!heredoc || eq < heredoc)) {
			snprintf(names[n], 64, "%.*s", (int)(eq - p), p);
			snprintf(values[n], 4096, "%.*s", (int)(len - (size_t)(eq - p) - 1), eq + 1);
		} else if (heredoc) {
			char delim[256];
			const char *v, *line;
			struct buf value = BUF_INIT;
			int found = 0;

			snprintf(names[n], 64, "%.*s", (int)(heredoc - p), p);
			snprintf(delim, sizeof(delim), "%.*s", (int)(len - (size_t)(heredoc - p) - 2), heredoc + 2);
			if (!*names[n] || !*delim || !eol)
				return -1;
			for (v = line = eol + 1; *line;) {
				const char *le = strchr(line, '\n');
				size_t ll = le ? (size_t)(le - line) : strlen(line);
				if (ll == strlen(delim) && !memcmp(line, delim, ll)) {
					buf_add(&value, v, line > v ? (size_t)(line - v) - 1 : 0);
					found = 1;
					eol = le;
					break;
				}
				if (!le)
					break;
				line = le + 1;
			}
			if (!found)
				return -1;
			snprintf(values[n], 4096, "%s", value.data);
			buf_release(&value);
		} else {
			return -1;
		}
		n++;
		p = eol ? eol + 1 : p + strlen(p);
	}
	return n;
}

static char names[8][64], values[8][4096];

static void round_trip(const char *value)
{
	struct buf block = BUF_INIT;

	cr_assert_ok(github_format_output(&block, "result", value));
	cr_assert_null(strchr(block.data, '\r') == NULL ? NULL : strstr(block.data, "\r\n<<"));
	cr_assert_eq(runner_parse(block.data, names, values, 8), 1, "unparsable: %s", block.data);
	cr_assert_str_eq(names[0], "result");
	cr_assert_str_eq(values[0], value);
	buf_release(&block);
}

Test(github_output, round_trips_adversarial_values)
{
	round_trip("plain");
	round_trip("");
	round_trip("a=b=c");
	round_trip("x<<EOF");
	round_trip("first\nsecond\n\nfourth");
	round_trip("ends with newline\n");
	round_trip("\nstarts with newline");
	round_trip("ghadelimiter_not_really");
	round_trip("carriage\rreturn");
	round_trip("{\"json\":[1,2,{\"k\":\"v\"}]}");
}

Test(github_output, writes_only_lf_and_no_blank_separator_lines)
{
	struct buf block = BUF_INIT;

	cr_assert_ok(github_format_output(&block, "a", "one"));
	cr_assert_ok(github_format_output(&block, "b", "two"));
	cr_assert_null(strstr(block.data, "\n\n"));
	cr_assert_eq(runner_parse(block.data, names, values, 8), 2);
	cr_assert_str_eq(values[1], "two");
	buf_release(&block);
}

Test(github_output, fresh_delimiter_each_time)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	cr_assert_ok(github_format_output(&a, "x", "v"));
	cr_assert_ok(github_format_output(&b, "x", "v"));
	cr_assert_str_neq(a.data, b.data);
	cr_assert_geq(strchr(a.data, '\n') - strstr(a.data, "<<") - 2, 13 + 32);
	buf_release(&a);
	buf_release(&b);
}

static const struct input_spec spec_inputs[] = {
	{ "resource-group", "rg", NULL, INPUT_REQUIRED },
	{ "what-if", "dry run", "false", INPUT_BOOL },
	{ "client-secret", "secret", NULL, INPUT_SECRET },
	{ "templates", "globs", ".cloud/*.json", INPUT_MULTILINE },
	{ "my input", "spaces", NULL, 0 },
	{ NULL, NULL, NULL, 0 },
};
static const struct output_spec spec_outputs[] = { { "result", "r" }, { NULL, NULL } };
static const struct ci_spec spec = { "test-flow", spec_inputs, spec_outputs };

static char out_path[] = "/tmp/gh-output-XXXXXX";
static char summary_path[] = "/tmp/gh-summary-XXXXXX";

static void github_env(void)
{
	close(mkstemp(out_path));
	close(mkstemp(summary_path));
	setenv("GITHUB_ACTIONS", "true", 1);
	setenv("GITHUB_OUTPUT", out_path, 1);
	setenv("GITHUB_STEP_SUMMARY", summary_path, 1);
	setenv("GITHUB_WORKSPACE", "/github/workspace", 1);
	unsetenv("TF_BUILD");
	cr_redirect_stdout();
}

static void github_env_done(void)
{
	unlink(out_path);
	unlink(summary_path);
}

TestSuite(github_host, .init = github_env, .fini = github_env_done);

Test(github_host, inputs_follow_the_runner_name_rules_and_are_trimmed)
{
	struct ci *ci;
	const char *v;
	int b;

	setenv("INPUT_RESOURCE-GROUP", "  rg-ml \n", 1);
	setenv("INPUT_MY_INPUT", "spaced", 1);
	setenv("INPUT_WHAT-IF", "TRUE", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_eq(ci_kind(ci), CI_GITHUB);
	cr_assert_ok(ci_input(ci, "resource-group", &v));
	cr_assert_str_eq(v, "rg-ml");
	cr_assert_ok(ci_input(ci, "my input", &v));
	cr_assert_str_eq(v, "spaced");
	cr_assert_ok(ci_input_bool(ci, "what-if", &b));
	cr_assert_eq(b, 1);
	ci_close(ci);
}

Test(github_host, required_input_and_booleans_are_checked)
{
	struct ci *ci;
	const char *v;
	int b;

	unsetenv("INPUT_RESOURCE-GROUP");
	setenv("INPUT_WHAT-IF", "yes", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_fails(ci_input(ci, "resource-group", &v), ERR_INPUT,
			"Input required and not supplied: resource-group");
	cr_assert_fails(ci_input_bool(ci, "what-if", &b), ERR_INPUT, "what-if");
	ci_close(ci);
}

Test(github_host, defaults_and_multiline_inputs)
{
	struct ci *ci;
	const char *const *lines;

	setenv("INPUT_TEMPLATES", "", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_ok(ci_input_lines(ci, "templates", &lines));
	cr_assert_str_eq(lines[0], ".cloud/*.json");
	cr_assert_null(lines[1]);
	ci_close(ci);
	setenv("INPUT_TEMPLATES", "a.json\n\n  b.json  \n", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_ok(ci_input_lines(ci, "templates", &lines));
	cr_assert_str_eq(lines[0], "a.json");
	cr_assert_str_eq(lines[1], "b.json");
	cr_assert_null(lines[2]);
	ci_close(ci);
}

Test(github_host, outputs_and_summary_go_to_the_file_commands)
{
	struct buf text = BUF_INIT;
	struct ci *ci;

	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_ok(ci_output(ci, "result", "multi\nline"));
	summary_text(ci_summary(ci), "done <ok>");
	cr_assert_ok(ci_close(ci));
	cr_assert_ok(fs_read_file(&text, out_path, 1 << 20));
	cr_assert_eq(runner_parse(text.data, names, values, 8), 1);
	cr_assert_str_eq(values[0], "multi\nline");
	buf_reset(&text);
	cr_assert_ok(fs_read_file(&text, summary_path, 1 << 20));
	cr_assert_str_eq(text.data, "done &lt;ok&gt;\n\n");
	buf_release(&text);
}

Test(github_host, secrets_are_masked_first_and_never_become_outputs)
{
	struct ci *ci;

	setenv("INPUT_CLIENT-SECRET", "s3cr3t-value", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	log_info("the secret is s3cr3t-value");
	cr_assert_fails(ci_output(ci, "result", "s3cr3t-value"), ERR_INPUT, "secret");
	ci_close(ci);
	fflush(stdout);
	cr_assert_stdout_eq_str("::add-mask::s3cr3t-value\nthe secret is ***\n");
	log_reset_secrets();
}

Test(github_host, annotations_escape_and_relativise)
{
	struct error_location where = { "/github/workspace/environments/train/env.yml", 7, 3 };
	struct ci *ci;

	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	ci_annotate(ci, LOG_ERROR, &where, "version: not bumped, a=b", "50% done\nnext line");
	ci_close(ci);
	fflush(stdout);
	cr_assert_stdout_eq_str("::error file=environments/train/env.yml,line=7,col=3,"
				"title=version%3A not bumped%2C a%3Ab::50%25 done%0Anext line\n");
}

Test(github_host, command_lookalike_lines_are_fenced)
{
	struct ci *ci;
	char out[512];
	size_t n;
	FILE *f;

	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	log_info("  ::set-output name=x::evil");
	ci_close(ci);
	fflush(stdout);
	f = cr_get_redirected_stdout();
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	cr_assert(!strncmp(out, "::stop-commands::", 17), "%s", out);
	cr_assert(strstr(out, "\n  ::set-output name=x::evil\n::") != NULL, "%s", out);
}

Test(github_host, debug_lines_only_with_runner_debug)
{
	struct ci *ci;

	setenv("RUNNER_DEBUG", "1", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	log_debug("shown");
	ci_close(ci);
	unsetenv("RUNNER_DEBUG");
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	log_debug("hidden");
	ci_close(ci);
	fflush(stdout);
	cr_assert_stdout_eq_str("::debug::shown\n");
}

Test(github_host, a_summary_file_that_is_a_folder_is_an_error_at_open)
{
	struct ci *ci;

	unlink(summary_path);
	cr_assert_eq(mkdir(summary_path, 0700), 0);
	cr_assert_fails(ci_open(&ci, &spec, 0, NULL), ERR_IO, summary_path);
	summary_text(ci_summary(ci), "not written");
	cr_assert_ok(ci_close(ci));
	rmdir(summary_path);
	fflush(stdout);
	cr_assert_stdout_eq_str("", "reported once, by the caller of ci_open");
}

Test(github_host, a_summary_that_cannot_be_written_at_close_is_an_error_annotation)
{
	struct buf expect = BUF_INIT;
	struct ci *ci;

	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	unlink(summary_path);
	cr_assert_eq(mkdir(summary_path, 0700), 0);
	summary_text(ci_summary(ci), "done");
	cr_assert_eq(ci_close(ci), ERR_IO);
	rmdir(summary_path);
	buf_addf(&expect, "::error::step summary not written: %s: Is a directory\n", summary_path);
	fflush(stdout);
	cr_assert_stdout_eq_str(expect.data);
	buf_release(&expect);
}

Test(github_host, arguments_are_refused)
{
	struct ci *ci;
	char arg[] = "--resource-group";
	char *argv[] = { arg };

	cr_assert_fails(ci_open(&ci, &spec, 1, argv), ERR_INPUT, "INPUT_<NAME>");
	ci_close(ci);
}
