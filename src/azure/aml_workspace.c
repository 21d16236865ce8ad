#include <stdlib.h>
#include <string.h>

#include "azure/aml_assets.h"
#include "azure/aml_workspace.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

#define DEFAULT_DATASTORE "workspaceblobstore"

void aml_workspace_release(struct aml_workspace *w)
{
	if (!w)
		return;
	free(w->id);
	free(w->name);
	free(w->location);
	free(w->workspace_id);
	free(w->mlflow_tracking_uri);
	free(w->discovery_url);
	free(w->storage_account);
	free(w->key_vault);
	free(w->container_registry);
	free(w->application_insights);
	free(w->provisioning_state);
	memset(w, 0, sizeof(*w));
}

int aml_workspace_parse(struct aml_workspace *out, const cJSON *json)
{
	static const char what[] = "workspace";
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = aml_json_string(&out->id, json, "id", 0, what)) ||
	    (ret = aml_json_string(&out->name, json, "name", 1, what)) ||
	    (ret = aml_json_string(&out->location, json, "location", 1, what)) ||
	    (ret = aml_json_string(&out->workspace_id, json, "properties.workspaceId", 0, what)) ||
	    /* Read-only and not in the spec's example [obs via the SDK]: optional. */
	    (ret = aml_json_string(&out->mlflow_tracking_uri, json, "properties.mlFlowTrackingUri", 0,
				   what)) ||
	    (ret = aml_json_string(&out->discovery_url, json, "properties.discoveryUrl", 0, what)) ||
	    (ret = aml_json_string(&out->storage_account, json, "properties.storageAccount", 0,
				   what)) ||
	    (ret = aml_json_string(&out->key_vault, json, "properties.keyVault", 0, what)) ||
	    (ret = aml_json_string(&out->container_registry, json, "properties.containerRegistry", 0,
				   what)) ||
	    (ret = aml_json_string(&out->application_insights, json,
				   "properties.applicationInsights", 0, what)) ||
	    (ret = aml_json_string(&out->provisioning_state, json, "properties.provisioningState", 0,
				   what)))
		aml_workspace_release(out);
	return ret;
}

int aml_workspace_get(struct aml_workspace *out, struct aml *aml)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!(ret = arm_call(aml->arm, "GET", aml->workspace_path, AML_API_VERSION, NULL, &r)))
		ret = aml_workspace_parse(out, r.json);
	arm_response_release(&r);
	return ret;
}

/* ---- datastores ---- */

void aml_datastore_release(struct aml_datastore *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->datastore_type);
	free(d->account_name);
	free(d->container_name);
	free(d->endpoint);
	free(d->protocol);
	free(d->credentials_type);
	memset(d, 0, sizeof(*d));
}

int aml_datastore_parse(struct aml_datastore *out, const cJSON *json)
{
	static const char what[] = "datastore";
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = aml_json_string(&out->name, json, "name", 1, what)) ||
	    (ret = aml_json_string(&out->datastore_type, json, "properties.datastoreType", 1, what)) ||
	    (ret = aml_json_string(&out->account_name, json, "properties.accountName", 0, what)) ||
	    (ret = aml_json_string(&out->container_name, json, "properties.containerName", 0, what)) ||
	    (ret = aml_json_string(&out->endpoint, json, "properties.endpoint", 0, what)) ||
	    (ret = aml_json_string(&out->protocol, json, "properties.protocol", 0, what)) ||
	    (ret = aml_json_string(&out->credentials_type, json,
				   "properties.credentials.credentialsType", 0, what)) ||
	    (ret = aml_json_bool(&out->is_default, json, "properties.isDefault", 0, what)))
		goto done;
	/* azure-contract 3.1: the suffix is normally absent only on very old stores. */
	if (!out->endpoint)
		out->endpoint = xstrdup("core.windows.net");
	if (!out->protocol)
		out->protocol = xstrdup("https");
done:
	if (ret)
		aml_datastore_release(out);
	return ret;
}

