#ifndef AZURE_AML_ENDPOINT_H
#define AZURE_AML_ENDPOINT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "azure/aml.h"
#include "core/buf.h"

/*
 * Managed online endpoints and their deployments. Contract: docs/azure-contract.md
 * 3.7 and the official examples in Workspace/OnlineEndpoint and
 * OnlineDeployment. Writes are long-running: PUT answers 200/201 +
 * Azure-AsyncOperation, PATCH and DELETE 202 + Location; every call here
 * follows them with arm_wait (progress lines, `timeout_s`), so it returns
 * when Azure is done. An operation that ends Failed is ERR_REMOTE_FAILED
 * (Canceled: ERR_CANCELLED) with the operation's error code and message.
 * Names are checked before any call.
 */

/* One deployment's share of the endpoint's traffic, in percent. */
struct aml_traffic {
	const char *deployment;
	int percent;
};

/*
 * What to create or replace. Borrowed for the call. `tags` is "key",
 * "value" pairs, NULL-terminated, or NULL. `traffic` may be empty
 * (traffic_nr 0): a new endpoint routes nothing until a deployment exists.
 */
struct aml_endpoint_spec {
	const char *location;         /* required: the workspace's region */
	const char *auth_mode;        /* Key, AMLToken or AADToken; NULL: Key */
	const char *description;
	const char *const *tags;
	const struct aml_traffic *traffic;
	size_t traffic_nr;
};

struct aml_traffic_entry {
	char *deployment;
	int percent;
};

/* An endpoint as read back; owned strings, NULL when absent. */
struct aml_endpoint {
	char *name;
	char *location;
	char *auth_mode;
	char *provisioning_state;
	char *scoring_uri;
	char *swagger_uri;
	struct aml_traffic_entry *traffic;
	size_t traffic_nr;
	cJSON *tags;                  /* owned, or NULL */
};
#define AML_ENDPOINT_INIT { 0 }
void aml_endpoint_release(struct aml_endpoint *e);
/* The percent going to `deployment`; 0 when it is not in the map. */
int aml_endpoint_traffic(const struct aml_endpoint *e, const char *deployment);

/*
 * A probe (livenessProbe, readinessProbe). Every field 0 is left to
 * Azure's default, so a zeroed probe is not sent at all; the seconds
 * are sent as ISO 8601 durations ("PT10S").
 */
struct aml_probe {
	int initial_delay_s;          /* initialDelay */
	int period_s;                 /* period */
	int timeout_s;                /* timeout */
	int success_threshold;        /* successThreshold */
	int failure_threshold;        /* failureThreshold */
};

/* requestSettings; 0 fields are left to Azure (a zeroed one is not sent). */
struct aml_request_settings {
	int request_timeout_ms;       /* requestTimeout, as a duration ("PT1.5S") */
	int max_concurrent_requests_per_instance;
	int max_queue_wait_ms;        /* maxQueueWait; deprecated for managed */
};

/*
 * What to create or replace for a deployment. Borrowed for the call.
 * `environment_variables` and `tags` are NULL-terminated pairs or NULL.
 * Every field added after the first ones (request settings, probes,
 * scale type, app insights, egress, model mount path) is optional: its
 * zero value leaves the field out of the body, to Azure's default.
 */
struct aml_deployment_spec {
	const char *location;         /* required: the endpoint's region */
	const char *model_id;         /* ARM id of a model version */
	const char *environment_id;
	const char *code_id;          /* with scoring_script: codeConfiguration */
	const char *scoring_script;
	const char *instance_type;    /* required; create-only */
	int instance_count;           /* sku.capacity; 0 means 1 */
	const char *description;
	const char *const *environment_variables;
	const char *const *tags;
	struct aml_request_settings request_settings;
	struct aml_probe liveness_probe;
	struct aml_probe readiness_probe;
	const char *scale_type;       /* scaleSettings.scaleType: "Default"; NULL: left out */
	int app_insights_enabled;     /* 1: appInsightsEnabled true; 0: left out (off) */
	const char *egress_public_network_access; /* "Enabled" | "Disabled"; NULL: left out */
	const char *model_mount_path; /* modelMountPath (custom containers); NULL: left out */
};

struct aml_deployment {
	char *name;
	char *provisioning_state;
	char *model_id;
	char *environment_id;
	char *code_id;
	char *scoring_script;
	char *instance_type;
	int instance_count;           /* sku.capacity, 0 when absent */
	cJSON *tags;                  /* owned, or NULL */
};
#define AML_DEPLOYMENT_INIT { 0 }
void aml_deployment_release(struct aml_deployment *d);

/* Endpoint keys; wiped on release. Both are registered with log_secret
 * as soon as they are read. */
struct aml_endpoint_keys {
	char *primary;
	char *secondary;
};
#define AML_ENDPOINT_KEYS_INIT { NULL, NULL }
void aml_endpoint_keys_release(struct aml_endpoint_keys *k);

