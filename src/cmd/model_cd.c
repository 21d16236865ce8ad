/*
 * Model-CD in four stages, each a job of its own so that deploy can wait
 * behind a GitHub environment's required reviewers:
 *   stage evaluate  champion (the version tagged stage=production) against
 *                   challenger on their training runs' metric
 *                   (mlops/model_evaluate.h); the winner becomes staged;
 *   stage deploy    the staged version rolled out to the online endpoint
 *                   (mlops/model_deploy.h): safe rollout in watched traffic
 *                   steps, or direct; then production, the old one
 *                   surpassed; a failure explained and left as it was;
 *   stage rollback  the traffic back to the previous deployment;
 *   stage history   the model's stage timeline, from the registry alone.
 * Every stage that changes tags starts by reconciling them. Exit 2 for bad
 * inputs before anything changed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci/summary.h"
#include "cmd/session.h"
#include "cmd/workflow.h"
#include "core/fs.h"
#include "core/log.h"
#include "mlops/metric_chart.h"
#include "mlops/metric_gate.h"
#include "mlops/model_deploy.h"
#include "mlops/model_evaluate.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "stage", "evaluate: champion against challenger, the winner tagged staged; deploy: the staged version rolled out to the endpoint and tagged production; rollback: the traffic back to the previous deployment; history: the model's stage timeline.", "evaluate", 0 },
	{ "model-name", "Registered model to evaluate and deploy.", NULL, INPUT_REQUIRED },
	{ "model-version", "Challenger version (stage evaluate; default: the latest version), or the version to deploy (stage deploy; default: the one tagged stage=staged).", NULL, 0 },
	{ "metric", "Metric of each version's training run that decides champion against challenger (stage evaluate).", NULL, 0 },
	{ "direction", "maximize or minimize: which way the metric is better.", "maximize", 0 },
	{ "min-delta", "How much better the challenger must be: absolute (0.01) or relative to the champion's value (1%).", "0", 0 },
	{ "evaluation-job", "Azure ML command job YAML that decides instead of the training runs (stage evaluate): submitted with inputs champion_model and challenger_model (the two versions' files), its MLflow run's champion_<metric>, challenger_<metric> and p_value are compared; empty: each version's training run.", "", 0 },
	{ "max-p-value", "Largest p-value the evaluation job may log for the challenger to win (0 to 1; needs evaluation-job); empty: not checked.", NULL, 0 },
	{ "force", "Promote the challenger whatever the policy says; the decision records it and who asked (GITHUB_ACTOR).", "false", INPUT_BOOL },
	{ "endpoint-name", "Managed online endpoint to deploy to (stages deploy and rollback); created with key auth when missing.", NULL, 0 },
	{ "deployment", "Azure ML CLI v2 online deployment YAML describing the deployment.", "deployments/online.yml", 0 },
	{ "smoke-request", "JSON request sent to the new deployment before it gets traffic; it must answer 200.", "deployments/smoke-request.json", 0 },
	{ "smoke-expect", "JSON file whose keys and values the smoke answer must contain (optional).", NULL, 0 },
	{ "rollout", "safe: traffic in steps, watched; direct: all traffic at once after the smoke test.", "safe", 0 },
	{ "traffic-steps", "Percentages of traffic the new deployment gets in turn (safe rollout); the last is 100.", "10,50,100", 0 },
	{ "bake-minutes", "How long each traffic step is held and watched.", "5", 0 },
	{ "mirror-percent", "Share of live traffic copied to the new deployment while it bakes at 0% (0-50).", "0", 0 },
	{ "max-error-rate", "Largest share of 5xx answers of the new deployment a step may see (0.01 or 1%).", "1%", 0 },
	{ "max-latency-ms", "Largest P90 latency of the new deployment a step may see, in milliseconds; 0: not checked.", "0", 0 },
	{ "keep-previous", "Keep the previous deployment at 0% traffic for rollback once the new one serves everything.", "true", INPUT_BOOL },
	{ "timeout-minutes", "How long to wait for each endpoint or deployment operation, and for the evaluation job.", "60", 0 },
	{ "history", "Print the model's stage timeline instead (stage history; on a terminal: --history).", "false", INPUT_BOOL },
	{ "log-artifact", "Name of the artifact holding a failed deployment's full logs; empty: none.", "deployment-logs", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	{ "decision", "The evaluation as JSON: champion, challenger, their values, delta, policy, winner, forced." },
	{ "deploy", "true when the challenger won (stage evaluate) and is to be deployed." },
	{ "model-version", "The challenger (evaluate), the version now in production (deploy, rollback)." },
	{ "endpoint", "Name of the endpoint." },
	{ "deployment", "Deployment that serves the model." },
	{ "scoring-uri", "Scoring URI of the endpoint." },
	{ "previous-deployment", "Deployment that served before (kept at 0% for rollback unless keep-previous is false)." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_model_cd = {
	.spec = { "model-cd", inputs, outputs },
	.title = "Model CD",
	.description = "Champion/challenger evaluation of a model version, stage tags, and deployment to a managed online endpoint tagged with the commit and repository.",
	.run = run,
	.stops_gracefully = 1,
};

/* GitHub's run page; Azure Pipelines' needs the project, which the
 * context lacks. */
