#ifndef AZURE_AML_WORKSPACE_H
#define AZURE_AML_WORKSPACE_H

#include <cjson/cJSON.h>

#include "azure/aml.h"
#include "core/buf.h"

/*
 * The Azure ML workspace resource and its datastores (azure-contract 3.1).
 * Errors as arm_call's; ERR_JSON naming the JSON path when a reply lacks a
 * field we rely on. Every struct owns its strings; x_release frees them and
 * zeroes the struct (a {0} or released value may be released again).
 */

struct aml_workspace {
	char *id;
	char *name;
	char *location;
	char *workspace_id;         /* properties.workspaceId (GUID) */
	char *mlflow_tracking_uri;  /* properties.mlFlowTrackingUri, "azureml://<region>.api.azureml.ms/mlflow/v1.0/..."; NULL if absent */
	char *discovery_url;        /* properties.discoveryUrl */
	char *storage_account;      /* properties.storageAccount: the ARM id */
	char *key_vault;
	char *container_registry;   /* NULL when none is attached */
	char *application_insights;
	char *provisioning_state;
};
void aml_workspace_release(struct aml_workspace *w);

/* GET W. */
int aml_workspace_get(struct aml_workspace *out, struct aml *aml);
/* Pure: the GET W body -> struct; ERR_JSON naming the path. */
int aml_workspace_parse(struct aml_workspace *out, const cJSON *json);

struct aml_datastore {
	char *name;
	char *datastore_type;     /* AzureBlob, AzureFile, ... */
	char *account_name;
	char *container_name;     /* AzureBlob only; NULL for other types */
	char *endpoint;           /* storage suffix, "core.windows.net" */
	char *protocol;           /* "https" */
	char *credentials_type;   /* AccountKey | Certificate | None | Sas | ServicePrincipal */
	int is_default;
};
void aml_datastore_release(struct aml_datastore *d);

/* GET W/datastores/{name}. */
int aml_datastore_get(struct aml_datastore *out, struct aml *aml, const char *name);
/* The workspace's default datastore: GET W/datastores?isDefault=true, and
 * when that lists none, GET W/datastores/workspaceblobstore (the name Azure
 * gives it, azure-contract 3.1). */
int aml_datastore_get_default(struct aml_datastore *out, struct aml *aml);
/* Pure: one datastore resource -> struct. */
int aml_datastore_parse(struct aml_datastore *out, const cJSON *json);
/* "https://<account>.blob.<endpoint>/<container>" of a blob datastore;
 * ERR_INPUT for other types. */
int aml_datastore_container_url(struct buf *out, const struct aml_datastore *d);

/*
 * A datastore's secret from listSecrets: the account key or the SAS token.
 * The value is registered with log_secret() the moment it is parsed, so no
 * log line can show it, and is wiped (buf_wipe) on release.
 */
struct aml_datastore_secret {
	char *secrets_type;       /* "AccountKey", "Sas", "None", ... */
	struct buf value;         /* the key or SAS token; empty for "None" */
};
#define AML_DATASTORE_SECRET_INIT { NULL, BUF_INIT }
void aml_datastore_secret_init(struct aml_datastore_secret *s);
void aml_datastore_secret_release(struct aml_datastore_secret *s);

/* POST W/datastores/{name}/listSecrets (no body). The reply's copies of
 * the secret are wiped before they are freed. */
int aml_datastore_list_secrets(struct aml_datastore_secret *out, struct aml *aml,
			       const char *name);
/* Pure (apart from log_secret): {"secretsType":"AccountKey","key":...} or
 * {"secretsType":"Sas","sasToken":...}; ERR_JSON when the value is missing. */
int aml_datastore_secret_parse(struct aml_datastore_secret *out, const cJSON *json);

#endif
