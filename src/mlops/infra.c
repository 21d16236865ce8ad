#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "core/log.h"
#include "mlops/infra.h"
#include "core/banned.h"

/* "<template>-<commit or time>", within ARM's 64 characters. */
static void name_deployment(struct buf *out, const char *template, const char *commit)
{
	const char *p;

	for (p = template; *p && out->len < 48; p++)
		buf_addch(out, isalnum((unsigned char)*p) || strchr("-_.()", *p) ? *p : '-');
	if (commit && strlen(commit) >= 7) {
		buf_addf(out, "-%.7s", commit);
	} else {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		buf_addf(out, "-%s", stamp);
	}
}

static void deployment_init(struct infra_deployment *d, const struct arm_template *t)
{
	memset(d, 0, sizeof(*d));
	d->template = t;
	buf_init(&d->name);
	buf_init(&d->change_counts);
	arm_deployment_validation_init(&d->validation);
	arm_deployment_whatif_init(&d->whatif);
	arm_deployment_result_init(&d->result);
}

int infra_load(struct infra_plan *out, const struct infra_options *o)
{
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	out->names = cJSON_CreateArray();
	out->outputs = json_new_object();
	if ((ret = templates_find(&out->templates, o->base, o->patterns)) ||
	    (ret = templates_check_overrides(&out->templates, o->overrides)) ||
	    (ret = templates_check_outputs(&out->templates, o->reserved)))
		return ret;
	out->items = xcalloc(out->templates.nr ? out->templates.nr : 1, sizeof(*out->items));
	out->nr = out->templates.nr;
	for (i = 0; i < out->nr; i++)
		deployment_init(&out->items[i], &out->templates.items[i]);
	for (i = 0; i < out->nr && !ret; i++) {
		struct infra_deployment *d = &out->items[i];

		name_deployment(&d->name, d->template->name, o->commit);
		if (!(ret = arm_deployment_name_check(d->name.data)))
			ret = template_parameters(&d->parameters, d->template, o->overrides);
	}
	return ret;
}

/* Where deployment `i` of `plan` goes and what it sends; returns it. */
static struct infra_deployment *aim(struct arm_deployment_target *target, struct arm_deployment_request *req,
				    struct infra_plan *plan, size_t i, const struct infra_target *t)
{
	struct infra_deployment *d = &plan->items[i];

	*target = (struct arm_deployment_target){ t->arm, t->resource_group, d->name.data, t->timeout_s };
	*req = (struct arm_deployment_request)ARM_DEPLOYMENT_REQUEST_INIT;
	req->template = d->template->template;
	req->mode = t->mode;
	req->parameters = d->parameters;
	return d;
}

static void log_what_if(const char *name, const struct arm_deployment_whatif *w)
{
	struct buf lines = BUF_INIT;
	size_t i;

	log_info("what-if for %s: %zu change%s", name, w->n_changes, w->n_changes == 1 ? "" : "s");
	for (i = 0; i < w->n_changes; i++) {
		log_info("  %-9s %s", arm_deployment_change_type_name(w->changes[i].type),
			 w->changes[i].resource_id);
		buf_reset(&lines);
		arm_deployment_change_lines(&lines, &w->changes[i], 120);
		if (lines.len)
			log_info("%s", lines.data);
	}
	buf_release(&lines);
}

/* The what-if as the summary shows it: the counts, and each change. */
static void view_what_if(struct infra_deployment *d)
{
	const struct arm_deployment_whatif *w = &d->whatif;
	size_t counts[ARM_DEPLOYMENT_CHANGE_COUNT], i;
	int k;

	arm_deployment_whatif_count(counts, w);
	for (k = 0; k < ARM_DEPLOYMENT_CHANGE_COUNT; k++)
		if (counts[k])
			buf_addf(&d->change_counts, "%s %zu %s", d->change_counts.len ? "," : "",
				 counts[k], arm_deployment_change_type_name(k));
	d->changes = xcalloc(w->n_changes ? w->n_changes : 1, sizeof(*d->changes));
	d->changes_nr = w->n_changes;
	for (i = 0; i < w->n_changes; i++) {
		struct buf lines = BUF_INIT;

		d->changes[i].type = arm_deployment_change_type_name(w->changes[i].type);
		d->changes[i].resource_id = w->changes[i].resource_id;
		if (!w->changes[i].n_delta)
			continue;
		arm_deployment_change_lines(&lines, &w->changes[i], 200);
		d->changes[i].details = buf_detach(&lines, NULL);
	}
}

