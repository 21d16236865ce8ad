#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azure/arm_deployment.h"
#include "azure/arm_deployment_internal.h"
#include "core/error.h"
#include "core/json.h"
#include "core/banned.h"

/*
 * What ARM answers, read into the typed structs of arm_deployment.h: the
 * validation result, the what-if result (and its lines), the deployment
 * result with its outputs, and the failed operation. Pure: no network.
 */

/* ---- small parsing helpers ------------------------------------------------------ */

/* Whether a lookup that answered `ret` found the member absent or null:
 * then its error is cleared, an optional member being no error. */
static int absent(int ret, const cJSON *json, const char *path)
{
	if (ret != ERR_NOT_FOUND && !(ret == ERR_JSON && cJSON_IsNull(json_find(json, path))))
		return 0;
	error_clear();
	return 1;
}

/* A string member that may be absent (NULL) but not of another type. */
static int opt_string(char **out, const cJSON *json, const char *path)
{
	const char *s;
	int ret = json_get_string(&s, json, path);

	*out = NULL;
	if (absent(ret, json, path))
		return 0;
	if (ret)
		return ret;
	*out = xstrdup(s);
	return 0;
}

/* An array member that may be absent (NULL, 0 items). */
static int opt_array(const cJSON **out, const cJSON *json, const char *path)
{
	int ret = json_get_array(out, json, path);

	if (!absent(ret, json, path))
		return ret;
	*out = NULL;
	return 0;
}

/* Zeroed room for the items of an optional array member, one spare so an
 * empty array still gets some; NULL (and `*list` NULL) when it is absent,
 * or on an error, then in `*ret`. */
static void *opt_array_room(int *ret, const cJSON **list, size_t item_size, const cJSON *json,
			    const char *path)
{
	if ((*ret = opt_array(list, json, path)) || !*list)
		return NULL;
	return xcalloc((size_t)cJSON_GetArraySize(*list) + 1, item_size);
}

/* The ids of an optional array of {id} objects; items without one are skipped. */
static int parse_ids(char ***out, size_t *n_out, const cJSON *json, const char *path)
{
	const cJSON *list, *item;
	size_t n = 0;
	int ret;

	*n_out = 0;
	if (!(*out = opt_array_room(&ret, &list, sizeof(**out), json, path)))
		return ret;
	cJSON_ArrayForEach(item, list) {
		const char *id = json_string_or(item, "id", NULL);

		if (id)
			(*out)[n++] = xstrdup(id);
	}
	*n_out = n;
	return 0;
}

static void diagnostics_free(struct arm_deployment_diagnostic *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(d[i].level);
		free(d[i].code);
		free(d[i].message);
	}
	free(d);
}

static void ids_free(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static int parse_diagnostics(struct arm_deployment_diagnostic **out, size_t *n_out,
			     const cJSON *json, const char *path)
{
	const cJSON *list, *item;
	size_t n = 0;
	int ret;

	*n_out = 0;
	if (!(*out = opt_array_room(&ret, &list, sizeof(**out), json, path)))
		return ret;
	cJSON_ArrayForEach(item, list) {
		(*out)[n].level = xstrdup(json_string_or(item, "level", "Warning"));
		(*out)[n].code = xstrdup(json_string_or(item, "code", ""));
		(*out)[n].message = xstrdup(json_string_or(item, "message", ""));
		n++;
	}
	*n_out = n;
	return 0;
}

/* ---- validate ---------------------------------------------------------------------- */

void arm_deployment_validation_init(struct arm_deployment_validation *v)
{
	memset(v, 0, sizeof(*v));
}

void arm_deployment_validation_release(struct arm_deployment_validation *v)
{
	if (!v)
		return;
	free(v->provisioning_state);
	ids_free(v->validated_resources, v->n_validated_resources);
	diagnostics_free(v->diagnostics, v->n_diagnostics);
	arm_deployment_validation_init(v);
}

int arm_deployment_validation_parse(struct arm_deployment_validation *out, const cJSON *json)
{
	int ret;

	arm_deployment_validation_release(out);
	if ((ret = opt_string(&out->provisioning_state, json, "properties.provisioningState")) ||
	    (ret = parse_ids(&out->validated_resources, &out->n_validated_resources, json,
			     "properties.validatedResources")) ||
	    (ret = parse_diagnostics(&out->diagnostics, &out->n_diagnostics, json,
				     "properties.diagnostics")))
		error_prefix("deployment validation result");
	return ret;
}

/* ---- what-if ------------------------------------------------------------------------- */

static const char *const change_names[ARM_DEPLOYMENT_CHANGE_COUNT] = {
	[ARM_DEPLOYMENT_CHANGE_CREATE] = "Create",
	[ARM_DEPLOYMENT_CHANGE_DELETE] = "Delete",
	[ARM_DEPLOYMENT_CHANGE_IGNORE] = "Ignore",
	[ARM_DEPLOYMENT_CHANGE_DEPLOY] = "Deploy",
	[ARM_DEPLOYMENT_CHANGE_NO_CHANGE] = "NoChange",
	[ARM_DEPLOYMENT_CHANGE_MODIFY] = "Modify",
	[ARM_DEPLOYMENT_CHANGE_UNSUPPORTED] = "Unsupported",
};

static const char *const property_change_names[] = {
	[ARM_DEPLOYMENT_PROPERTY_CREATE] = "Create",
	[ARM_DEPLOYMENT_PROPERTY_DELETE] = "Delete",
	[ARM_DEPLOYMENT_PROPERTY_MODIFY] = "Modify",
	[ARM_DEPLOYMENT_PROPERTY_ARRAY] = "Array",
	[ARM_DEPLOYMENT_PROPERTY_NO_EFFECT] = "NoEffect",
};

const char *arm_deployment_change_type_name(enum arm_deployment_change_type type)
{
	return (unsigned)type < ARM_DEPLOYMENT_CHANGE_COUNT ? change_names[type] : "Unknown";
}

const char *arm_deployment_property_change_name(enum arm_deployment_property_change change)
{
	return (unsigned)change <= ARM_DEPLOYMENT_PROPERTY_NO_EFFECT ? property_change_names[change] : "Unknown";
}

void arm_deployment_whatif_init(struct arm_deployment_whatif *w)
{
	memset(w, 0, sizeof(*w));
}

static void deltas_free(struct arm_deployment_delta *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(d[i].path);
		cJSON_Delete(d[i].before);
		cJSON_Delete(d[i].after);
		deltas_free(d[i].children, d[i].n_children);
	}
	free(d);
}

