#ifndef MLOPS_PIPELINE_RUN_H
#define MLOPS_PIPELINE_RUN_H

#include <stddef.h>

#include "azure/aml_job.h"
#include "mlops/code_snapshot.h"
#include "mlops/job_run.h"
#include "mlops/pipeline_yaml.h"

/*
 * A training pipeline job (`type: pipeline`), run through job_run: its
 * prepare, submit, follow, logs and collect take this path when the YAML
 * is a pipeline, and the job_run then stands for the pipeline (its `job`,
 * `done`, `status`, `metrics` are the pipeline's).
 *
 *   pipeline_run_load     the YAML read, each step's code folder scanned;
 *                         the pipeline's inputs, outputs, tags and default
 *                         compute become the job_run's `spec`;
 *   pipeline_run_submit   each step's environment, data, compute and code
 *                         resolved as a command job's, then the pipeline
 *                         submitted;
 *   pipeline_run_follow   the steps followed one by one as their child jobs
 *                         appear, each one's log streamed after
 *                         `on_step` (job_run_options) opened its section,
 *                         then the pipeline's end; an output of the
 *                         pipeline is reported where the step that writes
 *                         it put it;
 *   pipeline_run_logs     every step's logs, each in the folder <step>/;
 *   pipeline_run_read_mlflow  every step's MLflow run: metrics and params
 *                         named <step>/<name>.
 */

struct pipeline_child {
	char *step;                  /* the step's name, or the child's display name */
	char *job;                   /* the child job's name */
	struct aml_job done;         /* its last state read */
	int followed;
};

struct pipeline_run {
	struct pipeline_yaml yaml;
	struct code_snapshot *snaps; /* one per step (empty without code) */
	struct pipeline_child *children;
	size_t children_nr;
};

int pipeline_run_load(struct job_run *r, const char *path);
int pipeline_run_submit(struct job_run *r, struct aml *aml, struct http_client *http,
			const struct job_run_options *o);
/* As job_follow for the pipeline: 0 when it ended (see r->done.status),
 * ERR_TIMEOUT or ERR_CANCELLED after cancelling it, or the error of a
 * status read that will not clear. */
int pipeline_run_follow(struct job_run *r, struct aml *aml, const struct job_follow_options *fo,
			const struct job_run_options *o);
int pipeline_run_logs(size_t *count_out, struct job_run *r, struct aml *aml, const char *dir,
		      const struct job_run_options *o);
/* Every step's MLflow run read into one, `out`: metrics and params named
 * <step>/<name>, the first start and the last end. 0 when at least one
 * step's run was read; else the error of the last read. */
int pipeline_run_read_mlflow(struct mlflow_run *out, struct job_run *r, struct aml *aml,
			     struct http_client *http, const struct job_run_options *o);
/* "azureml://jobs/<child>/outputs/<name>": the output of the step bound to
 * the pipeline's model output (job_model_output); ERR_NOT_FOUND (no
 * message) when there is none or its step was not listed. */
int pipeline_run_model_uri(struct buf *out, const struct job_run *r);

void pipeline_run_release(struct pipeline_run *p);

#endif