int infra_preview(struct infra_plan *plan, size_t i, const struct infra_target *t)
{
	struct arm_deployment_target target;
	struct arm_deployment_request req;
	struct infra_deployment *d = aim(&target, &req, plan, i, t);
	int ret;

	if ((ret = arm_deployment_validate(&d->validation, &target, &req)) ||
	    (ret = arm_deployment_what_if(&d->whatif, &target, &req)))
		return ret;
	log_what_if(d->template->name, &d->whatif);
	view_what_if(d);
	return 0;
}

/* Template outputs: secure ones never leave the program. */
static void view_outputs(struct infra_deployment *d)
{
	const struct arm_deployment_result *r = &d->result;
	size_t i;

	d->outputs = xcalloc(r->n_outputs ? r->n_outputs : 1, sizeof(*d->outputs));
	d->outputs_nr = r->n_outputs;
	for (i = 0; i < r->n_outputs; i++) {
		const struct arm_deployment_output *o = &r->outputs[i];
		struct infra_output *v = &d->outputs[i];
		struct buf text = BUF_INIT;

		if (o->secure || !o->value)
			buf_addstr(&text, "***");
		else if (cJSON_IsString(o->value))
			buf_addstr(&text, o->value->valuestring);
		else
			json_write(&text, o->value);
		v->name = o->name;
		v->type = o->type;
		v->text = buf_detach(&text, NULL);
		v->emit = !o->secure && o->value;
		v->value = o->value;
	}
}

int infra_deploy(struct infra_plan *plan, size_t i, const struct infra_target *t)
{
	struct arm_deployment_target target;
	struct arm_deployment_request req;
	struct infra_deployment *d = aim(&target, &req, plan, i, t);
	int ret;

	log_info("deploying %s to resource group %s (%s mode)", d->name.data, t->resource_group,
		 t->mode == ARM_DEPLOYMENT_COMPLETE ? "Complete" : "Incremental");
	ret = arm_deployment_deploy(&d->result, &target, &req);
	d->state = d->result.provisioning_state ? d->result.provisioning_state
		   : ret ? "Failed" : "Succeeded";
	if (ret)
		return ret;
	cJSON_AddItemToArray(plan->names, cJSON_CreateString(d->name.data));
	view_outputs(d);
	return 0;
}

void infra_keep_output(struct infra_plan *plan, const struct infra_output *o)
{
	cJSON_DeleteItemFromObjectCaseSensitive(plan->outputs, o->name);
	json_add_copy(plan->outputs, o->name, o->value);
}

static void deployment_release(struct infra_deployment *d)
{
	size_t i;

	buf_release(&d->name);
	cJSON_Delete(d->parameters);
	arm_deployment_validation_release(&d->validation);
	arm_deployment_whatif_release(&d->whatif);
	buf_release(&d->change_counts);
	for (i = 0; i < d->changes_nr; i++)
		free(d->changes[i].details);
	free(d->changes);
	arm_deployment_result_release(&d->result);
	for (i = 0; i < d->outputs_nr; i++)
		free(d->outputs[i].text);
	free(d->outputs);
}

void infra_release(struct infra_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->nr; i++)
		deployment_release(&plan->items[i]);
	free(plan->items);
	templates_release(&plan->templates);
	cJSON_Delete(plan->names);
	cJSON_Delete(plan->outputs);
	memset(plan, 0, sizeof(*plan));
}
