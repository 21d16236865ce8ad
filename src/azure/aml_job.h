#ifndef AZURE_AML_JOB_H
#define AZURE_AML_JOB_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "azure/aml.h"
#include "azure/token.h"
#include "core/buf.h"
#include "core/http.h"

/*
 * Azure ML command jobs: submit, read, cancel, list, and read the job's log
 * while it runs. Contract: docs/azure-contract.md 3.5 and the official example
 * Job/CommandJob/createOrUpdate.json (api-version AML_API_VERSION).
 * Every name is checked with aml_check_name before any call.
 */

/* JobStatus (azure-contract 3.5). UNKNOWN also stands for a value this client
 * does not know yet; its text is kept in aml_job.status_text. */
enum aml_job_status {
	AML_JOB_UNKNOWN = 0,
	AML_JOB_NOT_STARTED,
	AML_JOB_STARTING,
	AML_JOB_PROVISIONING,
	AML_JOB_PREPARING,
	AML_JOB_QUEUED,
	AML_JOB_RUNNING,
	AML_JOB_FINALIZING,
	AML_JOB_CANCEL_REQUESTED,
	AML_JOB_COMPLETED,
	AML_JOB_FAILED,
	AML_JOB_CANCELED,
	AML_JOB_NOT_RESPONDING,
	AML_JOB_PAUSED,
};

/* The enum for Azure's text (case-insensitive), AML_JOB_UNKNOWN if none. */
enum aml_job_status aml_job_status_parse(const char *text);
/* Azure's spelling ("CancelRequested"); "Unknown" for AML_JOB_UNKNOWN. */
const char *aml_job_status_name(enum aml_job_status s);
/* Completed, Failed and Canceled: the job will not change any more.
 * NotResponding and Paused are not terminal (a heartbeat can come back, a
 * paused job resumes); a follower keeps polling them within its timeout. */
int aml_job_status_terminal(enum aml_job_status s);
/* Completed only. */
int aml_job_status_succeeded(enum aml_job_status s);

enum aml_job_input_type {
	AML_INPUT_LITERAL,
	AML_INPUT_URI_FILE,
	AML_INPUT_URI_FOLDER,
	AML_INPUT_CUSTOM_MODEL,   /* a registered model version's files, as a folder */
};

/* A job input; `value` for literals, `uri` (azureml:..., https://...,
 * an ARM data version id) and `mode` (NULL: Azure's default ReadOnlyMount;
 * else ReadOnlyMount, ReadWriteMount, Download, Direct, EvalMount,
 * EvalDownload) for the others. */
struct aml_job_input {
	const char *name;
	enum aml_job_input_type type;
	const char *value;
	const char *uri;
	const char *mode;
};

/* A uri_folder output; `uri` NULL lets Azure choose the default datastore
 * path; `mode` NULL means ReadWriteMount (else Upload or Direct). */
struct aml_job_output {
	const char *name;
	const char *uri;
	const char *mode;
};

/* `resources` (JobResourceConfiguration, azure-contract 3.5): 0 / NULL
 * leave Azure's default (one instance, the compute's VM size, a 2g shared
 * memory block). `properties` is an object passed as it is. */
struct aml_job_resources {
	long instance_count;
	const char *instance_type;
	const char *shm_size;         /* "<digits><b|k|m|g>" */
	const char *docker_args;
	const cJSON *properties;
};

/* `distribution`: how many processes Azure starts per node. */
enum aml_job_distribution_type {
	AML_DIST_NONE = 0,
	AML_DIST_PYTORCH,
	AML_DIST_MPI,
	AML_DIST_TENSORFLOW,
};

/* A count of 0 is not sent: Azure's default (one process per instance for
 * PyTorch and Mpi, as many workers as instances and no parameter server
 * for TensorFlow). */
struct aml_job_distribution {
	enum aml_job_distribution_type type;
	long process_count_per_instance;  /* PyTorch, Mpi */
	long worker_count;                /* TensorFlow */
	long parameter_server_count;      /* TensorFlow */
};

/* `identity` (IdentityConfiguration): `type` "AMLToken" (also for NULL),
 * "Managed" or "UserIdentity"; the ids only for a user-assigned managed
 * identity, each NULL when not given. */
struct aml_job_identity {
	const char *type;
	const char *client_id, *object_id, *resource_id;
};

/* One of `services` (JobService): `type` as REST spells it (JupyterLab,
 * SSH, TensorBoard, VSCode, Custom); `port` 0 and `all_nodes` 0 leave
 * Azure's defaults (the leader node only); `properties` pairs or NULL. */
