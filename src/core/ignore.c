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

enum { GLOB_MATCH, GLOB_NOMATCH, GLOB_ABORT_ALL };

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
 * The matcher. git's wildmatch backtracks: every '*' tries each place the
 * rest could start, so "**" + "/a*" repeated, against a long path, takes
 * time exponential in the stars (git itself stalls on it). Here each star
 * group remembers, for each text position, whether the rest matches from
 * there, so a match costs at most (star groups x text length) steps. The
 * answers are wildmatch's: its ABORT shortcuts only prune tries that
 * cannot succeed.
 */
struct glob {
	const unsigned char *p, *t;
	size_t tlen;
	int pathname;
	size_t *group;        /* pattern index of a star group's first '*' -> its number + 1 */
	unsigned char *memo;  /* [group][text pos]: 0 unknown, 1 no, 2 yes; star, then run */
	size_t groups;        /* room in memo */
	size_t used;          /* groups met so far */
};

static int star(struct glob *g, size_t i, size_t j);

/* Whether p[i..] matches t[j..]; literals are walked, stars branch. */
static int match_at(struct glob *g, size_t i, size_t j)
{
	const unsigned char *q;

	for (;; i++, j++) {
		unsigned char pc = g->p[i], tc = g->t[j];

		if (!pc)
			return !tc;
		if (pc == '*')
			return star(g, i, j);
		if (!tc)
			return 0;
		switch (pc) {
		case '\\':
			/* the next character literally; a trailing '\' matches nothing */
			if (g->p[++i] != tc)
				return 0;
			break;
		case '?':
			if (g->pathname && tc == '/')
				return 0;
			break;
		case '[':
			q = g->p + i;
			if (bracket(&q, tc, g->pathname) != GLOB_MATCH)
				return 0;
			i = (size_t)(q - g->p);
			break;
		default:
			if (pc != tc)
				return 0;
		}
	}
}

/*
 * Whether the rest after the stars, p[e..], matches from some k >= j the
 * stars can reach (`cross`: across '/'). Every position visited shares the
 * answer: those before a match reach it, and none reach one if none does.
 */
static int run(struct glob *g, size_t gi, size_t e, size_t j, int cross)
{
	unsigned char *memo = g->memo + (g->groups + gi) * (g->tlen + 1);
	size_t k, m;
	int r;

	for (k = j;; k++) {
		if (memo[k]) {
			r = memo[k] == 2;
			break;
		}
		if (match_at(g, e, k)) {
			r = 1;
			break;
		}
		if (!g->t[k] || (!cross && g->t[k] == '/')) {
			r = 0;
			break;
		}
	}
	for (m = j; m <= k; m++)
		memo[m] = (unsigned char)(r ? 2 : 1);
	return r;
}

static int star(struct glob *g, size_t i, size_t j)
{
	size_t gi, e = i;
	unsigned char *memo;
	const unsigned char *p = g->p;
	int cross, boundary = 0, r;

	if (!g->group[i]) {
		if (g->used == g->groups)
			return 0; /* more groups than counted: cannot happen */
		g->group[i] = ++g->used;
	}
	gi = g->group[i] - 1;
	memo = g->memo + gi * (g->tlen + 1);

	if (memo[j])
		return memo[j] == 2;
	while (p[e] == '*')
		e++;
	if (e - i == 1) {
		cross = !g->pathname;
	} else if (!g->pathname) {
		cross = 1;
	} else {
		/* "**" as a whole component crosses directories, else it is '*' */
		boundary = (i == 0 || p[i - 1] == '/') &&
			   (!p[e] || p[e] == '/' || (p[e] == '\\' && p[e + 1] == '/'));
		cross = boundary;
	}
	if (!p[e])
		/* trailing: "**" takes everything, '*' the rest of one component */
		r = cross || !strchr((const char *)g->t + j, '/');
	else
		/* "a/" "**" "/b" matches "a/b" too: the "**" + "/" may be nothing */
		r = (boundary && p[e] == '/' && match_at(g, e + 1, j)) ||
		    run(g, gi, e, j, cross);
	memo[j] = (unsigned char)(r ? 2 : 1);
	return r;
}

int ignore_glob(const char *pattern, const char *text, int pathname)
{
	struct glob g = { (const unsigned char *)pattern, (const unsigned char *)text,
			  strlen(text), pathname, NULL, NULL, 0, 0 };
	size_t plen = strlen(pattern), i;
	int r;

	/* Room for every '*' that can start a group: one not after another,
	 * or after an escaped one. */
	for (i = 0; i < plen; i++)
		g.groups += pattern[i] == '*' &&
			    (!i || pattern[i - 1] != '*' || (i > 1 && pattern[i - 2] == '\\'));
	if (g.groups) {
		g.group = xcalloc(plen, sizeof(*g.group));
		g.memo = xcalloc(2 * g.groups * (g.tlen + 1), 1);
	}
	r = match_at(&g, 0, 0);
	free(g.group);
	free(g.memo);
	return r;
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
		/* Longer than any path: not a pattern (and no stack or memory
		 * for a hostile one to eat). */
		if (n && p[0] != '#' && n <= IGNORE_LINE_MAX) {
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
	if (strlen(path) > IGNORE_PATH_MAX)
		return IGNORE_UNMATCHED;
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