static void run_url(struct buf *out, struct ci *ci)
{
	const struct ci_context *c = ci_context(ci);

	if (ci_kind(ci) != CI_PIPELINES && *c->server_url && *c->repository && *c->run_id)
		buf_addf(out, "%s/%s/actions/runs/%s", c->server_url, c->repository, c->run_id);
}

/* A bullet list of what reconcile repaired, under the stage's summary. */
static void summarize_notices(struct summary *sum, char *const *notices, size_t nr)
{
	struct buf line = BUF_INIT;
	size_t i;

	for (i = 0; i < nr; i++) {
		buf_reset(&line);
		buf_addstr(&line, "- Repaired: ");
		summary_escape(&line, notices[i]);
		summary_markdown(sum, line.data);
	}
	buf_release(&line);
}

/* A version's stage tag as the table shows it: empty when it has none. */
static const char *stage_cell(const struct stage_version *v)
{
	if (v->stage == STAGE_MISSING)
		return "";
	return v->tag ? v->tag : stage_name(v->stage);
}

/* Every version of the model and its stage tag; with `before` (may be
 * NULL or empty), the tag each had before the run too. */
static void summarize_stages(struct summary *sum, const struct stage_model *m,
			     const struct stage_model *before)
{
	static const char *const head[] = { "Version", "Stage", "Before" };
	int n = before && before->nr ? 3 : 2;
	size_t i;

	if (!m->nr)
		return;
	summary_table_begin(sum, head, n);
	for (i = 0; i < m->nr; i++) {
		long b = n == 3 ? stage_model_find(before, m->v[i].version) : -1;
		const char *row[3] = { m->v[i].version, stage_cell(&m->v[i]),
				       b >= 0 ? stage_cell(&before->v[b]) : "" };

		summary_table_row(sum, row, n);
	}
	summary_table_end(sum);
}

/* ---- stage evaluate ---- */

/* timeout-minutes, every stage's: whole minutes, in seconds. */
static int read_timeout(struct ci *ci, long *seconds)
{
	long minutes;
	int ret;

	if (!(ret = ci_input_int(ci, "timeout-minutes", 1, 24 * 60, &minutes)))
		*seconds = minutes * 60;
	return ret;
}

/* The evaluation job's log, line by line: the host fences lines that look
 * like workflow commands, so the job cannot act on the run. */
static void job_line(const char *line, void *ctx)
{
	(void)ctx;
	log_info("%s", line);
}

/* The policy; `*job` the evaluation job as named ("": none). */
static int read_policy(struct ci *ci, struct champion_policy *p, int *force, const char **job)
{
	const char *metric, *direction, *min_delta, *max_p;
	int ret;

	if ((ret = ci_input(ci, "metric", &metric)) ||
	    (ret = ci_input(ci, "direction", &direction)) ||
	    (ret = ci_input(ci, "min-delta", &min_delta)) ||
	    (ret = ci_input(ci, "max-p-value", &max_p)) ||
	    (ret = ci_input(ci, "evaluation-job", job)) ||
	    (ret = ci_input_bool(ci, "force", force)))
		return ret;
	if (!*metric)
		return error_set(ERR_INPUT, "Input required and not supplied: metric (stage evaluate)");
	/* Only an evaluation job logs a p-value: without one the policy
	 * could never be met. */
	if (*max_p && !**job)
		return error_set(ERR_INPUT, "Input max-p-value: needs evaluation-job, the job "
				 "that logs the p-value");
	return champion_policy_parse(p, metric, direction, min_delta, max_p);
}

