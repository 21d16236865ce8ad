#ifndef AZURE_ARM_DEPLOYMENT_H
#define AZURE_ARM_DEPLOYMENT_H

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

#define ARM_DEPLOYMENT_API_VERSION "2025-04-01"

/* ERR_INPUT unless `name` is 1-64 characters of letters, digits, '-', '_',
 * '.', '(' and ')' (ARM's ^[-\w\._\(\)]+$, \w taken as ASCII). */
int arm_deployment_name_check(const char *name);

/* Whether an ARM type (of a parameter or an output) is securestring or
 * secureobject, in any case. */
int arm_deployment_secure_type(const char *type);

/* Registers with log_secret() every string inside a secure value, and the
 * value's JSON text when it is an object or array. */
void arm_deployment_mask_value(const cJSON *value);

/* ---- the request ------------------------------------------------------- */

enum arm_deployment_mode { ARM_DEPLOYMENT_INCREMENTAL, ARM_DEPLOYMENT_COMPLETE };

enum arm_deployment_on_error {
	ARM_DEPLOYMENT_ON_ERROR_NONE,
	ARM_DEPLOYMENT_ON_ERROR_LAST_SUCCESSFUL,
	ARM_DEPLOYMENT_ON_ERROR_SPECIFIC,        /* redeploy `on_error_deployment` */
};

/* What to deploy. Every member is borrowed; the struct owns nothing, so it
 * needs no release. Exactly one of `template` and `template_uri`. */
struct arm_deployment_request {
	const cJSON *template;          /* an ARM template object */
	const char *template_uri;       /* templateLink.uri instead */
	const char *template_query;     /* templateLink.queryString (a SAS), or NULL */
	const cJSON *parameters;        /* the finished parameters object ({"p":{"value":...}}), or NULL */
	enum arm_deployment_mode mode;
	const char *location;           /* optional at resource-group scope */
	const cJSON *tags;              /* an object of strings, or NULL */
	enum arm_deployment_on_error on_error;
	const char *on_error_deployment;
};
#define ARM_DEPLOYMENT_REQUEST_INIT { 0 }

/*
 * The `Deployment` body for PUT, validate and whatIf (they share it):
 * {location?, tags?, properties{mode, template|templateLink, parameters,
 * onErrorDeployment?}}. `*out` is new, freed by the caller with
 * cJSON_Delete. ERR_INPUT when neither or both template forms are given,
 * the template is not an object, or SpecificDeployment has no name.
 */
int arm_deployment_body(cJSON **out, const struct arm_deployment_request *req);

/* ---- where: one deployment in one resource group ---------------------- */

/* All borrowed. `timeout_s` bounds each wait on a long-running operation. */
struct arm_deployment_target {
	struct arm *arm;
	const char *resource_group;
	const char *name;
	long timeout_s;
};

/* ---- validate ------------------------------------------------------------ */

struct arm_deployment_diagnostic {
	char *level;                    /* Warning, Info, Error */
	char *code;
	char *message;
};

struct arm_deployment_validation {
	char *provisioning_state;
	char **validated_resources;     /* resource ids */
	size_t n_validated_resources;
	struct arm_deployment_diagnostic *diagnostics;
	size_t n_diagnostics;
};
void arm_deployment_validation_init(struct arm_deployment_validation *v);
void arm_deployment_validation_release(struct arm_deployment_validation *v);

/*
 * POST .../deployments/{name}/validate, waiting for a 202 + Location.
 * A rejected template is ARM's 400: ERR_HTTP whose message starts with
 * "validate deployment <name>: " and the innermost detail (its code, the
 * resource it targets when it names one, and its message), followed by the
 * whole envelope (InvalidTemplate or InvalidTemplateDeployment: message).
 * ERR_INPUT for a bad name or request; other arm_call/arm_wait errors.
 */
int arm_deployment_validate(struct arm_deployment_validation *out, const struct arm_deployment_target *t,
			const struct arm_deployment_request *req);

/* ---- what-if --------------------------------------------------------------- */

enum arm_deployment_change_type {
	ARM_DEPLOYMENT_CHANGE_CREATE,
	ARM_DEPLOYMENT_CHANGE_DELETE,
	ARM_DEPLOYMENT_CHANGE_IGNORE,
	ARM_DEPLOYMENT_CHANGE_DEPLOY,
	ARM_DEPLOYMENT_CHANGE_NO_CHANGE,
	ARM_DEPLOYMENT_CHANGE_MODIFY,
	ARM_DEPLOYMENT_CHANGE_UNSUPPORTED,  /* also any change type this code does not know */
	ARM_DEPLOYMENT_CHANGE_COUNT,
};

enum arm_deployment_property_change {
	ARM_DEPLOYMENT_PROPERTY_CREATE,
	ARM_DEPLOYMENT_PROPERTY_DELETE,
	ARM_DEPLOYMENT_PROPERTY_MODIFY,
	ARM_DEPLOYMENT_PROPERTY_ARRAY,      /* see `children` */
	ARM_DEPLOYMENT_PROPERTY_NO_EFFECT,
};