void arm_deployment_whatif_release(struct arm_deployment_whatif *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->n_changes; i++) {
		free(w->changes[i].resource_id);
		free(w->changes[i].unsupported_reason);
		deltas_free(w->changes[i].delta, w->changes[i].n_delta);
	}
	free(w->changes);
	free(w->status);
	diagnostics_free(w->diagnostics, w->n_diagnostics);
	arm_deployment_whatif_init(w);
}

/* Azure's what-if nests arrays of arrays; a bound keeps a hostile reply
 * from exhausting the stack. */
#define MAX_DELTA_DEPTH 32

static int parse_deltas(struct arm_deployment_delta **out, size_t *n_out, const cJSON *list, int depth)
{
	const cJSON *item, *children;
	size_t n = 0;
	const char *kind;
	int ret = 0;

	*out = NULL;
	*n_out = 0;
	if (!list)
		return 0;
	if (!cJSON_IsArray(list))
		return error_set(ERR_JSON, "'delta' is %s, not an array", json_type_name(list));
	if (depth > MAX_DELTA_DEPTH)
		return error_set(ERR_JSON, "'delta' nests deeper than %d levels", MAX_DELTA_DEPTH);
	*out = xcalloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(**out));
	cJSON_ArrayForEach(item, list) {
		struct arm_deployment_delta *d = &(*out)[n++];

		*n_out = n;
		d->path = xstrdup(json_string_or(item, "path", ""));
		kind = json_string_or(item, "propertyChangeType", "");
		if (!strcmp(kind, "Create"))
			d->change = ARM_DEPLOYMENT_PROPERTY_CREATE;
		else if (!strcmp(kind, "Delete"))
			d->change = ARM_DEPLOYMENT_PROPERTY_DELETE;
		else if (!strcmp(kind, "Array"))
			d->change = ARM_DEPLOYMENT_PROPERTY_ARRAY;
		else if (!strcmp(kind, "NoEffect"))
			d->change = ARM_DEPLOYMENT_PROPERTY_NO_EFFECT;
		else
			d->change = ARM_DEPLOYMENT_PROPERTY_MODIFY; /* Modify, and any newer kind */
		d->before = json_duplicate(cJSON_GetObjectItemCaseSensitive(item, "before"));
		d->after = json_duplicate(cJSON_GetObjectItemCaseSensitive(item, "after"));
		children = cJSON_GetObjectItemCaseSensitive(item, "children");
		if (cJSON_IsNull(children))
			children = NULL;
		if ((ret = parse_deltas(&d->children, &d->n_children, children, depth + 1)))
			break;
	}
	return ret;
}

static enum arm_deployment_change_type change_type(const char *s)
{
	int i;

	for (i = 0; i < ARM_DEPLOYMENT_CHANGE_COUNT; i++)
		if (!strcmp(s, change_names[i]))
			return (enum arm_deployment_change_type)i;
	return ARM_DEPLOYMENT_CHANGE_UNSUPPORTED;
}