struct aml_job_service {
	const char *name;
	const char *type;
	long port;
	int all_nodes;
	const char *const *properties;
};

/*
 * What to submit. Every pointer is borrowed for the duration of the call.
 * Maps (`tags`, `properties`, `environment_variables`) are "key", "value"
 * pairs in a NULL-terminated array, or NULL. `environment_id` and `command`
 * are required; every other field may be NULL / 0 to leave Azure's default
 * (experiment "Default", no code, serverless compute, no time limit).
 */
struct aml_job_spec {
	const char *display_name;
	const char *experiment_name;
	const char *description;
	const char *command;
	const char *code_id;          /* ARM id of a code version */
	const char *environment_id;   /* ARM id or azureml://registries/... */
	const char *compute_id;       /* ARM id of a compute */
	const struct aml_job_input *inputs;
	size_t inputs_nr;
	const struct aml_job_output *outputs;
	size_t outputs_nr;
	const char *const *environment_variables;
	const char *const *tags;
	const char *const *properties;
	long timeout_s;               /* limits.timeout; 0 for none */
	struct aml_job_resources resources;
	struct aml_job_distribution distribution;
	const char *job_tier;         /* queueSettings.jobTier (Null, Spot, Basic, ...), or NULL */
	struct aml_job_identity identity;
	const struct aml_job_service *services;
	size_t services_nr;
};

/* One input or output of a parsed job: its name and its URI (an output's
 * may be NULL while the job runs; a literal input has none). */
struct aml_job_output_path {
	char *name;
	char *uri;
	char *type;                   /* jobOutputType (an input: jobInputType): uri_folder, ... */
};

/* A job resource as read back (azure-contract 3.5). Every string is owned and may
 * be NULL when Azure did not send it. */
struct aml_job {
	char *name;
	char *display_name;
	char *experiment_name;
	char *status_text;            /* Azure's text, also for unknown values */
	enum aml_job_status status;
	char *studio_url;             /* services.Studio.endpoint */
	char *tracking_uri;           /* services.Tracking.endpoint (azureml://...) */
	char *error;                  /* "code: message" of a failed job */
	char *created_at;             /* systemData.createdAt */
	char *start_time;             /* properties.StartTimeUtc [obs], when given */
	char *end_time;               /* properties.EndTimeUtc [obs], when given */
	struct aml_job_output_path *outputs;
	size_t outputs_nr;
	struct aml_job_output_path *inputs;  /* what a model's lineage names */
	size_t inputs_nr;
	cJSON *tags;                  /* the tags object (owned), or NULL */
};
#define AML_JOB_INIT { 0 }
void aml_job_release(struct aml_job *job);

/* ---- pure pieces (no network), exported for tests ---- */

/*
 * The PUT body for a command job (Job/CommandJob/createOrUpdate.json):
 * {"properties":{"jobType":"Command", ...}}. The caller owns `*out`
 * (cJSON_Delete). ERR_INPUT when a required field is missing, a name of an
 * input or output is not valid, a literal has no value / a uri input no uri,
 * a count is negative, the distribution type unknown, or a service has no
 * name or type or a port beyond 65535. The compute side (resources,
 * distribution, queueSettings, services) is sent only when given; identity
 * is always sent, AMLToken by default.
 */
int aml_job_body(cJSON **out, const struct aml_job_spec *spec);

/* Reads a job resource (a GET or PUT answer) into `out` (released first).
 * ERR_JSON when it has no name or properties. */
int aml_job_parse(struct aml_job *out, const cJSON *json);

/* "PT2H30M5S" for 9005 seconds; "PT0S" for 0. */
void aml_duration(struct buf *out, long seconds);

/* A fresh job name for an empty one: "mlops-<yyyymmdd>-<hhmmss>-<8 hex>",
 * UTC, random suffix from the OS CSPRNG, so two submissions in the same
 * second do not collide. It fits the job name rule. */
void aml_job_generate_name(struct buf *out);

/* ---- calls ---- */

/*
 * Submits a command job named `name` (checked), or a generated one when
 * `name` is NULL or empty (aml_job_generate_name). PUT is synchronous
 * (201 on create; azure-contract 3.5). `out` (may be NULL) receives the job as
 * Azure answered. Errors as arm_call, ERR_INPUT for a bad spec or name.
 */
int aml_job_create(struct aml_job *out, struct aml *aml, const char *name,
		   const struct aml_job_spec *spec);
/* aml_job_create for a body already built (a pipeline job's). */
int aml_job_put(struct aml_job *out, struct aml *aml, const char *name, const cJSON *body);