/* ---- pure pieces, exported for tests ---- */

/* Traffic must sum to 100, or be empty; each share 0-100; deployment names
 * valid and not repeated. ERR_INPUT naming the problem. */
int aml_traffic_check(const struct aml_traffic *traffic, size_t nr);

/* Endpoint names: 3-32 letters, digits and '-', starting with a letter,
 * not ending with '-'; deployments may also start with a digit. */
int aml_check_endpoint_name(const char *name);
int aml_check_deployment_name(const char *name);

/* The PUT body of an endpoint (OnlineEndpoint/createOrUpdate.json): kind
 * Managed, SystemAssigned identity. Caller owns `*out`. ERR_INPUT for a
 * missing location, a bad auth mode or traffic. */
int aml_endpoint_body(cJSON **out, const struct aml_endpoint_spec *spec);
int aml_endpoint_parse(struct aml_endpoint *out, const cJSON *json);

/*
 * The full PUT body that changes only the traffic of the endpoint `current`
 * (a GET answer): the same location, identity type, kind, sku, tags and
 * properties, read-only fields dropped (azure-contract 3.7: traffic needs a full
 * PUT; PATCH takes only tags and identity).
 */
int aml_endpoint_traffic_body(cJSON **out, const cJSON *current,
			      const struct aml_traffic *traffic, size_t nr);

/* An ISO 8601 duration of `ms` milliseconds: "PT5S", "PT0.5S", "PT1M30.25S",
 * "PT0S" for 0 or less (aml_duration with a fraction of seconds). */
void aml_duration_ms(struct buf *out, long ms);

/* The PUT body of a deployment (ManagedOnlineDeployment/createOrUpdate.json).
 * ERR_INPUT for a missing location or instance type, a negative count or
 * probe field, half a code configuration, or an egress value or scale type
 * Azure does not know. */
int aml_deployment_body(cJSON **out, const struct aml_deployment_spec *spec);
int aml_deployment_parse(struct aml_deployment *out, const cJSON *json);

/* ---- endpoint calls ---- */

/* Creates or replaces endpoint `name` and waits; `out` may be NULL. */
int aml_endpoint_put(struct aml_endpoint *out, struct aml *aml, const char *name,
		     const struct aml_endpoint_spec *spec, long timeout_s);
int aml_endpoint_get(struct aml_endpoint *out, struct aml *aml, const char *name);
/* Replaces the endpoint's tags (PATCH {"tags"}, 202 + Location) and waits.
 * `tags` is NULL-terminated pairs; NULL clears them. */
int aml_endpoint_set_tags(struct aml *aml, const char *name, const char *const *tags,
			  long timeout_s);
/* Checks `traffic`, GETs the endpoint and PUTs it back with the new map,
 * then waits. `out` (may be NULL) receives the endpoint afterwards. */
int aml_endpoint_set_traffic(struct aml_endpoint *out, struct aml *aml, const char *name,
			     const struct aml_traffic *traffic, size_t nr, long timeout_s);
/* Deletes and waits; an endpoint that does not exist is fine (204). */
int aml_endpoint_delete(struct aml *aml, const char *name, long timeout_s);
/* POST listKeys. */
int aml_endpoint_list_keys(struct aml_endpoint_keys *out, struct aml *aml, const char *name);

/* ---- deployment calls ---- */

int aml_deployment_put(struct aml_deployment *out, struct aml *aml, const char *endpoint,
		       const char *name, const struct aml_deployment_spec *spec, long timeout_s);
int aml_deployment_get(struct aml_deployment *out, struct aml *aml, const char *endpoint,
		       const char *name);

struct aml_deployment_list {
	struct aml_deployment *items;
	size_t nr;
};
#define AML_DEPLOYMENT_LIST_INIT { NULL, 0 }
void aml_deployment_list_release(struct aml_deployment_list *l);
int aml_deployment_list(struct aml_deployment_list *out, struct aml *aml, const char *endpoint);

/* PATCH {"tags"?, "sku":{"capacity"}?}, 202 + Location, and waits.
 * `tags` NULL leaves them; `instance_count` 0 leaves the capacity. */
int aml_deployment_update(struct aml *aml, const char *endpoint, const char *name,
			  const char *const *tags, int instance_count, long timeout_s);
/* Deletes and waits. Azure refuses a deployment that still gets traffic. */
int aml_deployment_delete(struct aml *aml, const char *endpoint, const char *name,
			  long timeout_s);

/* POST getLogs {"containerType", "tail"}: appends the content to `out`.
 * `container_type` NULL means InferenceServer (else StorageInitializer);
 * `tail` 0 means every line the service keeps. */
int aml_deployment_logs(struct buf *out, struct aml *aml, const char *endpoint,
			const char *name, const char *container_type, int tail);

#endif
