/*
 * Model-CD's stage evaluate (mlops/model_evaluate.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azure/aml_endpoint.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/model_deploy.h"
#include "mlops/model_evaluate.h"
#include "core/banned.h"

static void evaluation_job_release(struct model_evaluation_job *j)
{
	free(j->name);
	free(j->status);
	free(j->studio_url);
	free(j->failure);
	free(j->champion_value);
	free(j->challenger_value);
	free(j->p_value);
	free(j->champion_missing);
	free(j->challenger_missing);
	memset(j, 0, sizeof(*j));
}

void model_evaluation_release(struct model_evaluation *e)
{
	size_t i;

	champion_gathered_release(&e->gathered);
	champion_decision_release(&e->decision);
	for (i = 0; i < e->notices_nr; i++)
		free(e->notices[i]);
	free(e->notices);
	stage_model_release(&e->after);
	evaluation_job_release(&e->job);
	memset(e, 0, sizeof(*e));
}

/* ---- the evaluation job ---- */

/* The job's options: followed to its end, where it comes from. */
static void job_options(struct job_run_options *jo, const struct model_evaluate_options *o)
{
	memset(jo, 0, sizeof(*jo));
	jo->path = o->evaluation_job;
	jo->job_file = o->evaluation_job_file ? o->evaluation_job_file : o->evaluation_job;
	jo->origin = o->origin;
	jo->wait = 1;
	jo->timeout_s = o->timeout_s;
	jo->on_line = o->on_line;
	jo->on_progress = o->on_progress;
	jo->ctx = o->ctx;
	jo->tokens = o->tokens;
	jo->stop = o->stop;
}

/*
 * The two model inputs appended to the YAML's, `uris` keeping what they
 * point to: "azureml:<ARM id of the version>", custom_model (a folder of
 * the version's files: an mlflow_model input would refuse a custom model).
 */
static int add_model_inputs(struct job_run *r, struct buf *uris, const struct aml *aml,
			    const char *model, const char *const *versions)
{
	static const char *const names[] = { EVALUATION_CHAMPION_INPUT, EVALUATION_CHALLENGER_INPUT };
	struct job_yaml *spec = &r->spec;
	size_t i, k;

	for (i = 0; i < spec->inputs_nr; i++)
		for (k = 0; k < 2; k++)
			if (!strcmp(spec->inputs[i].name, names[k]))
				return error_set(ERR_INPUT, "%s: input %s is Model-CD's own (the %s "
						 "version's files): the job must not declare it",
						 spec->yaml_path, names[k], k ? "challenger" : "champion");
	spec->inputs = xrealloc(spec->inputs, (spec->inputs_nr + 2) * sizeof(*spec->inputs));
	for (k = 0; k < 2; k++) {
		struct job_input *in = &spec->inputs[spec->inputs_nr++];

		buf_addstr(&uris[k], "azureml:");
		aml_path(&uris[k], aml, "/models/%s/versions/%s", model, versions[k]);
		memset(in, 0, sizeof(*in));
		in->name = names[k];
		in->type = AML_INPUT_CUSTOM_MODEL;
		in->path_kind = JOB_PATH_URI;
		in->path = uris[k].data;
		log_info("input %s: model %s version %s", names[k], model, versions[k]);
	}
	return 0;
}

/* Prepared with both models, under a name of this attempt and this pair
 * of versions: a re-run follows its job, another pair is another job. */
static int prepare(struct job_run *r, struct buf *uris, const struct job_run_options *jo,
		   const struct model_evaluate_options *o, const char *const *versions)
{
	struct buf key = BUF_INIT;
	int ret;

	if ((ret = job_run_prepare(r, jo)))
		return ret;
	/* A pipeline's inputs are its steps' to bind: two more would reach none. */
	if (r->pipeline)
		return error_set(ERR_INPUT, "Input evaluation-job: %s is a pipeline job; the "
				 "evaluation job is a command job", jo->job_file);
	if ((ret = add_model_inputs(r, uris, o->aml, o->model, versions)))
		return ret;
	/* The YAML's own name would be one job for every pair: not used. */
	buf_addf(&key, "%s champion %s challenger %s", jo->job_file, versions[0], versions[1]);
	buf_reset(&r->name);
	job_run_name(&r->name, &o->origin, key.data, r->experiment.data, r->spec.compute);
	buf_release(&key);
	return 0;
}

/* `key` of `run` as a candidate's value, or why it is missing. */
static void job_metric(char **value, char **missing, const struct mlflow_run *run,
		       const char *job, const char *key)
{
	const struct mlflow_metric *m = mlflow_run_metric(run, key);
	struct buf text = BUF_INIT;

	if (!m) {
		if (missing)
			*missing = xasprintf("evaluation job %s did not log %s", job, key);
		return;
	}
	champion_value_text(&text, m->value);
	*value = buf_detach(&text, NULL);
}

