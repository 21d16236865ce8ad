#ifndef MLOPS_STAGE_H
#define MLOPS_STAGE_H

#include <stddef.h>
#include <time.h>

#include "azure/aml.h"
#include "azure/aml_endpoint.h"
#include "azure/aml_model.h"
#include "core/buf.h"

/*
 * The stage machine of Model-CD (issue 11). Each model version carries a
 * `stage` tag (PRODUCTION_TAG of mlops/production.h): staged, unstaged,
 * production, surpassed, or none at all (missing).
 *
 * Invariant at the end of every run: at most one staged and at most one
 * production version per model, the production one being what the
 * endpoint serves. There is no ETag on asset versions, so the tags of a
 * model cannot change atomically: a plan is an ordered list of single-tag
 * writes, ordered so that every prefix of it (a crash after any write)
 * leaves at most one staged and one production (too few, never two):
 * every write that takes a version out of staged/production comes before
 * any write that puts one in, and a swap (production <-> staged) goes
 * through a neutral state. Every run starts with stage_reconcile, which
 * repairs what a crash left, the endpoint's traffic being the truth for
 * production.
 *
 * The pure planners (stage_plan_*) compute the writes; stage_apply makes
 * them, each after re-reading the version (ERR_CONFLICT when its stage is
 * not what the plan expected: someone else moved it; never overwritten)
 * and verified by reading it back.
 *
 * Each write also appends to the version's `stage-history` tag, so "what
 * was in production when" is answered from the registry alone (see
 * STAGE_HISTORY_* below for the encoding).
 */

#define STAGE_TAG "stage"
#define STAGE_HISTORY_TAG "stage-history"

enum stage {
	STAGE_MISSING = 0,   /* no stage tag */
	STAGE_UNSTAGED,
	STAGE_STAGED,
	STAGE_PRODUCTION,
	STAGE_SURPASSED,
	STAGE_OTHER,         /* a tag value that is none of these ("Production"): never counted */
};
#define STAGE_NR (STAGE_OTHER + 1)

/* "staged", ...; "missing" for STAGE_MISSING, "other" for STAGE_OTHER. */
const char *stage_name(enum stage s);
/* The tag value read: NULL is STAGE_MISSING; exact, case-sensitive
 * spellings only (anything else is STAGE_OTHER). */
enum stage stage_parse(const char *tag);

/* ---- history ---- */

/*
 * The `stage-history` tag. Azure ML documents no limit for asset tags;
 * ARM's resource tags stop at 256 characters per value, so the value is
 * kept within STAGE_HISTORY_MAX_LEN. That is too small for ten full run
 * URLs, hence a compact encoding: entries oldest first, separated by ';',
 * each "<from><to><time>,<commit>,<run>" with
 *   from, to  one letter each: m(issing) u(nstaged) s(taged) p(roduction)
 *             x (surpassed);
 *   time      UTC, "YYYYMMDDTHHMMSSZ";
 *   commit    the first 12 hex digits of the commit, or "" when none;
 *   run       the run's number when the URL is a GitHub Actions run
 *             (".../actions/runs/<n>[/...]"; the repository is the
 *             version's `repository` tag), else the URL itself when it is
 *             made of URL characters only (no ';' or ','), else "".
 * Example: "us20261204T184650Z,0123456789ab,7123456789".
 * At most STAGE_HISTORY_MAX entries, fewer (the oldest dropped) when the
 * value would pass STAGE_HISTORY_MAX_LEN: 5 entries of 42 characters (a
 * commit, a 10-digit run number) fit. The history is per version, and a
 * version's life rarely has more moves than that (staged, production,
 * surpassed, back by a rollback); the model's timeline merges them all.
 */
#define STAGE_HISTORY_MAX 10
#define STAGE_HISTORY_MAX_LEN 256

struct stage_event {
	enum stage from, to;     /* never STAGE_OTHER */
	time_t time;             /* UTC */
	char commit[13];         /* lowercase hex, "" when none */
	char run[STAGE_HISTORY_MAX_LEN]; /* run number or URL, "" when none */
};

struct stage_history {
	struct stage_event *items;   /* oldest first */
	size_t nr;
	size_t skipped;              /* entries of the tag that were not understood */
};
#define STAGE_HISTORY_INIT { NULL, 0, 0 }
void stage_history_release(struct stage_history *h);