/* A candidate's value in the table: as MLflow gave it, or why it is missing. */
static const char *value_cell(const char *value, const char *missing)
{
	return value ? value : missing ? missing : "not logged";
}

static void comparison_chart(struct summary *sum, const struct champion_decision *d,
			     const struct champion_policy *p)
{
	struct buf chart = BUF_INIT, a = BUF_INIT, b = BUF_INIT;
	const char *labels[2];
	double values[2];
	size_t n = 0;

	if (d->have_champion && d->champion_value) {
		buf_addf(&a, "champion %s", d->champion_version);
		labels[n] = a.data;
		values[n++] = strtod(d->champion_value, NULL);
	}
	if (d->challenger_value) {
		buf_addf(&b, "challenger %s", d->challenger_version);
		labels[n] = b.data;
		values[n++] = strtod(d->challenger_value, NULL);
	}
	metric_chart_bars(&chart, p->metric, labels, values, n);
	if (chart.len)
		summary_code(sum, "mermaid", chart.data);
	buf_release(&chart);
	buf_release(&a);
	buf_release(&b);
}

static void summarize_evaluation(struct ci *ci, const struct model_evaluation *e,
				 const struct champion_policy *p)
{
	const struct champion_decision *d = &e->decision;
	const struct champion_gathered *g = &e->gathered;
	const char *head[] = { "", "Version", p->metric };
	struct summary *sum = ci_summary(ci);
	struct buf text = BUF_INIT;

	summary_heading(sum, 3, "Champion and challenger");
	summary_table_begin(sum, head, 3);
	if (d->have_champion) {
		const char *row[] = { "champion (production)", d->champion_version,
				      value_cell(d->champion_value, g->champion.missing) };

		summary_table_row(sum, row, 3);
	}
	{
		const char *row[] = { "challenger", d->challenger_version,
				      value_cell(d->challenger_value, g->challenger.missing) };

		summary_table_row(sum, row, 3);
	}
	summary_table_end(sum);
	comparison_chart(sum, d, p);
	if (e->job.ran) {
		buf_addstr(&text, "Evaluation job ");
		summary_escape(&text, e->job.name);
		buf_addstr(&text, ": ");
		summary_escape(&text, e->job.status ? e->job.status : "unknown");
		if (e->job.p_value)
			buf_addf(&text, ", p-value %s", e->job.p_value);
		buf_addstr(&text, ".\n\n");
	}
	summary_escape(&text, d->reason);
	buf_addstr(&text, "\n\nPolicy: ");
	champion_policy_describe(&text, p);
	buf_addstr(&text, ".");
	summary_markdown(sum, text.data);
	summarize_notices(sum, e->notices, e->notices_nr);
	summarize_stages(sum, &e->after, NULL);
	buf_release(&text);
}

static int write_evaluation_outputs(struct ci *ci, const struct model_evaluation *e,
				    const struct champion_policy *p)
{
	struct buf text = BUF_INIT;
	int ret;

	model_evaluation_record(&text, e, p);
	if (!(ret = ci_output(ci, "decision", text.data)) &&
	    !(ret = ci_output(ci, "deploy", e->decision.deploy ? "true" : "false")))
		ret = ci_output(ci, "model-version", e->decision.challenger_version);
	buf_release(&text);
	return ret;
}

/* Decides, tags, reports. */
static int evaluate(struct ci *ci, struct model_evaluate_options *o)
{
	struct model_evaluation e = MODEL_EVALUATION_INIT;
	struct error_saved saved = ERROR_SAVED_INIT;
	int ret;

	ret = model_evaluate_decide(&e, o);
	if (e.job.changed)
		workflow_changing(); /* the evaluation job submitted: no exit 2 after it */
	if (!ret) {
		log_info("%s", e.decision.reason);
		workflow_changing(); /* reconcile and the winner's tag */
		ret = model_evaluate_apply(&e, o);
	}
	error_save(&saved);
	if (!ret && !e.decision.deploy)
		ci_annotate(ci, LOG_WARNING, NULL, "no deployment", e.decision.reason);
	if (e.decision.reason)
		summarize_evaluation(ci, &e, o->policy);
	ret = workflow_outputs_written(ret, e.decision.reason ? write_evaluation_outputs(ci, &e,
				       o->policy) : 0, &saved);
	model_evaluation_release(&e);
	return ret;
}

