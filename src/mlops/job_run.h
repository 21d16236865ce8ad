#ifndef MLOPS_JOB_RUN_H
#define MLOPS_JOB_RUN_H

#include <signal.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "azure/aml.h"
#include "azure/aml_job.h"
#include "azure/mlflow.h"
#include "azure/token.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/kv.h"
#include "mlops/code_snapshot.h"
#include "mlops/job_follow.h"
#include "mlops/metric_chart.h"
#include "mlops/job_yaml.h"

/*
 * A training job from its Azure ML command job YAML, as Model-CI and
 * Model-CT's training stage run one:
 *   job_run_prepare   the YAML and the code folder it names read and
 *                     checked, the experiment and compute decided: nothing
 *                     is sent to Azure, so a bad file fails first;
 *   job_run_submit    the job of this very workflow attempt found again by
 *                     its name (job_run_name: a re-run after the process
 *                     was killed follows it instead of training twice),
 *                     else the job request built (environment, data,
 *                     compute, code snapshot, tags) and submitted;
 *   job_run_attach_named  instead of both: a job started earlier (wait
 *                     false) followed by its name, no YAML read;
 *   job_run_follow    followed to its end, its log streamed (job_follow);
 *   job_run_logs      its logs downloaded into a folder the caller keeps;
 *   job_run_collect   its MLflow run read: metrics, params, duration, and
 *                     the history of each metric logged over steps;
 *   job_run_outcome   whether it Completed;
 *   job_run_abandon   a job this run started cancelled when the caller
 *                     gives up on it, so it does not train on alone.
 * job_run_train chains them for a caller that needs nothing in between.
 * Whatever the result, `changed` says whether anything was sent to Azure
 * (an upload or a submit): the caller then calls workflow_changing(), so
 * a later input error is not exit 2.
 */

/* ---- the job request ---- */

/*
 * Everything aml_job_create takes, owned: `spec` points into the members
 * below and into the job_yaml it was built from (which must outlive it).
 */
struct job_request {
	struct aml_job_spec spec;
	struct buf environment_id, code_id, compute_id;
	struct aml_job_input *inputs;
	char **uris;                  /* the data inputs' resolved URIs */
	size_t uris_nr;
	struct aml_job_output *outputs;
	struct kv_list tags;          /* the YAML's tags, then commit, then `identity` */
};
#define JOB_REQUEST_INIT { .environment_id = BUF_INIT, .code_id = BUF_INIT, .compute_id = BUF_INIT, \
			   .tags = KV_LIST_INIT }

/*
 * Builds the request for `spec` in experiment `experiment`: the
 * environment (azureml:name:version, or @latest resolved; registry
 * environments as written) and every data input (resolved to the ARM id of
 * its version) looked up in the workspace, the outputs as declared, the
 * compute `compute` (NULL or "": the YAML's; "azureml:" prefix allowed) as
 * an ARM id, and the tags: the YAML's, then "commit" (when `commit` is
 * given), then `identity` ("key", "value" pairs, NULL-terminated). Only
 * reads: a missing environment or data asset is ERR_INPUT at its line in
 * the YAML. No code: job_request_add_code adds it.
 */
int job_request_build(struct job_request *out, struct aml *aml, const struct job_yaml *spec,
		      const char *experiment, const char *compute, const char *commit,
		      const char *const *identity);

/* Ensures the code version of `snap` (the scan of `dir`), reusing an
 * unchanged one (code_snapshot_ensure, errors as that), and sets it as the
 * request's code. This uploads. */
int job_request_add_code(struct job_request *req, struct aml *aml, struct http_client *http,
			 const struct code_snapshot *snap, const char *dir);

void job_request_release(struct job_request *req);

/*
 * Appends the ARM id of environment `name` at `version` (NULL: its latest
 * version, resolved), `ref` being how the file wrote it, for messages.
 * ERR_INPUT when it is not registered (Environment-CD registers it).
 */
int job_environment_id(struct buf *id_out, struct aml *aml, const char *ref, const char *name,
		       const char *version);

/* ---- the run ---- */

/* Where a job comes from: what tags it, names its default experiment, and
 * finds it again. Every member may be NULL. */
