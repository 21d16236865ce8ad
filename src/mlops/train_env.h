#ifndef MLOPS_TRAIN_ENV_H
#define MLOPS_TRAIN_ENV_H

#include "azure/aml.h"
#include "mlops/env_plan.h"

/*
 * Model-CT's first stage makes sure of the training job's environment
 * before it trains. The spelling: the job's `environment:` is
 * `azureml:NAME:VERSION`, and when a folder under the environments root
 * (environments/<dir>) holds an environment YAML declaring NAME, that
 * folder defines it. Its declared version must be VERSION; it is then
 * checked by content hash as Environment-CD checks it (declared
 * versioning): registered when missing, used when the registered version
 * holds the same content, refused (ERR_CONFLICT, nothing registered)
 * when the registered version holds other content. No folder declares
 * NAME (or the job names @latest, a registry or no environment): the
 * environment must already exist, as for Model-CI, and job_run checks it.
 */
struct train_env {
	struct env_plan plan;         /* every folder of the root; [0] the job's, when `found` */
	size_t all;                   /* plan.nr as loaded */
	char *name, *version;         /* from the job's azureml:NAME:VERSION; NULL otherwise */
	int found;                    /* a folder declares NAME */
	int to_register;              /* decided: the version is missing */
};
#define TRAIN_ENV_INIT { ENV_PLAN_INIT, 0, NULL, NULL, 0, 0 }

/* "azureml:NAME:VERSION" -> NAME and VERSION (the caller's); ERR_NOT_FOUND
 * for any other form (azureml:NAME@latest, a registry, an inline image). Pure. */
int train_env_parse_ref(char **name, char **version, const char *ref);

/*
 * Loads the folders of `root` (a missing root holds none) and picks the
 * one that declares the environment of the job YAML at `job_path`; reads
 * nothing from Azure. ERR_INPUT when the picked folder is invalid or
 * declares another version than the job asks for (at the version line).
 */
int train_env_load(struct train_env *t, const char *job_path, const char *root);

/*
 * When a folder was found: compares it with the workspace (only reads).
 * ERR_CONFLICT, naming what differs, when the declared version is
 * registered with other content. `t->to_register` says whether
 * train_env_register has something to do; the caller calls
 * workflow_changing() before it.
 */
int train_env_decide(struct train_env *t, struct aml *aml);
int train_env_register(struct train_env *t, struct aml *aml, const struct env_register_context *ctx);

/* The picked folder's entry, or NULL. */
const struct env_entry *train_env_entry(const struct train_env *t);

void train_env_release(struct train_env *t);

#endif