static int run_evaluate(struct ci *ci)
{
	const struct ci_context *c = ci_context(ci);
	struct champion_policy policy = CHAMPION_POLICY_INIT;
	struct model_evaluate_options o;
	struct session session;
	struct buf url = BUF_INIT, job = BUF_INIT;
	int ret, force = 0;

	memset(&o, 0, sizeof(o));
	if ((ret = read_policy(ci, &policy, &force, &o.evaluation_job_file)) ||
	    (ret = read_timeout(ci, &o.timeout_s)) ||
	    (ret = ci_input(ci, "model-name", &o.model)) ||
	    (ret = ci_input(ci, "model-version", &o.version)) ||
	    (ret = ci_input(ci, "endpoint-name", &o.endpoint)) ||
	    (ret = session_open(&session, ci))) {
		champion_policy_release(&policy);
		return ret;
	}
	http_client_set_stop(session.http, workflow_stop_flag());
	run_url(&url, ci);
	o.aml = &session.aml;
	o.http = session.http;
	o.tokens = session.tokens;
	o.policy = &policy;
	o.force = force;
	o.actor = c->actor;
	o.commit = c->sha;
	o.run_url = url.data;
	if (*o.evaluation_job_file) {
		ci_workspace_path(ci, &job, o.evaluation_job_file);
		o.evaluation_job = job.data;
	}
	o.origin = (struct job_origin){ c->repository, c->sha, c->run_id, c->run_attempt, c->job };
	o.stop = workflow_stop_flag();
	o.on_line = job_line;
	ret = evaluate(ci, &o);
	session_close(&session);
	champion_policy_release(&policy);
	buf_release(&url);
	buf_release(&job);
	return ret;
}

/* ---- stages deploy and rollback ---- */

/* A share: "1%" or a fraction "0.01", within [0, 1]. */
static int read_rate(struct ci *ci, const char *name, double *out)
{
	const char *text;
	size_t len;
	int ret;

	if ((ret = ci_input(ci, name, &text)))
		return ret;
	len = strlen(text);
	if (len && text[len - 1] == '%') {
		ret = metric_number_parse(out, text, len - 1);
		*out /= 100;
	} else {
		ret = metric_number_parse(out, text, len);
	}
	if (ret || !isfinite(*out) || *out < 0 || *out > 1)
		return error_set(ERR_INPUT, "Input %s: '%s' is not a share between 0 and 1 "
				 "(0.01) or 0%% and 100%% (1%%)", name, text);
	return 0;
}

/* A non-negative number of minutes, fractions allowed ("0.5"), in seconds. */
static int read_minutes(struct ci *ci, const char *name, long *seconds)
{
	const char *text;
	double m;
	int ret;

	if ((ret = ci_input(ci, name, &text)))
		return ret;
	if (metric_number_parse(&m, text, strlen(text)) || !isfinite(m) || m < 0 || m > 24 * 60)
		return error_set(ERR_INPUT, "Input %s: '%s' is not a number of minutes (0 to 1440)",
				 name, text);
	*seconds = lround(m * 60);
	return 0;
}

/* The rollout's own inputs. */
static int read_rollout(struct ci *ci, struct model_deploy_options *o)
{
	const char *mode, *steps;
	long mirror, latency;
	int ret;

	if ((ret = ci_input(ci, "rollout", &mode)) || (ret = ci_input(ci, "traffic-steps", &steps)) ||
	    (ret = ci_input_int(ci, "mirror-percent", 0, ROLLOUT_MIRROR_MAX, &mirror)) ||
	    (ret = ci_input_int(ci, "max-latency-ms", 0, 3600 * 1000, &latency)) ||
	    (ret = read_timeout(ci, &o->timeout_s)) ||
	    (ret = read_minutes(ci, "bake-minutes", &o->bake_seconds)) ||
	    (ret = read_rate(ci, "max-error-rate", &o->max_error_rate)) ||
	    (ret = ci_input_bool(ci, "keep-previous", &o->keep_previous)))
		return ret;
	if (strcmp(mode, "safe") && strcmp(mode, "direct"))
		return error_set(ERR_INPUT, "Input rollout: '%s' is not safe or direct", mode);
	o->mode = strcmp(mode, "safe") ? ROLLOUT_DIRECT : ROLLOUT_SAFE;
	if (o->mode == ROLLOUT_SAFE && o->bake_seconds < 1)
		return error_set(ERR_INPUT, "Input bake-minutes: a safe rollout watches each step "
				 "for at least a second (0.02)");
	o->mirror_percent = (int)mirror;
	o->max_latency_ms = (double)latency;
	return rollout_steps_parse(&o->steps, steps);
}