struct job_origin {
	const char *repository;       /* owner/name */
	const char *commit;
	const char *run_id;           /* NULL or "": not a CI run (a random job name) */
	const char *run_attempt;      /* NULL or "": "1" */
	const char *workflow_job;
};

struct job_run_options {
	const char *path;             /* the job YAML, as it is opened */
	const char *job_file;         /* the YAML as the user named it: the job_file tag */
	const char *experiment;       /* NULL or "": the YAML's, else the repository's name */
	const char *compute;          /* NULL or "": the YAML's */
	struct job_origin origin;
	int wait;                     /* the job is followed: give up on it means cancel it */
	long timeout_s;               /* how long job_run_follow waits */
	job_line_fn on_line;          /* each line of the job's log; NULL: not read */
	/* A pipeline's step `step` starts, as child job `job`: its log lines
	 * follow (a new section of the log); NULL: none. */
	void (*on_step)(const char *step, const char *job, void *ctx);
	void (*on_progress)(const char *text, void *ctx);
	void *ctx;
	struct token_source tokens;   /* storage (logs) and management (MLflow) tokens */
	const volatile sig_atomic_t *stop;  /* the caller's stop flag, or NULL */
};

/* What attempt_tags fills: up to five pairs and the NULL. */
#define JOB_RUN_IDENTITY_MAX 11

struct pipeline_run;
/*
 * Appends the name of the job a CI run submits, the same for every run of
 * one attempt of one workflow job and job file, so that a re-run finds
 * the job it already started: "<repository name>-<run id>-<attempt>-<hash>",
 * the first three lower-cased with anything but letters and digits made a
 * '-', the hash 12 hex digits of SHA-256 over the repository, run id,
 * attempt, workflow job, job file, experiment and compute (each may be
 * NULL). At most 129 characters, within Azure ML's name rule
 * (aml_check_name). Appends nothing outside CI (no run id): such a run
 * has no re-run to find it again, and its job gets a random name.
 */
void job_run_name(struct buf *out, const struct job_origin *origin, const char *job_file,
		  const char *experiment, const char *compute);

struct job_run {
	struct job_yaml spec;         /* for a pipeline: its inputs, outputs, tags, default compute */
	struct pipeline_run *pipeline;/* the YAML is a pipeline (mlops/pipeline_run.h); NULL: a command job */
	struct code_snapshot snap;
	struct buf experiment;
	struct buf name;              /* the name to submit under; empty: a random one */
	/* The attempt's tags, borrowed from the options; [0] NULL: none. */
	const char *identity[JOB_RUN_IDENTITY_MAX];
	struct aml_job job;           /* as submitted, or as found again */
	struct aml_job done;          /* the last state job_run_follow read */
	const struct aml_job *last;   /* `done` once it was read, else `job` */
	const char *status;           /* last's status as Azure spells it */
	int attached;                 /* `job` was submitted earlier (this attempt, or job-name) */
	int changed;                  /* Azure may have been changed (an upload, a submit) */
	int live;                     /* started and followed, not yet ended nor cancelled */
	time_t submitted;
	long duration_s;              /* -1 until known */
	struct mlflow_run mlflow;     /* valid when have_mlflow */
	int have_mlflow;
	char **metric_text;           /* mlflow.metrics[i]'s value as MLflow writes it */
	cJSON *metrics;               /* {"key": latest value}; NaN and the infinities as strings */
	/* The histories of the metrics whose latest step is past 0, downsampled
	 * (at most JOB_RUN_SERIES_MAX, in the run's order of metrics). */
	struct metric_series *series;
	size_t series_nr;
};
#define JOB_RUN_INIT { .spec = JOB_YAML_INIT, .snap = CODE_SNAPSHOT_INIT, \
		       .experiment = BUF_INIT, .name = BUF_INIT, .job = AML_JOB_INIT, \
		       .done = AML_JOB_INIT, .duration_s = -1, .mlflow = MLFLOW_RUN_INIT }

/*
 * Reads and checks the job YAML (job_yaml_load) and scans its code folder
 * (code_snapshot_scan); the experiment is the option, else the YAML's,
 * else the repository's name, else "Default"; it and the compute must be
 * valid names ("Input experiment-name: ...", "Input compute: ...",
 * ERR_INPUT). The job's name is the YAML's `name`, else job_run_name's
 * in CI, else none yet (a random one at submit). Nothing is sent to Azure.
 */