int aml_datastore_container_url(struct buf *out, const struct aml_datastore *d)
{
	if (!d->datastore_type || strcmp(d->datastore_type, "AzureBlob") || !d->account_name ||
	    !d->container_name)
		return error_set(ERR_INPUT, "datastore '%s' is not an Azure Blob container",
				 d->name ? d->name : "");
	buf_addf(out, "%s://%s.blob.%s/%s", d->protocol, d->account_name, d->endpoint,
		 d->container_name);
	return 0;
}

int aml_datastore_get(struct aml_datastore *out, struct aml *aml, const char *name)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = aml_check_name(name, "datastore name")))
		goto done;
	aml_path(&path, aml, "/datastores/%s", name);
	if (!(ret = arm_call(aml->arm, "GET", path.data, AML_API_VERSION, NULL, &r)))
		ret = aml_datastore_parse(out, r.json);
done:
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

int aml_datastore_get_default(struct aml_datastore *out, struct aml *aml)
{
	struct buf path = BUF_INIT;
	cJSON *items = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	aml_path(&path, aml, "/datastores?isDefault=true");
	if ((ret = arm_list(aml->arm, path.data, AML_API_VERSION, &items)))
		goto done;
	if (cJSON_GetArraySize(items) > 0)
		ret = aml_datastore_parse(out, cJSON_GetArrayItem(items, 0));
	else
		ret = aml_datastore_get(out, aml, DEFAULT_DATASTORE);
done:
	cJSON_Delete(items);
	buf_release(&path);
	return ret;
}

/* ---- secrets ---- */

void aml_datastore_secret_init(struct aml_datastore_secret *s)
{
	s->secrets_type = NULL;
	buf_init(&s->value);
}

void aml_datastore_secret_release(struct aml_datastore_secret *s)
{
	if (!s)
		return;
	free(s->secrets_type);
	s->secrets_type = NULL;
	buf_wipe(&s->value);
}

/* Where each secrets type keeps its value (the Swagger's DatastoreSecrets
 * subtypes); "None" has none. */
static const char *secret_field(const char *type)
{
	static const struct { const char *type, *field; } fields[] = {
		{ "AccountKey", "key" },
		{ "Sas", "sasToken" },
		{ "Certificate", "certificate" },
		{ "ServicePrincipal", "clientSecret" },
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!strcmp(type, fields[i].type))
			return fields[i].field;
	return NULL;
}

int aml_datastore_secret_parse(struct aml_datastore_secret *out, const cJSON *json)
{
	const char *type, *field, *value;
	int ret;

	aml_datastore_secret_init(out);
	if ((ret = json_get_string(&type, json, "secretsType"))) {
		ret = error_prefix("datastore secrets");
		goto done;
	}
	out->secrets_type = xstrdup(type);
	if (!strcmp(type, "None"))
		goto done;
	if (!(field = secret_field(type))) {
		ret = error_set(ERR_JSON, "datastore secrets: unknown secretsType '%.40s'", type);
		goto done;
	}
	if ((ret = json_get_string(&value, json, field))) {
		ret = error_prefix("datastore secrets");
		goto done;
	}
	/* Masked before anything could print it (docs/conventions.md, "Secrets"). */
	log_secret(value);
	buf_addstr(&out->value, value);
done:
	if (ret)
		aml_datastore_secret_release(out);
	return ret;
}

/* Overwrites every string of the tree: the reply held the secret too. */
static void wipe_strings(cJSON *item)
{
	for (; item; item = item->next) {
		if (cJSON_IsString(item) && item->valuestring)
			memset(item->valuestring, 0, strlen(item->valuestring));
		wipe_strings(item->child);
	}
}

int aml_datastore_list_secrets(struct aml_datastore_secret *out, struct aml *aml,
			       const char *name)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	int ret;

	aml_datastore_secret_init(out);
	if ((ret = aml_check_name(name, "datastore name")))
		goto done;
	aml_path(&path, aml, "/datastores/%s/listSecrets", name);
	if (!(ret = arm_call(aml->arm, "POST", path.data, AML_API_VERSION, NULL, &r)))
		ret = aml_datastore_secret_parse(out, r.json);
done:
	wipe_strings(r.json);
	buf_wipe(&r.http.body);
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}