/* A path input resolved in the workspace, kept in `store`. */
static int read_path(struct ci *ci, const char *name, struct buf *store, const char **out)
{
	const char *rel;
	int ret;

	*out = NULL;
	if ((ret = ci_input(ci, name, &rel)) || !*rel)
		return ret;
	ci_workspace_path(ci, store, rel);
	*out = store->data;
	return 0;
}

struct deploy_inputs {
	struct model_deploy_options o;
	struct buf yaml, smoke, expect, url;
};

static void deploy_inputs_release(struct deploy_inputs *in)
{
	buf_release(&in->yaml);
	buf_release(&in->smoke);
	buf_release(&in->expect);
	buf_release(&in->url);
}

static int read_deploy(struct ci *ci, struct deploy_inputs *in)
{
	const struct ci_context *c = ci_context(ci);
	struct model_deploy_options *o = &in->o;
	int ret;

	memset(in, 0, sizeof(*in));
	if ((ret = ci_input(ci, "model-name", &o->model)) ||
	    (ret = ci_input(ci, "model-version", &o->version)) ||
	    (ret = ci_input(ci, "endpoint-name", &o->endpoint)) ||
	    (ret = read_path(ci, "deployment", &in->yaml, &o->deployment_yaml)) ||
	    (ret = read_path(ci, "smoke-request", &in->smoke, &o->smoke_request)) ||
	    (ret = read_path(ci, "smoke-expect", &in->expect, &o->smoke_expect)) ||
	    (ret = read_rollout(ci, o)))
		return ret;
	if (!*o->endpoint)
		return error_set(ERR_INPUT, "Input required and not supplied: endpoint-name");
	if (!o->deployment_yaml || !o->smoke_request)
		return error_set(ERR_INPUT, "Inputs deployment and smoke-request name files");
	run_url(&in->url, ci);
	o->workspace_root = fs_workspace();
	o->commit = c->sha;
	o->repository = c->repository;
	o->run_url = in->url.data;
	o->stop = workflow_stop_flag();
	return 0;
}

/* "blue 90%, green 10%", or "none". */
static void traffic_text(struct buf *out, const struct rollout_map *m)
{
	size_t i;

	for (i = 0; i < m->nr; i++)
		buf_addf(out, "%s%s %d%%", i ? ", " : "", m->items[i].deployment, m->items[i].percent);
	if (!m->nr)
		buf_addstr(out, "none");
}

static void summarize_steps(struct summary *sum, const struct rollout_report *r)
{
	static const char *const head[] = { "Step", "Traffic", "Requests", "4xx", "5xx and 424",
					    "P90 ms", "Verdict" };
	char n[5][32];
	size_t i;

	if (!r->steps_nr)
		return;
	summary_table_begin(sum, head, 7);
	for (i = 0; i < r->steps_nr; i++) {
		const struct rollout_step *s = &r->steps[i];
		struct buf traffic = BUF_INIT;
		const char *row[7];

		if (s->mirror_percent)
			buf_addf(&traffic, "mirror %d%%", s->mirror_percent);
		else
			traffic_text(&traffic, &s->traffic);
		snprintf(n[0], sizeof(n[0]), "%zu", i + 1);
		snprintf(n[1], sizeof(n[1]), "%ld", s->health.requests);
		snprintf(n[2], sizeof(n[2]), "%ld", s->health.errors_4xx);
		snprintf(n[3], sizeof(n[3]), "%ld", s->health.errors_5xx);
		if (s->health.p90_ms >= 0)
			snprintf(n[4], sizeof(n[4]), "%.0f", s->health.p90_ms);
		else
			snprintf(n[4], sizeof(n[4]), "-");
		row[0] = n[0];
		row[1] = traffic.data;
		row[2] = s->have_health ? n[1] : "-";
		row[3] = s->have_health ? n[2] : "-";
		row[4] = s->have_health ? n[3] : "-";
		row[5] = s->have_health ? n[4] : "-";
		row[6] = s->breached ? s->reason : "ok";
		summary_table_row(sum, row, 7);
		buf_release(&traffic);
	}
	summary_table_end(sum);
}

