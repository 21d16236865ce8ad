/*
 * LeakSanitizer in the unit tests checks each test's own process, never
 * Criterion's runner: with --jobs 2 the runner itself (libcriterion 2.4)
 * sometimes leaves 48 bytes of its own at exit, which made the sanitizer
 * pass fail on a leak that is none of ours (seen on the http suite, on
 * old and new trees alike). Criterion runs each test in a worker process
 * of the same program, started by BoxFort with BXFI_MAP in its
 * environment: there the check stays on, as that is where our code runs.
 */
#include <stdlib.h>

/* LeakSanitizer's hook, asked at exit: non-zero skips the check. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return getenv("BXFI_MAP") == NULL;
}
