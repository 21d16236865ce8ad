#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <criterion/criterion.h>

#include "core/error.h"

/* Asserts a call returned 0, printing the error message it set if not. */
#define cr_assert_ok(call)                                                     \
	do {                                                                   \
		int check_ret_ = (call);                                       \
		cr_assert_eq(check_ret_, 0, "%s failed: %d (%s): %s", #call,   \
			     check_ret_, error_name(check_ret_), error_message()); \
	} while (0)

/* Asserts a call failed with `code` and its message contains `needle`. */
#define cr_assert_fails(call, code, needle)                                    \
	do {                                                                   \
		int check_ret_ = (call);                                       \
		cr_assert_eq(check_ret_, (code), "%s returned %d (%s), wanted %d: %s", \
			     #call, check_ret_, error_name(check_ret_), (code), \
			     check_ret_ ? error_message() : "(no error)");      \
		cr_assert(strstr(error_message(), (needle)) != NULL,           \
			  "message '%s' lacks '%s'", error_message(), (needle)); \
	} while (0)

#endif
