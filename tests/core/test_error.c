/*
 * The error contract of src/core/error.c: codes and their names, prefixes,
 * locations, and an error saved aside whole and put back.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "core/error.h"
#include "support/check.h"

TestSuite(error, .init = error_clear);

Test(error, every_code_has_a_short_name)
{
	cr_assert_str_eq(error_name(ERR_HTTP), "http");
	cr_assert_str_eq(error_name(ERR_IO), "io");
	cr_assert_str_eq(error_name(ERR_TIMEOUT), "timeout");
	cr_assert_str_eq(error_name(ERR_REMOTE_FAILED), "failed");
	cr_assert_str_eq(error_name(ERR_CANCELLED), "cancelled");
	cr_assert_str_eq(error_name(-99), "error");
}

Test(error, a_prefix_keeps_the_code_and_the_location)
{
	error_set_at(ERR_YAML, "job.yml", 4, 2, "field 'code': missing");
	cr_assert_eq(error_prefix("job %s", "train"), ERR_YAML);
	cr_assert_str_eq(error_message(), "job train: field 'code': missing");
	cr_assert_str_eq(error_where()->file, "job.yml");
	cr_assert_eq(error_where()->line, 4);
}

Test(error, a_saved_error_comes_back_with_code_message_and_location)
{
	struct error_saved saved = ERROR_SAVED_INIT;

	error_set_at(ERR_INPUT, "environments/train/conda.yml", 7, 5, "field 'dependencies[2]': bad");
	error_save(&saved);
	/* Later work that fails elsewhere, or clears, must not touch the copy. */
	error_set_at(ERR_IO, "other.yml", 1, 1, "GITHUB_OUTPUT is not set");
	error_clear();
	cr_assert_null(error_where());
	cr_assert_eq(error_restore(&saved), ERR_INPUT);
	cr_assert_eq(error_last(), ERR_INPUT);
	cr_assert_str_eq(error_message(), "field 'dependencies[2]': bad");
	cr_assert_not_null(error_where());
	cr_assert_str_eq(error_where()->file, "environments/train/conda.yml");
	cr_assert_eq(error_where()->line, 7);
	cr_assert_eq(error_where()->column, 5);
	/* A restore is a copy: it can be made again until the release. */
	error_set(ERR_HTTP, "x");
	cr_assert_eq(error_restore(&saved), ERR_INPUT);
	cr_assert_str_eq(error_where()->file, "environments/train/conda.yml");
	error_saved_release(&saved);
	cr_assert_null(saved.message);
	cr_assert_null(saved.file);
}

Test(error, an_error_without_a_location_comes_back_without_one)
{
	struct error_saved saved = ERROR_SAVED_INIT;

	error_set(ERR_REMOTE_FAILED, "job j1 ended Failed: UserError: boom");
	error_save(&saved);
	error_set_at(ERR_YAML, "a.yml", 2, 3, "later");
	cr_assert_eq(error_restore(&saved), ERR_REMOTE_FAILED);
	cr_assert_str_eq(error_message(), "job j1 ended Failed: UserError: boom");
	cr_assert_null(error_where());
	error_saved_release(&saved);
}

Test(error, saving_again_replaces_what_was_saved)
{
	struct error_saved saved = ERROR_SAVED_INIT;

	error_set_at(ERR_YAML, "first.yml", 1, 1, "first");
	error_save(&saved);
	error_set(ERR_CANCELLED, "stopped by SIGTERM");
	error_save(&saved);
	error_clear();
	cr_assert_eq(error_restore(&saved), ERR_CANCELLED);
	cr_assert_str_eq(error_message(), "stopped by SIGTERM");
	cr_assert_null(error_where());
	error_saved_release(&saved);
	error_saved_release(&saved);
}

Test(error, a_caller_may_restore_under_another_code)
{
	struct error_saved saved = ERROR_SAVED_INIT;

	error_set_at(ERR_IO, "a.zip", 0, 0, "zip: write failed");
	error_save(&saved);
	saved.code = ERR_NETWORK;
	cr_assert_fails(error_restore(&saved), ERR_NETWORK, "zip: write failed");
	cr_assert_str_eq(error_where()->file, "a.zip");
	error_saved_release(&saved);
}

/* A message set again with its own text under another code stays whole:
 * the GitHub client turns a 404's message into an auth error that way. */
Test(error, a_message_set_from_itself_is_kept)
{
	error_set(ERR_HTTP, "GET %s -> 404", "https://example.invalid/x");
	cr_assert_eq(error_set(ERR_AUTH, "%s", error_message()), ERR_AUTH);
	cr_assert_str_eq(error_message(), "GET https://example.invalid/x -> 404");
	error_set(ERR_HTTP, "inner");
	error_set(ERR_HTTP, "outer: %s", error_message());
	cr_assert_str_eq(error_message(), "outer: inner");
}
