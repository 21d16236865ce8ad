/*
 * Champion against challenger (mlops/champion.h): the promotion policy
 * read strictly, the decision made in words, the candidates gathered from
 * the workspace the way the production comparison reads its run.
 */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/champion.h"
#include "mlops/metric_gate.h"
#include "core/banned.h"

/* ---- the policy ---- */

void champion_policy_release(struct champion_policy *p)
{
	free(p->metric);
	free(p->min_delta_text);
	free(p->max_p_value_text);
	memset(p, 0, sizeof(*p));
}

const char *champion_direction_name(enum champion_direction d)
{
	return d == CHAMPION_MINIMIZE ? "minimize" : "maximize";
}

static int input_error(const char *input, const char *value, const char *why)
{
	struct buf q = BUF_INIT;
	int ret;

	excerpt_add(&q, value);
	ret = error_set(ERR_INPUT, "Input %s: '%s' %s", input, q.data, why);
	buf_release(&q);
	return ret;
}

/* `s` without the white space around it, as [*start, *start + *len). */
static void trimmed(const char **start, size_t *len, const char *s)
{
	*start = s ? s : "";
	while (isspace((unsigned char)**start))
		(*start)++;
	*len = strlen(*start);
	while (*len && isspace((unsigned char)(*start)[*len - 1]))
		(*len)--;
}

static int parse_metric(struct champion_policy *out, const char *metric)
{
	const char *s;
	size_t len, i;

	trimmed(&s, &len, metric);
	if (!len)
		return error_set(ERR_INPUT, "Input required and not supplied: metric");
	if (len > METRIC_KEY_MAX)
		return input_error("metric", s, "is longer than 250 characters");
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return input_error("metric", s, "holds a control character");
	out->metric = xstrndup(s, len);
	return 0;
}

static int parse_direction(struct champion_policy *out, const char *direction)
{
	const char *s;
	size_t len;

	trimmed(&s, &len, direction);
	if (!len || (len == 8 && !memcmp(s, "maximize", 8)))
		out->direction = CHAMPION_MAXIMIZE;
	else if (len == 8 && !memcmp(s, "minimize", 8))
		out->direction = CHAMPION_MINIMIZE;
	else
		return input_error("direction", s, "is not maximize or minimize");
	return 0;
}

/* "0.01", "-0.5", "1%", "2.5 %". */
static int parse_min_delta(struct champion_policy *out, const char *min_delta)
{
	const char *s;
	size_t len, n;

	trimmed(&s, &len, min_delta);
	if (!len) {
		out->min_delta_text = xstrdup("0");
		return 0;
	}
	n = len;
	if (s[n - 1] == '%') {
		out->relative = 1;
		for (n--; n && isspace((unsigned char)s[n - 1]); n--)
			;
	}
	if (metric_number_parse(&out->min_delta, s, n))
		return input_error("min-delta", s, "is not a number or a percentage");
	out->min_delta_text = xstrndup(s, len);
	return 0;
}

static int parse_max_p(struct champion_policy *out, const char *max_p_value)
{
	const char *s;
	size_t len;

	trimmed(&s, &len, max_p_value);
	if (!len)
		return 0;
	if (metric_number_parse(&out->max_p_value, s, len) || out->max_p_value < 0 ||
	    out->max_p_value > 1)
		return input_error("max-p-value", s, "is not a number between 0 and 1");
	out->have_max_p = 1;
	out->max_p_value_text = xstrndup(s, len);
	return 0;
}

int champion_policy_parse(struct champion_policy *out, const char *metric, const char *direction,
			  const char *min_delta, const char *max_p_value)
{
	int ret;

	champion_policy_release(out);
	if ((ret = parse_metric(out, metric)) || (ret = parse_direction(out, direction)) ||
	    (ret = parse_min_delta(out, min_delta)) || (ret = parse_max_p(out, max_p_value)))
		champion_policy_release(out);
	return ret;
}