static int parse_change(struct arm_deployment_change *c, const cJSON *item)
{
	const char *type = json_string_or(item, "changeType", "");
	const cJSON *delta = cJSON_GetObjectItemCaseSensitive(item, "delta");
	int ret;

	if ((ret = opt_string(&c->resource_id, item, "resourceId")) ||
	    (ret = opt_string(&c->unsupported_reason, item, "unsupportedReason")))
		return ret;
	if (!c->resource_id)
		c->resource_id = xstrdup(json_string_or(item, "identifiers.id", "(unnamed resource)"));
	c->type = change_type(type);
	/* A change type newer than this code is shown as Unsupported, with why. */
	if (c->type == ARM_DEPLOYMENT_CHANGE_UNSUPPORTED && strcmp(type, "Unsupported") && !c->unsupported_reason)
		c->unsupported_reason = xasprintf("change type '%s' is not known to this version", type);
	return parse_deltas(&c->delta, &c->n_delta, cJSON_IsNull(delta) ? NULL : delta, 0);
}

int arm_deployment_whatif_parse(struct arm_deployment_whatif *out, const cJSON *json)
{
	const cJSON *changes, *item;
	struct buf text = BUF_INIT;
	size_t n = 0;
	int ret;

	arm_deployment_whatif_release(out);
	if ((ret = opt_string(&out->status, json, "status")))
		goto done;
	if (out->status && !arm_state_succeeded(out->status) && json_find(json, "error")) {
		arm_error_text(&text, json);
		ret = error_set(ERR_REMOTE_FAILED, "what-if %s: %s", out->status, text.data);
		goto done;
	}
	if ((ret = opt_array(&changes, json, "properties.changes")))
		goto done;
	out->changes = xcalloc((size_t)cJSON_GetArraySize(changes) + 1, sizeof(*out->changes));
	cJSON_ArrayForEach(item, changes) {
		out->n_changes = ++n;
		if ((ret = parse_change(&out->changes[n - 1], item)))
			goto done;
	}
	ret = parse_diagnostics(&out->diagnostics, &out->n_diagnostics, json, "properties.diagnostics");
done:
	if (ret && ret != ERR_REMOTE_FAILED)
		error_prefix("what-if result");
	buf_release(&text);
	return ret;
}

void arm_deployment_whatif_count(size_t counts[ARM_DEPLOYMENT_CHANGE_COUNT], const struct arm_deployment_whatif *w)
{
	size_t i;

	memset(counts, 0, ARM_DEPLOYMENT_CHANGE_COUNT * sizeof(*counts));
	for (i = 0; i < w->n_changes; i++)
		if ((unsigned)w->changes[i].type < ARM_DEPLOYMENT_CHANGE_COUNT)
			counts[w->changes[i].type]++;
}

static void add_value(struct buf *out, const cJSON *v, size_t max)
{
	struct buf text = BUF_INIT;

	if (!v) {
		buf_addstr(out, "(none)");
		return;
	}
	json_write(&text, v);
	if (max && text.len > max) {
		/* Cut on a UTF-8 character boundary, then mark the cut. */
		size_t cut = max;

		while (cut > 0 && ((unsigned char)text.data[cut] & 0xC0) == 0x80)
			cut--;
		buf_setlen(&text, cut);
		buf_addstr(&text, "...");
	}
	buf_add(out, text.data, text.len);
	buf_release(&text);
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static void delta_lines(struct buf *out, const struct arm_deployment_delta *d, size_t n,
			const char *prefix, size_t max)
{
	struct buf path = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		buf_reset(&path);
		buf_addstr(&path, prefix);
		if (*prefix && all_digits(d[i].path))
			buf_addf(&path, "[%s]", d[i].path);
		else
			buf_addf(&path, "%s%s", *prefix && *d[i].path ? "." : "", d[i].path);
		if (d[i].change == ARM_DEPLOYMENT_PROPERTY_NO_EFFECT)
			continue;
		if (d[i].change == ARM_DEPLOYMENT_PROPERTY_ARRAY && d[i].n_children) {
			delta_lines(out, d[i].children, d[i].n_children, path.data, max);
			continue;
		}
		buf_addf(out, "%s: ", path.data);
		add_value(out, d[i].before, max);
		buf_addstr(out, " -> ");
		add_value(out, d[i].after, max);
		buf_addch(out, '\n');
	}
	buf_release(&path);
}

void arm_deployment_change_lines(struct buf *out, const struct arm_deployment_change *c, size_t max_value)
{
	delta_lines(out, c->delta, c->n_delta, "", max_value);
}

/* ---- the deployment and its result ------------------------------------------------------ */

