#ifndef MLOPS_MODEL_DEPLOY_H
#define MLOPS_MODEL_DEPLOY_H

#include <signal.h>
#include <stddef.h>

#include "azure/aml.h"
#include "azure/token.h"
#include "core/buf.h"
#include "core/http.h"
#include "mlops/code_snapshot.h"
#include "mlops/deploy_diagnose.h"
#include "mlops/online_yaml.h"
#include "mlops/rollout.h"
#include "mlops/stage.h"

/*
 * Model-CD's stages deploy and rollback as one plan: what the repository
 * says (the deployment YAML, the smoke request) read and checked first,
 * then what the workspace holds read (the model's stages, the endpoint and
 * its deployments), then the changes: the stage tags reconciled, the code
 * uploaded, the rollout (mlops/rollout.h) over the real scoring client
 * (azure/aml_score.h) and Azure Monitor (mlops/deploy_metrics.h), and the
 * stage tags moved once the new deployment serves:
 *   deploy    the staged version -> production, the old one -> surpassed;
 *   rollback  the restored version -> production, the rolled-back one ->
 *             surpassed (a redeployment of the newest surpassed version
 *             when no previous deployment was kept).
 * A failed provisioning or smoke test is diagnosed (mlops/deploy_diagnose.h)
 * with the deployment's container logs; traffic and tags are left as they
 * were. A breach restores the traffic; the tags were not moved yet.
 */

struct model_deploy_options {
	struct aml *aml;                 /* borrowed, as everything here */
	const char *model;               /* required */
	const char *version;             /* NULL: the one tagged staged (deploy) */
	const char *endpoint;            /* required */
	const char *workspace_root;      /* bounds every path */
	const char *deployment_yaml;     /* relative to workspace_root */
	const char *smoke_request;       /* a JSON file, relative to workspace_root */
	const char *smoke_expect;        /* NULL: the status alone decides */
	enum rollout_mode mode;
	struct rollout_steps steps;
	int mirror_percent;
	long bake_seconds;
	double max_error_rate;           /* fraction; < 0: no limit */
	double max_latency_ms;           /* <= 0: no limit */
	int keep_previous;
	long timeout_s;
	/* provenance, set on what is created */
	const char *commit, *repository, *run_url;
	struct http_client *http;        /* for blob uploads and scoring */
	struct token_source tokens;
	const volatile sig_atomic_t *stop;
};

struct model_deploy {
	struct model_deploy_options o;
	/* loaded from the repository */
	struct online_deployment yaml;
	struct code_snapshot *code;       /* NULL without code_configuration */
	struct buf smoke_body;
	cJSON *smoke_expect;
	/* read from the workspace */
	struct stage_model model;         /* as read before any change */
	char *version;                    /* the version to deploy (or restore) */
	char *model_id;
	char *location;
	struct buf environment_id;
	char deployment[40];
	char **notices;                   /* what reconcile repaired */
	size_t notices_nr;
	/* the run */
	struct rollout_report report;
	struct stage_model after;         /* the model as it is afterwards */
	struct deploy_diagnosis diagnosis;
	int diagnosed;
	struct buf logs;                  /* the failed deployment's container logs */
	int redeployed;                   /* rollback: by redeploying a surpassed version */
};

void model_deploy_init(struct model_deploy *d, const struct model_deploy_options *o);
void model_deploy_release(struct model_deploy *d);

/*
 * Reads and checks what the repository gives: the deployment YAML (errors
 * at its line), the code folder's snapshot (a link out refused), the smoke
 * request (valid JSON) and the expected answer. No call to Azure: an
 * error here is bad input, and nothing changed.
 */
int model_deploy_load(struct model_deploy *d);

/*
 * Reads what the deploy needs (nothing changed): the model's versions,
 * the version to deploy (the given one, or the one staged: ERR_INPUT when
 * it is not staged, or when none is), its id, the workspace's region, the
 * environment, the deployment's name.
 */
int model_deploy_prepare(struct model_deploy *d);

/* The changes of stage deploy (module comment). Call workflow_changing()
 * first. The report is filled as far as it went. */
int model_deploy_run(struct model_deploy *d);

/* Stage rollback: prepares what a redeploy would need only when no
 * previous deployment was kept. */
int model_deploy_rollback(struct model_deploy *d);

/*
 * What endpoint `endpoint` serves of `model` (stage_served): UNKNOWN when
 * no endpoint is named, NONE when it does not exist. `*version` is the
 * caller's.
 */
int model_deploy_served(enum stage_served *served, char **version, struct aml *aml,
			const char *endpoint, const char *model);

/*
 * Every Model-CD run starts here, and ends here after its own writes: the
 * stage tags of `model` repaired (stage_reconcile), the endpoint's traffic
 * the truth for production, each repair logged as a notice and appended
 * to `notices` (`*nr` of them); `m` receives the model as it is afterwards.
 * There is no lock on a model's tags: two runs at once may each write what
 * they planned, and the one that ends last repairs what the two left.
 */
int model_stage_reconcile(char ***notices, size_t *nr, struct stage_model *m, struct aml *aml,
			  const char *endpoint, const char *model,
			  const struct stage_apply_options *o);

/* Whether `o`'s version names one to deploy; else the staged one is
 * looked for. For the caller's words. */
const char *model_deploy_version(const struct model_deploy *d);

#endif
