#ifndef MLOPS_CHAMPION_H
#define MLOPS_CHAMPION_H

#include <cjson/cJSON.h>

#include "azure/aml.h"
#include "azure/aml_model.h"
#include "azure/token.h"
#include "core/buf.h"
#include "core/http.h"
#include "mlops/production.h"

/*
 * Model-CD's first stage: champion against challenger. The champion is the
 * version of the model tagged stage=production (mlops/production.h), the
 * challenger the version asked for (by default the latest); each one's
 * metric comes from the MLflow run of the job that trained it (its
 * jobName). A promotion policy says which metric, which way is better and
 * by how much the challenger must win. The decision is pure (testable
 * without Azure) and changes nothing; moving the tag is the next stage's.
 */

enum champion_direction { CHAMPION_MAXIMIZE, CHAMPION_MINIMIZE };

/* The promotion policy, as the inputs wrote it. Every string is owned. */
struct champion_policy {
	char *metric;                 /* an MLflow metric key */
	enum champion_direction direction;
	double min_delta;             /* absolute, or a percentage when `relative` */
	int relative;                 /* min-delta "1%": 1% of |champion's value| */
	char *min_delta_text;         /* as written, trimmed: "0.01", "1%" ("0" by default) */
	int have_max_p;               /* max-p-value given */
	double max_p_value;           /* in [0, 1] */
	char *max_p_value_text;       /* NULL when not given */
};
#define CHAMPION_POLICY_INIT { NULL, CHAMPION_MAXIMIZE, 0, 0, NULL, 0, 0, NULL }
void champion_policy_release(struct champion_policy *p);

/*
 * Reads the policy inputs into `out` (released first): `metric` required
 * (printable, at most METRIC_KEY_MAX bytes); `direction` "maximize" or
 * "minimize" (NULL or "": maximize); `min_delta` a finite decimal number,
 * or one followed by '%' for a share of the champion's value (NULL or "":
 * 0, so a tie goes to the challenger); `max_p_value` NULL or "" for none,
 * else a number in [0, 1]. White space around each is ignored. ERR_INPUT
 * naming the input ("Input min-delta: '5%x' is not a number or a
 * percentage"); `out` is then empty.
 */
int champion_policy_parse(struct champion_policy *out, const char *metric, const char *direction,
			  const char *min_delta, const char *max_p_value);

/* "maximize" or "minimize". */
const char *champion_direction_name(enum champion_direction d);

/* Appends the policy in words: "the higher auc wins; the challenger must
 * beat the champion by at least 0.01" ("by at least 1% of the champion's
 * value"; "and its p-value must be at most 0.05"). */
void champion_policy_describe(struct buf *out, const struct champion_policy *p);

/* One side of the comparison; every pointer borrowed; `version` required. */
struct champion_candidate {
	const char *version;
	/* The metric's value as MLflow gives it: a decimal number, or "NaN",
	 * "Infinity", "-Infinity"; NULL when not logged. */
	const char *value;
	/* Why `value` is NULL, in words, when known beyond "not logged":
	 * "version 7 names no training job", "run X not read: ...". */
	const char *missing;
	/* The p-value of the comparison (an evaluation job's), as `value`;
	 * NULL when none. Read on the challenger only. */
	const char *p_value;
};

enum champion_winner {
	CHAMPION_WINNER_NONE,         /* no champion and a challenger that cannot win */
	CHAMPION_WINNER_CHALLENGER,
	CHAMPION_WINNER_CHAMPION,
};

/* "challenger", "champion", or NULL for none. */
const char *champion_winner_name(enum champion_winner w);

/* The decision; owns copies of what it was decided on. */
struct champion_decision {
	enum champion_winner winner;  /* forced: the challenger */
	enum champion_winner policy_winner; /* what the policy alone said */
	int deploy;                   /* the challenger is to be promoted */
	int same_version;             /* the challenger is the version in production */
	int have_delta;               /* both values finite */
	double delta;                 /* the challenger's improvement, in the metric's units:
				       * challenger - champion when maximizing, champion -
				       * challenger when minimizing (negative: worse) */
	double required;              /* min-delta in the metric's units (relative: resolved) */
	int forced;
	char *actor;                  /* who forced it; NULL when not forced */
	char *reason;                 /* in words, never NULL */
	int have_champion;
	char *champion_version, *champion_value;     /* value NULL: not logged */
	char *challenger_version, *challenger_value;
};
#define CHAMPION_DECISION_INIT { 0 }
void champion_decision_release(struct champion_decision *d);