/* Before and after, the smoke test. */
static void summarize_traffic(struct summary *sum, const struct rollout_report *r)
{
	struct buf text = BUF_INIT;

	buf_addstr(&text, "Traffic before: ");
	traffic_text(&text, &r->before);
	buf_addstr(&text, "; after: ");
	traffic_text(&text, &r->after);
	buf_addstr(&text, ".");
	if (r->smoked)
		buf_addf(&text, " Smoke test: HTTP %d in %ld ms%s.", r->smoke.status,
			 r->smoke.latency_ms, r->smoke.passed ? "" : ", failed");
	summary_markdown(sum, text.data);
	buf_release(&text);
}

/* Why it failed, what to change, the logs' tail; an annotation at the
 * deployment YAML's line at fault. */
static void summarize_diagnosis(struct ci *ci, const struct model_deploy *d)
{
	const struct deploy_diagnosis *g = &d->diagnosis;
	struct error_location where = { d->o.deployment_yaml, 0, 0 };
	struct summary *sum = ci_summary(ci);
	struct buf text = BUF_INIT;

	summary_heading(sum, 4, "Diagnosis");
	buf_addf(&text, "**%s**: %s\n\nFix: %s", g->name, g->why, g->fix);
	if (g->detail)
		buf_addstr(&text, "\n\nFrom the logs:");
	summary_markdown(sum, text.data);
	if (g->detail)
		summary_code(sum, NULL, g->detail);
	if (d->logs.len) {
		summary_details_begin(sum, "Container logs (tail)");
		summary_code(sum, NULL, d->logs.data);
		summary_details_end(sum);
	}
	where.line = g->field ? online_yaml_line(&d->yaml, g->field) : 0;
	buf_reset(&text);
	buf_addf(&text, "%s: %s", g->name, g->fix);
	ci_annotate(ci, LOG_ERROR, where.line ? &where : NULL, "deployment", text.data);
	buf_release(&text);
}

static void summarize_deploy(struct ci *ci, const struct model_deploy *d, const char *title)
{
	const struct rollout_report *r = &d->report;
	struct summary *sum = ci_summary(ci);
	struct buf text = BUF_INIT;

	summary_heading(sum, 3, title);
	buf_addstr(&text, "Model `");
	summary_escape(&text, d->o.model);
	buf_addf(&text, "` version **%s** on endpoint `", model_deploy_version(d) ?
		 model_deploy_version(d) : "?");
	summary_escape(&text, d->o.endpoint);
	buf_addf(&text, "`, deployment `%s`", r->deployment ? r->deployment : d->deployment);
	if (r->noop)
		buf_addstr(&text, " (already serving everything: nothing done)");
	else if (r->attached)
		buf_addstr(&text, " (created by an earlier run, reused)");
	if (d->redeployed)
		buf_addstr(&text, " (no previous deployment kept: redeployed)");
	buf_addstr(&text, ".");
	summary_markdown(sum, text.data);
	summarize_traffic(sum, r);
	summarize_steps(sum, r);
	if (d->diagnosed)
		summarize_diagnosis(ci, d);
	summarize_notices(sum, d->notices, d->notices_nr);
	summarize_stages(sum, &d->after, &d->model);
	buf_release(&text);
}

static int write_deploy_outputs(struct ci *ci, const struct model_deploy *d)
{
	const struct rollout_report *r = &d->report;
	const char *v[][2] = {
		{ "endpoint", d->o.endpoint }, { "deployment", r->deployment },
		{ "scoring-uri", r->scoring_uri }, { "model-version", d->version },
		{ "previous-deployment", r->previous },
	};
	size_t i;
	int ret = 0;

	for (i = 0; i < sizeof(v) / sizeof(v[0]) && !ret; i++)
		if (v[i][1])
			ret = ci_output(ci, v[i][0], v[i][1]);
	return ret;
}

/* A failed deployment's logs as an artifact, named after the deployment:
 * one workflow run may fail several. */
