/*
 * The credential's inputs: the checks a config passes before any network
 * call, azure/login's AZURE_CREDENTIALS JSON and the known Azure clouds.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "azure/credential_internal.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

#define CREDS_CAP (64 * 1024)

/* ---- input checks ---- */

int credential_is_guid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	for (i = 0; shape[i]; i++) {
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return s[i] == '\0';
}

/* A DNS name with at least two labels (contoso.onmicrosoft.com), RFC 1035 letters. */
static int is_domain(const char *s)
{
	size_t label = 0, labels = 1, len = strlen(s);

	if (len == 0 || len > 253)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			labels++;
		} else if (isalnum((unsigned char)*p) || (*p == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && s[len - 1] != '-' && labels >= 2;
}

static int is_loopback_http(const char *url)
{
	static const char *const hosts[] = { "http://127.0.0.1", "http://localhost", "http://[::1]" };

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		size_t n = strlen(hosts[i]);

		if (!strncmp(url, hosts[i], n) && (!url[n] || url[n] == ':' || url[n] == '/'))
			return 1;
	}
	return 0;
}

/* Secrets are only sent over TLS; plain http is allowed on loopback (tests, sidecars). */
static int check_url(const char *url, const char *what)
{
	struct buf origin = BUF_INIT;
	int ret = 0;

	if (strlen(url) > INPUT_CAP || strpbrk(url, " \t\r\n?#"))
		ret = error_set(ERR_INPUT, "%s is not a base URL (no spaces, query or fragment)", what);
	else if (strncmp(url, "https://", 8) && !is_loopback_http(url))
		ret = error_set(ERR_INPUT, "%s must be an https:// URL", what);
	else if (url_origin(&origin, url) || !strcmp(origin.data, "https://"))
		ret = error_set(ERR_INPUT, "%s has no host", what);
	buf_release(&origin);
	return ret;
}

/* The Azure clouds, as the Azure CLI defines them (azure-cli core/cloud.py:
 * AzureCloud, AzureChinaCloud, AzureUSGovernment). */
static const struct cloud {
	const char *name, *authority, *resource_manager;
} clouds[] = {
	{ "Azure", "https://login.microsoftonline.com", "https://management.azure.com" },
	{ "Azure China", "https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn" },
	{ "Azure US Government", "https://login.microsoftonline.us", "https://management.usgovcloudapi.net" },
};

/* The cloud whose `which` endpoint (0 authority, 1 resource manager) is `url`'s origin. */
static const struct cloud *cloud_of(const char *url, int which, struct buf *origin)
{
	buf_reset(origin);
	if (url_origin(origin, url))
		return NULL;
	for (size_t i = 0; i < sizeof(clouds) / sizeof(*clouds); i++)
		if (!strcasecmp(origin->data, which ? clouds[i].resource_manager : clouds[i].authority))
			return &clouds[i];
	return NULL;
}

int credential_check_cloud(const char *authority, const char *resource_manager)
{
	static const char *const fields[] = { "activeDirectoryEndpointUrl", "resourceManagerEndpointUrl" };
	const char *urls[2] = { authority, resource_manager };
	const struct cloud *found[2];
	struct buf origin = BUF_INIT;
	int ret = 0;

	for (int i = 0; i < 2 && !ret; i++) {
		if (!urls[i] || !*urls[i]) {
			found[i] = &clouds[0];
			continue;
		}
		if (!(found[i] = cloud_of(urls[i], i, &origin))) {
			error_clear();
			for (char *p = origin.data; *p; p++)  /* quoted from outside */
				if (iscntrl((unsigned char)*p))
					*p = '?';
			ret = error_set(ERR_INPUT, "creds: %s is %.200s, which is not the %s host of "
					"a known Azure cloud (%s, %s or %s); set allow-custom-cloud: true "
					"to send the sign-in there", fields[i],
					origin.len ? origin.data : "not a URL", i ? "Resource Manager" : "sign-in",
					i ? clouds[0].resource_manager : clouds[0].authority,
					i ? clouds[1].resource_manager : clouds[1].authority,
					i ? clouds[2].resource_manager : clouds[2].authority);
		}
	}
	if (!ret && found[0] != found[1])
		ret = error_set(ERR_INPUT, "creds: activeDirectoryEndpointUrl is %s's but "
				"resourceManagerEndpointUrl is %s's: give the endpoints of one cloud",
				found[0]->name, found[1]->name);
	buf_release(&origin);
	return ret;
}

static int check_ids(const struct credential_config *cfg)
{
	int mi = cfg->kind == CREDENTIAL_MANAGED_IDENTITY;

	if (!mi && (!cfg->tenant_id || !*cfg->tenant_id))
		return error_set(ERR_INPUT, "tenant-id is required for %s sign-in",
				 credential_kind_name(cfg->kind));
	if (!mi && !credential_is_guid(cfg->tenant_id) && !is_domain(cfg->tenant_id))
		return error_set(ERR_INPUT, "tenant-id must be a GUID or a domain name "
				 "such as contoso.onmicrosoft.com");
	if (!mi && (!cfg->client_id || !*cfg->client_id))
		return error_set(ERR_INPUT, "client-id is required for %s sign-in",
				 credential_kind_name(cfg->kind));
	/* For a user-assigned managed identity the client id is optional. */
	if (cfg->client_id && *cfg->client_id && !credential_is_guid(cfg->client_id))
		return error_set(ERR_INPUT, "client-id must be a GUID "
				 "(the application or managed identity client ID)");
	return 0;
}

