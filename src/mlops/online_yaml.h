#ifndef MLOPS_ONLINE_YAML_H
#define MLOPS_ONLINE_YAML_H

#include <stddef.h>

#include "azure/aml_endpoint.h"
#include "core/error.h"
#include "core/kv.h"
#include "core/yaml.h"

/*
 * The Azure ML CLI v2 managed online deployment YAML Model-CD deploys with
 * (managedOnlineDeployment.schema.json; input `deployment`, by default
 * deployments/online.yml), read strictly as mlops/job_yaml.h reads a job:
 * every field known and typed, every error ERR_YAML (a wrong type) or
 * ERR_INPUT (a bad value, an unknown field) naming
 * "<file>:<line>:<col>: field '<name>'", with error_where() set there.
 *
 * Fields, as users write them:
 *   $schema; type (managed only); name, endpoint_name and model (accepted
 *   and ignored, each noted in `ignored`: Model-CD derives the deployment
 *   name, is given the endpoint and deploys the model version it decided
 *   on); description; tags and environment_variables (mappings of
 *   scalars, kept as written); model_mount_path;
 *   code_configuration {code, scoring_script} (both required together);
 *   environment: azureml:<name>:<version>, azureml:<name>@latest,
 *   azureml://registries/..., or an inline mapping {image [, conda_file]}
 *   or {build: {path [, dockerfile_path]}} (with optional name, version,
 *   description, tags, os_type, inference_config);
 *   instance_type (required: a managed deployment has no default size);
 *   instance_count (an integer >= 1, default 1);
 *   app_insights_enabled (a boolean);
 *   scale_settings {type: default} (target_utilization is a Kubernetes
 *   deployment's and refused);
 *   request_settings {request_timeout_ms, max_concurrent_requests_per_instance,
 *   max_queue_wait_ms} (integers >= 1; the timeout at most 180000, the
 *   CLI's bound for managed deployments);
 *   liveness_probe, readiness_probe {initial_delay, period, timeout (seconds),
 *   success_threshold, failure_threshold} (integers >= 1);
 *   egress_public_network_access (enabled or disabled).
 * data_collector is refused as unsupported by this workflow.
 *
 * Paths are repository content, hence hostile (docs/security.md): the
 * YAML itself must be a regular file inside the workspace root;
 * code_configuration.code, an inline environment's conda_file and
 * build.path are resolved against the YAML's folder (absolute paths and
 * URLs refused) and must resolve, links followed, inside the workspace
 * root and not into its .git; code_configuration.scoring_script must
 * resolve to a regular file inside the code folder, build.dockerfile_path
 * to one inside the build context. A conda_file is checked as
 * Environment-CI checks one (conda_load_file: its errors name its lines).
 *
 * Every string of an online_deployment is owned by it (directly or
 * through `doc`) until online_deployment_release.
 */

enum online_env_kind {
	ONLINE_ENV_NONE,         /* not read yet */
	ONLINE_ENV_VERSION,      /* azureml:name:version */
	ONLINE_ENV_LATEST,       /* azureml:name@latest (env_version "latest") */
	ONLINE_ENV_REGISTRY,     /* azureml://registries/...: passed as it is */
	ONLINE_ENV_INLINE,       /* an inline mapping: see `inline_env` */
};

/*
 * An inline environment, for the caller to register before it deploys
 * (it has no version of its own: name it after its content). Exactly one
 * of `image` and `build_dir` is set.
 */
struct online_inline_env {
	const cJSON *node;            /* the mapping in doc */
	const char *image;            /* a Docker reference, NULL for a build */
	char *conda_path;             /* conda_file resolved; NULL when absent */
	char *build_dir;              /* build.path resolved; NULL for an image */
	const char *dockerfile_path;  /* relative to build_dir; "Dockerfile" by default */
	const char *name, *version;   /* as written, NULL when absent */
	const char *os_type;          /* "linux" (the default) or "windows" */
};

/* A probe as written, in seconds; 0 when a field is absent. */
struct online_probe {
	int given;                    /* the YAML has the section */
	struct aml_probe probe;
};

