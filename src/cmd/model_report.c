/*
 * The model report on a pull request (cmd/model_report.h). Everything in it
 * that comes from outside (metric keys are whatever the training code
 * logged, on a pull request anyone's code) is escaped as the step summary
 * escapes it, and more: a comment notifies whoever it mentions, so "@" and
 * "#" are followed by a zero-width space, which keeps them readable but
 * makes no mention and no issue link.
 */
#include <string.h>

#include "ci/summary.h"
#include "cmd/model_report.h"
#include "core/error.h"
#include "core/log.h"
#include "core/banned.h"

/* Room kept for the lines that say what was left out. */
#define NOTE_ROOM 300

static void flush(struct buf *out, struct buf *run)
{
	if (run->len)
		summary_escape(out, run->data);
	buf_reset(run);
}

/* `text` escaped (summary_escape), mentions defused, and in a table cell
 * `|` escaped and a line break made <br>. */
static void esc(struct buf *out, const char *text, int cell)
{
	struct buf run = BUF_INIT;

	for (; text && *text; text++) {
		char c = *text;

		if (c == '@' || c == '#') {
			flush(out, &run);
			buf_addch(out, c);
			buf_addstr(out, "&#8203;");
		} else if (cell && (c == '|' || c == '\n' || c == '\r')) {
			flush(out, &run);
			buf_addstr(out, c == '|' ? "\\|" : c == '\n' ? "<br>" : "");
		} else {
			buf_addch(&run, c);
		}
	}
	flush(out, &run);
	buf_release(&run);
}

static void job_line(struct buf *out, const struct job_run *jr)
{
	const struct aml_job *job = jr->last ? jr->last : &jr->job;

	buf_addstr(out, "**Job** ");
	esc(out, job->name ? job->name : "(not submitted)", 0);
	buf_addstr(out, ": **");
	esc(out, jr->status ? jr->status : "Unknown", 0);
	buf_addstr(out, "**");
	if (jr->duration_s >= 0) {
		buf_addstr(out, " in ");
		job_format_elapsed(out, jr->duration_s);
	}
	if (job->studio_url) {
		buf_addstr(out, " ([Azure ML studio](");
		esc(out, job->studio_url, 0);
		buf_addstr(out, "))");
	}
	buf_addstr(out, "\n\n");
}

static void production_line(struct buf *out, const struct production_model *p)
{
	if (!p || !p->name)
		return;
	buf_addstr(out, "Model **");
	esc(out, p->name, 0);
	if (!p->found) {
		buf_addstr(out, "**: no version is in production (tagged `stage=production`), "
			   "nothing to compare with.\n\n");
		return;
	}
	buf_addstr(out, "** version **");
	esc(out, p->version, 0);
	buf_addstr(out, "** is in production");
	if (p->have_run) {
		buf_addstr(out, ", trained by job ");
		esc(out, p->job_name, 0);
		buf_addstr(out, ".\n\n");
	} else {
		buf_addstr(out, "; the metrics of its training run could not be read.\n\n");
	}
}

static void cell(struct buf *out, const char *text)
{
	buf_addch(out, ' ');
	esc(out, text ? text : "\xE2\x80\x94", 1); /* an em dash: no value */
	buf_addstr(out, " |");
}

static void table_head(struct buf *out, int compare)
{
	if (compare)
		buf_addstr(out, "| Metric | This run | Production | Difference |\n"
			   "| --- | --- | --- | --- |\n");
	else
		buf_addstr(out, "| Metric | This run |\n| --- | --- |\n");
}

