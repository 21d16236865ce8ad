#ifndef AZURE_AML_ENVIRONMENT_H
#define AZURE_AML_ENVIRONMENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "azure/aml_assets.h"

/*
 * Environments (azure-contract 3.4). The container is an aml_container of kind
 * AML_ENVIRONMENT (aml_container_get/put); its latestVersion is read by
 * aml_latest_version(). Errors and ownership as in aml_assets.h: a PUT of
 * an existing version that changes image, condaFile, build or osType is
 * ERR_CONFLICT ("... is already registered and cannot be changed"); a
 * changed description, tags or stage is an update (200).
 */

struct aml_environment_version {
	struct aml_asset asset;     /* first: the shared calls of aml_assets.h read it */
	char *image;                /* "mcr.microsoft.com/azureml/...:latest"; NULL with `build` */
	char *conda_file;           /* the conda YAML text itself, not a path */
	char *build_context_uri;    /* build.contextUri; NULL without a build */
	char *build_dockerfile_path;/* build.dockerfilePath; NULL: Azure's "Dockerfile" */
	char *os_type;              /* Linux | Windows; NULL: Azure's Linux */
	char *stage;                /* NULL: not set */
	char *environment_type;     /* read-only: Curated | UserCreated */
	/* inferenceConfig and autoRebuild are neither sent nor read. */
};
void aml_environment_version_release(struct aml_environment_version *v);

/* GET W/environments/{name}/versions/{version}. */
int aml_environment_version_get(struct aml_environment_version *out, struct aml *aml,
				const char *name, const char *version);
/* PUT W/environments/{name}/versions/{version}: 201 or 200. ERR_INPUT
 * unless exactly one of image and build context is given (azure-contract 3.4). */
int aml_environment_version_put(struct aml_environment_version *out, struct aml *aml,
				const struct aml_environment_version *v);
/* Every version, every page; free with aml_environment_versions_free. */
int aml_environment_version_list(struct aml_environment_version **out, size_t *nr_out,
				 struct aml *aml, const char *name,
				 const struct aml_list_options *o);
void aml_environment_versions_free(struct aml_environment_version *v, size_t nr);
/* The version named by the container's latestVersion; ERR_NOT_FOUND when
 * the environment does not exist or has no version. */
int aml_environment_version_latest(struct aml_environment_version *out, struct aml *aml,
				   const char *name);

/* Pure: resource -> struct; struct -> PUT body (EnvironmentVersion/createOrUpdate.json). */
int aml_environment_version_parse(struct aml_environment_version *out, const cJSON *json);
cJSON *aml_environment_version_body(const struct aml_environment_version *v);

#endif
