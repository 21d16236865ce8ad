#include <stdio.h>
#include <string.h>

#include "ci/summary.h"
#include "cmd/environments.h"
#include "cmd/session.h"
#include "cmd/workflow.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/env_plan.h"
#include "core/banned.h"

static const char *status_label(const struct env_entry *e, int cd)
{
	if (e->failed)
		return "invalid";
	if (!e->decided)
		return "not checked";
	switch (e->decision.status) {
	case ENV_NEW:
		return e->registered ? "created" : cd ? "new (not registered)" : "new";
	case ENV_UNCHANGED:
		return "unchanged";
	case ENV_NEEDS_BUMP:
		return "needs a version bump";
	case ENV_CHANGED_AUTO:
		return e->registered ? "created (next version)" : "changed: next version";
	}
	return "?";
}

static void annotate_entry(struct ci *ci, const struct env_entry *e)
{
	struct buf msg = BUF_INIT, title = BUF_INIT;

	if (e->failed) {
		buf_addf(&title, "environment in %s is invalid", ci_relative_path(ci, e->dir));
		ci_annotate(ci, LOG_ERROR, error_saved_where(&e->error), title.data,
			    e->error.message);
	} else if (e->decided && e->decision.status == ENV_NEEDS_BUMP) {
		size_t i;

		buf_addf(&title, "environment %s: version not bumped", e->env.name);
		buf_addf(&msg, "The definition of %s changed, but version %s is already registered "
			       "with other content (", e->env.name, e->env.version);
		for (i = 0; i < e->decision.diff.nr; i++)
			buf_addf(&msg, "%s%s", i ? ", " : "", e->decision.diff.items[i].field);
		buf_addstr(&msg, "). ");
		if (e->decision.next_version)
			buf_addf(&msg, "Use version %s.", e->decision.next_version);
		else
			buf_addstr(&msg, "Give it a new version.");
		ci_annotate(ci, LOG_ERROR, &e->env.version_at, title.data, msg.data);
	} else if (e->decided && e->decision.uncertain) {
		buf_addf(&title, "environment %s: cannot compare", e->env.name);
		buf_addf(&msg, "Version %s of %s was registered without a content hash, so a "
			       "change to its build context cannot be seen; it is left as it is.",
			 e->decision.version, e->env.name);
		ci_annotate(ci, LOG_WARNING, &e->env.version_at, title.data, msg.data);
	}
	buf_release(&msg);
	buf_release(&title);
}

static void summarize(struct ci *ci, const struct env_plan *plan, int cd)
{
	static const char *const head[] = {
		"Environment", "Folder", "Declared", "Registered latest", "Status", "Content hash",
	};
	struct summary *s = ci_summary(ci);
	size_t i, j;

	summary_heading(s, 3, "Environments");
	summary_table_begin(s, head, 6);
	for (i = 0; i < plan->nr; i++) {
		const struct env_entry *e = &plan->items[i];
		char hash[16] = "";
		const char *row[6];

		if (!e->failed)
			snprintf(hash, sizeof(hash), "%.12s", e->env.content_hash);
		row[0] = e->failed ? "" : e->env.name;
		row[1] = ci_relative_path(ci, e->dir);
		row[2] = !e->failed && e->env.version ? e->env.version : "";
		row[3] = e->latest_version ? e->latest_version : "none";
		row[4] = status_label(e, cd);
		row[5] = hash;
		summary_table_row(s, row, 6);
	}
	summary_table_end(s);

	for (i = 0; i < plan->nr; i++) {
		const struct env_entry *e = &plan->items[i];
		static const char *const diff_head[] = { "Field", "Registered", "Local" };
		struct buf title = BUF_INIT;

		if (e->failed) {
			buf_addf(&title, "%s: invalid", ci_relative_path(ci, e->dir));
			summary_details_begin(s, title.data);
			summary_code(s, NULL, e->error.message);
			summary_details_end(s);
		} else if (e->decided && e->decision.diff.nr) {
			buf_addf(&title, "%s: what changed", e->env.name);
			if (e->decision.next_version)
				buf_addf(&title, " (next version: %s)", e->decision.next_version);
			summary_details_begin(s, title.data);
			summary_table_begin(s, diff_head, 3);
			for (j = 0; j < e->decision.diff.nr; j++) {
				const struct env_change *c = &e->decision.diff.items[j];
				const char *row[3] = { c->field, c->before ? c->before : "",
						       c->after ? c->after : "" };
				summary_table_row(s, row, 3);
			}
			summary_table_end(s);
			summary_details_end(s);
		}
		buf_release(&title);
	}
}

