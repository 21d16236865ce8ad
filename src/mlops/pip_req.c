#include <ctype.h>
#include <string.h>

#include "core/buf.h"
#include "core/encode.h"
#include "core/error.h"
#include "mlops/pip_req.h"
#include "core/banned.h"

/* Requirements are echoed in messages; a hostile one must not flood the log. */

/* PEP 508 names: letters and digits, with '.', '_', '-' inside. */
static int is_name_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

size_t pip_req_operator_len(const char *s)
{
	static const char *const ops[] = { "===", "==", "!=", ">=", "<=", "~=", ">", "<", NULL };
	size_t i;

	for (i = 0; ops[i]; i++)
		if (!strncmp(s, ops[i], strlen(ops[i])))
			return strlen(ops[i]);
	return 0;
}

static int bad_pip(const char *spec, const char *fmt, const char *detail)
{
	struct buf why = BUF_INIT;
	int ret;

	buf_addf(&why, fmt, detail);
	ret = error_set(ERR_INPUT, "invalid pip requirement '%s': %s", excerpt(spec),
			why.data);
	buf_release(&why);
	return ret;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int pip_req_is_url(const char *p)
{
	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	return !strncmp(p, "://", 3);
}

/* A URL up to white space; returns the end or NULL when malformed. */
static const char *scan_url(const char *p)
{
	const char *start;

	if (!pip_req_is_url(p))
		return NULL;
	start = strstr(p, "://") + 3;
	for (p = start; *p && *p != ' ' && *p != '\t'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return NULL;
	return p > start ? p : NULL;
}

/* Options pip accepts in a requirements file (pip/_internal/req/req_file.py). */
static int check_pip_option(const char *spec)
{
	static const char *const with_value[] = {
		"-r", "--requirement", "-c", "--constraint", "-e", "--editable",
		"-i", "--index-url", "--extra-index-url", "-f", "--find-links",
		"--trusted-host", "--no-binary", "--only-binary", "--use-feature",
		"--config-settings", "--global-option", NULL };
	static const char *const flags[] = {
		"--pre", "--no-index", "--prefer-binary", "--require-hashes", NULL };
	const char *end = spec, *val, *opt_name;
	size_t n;

	while (*end && *end != ' ' && *end != '\t' && *end != '=')
		end++;
	n = (size_t)(end - spec);
	if ((opt_name = str_table_find(flags, spec, n)))
		return *skip_ws(end) ? bad_pip(spec, "option '%s' takes no value", opt_name) : 0;
	if (!(opt_name = str_table_find(with_value, spec, n))) {
		struct buf opt = BUF_INIT;
		int ret;
		buf_add(&opt, spec, n);
		ret = bad_pip(spec, "unknown pip option '%s'", excerpt(opt.data));
		buf_release(&opt);
		return ret;
	}
	val = *end == '=' ? end + 1 : skip_ws(end);
	if (!*val || *val == ' ')
		return bad_pip(spec, "option '%s' needs a value", opt_name);
	while (*val && *val != ' ' && *val != '\t')
		val++;
	if (*skip_ws(val))
		return bad_pip(spec, "option '%s' takes one value", opt_name);
	return 0;
}

/* PEP 508 names and extras: letters and digits, with '.', '_', '-' inside. */
static const char *scan_identifier(const char *p)
{
	const char *start = p;

	if (!isalnum((unsigned char)*p))
		return NULL;
	while (is_name_char((unsigned char)*p))
		p++;
	return isalnum((unsigned char)p[-1]) || p == start ? p : NULL;
}

static int check_extras(const char *spec, const char **pp)
{
	const char *p = skip_ws(*pp + 1);

	if (*p == ']') {
		*pp = p + 1;
		return 0;
	}
	for (;;) {
		p = scan_identifier(p);
		if (!p)
			return bad_pip(spec, "%s", "an extra must be a name ('pkg[extra1,extra2]')");
		p = skip_ws(p);
		if (*p == ']')
			break;
		if (*p != ',')
			return bad_pip(spec, "%s", "extras are separated by ',' and closed by ']'");
		p = skip_ws(p + 1);
	}
	*pp = p + 1;
	return 0;
}

/* PEP 440 specifiers: "op version" clauses joined by ','. */
static int check_pip_versions(const char *spec, const char **pp)
{
	const char *p = *pp;

	for (;;) {
		size_t op;
		const char *v;
		struct buf opbuf = BUF_INIT;

		p = skip_ws(p);
		op = pip_req_operator_len(p);
		if (!op)
			return bad_pip(spec, "%s", "expected a version operator (==, >=, <=, !=, ~=, >, <, ===)");
		buf_add(&opbuf, p, op);
		v = p = skip_ws(p + op);
		if (op == 3) {
			while (*p && *p != ' ' && *p != ',' && *p != ';' && *p != ')')
				p++;
		} else {
			while (isalnum((unsigned char)*p) || (*p && strchr("._+!*-", *p)))
				p++;
		}
		if (p == v) {
			int ret = bad_pip(spec, "'%s' needs a version after it", excerpt(opbuf.data));
			buf_release(&opbuf);
			return ret;
		}
		buf_release(&opbuf);
		if (!isalnum((unsigned char)*v) && op != 3)
			return bad_pip(spec, "%s", "a version starts with a letter or digit");
		p = skip_ws(p);
		if (*p != ',')
			break;
		p++;
	}
	*pp = p;
	return 0;
}

/* Environment markers after ';': checked for shape, not evaluated. */
static int check_markers(const char *spec, const char *p)
{
	char quote = 0;
	int depth = 0;

	p = skip_ws(p);
	if (!*p)
		return bad_pip(spec, "%s", "';' needs an environment marker after it");
	for (; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			continue;
		}
		if (*p == '\'' || *p == '"')
			quote = *p;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth < 0)
			break;
		else if (!isalnum((unsigned char)*p) && !strchr(" \t._-<>=!~", *p))
			return bad_pip(spec, "%s", "an illegal character in the environment marker");
	}
	if (quote || depth)
		return bad_pip(spec, "%s", "unbalanced quotes or parentheses in the environment marker");
	return 0;
}

