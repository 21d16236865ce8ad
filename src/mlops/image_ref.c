#include <ctype.h>
#include <string.h>

#include "mlops/image_ref.h"
#include "core/banned.h"

static int is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component: [a-z0-9]+ joined by '.', '_', '__' or '-'+ (distribution/reference). */
static const char *path_component_problem(const char *p, size_t n)
{
	size_t i = 0;

	if (!n)
		return "an empty path component (a stray '/')";
	while (i < n) {
		size_t run = 0;
		while (i < n && is_lower_alnum((unsigned char)p[i]))
			i++, run++;
		if (!run)
			return isupper((unsigned char)p[i]) ? "repository names must be lowercase"
							    : "path components start and end with a letter or digit";
		if (i == n)
			return NULL;
		if (p[i] == '.' || p[i] == '_') {
			i++;
			if (p[i - 1] == '_' && i < n && p[i] == '_')
				i++;
		} else if (p[i] == '-') {
			while (i < n && p[i] == '-')
				i++;
		} else {
			return isupper((unsigned char)p[i]) ? "repository names must be lowercase"
							    : "an illegal character in the repository name";
		}
		if (i == n)
			return "path components start and end with a letter or digit";
	}
	return NULL;
}

/* domain: labels of letters, digits and inner '-', joined by '.', with an optional :port. */
static const char *domain_problem(const char *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;
		while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '-'))
			i++;
		if (i == start || p[start] == '-' || p[i - 1] == '-')
			return "a malformed registry host";
		if (i == n)
			return NULL;
		if (p[i] == ':') {
			size_t digits = 0;
			for (i++; i < n && isdigit((unsigned char)p[i]); i++)
				digits++;
			return digits && digits <= 5 && i == n ? NULL : "a malformed registry port";
		}
		if (p[i] != '.')
			return "a malformed registry host";
		i++;
	}
}

static const char *tag_problem(const char *t, size_t n)
{
	size_t i;

	if (!n || n > 128)
		return "a tag is 1-128 characters";
	if (!isalnum((unsigned char)t[0]) && t[0] != '_')
		return "a tag starts with a letter, digit or '_'";
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
			return "a tag holds only letters, digits, '_', '.' and '-'";
	return NULL;
}

const char *image_ref_problem(const char *ref)
{
	const char *at = strchr(ref, '@'), *end = at ? at : ref + strlen(ref);
	const char *p, *last_slash = NULL, *colon = NULL, *name_end, *why;

	if (!*ref)
		return "it is empty";
	if (at) {
		const char *d = at + 1;
		size_t i;
		if (strncmp(d, "sha256:", 7))
			return "a digest is '@sha256:' and 64 hex digits";
		for (i = 0; i < 64; i++)
			if (!isxdigit((unsigned char)d[7 + i]) || isupper((unsigned char)d[7 + i]))
				return "a digest is '@sha256:' and 64 lowercase hex digits";
		if (d[7 + 64])
			return "a digest is '@sha256:' and 64 lowercase hex digits";
	}
	for (p = ref; p < end; p++)
		if (*p == '/')
			last_slash = p;
	for (p = last_slash ? last_slash : ref; p < end; p++)
		if (*p == ':')
			colon = p;
	name_end = colon ? colon : end;
	if (colon && (why = tag_problem(colon + 1, (size_t)(end - colon - 1))))
		return why;
	if (name_end - ref > 255)
		return "the repository name is longer than 255 characters";
	for (p = ref; p < name_end;) {
		const char *q = memchr(p, '/', (size_t)(name_end - p));
		size_t n = q ? (size_t)(q - p) : (size_t)(name_end - p);

		if (p == ref && q && (memchr(p, '.', n) || memchr(p, ':', n) ||
				      (n == 9 && !strncmp(p, "localhost", 9))))
			why = domain_problem(p, n);
		else
			why = path_component_problem(p, n);
		if (why)
			return why;
		if (!q)
			break;
		p = q + 1;
		if (p == name_end)
			return "an empty path component (a stray '/')";
	}
	return NULL;
}