/* The environments whose content is new or changed, for a matrix job. */
static void changed_json(struct buf *out, const struct env_plan *plan, const struct ci *ci)
{
	cJSON *list = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < plan->nr; i++) {
		const struct env_entry *e = &plan->items[i];
		cJSON *item;

		if (!e->decided || e->decision.status == ENV_UNCHANGED)
			continue;
		item = json_new_object();
		json_add_string(item, "name", e->env.name);
		json_add_string(item, "version", e->decision.status == ENV_NEEDS_BUMP && e->decision.next_version
				? e->decision.next_version : e->decision.version);
		/* Relative to the workspace, as the next job checks it out. */
		json_add_string(item, "folder", ci_relative_path(ci, e->dir));
		json_add_string(item, "kind", e->env.image ? "conda" : "docker");
		/* What the solve or build job needs, relative to the checkout. */
		if (e->env.conda_path)
			json_add_string(item, "conda_file", ci_relative_path(ci, e->env.conda_path));
		if (e->env.build_path) {
			json_add_string(item, "build_context", ci_relative_path(ci, e->env.build_path));
			json_add_string(item, "dockerfile", e->env.dockerfile_path);
		}
		json_add_string(item, "status", env_status_name(e->decision.status));
		cJSON_AddItemToArray(list, item);
	}
	json_write(out, list);
	cJSON_Delete(list);
}

static void registered_json(struct buf *out, const struct env_plan *plan)
{
	cJSON *list = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < plan->nr; i++) {
		const struct env_entry *e = &plan->items[i];
		cJSON *item;

		if (!e->registered)
			continue;
		item = json_new_object();
		json_add_string(item, "name", e->env.name);
		json_add_string(item, "version", e->decision.version);
		cJSON_AddItemToArray(list, item);
	}
	json_write(out, list);
	cJSON_Delete(list);
}

/*
 * `changed`, then `registered` (CD) or `status` (CI). After a failure
 * (`ret`, which stays the error) what was done is still written.
 */
static int write_outputs(struct ci *ci, int ret, const struct env_plan *plan, int cd)
{
	struct error_saved saved = ERROR_SAVED_INIT;
	struct buf json = BUF_INIT;
	int out;

	if (ret)
		error_save(&saved);
	changed_json(&json, plan, ci);
	out = ci_output(ci, "changed", json.data);
	if (!out && cd) {
		buf_reset(&json);
		registered_json(&json, plan);
		out = ci_output(ci, "registered", json.data);
	} else if (!out && !ret) {
		out = ci_output(ci, "status", plan->invalid ? "invalid" :
				plan->needs_bump ? "needs-version-bump" : "ok");
	}
	buf_release(&json);
	return workflow_outputs_written(ret, out, &saved);
}

static int read_inputs(struct ci *ci, const char **dir, enum env_versioning *mode)
{
	const char *versioning;
	int ret;

	if ((ret = ci_input(ci, "environments", dir)) ||
	    (ret = ci_input(ci, "versioning", &versioning)))
		return ret;
	if ((ret = env_versioning_parse(mode, versioning)))
		return error_prefix("Input versioning");
	return 0;
}

/* The run's verdict, once everything is reported. */
static int verdict(const struct env_plan *plan, int cd)
{
	if (plan->invalid)
		return error_set(ERR_INPUT, "%zu environment%s failed validation; nothing was sent to "
				 "Azure", plan->invalid, plan->invalid == 1 ? "" : "s");
	if (plan->needs_bump)
		return error_set(ERR_CONFLICT, "%zu environment%s changed without a new version%s",
				 plan->needs_bump, plan->needs_bump == 1 ? "" : "s",
				 cd ? "; nothing was registered" : "");
	log_info("%zu environment%s checked: %zu to register%s", plan->nr, plan->nr == 1 ? "" : "s",
		 plan->to_register, cd ? ", all registered" : "");
	return 0;
}

int environments_run(struct ci *ci, enum environments_flow flow)
{
	const struct ci_context *context = ci_context(ci);
	const int cd = flow == ENVIRONMENTS_REGISTER;
	struct env_plan plan = ENV_PLAN_INIT;
	struct session session;
	struct buf root = BUF_INIT;
	enum env_versioning mode;
	const char *dir;
	size_t i;
	int ret, opened = 0;

	if ((ret = read_inputs(ci, &dir, &mode)) || (ret = session_open(&session, ci)))
		goto done;
	opened = 1;

	/* Everything local first: a bad file fails before Azure is asked anything. */
	ci_workspace_path(ci, &root, dir);
	if ((ret = env_plan_load(&plan, root.data, mode)))
		goto done;
	if (!plan.invalid) {
		ci_group_begin(ci, "Comparing with the workspace");
		ret = env_plan_decide(&plan, &session.aml, mode);
		ci_group_end(ci);
		if (ret)
			goto done;
	}
	if (cd && !plan.invalid && !plan.needs_bump && plan.to_register) {
		struct env_register_context reg = {
			context->sha, context->repository, session.http, session.tokens,
		};

		ci_group_begin(ci, "Registering new versions");
		workflow_changing();
		ret = env_plan_register(&plan, &session.aml, &reg);
		ci_group_end(ci);
	}
	for (i = 0; i < plan.nr; i++)
		annotate_entry(ci, &plan.items[i]);
	summarize(ci, &plan, cd);
	/* Failed half-way through registering: the outputs say what was done. */
	if (!(ret = write_outputs(ci, ret, &plan, cd)))
		ret = verdict(&plan, cd);
done:
	env_plan_release(&plan);
	if (opened)
		session_close(&session);
	buf_release(&root);
	return ret;
}