/* Parses a tag value (NULL: empty). Never fails: the tag is anyone's to
 * write, so an entry that is not understood is skipped and counted. */
void stage_history_parse(struct stage_history *out, const char *tag);
/* Appends the encoding of the newest entries that fit (see above). */
void stage_history_encode(struct buf *out, const struct stage_history *h);
/* Appends an event (copied), keeping at most STAGE_HISTORY_MAX. */
void stage_history_add(struct stage_history *h, const struct stage_event *e);
/* Fills an event; `commit` and `run_url` may be NULL. */
void stage_event_set(struct stage_event *out, enum stage from, enum stage to, time_t when,
		     const char *commit, const char *run_url);

/* ---- the versions of a model, as the planners see them ---- */

struct stage_version {
	char *version;
	enum stage stage;
	char *tag;               /* the raw stage tag; NULL when missing */
	char *created_at;        /* ISO 8601, may be NULL: breaks ties of non-numeric versions */
	char *history;           /* the raw stage-history tag; NULL when none */
	int archived;
};

struct stage_model {
	char *name;
	struct stage_version *v;
	size_t nr;
};
#define STAGE_MODEL_INIT { NULL, NULL, 0 }
void stage_model_release(struct stage_model *m);
/* Copies what the planners need of `nr` versions of model `name`. */
void stage_model_from(struct stage_model *out, const char *name,
		      const struct aml_model_version *v, size_t nr);
/* Adds one version (copied); for tests and callers building a model by hand. */
void stage_model_add(struct stage_model *m, const char *version, enum stage s,
		     const char *created_at);
/* The index of `version`, or -1. */
long stage_model_find(const struct stage_model *m, const char *version);
/* How many versions are in stage `s`. */
size_t stage_model_count(const struct stage_model *m, enum stage s);

/* ---- plans ---- */

struct stage_write {
	char *version;
	enum stage from;         /* what the version must still be at write time */
	enum stage to;
	char *reason;            /* one line for the log and notices */
};

struct stage_plan {
	struct stage_write *writes;
	size_t nr;
	char **warnings;         /* what reconcile saw but did not change */
	size_t warnings_nr;
};
#define STAGE_PLAN_INIT { NULL, 0, NULL, 0 }
void stage_plan_release(struct stage_plan *p);

/*
 * The general planner: the writes taking `m` to `target` (one stage per
 * version of `m`, in its order; STAGE_OTHER means "leave it"), ordered
 * as described at the top. `why` starts each write's reason. ERR_CONFLICT
 * when `target` has two staged or two production versions.
 */
int stage_plan_to(struct stage_plan *out, const struct stage_model *m, const enum stage *target,
		  const char *why);

/* The transitions expect a reconciled model: planned on one with two
 * production versions, the moves that leave production alone
 * (stage_plan_stage) are ERR_CONFLICT, the others repair it on the way. */

/* Evaluation won: `challenger` -> staged, the staged one -> unstaged.
 * ERR_NOT_FOUND for an unknown version; ERR_CONFLICT when the challenger
 * is in production. Already staged: an empty plan. */
int stage_plan_stage(struct stage_plan *out, const struct stage_model *m, const char *challenger);
/* Deployed: the staged `version` -> production, production -> surpassed.
 * The caller plans this only once the new deployment serves. ERR_CONFLICT
 * unless `version` is staged (already production: an empty plan). */
int stage_plan_deploy(struct stage_plan *out, const struct stage_model *m, const char *version);
/* Rollback: `restored` -> production, the production one -> surpassed.
 * ERR_NOT_FOUND for an unknown version. Already production: empty. */
int stage_plan_rollback(struct stage_plan *out, const struct stage_model *m, const char *restored);
/* A rollout breach: every version back to its stage in `before` (the
 * model as read before the run; versions `before` lacks are left). */
int stage_plan_restore(struct stage_plan *out, const struct stage_model *m,
		       const struct stage_model *before);

/* What the endpoint serves of a model. */
enum stage_served {
	STAGE_SERVED_UNKNOWN,    /* no endpoint given, or it could not tell */
	STAGE_SERVED_NONE,       /* the endpoint serves no version of this model */
	STAGE_SERVED_VERSION,    /* it serves `version` */
};

