#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "azure/arm_deployment.h"
#include "azure/arm_deployment_internal.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

/*
 * The request and the calls: names and paths, the Deployment body, then
 * validate, what-if, deploy, get and cancel on arm_call/arm_wait. What the
 * answers hold is read in arm_deployment_parse.c.
 */

/* ---- names and paths ------------------------------------------------------- */

/* ERR_INPUT unless every character of `s` is in ARM's name alphabet:
 * letters, digits, '-', '_', '.', '(' and ')' (\w taken as ASCII). */
static int name_chars_check(const char *what, const char *s)
{
	const char *c;

	for (c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("_-.()", *c))
			return error_set(ERR_INPUT, "%s '%s' may hold only letters, digits, "
					 "'-', '_', '.', '(' and ')'", what, s);
	return 0;
}

int arm_deployment_name_check(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n < 1 || n > 64)
		return error_set(ERR_INPUT, "deployment name '%s' must be 1-64 characters",
				 name ? name : "");
	return name_chars_check("deployment name", name);
}

/* Resource-group names follow the same alphabet, 1-90 long and not ending
 * in '.' [ARM naming rules]; checked so nothing odd reaches the URL path. */
static int resource_group_check(const char *rg)
{
	size_t n = rg ? strlen(rg) : 0;

	if (n < 1 || n > 90 || rg[n - 1] == '.')
		return error_set(ERR_INPUT, "resource group '%s' must be 1-90 characters, not ending in '.'",
				 rg ? rg : "");
	return name_chars_check("resource group", rg);
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
	/* Exactly one of template and templateLink [azure-contract 2, request rules]. */
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
		json_add_copy(body, "tags", req->tags);
	props = json_add_object(body, "properties");
	json_add_string(props, "mode", req->mode == ARM_DEPLOYMENT_COMPLETE ? "Complete" : "Incremental");
	if (req->template) {
		json_add_copy(props, "template", req->template);
	} else {
		link = json_add_object(props, "templateLink");
		json_add_string(link, "uri", req->template_uri);
		if (req->template_query && *req->template_query)
			json_add_string(link, "queryString", req->template_query);
	}
	/* Always sent, even empty, as the official examples do. */
	if (req->parameters)
		json_add_copy(props, "parameters", req->parameters);
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

/* ---- validate and what-if ---------------------------------------------------- */

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
 * itself, or what its 202's Location ends with [azure-contract 2: validate and
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

/* ---- deploy, get and cancel ------------------------------------------------------ */

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
 * [azure-contract 2; obs], so we do: the first failed operation names the
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
