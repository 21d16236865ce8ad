#ifndef MLOPS_MODEL_EVALUATE_H
#define MLOPS_MODEL_EVALUATE_H

#include "azure/aml.h"
#include "azure/token.h"
#include "core/http.h"
#include "mlops/champion.h"
#include "mlops/job_run.h"
#include "mlops/stage.h"

/*
 * Model-CD's stage evaluate as a plan: decide (champion_gather and
 * champion_decide: reads only), then apply: the stage tags reconciled
 * (model_stage_reconcile), and when the challenger wins it becomes staged
 * and the version staged before unstaged (stage_plan_stage); when the
 * reconcile repaired anything, the decision is made again first, on the
 * registry as repaired. A losing challenger's tag is left as it is.
 *
 * The metrics come from each version's training run (its jobName), or,
 * with `evaluation_job`, from an Azure ML job of the user's, submitted
 * with two inputs more, champion_model and challenger_model (custom_model:
 * the registered versions' files, whatever their type), and followed to
 * its end: its MLflow run's champion_<metric> and challenger_<metric> are
 * the candidates' values, its p_value the challenger's p-value. No
 * champion, or the challenger being the champion: no job runs. A job that
 * does not complete (failed, cancelled, timed out) or does not log a
 * value leaves that value missing, in words: the challenger cannot win.
 * The job is a command job; a `name` in its YAML is not used (each pair
 * of versions is a job of its own).
 */

#define EVALUATION_CHAMPION_INPUT "champion_model"
#define EVALUATION_CHALLENGER_INPUT "challenger_model"

struct model_evaluate_options {
	struct aml *aml;
	struct http_client *http;
	struct token_source tokens;
	const char *model;
	const char *version;               /* NULL or "": the latest */
	const struct champion_policy *policy;
	int force;
	const char *actor;                 /* GITHUB_ACTOR, for a forced decision */
	const char *endpoint;              /* NULL: what it serves is unknown */
	const char *commit, *run_url;      /* for the stage history */
	/* The evaluation job: the YAML as opened (NULL or "": none, the
	 * training runs decide) and as the user named it (its job_file tag).
	 * Its name is job_run_name's over the origin, the file and both
	 * versions: a re-run of the attempt follows the job it submitted. */
	const char *evaluation_job, *evaluation_job_file;
	struct job_origin origin;
	long timeout_s;                    /* how long the job is waited for */
	job_line_fn on_line;               /* its log's lines; NULL: not read */
	void (*on_progress)(const char *text, void *ctx);
	void *ctx;
	const volatile sig_atomic_t *stop; /* ends the wait: the job is cancelled */
};

/* What the evaluation job gave; every string owned, NULL when none. */
struct model_evaluation_job {
	int ran;                           /* a job was submitted or followed */
	int changed;                       /* Azure may have been changed (a submit) */
	char *name, *status, *studio_url;
	char *failure;                     /* why it gave no metrics: "job X ended Failed: ..." */
	char *champion_value, *challenger_value, *p_value;
	char *champion_missing, *challenger_missing;
};

struct model_evaluation {
	struct champion_gathered gathered;
	struct champion_decision decision;
	char **notices;                    /* what reconcile repaired */
	size_t notices_nr;
	int staged;                        /* the challenger was tagged staged now */
	struct stage_model after;          /* the model once applied */
	struct model_evaluation_job job;   /* evaluation_job's, when it ran */
};
/* The values of the evaluation job's MLflow run `run` (of job `job`) for
 * `metric` into `j`: champion_<metric>, challenger_<metric>, p_value (left
 * NULL when not logged); a value not logged is missing in words ("evaluation
 * job J did not log challenger_auc"). */
void model_evaluation_job_read(struct model_evaluation_job *j, const struct mlflow_run *run,
			       const char *job, const char *metric);

#define MODEL_EVALUATION_INIT { .gathered = CHAMPION_GATHERED_INIT, \
	.decision = CHAMPION_DECISION_INIT, .after = STAGE_MODEL_INIT }
void model_evaluation_release(struct model_evaluation *e);

/* Gathers both models' metric and decides; nothing changed but the
 * evaluation job submitted (`job.changed`: call workflow_changing() even
 * on failure). Errors as champion_gather's (ERR_NOT_FOUND: no such model
 * or version), as job_run_prepare's and job_run_submit's for the
 * evaluation job (ERR_INPUT at the YAML's line; one declaring
 * champion_model or challenger_model itself is refused), ERR_CANCELLED
 * when the stop flag ended the wait (the job cancelled). */
int model_evaluate_decide(struct model_evaluation *e, const struct model_evaluate_options *o);

/* Appends the decision record, the `decision` output: champion_decision_json,
 * with "evaluation_job" {name, status, p_value} when one ran. */
void model_evaluation_record(struct buf *out, const struct model_evaluation *e,
			     const struct champion_policy *p);

/* The tags, as decided. Call workflow_changing() first. */
int model_evaluate_apply(struct model_evaluation *e, const struct model_evaluate_options *o);

#endif
