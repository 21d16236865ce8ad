#ifndef MLOPS_JOB_YAML_H
#define MLOPS_JOB_YAML_H

#include <stddef.h>

#include "azure/aml_job.h"
#include "core/error.h"
#include "core/kv.h"
#include "core/yaml.h"

/*
 * An Azure ML CLI v2 command job YAML (command.schema.json), read strictly:
 * every field is known and typed, and every error names the file, line,
 * column and field (yaml_error_at), so a bad file fails before anything is
 * sent to Azure. Fields:
 *
 *   $schema, type (command), name, code (a local folder, relative to the
 *   YAML), command (with ${{inputs.x}} / ${{outputs.y}}, each checked
 *   against the declared inputs and outputs), environment
 *   (azureml:name:version, azureml:name@latest or azureml://registries/...),
 *   compute (azureml:name or name), inputs (literal scalars, or
 *   {type: uri_file|uri_folder, path: azureml:name:version | azureml:name@latest
 *   | azureml://... | https://..., mode}), outputs ({type: uri_folder, mode,
 *   path}), experiment_name, display_name, description, tags,
 *   environment_variables, properties (a mapping of scalars), and where it
 *   runs: resources {instance_count, instance_type, shm_size, docker_args,
 *   properties}, distribution {type: pytorch|mpi (process_count_per_instance)
 *   | tensorflow (worker_count, parameter_server_count)}, limits {timeout:
 *   seconds}, queue_settings {job_tier: null|spot|basic|standard|premium},
 *   identity {type: aml_token|user_identity|managed (client_id, object_id,
 *   resource_id)}, services {<name>: {type: jupyter_lab|ssh|tensor_board|
 *   vs_code|custom, port, nodes: all, properties}} (azure-contract 3.5).
 *   Counts, ports and the timeout are positive integers (a parameter
 *   server count may be 0), names are checked against their enums.
 *
 * Inline environments (image + conda_file) and local input paths are
 * refused with a hint: this workflow submits registered assets only.
 *
 * Every string in a job_yaml is owned by it (directly or through `doc`).
 */

enum job_env_kind {
	JOB_ENV_VERSION,     /* azureml:name:version */
	JOB_ENV_LATEST,      /* azureml:name@latest */
	JOB_ENV_REGISTRY,    /* azureml://registries/...: passed as it is */
};

/* A data reference of an input path. */
enum job_path_kind {
	JOB_PATH_ASSET,      /* azureml:name:version (asset_version "latest" for @latest) */
	JOB_PATH_URI,        /* azureml://... or https://...: passed as it is */
};

struct job_input {
	const char *name;                /* borrowed from doc */
	enum aml_job_input_type type;
	const char *value;               /* literal: the scalar as written */
	enum job_path_kind path_kind;
	const char *path;                /* the path as written */
	char *asset_name, *asset_version;/* JOB_PATH_ASSET */
	const char *mode;                /* REST spelling (ReadOnlyMount...), NULL: default */
};

struct job_output {
	const char *name;
	const char *path;                /* NULL: Azure's default */
	const char *mode;                /* REST spelling, NULL: default */
};

struct job_yaml {
	char *yaml_path;
	struct yaml_doc doc;
	const char *name;                /* NULL: generated */
	const char *code;                /* as written, NULL when absent */
	char *code_dir;                  /* resolved against the YAML's folder (job_yaml_load) */
	const char *command;
	const char *environment;         /* as written */
	enum job_env_kind env_kind;
	char *env_name, *env_version;    /* JOB_ENV_VERSION / LATEST ("latest") */
	char *compute;                   /* the compute name, NULL when absent */
	const char *experiment_name, *display_name, *description;
	struct job_input *inputs;
	size_t inputs_nr;
	struct job_output *outputs;
	size_t outputs_nr;
	struct kv_list tags;             /* each value as written (`rows: 1200` is "1200") */
	struct kv_list environment_variables;
	struct kv_list properties;       /* as tags */
	/* Where and how it runs, already in the REST spelling (aml_job.h);
	 * strings and resources.properties borrowed from doc. */
	struct aml_job_resources resources;
	struct aml_job_distribution distribution;
	long timeout_s;                  /* limits.timeout, 0 when absent */
	const char *job_tier;            /* queue_settings.job_tier ("Spot"...), NULL when absent */
	struct aml_job_identity identity;/* type NULL when absent */
	struct aml_job_service *services;
	struct kv_list *service_properties; /* services[i].properties points into [i] */
	size_t services_nr;
};
#define JOB_YAML_INIT { .doc = YAML_DOC_INIT }

/*
 * Parses and checks the job in `text` (`name` stands for the file in
 * messages). No file system access: `code` is taken as written.
 * ERR_YAML for malformed YAML or a wrong type, ERR_INPUT for a bad value
 * or an unknown field; the message carries file:line:col and the field.
 */
int job_yaml_parse(struct job_yaml *out, const char *text, size_t len, const char *name);

/*
 * Reads `path` (at most YAML_MAX_FILE), parses it, and resolves `code`
 * against the YAML's folder. Repository content is hostile input, so both
 * must stay in the workspace (fs_workspace): `path` that is not a regular
 * file (a folder, a FIFO) or resolves outside is ERR_INPUT naming it; a
 * `code` that is absolute (refused by job_yaml_parse already), not a folder,
 * or that resolves outside the workspace once ".." and symbolic links are
 * followed is ERR_INPUT at the field's line. Nothing is read but the YAML.
 */
int job_yaml_load(struct job_yaml *out, const char *path);

void job_yaml_release(struct job_yaml *spec);

/* Where `field` (a top-level key) stands, for annotations; `out->file` is
 * borrowed from the spec. Line 0 when absent. */
void job_yaml_where(struct error_location *out, const struct job_yaml *spec, const char *field);

#endif