void model_evaluation_job_read(struct model_evaluation_job *j, const struct mlflow_run *run,
			       const char *job, const char *metric)
{
	struct buf key = BUF_INIT;

	buf_addf(&key, "champion_%s", metric);
	job_metric(&j->champion_value, &j->champion_missing, run, job, key.data);
	buf_reset(&key);
	buf_addf(&key, "challenger_%s", metric);
	job_metric(&j->challenger_value, &j->challenger_missing, run, job, key.data);
	buf_release(&key);
	/* No p-value is no reason of its own: max-p-value then says so. */
	job_metric(&j->p_value, NULL, run, job, "p_value");
}

/* What the ended job gave: its metrics, or why there are none. */
static void job_results(struct model_evaluation_job *j, const struct job_run *r,
			const char *metric)
{
	if (!j->failure && !r->have_mlflow)
		j->failure = xasprintf("evaluation job %s: its MLflow run was not read", r->job.name);
	if (!j->failure) {
		model_evaluation_job_read(j, &r->mlflow, r->job.name, metric);
		return;
	}
	j->champion_missing = xstrdup(j->failure);
	j->challenger_missing = xstrdup(j->failure);
}

/* Followed to its end: a job that did not complete is a failure in words
 * (the challenger cannot win), a stop or a lost connection an error. */
static int follow(struct model_evaluation_job *j, struct job_run *r,
		  const struct model_evaluate_options *o, const struct job_run_options *jo)
{
	int ret = job_run_follow(r, o->aml, jo);

	if (ret == ERR_TIMEOUT) {
		j->failure = xasprintf("evaluation %s", error_message());
		error_clear();
		ret = 0;
	} else if (!ret) {
		job_run_collect(r, o->aml, o->http, jo);
		if (job_run_outcome(r)) {
			j->failure = xasprintf("evaluation %s", error_message());
			error_clear();
		}
	}
	if (r->status)
		j->status = xstrdup(r->status);
	return ret;
}

static int run_evaluation(struct model_evaluation *e, const struct model_evaluate_options *o)
{
	const char *versions[] = { e->gathered.champion.version, e->gathered.challenger.version };
	struct model_evaluation_job *j = &e->job;
	struct buf uris[2] = { BUF_INIT, BUF_INIT };
	struct job_run r = JOB_RUN_INIT;
	struct job_run_options jo;
	int ret;

	job_options(&jo, o);
	if (!(ret = prepare(&r, uris, &jo, o, versions)))
		ret = job_run_submit(&r, o->aml, o->http, &jo);
	j->changed |= r.changed;
	if (!ret) {
		j->ran = 1;
		j->name = xstrdup(r.job.name);
		j->studio_url = r.job.studio_url ? xstrdup(r.job.studio_url) : NULL;
		if (!(ret = follow(j, &r, o, &jo)))
			job_results(j, &r, o->policy->metric);
	}
	ret = job_run_abandon(&r, o->aml, ret, o->stop && *o->stop);
	job_run_release(&r);
	buf_release(&uris[0]);
	buf_release(&uris[1]);
	return ret;
}

/* With an evaluation job, its values replace the training runs'. */
static int evaluate_by_job(struct model_evaluation *e, const struct model_evaluate_options *o)
{
	struct champion_gathered *g = &e->gathered;
	struct model_evaluation_job *j = &e->job;
	int ret, changed = j->changed;

	/* Deciding again (after a repair): the last job's results go, what
	 * it changed stays known. */
	evaluation_job_release(j);
	j->changed = changed;
	if (!o->evaluation_job || !*o->evaluation_job || !g->have_champion ||
	    !strcmp(g->champion.version, g->challenger.version))
		return 0;
	if ((ret = run_evaluation(e, o)))
		return ret;
	g->champion.value = j->champion_value;
	g->champion.missing = j->champion_missing;
	g->challenger.value = j->challenger_value;
	g->challenger.missing = j->challenger_missing;
	g->challenger.p_value = j->p_value;
	return 0;
}

/* ---- the decision and the tags ---- */

int model_evaluate_decide(struct model_evaluation *e, const struct model_evaluate_options *o)
{
	struct champion_gathered *g = &e->gathered;
	int ret;

	if (o->endpoint && *o->endpoint && aml_check_endpoint_name(o->endpoint))
		return error_prefix("Input endpoint-name");
	ret = champion_gather(g, o->aml, o->http, o->tokens, o->model, o->version,
			      o->policy->metric);
	if (!ret)
		ret = evaluate_by_job(e, o);
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

void model_evaluation_record(struct buf *out, const struct model_evaluation *e,
			     const struct champion_policy *p)
{
	cJSON *json = champion_decision_json(&e->decision, p);

	if (e->job.ran) {
		cJSON *job = json_add_object(json, "evaluation_job");

		json_add_string(job, "name", e->job.name);
		json_add_string(job, "status", e->job.status ? e->job.status : "unknown");
		if (e->job.p_value)
			json_add_string(job, "p_value", e->job.p_value);
	}
	json_write(out, json);
	cJSON_Delete(json);
}
