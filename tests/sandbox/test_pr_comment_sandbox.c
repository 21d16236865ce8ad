/* The pull request comment against the sandbox's api.github.com: one
 * comment per workflow and job file, found again and edited in place, the
 * token's permission named when it may not write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ci/ci.h"
#include "cmd/model_report.h"
#include "core/fs.h"
#include "core/json.h"
#include "support/check.h"
#include "support/sandbox.h"

static const struct input_spec inputs[] = { MODEL_REPORT_INPUTS, { NULL, NULL, NULL, 0 } };
static const struct output_spec no_outputs[] = { { NULL, NULL } };
static const struct ci_spec spec = { "sandbox-test", inputs, no_outputs };
static char event_path[] = "/tmp/pr-event-XXXXXX";

/* A GitHub run for pull request 7 of the sandbox's repository. */
static struct ci *pull_request_run(void)
{
	static const char event[] = "{\"action\":\"synchronize\",\"pull_request\":{\"number\":7}}";
	struct ci *ci = NULL;
	int fd;

	sandbox_require();
	sandbox_reset();
	fd = mkstemp(event_path);
	cr_assert(fd >= 0);
	close(fd);
	cr_assert_ok(fs_write_file(event_path, event, strlen(event)));
	setenv("GITHUB_ACTIONS", "true", 1);
	setenv("GITHUB_EVENT_NAME", "pull_request", 1);
	setenv("GITHUB_EVENT_PATH", event_path, 1);
	setenv("GITHUB_REF", "refs/pull/7/merge", 1);
	setenv("GITHUB_WORKFLOW_REF", "sandbox-org/mlops-sandbox/.github/workflows/model-ci.yml@refs/pull/7/merge", 1);
	cr_assert_ok(ci_open(&ci, &spec, 0, NULL));
	return ci;
}

static void done(struct ci *ci)
{
	ci_close(ci);
	unlink(event_path);
	strcpy(event_path, "/tmp/pr-event-XXXXXX");
}

/* The sandbox's comments on issue 7, as a JSON array (caller frees). */
static cJSON *comments(void)
{
	cJSON *state = NULL, *list;

	sandbox_control("GET", "/state", NULL, &state);
	list = cJSON_DetachItemFromObject(state, "issue_comments");
	cJSON_Delete(state);
	cr_assert(cJSON_IsArray(list));
	return list;
}

static const char *body_of(const cJSON *list, int i)
{
	return json_string_or(cJSON_GetArrayItem(list, i), "body", "");
}

Test(pr_comment_sandbox, two_pushes_one_comment_updated_in_place)
{
	struct ci *ci = pull_request_run();
	const char *token = sandbox_env("SANDBOX_GITHUB_TOKEN");
	char *url = NULL;
	cJSON *list;

	cr_assert_eq(ci_pull_request(ci), 7);
	cr_assert_ok(ci_pr_comment(ci, token, "model-report", "jobs/train.yml", "first run", &url));
	cr_assert_not_null(url);
	cr_assert(strstr(url, "/pull/7#issuecomment-"), "%s", url);
	free(url);
	cr_assert_ok(ci_pr_comment(ci, token, "model-report", "jobs/train.yml", "second run", NULL));
	list = comments();
	cr_assert_eq(cJSON_GetArraySize(list), 1);
	cr_assert(strstr(body_of(list, 0), "<!-- mlops:model-report:sandbox-org%2Fmlops-sandbox%2F"
			 ".github%2Fworkflows%2Fmodel-ci.yml%3Ajobs%2Ftrain.yml -->\nsecond run"),
		  "%s", body_of(list, 0));
	cJSON_Delete(list);

	/* Another job file: a comment of its own. */
	cr_assert_ok(ci_pr_comment(ci, token, "model-report", "jobs/other.yml", "other", NULL));
	list = comments();
	cr_assert_eq(cJSON_GetArraySize(list), 2);
	cJSON_Delete(list);
	done(ci);
}

