#ifndef MLOPS_ROLLOUT_H
#define MLOPS_ROLLOUT_H

#include <stddef.h>
#include <time.h>

#include "azure/aml.h"
#include "azure/aml_endpoint.h"
#include "core/buf.h"

/*
 * Model-CD stage 2: a model version onto a managed online endpoint.
 *
 * Safe rollout (the default): the new deployment is created at 0% traffic,
 * smoke-tested through its own header, optionally mirrored (<= 50%) for
 * one bake, then given the traffic of each step of `traffic-steps` in
 * turn, each held for the bake while the deployment's metrics are judged.
 * A breach puts back the traffic map as it was before, exactly, mirror
 * off. At 100% the previous deployments stay at 0% for a rollback, or are
 * deleted. Direct: smoke, then 100% at once.
 *
 * What talks to the scoring URI and to Azure Monitor reaches the engine
 * through `struct rollout_ops`; the endpoint and deployment calls are the
 * real ones of azure/aml_endpoint.h.
 */

/* Set on the new deployment's tags when it reaches 100%: a deployment
 * carrying it has served, so a rollback may return to it. The value is the
 * UTC time, ISO 8601 ("2026-12-04T18:47:00Z"), so the newest sorts last. */
#define ROLLOUT_SERVED_TAG "rollout-served-at"

#define ROLLOUT_MAX_STEPS 20
/* Stopped by a signal, the traffic is put back within this (the runner
 * kills the step 10 s after its first signal; workflow.h stops it at 4 s). */
#define ROLLOUT_STOP_RESTORE_MS 3000
#define ROLLOUT_MIRROR_MAX 50

/* ---- pure pieces ---- */

struct rollout_steps {
	int percent[ROLLOUT_MAX_STEPS];
	size_t nr;
};

/*
 * Parses `traffic-steps`: comma-separated integers (white space around
 * each allowed), strictly increasing, each 1-100, the last 100; NULL or
 * empty means "10,50,100". ERR_INPUT naming the input `traffic-steps`.
 */
int rollout_steps_parse(struct rollout_steps *out, const char *text);

/* `mirror-percent`: 0 (no mirror) to 50, as Azure allows. ERR_INPUT. */
int rollout_mirror_check(int percent);

/* A traffic map, owned: entries as aml_endpoint_parse reads them. */
struct rollout_map {
	struct aml_traffic_entry *items;
	size_t nr;
};
#define ROLLOUT_MAP_INIT { NULL, 0 }
void rollout_map_release(struct rollout_map *m);
/* A copy of `e`'s traffic map; `out`'s old contents released. */
void rollout_map_of(struct rollout_map *out, const struct aml_endpoint *e);
/* The percent of `deployment`, 0 when absent. */
int rollout_map_percent(const struct rollout_map *m, const char *deployment);

/*
 * The traffic map at step `percent` (1-100) from the map `before`:
 * `deployment` gets `percent`; the others share 100 - percent in
 * proportion to their shares in `before` (the new deployment's own share
 * there, a half-done earlier run's, is not counted), by largest
 * remainder, ties to the one listed first: integers summing to exactly
 * 100, a larger old share never ending smaller, a 0 staying 0. When the
 * others had nothing (the first deployment ever), `deployment` gets 100 at
 * once. Order: `before`'s, the new deployment appended when it was not in
 * it. Caller owns `*out`.
 */
void rollout_traffic_at(struct rollout_map *out, const struct rollout_map *before,
			const char *deployment, int percent);

/* ---- the seam ---- */

struct rollout_smoke {
	int passed;          /* status 200 and, when asked, the expected subset found */
	int status;          /* HTTP status; 0 when no answer */
	long latency_ms;
	char *detail;        /* owned: why it did not pass, or NULL; no secret */
};
void rollout_smoke_release(struct rollout_smoke *s);

/* A deployment's Azure Monitor metrics over one window. */
struct rollout_health {
	long requests;
	long errors_4xx;
	long errors_5xx;
	double p90_ms;       /* < 0: no value in the window */
};

struct rollout_request;

struct rollout_ops {
	/* Optional: called once the endpoint exists (created by this run or
	 * not), before any smoke test: where the caller learns the scoring
	 * URI (`e->scoring_uri`) and reads the key (aml_endpoint_list_keys)
	 * its smoke op needs. An error stops the run, traffic untouched. */
	int (*ready)(void *ctx, const struct aml_endpoint *e);
	/* POST the smoke request to the scoring URI, routed to `deployment`
	 * (azureml-model-deployment header) with the endpoint key. 0 with
	 * `out` filled whatever the status; an error only when it could not
	 * try. */
	int (*smoke)(void *ctx, const char *deployment, struct rollout_smoke *out);
	/* The deployment's metrics over [from, to]. */
	int (*health)(void *ctx, const char *deployment, time_t from, time_t to,
		      struct rollout_health *out);
	/* Waits; ERR_CANCELLED when the workflow is asked to stop. */
	int (*sleep)(void *ctx, long seconds);
	/* Optional: 1 (with the reason appended to `reason`) when `h` breaches
	 * the request's limits, else 0. NULL: rollout_judge. */
	int (*judge)(void *ctx, const struct rollout_health *h, const struct rollout_request *req,
		     struct buf *reason);
	/* Optional clock; NULL: time(NULL). */
	time_t (*now)(void *ctx);
};

