/*
 * Workspace-CD: the ARM templates in .cloud/ deployed to the resource
 * group (validate, what-if, deploy, follow), then every dataset in
 * datasets/ made sure of. With what-if: true it stops after the change
 * list: the dry run.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ci/summary.h"
#include "cmd/session.h"
#include "cmd/workflow.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/dataset_sync.h"
#include "mlops/infra.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "templates", "ARM templates to deploy, one glob a line; each NAME.json takes its parameters from NAME.parameters.json beside it.", ".cloud/*.json", INPUT_MULTILINE },
	{ "parameters", "Template parameter overrides, one name=value a line; each applies to the templates that declare it.", NULL, INPUT_MULTILINE },
	{ "what-if", "Only validate and show the what-if change list (a dry run); deploy nothing.", "false", INPUT_BOOL },
	{ "mode", "Deployment mode: Incremental or Complete.", "Incremental", 0 },
	{ "datasets", "Folder whose sub-folders each hold a data asset YAML and its data.", "datasets", 0 },
	{ "timeout-minutes", "How long to wait for each deployment.", "60", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	{ "deployment-names", "JSON list of the ARM deployments made." },
	{ "outputs", "JSON object of every template output (secure outputs left out)." },
	{ "datasets", "JSON list of the data assets with name, version and status (created or existing)." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_workspace_cd = {
	.spec = { "workspace-cd", inputs, outputs },
	.title = "Workspace CD",
	.description = "Deploys the ARM templates in .cloud/ to a resource group (validate, what-if, deploy) and makes sure every dataset in datasets/ exists as a data asset.",
	.run = run,
	.stops_gracefully = 1,
};

struct config {
	const char *const *templates;
	const char *const *overrides;
	int what_if;
	enum arm_deployment_mode mode;
	const char *datasets;
	long timeout_s;
};

static int read_config(struct ci *ci, struct config *c)
{
	const char *mode;
	long minutes;
	int ret;

	if ((ret = ci_input_lines(ci, "templates", &c->templates)) ||
	    (ret = ci_input_lines(ci, "parameters", &c->overrides)) ||
	    (ret = ci_input_bool(ci, "what-if", &c->what_if)) ||
	    (ret = ci_input(ci, "mode", &mode)) ||
	    (ret = ci_input(ci, "datasets", &c->datasets)) ||
	    (ret = ci_input_int(ci, "timeout-minutes", 1, 24 * 60, &minutes)))
		return ret;
	if (!strcasecmp(mode, "Incremental"))
		c->mode = ARM_DEPLOYMENT_INCREMENTAL;
	else if (!strcasecmp(mode, "Complete"))
		c->mode = ARM_DEPLOYMENT_COMPLETE;
	else
		return error_set(ERR_INPUT, "Input mode is '%s': use Incremental or Complete", mode);
	c->timeout_s = minutes * 60;
	return 0;
}

/* ---- templates ---- */

static void summarize_what_if(struct summary *s, const struct infra_deployment *d)
{
	static const char *const head[] = { "Change", "Resource" };
	struct buf line = BUF_INIT;
	size_t i;

	buf_addf(&line, "What-if for **");
	summary_escape(&line, d->template->name);
	buf_addf(&line, "**:%s", d->change_counts.data);
	summary_markdown(s, line.data);
	summary_table_begin(s, head, 2);
	for (i = 0; i < d->changes_nr; i++) {
		const char *row[2] = { d->changes[i].type, d->changes[i].resource_id };
		summary_table_row(s, row, 2);
	}
	summary_table_end(s);
	for (i = 0; i < d->changes_nr; i++) {
		if (!d->changes[i].details)
			continue;
		summary_details_begin(s, d->changes[i].resource_id);
		summary_code(s, NULL, d->changes[i].details);
		summary_details_end(s);
	}
	buf_release(&line);
}

/* Template outputs: each its own step output, and all of them in one
 * JSON object; secure ones never leave the program. */
static int emit_outputs(struct ci *ci, struct infra_plan *plan, const struct infra_deployment *d,
			struct summary *s)
{
	static const char *const head[] = { "Output", "Type", "Value" };
	size_t i;
	int ret = 0;