struct arm_deployment_delta {
	char *path;                     /* "tags.myNewTag"; an array child's is its index */
	enum arm_deployment_property_change change;
	cJSON *before;                  /* NULL when absent */
	cJSON *after;                   /* NULL when absent */
	struct arm_deployment_delta *children;
	size_t n_children;
};

struct arm_deployment_change {
	char *resource_id;
	enum arm_deployment_change_type type;
	char *unsupported_reason;       /* NULL unless Unsupported */
	struct arm_deployment_delta *delta; /* for Modify (and Deploy) */
	size_t n_delta;
};

struct arm_deployment_whatif {
	char *status;                   /* Succeeded */
	struct arm_deployment_change *changes;
	size_t n_changes;
	struct arm_deployment_diagnostic *diagnostics;
	size_t n_diagnostics;
};
void arm_deployment_whatif_init(struct arm_deployment_whatif *w);
void arm_deployment_whatif_release(struct arm_deployment_whatif *w);

/* Parses a WhatIfOperationResult. A failed what-if (status Failed with an
 * error) is ERR_REMOTE_FAILED with its code and message; wrong types
 * ERR_JSON. */
int arm_deployment_whatif_parse(struct arm_deployment_whatif *out, const cJSON *json);

/* POST .../deployments/{name}/whatIf, then waits on its Location for the
 * WhatIfOperationResult. Errors as arm_deployment_validate. */
int arm_deployment_what_if(struct arm_deployment_whatif *out, const struct arm_deployment_target *t,
		       const struct arm_deployment_request *req);

/* "Create", "NoChange", ...; "Create", "Array", ... */
const char *arm_deployment_change_type_name(enum arm_deployment_change_type type);
const char *arm_deployment_property_change_name(enum arm_deployment_property_change change);

/* counts[type] = how many changes of each type `w` lists. */
void arm_deployment_whatif_count(size_t counts[ARM_DEPLOYMENT_CHANGE_COUNT],
			     const struct arm_deployment_whatif *w);

/*
 * Appends one line per leaf of the change's delta, "path: before -> after"
 * ending in '\n', values as compact JSON ("(none)" for a missing side, array
 * children as path[i]); each value is cut to `max_value` bytes with "..."
 * (0: no limit). NoEffect entries are skipped: they change nothing.
 */
void arm_deployment_change_lines(struct buf *out, const struct arm_deployment_change *c,
			     size_t max_value);

/* ---- deploy and its result -------------------------------------------------- */

struct arm_deployment_output {
	char *name;
	char *type;                     /* String, Int, Bool, Object, Array, SecureString, SecureObject */
	cJSON *value;                   /* NULL when ARM left it out (it omits secure values) */
	int secure;                     /* never print or emit: already passed to log_secret() */
};

/* The first operation of a failed deployment that failed, and why. */
struct arm_deployment_failure {
	char *resource_type;            /* Microsoft.Storage/storageAccounts */
	char *resource_name;
	char *resource_id;
	char *code;                     /* statusMessage.error.code */
	char *message;
};
void arm_deployment_failure_init(struct arm_deployment_failure *f);
void arm_deployment_failure_release(struct arm_deployment_failure *f);

/*
 * The first item of a deployment operations list (the array of value[]
 * items) whose provisioningState is Failed. ERR_NOT_FOUND when none failed.
 */
int arm_deployment_failure_find(struct arm_deployment_failure *out, const cJSON *operations);

struct arm_deployment_result {
	char *id;
	char *name;
	char *provisioning_state;       /* Succeeded, Failed, Canceled, ... */
	char *duration;                 /* ISO 8601: PT22.8S */
	char *correlation_id;
	char *timestamp;
	char *mode;
	struct arm_deployment_output *outputs;
	size_t n_outputs;
	char **output_resources;        /* resource ids */
	size_t n_output_resources;
	char *error_code;               /* properties.error, when Failed */
	char *error_message;
	struct arm_deployment_failure failure; /* filled by arm_deployment_deploy on failure */
};
void arm_deployment_result_init(struct arm_deployment_result *r);
void arm_deployment_result_release(struct arm_deployment_result *r);

/* Parses a DeploymentExtended. Secure outputs get `secure` set and any
 * value they carry registered with log_secret(). ERR_JSON on wrong types. */
int arm_deployment_result_parse(struct arm_deployment_result *out, const cJSON *json);

/* The output called `name` (case-insensitive, as ARM names are), or NULL. */
const struct arm_deployment_output *arm_deployment_output_find(const struct arm_deployment_result *r,
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
 * A template ARM rejects up front is ERR_HTTP as in arm_deployment_validate,
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
int arm_deployment_deploy(struct arm_deployment_result *out, const struct arm_deployment_target *t,
		      const struct arm_deployment_request *req);

/* GET .../deployments/{name}. ERR_NOT_FOUND when there is none. */
int arm_deployment_get(struct arm_deployment_result *out, const struct arm_deployment_target *t);

/* POST .../cancel: only while Accepted or Running (else ERR_CONFLICT). */
int arm_deployment_cancel(const struct arm_deployment_target *t);

#endif