/* The metrics table, its rows as many as `room` bytes hold. */
static void table(struct buf *out, const struct job_run *jr, const struct production_model *p,
		  size_t room)
{
	struct production_comparison cmp = PRODUCTION_COMPARISON_INIT;
	int compare = p && p->have_run;
	struct buf row = BUF_INIT;
	size_t i, start = out->len;

	production_compare(&cmp, jr->have_mlflow ? &jr->mlflow : NULL, p);
	if (!cmp.nr) {
		buf_addstr(out, "_No metrics were read from the run._\n\n");
		goto done;
	}
	table_head(out, compare);
	for (i = 0; i < cmp.nr; i++) {
		buf_reset(&row);
		buf_addch(&row, '|');
		cell(&row, cmp.rows[i].key);
		cell(&row, cmp.rows[i].value);
		if (compare) {
			cell(&row, cmp.rows[i].production);
			cell(&row, cmp.rows[i].difference);
		}
		buf_addch(&row, '\n');
		if (out->len - start + row.len > room)
			break;
		buf_add(out, row.data, row.len);
	}
	buf_addch(out, '\n');
	if (i < cmp.nr)
		buf_addf(out, "_%zu more metric%s left out: a comment holds 65,536 characters "
			 "at most._\n\n", cmp.nr - i, cmp.nr - i == 1 ? "" : "s");
done:
	buf_release(&row);
	production_comparison_release(&cmp);
}

/* Caller-composed Markdown, or a line saying it did not fit. */
static void piece(struct buf *out, const char *md, const char *what, size_t room)
{
	if (!md || !*md)
		return;
	if (strlen(md) + 2 > room) {
		buf_addf(out, "_The %s is too long for the comment; the step summary has it._\n\n", what);
		return;
	}
	buf_addstr(out, md);
	buf_addstr(out, "\n\n");
}

void model_report_compose(struct buf *out, const struct job_run *jr,
			  const struct production_model *p, const char *gate_md,
			  const char *chart_md, const char *commit, size_t limit)
{
	struct buf foot = BUF_INIT;
	size_t start = out->len, used;

	if (commit && *commit) {
		buf_addstr(&foot, "<sub>Commit ");
		esc(&foot, commit, 0);
		buf_addstr(&foot, "; this comment is updated on every push.</sub>\n");
	}
	limit = limit > foot.len + NOTE_ROOM * 3 ? limit - foot.len - NOTE_ROOM : NOTE_ROOM * 2;
	buf_addstr(out, "### Model report\n\n");
	job_line(out, jr);
	production_line(out, p);
	/* The verdict first: what is left out for room is the detail. */
	used = out->len - start;
	piece(out, gate_md, "gate's verdict", used < limit / 2 ? limit / 2 - used : 0);
	used = out->len - start;
	table(out, jr, p, used < limit ? limit - used : 0);
	used = out->len - start;
	piece(out, chart_md, "chart", used < limit ? limit - used : 0);
	buf_add(out, foot.data, foot.len);
	buf_release(&foot);
}

/* ---- posting ---- */

/* Which comment is this job file's: the job input as the user named it. */
static const char *report_key(struct ci *ci, const struct job_run *jr)
{
	const char *job = NULL;

	if (ci_has_input(ci, "job") && !ci_input(ci, "job", &job) && *job)
		return job;
	error_clear();
	return jr->spec.yaml_path ? ci_relative_path(ci, jr->spec.yaml_path) : "";
}

int model_report_post(struct ci *ci, struct session *s, const struct job_run *jr,
		      const char *model_name, const char *gate_md, const char *chart_md)
{
	struct production_model p = PRODUCTION_MODEL_INIT;
	struct buf body = BUF_INIT;
	const char *token = "";
	int ret;

	if (!ci_has_input(ci, "github-token"))
		return 0;
	if ((ret = ci_input(ci, "github-token", &token)))
		goto done;
	if (!*token || !ci_pull_request(ci)) {
		log_debug("model report: %s", *token ? "not a pull request run" : "no github-token");
		return 0;
	}
	if (s && s->has_workspace &&
	    production_model_find(&p, &s->aml, s->http, s->tokens, model_name)) {
		log_warning("model report: the model in production not read: %s", error_message());
		error_clear();
	}
	model_report_compose(&body, jr, &p, gate_md, chart_md, ci_context(ci)->sha,
			     CI_PR_COMMENT_MAX);
	ret = ci_pr_comment(ci, token, MODEL_REPORT_KIND, report_key(ci, jr), body.data, NULL);
done:
	if (ret) {
		log_warning("model report not posted on the pull request: %s", error_message());
		error_clear();
	}
	production_model_release(&p);
	buf_release(&body);
	return ret;
}
