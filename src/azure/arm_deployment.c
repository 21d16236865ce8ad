#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azure/arm_deployment.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

/* ---- names and paths ------------------------------------------------------- */

static int name_char_ok(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '(' || c == ')';
}

int arm_deployment_name_check(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (n < 1 || n > 64)
		return error_set(ERR_INPUT, "deployment name '%s' must be 1-64 characters",
				 name ? name : "");
	for (i = 0; i < n; i++)
		if (!name_char_ok((unsigned char)name[i]))
			return error_set(ERR_INPUT, "deployment name '%s' may hold only letters, digits, "
					 "'-', '_', '.', '(' and ')'", name);
	return 0;
}

/* Resource-group names follow the same alphabet, 1-90 long and not ending
 * in '.' [ARM naming rules]; checked so nothing odd reaches the URL path. */
static int resource_group_check(const char *rg)
{
	size_t i, n = rg ? strlen(rg) : 0;

	if (n < 1 || n > 90 || rg[n - 1] == '.')
		return error_set(ERR_INPUT, "resource group '%s' must be 1-90 characters, not ending in '.'",
				 rg ? rg : "");
	for (i = 0; i < n; i++)
		if (!name_char_ok((unsigned char)rg[i]))
			return error_set(ERR_INPUT, "resource group '%s' may hold only letters, digits, "
					 "'-', '_', '.', '(' and ')'", rg);
	return 0;
}

/* ".../deployments/{name}" plus `suffix`, after checking both names. */
static int deployment_path(struct buf *out, const struct arm_deployment_target *t, const char *suffix)
{
	int ret;

	if ((ret = resource_group_check(t->resource_group)) || (ret = arm_deployment_name_check(t->name)))
		return ret;
	buf_addf(out, "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.Resources/deployments/%s%s",
		 t->arm->subscription_id, t->resource_group, t->name, suffix ? suffix : "");
	return 0;
}

static cJSON *dup_json(const cJSON *item)
{
	cJSON *copy;

	if (!item)
		return NULL;
	if (!(copy = cJSON_Duplicate(item, 1)))
		abort(); /* out of memory: the same decision as buf */
	return copy;
}

/* ---- secure values ---------------------------------------------------------- */

int arm_deployment_secure_type(const char *type)
{
	return !strcasecmp(type, "securestring") || !strcasecmp(type, "secureobject");
}

/* Masks every string inside a secure value, and the value's JSON text. */
void arm_deployment_mask_value(const cJSON *value)
{
	const cJSON *child;
	struct buf text = BUF_INIT;

	if (cJSON_IsString(value)) {
		if (*value->valuestring)
			log_secret(value->valuestring);
		return;
	}
	cJSON_ArrayForEach(child, value)
		arm_deployment_mask_value(child);
	if (cJSON_IsObject(value) || cJSON_IsArray(value)) {
		json_write(&text, value);
		log_secret(text.data);
		buf_wipe(&text);
	}
}

/* ---- the body ----------------------------------------------------------------- */

int arm_deployment_body(cJSON **out, const struct arm_deployment_request *req)
{
	cJSON *body = json_new_object(), *props, *link, *on_error;
	int ret = 0;

	*out = NULL;
	/* Exactly one of template and templateLink [contract 2, request rules]. */
	if (!req->template == !req->template_uri) {
		ret = error_set(ERR_INPUT, "a deployment needs either a template or a template link, not %s",
				req->template ? "both" : "neither");
		goto done;
	}
	if (req->template && !cJSON_IsObject(req->template)) {
		ret = error_set(ERR_INPUT, "the template is not a JSON object");
		goto done;
	}
	if (req->parameters && !cJSON_IsObject(req->parameters)) {
		ret = error_set(ERR_INPUT, "the deployment parameters are not a JSON object");
		goto done;
	}
	if (req->tags && !cJSON_IsObject(req->tags)) {
		ret = error_set(ERR_INPUT, "the deployment tags are not a JSON object");
		goto done;
	}
	if (req->location && *req->location)
		json_add_string(body, "location", req->location);
	if (req->tags)
		cJSON_AddItemToObject(body, "tags", dup_json(req->tags));
	props = json_add_object(body, "properties");
	json_add_string(props, "mode", req->mode == ARM_DEPLOYMENT_COMPLETE ? "Complete" : "Incremental");
	if (req->template) {
		cJSON_AddItemToObject(props, "template", dup_json(req->template));
	} else {
		link = json_add_object(props, "templateLink");
		json_add_string(link, "uri", req->template_uri);
		if (req->template_query && *req->template_query)
			json_add_string(link, "queryString", req->template_query);
	}
	/* Always sent, even empty, as the official examples do. */
	if (req->parameters)
		cJSON_AddItemToObject(props, "parameters", dup_json(req->parameters));
	else
		json_add_object(props, "parameters");
	switch (req->on_error) {
	case ARM_DEPLOYMENT_ON_ERROR_NONE:
		break;
	case ARM_DEPLOYMENT_ON_ERROR_LAST_SUCCESSFUL:
		on_error = json_add_object(props, "onErrorDeployment");
		json_add_string(on_error, "type", "LastSuccessful");
		break;
	case ARM_DEPLOYMENT_ON_ERROR_SPECIFIC:
		if (!req->on_error_deployment || !*req->on_error_deployment) {
			ret = error_set(ERR_INPUT, "onErrorDeployment SpecificDeployment needs a deployment name");
			goto done;
		}
		if ((ret = arm_deployment_name_check(req->on_error_deployment)))
			goto done;
		on_error = json_add_object(props, "onErrorDeployment");
		json_add_string(on_error, "type", "SpecificDeployment");
		json_add_string(on_error, "deploymentName", req->on_error_deployment);
		break;
	}
	*out = body;
	body = NULL;
done:
	cJSON_Delete(body);
	return ret;
}

