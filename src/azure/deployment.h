#ifndef AZURE_DEPLOYMENT_H
#define AZURE_DEPLOYMENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "azure/arm.h"
#include "core/buf.h"

/*
 * ARM template deployments at resource-group scope: validate, what-if,
 * deploy (following the long-running operation), the typed result with its
 * outputs, and the failing resource of a failed deployment.
 * Contract: docs/azure-contract.md section 2 (api-version 2025-04-01).
 *
 * Body builders and parsers are pure (no network) and exported so the
 * workflow and the tests can use them; the calls sit on arm_call/arm_wait.
 * Every string in the structs below is owned by the struct and freed by its
 * _release; every cJSON value in them is a copy owned by the struct too.
 * The template and output values are the only raw JSON a caller sees.
 */

#define DEPLOYMENT_API_VERSION "2025-04-01"

/* ERR_INPUT unless `name` is 1-64 characters of letters, digits, '-', '_',
 * '.', '(' and ')' (ARM's ^[-\w\._\(\)]+$, \w taken as ASCII). */
int deployment_name_check(const char *name);

/* Whether an ARM type (of a parameter or an output) is securestring or
 * secureobject, in any case. */
int deployment_secure_type(const char *type);

/* Registers with log_secret() every string inside a secure value, and the
 * value's JSON text when it is an object or array. */
void deployment_mask_value(const cJSON *value);

/* ---- the request ------------------------------------------------------- */

enum deployment_mode { DEPLOYMENT_INCREMENTAL, DEPLOYMENT_COMPLETE };

enum deployment_on_error {
	DEPLOYMENT_ON_ERROR_NONE,
	DEPLOYMENT_ON_ERROR_LAST_SUCCESSFUL,
	DEPLOYMENT_ON_ERROR_SPECIFIC,        /* redeploy `on_error_deployment` */
};

/* What to deploy. Every member is borrowed; the struct owns nothing, so it
 * needs no release. Exactly one of `template` and `template_uri`. */
struct deployment_request {
	const cJSON *template;          /* an ARM template object */
	const char *template_uri;       /* templateLink.uri instead */
	const char *template_query;     /* templateLink.queryString (a SAS), or NULL */
	const cJSON *parameters;        /* the finished parameters object ({"p":{"value":...}}), or NULL */
	enum deployment_mode mode;
	const char *location;           /* optional at resource-group scope */
	const cJSON *tags;              /* an object of strings, or NULL */
	enum deployment_on_error on_error;
	const char *on_error_deployment;
};
#define DEPLOYMENT_REQUEST_INIT { 0 }

/*
 * The `Deployment` body for PUT, validate and whatIf (they share it):
 * {location?, tags?, properties{mode, template|templateLink, parameters,
 * onErrorDeployment?}}. `*out` is new, freed by the caller with
 * cJSON_Delete. ERR_INPUT when neither or both template forms are given,
 * the template is not an object, or SpecificDeployment has no name.
 */
int deployment_body(cJSON **out, const struct deployment_request *req);

/* ---- where: one deployment in one resource group ---------------------- */

/* All borrowed. `timeout_s` bounds each wait on a long-running operation. */
struct deployment_target {
	struct arm *arm;
	const char *resource_group;
	const char *name;
	long timeout_s;
};

/* ---- validate ------------------------------------------------------------ */

struct deployment_diagnostic {
	char *level;                    /* Warning, Info, Error */
	char *code;
	char *message;
};

struct deployment_validation {
	char *provisioning_state;
	char **validated_resources;     /* resource ids */
	size_t n_validated_resources;
	struct deployment_diagnostic *diagnostics;
	size_t n_diagnostics;
};
void deployment_validation_init(struct deployment_validation *v);
void deployment_validation_release(struct deployment_validation *v);

/* Parses a DeploymentValidateResult. ERR_JSON on wrong types. */
int deployment_validation_parse(struct deployment_validation *out, const cJSON *json);

/*
 * POST .../deployments/{name}/validate, waiting for a 202 + Location.
 * A rejected template is ARM's 400: ERR_HTTP whose message starts with
 * "validate deployment <name>: " and the innermost detail (its code, the
 * resource it targets when it names one, and its message), followed by the
 * whole envelope (InvalidTemplate or InvalidTemplateDeployment: message).
 * ERR_INPUT for a bad name or request; other arm_call/arm_wait errors.
 */
int deployment_validate(struct deployment_validation *out, const struct deployment_target *t,
			const struct deployment_request *req);

/* ---- what-if --------------------------------------------------------------- */

enum deployment_change_type {
	DEPLOYMENT_CHANGE_CREATE,
	DEPLOYMENT_CHANGE_DELETE,
	DEPLOYMENT_CHANGE_IGNORE,
	DEPLOYMENT_CHANGE_DEPLOY,
	DEPLOYMENT_CHANGE_NO_CHANGE,
	DEPLOYMENT_CHANGE_MODIFY,
	DEPLOYMENT_CHANGE_UNSUPPORTED,  /* also any change type this code does not know */
	DEPLOYMENT_CHANGE_COUNT,
};

enum deployment_property_change {
	DEPLOYMENT_PROPERTY_CREATE,
	DEPLOYMENT_PROPERTY_DELETE,
	DEPLOYMENT_PROPERTY_MODIFY,
	DEPLOYMENT_PROPERTY_ARRAY,      /* see `children` */
	DEPLOYMENT_PROPERTY_NO_EFFECT,
};

struct deployment_delta {
	char *path;                     /* "tags.myNewTag"; an array child's is its index */
	enum deployment_property_change change;
	cJSON *before;                  /* NULL when absent */
	cJSON *after;                   /* NULL when absent */
	struct deployment_delta *children;
	size_t n_children;
};