void arm_deployment_failure_init(struct arm_deployment_failure *f)
{
	memset(f, 0, sizeof(*f));
}

void arm_deployment_failure_release(struct arm_deployment_failure *f)
{
	if (!f)
		return;
	free(f->resource_type);
	free(f->resource_name);
	free(f->resource_id);
	free(f->code);
	free(f->message);
	arm_deployment_failure_init(f);
}

int arm_deployment_failure_find(struct arm_deployment_failure *out, const cJSON *operations)
{
	const cJSON *op, *err;

	arm_deployment_failure_release(out);
	cJSON_ArrayForEach(op, operations) {
		if (strcmp(json_string_or(op, "properties.provisioningState", ""), "Failed"))
			continue;
		out->resource_type = xstrdup(json_string_or(op, "properties.targetResource.resourceType", ""));
		out->resource_name = xstrdup(json_string_or(op, "properties.targetResource.resourceName", ""));
		out->resource_id = xstrdup(json_string_or(op, "properties.targetResource.id", ""));
		/* statusMessage is {status, error{code, message}}, though older
		 * answers hold the error bare or as a plain string. */
		err = json_find(op, "properties.statusMessage.error");
		if (!err)
			err = json_find(op, "properties.statusMessage");
		out->code = xstrdup(json_string_or(err, "code",
						   json_string_or(op, "properties.statusCode", "Failed")));
		out->message = xstrdup(cJSON_IsString(err) ? err->valuestring
				       : json_string_or(err, "message", "no message given"));
		return 0;
	}
	return error_set(ERR_NOT_FOUND, "no deployment operation failed");
}

void arm_deployment_result_init(struct arm_deployment_result *r)
{
	memset(r, 0, sizeof(*r));
}

static void outputs_free(struct arm_deployment_output *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(o[i].name);
		free(o[i].type);
		cJSON_Delete(o[i].value);
	}
	free(o);
}

void arm_deployment_result_release(struct arm_deployment_result *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->name);
	free(r->provisioning_state);
	free(r->duration);
	free(r->correlation_id);
	free(r->timestamp);
	free(r->mode);
	outputs_free(r->outputs, r->n_outputs);
	ids_free(r->output_resources, r->n_output_resources);
	free(r->error_code);
	free(r->error_message);
	arm_deployment_failure_release(&r->failure);
	arm_deployment_result_init(r);
}

static int parse_outputs(struct arm_deployment_result *out, const cJSON *json)
{
	const cJSON *outputs = json_find(json, "properties.outputs"), *o;
	size_t n = 0;

	if (!outputs || cJSON_IsNull(outputs))
		return 0;
	if (!cJSON_IsObject(outputs))
		return error_set(ERR_JSON, "'properties.outputs' is %s, not an object", json_type_name(outputs));
	out->outputs = xcalloc((size_t)cJSON_GetArraySize(outputs) + 1, sizeof(*out->outputs));
	cJSON_ArrayForEach(o, outputs) {
		struct arm_deployment_output *d = &out->outputs[n++];

		out->n_outputs = n;
		d->name = xstrdup(o->string);
		d->type = xstrdup(json_string_or(o, "type", "String"));
		d->secure = arm_deployment_secure_type(d->type);
		d->value = json_duplicate(cJSON_GetObjectItemCaseSensitive(o, "value"));
		/* ARM leaves secure values out; should one come anyway, it is
		 * masked before any line could carry it. */
		if (d->secure && d->value)
			arm_deployment_mask_value(d->value);
	}
	return 0;
}

int arm_deployment_result_parse(struct arm_deployment_result *out, const cJSON *json)
{
	int ret;

	arm_deployment_result_release(out);
	if ((ret = opt_string(&out->id, json, "id")) ||
	    (ret = opt_string(&out->name, json, "name")) ||
	    (ret = opt_string(&out->provisioning_state, json, "properties.provisioningState")) ||
	    (ret = opt_string(&out->duration, json, "properties.duration")) ||
	    (ret = opt_string(&out->correlation_id, json, "properties.correlationId")) ||
	    (ret = opt_string(&out->timestamp, json, "properties.timestamp")) ||
	    (ret = opt_string(&out->mode, json, "properties.mode")) ||
	    (ret = opt_string(&out->error_code, json, "properties.error.code")) ||
	    (ret = opt_string(&out->error_message, json, "properties.error.message")) ||
	    (ret = parse_outputs(out, json)) ||
	    (ret = parse_ids(&out->output_resources, &out->n_output_resources, json,
			     "properties.outputResources")))
		error_prefix("deployment result");
	return ret;
}

const struct arm_deployment_output *arm_deployment_output_find(const struct arm_deployment_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_outputs; i++)
		if (!strcasecmp(r->outputs[i].name, name))
			return &r->outputs[i];
	return NULL;
}