/* ---- small parsing helpers ------------------------------------------------------ */

/* A string member that may be absent (NULL) but not of another type. */
static int opt_string(char **out, const cJSON *json, const char *path)
{
	const char *s;
	int ret = json_get_string(&s, json, path);

	*out = NULL;
	if (ret == ERR_NOT_FOUND || (ret == ERR_JSON && cJSON_IsNull(json_find(json, path)))) {
		error_clear();
		return 0;
	}
	if (ret)
		return ret;
	*out = xstrdup(s);
	return 0;
}

/* An array member that may be absent (NULL, 0 items). */
static int opt_array(const cJSON **out, const cJSON *json, const char *path)
{
	int ret = json_get_array(out, json, path);

	if (ret == ERR_NOT_FOUND || (ret == ERR_JSON && cJSON_IsNull(json_find(json, path)))) {
		error_clear();
		*out = NULL;
		return 0;
	}
	return ret;
}

static int parse_ids(char ***out, size_t *n_out, const cJSON *json, const char *path)
{
	const cJSON *list, *item;
	size_t n = 0;
	int ret;

	*out = NULL;
	*n_out = 0;
	if ((ret = opt_array(&list, json, path)) || !list)
		return ret;
	*out = xcalloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(char *));
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

	*out = NULL;
	*n_out = 0;
	if ((ret = opt_array(&list, json, path)) || !list)
		return ret;
	*out = xcalloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(**out));
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

/* Parses a DeploymentValidateResult. ERR_JSON on wrong types. */
static int arm_deployment_validation_parse(struct arm_deployment_validation *out, const cJSON *json)
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

/* The deepest first detail of an ARM error: preflight failures nest the
 * useful one ("AccountNameInvalid", target "a") two levels down, under
 * PreflightValidationCheckFailed [example PostDeploymentValidateOnResourceGroup 400]. */
static const cJSON *innermost_detail(const cJSON *err)
{
	const cJSON *d;

	while ((d = json_find(err, "details[0]")) && cJSON_IsObject(d))
		err = d;
	return err;
}

/* Puts the innermost detail of ARM's 400 in front of arm_call's message,
 * so the first words say what is wrong with which resource. */
static int explain_rejection(int ret, const char *what, const struct arm_response *r)
{
	const cJSON *err = json_find(r->json, "error"), *inner;
	const char *code, *message, *target;

	if (!cJSON_IsObject(err) || r->status != 400)
		return error_prefix("%s", what);
	inner = innermost_detail(err);
	if (inner == err)
		return error_prefix("%s", what);
	code = json_string_or(inner, "code", "");
	message = json_string_or(inner, "message", "");
	target = json_string_or(inner, "target", NULL);
	if (target && *target)
		error_prefix("%s: %s on resource '%s': %s", what, code, target, message);
	else
		error_prefix("%s: %s: %s", what, code, message);
	return ret;
}

/*
 * POSTs an action (validate, whatIf) and returns its final answer: the 200
 * itself, or what its 202's Location ends with [contract 2: validate and
 * whatIf answer 200, or 202 + Location].
 */
