#ifndef CORE_BANNED_H
#define CORE_BANNED_H

/*
 * Calls that are too easy to get wrong: an unbounded copy, a format into an
 * unsized buffer, hidden static state, or an integer parse with no error.
 * Use struct buf, snprintf, strtok_r, and strtol with an end pointer instead.
 * Included after the system headers, as git's banned.h is.
 */

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)

#endif