static int check_mode_fields(const struct credential_config *cfg)
{
	switch (cfg->kind) {
	case CREDENTIAL_SECRET:
		if (!cfg->client_secret || !*cfg->client_secret)
			return error_set(ERR_INPUT, "client-secret is required for client secret sign-in");
		return 0;
	case CREDENTIAL_CERTIFICATE:
		if (!cfg->certificate_pem || !*cfg->certificate_pem)
			return error_set(ERR_INPUT, "a PEM certificate is required for certificate sign-in");
		if (cfg->assertion_alg != JWT_RS256 && cfg->assertion_alg != JWT_PS256)
			return error_set(ERR_INPUT, "the assertion algorithm must be RS256 or PS256");
		return 0;
	case CREDENTIAL_OIDC:
		if (!cfg->id_token)
			return error_set(ERR_INPUT, "GitHub OIDC federation needs an ID token source "
					 "(permissions: id-token: write)");
		return 0;
	case CREDENTIAL_MANAGED_IDENTITY:
		if (cfg->identity_endpoint && *cfg->identity_endpoint &&
		    (!cfg->identity_header || !*cfg->identity_header))
			return error_set(ERR_INPUT, "IDENTITY_ENDPOINT is set but IDENTITY_HEADER is not");
		if (cfg->identity_endpoint && *cfg->identity_endpoint)
			return check_url(cfg->identity_endpoint, "IDENTITY_ENDPOINT");
		return 0;
	}
	return error_set(ERR_INPUT, "unknown credential kind %d", (int)cfg->kind);
}

int credential_check_config(const struct credential_config *cfg, const char *authority)
{
	int ret;

	if ((ret = check_ids(cfg)) || (ret = check_mode_fields(cfg)))
		return ret;
	return check_url(authority, "the authority (activeDirectoryEndpointUrl)");
}

/* ---- AZURE_CREDENTIALS ---- */

static int creds_string(const char **out, const cJSON *root, const char *key, int required)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);

	*out = NULL;
	if (!item || cJSON_IsNull(item)) {
		if (required)
			return error_set(ERR_INPUT, "creds: %s is missing", key);
		return 0;
	}
	if (!cJSON_IsString(item))
		return error_set(ERR_INPUT, "creds: %s must be a string, not %s", key,
				 json_type_name(item));
	if (required && !*item->valuestring)
		return error_set(ERR_INPUT, "creds: %s is empty", key);
	*out = item->valuestring;
	return 0;
}

int credential_parse_creds(struct credential_config *out, const char **subscription_id,
			   const char **resource_manager_url, cJSON **json_out, const char *text)
{
	size_t len = strnlen(text, CREDS_CAP + 1);
	const char *secret = NULL, *unused;
	cJSON *root = NULL;
	const cJSON *item;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->kind = CREDENTIAL_SECRET;
	*json_out = NULL;
	subscription_id = subscription_id ? subscription_id : &unused;
	resource_manager_url = resource_manager_url ? resource_manager_url : &unused;
	*subscription_id = *resource_manager_url = NULL;
	if (len > CREDS_CAP)
		return error_set(ERR_INPUT, "creds: longer than %d bytes", CREDS_CAP);
	/* Strictly: with clientId given twice, which one signs in would
	 * depend on the reader. */
	if ((ret = json_parse_strict(&root, text, len, "creds", NULL)))
		goto done;
	if (!cJSON_IsObject(root)) {
		ret = error_set(ERR_INPUT, "creds: expected a JSON object, not %s", json_type_name(root));
		goto done;
	}
	/* Masked first, so no later message or log line can show it. */
	item = cJSON_GetObjectItemCaseSensitive(root, "clientSecret");
	if (cJSON_IsString(item) && *item->valuestring)
		log_secret(item->valuestring);
	if ((ret = creds_string(&out->client_id, root, "clientId", 1)) ||
	    (ret = creds_string(&secret, root, "clientSecret", 1)) ||
	    (ret = creds_string(&out->tenant_id, root, "tenantId", 1)) ||
	    (ret = creds_string(subscription_id, root, "subscriptionId", 0)) ||
	    (ret = creds_string(&out->authority, root, "activeDirectoryEndpointUrl", 0)) ||
	    (ret = creds_string(resource_manager_url, root, "resourceManagerEndpointUrl", 0)))
		goto done;
	out->client_secret = secret;
	*json_out = root;
	root = NULL;
done:
	if (ret) {
		memset(out, 0, sizeof(*out));
		*subscription_id = *resource_manager_url = NULL;
	}
	credential_creds_free(root);
	return ret;
}

void credential_creds_free(cJSON *json)
{
	cJSON *item = cJSON_GetObjectItemCaseSensitive(json, "clientSecret");

	if (cJSON_IsString(item)) {
		credential_free_secret_string(item->valuestring);
		item->valuestring = NULL;
	}
	cJSON_Delete(json);
}
