#ifndef CMD_MODEL_REPORT_H
#define CMD_MODEL_REPORT_H

#include <stddef.h>

#include "ci/ci.h"
#include "cmd/session.h"
#include "core/buf.h"
#include "mlops/job_run.h"
#include "mlops/production.h"

/*
 * The model report on a pull request: one comment, updated in place on
 * every push (ci_pr_comment), with the training job's status and link, its
 * metrics beside the model in production and the difference, the chart
 * and the gate's verdict. A report never fails the step: whatever stops it
 * is a warning.
 */

/* The input that turns the report on; a workflow that lists it reports. */
#define MODEL_REPORT_INPUTS \
	{ "github-token", "Token to comment with the model report on the pull request a run is for, e.g. ${{ github.token }} with permissions: pull-requests: write; empty for no comment.", NULL, INPUT_SECRET }
/* For a workflow without a model-name input of its own (Model-CI): the
 * model whose production version the run is compared with. */
#define MODEL_REPORT_MODEL_INPUT \
	{ "model-name", "Registered model whose version in production (tagged stage=production) the run's metrics are compared with in the pull request report; empty for none.", NULL, 0 }

/* The marker's kind: "<!-- mlops:model-report:<workflow>:<job file> -->". */
#define MODEL_REPORT_KIND "model-report"

/*
 * The comment's Markdown, within `limit` bytes: the job's status and
 * studio link, then `gate_md` (the gate's verdict), the metrics table (the
 * run's value, production's and the difference when `p` has a run), then
 * `chart_md`, then a line naming `commit` (may be NULL). `gate_md` and
 * `chart_md` are Markdown the caller composed and escaped (NULL or "":
 * none). Everything else (metric keys, statuses, names) is escaped here,
 * mentions and issue references defused. Rows that would not fit are left
 * out with a line saying how many; so is a chart that would not.
 */
void model_report_compose(struct buf *out, const struct job_run *jr,
			  const struct production_model *p, const char *gate_md,
			  const char *chart_md, const char *commit, size_t limit);

/*
 * Posts or updates the report when input `github-token` is declared and
 * given and the run is for a pull request (ci_pull_request); then reads
 * `model_name`'s production version (NULL or "": no comparison). Returns
 * 0 when posted or when there was nothing to post; otherwise the error,
 * already logged as a warning (a 403 names `pull-requests: write`): the
 * caller must not fail the step on it.
 */
int model_report_post(struct ci *ci, struct session *s, const struct job_run *jr,
		      const char *model_name, const char *gate_md, const char *chart_md);

#endif