struct online_deployment {
	char *yaml_path;              /* as given */
	char *yaml_dir;               /* its folder, normalised */
	struct yaml_doc doc;
	/* Fields read but not used (name, endpoint_name, model), for a notice. */
	struct kv_list ignored;       /* key: the field, value: its text as written */
	const char *description;      /* NULL when absent */
	const char *model_mount_path;
	/* code_configuration */
	const char *code;             /* as written, NULL without code_configuration */
	char *code_dir;               /* resolved, inside the workspace */
	const char *scoring_script;   /* as written, relative to code_dir */
	/* environment */
	const char *environment;      /* a reference as written; NULL when inline */
	enum online_env_kind env_kind;
	char *env_name, *env_version; /* ONLINE_ENV_VERSION / LATEST */
	struct online_inline_env inline_env; /* ONLINE_ENV_INLINE */
	/* compute and serving, in the REST spelling where it has one */
	const char *instance_type;
	int instance_count;           /* 1 when absent */
	int app_insights_enabled;     /* 1 when true */
	const char *scale_type;       /* "Default" when given, NULL when absent */
	struct aml_request_settings request_settings;
	struct online_probe liveness_probe, readiness_probe;
	const char *egress;           /* "Enabled" | "Disabled", NULL when absent */
	struct kv_list tags;          /* each value as written */
	struct kv_list environment_variables;
	struct kv_list spec_tags;     /* online_deployment_spec's merged tags */
};
#define ONLINE_DEPLOYMENT_INIT { .doc = YAML_DOC_INIT }

/*
 * Reads the deployment YAML `path` (relative to `workspace_root`, or
 * absolute) and checks it as above. `workspace_root` bounds every path
 * (NULL: fs_workspace()). ERR_INPUT when `path` is not a regular file
 * inside the workspace; ERR_YAML / ERR_INPUT at the line for a bad field.
 * On error `out` holds nothing.
 */
int online_yaml_read(struct online_deployment *out, const char *workspace_root,
		     const char *path);

/* Parses and checks `text` only (`name` stands for the file): no file
 * system access, so code, conda_file and build.path stay unresolved.
 * The fuzz target's entry. */
int online_yaml_parse(struct online_deployment *out, const char *text, size_t len,
		      const char *name);

void online_deployment_release(struct online_deployment *d);

/*
 * Fills `out` from `d` and what the caller registered: `location` (the
 * endpoint's region), the model version's ARM id, the environment's
 * (the reference resolved, or the inline one registered), and the code
 * version's (NULL exactly when the YAML has no code_configuration).
 * `tags` (NULL-terminated pairs, or NULL) are added to the YAML's tags,
 * winning over a YAML tag of the same key. `out` borrows from `d` and
 * the arguments. ERR_INPUT when an id is missing or the code id does not
 * match the YAML's code_configuration.
 */
int online_deployment_spec(struct aml_deployment_spec *out, struct online_deployment *d,
			   const char *location, const char *model_id,
			   const char *environment_id, const char *code_id,
			   const char *const *tags);

/*
 * The deployment's name for (model, version, commit): at most 32 of
 * lowercase letters, digits and '-', starting with a letter, valid for
 * aml_check_deployment_name: "<model>-v<version>-<sha7>", the model part
 * with each run of other characters one '-', "m-" before a leading digit,
 * shortened to fit ("m" when nothing of it is left), and a version that is not all letters
 * and digits, or is longer than 10, replaced by "h" and 8 hex digits of
 * its SHA-256. Deterministic, so a re-run finds the deployment it made;
 * another version or commit gives another name, so the new deployment
 * never replaces the one serving. ERR_INPUT for an empty model name or
 * version, a commit that is not 7 or more hex digits, or `n` < 33.
 */
int online_deployment_name(char *out, size_t n, const char *model_name,
			   const char *version, const char *commit_sha);

/*
 * The line of `field` in the YAML, for annotations: a top-level key
 * ("instance_type", "environment", "liveness_probe") or a dotted path
 * below it ("code_configuration.scoring_script",
 * "request_settings.request_timeout_ms"). The line is its value's: a
 * section's first entry, as every error of the reader names it. 0 when
 * absent.
 */
int online_yaml_line(const struct online_deployment *d, const char *field);

#endif
