#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "azure/aml.h"
#include "core/error.h"
#include "core/json.h"
#include "core/banned.h"

/* Names are shown in messages: keep a hostile one short and printable. */
#define SHOWN "%.80s"

static int only(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return 0;
	return 1;
}

int aml_check_name(const char *name, const char *what)
{
	size_t n = strlen(name);

	if (!n)
		return error_set(ERR_INPUT, "%s is empty", what);
	if (n > 255 || !isalnum((unsigned char)name[0]) || !only(name, "-_"))
		return error_set(ERR_INPUT,
				 "%s '" SHOWN "' is not valid: use 1-255 letters, digits, '-' and '_', "
				 "starting with a letter or digit", what, name);
	return 0;
}

int aml_check_version(const char *version, const char *what)
{
	size_t n = strlen(version);

	if (!n)
		return error_set(ERR_INPUT, "%s is empty", what);
	if (n > 50 || !isalnum((unsigned char)version[0]) || !only(version, "-_."))
		return error_set(ERR_INPUT,
				 "%s '" SHOWN "' is not valid: use 1-50 letters, digits, '-', '_' and '.', "
				 "starting with a letter or digit", what, version);
	return 0;
}

int aml_check_resource_group(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 90 || name[n - 1] == '.' || !only(name, "-_.()"))
		return error_set(ERR_INPUT,
				 "resource group '" SHOWN "' is not valid: use 1-90 letters, digits, "
				 "'-', '_', '.', '(' and ')', not ending in '.'", name);
	return 0;
}

int aml_check_workspace(const char *name)
{
	size_t n = strlen(name);

	if (n < 3 || n > 33 || !isalnum((unsigned char)name[0]) || !only(name, "-_"))
		return error_set(ERR_INPUT,
				 "workspace name '" SHOWN "' is not valid: use 3-33 letters, digits, '-' "
				 "and '_', starting with a letter or digit", name);
	return 0;
}

int aml_init(struct aml *aml, struct arm *arm, const char *resource_group,
	     const char *workspace)
{
	int ret;

	memset(aml, 0, sizeof(*aml));
	if ((ret = aml_check_resource_group(resource_group)) || (ret = aml_check_workspace(workspace)))
		return ret;
	aml->arm = arm;
	aml->resource_group = xstrdup(resource_group);
	aml->workspace = xstrdup(workspace);
	aml->workspace_path = xasprintf("/subscriptions/%s/resourceGroups/%s/providers/"
					"Microsoft.MachineLearningServices/workspaces/%s",
					arm->subscription_id, resource_group, workspace);
	return 0;
}

void aml_release(struct aml *aml)
{
	free(aml->resource_group);
	free(aml->workspace);
	free(aml->workspace_path);
	memset(aml, 0, sizeof(*aml));
}

void aml_path(struct buf *out, const struct aml *aml, const char *fmt, ...)
{
	va_list ap;

	buf_addstr(out, aml->workspace_path);
	va_start(ap, fmt);
	buf_vaddf(out, fmt, ap);
	va_end(ap);
}

int aml_add_pairs(cJSON *parent, const char *key, const char *const *pairs, const char *what)
{
	cJSON *map = json_add_object(parent, key);

	for (; pairs && pairs[0]; pairs += 2) {
		if (!pairs[1])
			return error_set(ERR_INPUT, "%s '%s' has no value", what, pairs[0]);
		json_add_string(map, pairs[0], pairs[1]);
	}
	return 0;
}

void aml_add_optional(cJSON *o, const char *key, const char *value)
{
	if (value && *value)
		json_add_string(o, key, value);
}

char *aml_dup_string(const cJSON *root, const char *path)
{
	const char *s = json_string_or(root, path, NULL);

	return s ? xstrdup(s) : NULL;
}

cJSON *aml_dup_object(const cJSON *root, const char *path)
{
	const cJSON *o = json_find(root, path);

	return cJSON_IsObject(o) ? json_duplicate(o) : NULL;
}