/* Per-requirement options pip allows after a requirement ("--hash=sha256:..."). */
static int check_trailing_options(const char *spec, const char *p)
{
	while (*(p = skip_ws(p))) {
		const char *h;
		if (strncmp(p, "--hash=", 7))
			return bad_pip(spec, "unexpected '%s'", excerpt(p));
		h = strchr(p + 7, ':');
		if (!h || h == p + 7 || !isxdigit((unsigned char)h[1]))
			return bad_pip(spec, "%s", "--hash needs 'algorithm:hexdigest'");
		for (p = h + 1; isxdigit((unsigned char)*p); p++)
			;
		if (*p && *p != ' ' && *p != '\t')
			return bad_pip(spec, "%s", "--hash needs 'algorithm:hexdigest'");
	}
	return 0;
}

int pip_req_check(const char *spec)
{
	const char *p = spec, *url_end;

	if (!*spec)
		return bad_pip(spec, "%s", "the requirement is empty");
	if (*spec == '-')
		return check_pip_option(spec);
	if (pip_req_is_url(spec)) {
		url_end = scan_url(spec);
		if (!url_end)
			return bad_pip(spec, "%s", "a malformed URL");
		p = skip_ws(url_end);
		if (*p == ';')
			return check_markers(spec, p + 1);
		return *p ? bad_pip(spec, "unexpected '%s' after the URL", excerpt(p)) : 0;
	}
	p = scan_identifier(spec);
	if (!p)
		return bad_pip(spec, "%s", "a requirement starts with a package name "
			       "(letters, digits, '.', '_', '-'), a URL or an option");
	p = skip_ws(p);
	if (*p == '[' && check_extras(spec, &p))
		return ERR_INPUT;
	p = skip_ws(p);
	if (*p == '@') {
		p = skip_ws(p + 1);
		url_end = scan_url(p);
		if (!url_end)
			return bad_pip(spec, "%s", "'@' needs a URL after it");
		p = skip_ws(url_end);
		if (*p == ';') {
			if (url_end == p)
				return bad_pip(spec, "%s", "a space must separate the URL from ';'");
			return check_markers(spec, p + 1);
		}
		return check_trailing_options(spec, p);
	}
	if (*p == '(') {
		p++;
		if (check_pip_versions(spec, &p))
			return ERR_INPUT;
		if (*p != ')')
			return bad_pip(spec, "%s", "'(' without a closing ')'");
		p = skip_ws(p + 1);
	} else if (*p && *p != ';' && *p != '-') {
		if (check_pip_versions(spec, &p))
			return ERR_INPUT;
	}
	if (*p == ';')
		return check_markers(spec, p + 1);
	return check_trailing_options(spec, p);
}
