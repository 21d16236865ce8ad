#ifndef CORE_IGNORE_H
#define CORE_IGNORE_H

#include <stddef.h>

/*
 * Ignore files (.gitignore, .amlignore) read with git's rules, gitignore(5):
 *
 *   - one pattern a line; a line ending "\r\n" counts as "\n"; a UTF-8 BOM
 *     at the start is skipped; blank lines and lines starting with '#' are
 *     no patterns ("\#" starts a pattern with '#');
 *   - trailing spaces are dropped unless escaped ("a\ " keeps its space);
 *   - '!' in front negates ("\!" starts a pattern with '!');
 *   - a trailing '/' matches directories only;
 *   - a pattern with no other '/' matches the last component at any depth;
 *     one with a '/' at the start or in the middle matches the whole path
 *     relative to the ignore file's folder (a leading '/' only anchors);
 *   - '*' matches anything but '/', '?' one character but '/', "[...]"
 *     one character of a set ("[!...]" or "[^...]" negated, ranges, and
 *     "[:alpha:]"-style classes), '\' quotes the next character; "**"
 *     between slashes (or at the start or end) matches any number of
 *     directories, anywhere else it is a '*';
 *   - the last pattern that matches decides, and a path inside an excluded
 *     directory is excluded whatever follows ("It is not possible to
 *     re-include a file if a parent directory of that file is excluded").
 *
 * Matching is case-sensitive (core.ignorecase=false, as on Linux). Pure:
 * no file system access. The rules own copies of their patterns.
 *
 * Two limits git does not have, so that a hostile file cannot exhaust the
 * stack, memory or time: a line longer than IGNORE_LINE_MAX is no pattern,
 * and a path longer than IGNORE_PATH_MAX (no path a walk meets is) matches
 * nothing. Matching takes at most (star groups x path length) steps, where
 * git's backtracking can take exponential time.
 */
#define IGNORE_LINE_MAX 4096
#define IGNORE_PATH_MAX 4096

struct ignore_rule {
	char *pattern;     /* without '!', the leading '/' and the trailing '/' */
	unsigned flags;
	int line;          /* in the text it came from, from 1 */
};

struct ignore {
	struct ignore_rule *rules;
	size_t nr;
};
#define IGNORE_INIT { NULL, 0 }

/* Appends the patterns of an ignore file's `len` bytes (NULs allowed: a
 * line is cut at its first one). Every line is valid: a malformed pattern
 * (an unclosed "[") simply matches nothing, as in git. */
void ignore_parse(struct ignore *out, const char *text, size_t len);
void ignore_release(struct ignore *ig);

enum ignore_verdict {
	IGNORE_UNMATCHED = 0, /* no pattern matches */
	IGNORE_EXCLUDED = 1,  /* the last matching pattern excludes it */
	IGNORE_INCLUDED = 2,  /* the last matching pattern is a '!' one */
};

/*
 * The verdict of the rules on `path` itself, '/'-separated and relative to
 * the ignore file's folder, without a leading or trailing '/'; `is_dir`
 * says whether it is a directory (for patterns ending in '/'). Its parent
 * directories are not looked at: a walk that leaves out excluded
 * directories asks for each entry it meets. `line_out` (may be NULL)
 * receives the deciding rule's line, 0 when none.
 */
enum ignore_verdict ignore_match(const struct ignore *ig, const char *path, int is_dir,
				 int *line_out);

/* Whether `path` is left out, its parent directories considered (as `git
 * check-ignore` answers): 1 when it or a directory above it is EXCLUDED. */
int ignore_excludes(const struct ignore *ig, const char *path, int is_dir, int *line_out);

/* git's wildmatch: 1 when `text` matches the glob `pattern`; with
 * `pathname` set, '*', '?' and "[...]" never match a '/' and "**" is
 * special as above, else every '*' matches '/' too. */
int ignore_glob(const char *pattern, const char *text, int pathname);

#endif
