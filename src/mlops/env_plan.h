#ifndef MLOPS_ENV_PLAN_H
#define MLOPS_ENV_PLAN_H

#include "azure/aml.h"
#include "azure/token.h"
#include "core/error.h"
#include "core/http.h"
#include "mlops/env_decide.h"
#include "mlops/environment.h"

/*
 * Environment-CI and Environment-CD share this plan: every folder under
 * environments/ loaded and checked locally first (all of them, so one run
 * reports every mistake), then compared with what the workspace has, then
 * (CD only) the new and changed versions registered.
 */
struct env_entry {
	char *dir;                    /* environments/<folder> */
	struct environment env;       /* valid unless `failed` */
	int failed;                   /* local checks failed: see error */
	struct error_saved error;     /* why, and where to annotate */
	int decided;                  /* compared with the workspace */
	struct env_decision decision;
	char *latest_version;         /* newest registered version; NULL when none */
	int registered;               /* registered by this run */
};

struct env_plan {
	struct env_entry *items;
	size_t nr;
	size_t invalid;               /* entries that failed local checks */
	size_t needs_bump;            /* declared mode: changed without a new version */
	size_t to_register;           /* NEW or CHANGED_AUTO */
};
#define ENV_PLAN_INIT { NULL, 0, 0, 0, 0 }

/* Loads every sub-folder of `root` (sorted). A folder that fails its
 * checks is recorded, not fatal; a sub-folder that leads outside the
 * workspace (a symbolic link) is such a failure, named by its folder and
 * never read (environment_load); a missing or empty `root` is ERR_INPUT. */
int env_plan_load(struct env_plan *out, const char *root, enum env_versioning mode);

/* Compares each valid entry with the workspace and decides (env_decide). */
int env_plan_decide(struct env_plan *plan, struct aml *aml, enum env_versioning mode);

/* What a registered version is tagged with besides its content hash. */
struct env_register_context {
	const char *commit;           /* may be "" */
	const char *repository;       /* may be "" */
	struct http_client *http;     /* for build-context uploads */
	struct token_source tokens;   /* for datastores without a key (datastore_upload) */
};

/*
 * Registers every NEW and CHANGED_AUTO entry: image environments with their
 * conda file, build contexts uploaded to the default datastore under
 * environments/<name>/<hash>/ first. Tags: the YAML's tags, contentHash,
 * commit and repository. Stops at the first failure.
 */
int env_plan_register(struct env_plan *plan, struct aml *aml,
		      const struct env_register_context *ctx);

/*
 * Registers `env` as version `version` of its name, as env_plan_register
 * registers each entry: the conda file sent as written, a build context
 * uploaded to the default datastore under environments/<name>/<hash>/
 * first; tagged with env->tags (scalars of env->doc), contentHash, commit
 * and repository. Needs name, os_type, image or build_path, content_hash;
 * description and tags may be NULL. Errors are prefixed with the name and
 * version.
 */
int env_register_version(struct aml *aml, const struct environment *env, const char *version,
			 const struct env_register_context *ctx);

void env_plan_release(struct env_plan *plan);

#endif