static void upload_logs(struct ci *ci, const struct model_deploy *d)
{
	struct buf dir = BUF_INIT, file = BUF_INIT, artifact = BUF_INIT;
	const char *name;

	if (!d->logs.len || ci_input(ci, "log-artifact", &name) || !*name) {
		error_clear();
		return;
	}
	buf_addf(&artifact, "%s-%s", name, d->deployment);
	if (!ci_artifact_folder(ci, "deployment-logs", &dir)) {
		buf_addf(&file, "%s/%s.log", dir.data, d->deployment);
		if (fs_write_file(file.data, d->logs.data, d->logs.len) ||
		    ci_upload_artifact(ci, artifact.data, dir.data, NULL))
			log_warning("deployment logs not uploaded: %s", error_message());
	}
	error_clear();
	ci_artifact_folder_done(ci, dir.data);
	buf_release(&dir);
	buf_release(&file);
	buf_release(&artifact);
}

/* Reads the repository, then the workspace, then deploys (or rolls back). */
static int deploy(struct ci *ci, struct deploy_inputs *in, int rollback)
{
	struct model_deploy d;
	struct session session;
	struct error_saved saved = ERROR_SAVED_INIT;
	int ret;

	model_deploy_init(&d, &in->o);
	if ((ret = model_deploy_load(&d)) || (ret = session_open(&session, ci))) {
		model_deploy_release(&d);
		return ret;
	}
	http_client_set_stop(session.http, workflow_stop_flag());
	d.o.aml = &session.aml;
	d.o.http = session.http;
	d.o.tokens = session.tokens;
	if (rollback || !(ret = model_deploy_prepare(&d))) {
		workflow_changing();
		ret = rollback ? model_deploy_rollback(&d) : model_deploy_run(&d);
	}
	/* Saved first: reporting may meet (and clear) errors of its own. */
	error_save(&saved);
	if (d.report.endpoint || d.diagnosed)
		summarize_deploy(ci, &d, rollback ? "Rollback" : "Deployment");
	if (d.diagnosed)
		upload_logs(ci, &d);
	ret = workflow_outputs_written(ret, write_deploy_outputs(ci, &d), &saved);
	model_deploy_release(&d);
	session_close(&session);
	return ret;
}

static int run_deploy(struct ci *ci, int rollback)
{
	struct deploy_inputs in;
	int ret;

	if (!(ret = read_deploy(ci, &in)))
		ret = deploy(ci, &in, rollback);
	deploy_inputs_release(&in);
	return ret;
}

/* ---- stage history ---- */

static int history(struct ci *ci, struct session *s, const char *model)
{
	struct stage_model m = STAGE_MODEL_INIT;
	struct stage_timeline t = STAGE_TIMELINE_INIT;
	struct summary *sum = ci_summary(ci);
	struct buf text = BUF_INIT;
	int ret;

	if ((ret = stage_load(&m, &s->aml, model)))
		goto done;
	stage_timeline_build(&t, &m);
	stage_timeline_write(&text, &t);
	if (!t.nr)
		buf_addf(&text, "model %s has no stage history yet\n", model);
	log_info("%s", text.data);
	summary_heading(sum, 3, "Stage history");
	summary_code(sum, NULL, text.data);
	summarize_stages(sum, &m, NULL);
done:
	stage_timeline_release(&t);
	stage_model_release(&m);
	buf_release(&text);
	return ret;
}

static int run_history(struct ci *ci)
{
	struct session session;
	const char *model;
	int ret;

	if ((ret = ci_input(ci, "model-name", &model)) || (ret = session_open(&session, ci)))
		return ret;
	ret = history(ci, &session, model);
	session_close(&session);
	return ret;
}

static int run(struct ci *ci)
{
	const char *stage, *v;
	int ret, history;

	/* The inputs every stage needs, first, so a missing one is named
	 * before a stage's own. */
	if ((ret = ci_input(ci, "resource-group", &v)) || (ret = ci_input(ci, "workspace-name", &v)) ||
	    (ret = ci_input(ci, "model-name", &v)) || (ret = ci_input(ci, "stage", &stage)) ||
	    (ret = ci_input_bool(ci, "history", &history)))
		return ret;
	if (history || !strcmp(stage, "history"))
		return run_history(ci);
	if (!strcmp(stage, "evaluate"))
		return run_evaluate(ci);
	if (!strcmp(stage, "deploy") || !strcmp(stage, "rollback"))
		return run_deploy(ci, !strcmp(stage, "rollback"));
	return error_set(ERR_INPUT, "Input stage: '%s' is not evaluate, deploy, rollback or history",
			 stage);
}