/*
 * Reconcile: repairs what an earlier crash (or a person) left.
 *  - served version known: it is production, every other production
 *    version -> surpassed;
 *  - otherwise several production: the newest stays, others -> surpassed
 *    (a warning when the endpoint serves none of them);
 *  - several staged: the newest stays, others -> unstaged (a staged
 *    version that the endpoint serves becomes production instead).
 * Each write's reason says what it fixed. An empty plan when all is well.
 */
int stage_plan_reconcile(struct stage_plan *out, const struct stage_model *m,
			 enum stage_served served, const char *served_version);

/* Whether `m` keeps the invariant: at most one staged, one production. */
int stage_model_valid(const struct stage_model *m);
/* Applies writes [0, k) of `p` to `m` in memory (the tests' crash points). */
void stage_model_apply_prefix(struct stage_model *m, const struct stage_plan *p, size_t k);

/* ---- endpoint and model ids ---- */

/* The name and version of a deployment's model id: an ARM id
 * ".../models/<name>/versions/<v>" or "azureml:<name>:<v>". Both the
 * caller's. ERR_INPUT for another form. */
int stage_model_ref(char **name, char **version, const char *model_id);

/* What `e` serves of model `model`: the version of the deployment (of
 * `d[0..nr)`) with the largest share of traffic, when its model is
 * `model`. A tie or an unreadable model id is UNKNOWN. `*version` is the
 * caller's (NULL unless VERSION). */
enum stage_served stage_served(char **version, const struct aml_endpoint *e,
			       const struct aml_deployment *d, size_t nr, const char *model);

/* ---- applying ---- */

struct stage_apply_options {
	time_t now;              /* the history's time */
	const char *commit;      /* may be NULL */
	const char *run_url;     /* may be NULL */
};

/*
 * Makes the writes of `p` on model `model`, in order, with a progress
 * line each: re-reads the version and refuses (ERR_CONFLICT naming the
 * version, the stage found and the one expected) when its stage tag is
 * not the write's `from`; sets `stage` and appends to `stage-history`;
 * reads it back and fails (ERR_CONFLICT) when either tag is not what was
 * written. Stops at the first failure: the writes before it stand (the
 * order keeps the invariant) and the next run's reconcile finishes.
 * `done` (may be NULL) receives how many writes were made.
 */
int stage_apply(size_t *done, struct aml *aml, const char *model, const struct stage_plan *p,
		const struct stage_apply_options *o);

/* Lists model `model`'s versions into `out` (ERR_NOT_FOUND passes through). */
int stage_load(struct stage_model *out, struct aml *aml, const char *model);

/*
 * Loads the model, plans the reconcile and applies it. `notices`
 * receives one line per warning and per repair made, even when a later
 * repair failed (the caller's: free each and the array); `m` (may be
 * NULL) the model as it is afterwards, on success only.
 */
int stage_reconcile(char ***notices, size_t *notices_nr, struct stage_model *m,
		    struct aml *aml, const char *model, enum stage_served served,
		    const char *served_version, const struct stage_apply_options *o);

/* ---- timeline ---- */

struct stage_moment {
	const char *version;     /* borrowed from the model */
	struct stage_event event;
	size_t order;            /* the model's version index, then the entry: breaks ties */
};

struct stage_timeline {
	struct stage_moment *items;  /* by time, then version */
	size_t nr;
	size_t skipped;              /* history entries not understood */
};
#define STAGE_TIMELINE_INIT { NULL, 0, 0 }
void stage_timeline_release(struct stage_timeline *t);
/* Every version's history merged, sorted by time (stable). */
void stage_timeline_build(struct stage_timeline *out, const struct stage_model *m);
/* "2026-12-04T18:46:50Z": a moment's time for people (tables, lines). */
#define STAGE_TIME_LEN 21
void stage_time_text(char out[STAGE_TIME_LEN], time_t when);
/* The URL of an event's run: a run number is <server>/<repository>/actions/runs/<n>
 * (server NULL: https://github.com; repository NULL or "": the number
 * alone), a URL is itself. Appended to `out`. */
void stage_run_url(struct buf *out, const char *run, const char *server, const char *repository);
/* One line per moment: "2026-12-04T18:46:50Z  3  staged -> production  commit 0123456789ab  run 7123456789". */
void stage_timeline_write(struct buf *out, const struct stage_timeline *t);
/* The version in production at `when`, from the timeline; NULL when none. */
const char *stage_timeline_production_at(const struct stage_timeline *t, time_t when);

#endif
