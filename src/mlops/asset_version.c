#include <ctype.h>
#include <strings.h>

#include "azure/aml_names.h"
#include "core/buf.h"
#include "core/encode.h"
#include "core/error.h"
#include "mlops/asset_version.h"
#include "core/banned.h"

/* Why `v` is refused though Azure would store it, or NULL when it is fine. */
static const char *version_problem(const char *v)
{
	const char *p = v, *part;
	int zero = 1;

	if (!strcasecmp(v, "latest"))
		return "is reserved: Azure ML reads <name>@latest as the newest version; use 1, 2, ...";
	if (!isdigit((unsigned char)*v))
		return NULL;
	for (;;) {
		for (part = p; isdigit((unsigned char)*p); p++)
			;
		if (p == part)
			break;
		if (*part == '0' && p - part > 1)
			return "has a leading zero: write versions as 1, 2, 10 (or dotted, 1.10)";
		if (*part != '0')
			zero = 0;
		if (*p != '.' || !isdigit((unsigned char)p[1]))
			break;
		p++;
	}
	if (!*p)
		return zero ? "is not a version: versions start at 1" : NULL;
	if (*p == 'e' || *p == 'E' || *p == 'x' || *p == 'o')
		return "is a number in YAML's notation, not a version: write it as a whole number "
		       "(1000, not 1e3)";
	return NULL;
}

int asset_version_check(const struct yaml_doc *doc, const cJSON *at, const char *version,
			const char *what)
{
	const char *why;

	if (aml_check_version(version, what)) {
		struct buf msg = BUF_INIT;
		int ret;

		buf_addstr(&msg, error_message());
		ret = yaml_error_at(doc, at, ERR_INPUT, "field 'version': %s", msg.data);
		buf_release(&msg);
		return ret;
	}
	if ((why = version_problem(version)))
		return yaml_error_at(doc, at, ERR_INPUT, "field 'version': '%s' %s",
				     excerpt(version), why);
	return 0;
}
