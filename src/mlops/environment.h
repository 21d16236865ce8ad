#ifndef MLOPS_ENVIRONMENT_H
#define MLOPS_ENVIRONMENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/yaml.h"
#include "mlops/conda.h"

/*
 * Environment versioning (issue 5, Environment-CI/CD): one folder under
 * environments/ holds an Azure ML CLI v2 environment YAML and its conda file
 * or Docker build context. This module validates it strictly, computes a
 * content hash over what defines it, compares it with what is registered
 * and decides what CI/CD does. It never calls Azure and never prints: the
 * caller fetches the registered versions and reports the decision.
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

/* What Azure has for one version, filled by the caller; all strings borrowed. */
struct env_registered {
	const char *version;
	const char *image;            /* NULL for a build context */
	const char *conda_text;       /* the condaFile text; NULL without one */
	const char *content_hash_tag; /* tags[ENVIRONMENT_HASH_TAG]; NULL when missing */
	const char *os_type;          /* "Linux" / "Windows"; NULL means Linux */
	int has_build;
};

enum env_compare {
	ENV_SAME,
	ENV_DIFFERENT,
	ENV_UNKNOWN, /* cannot tell: a build context registered without our hash tag */
};

/* One difference: `before` (registered) or `after` (local) is NULL for an
 * addition or a removal. */
struct env_change {
	char *field;   /* "image", "os_type", "conda_file.dependencies", "build", ... */
	char *before;
	char *after;
};

struct env_diff {
	struct env_change *items;
	size_t nr, alloc;
};
#define ENV_DIFF_INIT { NULL, 0, 0 }

void env_diff_init(struct env_diff *d);
void env_diff_release(struct env_diff *d);

/*
 * Compares `local` with a registered version. Image, os_type (case does not
 * matter: Azure answers "Linux") and the conda file's canonical form are
 * compared field by field; a build context by the registered hash tag.
 * Conda differences are listed per dependency: a changed spec of the same
 * package as one change, added and removed ones with a NULL side; channels,
 * name, prefix and variables as their canonical JSON. `diff` (may be NULL)
 * gets the differences appended; ENV_UNKNOWN explains itself in it.
 * Never fails: a registered condaFile that is not YAML is a difference.
 */
enum env_compare env_compare(struct env_diff *diff, const struct environment *local,
			     const struct env_registered *reg);

/*
 * The version after `version`: an integer plus one ("3" -> "4", "99" ->
 * "100"), or a dotted numeric version with its last part plus one ("1.9" ->
 * "1.10"). Appends to `out`; ERR_INPUT for anything else, asking for an
 * explicit version.
 */
int env_next_version(struct buf *out, const char *version);

enum env_status {
	ENV_NEW,          /* the version is not registered: create it */
	ENV_UNCHANGED,    /* registered with the same content: nothing to do */
	ENV_NEEDS_BUMP,   /* declared mode: same version, other content: CI fails */
	ENV_CHANGED_AUTO, /* auto mode: content differs from the latest: register `version` */
};

/* "new", "unchanged", "needs-version-bump", "changed". */
const char *env_status_name(enum env_status status);

struct env_decision {
	enum env_status status;
	char *version;        /* the version to register (NEW, CHANGED_AUTO) or that matched */
	char *next_version;   /* NEEDS_BUMP: what to use instead (NULL when it cannot be
			       * computed: the message then asks for one); CHANGED_AUTO: == version */
	int uncertain;        /* the comparison was ENV_UNKNOWN (see env_decide) */
	struct env_diff diff; /* NEEDS_BUMP, CHANGED_AUTO: what differs */
};
#define ENV_DECISION_INIT { ENV_NEW, NULL, NULL, 0, ENV_DIFF_INIT }

void env_decision_init(struct env_decision *d);
void env_decision_release(struct env_decision *d);

/*
 * What CI/CD does with `local`, given the registered version with the same
 * number as the YAML's (`same`, NULL when none or when the YAML has no
 * version) and the latest registered version (`latest`, NULL when the
 * environment does not exist). Pure.
 *
 * declared: not registered -> NEW; same content -> UNCHANGED; other content
 *   -> NEEDS_BUMP with the diff and next_version = latest + 1. A build
 *   context registered without our hash tag cannot be compared and, as the
 *   version is immutable anyway, is UNCHANGED with `uncertain` set.
 * auto: a declared version not yet registered -> NEW with it; otherwise the
 *   declared version (when registered) or else the latest is compared:
 *   same -> UNCHANGED; other content -> CHANGED_AUTO with version = latest
 *   + 1; nothing registered at all -> NEW with the declared version or "1".
 *   An uncomparable build context registers the next version (with our tag,
 *   so the next run can compare) and sets `uncertain`.
 * ERR_INPUT when a version is required and missing, or auto mode cannot
 * compute the next version (the message names the YAML's version line).
 */
int env_decide(struct env_decision *out, const struct environment *local,
	       const struct env_registered *same, const struct env_registered *latest,
	       enum env_versioning mode);

#endif