static int post_action(struct arm_response *final, const struct arm_deployment_target *t,
		       const struct arm_deployment_request *req, const char *action, const char *verb)
{
	struct arm_response started = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT, what = BUF_INIT;
	cJSON *body = NULL;
	int ret;

	if ((ret = deployment_path(&path, t, action)) || (ret = arm_deployment_body(&body, req)))
		goto done;
	buf_addf(&what, "%s deployment %s", verb, t->name);
	if ((ret = arm_call(t->arm, "POST", path.data, ARM_DEPLOYMENT_API_VERSION, body, &started))) {
		ret = explain_rejection(ret, what.data, &started);
		goto done;
	}
	if (started.status != 202) {
		*final = started;
		started = (struct arm_response)ARM_RESPONSE_INIT;
		goto done;
	}
	/* No resource path: the answer lives at the Location, not at the deployment. */
	if ((ret = arm_wait(t->arm, &started, NULL, ARM_DEPLOYMENT_API_VERSION, what.data,
			    t->timeout_s, final))) {
		ret = explain_rejection(ret, what.data, final);
		goto done;
	}
done:
	arm_response_release(&started);
	cJSON_Delete(body);
	buf_release(&path);
	buf_release(&what);
	return ret;
}

int arm_deployment_validate(struct arm_deployment_validation *out, const struct arm_deployment_target *t,
			const struct arm_deployment_request *req)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	int ret;

	arm_deployment_validation_release(out);
	if (!(ret = post_action(&r, t, req, "/validate", "validate")))
		ret = arm_deployment_validation_parse(out, r.json);
	arm_response_release(&r);
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
		d->before = dup_json(cJSON_GetObjectItemCaseSensitive(item, "before"));
		d->after = dup_json(cJSON_GetObjectItemCaseSensitive(item, "after"));
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

int arm_deployment_what_if(struct arm_deployment_whatif *out, const struct arm_deployment_target *t,
		       const struct arm_deployment_request *req)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	int ret;

	arm_deployment_whatif_release(out);
	if (!(ret = post_action(&r, t, req, "/whatIf", "what-if")))
		ret = arm_deployment_whatif_parse(out, r.json);
	arm_response_release(&r);
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
		d->value = dup_json(cJSON_GetObjectItemCaseSensitive(o, "value"));
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

int arm_deployment_get(struct arm_deployment_result *out, const struct arm_deployment_target *t)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	int ret;

	arm_deployment_result_release(out);
	if (!(ret = deployment_path(&path, t, NULL)) &&
	    !(ret = arm_call(t->arm, "GET", path.data, ARM_DEPLOYMENT_API_VERSION, NULL, &r)))
		ret = arm_deployment_result_parse(out, r.json);
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

/* The first failed operation of the deployment (GET .../operations, all
 * pages). ERR_NOT_FOUND when no operation failed. */
static int arm_deployment_failed_operation(struct arm_deployment_failure *out, const struct arm_deployment_target *t)
{
	struct buf path = BUF_INIT;
	cJSON *ops = NULL;
	int ret;

	arm_deployment_failure_release(out);
	if (!(ret = deployment_path(&path, t, "/operations")) &&
	    !(ret = arm_list(t->arm, path.data, ARM_DEPLOYMENT_API_VERSION, &ops)))
		ret = arm_deployment_failure_find(out, ops);
	cJSON_Delete(ops);
	buf_release(&path);
	return ret;
}

int arm_deployment_cancel(const struct arm_deployment_target *t)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	int ret;

	if (!(ret = deployment_path(&path, t, "/cancel")))
		ret = arm_call(t->arm, "POST", path.data, ARM_DEPLOYMENT_API_VERSION, NULL, &r);
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

/*
 * A deployment that ended Failed: ARM's own error says only "At least one
 * resource deployment operation failed. Please list deployment operations"
 * [contract 2; obs], so we do: the first failed operation names the
 * resource and its real error. The message arm_wait set stays, behind it.
 * Reading the result and the operations is best effort: if either fails,
 * the original error is restored and returned unchanged.
 */