	if (!d->outputs_nr)
		return 0;
	summary_table_begin(s, head, 3);
	for (i = 0; i < d->outputs_nr && !ret; i++) {
		const struct infra_output *o = &d->outputs[i];
		const char *row[3] = { o->name, o->type, o->text };

		summary_table_row(s, row, 3);
		if (!o->emit)
			continue;
		infra_keep_output(plan, o);
		ret = ci_output(ci, o->name, o->text);
	}
	summary_table_end(s);
	return ret;
}

static int stopped_error(const char *before)
{
	return error_set(ERR_CANCELLED, "stopped by %s before %s",
			 workflow_signal_name(workflow_stopping()), before);
}

/* The deployment's line in the summary, then its outputs. */
static int report_deployment(struct ci *ci, struct infra_plan *plan,
			     const struct infra_deployment *d, int ret)
{
	struct summary *s = ci_summary(ci);
	struct buf line = BUF_INIT;

	if (ret == ERR_CANCELLED && workflow_stopping()) {
		/* arm_wait stopped. An ARM deployment is not cancelled:
		 * it goes on, and the summary says so. */
		const char *sig = workflow_signal_name(workflow_stopping());

		buf_addf(&line, "Deployment `%s`: **left running** in Azure (%s received while "
			 "following it)", d->name.data, sig);
		summary_markdown(s, line.data);
		ret = error_set(ERR_CANCELLED, "stopped by %s while following deployment "
				"%s; it was left running in Azure", sig, d->name.data);
		goto done;
	}
	buf_addf(&line, "Deployment `%s`: **%s**", d->name.data, d->state);
	if (d->result.duration)
		buf_addf(&line, " in %s", d->result.duration);
	summary_markdown(s, line.data);
	if (!ret)
		ret = emit_outputs(ci, plan, d, s);
done:
	buf_release(&line);
	return ret;
}

/* One template: validate and preview; unless only previewing, deploy. */
static int deploy_one(struct ci *ci, struct infra_plan *plan, size_t i,
		      const struct infra_target *target, int what_if)
{
	const struct infra_deployment *d = &plan->items[i];
	int ret;

	summary_heading(ci_summary(ci), 3, ci_relative_path(ci, d->template->path));
	ci_group_begin(ci, d->name.data);
	if ((ret = infra_preview(plan, i, target)))
		goto done;
	summarize_what_if(ci_summary(ci), d);
	if (what_if)
		goto done;
	if (workflow_stopping()) {
		ret = stopped_error("deploying it");
		goto done;
	}
	workflow_changing();
	ret = report_deployment(ci, plan, d, infra_deploy(plan, i, target));
done:
	ci_group_end(ci);
	return ret;
}

static int deploy_templates(struct ci *ci, struct session *session, const struct config *cfg,
			    struct infra_plan *plan)
{
	struct infra_target target = { &session->arm, session->resource_group, cfg->mode,
				       cfg->timeout_s };
	size_t i;
	int ret = 0;

	for (i = 0; i < plan->nr && !ret; i++) {
		if (workflow_stopping())
			return stopped_error(plan->items[i].template->path);
		ret = deploy_one(ci, plan, i, &target, cfg->what_if);
	}
	return ret;
}

/* One dataset's notice when it differs, its summary row and its item in
 * the datasets output. */
static void report_dataset(struct ci *ci, struct summary *s, const struct dataset *d,
			   const struct dataset_result *r, cJSON *list)
{
	char size[32], files[16], hash[16];
	const char *row[6];
	cJSON *item;

	if (r->outcome == DATASET_DIFFERS) {
		struct error_location where = { d->yaml_path, 0, 0 };
		struct buf msg = BUF_INIT;

		buf_addf(&msg, "The data of %s in the repository differs from version %s in the "
			       "workspace; existing assets are never overwritten or re-versioned "
			       "here.", d->name, r->version);
		ci_annotate(ci, LOG_NOTICE, &where, "dataset differs", msg.data);
		buf_release(&msg);
	}
	snprintf(size, sizeof(size), "%llu bytes", (unsigned long long)d->size);
	snprintf(files, sizeof(files), "%u", d->files);
	snprintf(hash, sizeof(hash), "%.12s", d->content_hash);
	row[0] = d->name;
	row[1] = r->version;
	row[2] = dataset_outcome_name(r->outcome);
	row[3] = size;
	row[4] = files;
	row[5] = hash;
	summary_table_row(s, row, 6);
	item = json_new_object();
	json_add_string(item, "name", d->name);
	json_add_string(item, "version", r->version);
	json_add_string(item, "status", dataset_outcome_name(r->outcome));
	json_add_string(item, "dataUri", r->data_uri);
	cJSON_AddItemToArray(list, item);
}