int job_run_prepare(struct job_run *r, const struct job_run_options *o);

/*
 * Follows the job of the prepared name when it exists already (`attached`:
 * an earlier run of this attempt submitted it), else builds the request
 * and submits it under that name (uploading the code snapshot when it
 * changed). A submit refused because a job of that name appeared
 * meanwhile (a run of the same attempt racing this one) attaches to it
 * too. `changed` says whether Azure may have been changed, even on
 * failure. Errors as job_request_build, job_request_add_code and
 * aml_job_create; a failed look-up of the earlier job is "looking for job
 * <name> of this run attempt: ...".
 */
int job_run_submit(struct job_run *r, struct aml *aml, struct http_client *http,
		   const struct job_run_options *o);

/*
 * Instead of prepare and submit: the existing job `name` (a step with
 * wait false started it) read and made the run's job, as if attached, so
 * that job_run_follow, job_run_logs and job_run_collect work on it; no
 * YAML is read and nothing is submitted. ERR_INPUT "Input job-name: ..."
 * for a name Azure ML could not hold, or one the workspace has no job of
 * (nothing was changed); else errors as aml_job_get.
 */
int job_run_attach_named(struct job_run *r, struct aml *aml, const char *name,
			 const struct job_run_options *o);

/*
 * Follows the job to its end (job_follow, errors as that: ERR_CANCELLED when
 * the stop flag was raised, ERR_TIMEOUT after timeout_s, the job cancelled in
 * both). After a timeout the job's state is read again, the timeout
 * staying the error; after a stop, `status` is what the cancel left
 * (Canceled, or CancelRequested when it had not ended in time).
 */
int job_run_follow(struct job_run *r, struct aml *aml, const struct job_run_options *o);

/* Downloads the job's logs into `dir` (job_logs_download, errors as that);
 * `*count_out` receives the number of files. */
int job_run_logs(size_t *count_out, struct job_run *r, struct aml *aml, const char *dir,
		 const struct job_run_options *o);

/* How many metric histories job_run_collect reads at most. */
#define JOB_RUN_SERIES_MAX 20

/*
 * Reads the job's MLflow run, from the job's own tracking endpoint or else
 * the workspace's, for its metrics and params; the run's own start and end
 * give the duration. Then the history of each metric whose latest step is
 * past 0 (logged over steps: a loss curve), for the first
 * JOB_RUN_SERIES_MAX of them, each downsampled to METRIC_CHART_POINTS
 * (metric_series_build). A run or a history that cannot be read is a
 * warning, not an error: the job's status decides.
 */
/* The MLflow client for `job`'s run: at the job's own tracking endpoint
 * when it names one, else at the workspace's. */
int job_run_open_mlflow(struct mlflow *m, struct aml *aml, struct http_client *http,
			const struct aml_job *job, const struct job_run_options *o);

void job_run_collect(struct job_run *r, struct aml *aml, struct http_client *http,
		     const struct job_run_options *o);

/* 0 when the job Completed; else as job_outcome_error: ERR_CANCELLED when it
 * was Canceled, ERR_REMOTE_FAILED otherwise, "job <name> ended <status>: <error>". */
int job_run_outcome(const struct job_run *r);

/* The URI of the job's model output (job_model_uri); for a pipeline, of
 * the step's output bound to it. ERR_NOT_FOUND (no message) when none. */
int job_run_model_uri(struct buf *out, const struct job_run *r);

/*
 * When the caller gives up (`ret` non-zero) on a job this run still
 * follows, cancels it, within JOB_CANCEL_STOP_S when `stopping` (the
 * runner kills the step soon), else within a minute; the error stays.
 * Returns `ret`.
 */
int job_run_abandon(struct job_run *r, struct aml *aml, int ret, int stopping);

/*
 * Prepare, submit, follow and collect, then the outcome: 0 only when the
 * job Completed. A job this run started is cancelled when it gives up.
 */
int job_run_train(struct job_run *r, struct aml *aml, struct http_client *http,
		  const struct job_run_options *o);

void job_run_release(struct job_run *r);

#endif
