/* Azure Pipelines and terminal hosts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "ci/ci.h"
#include "ci/summary.h"
#include "core/fs.h"
#include "support/check.h"
#include "support/tmpdir.h"

static const struct input_spec spec_inputs[] = {
	{ "resource-group", "rg", NULL, INPUT_REQUIRED },
	{ "client-secret", "secret", NULL, INPUT_SECRET },
	{ "count", "n", "3", 0 },
	{ "force", "f", "false", INPUT_BOOL },
	{ NULL, NULL, NULL, 0 },
};
static const struct output_spec spec_outputs[] = { { "result", "r" }, { NULL, NULL } };
static const struct ci_spec spec = { "test-flow", spec_inputs, spec_outputs };

static void pipelines_env(void)
{
	unsetenv("GITHUB_ACTIONS");
	setenv("TF_BUILD", "True", 1);
	setenv("AGENT_TEMPDIRECTORY", "/tmp", 1);
	cr_redirect_stdout();
}

TestSuite(pipelines, .init = pipelines_env);

Test(pipelines, detected_from_tf_build_with_underscore_input_names)
{
	struct ci *ci;
	const char *v;

	setenv("INPUT_RESOURCE_GROUP", "rg1", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_eq(ci_kind(ci), CI_PIPELINES);
	cr_assert_ok(ci_input(ci, "resource-group", &v));
	cr_assert_str_eq(v, "rg1");
	ci_close(ci);
	unsetenv("INPUT_RESOURCE_GROUP");
}

Test(pipelines, logging_commands_are_escaped)
{
	struct error_location where = { "envs/a.yml", 4, 2 };
	struct ci *ci;

	setenv("INPUT_CLIENT-SECRET", "pipeline-secret", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_ok(ci_output(ci, "result", "50%\nx;y]"));
	ci_annotate(ci, LOG_ERROR, &where, NULL, "bad; value]");
	ci_group_begin(ci, "Deploy");
	ci_group_end(ci);
	ci_close(ci);
	unsetenv("INPUT_CLIENT-SECRET");
	log_reset_secrets();
	fflush(stdout);
	cr_assert_stdout_eq_str(
		"##vso[task.setsecret]pipeline-secret\n"
		"##vso[task.setvariable variable=result;isOutput=true]50%AZP25%0Ax;y]\n"
		"##vso[task.logissue type=error;sourcepath=envs/a.yml;linenumber=4;columnnumber=2]bad; value]\n"
		"##[group]Deploy\n##[endgroup]\n");
}

Test(pipelines, outside_text_is_defused_readably_and_values_kept_exact)
{
	struct ci *ci;

	setenv("SYSTEM_DEBUG", "true", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	log_info("step ##vso[task.complete result=Failed]");
	log_debug("##[error]not ours");
	log_warning("a ##VSO[x.y]b");
	cr_assert_ok(ci_output(ci, "result", "keeps ##vso[ as it is"));
	ci_close(ci);
	unsetenv("SYSTEM_DEBUG");
	fflush(stdout);
	cr_assert_stdout_eq_str(
		"step **vso[task.complete result=Failed]\n"
		"##[debug]**[error]not ours\n"
		"##vso[task.logissue type=warning]a **VSO[x.y]b\n"
		"##vso[task.setvariable variable=result;isOutput=true]keeps ##vso[ as it is\n");
}

/* A folder gathered, uploaded and done with, with TMPDIR and the agent's
 * temporary folder set apart. */
