/*
 * Workspace-CD: the ARM templates in .cloud/ deployed to the resource
 * group (validate, what-if, deploy, follow), then every dataset in
 * datasets/ made sure of. With what-if: true it stops after the change
 * list: the dry run.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "azure/deployment.h"
#include "ci/summary.h"
#include "cmd/session.h"
#include "cmd/workflow.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/dataset_sync.h"
#include "mlops/templates.h"
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
	enum deployment_mode mode;
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
		c->mode = DEPLOYMENT_INCREMENTAL;
	else if (!strcasecmp(mode, "Complete"))
		c->mode = DEPLOYMENT_COMPLETE;
	else
		return error_set(ERR_INPUT, "Input mode is '%s': use Incremental or Complete", mode);
	c->timeout_s = minutes * 60;
	return 0;
}

/* ---- templates ---- */

/* "<template>-<commit or time>", within ARM's 64 characters. */
static void deployment_name(struct buf *out, const char *template, const struct ci_context *c)
{
	const char *p;

	for (p = template; *p && out->len < 48; p++)
		buf_addch(out, isalnum((unsigned char)*p) || strchr("-_.()", *p) ? *p : '-');
	if (c->sha && strlen(c->sha) >= 7) {
		buf_addf(out, "-%.7s", c->sha);
	} else {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		buf_addf(out, "-%s", stamp);
	}
}

static void summarize_what_if(struct summary *s, const char *name,
			      const struct deployment_whatif *w)
{
	static const char *const head[] = { "Change", "Resource" };
	size_t counts[DEPLOYMENT_CHANGE_COUNT], i;
	struct buf line = BUF_INIT, lines = BUF_INIT;
	int k;

	deployment_whatif_count(counts, w);
	buf_addf(&line, "What-if for **");
	summary_escape(&line, name);
	buf_addstr(&line, "**:");
	for (k = 0; k < DEPLOYMENT_CHANGE_COUNT; k++)
		if (counts[k])
			buf_addf(&line, " %zu %s,", counts[k], deployment_change_type_name(k));
	if (line.data[line.len - 1] == ',')
		buf_setlen(&line, line.len - 1);
	summary_markdown(s, line.data);
	summary_table_begin(s, head, 2);
	for (i = 0; i < w->n_changes; i++) {
		const char *row[2] = { deployment_change_type_name(w->changes[i].type),
				       w->changes[i].resource_id };
		summary_table_row(s, row, 2);
	}
	summary_table_end(s);
	for (i = 0; i < w->n_changes; i++) {
		if (!w->changes[i].n_delta)
			continue;
		buf_reset(&lines);
		deployment_change_lines(&lines, &w->changes[i], 200);
		summary_details_begin(s, w->changes[i].resource_id);
		summary_code(s, NULL, lines.data);
		summary_details_end(s);
	}
	buf_release(&line);
	buf_release(&lines);
}

static void log_what_if(const char *name, const struct deployment_whatif *w)
{
	struct buf lines = BUF_INIT;
	size_t i;

	log_info("what-if for %s: %zu change%s", name, w->n_changes, w->n_changes == 1 ? "" : "s");
	for (i = 0; i < w->n_changes; i++) {
		log_info("  %-9s %s", deployment_change_type_name(w->changes[i].type),
			 w->changes[i].resource_id);
		buf_reset(&lines);
		deployment_change_lines(&lines, &w->changes[i], 120);
		if (lines.len)
			log_info("%s", lines.data);
	}
	buf_release(&lines);
}

/* Template outputs: each its own step output, and all of them in one
 * JSON object; secure ones never leave the program. */
static int emit_outputs(struct ci *ci, cJSON *all, const struct deployment_result *r,
			struct summary *s)
{
	static const char *const head[] = { "Output", "Type", "Value" };
	struct buf text = BUF_INIT;
	size_t i;
	int ret = 0;

	if (!r->n_outputs)
		return 0;
	summary_table_begin(s, head, 3);
	for (i = 0; i < r->n_outputs && !ret; i++) {
		const struct deployment_output *o = &r->outputs[i];
		const char *row[3];

		buf_reset(&text);
		if (o->secure || !o->value)
			buf_addstr(&text, "***");
		else if (cJSON_IsString(o->value))
			buf_addstr(&text, o->value->valuestring);
		else
			json_write(&text, o->value);
		row[0] = o->name;
		row[1] = o->type;
		row[2] = text.data;
		summary_table_row(s, row, 3);
		if (o->secure || !o->value)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(all, o->name);
		cJSON_AddItemToObject(all, o->name, cJSON_Duplicate(o->value, 1));
		ret = ci_output(ci, o->name, text.data);
	}
	summary_table_end(s);
	buf_release(&text);
	return ret;
}

