#ifndef MLOPS_ONLINE_ENV_H
#define MLOPS_ONLINE_ENV_H

#include "azure/aml.h"
#include "core/buf.h"
#include "core/error.h"
#include "mlops/env_plan.h"
#include "mlops/environment.h"
#include "mlops/online_yaml.h"

/*
 * The inline environment of a deployment YAML (mlops/online_yaml.h: an
 * `environment:` mapping with image [+ conda_file] or build), which has
 * no version of its own, registered as Environment-CD registers a folder
 * of environments/: named after its content, so a re-run reuses it and a
 * change registers a new version.
 *
 *   name     the YAML's environment.name, else "<model>-deploy-env";
 *   version  the first ONLINE_ENV_VERSION_LEN hex digits of the content
 *            hash (environment_hash: image, os_type, the conda file's
 *            canonical form, the build context's files); a version the
 *            YAML writes is ignored, with a notice (online_env_ensure);
 *   tags     the YAML's environment.tags, contentHash, commit, repository.
 *
 * Every error names the deployment YAML's environment line.
 */

#define ONLINE_ENV_VERSION_LEN 12

struct online_env {
	struct environment env;   /* as Environment-CD would load it; its doc
				   * is the deployment's, borrowed */
	char *name;               /* env.name points here */
	char version[ONLINE_ENV_VERSION_LEN + 1];
	const char *yaml_path;    /* the deployment YAML as given, for messages */
	int line;                 /* its environment line */
	const char *written_version; /* environment.version, unused; NULL when absent */
	int registered;           /* online_env_ensure registered it */
};
#define ONLINE_ENV_INIT { ENVIRONMENT_INIT, NULL, { 0 }, NULL, 0, NULL, 0 }

/*
 * Reads what `d`'s inline environment is made of (the conda file, the
 * build context's files) and computes its name and version: no call to
 * Azure, so Model-CD checks it before any. `d` must outlive `out`.
 * ERR_INPUT (at the environment line) when `d` has no inline environment,
 * the name is not a valid asset name, its tags are not a mapping of
 * scalars or its description not a string; ERR_IO / ERR_INPUT for a file
 * that cannot be read or a link out of the build context. On error `out`
 * holds nothing.
 */
int online_env_load(struct online_env *out, const struct online_deployment *d,
		    const char *model);

/*
 * Appends the ARM id of the environment's version to `id_out`, registering
 * it first when the workspace has no such version (env_register_version:
 * a build context uploaded first). A version already there is reused when
 * its contentHash tag is ours or absent; another hash is ERR_CONFLICT.
 * Logs what was reused or registered.
 */
int online_env_ensure(struct buf *id_out, struct online_env *e, struct aml *aml,
		      const struct env_register_context *ctx);

void online_env_release(struct online_env *e);

#endif
