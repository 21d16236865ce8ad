#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/ignore.h"
#include "core/banned.h"

/*
 * The rules are git's (dir.c, wildmatch.c), so that what a repository's
 * .gitignore means to git is what it means here; tests/core/test_ignore.c
 * holds cases whose answers came from `git check-ignore`.
 */

#define RULE_NEGATIVE  1u /* "!pattern" */
#define RULE_DIR_ONLY  2u /* "pattern/" */
#define RULE_BASENAME  4u /* no '/' but a trailing one: match the last component */

/* ---- wildmatch ---- */

enum { GLOB_MATCH, GLOB_NOMATCH, GLOB_ABORT_ALL, GLOB_ABORT_TO_STARSTAR };

static int glob_special(unsigned char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

/* "[:name:]" with `n` the length of name; -1 for a name git does not know. */
static int in_class(const unsigned char *name, size_t n, unsigned char c)
{
	static const struct { const char *name; int (*is)(int); } classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank },
		{ "cntrl", iscntrl }, { "digit", isdigit }, { "graph", isgraph },
		{ "lower", islower }, { "print", isprint }, { "punct", ispunct },
		{ "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
	};
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(*classes); i++)
		if (strlen(classes[i].name) == n && !memcmp(classes[i].name, name, n))
			return c < 0x80 && classes[i].is(c); /* ASCII only, whatever the locale */
	return -1;
}

/*
 * "[...]" at *pp against `c`: GLOB_MATCH with *pp left on the closing ']',
 * GLOB_NOMATCH, or GLOB_ABORT_ALL for a set that never closes (no text can
 * match the pattern then).
 */
static int bracket(const unsigned char **pp, unsigned char c, int pathname)
{
	const unsigned char *p = *pp + 1, *name;
	unsigned char pc = *p, prev = 0;
	int negated, matched = 0, r;

	if (pc == '^')
		pc = '!';
	negated = pc == '!';
	if (negated)
		pc = *++p;
	/* The first character is taken literally even if it is ']'. */
	do {
		if (!pc)
			return GLOB_ABORT_ALL;
		if (pc == '\\') {
			pc = *++p;
			if (!pc)
				return GLOB_ABORT_ALL;
			matched |= c == pc;
		} else if (pc == '-' && prev && p[1] && p[1] != ']') {
			pc = *++p;
			if (pc == '\\' && !(pc = *++p))
				return GLOB_ABORT_ALL;
			matched |= c >= prev && c <= pc;
			pc = 0; /* a range is no start of another */
		} else if (pc == '[' && p[1] == ':') {
			for (name = p += 2; *p && *p != ']'; p++)
				;
			if (!*p)
				return GLOB_ABORT_ALL;
			if (p - name < 1 || p[-1] != ':') {
				/* no ":]": the '[' was an ordinary member */
				p = name - 2;
				pc = '[';
				matched |= c == pc;
				continue;
			}
			if ((r = in_class(name, (size_t)(p - name - 1), c)) < 0)
				return GLOB_ABORT_ALL;
			matched |= r;
			pc = 0;
		} else {
			matched |= c == pc;
		}
	} while (prev = pc, (pc = *++p) != ']');
	*pp = p;
	if (matched == negated || (pathname && c == '/'))
		return GLOB_NOMATCH;
	return GLOB_MATCH;
}

/*
 * `pat` is where the whole pattern starts (a "**" must follow it or a '/'
 * to cross directories). The ABORT answers cut the backtracking short, as
 * rsync's and git's wildmatch do, so that no pattern takes exponential time:
 * ABORT_ALL when the text ran out (no later start of a '*' can match),
 * ABORT_TO_STARSTAR when a single '*' met a '/' (only an outer "**" may
 * try further).
 */
static int glob_at(const unsigned char *pat, const unsigned char *p, const unsigned char *t,
		   int pathname)
{
	for (; *p; p++, t++) {
		unsigned char tc = *t;
		const unsigned char *stars;
		int cross, r;

		if (!tc && *p != '*')
			return GLOB_ABORT_ALL;
		switch (*p) {
		case '\\':
			/* the next character literally; a trailing '\' matches nothing */
			if (*++p != tc)
				return GLOB_NOMATCH;
			continue;
		case '?':
			if (pathname && tc == '/')
				return GLOB_NOMATCH;
			continue;
		case '[':
			if ((r = bracket(&p, tc, pathname)) != GLOB_MATCH)
				return r;
			continue;
		case '*':
			break;
		default:
			if (*p != tc)
				return GLOB_NOMATCH;
			continue;
		}
		stars = p;
		while (p[1] == '*')
			p++;
		p++; /* the first character after the stars */
		if (p - stars == 1) {
			cross = !pathname;
		} else if (!pathname) {
			cross = 1;
		} else if ((stars == pat || stars[-1] == '/') &&
			   (!*p || *p == '/' || (p[0] == '\\' && p[1] == '/'))) {
			/* "**" as a whole component: "a/" "**" "/b" matches "a/b" too */
			if (*p == '/' && glob_at(pat, p + 1, t, pathname) == GLOB_MATCH)
				return GLOB_MATCH;
			cross = 1;
		} else {
			cross = 0;
		}
		if (!*p) {
			/* A trailing "**" takes everything, a trailing '*' the rest
			 * of one component. */
			if (!cross && strchr((const char *)t, '/'))
				return GLOB_NOMATCH;
			return GLOB_MATCH;
		}
		if (!cross && *p == '/') {
			/* "*" + "/": the rest of this component, then on at the '/' */
			const char *slash = strchr((const char *)t, '/');

			if (!slash)
				return GLOB_NOMATCH;
			t = (const unsigned char *)slash;
			continue; /* the loop steps over both slashes */
		}
		for (;;) {
			if (!tc)
				break;
			if (!glob_special(*p)) {
				/* skip to where the literal after the star can match */
				while ((tc = *t) && (cross || tc != '/') && tc != *p)
					t++;
				if (tc != *p)
					return GLOB_NOMATCH;
			}
			r = glob_at(pat, p, t, pathname);
			if (r != GLOB_NOMATCH) {
				if (!cross || r != GLOB_ABORT_TO_STARSTAR)
					return r;
			} else if (!cross && tc == '/') {
				return GLOB_ABORT_TO_STARSTAR;
			}
			tc = *++t;
		}
		return GLOB_ABORT_ALL;
	}
	return *t ? GLOB_NOMATCH : GLOB_MATCH;
}