void champion_policy_describe(struct buf *out, const struct champion_policy *p)
{
	buf_addf(out, "the %s %s wins; the challenger must beat the champion by at least ",
		 p->direction == CHAMPION_MINIMIZE ? "lower" : "higher", p->metric);
	if (p->relative)
		buf_addf(out, "%s of the champion's value", p->min_delta_text);
	else
		buf_addstr(out, p->min_delta_text);
	if (p->have_max_p)
		buf_addf(out, ", and its p-value must be at most %s", p->max_p_value_text);
}

/* ---- the decision ---- */

const char *champion_winner_name(enum champion_winner w)
{
	switch (w) {
	case CHAMPION_WINNER_CHALLENGER: return "challenger";
	case CHAMPION_WINNER_CHAMPION: return "champion";
	default: return NULL;
	}
}

void champion_decision_release(struct champion_decision *d)
{
	free(d->actor);
	free(d->reason);
	free(d->champion_version);
	free(d->champion_value);
	free(d->challenger_version);
	free(d->challenger_value);
	memset(d, 0, sizeof(*d));
}

enum value_kind { VALUE_MISSING, VALUE_FINITE, VALUE_NOT_FINITE, VALUE_NOT_A_NUMBER };

/* What a value as MLflow writes it holds. */
static enum value_kind read_value(double *out, const char *text)
{
	*out = 0;
	if (!text)
		return VALUE_MISSING;
	if (!strcmp(text, "NaN") || !strcmp(text, "Infinity") || !strcmp(text, "-Infinity"))
		return VALUE_NOT_FINITE;
	return metric_number_parse(out, text, strlen(text)) ? VALUE_NOT_A_NUMBER : VALUE_FINITE;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* "challenger 7 auc 0.812" */
static void side(struct buf *out, const char *role, const struct champion_candidate *c,
		 const char *metric)
{
	buf_addf(out, "%s %s %s %s", role, c->version, metric, c->value);
}

/* Why a value cannot count, after "<role> <version> ": "has no auc value
 * (not logged)", "auc is NaN, not a finite number", "auc is 'x', not a number". */
static void unusable(struct buf *out, enum value_kind k, const struct champion_candidate *c,
		     const char *metric)
{
	if (k == VALUE_MISSING) {
		buf_addf(out, "has no %s value (%s)", metric, c->missing ? c->missing : "not logged");
	} else if (k == VALUE_NOT_FINITE) {
		buf_addf(out, "%s is %s, not a finite number", metric, c->value);
	} else {
		buf_addf(out, "%s is '", metric);
		excerpt_add(out, c->value);
		buf_addstr(out, "', not a number");
	}
}

/* "min-delta 0.01", "min-delta 1% of 0.797 (0.00797)" */
static void min_delta_words(struct buf *out, const struct champion_policy *p,
			    const struct champion_candidate *champion, double required)
{
	buf_addf(out, "min-delta %s", p->min_delta_text);
	if (!p->relative)
		return;
	buf_addf(out, " of %s (", champion->value);
	mlflow_value_text(out, required);
	buf_addch(out, ')');
}

/*
 * At least `required`, give or take a few units in the last place of the
 * numbers involved: 0.3 - 0.2 is 0.09999999999999998 in doubles, and a
 * policy of min-delta 0.1 written in decimal means that to win.
 */
static int enough(double delta, double required, double a, double b)
{
	double scale = fmax(fmax(fabs(a), fabs(b)), fabs(required));

	return delta >= required - 8 * DBL_EPSILON * scale;
}

/* The p-value check once the challenger won on the metric; 1 when it holds. */
static int p_value_holds(struct buf *why, const struct champion_policy *p,
			 const struct champion_candidate *challenger)
{
	double v;
	enum value_kind k;

	if (!p->have_max_p)
		return 1;
	k = read_value(&v, challenger->p_value);
	if (k == VALUE_FINITE && v <= p->max_p_value) {
		buf_addf(why, "; p-value %s <= max-p-value %s", challenger->p_value,
			 p->max_p_value_text);
		return 1;
	}
	if (k == VALUE_MISSING)
		buf_addf(why, ", but there is no p-value (max-p-value %s needs one)",
			 p->max_p_value_text);
	else if (k == VALUE_FINITE)
		buf_addf(why, ", but its p-value %s > max-p-value %s: not significant",
			 challenger->p_value, p->max_p_value_text);
	else
		buf_addstr(why, ", but its p-value is not a finite number");
	return 0;
}

/* Both values finite: the comparison itself. */
static void compare(struct champion_decision *out, struct buf *why,
		    const struct champion_policy *p, const struct champion_candidate *champion,
		    const struct champion_candidate *challenger, double mine, double theirs)
{
	int won;

	out->have_delta = 1;
	out->delta = p->direction == CHAMPION_MINIMIZE ? theirs - mine : mine - theirs;
	out->required = p->relative ? p->min_delta / 100 * fabs(theirs) : p->min_delta;
	won = enough(out->delta, out->required, mine, theirs);
	side(why, "challenger", challenger, p->metric);
	if (won || out->delta >= 0) {
		buf_addstr(why, won ? " beats " : " does not beat ");
		side(why, "champion", champion, p->metric);
		buf_addstr(why, won ? " by " : " by enough: ");
		mlflow_value_text(why, out->delta);
	} else {
		buf_addstr(why, " is worse than ");
		side(why, "champion", champion, p->metric);
		buf_addstr(why, " by ");
		mlflow_value_text(why, -out->delta);
		buf_addstr(why, " (delta ");
		mlflow_value_text(why, out->delta);
		buf_addch(why, ')');
	}
	buf_addstr(why, won ? " >= " : " < ");
	min_delta_words(why, p, champion, out->required);
	if (won && p_value_holds(why, p, challenger))
		out->policy_winner = CHAMPION_WINNER_CHALLENGER;
	else
		buf_addf(why, ": champion %s stays", champion->version);
}

/* What the policy alone says, into out->policy_winner and `why`. */
static void by_policy(struct champion_decision *out, struct buf *why,
		      const struct champion_policy *p, const struct champion_candidate *champion,
		      const struct champion_candidate *challenger)
{
	double mine, theirs;
	enum value_kind km = read_value(&mine, challenger->value);
	enum value_kind kt = champion ? read_value(&theirs, champion->value) : VALUE_MISSING;

	out->policy_winner = CHAMPION_WINNER_CHAMPION;
	if (champion && !strcmp(champion->version, challenger->version)) {
		out->same_version = 1;
		buf_addf(why, "challenger %s is the version already in production: nothing to deploy",
			 challenger->version);
	} else if (km != VALUE_FINITE) {
		buf_addf(why, "challenger %s ", challenger->version);
		unusable(why, km, challenger, p->metric);
		buf_addstr(why, ": it cannot win");
		if (champion)
			buf_addf(why, "; champion %s stays", champion->version);
		else
			buf_addstr(why, ", and no version is in production: nothing to deploy");
		if (!champion)
			out->policy_winner = CHAMPION_WINNER_NONE;
	} else if (!champion) {
		out->policy_winner = CHAMPION_WINNER_CHALLENGER;
		buf_addstr(why, "no version of the model is in production: ");
		side(why, "challenger", challenger, p->metric);
		buf_addstr(why, " wins by default (first deployment)");
	} else if (kt != VALUE_FINITE) {
		out->policy_winner = CHAMPION_WINNER_CHALLENGER;
		buf_addf(why, "champion %s ", champion->version);
		unusable(why, kt, champion, p->metric);
		buf_addstr(why, ": ");
		side(why, "challenger", challenger, p->metric);
		buf_addstr(why, " wins, with no champion value to beat");
	} else {
		compare(out, why, p, champion, challenger, mine, theirs);
	}
}

static void keep_candidates(struct champion_decision *out,
			    const struct champion_candidate *champion,
			    const struct champion_candidate *challenger)
{
	out->have_champion = !!champion;
	if (champion) {
		out->champion_version = xstrdup(champion->version);
		out->champion_value = dup_or_null(champion->value);
	}
	out->challenger_version = xstrdup(challenger->version);
	out->challenger_value = dup_or_null(challenger->value);
}

void champion_decide(struct champion_decision *out, const struct champion_policy *p,
		     const struct champion_candidate *champion,
		     const struct champion_candidate *challenger, int force, const char *actor)
{
	struct buf why = BUF_INIT, policy = BUF_INIT;

	champion_decision_release(out);
	keep_candidates(out, champion, challenger);
	by_policy(out, &policy, p, champion, challenger);
	out->winner = out->policy_winner;
	out->deploy = out->winner == CHAMPION_WINNER_CHALLENGER;
	if (force) {
		out->forced = 1;
		out->actor = xstrdup(actor && *actor ? actor : "unknown");
		out->winner = CHAMPION_WINNER_CHALLENGER;
		out->deploy = 1;
		buf_addf(&why, "forced by %s: ", out->actor);
	}
	buf_add(&why, policy.data, policy.len);
	if (force && out->policy_winner != CHAMPION_WINNER_CHALLENGER)
		buf_addf(&why, "; challenger %s is %s anyway", challenger->version,
			 out->same_version ? "redeployed" : "promoted");
	out->reason = buf_detach(&why, NULL);
	buf_release(&policy);
}

/* A value for the record: a number when finite, the text otherwise
 * ("NaN", or what was given), null when not logged. */
static cJSON *value_json(const char *text)
{
	double v;
	enum value_kind k = read_value(&v, text);

	if (k == VALUE_MISSING)
		return cJSON_CreateNull();
	if (k == VALUE_FINITE)
		return cJSON_CreateNumber(v);
	return cJSON_CreateString(text);
}

static void add_item(cJSON *parent, const char *key, cJSON *item)
{
	if (!item)
		abort();
	cJSON_AddItemToObject(parent, key, item);
}

static void add_candidate(cJSON *parent, const char *key, const char *version, const char *value)
{
	cJSON *c = json_add_object(parent, key);

	json_add_string(c, "version", version);
	add_item(c, "value", value_json(value));
}

cJSON *champion_decision_json(const struct champion_decision *d, const struct champion_policy *p)
{
	cJSON *o = json_new_object(), *policy;
	const char *winner = champion_winner_name(d->winner);

	if (d->have_champion)
		add_candidate(o, "champion", d->champion_version, d->champion_value);
	else
		add_item(o, "champion", cJSON_CreateNull());
	add_candidate(o, "challenger", d->challenger_version, d->challenger_value);
	add_item(o, "delta", d->have_delta ? mlflow_value_json(d->delta) : cJSON_CreateNull());
	policy = json_add_object(o, "policy");
	json_add_string(policy, "metric", p->metric);
	json_add_string(policy, "direction", champion_direction_name(p->direction));
	json_add_string(policy, "min_delta", p->min_delta_text);
	add_item(policy, "max_p_value",
		 p->have_max_p ? cJSON_CreateNumber(p->max_p_value) : cJSON_CreateNull());
	add_item(o, "winner", winner ? cJSON_CreateString(winner) : cJSON_CreateNull());
	json_add_bool(o, "forced", d->forced);
	if (d->forced)
		json_add_string(o, "actor", d->actor);
	json_add_string(o, "reason", d->reason);
	return o;
}

/* ---- gathering ---- */

void champion_value_text(struct buf *out, double v)
{
	char text[40];
	int digits;

	if (!isfinite(v)) {
		mlflow_value_text(out, v);
		return;
	}
	/* The fewest digits that read back as the same double: the
	 * comparison sees what MLflow stored, the reader a short number. */
	for (digits = 1; digits < 17; digits++) {
		snprintf(text, sizeof(text), "%.*g", digits, v);
		if (strtod(text, NULL) == v)
			break;
	}
	snprintf(text, sizeof(text), "%.*g", digits, v);
	buf_addstr(out, text);
}

void champion_gathered_release(struct champion_gathered *g)
{
	production_model_release(&g->production);
	free(g->challenger_version);
	free(g->challenger_job);
	free(g->challenger_value);
	free(g->champion_value);
	free(g->challenger_missing);
	free(g->champion_missing);
	memset(g, 0, sizeof(*g));
}

/* `metric` of `run` (NULL: not read) into `*value`, or why not into `*missing`. */
static void metric_of(char **value, char **missing, const struct mlflow_run *run,
		      const char *job, const char *metric)
{
	const struct mlflow_metric *m = run ? mlflow_run_metric(run, metric) : NULL;
	struct buf text = BUF_INIT;

	if (m) {
		champion_value_text(&text, m->value);
		*value = buf_detach(&text, NULL);
	} else if (run) {
		*missing = xasprintf("its training run %s did not log it", job);
	}
}

/* The challenger's version and its run's metric. */
static int gather_challenger(struct champion_gathered *out, struct aml *aml,
			     struct http_client *http, struct token_source tokens,
			     const char *model, const char *version, const char *metric)
{
	struct aml_model_version v = { 0 };
	struct mlflow_run run = MLFLOW_RUN_INIT;
	int latest = !version || !*version, ret;

	ret = latest ? aml_model_version_latest(&v, aml, model) :
		aml_model_version_get(&v, aml, model, version);
	if (ret) {
		error_prefix("model %s version %s", model, latest ? "(the latest)" : version);
		goto done;
	}
	out->challenger_version = xstrdup(v.asset.version ? v.asset.version : version ? version : "");
	out->challenger_job = dup_or_null(v.job_name);
	if (!v.job_name) {
		out->challenger_missing = xasprintf("version %s names no training job",
						    out->challenger_version);
	} else if (production_run_read(&run, aml, http, tokens, v.job_name)) {
		out->challenger_missing = xasprintf("its training run %s was not read: %s",
						    v.job_name, error_message());
		error_clear();
	} else {
		metric_of(&out->challenger_value, &out->challenger_missing, &run, v.job_name, metric);
	}
done:
	mlflow_run_release(&run);
	aml_model_version_release(&v);
	return ret;
}

/* The champion's metric, from the run production_model_find read. */
static void gather_champion(struct champion_gathered *out, const char *metric)
{
	const struct production_model *p = &out->production;

	if (!p->job_name)
		out->champion_missing = xasprintf("version %s names no training job", p->version);
	else if (!p->have_run)
		out->champion_missing = xasprintf("its training run %s was not read", p->job_name);
	else
		metric_of(&out->champion_value, &out->champion_missing, &p->run, p->job_name, metric);
	out->champion = (struct champion_candidate){ p->version, out->champion_value,
						     out->champion_missing, NULL };
	out->have_champion = 1;
}

int champion_gather(struct champion_gathered *out, struct aml *aml, struct http_client *http,
		    struct token_source tokens, const char *model, const char *version,
		    const char *metric)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = gather_challenger(out, aml, http, tokens, model, version, metric)))
		goto done;
	if ((ret = production_model_find(&out->production, aml, http, tokens, model)))
		goto done;
	if (out->production.found)
		gather_champion(out, metric);
	out->challenger = (struct champion_candidate){ out->challenger_version,
						       out->challenger_value,
						       out->challenger_missing, NULL };
done:
	if (ret)
		champion_gathered_release(out);
	return ret;
}