/* Reads job `name`; ERR_NOT_FOUND when it does not exist. */
int aml_job_get(struct aml_job *out, struct aml *aml, const char *name);
/* aml_job_get, also giving the HTTP status of the last answer in
 * `*status_out` (0 when none came), for a poller that must tell an outage
 * (5xx, 429) from a refusal. */
int aml_job_read(struct aml_job *out, long *status_out, struct aml *aml, const char *name);

/*
 * Asks Azure to cancel job `name` (POST .../cancel, 202 + Location) and
 * follows the Location with arm_wait until it stops answering 202, which
 * the service does once the job is terminal; at most `timeout_s`.
 * A job that had already ended is fine (200).
 */
int aml_job_cancel(struct aml *aml, const char *name, long timeout_s);

/* Parsed jobs of a list; release with aml_job_list_release. */
struct aml_job_list {
	struct aml_job *items;
	size_t nr;
};
#define AML_JOB_LIST_INIT { NULL, 0 }
void aml_job_list_release(struct aml_job_list *l);

/*
 * Lists command jobs, newest first as Azure returns them, following
 * nextLink. `tag` (may be NULL) filters on the server: "key" or "key=value"
 * (the `tag` query parameter of azure-contract 3.5).
 */
int aml_job_list(struct aml_job_list *out, struct aml *aml, const char *tag);
/* aml_job_list for jobs of `job_type` ("Command", "Pipeline"). */
int aml_job_list_of(struct aml_job_list *out, struct aml *aml, const char *job_type,
		    const char *tag);

/* ---- logs ---- */

/*
 * A job's std_log.txt, kept by Azure ML as a blob in the workspace's
 * artifact store at ExperimentRun/dcid.<job>/user_logs/std_log.txt.
 * aml_job_log_open finds it once (GET datastores/workspaceartifactstore for
 * the account and container, POST .../listSecrets for the account key,
 * masked at once) so that a follower's reads cost one ranged GET each.
 * A datastore without a key (identity-based workspaces) is read with a
 * bearer token `tokens` gives for AZURE_SCOPE_STORAGE instead; with
 * neither, ERR_AUTH.
 */
struct aml_job_log {
	struct http_client *http;     /* borrowed */
	char *url;                    /* the blob's URL */
	char *account;
	struct buf key;               /* the decoded account key; wiped */
	struct token_source tokens;   /* bearer fallback, may be empty */
	/* A distributed job writes one log per process instead,
	 * std_log_process_<rank>.txt: rank 0's, tried while `url` has no blob
	 * and taken for good (swapped into `url`) once it has one. NULL: none. */
	char *process_url;
	int settled;                  /* a blob answered: no more switching */
};
#define AML_JOB_LOG_INIT { NULL, NULL, NULL, BUF_INIT, { NULL, NULL }, NULL, 0 }

/* `tokens` may be empty (TOKEN_SOURCE_NONE). Release with aml_job_log_release. */
int aml_job_log_open(struct aml_job_log *out, struct aml *aml, const char *job_name,
		     struct token_source tokens);
void aml_job_log_release(struct aml_job_log *log);

/*
 * Appends to `out` the log's bytes from `offset` on, at most `max` of them
 * (std_log.txt, or rank 0's log of a distributed job, see process_url)
 * (0: 4 MiB), with a ranged GET; `*read_out` (may be NULL) receives how many
 * were appended, so the next read starts at offset + *read_out. Nothing yet
 * (no blob before the job writes its first line, or no byte past `offset`)
 * is not an error: 0 bytes. The last line may be incomplete; a follower
 * holds it back until its newline arrives. ERR_AUTH, ERR_HTTP, ERR_NETWORK
 * as the blob service answers, the message naming the blob without query.
 */
int aml_job_log_read(struct buf *out, size_t *read_out, struct aml_job_log *log,
		     uint64_t offset, size_t max);

/* The blob path of a job's log inside the artifact container; with
 * `rank` >= 0, the log of that process of a distributed job. */
void aml_job_log_blob(struct buf *out, const char *job_name);
void aml_job_log_process_blob(struct buf *out, const char *job_name, int rank);

/*
 * The Shared Key string-to-sign of a ranged GET (x-ms-date, x-ms-version
 * and Range headers only), as the Blob service canonicalises it
 * (azure-contract 4); `path` is the URL path ("/container/blob").
 */
void aml_blob_get_string_to_sign(struct buf *out, const char *account, const char *path,
				 const char *range, const char *date, const char *version);

#endif