int ignore_glob(const char *pattern, const char *text, int pathname)
{
	const unsigned char *p = (const unsigned char *)pattern;

	return glob_at(p, p, (const unsigned char *)text, pathname) == GLOB_MATCH;
}

/* ---- rules ---- */

/* git's trim_trailing_spaces: spaces (not tabs) at the end go, unless the
 * first of them is quoted by a '\'. */
static size_t trim_spaces(const char *s, size_t len)
{
	size_t i, cut = len;
	int in_spaces = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ' ') {
			if (!in_spaces)
				cut = i;
			in_spaces = 1;
			continue;
		}
		if (s[i] == '\\' && ++i == len)
			return len; /* a lone trailing '\' keeps everything */
		in_spaces = 0;
	}
	return in_spaces ? cut : len;
}

static void add_rule(struct ignore *ig, const char *s, size_t len, int line)
{
	struct ignore_rule *r;
	unsigned flags = 0;

	if (len && s[0] == '!') {
		flags |= RULE_NEGATIVE;
		s++;
		len--;
	}
	if (len && s[len - 1] == '/') {
		flags |= RULE_DIR_ONLY;
		len--;
	}
	if (!memchr(s, '/', len))
		flags |= RULE_BASENAME;
	else if (s[0] == '/') {
		s++; /* anchored: every pattern with a '/' is, this one says so */
		len--;
	}
	ig->rules = xrealloc(ig->rules, (ig->nr + 1) * sizeof(*ig->rules));
	r = &ig->rules[ig->nr++];
	r->pattern = xstrndup(s, len);
	r->flags = flags;
	r->line = line;
}

void ignore_parse(struct ignore *out, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	int line = 0;

	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		line++;
		if (n && p[0] != '#') {
			if (p[n - 1] == '\r')
				n--;
			n = strnlen(p, n); /* a NUL ends the line, as it does for git */
			add_rule(out, p, trim_spaces(p, n), line);
		}
		p = nl ? nl + 1 : end;
	}
}

void ignore_release(struct ignore *ig)
{
	size_t i;

	if (!ig)
		return;
	for (i = 0; i < ig->nr; i++)
		free(ig->rules[i].pattern);
	free(ig->rules);
	ig->rules = NULL;
	ig->nr = 0;
}

static int rule_matches(const struct ignore_rule *r, const char *path)
{
	const char *pat = r->pattern, *base;
	size_t lit;

	if (r->flags & RULE_BASENAME) {
		base = strrchr(path, '/');
		return ignore_glob(pat, base ? base + 1 : path, 0);
	}
	/* git compares the part before the first wildcard literally and
	 * globs the rest on its own, so a "**" right after that part counts
	 * as one at the start: "foo**" + "/bar" matches "foo/x/bar". */
	for (lit = 0; pat[lit] && !glob_special((unsigned char)pat[lit]); lit++)
		;
	if (strncmp(pat, path, lit))
		return 0;
	if (!pat[lit])
		return !path[lit];
	return ignore_glob(pat + lit, path + lit, 1);
}

enum ignore_verdict ignore_match(const struct ignore *ig, const char *path, int is_dir,
				 int *line_out)
{
	size_t i = ig->nr;

	if (line_out)
		*line_out = 0;
	while (i--) {
		const struct ignore_rule *r = &ig->rules[i];

		if ((r->flags & RULE_DIR_ONLY) && !is_dir)
			continue;
		if (!rule_matches(r, path))
			continue;
		if (line_out)
			*line_out = r->line;
		return r->flags & RULE_NEGATIVE ? IGNORE_INCLUDED : IGNORE_EXCLUDED;
	}
	return IGNORE_UNMATCHED;
}

int ignore_excludes(const struct ignore *ig, const char *path, int is_dir, int *line_out)
{
	struct buf dir = BUF_INIT;
	const char *slash;
	int excluded = 0;

	for (slash = strchr(path, '/'); slash && !excluded; slash = strchr(slash + 1, '/')) {
		buf_reset(&dir);
		buf_add(&dir, path, (size_t)(slash - path));
		excluded = ignore_match(ig, dir.data, 1, line_out) == IGNORE_EXCLUDED;
	}
	if (!excluded)
		excluded = ignore_match(ig, path, is_dir, line_out) == IGNORE_EXCLUDED;
	buf_release(&dir);
	return excluded;
}