enum rollout_mode { ROLLOUT_SAFE, ROLLOUT_DIRECT };

/*
 * One deployment. Borrowed for the call. The specs carry the provenance
 * tags (commit, repository, run URL, model name and version), which Azure
 * keeps only from a create or replace: the endpoint spec is used only
 * when the endpoint is missing, the deployment spec only when the
 * deployment is missing or Failed.
 */
struct rollout_request {
	const char *endpoint;
	const char *deployment;                  /* the new deployment */
	const struct aml_endpoint_spec *endpoint_spec;
	const struct aml_deployment_spec *deployment_spec;
	const char *model_version;               /* for the report */
	enum rollout_mode mode;
	struct rollout_steps steps;              /* safe mode; nr 0: 10,50,100 */
	int mirror_percent;                      /* 0: no mirror bake */
	long bake_seconds;                       /* each step is held this long */
	double max_error_rate;                   /* 5xx / requests, 0-1; < 0: no limit */
	double max_latency_ms;                   /* P90; <= 0: no limit */
	int keep_previous;                       /* 1: previous kept at 0%; 0: deleted */
	long timeout_s;                          /* each long-running operation */
};

/*
 * The built-in judge: a breach when the 5xx rate (5xx / requests, no
 * requests: 0) exceeds max_error_rate, or P90 exceeds max_latency_ms.
 * 4xx are the callers' mistakes and do not count. Appends the reason.
 */
int rollout_judge(const struct rollout_health *h, const struct rollout_request *req,
		  struct buf *reason);

/* ---- the report ---- */

struct rollout_step {
	int percent;                 /* the new deployment's live share; 0 for the mirror bake */
	int mirror_percent;          /* mirrored to it during this step */
	struct rollout_map traffic;  /* as set */
	int have_health;
	struct rollout_health health;
	int breached;
	char *reason;                /* owned, when breached */
	time_t started, ended;       /* the metrics window */
};

struct rollout_report {
	char *endpoint;
	char *deployment;            /* the new one (rollback: the one restored) */
	char *scoring_uri;
	char *model_version;
	char *previous;              /* the largest share before, or NULL */
	int endpoint_created;
	int attached;                /* the deployment existed, Succeeded, and was reused */
	int replaced;                /* it existed Failed and was replaced */
	int noop;                    /* already at 100%: nothing done */
	int smoked;
	struct rollout_smoke smoke;
	struct rollout_map before, after;
	struct rollout_step *steps;
	size_t steps_nr;
	char **deleted;              /* previous deployments deleted (keep_previous 0) */
	size_t deleted_nr;
	char *failure;               /* owned: why it stopped (smoke, breach, provisioning) */
};
#define ROLLOUT_REPORT_INIT { 0 }
void rollout_report_release(struct rollout_report *r);

/*
 * Runs the rollout of `req` (module comment). The report is filled as far
 * as it went, whatever the result. Errors:
 * - ERR_INPUT: bad request (steps, mirror, names);
 * - ERR_REMOTE_FAILED: provisioning failed (traffic untouched), the smoke
 *   test failed (traffic untouched), or a step breached (traffic
 *   restored); `failure` and the message say which, with the metrics;
 * - ERR_CANCELLED from ops->sleep: the traffic is restored first;
 * - the endpoint client's errors (ERR_HTTP, ERR_CONFLICT, ERR_TIMEOUT...).
 * A re-run when the deployment already has 100% is 0 with `noop` set.
 */
int rollout_run(struct rollout_report *out, struct aml *aml, const struct rollout_request *req,
		const struct rollout_ops *ops, void *ctx);

/*
 * Of the endpoint's deployments `d` (a list answer), the one a rollback
 * returns to: Succeeded, at 0% in `traffic`, tagged ROLLOUT_SERVED_TAG,
 * the newest by that tag (ties: the later in the list). -1 when none.
 */
long rollout_pick_restore(const struct aml_deployment *d, size_t nr,
			  const struct rollout_map *traffic);

/*
 * `stage: rollback`: gives 100% back to rollout_pick_restore's choice
 * (report: `deployment` restored, `previous` the one that was serving,
 * before and after maps). ERR_NOT_FOUND, saying so, when no deployment
 * qualifies: the caller redeploys the newest `surpassed` version.
 */
int rollout_rollback(struct rollout_report *out, struct aml *aml, const char *endpoint,
		     long timeout_s);

/*
 * Takes ROLLOUT_SERVED_TAG off `deployment` (NULL: nothing to do): a
 * deployment rolled back from is no rollback target any more, so a second
 * rollback goes further back, not forth. rollout_rollback does it itself;
 * a rollback that redeploys calls this for the deployment it replaced.
 */
int rollout_unmark(struct aml *aml, const char *endpoint, const char *deployment, long timeout_s);

/*
 * Sets the endpoint's mirrorTraffic (its live traffic left as it is):
 * GET, the same full PUT as aml_endpoint_set_traffic with
 * properties.mirrorTraffic replaced, wait. `deployment` NULL or `percent`
 * 0 turns the mirror off. ERR_INPUT for a percent over 50.
 */
int rollout_set_mirror(struct aml *aml, const char *endpoint, const char *deployment,
		       int percent, long timeout_s);

#endif
