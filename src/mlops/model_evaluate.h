#ifndef MLOPS_MODEL_EVALUATE_H
#define MLOPS_MODEL_EVALUATE_H

#include "azure/aml.h"
#include "azure/token.h"
#include "core/http.h"
#include "mlops/champion.h"
#include "mlops/stage.h"

/*
 * Model-CD's stage evaluate as a plan: decide (champion_gather and
 * champion_decide: reads only), then apply: the stage tags reconciled
 * (model_stage_reconcile), and when the challenger wins it becomes staged
 * and the version staged before unstaged (stage_plan_stage); when the
 * reconcile repaired anything, the decision is made again first, on the
 * registry as repaired. A losing challenger's tag is left as it is.
 */

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
};

struct model_evaluation {
	struct champion_gathered gathered;
	struct champion_decision decision;
	char **notices;                    /* what reconcile repaired */
	size_t notices_nr;
	int staged;                        /* the challenger was tagged staged now */
	struct stage_model after;          /* the model once applied */
};
#define MODEL_EVALUATION_INIT { .gathered = CHAMPION_GATHERED_INIT, \
	.decision = CHAMPION_DECISION_INIT, .after = STAGE_MODEL_INIT }
void model_evaluation_release(struct model_evaluation *e);

/* Gathers both models' metric and decides; nothing changed. Errors as
 * champion_gather's (ERR_NOT_FOUND: no such model or version). */
int model_evaluate_decide(struct model_evaluation *e, const struct model_evaluate_options *o);

/* The tags, as decided. Call workflow_changing() first. */
int model_evaluate_apply(struct model_evaluation *e, const struct model_evaluate_options *o);

#endif
