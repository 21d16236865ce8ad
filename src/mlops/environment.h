#ifndef MLOPS_ENVIRONMENT_H
#define MLOPS_ENVIRONMENT_H

#include <cjson/cJSON.h>

#include "core/crypto.h"
#include "core/error.h"
#include "core/yaml.h"
#include "mlops/conda.h"

/*
 * Environment versioning (issue 5, Environment-CI/CD): one folder under
 * environments/ holds an Azure ML CLI v2 environment YAML and its conda file
 * or Docker build context. This module finds and validates it strictly and
 * computes a content hash over what defines it; mlops/env_compare.h
 * compares it with a registered version and mlops/env_decide.h decides
 * what CI/CD does. None of them calls Azure or prints: the caller fetches
 * the registered versions and reports the decision.
 *
 * Every validation error is ERR_YAML (malformed YAML, a wrong type) or
 * ERR_INPUT (a bad value), with "<file>:<line>:<col>: field '<name>': ..."
 * and error_where() set to that place, so the workflow can annotate it.
 */

/* The tag Environment-CD puts the content hash in; compared for build contexts. */
#define ENVIRONMENT_HASH_TAG "contentHash"

enum env_versioning {
	ENV_VERSIONING_DECLARED, /* the YAML's version must change with the content */
	ENV_VERSIONING_AUTO,     /* the next version is computed when content changed */
};

/* Reads "declared" or "auto"; ERR_INPUT otherwise. */
int env_versioning_parse(enum env_versioning *out, const char *text);

struct environment {
	char *dir;                  /* the folder as given */
	char *yaml_path;            /* dir + "/" + the environment YAML's name */
	struct yaml_doc doc;        /* the environment YAML */

	/* Borrowed from `doc` (valid until environment_release). */
	const char *name;
	const char *version;        /* as written; NULL when absent (auto mode only) */
	const char *description;    /* NULL when absent */
	const char *image;          /* NULL for a build context */
	const cJSON *tags;          /* NULL when absent */

	char *os_type;              /* "linux" (the default) or "windows" */
	char *conda_path;           /* NULL unless conda_file was given */
	struct conda_file conda;    /* loaded when conda_path is set */
	char *build_path;           /* the build context folder; NULL for an image */
	char *dockerfile_path;      /* relative to build_path; "Dockerfile" by default */

	/* Where to annotate a version problem: the version: line, or name: when absent. */
	struct error_location version_at;

	char *canonical;            /* the text the hash is taken over (see below) */
	char content_hash[2 * SHA256_LEN + 1]; /* lowercase hex SHA-256 of `canonical` */
};
#define ENVIRONMENT_INIT { NULL, NULL, YAML_DOC_INIT, NULL, NULL, NULL, NULL, NULL, \
			   NULL, NULL, CONDA_FILE_INIT, NULL, NULL, { NULL, 0, 0 }, NULL, { 0 } }

void environment_init(struct environment *env);
/* Frees the contents; `env` is ENVIRONMENT_INIT afterwards. NULL is fine. */
void environment_release(struct environment *env);

/*
 * Finds, loads and validates the environment in folder `dir`, and computes
 * its content hash. The environment YAML is, in this order:
 *   1. environment.yml, environment.yaml, env.yml or env.yaml (more than one
 *      of these is an error);
 *   2. otherwise the one *.yml / *.yaml file directly in `dir` whose top
 *      level is a mapping with `name` and `image` or `build` (conda files
 *      have no image or build); none or several is an error.
 * Fields (Azure ML CLI v2 environment schema): $schema, name (required, the
 * asset name rule), version (required in declared mode; read as written,
 * so 1.10 stays "1.10"; the asset version rule of mlops/asset_version.h:
 * not "latest", not 0, no leading zeros, not 1e3), description, tags and
 * properties (string keys, scalar values), exactly one of image (a Docker
 * reference) or build {path, dockerfile_path}, conda_file (with image only;
 * a path relative to the YAML, validated by conda.h), os_type (linux or
 * windows), inference_config, datastore. Anything else is an error.
 * build.path must be a folder inside `dir` (local contexts only: URLs are
 * refused), holding dockerfile_path; conda_file a file inside `dir`.
 *
 * Containment (docs/security.md): `dir`, the YAML files read, conda_file,
 * build.path and every file of the build context resolve, symbolic links
 * followed, inside the workspace (fs_workspace) and inside `dir`; anything
 * else is ERR_INPUT naming the folder, or the YAML line and field that
 * named it, before a byte of it is read.
 *
 * The content hash is SHA-256 over `canonical`, lines of
 *   "mlops-environment 1", "image <json string>", "os_type <json string>",
 *   "conda <canonical conda JSON>", "dockerfile <json string>",
 *   "file <sha256 hex> <json string: path relative to build.path>"
 * (each only when it applies; files in fs_walk order, which is sorted;
 * the environment YAML itself is left out when the context holds it).
 * Name, version, description, tags, properties, inference_config and
 * datastore are not part of it: they change without a new version.
 *
 * ERR_IO when the folder or a file cannot be read.
 */
int environment_load(struct environment *out, const char *dir, enum env_versioning mode);

/*
 * Computes `canonical` and `content_hash` (as above) of an environment
 * described by other means (an inline one of a deployment YAML): reads
 * image, os_type, conda.canonical, build_path and dockerfile_path, and
 * leaves the file yaml_path (may be NULL) out of a build context. The
 * build context's files must already be known to be inside the
 * workspace; a link out met by the walk is ERR_INPUT. environment_load
 * calls it.
 */
int environment_hash(struct environment *env);

#endif