static int explain_failure(struct arm_deployment_result *out, const struct arm_deployment_target *t, int ret)
{
	struct error_saved original = ERROR_SAVED_INIT;
	struct arm_deployment_failure failure;

	error_save(&original);
	arm_deployment_failure_init(&failure);
	if (arm_deployment_get(out, t))
		log_debug("deployment %s: could not read the failed deployment: %s", t->name, error_message());
	if (arm_deployment_failed_operation(&failure, t)) {
		log_debug("deployment %s: no failed operation found: %s", t->name, error_message());
		error_restore(&original);
		goto done;
	}
	error_restore(&original);
	error_prefix("deployment %s: resource %s '%s' failed: %s: %s", t->name, failure.resource_type,
		     failure.resource_name, failure.code, failure.message);
	arm_deployment_failure_release(&out->failure);
	out->failure = failure;
	arm_deployment_failure_init(&failure);
done:
	arm_deployment_failure_release(&failure);
	error_saved_release(&original);
	return ret;
}

/*
 * A PUT answered 409 DeploymentActive: when the active deployment is the
 * one this PUT started (its correlationId is ours), the first attempt
 * reached ARM and only its answer was lost, then the HTTP client sent it
 * again. `*started` becomes the deployment as it stands, to be followed;
 * returns 1. 0 (the conflict stands) when it is someone else's or cannot
 * be read.
 */
static int attach_to_own(struct arm_response *started, const struct arm_deployment_target *t,
			 const char *path, const char *correlation)
{
	struct arm_response got = ARM_RESPONSE_INIT;
	struct error_saved original = ERROR_SAVED_INIT;
	const char *theirs;
	int ours = 0;

	error_save(&original);

	/* A first attempt cannot have met its own deployment. */
	if (started->http.attempts < 2 ||
	    strcmp(json_string_or(started->json, "error.code", ""), "DeploymentActive"))
		goto done;
	if (arm_call(t->arm, "GET", path, ARM_DEPLOYMENT_API_VERSION, NULL, &got)) {
		log_debug("deployment %s: could not read the active deployment: %s", t->name,
			  error_message());
		goto done;
	}
	theirs = json_string_or(got.json, "properties.correlationId", "");
	if (!(ours = !strcasecmp(theirs, correlation)))
		goto done;
	log_info("deployment %s: the PUT was sent again after its answer was lost (%d attempts); "
		 "the deployment it started is running: following it", t->name, started->http.attempts);
	arm_response_release(started);
	*started = got;
	got = (struct arm_response)ARM_RESPONSE_INIT;
done:
	if (!ours)
		error_restore(&original);
	else
		error_clear();
	arm_response_release(&got);
	error_saved_release(&original);
	return ours;
}

int arm_deployment_deploy(struct arm_deployment_result *out, const struct arm_deployment_target *t,
		      const struct arm_deployment_request *req)
{
	struct arm_response started = ARM_RESPONSE_INIT, final = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT, what = BUF_INIT, correlation = BUF_INIT, header = BUF_INIT;
	const char *headers[2];
	cJSON *body = NULL;
	int ret;

	arm_deployment_result_release(out);
	if ((ret = deployment_path(&path, t, NULL)) || (ret = arm_deployment_body(&body, req)))
		goto done;
	buf_addf(&what, "deployment %s", t->name);
	/* ARM records the deployment under the correlation id we send
	 * (properties.correlationId): how a retried PUT knows its own. */
	random_uuid(&correlation);
	buf_addf(&header, "x-ms-correlation-request-id: %s", correlation.data);
	headers[0] = header.data;
	headers[1] = NULL;
	ret = arm_call_headers(t->arm, "PUT", path.data, ARM_DEPLOYMENT_API_VERSION, headers, body, &started);
	if (ret == ERR_CONFLICT && attach_to_own(&started, t, path.data, correlation.data))
		ret = 0;
	if (ret) {
		ret = explain_rejection(ret, what.data, &started);
		goto done;
	}
	ret = arm_wait(t->arm, &started, path.data, ARM_DEPLOYMENT_API_VERSION, what.data,
		       t->timeout_s, &final);
	/* Ended Failed, or Canceled in Azure (our own stop leaves it running). */
	if (ret == ERR_REMOTE_FAILED ||
	    (ret == ERR_CANCELLED && !(t->arm->stop && *t->arm->stop))) {
		ret = explain_failure(out, t, ret);
		goto done;
	}
	if (ret)
		goto done;
	ret = arm_deployment_result_parse(out, final.json ? final.json : started.json);
done:
	arm_response_release(&started);
	arm_response_release(&final);
	cJSON_Delete(body);
	buf_release(&path);
	buf_release(&what);
	buf_release(&correlation);
	buf_release(&header);
	return ret;
}
