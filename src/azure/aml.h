#ifndef AZURE_AML_H
#define AZURE_AML_H

#include <cjson/cJSON.h>

#include "azure/aml_names.h"
#include "azure/arm.h"
#include "core/buf.h"

/*
 * The Azure Machine Learning workspace the clients work in, and the rules
 * Azure applies to names, checked locally before any call so that a bad
 * name fails fast with the input named (docs/azure-contract.md 3).
 * The asset, job and endpoint clients (aml_*.h) build on this.
 */

#define AML_API_VERSION "2025-12-01"

struct aml {
	struct arm *arm;         /* borrowed */
	char *resource_group;
	char *workspace;
	char *workspace_path;    /* /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<ws> */
};

/* Checks the names and fills `aml`; ERR_INPUT naming the bad one. */
int aml_init(struct aml *aml, struct arm *arm, const char *resource_group,
	     const char *workspace);
void aml_release(struct aml *aml);

/* Appends the workspace path followed by the formatted suffix
 * ("/models/%s/versions/%s"); arguments must be checked names. */
void aml_path(struct buf *out, const struct aml *aml, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Body and reply helpers the job and endpoint clients share.
 */

/* Adds `key` to `parent` as an object of the NULL-terminated key/value list
 * `pairs` ({"k1", "v1", "k2", "v2", NULL}; NULL adds an empty object).
 * ERR_INPUT naming `what` ("job tag") when a key has no value; the object
 * stays in `parent` either way, so the caller frees the whole body. */
int aml_add_pairs(cJSON *parent, const char *key, const char *const *pairs, const char *what);
/* Adds the string `value` under `key` unless it is NULL or empty. */
void aml_add_optional(cJSON *o, const char *key, const char *value);
/* A copy of the string at `path` (json_find's syntax), or NULL when there is
 * none; the caller frees it. */
char *aml_dup_string(const cJSON *root, const char *path);
/* A deep copy of the object at `path`, or NULL when it is absent or not an
 * object; the caller frees it with cJSON_Delete. */
cJSON *aml_dup_object(const cJSON *root, const char *path);

#endif