/*
 * Everything each deployment needs that can be wrong locally: its name and
 * its parameters (the parameters file and the overrides, typed by the
 * template), for every template before the first is deployed, so that a
 * mistake in a later one changes nothing.
 */
struct prepared {
	struct buf name;
	cJSON *parameters;
};

static int prepare(struct prepared **out, const struct template_list *list,
		   const char *const *overrides, const struct ci_context *context)
{
	struct prepared *p = xcalloc(list->nr ? list->nr : 1, sizeof(*p));
	size_t i;
	int ret = 0;

	for (i = 0; i < list->nr; i++)
		buf_init(&p[i].name);
	for (i = 0; i < list->nr && !ret; i++) {
		deployment_name(&p[i].name, list->items[i].name, context);
		if (!(ret = deployment_name_check(p[i].name.data)))
			ret = template_parameters(&p[i].parameters, &list->items[i], overrides);
	}
	*out = p;
	return ret;
}

static void prepared_free(struct prepared *p, size_t nr)
{
	size_t i;

	for (i = 0; p && i < nr; i++) {
		buf_release(&p[i].name);
		cJSON_Delete(p[i].parameters);
	}
	free(p);
}

static int stopped_error(const char *before)
{
	return error_set(ERR_CANCELLED, "stopped by %s before %s",
			 workflow_signal_name(workflow_stopping()), before);
}

static int deploy_templates(struct ci *ci, struct session *session, const struct config *cfg,
			    const struct template_list *list, const struct prepared *prepared,
			    cJSON *names, cJSON *all_outputs)
{
	struct summary *s = ci_summary(ci);
	size_t i;
	int ret = 0;

	for (i = 0; i < list->nr && !ret; i++) {
		const struct arm_template *t = &list->items[i];
		const char *name = prepared[i].name.data;
		struct deployment_request req = DEPLOYMENT_REQUEST_INIT;
		struct deployment_target target = { &session->arm, session->resource_group, name, cfg->timeout_s };
		struct deployment_validation validation;
		struct deployment_whatif w;
		struct deployment_result result;
		struct buf line = BUF_INIT;

		if (workflow_stopping()) {
			ret = stopped_error(t->path);
			break;
		}
		deployment_validation_init(&validation);
		deployment_whatif_init(&w);
		deployment_result_init(&result);
		req.template = t->template;
		req.mode = cfg->mode;
		req.parameters = prepared[i].parameters;
		summary_heading(s, 3, ci_relative_path(ci, t->path));
		ci_group_begin(ci, name);
		if ((ret = deployment_validate(&validation, &target, &req)) ||
		    (ret = deployment_what_if(&w, &target, &req)))
			goto next;
		log_what_if(t->name, &w);
		summarize_what_if(s, t->name, &w);
		if (cfg->what_if)
			goto next;
		if (workflow_stopping()) {
			ret = stopped_error("deploying it");
			goto next;
		}
		log_info("deploying %s to resource group %s (%s mode)", name,
			 session->resource_group, cfg->mode == DEPLOYMENT_COMPLETE ? "Complete" : "Incremental");
		workflow_changing();
		ret = deployment_deploy(&result, &target, &req);
		if (ret == ERR_CANCELLED && workflow_stopping()) {
			/* arm_wait stopped. An ARM deployment is not cancelled:
			 * it goes on, and the summary says so. */
			const char *sig = workflow_signal_name(workflow_stopping());

			buf_addf(&line, "Deployment `%s`: **left running** in Azure (%s received while "
				 "following it)", name, sig);
			summary_markdown(s, line.data);
			ret = error_set(ERR_CANCELLED, "stopped by %s while following deployment "
					"%s; it was left running in Azure", sig, name);
			goto next;
		}
		buf_addf(&line, "Deployment `%s`: **%s**", name,
			 result.provisioning_state ? result.provisioning_state : ret ? "Failed" : "Succeeded");
		if (result.duration)
			buf_addf(&line, " in %s", result.duration);
		summary_markdown(s, line.data);
		if (ret)
			goto next;
		cJSON_AddItemToArray(names, cJSON_CreateString(name));
		ret = emit_outputs(ci, all_outputs, &result, s);
next:
		ci_group_end(ci);
		deployment_validation_release(&validation);
		deployment_whatif_release(&w);
		deployment_result_release(&result);
		buf_release(&line);
	}
	return ret;
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
		char size[32], files[16], hash[16];
		const char *row[6];
		cJSON *item;

		if (workflow_stopping()) {
			ret = stopped_error(d->yaml_path);
			break;
		}
		if (!dry_run)
			workflow_changing();
		if ((ret = dataset_sync(&r, &session->aml, session->http, d, dry_run,
					session->tokens)))
			break;
		if (r.outcome == DATASET_DIFFERS) {
			struct error_location where = { d->yaml_path, 0, 0 };
			struct buf msg = BUF_INIT;

			buf_addf(&msg, "The data of %s in the repository differs from version %s in the "
				       "workspace; existing assets are never overwritten or re-versioned "
				       "here.", d->name, r.version);
			ci_annotate(ci, LOG_NOTICE, &where, "dataset differs", msg.data);
			buf_release(&msg);
		}
		snprintf(size, sizeof(size), "%llu bytes", (unsigned long long)d->size);
		snprintf(files, sizeof(files), "%u", d->files);
		snprintf(hash, sizeof(hash), "%.12s", d->content_hash);
		row[0] = d->name;
		row[1] = r.version;
		row[2] = dataset_outcome_name(r.outcome);
		row[3] = size;
		row[4] = files;
		row[5] = hash;
		summary_table_row(s, row, 6);
		item = json_new_object();
		json_add_string(item, "name", d->name);
		json_add_string(item, "version", r.version);
		json_add_string(item, "status", dataset_outcome_name(r.outcome));
		json_add_string(item, "dataUri", r.data_uri);
		cJSON_AddItemToArray(list, item);
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
	if (!ret)
		return out;
	if (out)
		log_warning("outputs not written: %s", error_message());
	error_restore(&saved);
	error_saved_release(&saved);
	return ret;
}