Test(pr_comment_sandbox, a_users_comment_with_the_marker_is_not_taken_over)
{
	struct ci *ci = pull_request_run();
	const char *user = sandbox_env("SANDBOX_GITHUB_USER_TOKEN");
	cJSON *list;

	/* A user's token finds that user's own comment (GET /user). */
	cr_assert_ok(ci_pr_comment(ci, user, "model-report", "jobs/train.yml", "by a user", NULL));
	cr_assert_ok(ci_pr_comment(ci, user, "model-report", "jobs/train.yml", "by a user, 2", NULL));
	cr_assert_ok(ci_pr_comment(ci, sandbox_env("SANDBOX_GITHUB_TOKEN"), "model-report",
				   "jobs/train.yml", "by the bot", NULL));
	list = comments();
	cr_assert_eq(cJSON_GetArraySize(list), 2);
	cr_assert(strstr(body_of(list, 0), "\nby a user, 2"));
	cr_assert(strstr(body_of(list, 1), "\nby the bot"));
	cJSON_Delete(list);
	done(ci);
}

static struct buf captured = BUF_INIT;

static void capture(enum log_level level, const char *text, void *ctx)
{
	(void)ctx;
	if (level == LOG_WARNING)
		buf_addf(&captured, "%s\n", text);
}

Test(pr_comment_sandbox, a_token_that_may_not_write_is_a_warning_naming_the_permission)
{
	struct ci *ci = pull_request_run();
	const char *ro = sandbox_env("SANDBOX_GITHUB_READONLY_TOKEN");
	struct log_sink sink = { capture, NULL, NULL };
	struct job_run jr = JOB_RUN_INIT;
	cJSON *list;

	cr_assert_fails(ci_pr_comment(ci, ro, "model-report", "jobs/train.yml", "x", NULL), ERR_AUTH,
			"`pull-requests: write`");
	cr_assert(strstr(error_message(), "Resource not accessible by integration"), "%s",
		  error_message());
	cr_assert_fails(ci_pr_comment(ci, "ghs_no_such_token", "model-report", "k", "x", NULL),
			ERR_AUTH, "the github-token was refused");

	/* Through the report: a warning, nothing posted, the token masked. */
	setenv("INPUT_GITHUB-TOKEN", ro, 1);
	jr.status = "Completed";
	buf_reset(&captured);
	log_set_sink(&sink);
	cr_assert_eq(model_report_post(ci, NULL, &jr, NULL, "**Gate: passed**", NULL), ERR_AUTH);
	log_set_sink(NULL);
	cr_assert(strstr(captured.data, "model report not posted on the pull request") &&
		  strstr(captured.data, "pull-requests: write"), "%s", captured.data);
	cr_assert_null(strstr(captured.data, ro));
	list = comments();
	cr_assert_eq(cJSON_GetArraySize(list), 0);
	cJSON_Delete(list);
	unsetenv("INPUT_GITHUB-TOKEN");
	job_run_release(&jr);
	done(ci);
}

Test(pr_comment_sandbox, the_report_is_posted_once_and_then_updated)
{
	struct ci *ci = pull_request_run();
	struct job_run jr = JOB_RUN_INIT;
	cJSON *list;

	setenv("INPUT_GITHUB-TOKEN", sandbox_env("SANDBOX_GITHUB_TOKEN"), 1);
	jr.status = "Completed";
	cr_assert_ok(model_report_post(ci, NULL, &jr, NULL, "**Gate: passed**", NULL));
	jr.status = "Failed";
	cr_assert_ok(model_report_post(ci, NULL, &jr, NULL, "**Gate: failed**", NULL));
	list = comments();
	cr_assert_eq(cJSON_GetArraySize(list), 1);
	cr_assert(strstr(body_of(list, 0), "### Model report") &&
		  strstr(body_of(list, 0), "**Failed**") && strstr(body_of(list, 0), "**Gate: failed**"),
		  "%s", body_of(list, 0));
	cJSON_Delete(list);

	/* Not a pull request: nothing, quietly. */
	setenv("GITHUB_EVENT_NAME", "push", 1);
	cr_assert_ok(model_report_post(ci, NULL, &jr, NULL, NULL, NULL));
	unsetenv("INPUT_GITHUB-TOKEN");
	job_run_release(&jr);
	done(ci);
}
