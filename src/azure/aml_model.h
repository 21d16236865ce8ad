#ifndef AZURE_AML_MODEL_H
#define AZURE_AML_MODEL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "azure/aml_assets.h"

/*
 * Models (azure-contract 3.6). The container is an aml_container of kind
 * AML_MODEL (aml_container_get/put). Errors and ownership as in
 * aml_assets.h: changing modelUri, modelType, jobName or flavors of an
 * existing version, or replacing one of its `properties` values, is
 * ERR_CONFLICT. Workspace model versions are positive integers [obs].
 */

struct aml_model_version {
	struct aml_asset asset;   /* first: the shared calls of aml_assets.h read it */
	char *model_type;   /* custom_model | mlflow_model | triton_model (the SDKs' spelling) */
	char *model_uri;    /* "azureml://jobs/<job>/outputs/artifacts/paths/model/" */
	char *job_name;     /* the training job; NULL when not given */
	cJSON *flavors;     /* {"python_function":{"data":{...}}}; NULL when none */
	char *stage;        /* the service's own `stage` field, not the `stage` tag */
};
void aml_model_version_release(struct aml_model_version *v);

int aml_model_version_get(struct aml_model_version *out, struct aml *aml, const char *name,
			  const char *version);
/* PUT W/models/{name}/versions/{version}; ERR_INPUT without a modelUri. */
int aml_model_version_put(struct aml_model_version *out, struct aml *aml,
			  const struct aml_model_version *v);
/* Every version, every page; `o->tags` is sent as `tags` ("stage=production").
 * Free with aml_model_versions_free. */
int aml_model_version_list(struct aml_model_version **out, size_t *nr_out, struct aml *aml,
			   const char *name, const struct aml_list_options *o);
void aml_model_versions_free(struct aml_model_version *v, size_t nr);
/* The container's latestVersion, fetched; ERR_NOT_FOUND when none. */
int aml_model_version_latest(struct aml_model_version *out, struct aml *aml, const char *name);

/* What an update changes; every other field of the version is kept. */
struct aml_model_update {
	const cJSON *set_tags;            /* object of string values to add or replace; may be NULL */
	const char *const *remove_tags;   /* NULL-terminated tag names; may be NULL */
	const char *description;          /* NULL: unchanged */
	const char *stage;                /* the `stage` field; NULL: unchanged */
	int archive;                      /* 0 unchanged, 1 archive, -1 unarchive */
};

/*
 * Updates a version the way the contract prescribes (3.6): GET it, change
 * tags/description/stage/isArchived in the body, PUT the whole body back
 * (200). Nothing else is touched, so modelUri, flavors, properties and
 * fields this client does not know survive. `out` receives the updated
 * version. There is no ETag on asset versions: a writer racing between
 * our GET and PUT loses its tag change, so callers serialise updates of
 * one model (the stage machine runs once per model at a time).
 */
int aml_model_update(struct aml_model_version *out, struct aml *aml, const char *name,
		     const char *version, const struct aml_model_update *u);
/* aml_model_update with only tags: what the stage machine uses to move
 * the `stage` tag. */
int aml_model_set_tags(struct aml_model_version *out, struct aml *aml, const char *name,
		       const char *version, const cJSON *tags_to_set,
		       const char *const *tags_to_remove);

/* Pure pieces. */
int aml_model_version_parse(struct aml_model_version *out, const cJSON *json);
cJSON *aml_model_version_body(const struct aml_model_version *v);
/* Applies `u` to a version resource (a GET body) in place; ERR_INPUT when
 * a tag value is not a string, ERR_JSON when `body` has no properties. */
int aml_model_apply_update(cJSON *body, const struct aml_model_update *u);

#endif