static int run(struct ci *ci)
{
	const struct ci_context *context = ci_context(ci);
	struct template_list list = TEMPLATE_LIST_INIT;
	struct dataset_set datasets = DATASET_SET_INIT;
	const char *reserved[sizeof(outputs) / sizeof(outputs[0])];
	struct prepared *prepared = NULL;
	struct session session;
	struct config cfg;
	struct buf dir = BUF_INIT;
	cJSON *names = cJSON_CreateArray(), *all_outputs = json_new_object();
	cJSON *dataset_list = cJSON_CreateArray();
	size_t i;
	int ret, opened = 0;

	for (i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++)
		reserved[i] = outputs[i].name;
	if ((ret = read_config(ci, &cfg)) || (ret = session_open(&session, ci)))
		goto done;
	opened = 1;
	/* Everything local first: bad templates or datasets fail before any call. */
	if ((ret = templates_find(&list, context->workspace, cfg.templates)) ||
	    (ret = templates_check_overrides(&list, cfg.overrides)) ||
	    (ret = templates_check_outputs(&list, reserved)) ||
	    (ret = prepare(&prepared, &list, cfg.overrides, context)))
		goto done;
	ci_workspace_path(ci, &dir, cfg.datasets);
	if ((ret = dataset_load_all(&datasets, dir.data)))
		goto done;

	/* A stop request ends the waits on ARM; a deployment is never cancelled. */
	session.arm.stop = workflow_stop_flag();
	http_client_set_stop(session.http, workflow_stop_flag());
	if (!(ret = deploy_templates(ci, &session, &cfg, &list, prepared, names, all_outputs)))
		ret = sync_datasets(ci, &session, &datasets, cfg.what_if, dataset_list);
	ret = write_outputs(ci, ret, names, all_outputs, dataset_list);
	if (!ret && cfg.what_if)
		summary_markdown(ci_summary(ci), "_What-if only: nothing was deployed or registered._");
done:
	prepared_free(prepared, list.nr);
	templates_release(&list);
	dataset_set_release(&datasets);
	if (opened)
		session_close(&session);
	cJSON_Delete(names);
	cJSON_Delete(all_outputs);
	cJSON_Delete(dataset_list);
	buf_release(&dir);
	return ret;
}