static int sync_datasets(struct ci *ci, struct session *session, const struct dataset_set *set,
			 int dry_run, cJSON *list)
{
	static const char *const head[] = { "Dataset", "Version", "Status", "Size", "Files", "Content hash" };
	struct summary *s = ci_summary(ci);
	size_t i;
	int ret = 0;

	if (!set->nr)
		return 0;
	summary_heading(s, 3, "Datasets");
	summary_table_begin(s, head, 6);
	for (i = 0; i < set->nr && !ret; i++) {
		const struct dataset *d = &set->items[i];
		struct dataset_result r;

		if (workflow_stopping()) {
			ret = stopped_error(d->yaml_path);
			break;
		}
		if (!dry_run)
			workflow_changing();
		if ((ret = dataset_sync(&r, &session->aml, session->http, d, dry_run,
					session->tokens)))
			break;
		report_dataset(ci, s, d, &r, list);
		dataset_result_release(&r);
	}
	summary_table_end(s);
	return ret;
}

/*
 * The three outputs, written whatever happened once Azure was called:
 * a failed run still says which deployments and data assets it made.
 * A failure `ret` stays the error.
 */
static int write_outputs(struct ci *ci, int ret, const cJSON *names, const cJSON *all_outputs,
			 const cJSON *datasets)
{
	struct error_saved saved = ERROR_SAVED_INIT;
	struct buf text = BUF_INIT;
	int out;

	if (ret)
		error_save(&saved);
	json_write(&text, names);
	if (!(out = ci_output(ci, "deployment-names", text.data))) {
		buf_reset(&text);
		json_write(&text, all_outputs);
		out = ci_output(ci, "outputs", text.data);
	}
	if (!out) {
		buf_reset(&text);
		json_write(&text, datasets);
		out = ci_output(ci, "datasets", text.data);
	}
	buf_release(&text);
	return workflow_outputs_written(ret, out, &saved);
}

static int run(struct ci *ci)
{
	const struct ci_context *context = ci_context(ci);
	struct infra_plan plan = INFRA_PLAN_INIT;
	struct dataset_set datasets = DATASET_SET_INIT;
	const char *reserved[sizeof(outputs) / sizeof(outputs[0])];
	struct infra_options o;
	struct session session;
	struct config cfg;
	struct buf dir = BUF_INIT;
	cJSON *dataset_list = cJSON_CreateArray();
	size_t i;
	int ret, opened = 0;

	for (i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++)
		reserved[i] = outputs[i].name;
	if ((ret = read_config(ci, &cfg)) || (ret = session_open(&session, ci)))
		goto done;
	opened = 1;
	/* Everything local first: bad templates or datasets fail before any call. */
	o = (struct infra_options){ context->workspace, cfg.templates, cfg.overrides, reserved,
				    context->sha };
	if ((ret = infra_load(&plan, &o)))
		goto done;
	ci_workspace_path(ci, &dir, cfg.datasets);
	if ((ret = dataset_load_all(&datasets, dir.data)))
		goto done;

	/* A stop request ends the waits on ARM; a deployment is never cancelled. */
	session.arm.stop = workflow_stop_flag();
	http_client_set_stop(session.http, workflow_stop_flag());
	if (!(ret = deploy_templates(ci, &session, &cfg, &plan)))
		ret = sync_datasets(ci, &session, &datasets, cfg.what_if, dataset_list);
	ret = write_outputs(ci, ret, plan.names, plan.outputs, dataset_list);
	if (!ret && cfg.what_if)
		summary_markdown(ci_summary(ci), "_What-if only: nothing was deployed or registered._");
done:
	infra_release(&plan);
	dataset_set_release(&datasets);
	if (opened)
		session_close(&session);
	cJSON_Delete(dataset_list);
	buf_release(&dir);
	return ret;
}
