#ifndef MLOPS_PRODUCTION_H
#define MLOPS_PRODUCTION_H

#include <stddef.h>

#include "azure/aml.h"
#include "azure/aml_model.h"
#include "azure/mlflow.h"
#include "azure/token.h"
#include "core/http.h"

/*
 * The model in production, to compare a training run with: the version of
 * a model tagged stage=production (the tag Model-CD moves), the job that
 * trained it (its jobName), and that job's MLflow run's latest metrics.
 */

#define PRODUCTION_TAG "stage"
#define PRODUCTION_STAGE "production"

struct production_model {
	int found;                 /* a version is tagged stage=production */
	char *name;                /* the model asked for; NULL when none was */
	char *version;
	char *job_name;            /* NULL: the version names no training job */
	struct mlflow_run run;     /* valid when have_run */
	int have_run;
};
#define PRODUCTION_MODEL_INIT { 0, NULL, NULL, NULL, MLFLOW_RUN_INIT, 0 }
void production_model_release(struct production_model *p);

/*
 * Of `nr` versions, the one in production: tagged exactly stage=production
 * and not archived; of several (a promotion half done), the newest, by
 * version number, then by creation time. -1 when none is.
 */
long production_pick(const struct aml_model_version *v, size_t nr);

/*
 * Finds model `name`'s production version in the workspace and reads the
 * MLflow run of its job (at the workspace's tracking URI, with the
 * management token of `tokens`). No name, no such model or no version in
 * production: 0 with `found` 0, nothing to compare with. A version whose
 * job or run cannot be read is found without a run, with a warning: the
 * comparison is a report, not a gate. Errors are those of listing the
 * versions (a refused token, an outage).
 */
int production_model_find(struct production_model *out, struct aml *aml,
			  struct http_client *http, struct token_source tokens, const char *name);

/*
 * The MLflow run of job `job` (Azure ML's run id is the job name), at the
 * workspace's tracking URI with the management token of `tokens`: how
 * production_model_find reads production's, for others to read another
 * version's the same way. ERR_NOT_FOUND when the workspace has no
 * tracking URI or the run does not exist; those of the calls otherwise.
 */
int production_run_read(struct mlflow_run *run, struct aml *aml, struct http_client *http,
			struct token_source tokens, const char *job);

/* One metric of a training run beside the model in production. */
struct production_row {
	const char *key;           /* borrowed from the runs */
	char *value;               /* the run's latest value as MLflow writes it; NULL: not logged */
	char *production;          /* production's; NULL: not logged (or nothing in production) */
	char *difference;          /* value - production, signed ("+0.012", "-3", "NaN"); NULL
				    * when either is missing */
};

struct production_comparison {
	struct production_row *rows;
	size_t nr;
};
#define PRODUCTION_COMPARISON_INIT { NULL, 0 }
void production_comparison_release(struct production_comparison *c);

/*
 * The rows of a report: each metric of `run` (NULL: none) in its order,
 * with production's value and the difference when `p` has a run; then the
 * metrics only production logged. Non-finite values are the strings MLflow
 * uses, and so is a difference that is not finite.
 */
void production_compare(struct production_comparison *out, const struct mlflow_run *run,
			const struct production_model *p);

#endif