struct deployment_change {
	char *resource_id;
	enum deployment_change_type type;
	char *unsupported_reason;       /* NULL unless Unsupported */
	struct deployment_delta *delta; /* for Modify (and Deploy) */
	size_t n_delta;
};

struct deployment_whatif {
	char *status;                   /* Succeeded */
	struct deployment_change *changes;
	size_t n_changes;
	struct deployment_diagnostic *diagnostics;
	size_t n_diagnostics;
};
void deployment_whatif_init(struct deployment_whatif *w);
void deployment_whatif_release(struct deployment_whatif *w);

/* Parses a WhatIfOperationResult. A failed what-if (status Failed with an
 * error) is ERR_REMOTE_FAILED with its code and message; wrong types
 * ERR_JSON. */
int deployment_whatif_parse(struct deployment_whatif *out, const cJSON *json);

/* POST .../deployments/{name}/whatIf, then waits on its Location for the
 * WhatIfOperationResult. Errors as deployment_validate. */
int deployment_what_if(struct deployment_whatif *out, const struct deployment_target *t,
		       const struct deployment_request *req);

/* "Create", "NoChange", ...; "Create", "Array", ... */
const char *deployment_change_type_name(enum deployment_change_type type);
const char *deployment_property_change_name(enum deployment_property_change change);

/* counts[type] = how many changes of each type `w` lists. */
void deployment_whatif_count(size_t counts[DEPLOYMENT_CHANGE_COUNT],
			     const struct deployment_whatif *w);

/*
 * Appends one line per leaf of the change's delta, "path: before -> after"
 * ending in '\n', values as compact JSON ("(none)" for a missing side, array
 * children as path[i]); each value is cut to `max_value` bytes with "..."
 * (0: no limit). NoEffect entries are skipped: they change nothing.
 */
void deployment_change_lines(struct buf *out, const struct deployment_change *c,
			     size_t max_value);

/* ---- deploy and its result -------------------------------------------------- */

struct deployment_output {
	char *name;
	char *type;                     /* String, Int, Bool, Object, Array, SecureString, SecureObject */
	cJSON *value;                   /* NULL when ARM left it out (it omits secure values) */
	int secure;                     /* never print or emit: already passed to log_secret() */
};

/* The first operation of a failed deployment that failed, and why. */
struct deployment_failure {
	char *resource_type;            /* Microsoft.Storage/storageAccounts */
	char *resource_name;
	char *resource_id;
	char *code;                     /* statusMessage.error.code */
	char *message;
};
void deployment_failure_init(struct deployment_failure *f);
void deployment_failure_release(struct deployment_failure *f);

/*
 * The first item of a deployment operations list (the array of value[]
 * items) whose provisioningState is Failed. ERR_NOT_FOUND when none failed.
 */
int deployment_failure_find(struct deployment_failure *out, const cJSON *operations);

struct deployment_result {
	char *id;
	char *name;
	char *provisioning_state;       /* Succeeded, Failed, Canceled, ... */
	char *duration;                 /* ISO 8601: PT22.8S */
	char *correlation_id;
	char *timestamp;
	char *mode;
	struct deployment_output *outputs;
	size_t n_outputs;
	char **output_resources;        /* resource ids */
	size_t n_output_resources;
	char *error_code;               /* properties.error, when Failed */
	char *error_message;
	struct deployment_failure failure; /* filled by deployment_deploy on failure */
};
void deployment_result_init(struct deployment_result *r);
void deployment_result_release(struct deployment_result *r);

/* Parses a DeploymentExtended. Secure outputs get `secure` set and any
 * value they carry registered with log_secret(). ERR_JSON on wrong types. */
int deployment_result_parse(struct deployment_result *out, const cJSON *json);

/* The output called `name` (case-insensitive, as ARM names are), or NULL. */
const struct deployment_output *deployment_output_find(const struct deployment_result *r,
						       const char *name);

/*
 * PUT .../deployments/{name}, then follows the operation (progress lines
 * "deployment <name>: Running (0m 30s)") to the final DeploymentExtended
 * in `out`. A deployment that ends Failed is ERR_REMOTE_FAILED (Canceled in
 * Azure: ERR_CANCELLED, explained the same way): the message names
 * the failing resource and its error, from the operations list
 * ("deployment <name>: resource Microsoft.Storage/storageAccounts 'sa'
 * failed: Code: message: " then ARM's DeploymentFailed text), and `out`
 * holds what ARM reports (state, error, failure) when it could be read.
 * A template ARM rejects up front is ERR_HTTP as in deployment_validate,
 * the message starting "deployment <name>: ";
 * one already running 409 DeploymentActive is ERR_CONFLICT, unless it is
 * the one this PUT started (sent with its own x-ms-correlation-request-id,
 * which ARM records as properties.correlationId): when a dropped
 * connection made the HTTP client send the PUT again, ARM answers the
 * second one 409 DeploymentActive, and the deployment is followed as if
 * the first answer had arrived. Running past timeout_s is ERR_TIMEOUT, the
 * stop flag (arm->stop) raised while following ERR_CANCELLED (either way
 * the deployment goes on in Azure).
 */
int deployment_deploy(struct deployment_result *out, const struct deployment_target *t,
		      const struct deployment_request *req);

/* GET .../deployments/{name}. ERR_NOT_FOUND when there is none. */
int deployment_get(struct deployment_result *out, const struct deployment_target *t);

/* The first failed operation of the deployment (GET .../operations, all
 * pages). ERR_NOT_FOUND when no operation failed. */
int deployment_failed_operation(struct deployment_failure *out, const struct deployment_target *t);

/* POST .../cancel: only while Accepted or Running (else ERR_CONFLICT). */
int deployment_cancel(const struct deployment_target *t);

#endif