/*
 * Decides (`out` released first). `champion` NULL: nothing in production.
 * The challenger wins when its value and the champion's are finite numbers
 * and its improvement (see `delta`) is at least the policy's min-delta
 * (relative: pct% of |champion's value|), comparing with a tolerance of a
 * few units in the last place so that "exactly at min-delta" as written
 * in decimal wins; and, with max-p-value, when its p-value is a finite
 * number at most that. Otherwise, in words in `reason`:
 *   - the challenger is the version in production: the champion stays,
 *     nothing to deploy;
 *   - the challenger's value is missing, NaN, infinite or not a number: it
 *     cannot win (with no champion, no one wins: nothing to deploy);
 *   - no champion: the challenger wins by default (first deployment);
 *   - the champion's value is missing or not finite: the challenger wins,
 *     the reason says the champion has no value to beat;
 *   - max-p-value and no p-value, or one above it: the champion stays.
 * `force`: the challenger is promoted whatever the policy said (deploy 1,
 * even when it is the version in production: a redeployment), `forced`
 * set with `actor` (NULL or "": "unknown"), and the reason says so before
 * what the policy said.
 */
void champion_decide(struct champion_decision *out, const struct champion_policy *p,
		     const struct champion_candidate *champion,
		     const struct champion_candidate *challenger, int force, const char *actor);

/*
 * The decision record (the caller owns it):
 * {"champion": {"version","value"} or null, "challenger": {"version","value"},
 *  "delta": number or null, "policy": {"metric","direction","min_delta",
 *  "max_p_value"}, "winner": "challenger"|"champion"|null, "forced": bool,
 *  "actor" (only when forced), "reason"}. A value is a number when finite,
 *  the string MLflow writes for NaN/Infinity (or as given, when it is no
 *  number), null when not logged; min_delta is the text as written ("0.01",
 *  "1%"); max_p_value a number or null.
 */
cJSON *champion_decision_json(const struct champion_decision *d, const struct champion_policy *p);

/* ---- gathering from the workspace ---- */

/* What champion_decide is called on, read from Azure ML and MLflow. */
struct champion_gathered {
	struct production_model production;   /* the champion; `found` 0: none */
	char *challenger_version;
	char *challenger_job;                 /* NULL: the version names no training job */
	char *challenger_value, *champion_value; /* full precision; NULL: not logged */
	char *challenger_missing, *champion_missing; /* why, when a value is NULL */
	struct champion_candidate champion, challenger; /* borrow from the above */
	int have_champion;                    /* `champion` is filled */
};
#define CHAMPION_GATHERED_INIT { .production = PRODUCTION_MODEL_INIT }
void champion_gathered_release(struct champion_gathered *g);

/*
 * Reads model `model`'s challenger (version `version`; NULL or "": the
 * latest) and its training run's `metric`, and the champion with
 * production_model_find. A version without a jobName, or whose run cannot
 * be read, is gathered with its value missing and `*_missing` saying why;
 * the candidates are ready for champion_decide (champion: pass
 * `have_champion ? &g->champion : NULL`). Errors: ERR_NOT_FOUND when the
 * model or the challenger version does not exist, those of listing or
 * reading versions otherwise (`out` then holds nothing to decide on).
 */
int champion_gather(struct champion_gathered *out, struct aml *aml, struct http_client *http,
		    struct token_source tokens, const char *model, const char *version,
		    const char *metric);

/* A run metric's value as champion_candidate wants it: the shortest
 * decimal that reads back as the same double, or "NaN", "Infinity",
 * "-Infinity". Appended to `out`. */
void champion_value_text(struct buf *out, double v);

#endif
