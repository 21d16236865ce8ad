/*
 * Model-CD's stage evaluate (mlops/model_evaluate.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azure/aml_endpoint.h"
#include "core/error.h"
#include "core/log.h"
#include "mlops/model_deploy.h"
#include "mlops/model_evaluate.h"
#include "core/banned.h"

void model_evaluation_release(struct model_evaluation *e)
{
	size_t i;

	champion_gathered_release(&e->gathered);
	champion_decision_release(&e->decision);
	for (i = 0; i < e->notices_nr; i++)
		free(e->notices[i]);
	free(e->notices);
	stage_model_release(&e->after);
	memset(e, 0, sizeof(*e));
}

int model_evaluate_decide(struct model_evaluation *e, const struct model_evaluate_options *o)
{
	struct champion_gathered *g = &e->gathered;
	int ret;

	if (o->endpoint && *o->endpoint && aml_check_endpoint_name(o->endpoint))
		return error_prefix("Input endpoint-name");
	ret = champion_gather(g, o->aml, o->http, o->tokens, o->model, o->version,
			      o->policy->metric);
	if (ret)
		return ret;
	champion_decide(&e->decision, o->policy, g->have_champion ? &g->champion : NULL,
			&g->challenger, o->force, o->actor);
	return 0;
}

int model_evaluate_apply(struct model_evaluation *e, const struct model_evaluate_options *o)
{
	struct stage_plan p = STAGE_PLAN_INIT;
	struct stage_apply_options ao = { time(NULL), o->commit, o->run_url };
	struct stage_model m = STAGE_MODEL_INIT;
	int ret;

	ret = model_stage_reconcile(&e->notices, &e->notices_nr, &m, o->aml, o->endpoint,
				    o->model, &ao);
	/* A repair may have changed the champion: decide again on what the
	 * registry holds now. */
	if (!ret && e->notices_nr) {
		champion_gathered_release(&e->gathered);
		champion_decision_release(&e->decision);
		ret = model_evaluate_decide(e, o);
	}
	if (!ret && e->decision.deploy && !e->decision.same_version) {
		ret = stage_plan_stage(&p, &m, e->decision.challenger_version);
		if (!ret)
			ret = stage_apply(NULL, o->aml, o->model, &p, &ao);
		e->staged = !ret && p.nr > 0;
	}
	stage_plan_release(&p);
	stage_model_release(&m);
	/* Again after the writes: a run that raced this one is repaired by
	 * whichever ends last. */
	if (!ret)
		ret = model_stage_reconcile(&e->notices, &e->notices_nr, &e->after, o->aml,
					    o->endpoint, o->model, &ao);
	return ret;
}
