#include <string.h>

#include <criterion/criterion.h>

#include "ci/github_comment.h"
#include "core/json.h"
#include "support/check.h"
#include "support/json_check.h"

static long number(const char *event_name, const char *event, const char *ref)
{
	long n = -1;

	cr_assert_ok(github_pull_number(&n, event_name, event, event ? strlen(event) : 0, ref));
	return n;
}

Test(github_comment, pull_number_from_the_event_file_then_the_ref)
{
	cr_assert_eq(number("pull_request", "{\"number\":9,\"pull_request\":{\"number\":42}}",
			    "refs/pull/7/merge"), 42);
	cr_assert_eq(number("pull_request_target", "{\"pull_request\":{\"number\":5}}", NULL), 5);
	/* No number in the event (act's default event is {}): the ref says. */
	cr_assert_eq(number("pull_request", "{}", "refs/pull/17/merge"), 17);
	cr_assert_eq(number("pull_request", NULL, "refs/pull/3/head"), 3);
	cr_assert_eq(number("pull_request", "{\"pull_request\":{\"number\":\"x\"}}",
			    "refs/pull/4/merge"), 4);
}

Test(github_comment, no_pull_number_outside_a_pull_request)
{
	cr_assert_eq(number("push", "{\"pull_request\":{\"number\":42}}", "refs/pull/7/merge"), 0);
	cr_assert_eq(number("", NULL, "refs/pull/7/merge"), 0);
	cr_assert_eq(number(NULL, NULL, NULL), 0);
	cr_assert_eq(number("pull_request", NULL, "refs/heads/main"), 0);
	cr_assert_eq(number("pull_request", NULL, "refs/pull/0/merge"), 0);
	cr_assert_eq(number("pull_request", NULL, "refs/pull/7/merged"), 0);
	cr_assert_eq(number("pull_request", NULL, "refs/pull/-7/merge"), 0);
	cr_assert_eq(number("pull_request", NULL, "refs/pull/99999999999999999999/merge"), 0);
	cr_assert_eq(number("pull_request", "{\"pull_request\":{\"number\":-2}}", NULL), 0);
}

Test(github_comment, an_event_file_that_is_not_json_is_an_error)
{
	long n = -1;

	cr_assert_fails(github_pull_number(&n, "pull_request", "{nope", 5, "refs/pull/1/merge"),
			ERR_JSON, "GITHUB_EVENT_PATH");
	cr_assert_eq(n, 0);
}

Test(github_comment, marker_cannot_end_its_html_comment)
{
	struct buf m = BUF_INIT;

	github_comment_marker(&m, "model-report", "o/r/.github/workflows/ci.yml:jobs/train.yml");
	cr_assert_str_eq(m.data, "<!-- mlops:model-report:o%2Fr%2F.github%2Fworkflows%2Fci.yml%3Ajobs"
			 "%2Ftrain.yml -->");
	buf_reset(&m);
	github_comment_marker(&m, "k", "a -->\n<b>");
	cr_assert_str_eq(m.data, "<!-- mlops:k:a%20--%3E%0A%3Cb%3E -->");
	buf_release(&m);
}

Test(github_comment, picks_the_bots_comment_that_starts_with_the_marker)
{
	cJSON *p = json_check_parse("["
		"{\"id\":1,\"body\":\"quoting <!-- M --> here\",\"user\":{\"login\":\"github-actions[bot]\",\"type\":\"Bot\"}},"
		"{\"id\":2,\"body\":\"<!-- M -->\\nforged\",\"user\":{\"login\":\"mallory\",\"type\":\"User\"}},"
		"{\"id\":3,\"body\":\"<!-- N -->\\nother workflow\",\"user\":{\"login\":\"github-actions[bot]\",\"type\":\"Bot\"}},"
		"{\"id\":4,\"body\":\"<!-- M -->\\nours\",\"user\":{\"login\":\"github-actions[bot]\",\"type\":\"Bot\"}},"
		"{\"id\":5,\"body\":\"<!-- M -->\\nalso ours\",\"user\":{\"login\":\"github-actions[bot]\",\"type\":\"Bot\"}}]");
	int64_t id = 0;

	cr_assert(github_comment_pick(p, "<!-- M -->", NULL, &id));
	cr_assert_eq(id, 4);
	/* A user's token: only that user's comment. */
	cr_assert(github_comment_pick(p, "<!-- M -->", "mallory", &id));
	cr_assert_eq(id, 2);
	cr_assert_not(github_comment_pick(p, "<!-- M -->", "someone", &id));
	cr_assert_not(github_comment_pick(p, "<!-- X -->", NULL, &id));
	cJSON_Delete(p);
}

Test(github_comment, a_page_that_is_not_a_list_of_comments_holds_none)
{
	cJSON *p = json_check_parse("{\"id\":4,\"body\":\"<!-- M -->\",\"user\":{\"type\":\"Bot\"}}");
	cJSON *q = json_check_parse("[{\"id\":\"x\",\"body\":\"<!-- M -->\",\"user\":{\"type\":\"Bot\"}},"
			"{\"body\":7},{\"id\":0,\"body\":\"<!-- M -->\",\"user\":{\"type\":\"Bot\"}}]");
	int64_t id = 0;

	cr_assert_not(github_comment_pick(p, "<!-- M -->", NULL, &id));
	cr_assert_not(github_comment_pick(q, "<!-- M -->", NULL, &id));
	cJSON_Delete(p);
	cJSON_Delete(q);
}

Test(github_comment, link_header_next_page)
{
	cr_assert(github_link_has_next("<https://api.github.com/x?page=2>; rel=\"next\", "
				       "<https://api.github.com/x?page=5>; rel=\"last\""));
	cr_assert(github_link_has_next("<https://h/x?page=1>; rel=\"prev\", <https://h/x?page=3>; rel=next"));
	cr_assert_not(github_link_has_next("<https://h/x?page=1>; rel=\"first\", <https://h/x?page=1>; rel=\"prev\""));
	cr_assert_not(github_link_has_next("<https://h/x?rel=nextish>; rel=\"last\""));
	cr_assert_not(github_link_has_next(""));
	cr_assert_not(github_link_has_next(NULL));
}
