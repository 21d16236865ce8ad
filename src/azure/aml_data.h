#ifndef AZURE_AML_DATA_H
#define AZURE_AML_DATA_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "azure/aml_assets.h"

/*
 * Data assets (azure-contract 3.2). The container is an aml_container of kind
 * AML_DATA (aml_container_get/put; dataType required, create-only).
 * Errors and ownership as in aml_assets.h; in particular a PUT of an
 * existing version with another dataType or dataUri is ERR_CONFLICT, while
 * a changed description or tags is an update (200).
 */

struct aml_data_version {
	struct aml_asset asset;   /* first: the shared calls of aml_assets.h read it */
	char *data_type;          /* uri_file | uri_folder | mltable (create-only) */
	char *data_uri;           /* azureml://datastores/<ds>/paths/<p>, https://..., (create-only) */
};
void aml_data_version_release(struct aml_data_version *v);

/* GET W/data/{name}/versions/{version}; ERR_NOT_FOUND when absent. */
int aml_data_version_get(struct aml_data_version *out, struct aml *aml, const char *name,
			 const char *version);
/* PUT W/data/{v->asset.name}/versions/{v->asset.version}: creates (201) or
 * updates the mutable fields (200). ERR_INPUT without dataType/dataUri. */
int aml_data_version_put(struct aml_data_version *out, struct aml *aml,
			 const struct aml_data_version *v);
/* GET W/data/{name}/versions, every page, filtered by `o` (`o->tags` is
 * sent as `$tags`; may be NULL). `*out` is an array of `*nr_out` versions,
 * freed with aml_data_versions_free. A missing container lists nothing
 * or is ERR_NOT_FOUND, as the service chooses. */
int aml_data_version_list(struct aml_data_version **out, size_t *nr_out, struct aml *aml,
			  const char *name, const struct aml_list_options *o);
void aml_data_versions_free(struct aml_data_version *v, size_t nr);

/* Pure: version resource -> struct, and struct -> PUT body (the shape of
 * DataVersionBase/createOrUpdate.json). */
int aml_data_version_parse(struct aml_data_version *out, const cJSON *json);
cJSON *aml_data_version_body(const struct aml_data_version *v);

#endif
