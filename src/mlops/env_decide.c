#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/yaml.h"
#include "mlops/env_compare.h"
#include "mlops/env_decide.h"
#include "core/banned.h"

/* Integer or dotted numeric: digits, single dots, no empty part. */
static int is_numeric_version(const char *v)
{
	const char *p;

	if (!isdigit((unsigned char)*v))
		return 0;
	for (p = v; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
			return 0;
	return 1;
}

int env_next_version(struct buf *out, const char *version)
{
	const char *last;
	size_t start, i;

	if (!is_numeric_version(version))
		return error_set(ERR_INPUT,
				 "cannot compute the version after '%s': only integer (\"3\") "
				 "and dotted numeric (\"1.9\") versions can be incremented; set the "
				 "next version explicitly in the environment YAML", excerpt(version));
	last = strrchr(version, '.');
	last = last ? last + 1 : version;
	start = out->len;
	buf_addstr(out, version);
	/* Decimal increment of the last part, as text: no overflow at any length. */
	for (i = out->len; i > start + (size_t)(last - version); i--) {
		if (out->data[i - 1] != '9') {
			out->data[i - 1]++;
			return 0;
		}
		out->data[i - 1] = '0';
	}
	/* All nines: "9" -> "10", "1.99" -> "1.100". */
	buf_addch(out, '0');
	out->data[start + (size_t)(last - version)] = '1';
	return 0;
}

const char *env_status_name(enum env_status status)
{
	switch (status) {
	case ENV_NEW:
		return "new";
	case ENV_UNCHANGED:
		return "unchanged";
	case ENV_NEEDS_BUMP:
		return "needs-version-bump";
	case ENV_CHANGED_AUTO:
		return "changed";
	}
	return "unknown";
}

void env_decision_init(struct env_decision *d)
{
	struct env_decision fresh = ENV_DECISION_INIT;

	*d = fresh;
}

void env_decision_release(struct env_decision *d)
{
	if (!d)
		return;
	free(d->version);
	free(d->next_version);
	env_diff_release(&d->diff);
	env_decision_init(d);
}

/* Errors about the version point at the version: line (or name: without one). */
static int version_error(const struct environment *local, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int version_error(const struct environment *local, const char *fmt, ...)
{
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(local->doc.root, "version");
	struct buf msg = BUF_INIT;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (!at)
		at = cJSON_GetObjectItemCaseSensitive(local->doc.root, "name");
	ret = yaml_error_at(&local->doc, at, ERR_INPUT, "field 'version': %s", msg.data);
	buf_release(&msg);
	return ret;
}

static int decide_declared(struct env_decision *out, const struct environment *local,
			   const struct env_registered *same, const struct env_registered *latest)
{
	struct buf next = BUF_INIT;
	enum env_compare cmp;

	if (!local->version)
		return version_error(local, "required with versioning 'declared'");
	out->version = xstrdup(local->version);
	if (!same) {
		out->status = ENV_NEW;
		return 0;
	}
	cmp = env_compare(&out->diff, local, same);
	if (cmp != ENV_DIFFERENT) {
		/* An uncomparable version is immutable anyway: leave it, but say so. */
		out->status = ENV_UNCHANGED;
		out->uncertain = cmp == ENV_UNKNOWN;
		return 0;
	}
	out->status = ENV_NEEDS_BUMP;
	/* A human picks the version here: one we cannot compute is left NULL. */
	if (is_numeric_version(latest ? latest->version : same->version) &&
	    !env_next_version(&next, latest ? latest->version : same->version))
		out->next_version = buf_detach(&next, NULL);
	buf_release(&next);
	return 0;
}

static int decide_auto(struct env_decision *out, const struct environment *local,
		       const struct env_registered *same, const struct env_registered *latest)
{
	const struct env_registered *ref;
	struct buf next = BUF_INIT;
	enum env_compare cmp;
	int ret = 0;

	if ((local->version && !same) || (!same && !latest)) {
		out->status = ENV_NEW;
		out->version = xstrdup(local->version ? local->version : "1");
		return 0;
	}
	/* A declared version that is registered pins the comparison to it. */
	ref = local->version && same ? same : latest;
	cmp = env_compare(&out->diff, local, ref);
	if (cmp == ENV_SAME) {
		out->status = ENV_UNCHANGED;
		out->version = xstrdup(ref->version);
		return 0;
	}
	/* Unknown, too, registers: with our tag the next run can compare. */
	out->uncertain = cmp == ENV_UNKNOWN;
	if (!latest)
		latest = ref;
	if (env_next_version(&next, latest->version)) {
		ret = version_error(local, "the content changed and the latest registered version "
				    "is '%s', which cannot be incremented: set the next version "
				    "explicitly", excerpt(latest->version));
		goto done;
	}
	out->status = ENV_CHANGED_AUTO;
	out->version = xstrdup(next.data);
	out->next_version = buf_detach(&next, NULL);
done:
	buf_release(&next);
	return ret;
}

int env_decide(struct env_decision *out, const struct environment *local,
	       const struct env_registered *same, const struct env_registered *latest,
	       enum env_versioning mode)
{
	int ret;

	env_decision_init(out);
	if (mode == ENV_VERSIONING_DECLARED)
		ret = decide_declared(out, local, same, latest);
	else
		ret = decide_auto(out, local, same, latest);
	if (ret)
		env_decision_release(out);
	return ret;
}