static void artifact_folder_case(const char *agent_temp, const char *tmp, struct buf *dir)
{
	struct ci *ci;
	struct buf file = BUF_INIT;

	setenv("TMPDIR", tmp, 1);
	setenv("AGENT_TEMPDIRECTORY", agent_temp, 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	cr_assert_ok(ci_artifact_folder(ci, "mlops-logs", dir));
	cr_assert(fs_is_dir(dir->data), "%s", dir->data);
	buf_addf(&file, "%s/std_log.txt", dir->data);
	cr_assert_ok(fs_write_file(file.data, "epoch 1\n", 8));
	cr_assert_ok(ci_upload_artifact(ci, "logs", dir->data, NULL));
	ci_artifact_folder_done(ci, dir->data);
	ci_close(ci);
	/* Children of this test (rm -rf, and valgrind's own helpers under
	 * make check-valgrind) must not put their files in the folders the
	 * test removes. */
	unsetenv("TMPDIR");
	unsetenv("AGENT_TEMPDIRECTORY");
	buf_release(&file);
}

Test(pipelines, artifact_folder_is_in_the_agent_temp_directory_and_left_for_the_agent)
{
	char agent[] = "/tmp/agent-temp-XXXXXX", tmp[] = "/tmp/other-temp-XXXXXX";
	struct buf dir = BUF_INIT, expect = BUF_INIT;

	tmpdir_make(agent);
	tmpdir_make(tmp);
	artifact_folder_case(agent, tmp, &dir);
	cr_assert(!strncmp(dir.data, agent, strlen(agent)) && dir.data[strlen(agent)] == '/',
		  "%s is not under AGENT_TEMPDIRECTORY %s", dir.data, agent);
	buf_addf(&expect, "%s/std_log.txt", dir.data);
	cr_assert(fs_is_file(expect.data), "the agent uploads %s later: it must still be there",
		  expect.data);
	buf_reset(&expect);
	buf_addf(&expect, "##vso[artifact.upload containerfolder=logs;artifactname=logs]%s\n", dir.data);
	fflush(stdout);
	cr_assert_stdout_eq_str(expect.data);
	tmpdir_remove(agent);
	tmpdir_remove(tmp);
	buf_release(&dir);
	buf_release(&expect);
}

static void terminal_env(void)
{
	unsetenv("GITHUB_ACTIONS");
	unsetenv("TF_BUILD");
	cr_redirect_stdout();
	cr_redirect_stderr();
}

TestSuite(terminal, .init = terminal_env);

Test(terminal, flags_win_over_environment_and_outputs_print_as_json)
{
	char a0[] = "--resource-group", a1[] = "from-flag", a2[] = "--count=7";
	char *argv[] = { a0, a1, a2 };
	struct ci *ci;
	const char *v;

	setenv("INPUT_RESOURCE-GROUP", "from-env", 1);
	cr_assert_ok(ci_open(&ci, &spec, 3, argv));
	cr_assert_eq(ci_kind(ci), CI_TERMINAL);
	cr_assert_ok(ci_input(ci, "resource-group", &v));
	cr_assert_str_eq(v, "from-flag");
	cr_assert_ok(ci_input(ci, "count", &v));
	cr_assert_str_eq(v, "7");
	cr_assert_ok(ci_output(ci, "result", "line1\n\"q\""));
	ci_close(ci);
	unsetenv("INPUT_RESOURCE-GROUP");
	fflush(stdout);
	cr_assert_stdout_eq_str("{\"result\":\"line1\\n\\\"q\\\"\"}\n");
}

Test(terminal, artifact_folder_is_under_tmpdir_and_removed_when_done)
{
	char tmp[] = "/tmp/term-temp-XXXXXX", out[] = "/tmp/term-art-XXXXXX";
	char a0[] = "--artifacts";
	char *argv[] = { a0, out };
	struct buf dir = BUF_INIT, zip = BUF_INIT;
	struct ci *ci;

	tmpdir_make(tmp);
	tmpdir_make(out);
	setenv("TMPDIR", tmp, 1);
	cr_assert_ok(ci_open(&ci, &spec, 2, argv));
	cr_assert_ok(ci_artifact_folder(ci, "mlops-logs", &dir));
	cr_assert(!strncmp(dir.data, tmp, strlen(tmp)), "%s", dir.data);
	tmpdir_write(dir.data, "a/std_log.txt", "x\n");
	cr_assert_ok(ci_upload_artifact(ci, "logs", dir.data, NULL));
	ci_artifact_folder_done(ci, dir.data);
	cr_assert(!fs_is_dir(dir.data), "%s was uploaded and is still there", dir.data);
	buf_addf(&zip, "%s/logs.zip", out);
	cr_assert(fs_is_file(zip.data));
	ci_close(ci);
	unsetenv("TMPDIR"); /* as in artifact_folder_case */
	tmpdir_remove(tmp);
	tmpdir_remove(out);
	buf_release(&dir);
	buf_release(&zip);
}

Test(terminal, a_zip_that_fails_leaves_no_file_that_passes_for_the_artifact)
{
	char src[] = "/tmp/term-src-XXXXXX", out[] = "/tmp/term-art-XXXXXX";
	char a0[] = "--artifacts";
	char *argv[] = { a0, out };
	struct buf link = BUF_INIT, zip = BUF_INIT;
	struct ci *ci;

	tmpdir_make(src);
	tmpdir_make(out);
	tmpdir_write(src, "a/std_log.txt", "x\n");
	buf_addf(&link, "%s/a/passwd", src);
	cr_assert_eq(symlink("/etc/passwd", link.data), 0);
	cr_assert_ok(ci_open(&ci, &spec, 2, argv));
	cr_assert_fails(ci_upload_artifact(ci, "logs", src, NULL), ERR_INPUT, "outside");
	buf_addf(&zip, "%s/logs.zip", out);
	cr_assert(!fs_is_file(zip.data), "a failed zip left %s behind", zip.data);
	buf_addch(&zip, '.');
	buf_addstr(&zip, "part");
	cr_assert(!fs_is_file(zip.data), "a failed zip left %s behind", zip.data);
	ci_close(ci);
	tmpdir_remove(src);
	tmpdir_remove(out);
	buf_release(&link);
	buf_release(&zip);
}

Test(terminal, a_summary_path_that_is_a_folder_is_refused_at_open)
{
	char dir[] = "/tmp/term-sumdir-XXXXXX";
	char a0[] = "--summary";
	char *argv[] = { a0, dir };
	struct ci *ci;

	tmpdir_make(dir);
	cr_assert_fails(ci_open(&ci, &spec, 2, argv), ERR_INPUT, dir);
	cr_assert_not_null(ci, "the host is kept to report the error");
	summary_text(ci_summary(ci), "not written");
	cr_assert_ok(ci_close(ci));
	tmpdir_remove(dir);
}

Test(terminal, unknown_flags_are_input_errors)
{
	char a0[] = "--no-such", a1[] = "x";
	char *argv[] = { a0, a1 };
	struct ci *ci;

	cr_assert_fails(ci_open(&ci, &spec, 2, argv), ERR_INPUT, "unknown input --no-such");
	ci_close(ci);
}

Test(terminal, a_boolean_input_is_also_a_bare_switch)
{
	char a0[] = "--force", a1[] = "--count", a2[] = "4", a3[] = "--force", a4[] = "false";
	char *last[] = { a1, a2, a0 }, *before_flag[] = { a0, a1, a2 }, *valued[] = { a3, a4 };
	char **argvs[] = { last, before_flag, valued };
	const char *expect[] = { "true", "true", "false" };
	struct ci *ci;
	size_t i;
	int on;

	for (i = 0; i < 3; i++) {
		cr_assert_ok(ci_open(&ci, &spec, i == 2 ? 2 : 3, argvs[i]));
		cr_assert_ok(ci_input_bool(ci, "force", &on));
		cr_assert_eq(on, !strcmp(expect[i], "true"), "case %zu", i);
		ci_close(ci);
	}
}

Test(terminal, a_bare_switch_is_for_booleans_only)
{
	char a0[] = "--count";
	char *argv[] = { a0 };
	struct ci *ci;

	cr_assert_fails(ci_open(&ci, &spec, 1, argv), ERR_INPUT, "--count needs a value");
	ci_close(ci);
}

Test(terminal, summary_goes_to_the_named_file_masked)
{
	char path[] = "/tmp/term-summary-XXXXXX";
	char a0[] = "--summary", a2[] = "--client-secret", a3[] = "hunter2-long";
	char *argv[] = { a0, path, a2, a3 };
	struct buf text = BUF_INIT;
	struct ci *ci;

	close(mkstemp(path));
	cr_assert_ok(ci_open(&ci, &spec, 4, argv));
	summary_text(ci_summary(ci), "token hunter2-long used");
	ci_close(ci);
	log_reset_secrets();
	cr_assert_ok(fs_read_file(&text, path, 4096));
	cr_assert_str_eq(text.data, "token *** used\n\n");
	unlink(path);
	buf_release(&text);
}

/* The machine's own managed identity endpoint is a host fact, read here. */
Test(terminal, managed_identity_endpoint_comes_from_the_host_and_its_header_is_masked)
{
	struct buf text = BUF_INIT;
	const char *endpoint, *header;
	struct ci *ci;

	setenv("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token", 1);
	setenv("IDENTITY_HEADER", "mi-header-secret", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	ci_managed_identity(ci, &endpoint, &header);
	cr_assert_str_eq(endpoint, "http://localhost:42356/msi/token");
	cr_assert_str_eq(header, "mi-header-secret");
	buf_addstr(&text, "sent mi-header-secret");
	log_mask(&text);
	cr_assert_str_eq(text.data, "sent ***");
	unsetenv("IDENTITY_ENDPOINT");
	unsetenv("IDENTITY_HEADER");
	ci_managed_identity(ci, &endpoint, &header);
	cr_assert_null(endpoint);
	cr_assert_null(header);
	ci_close(ci);
	log_reset_secrets();
	buf_release(&text);
}
