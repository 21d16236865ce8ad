#include <string.h>

#include <criterion/criterion.h>

#include "azure/credential.h"
#include "core/log.h"
#include "support/check.h"

#define TENANT "5f0c6f2a-8a3b-4c1d-9e2f-7a6b5c4d3e21"
#define CLIENT "0e3f8a51-7b2c-4d9e-8f10-1a2b3c4d5e61"
#define SECRET "s3cr3t~Value.With+Chars"
#define SECRET_CONFIG { .kind = CREDENTIAL_SECRET, .tenant_id = TENANT, .client_id = CLIENT, \
			.client_secret = SECRET }

/* ---- AZURE_CREDENTIALS ---- */

Test(credential_config, parses_azure_credentials)
{
	static const char text[] =
		"{\"clientId\":\"" CLIENT "\",\"clientSecret\":\"" SECRET "\","
		"\"subscriptionId\":\"2b6e9f31-4c7a-4d8e-a1f2-3c4d5e6f7a80\",\"tenantId\":\"" TENANT "\","
		"\"activeDirectoryEndpointUrl\":\"https://login.microsoftonline.us\","
		"\"resourceManagerEndpointUrl\":\"https://management.usgovcloudapi.net/\","
		"\"activeDirectoryGraphResourceId\":\"https://graph.windows.net/\"}";
	struct credential_config cfg;
	const char *sub, *arm;
	cJSON *json = NULL;

	cr_assert_ok(credential_parse_creds(&cfg, &sub, &arm, &json, text));
	cr_assert_eq(cfg.kind, CREDENTIAL_SECRET);
	cr_assert_str_eq(cfg.client_id, CLIENT);
	cr_assert_str_eq(cfg.client_secret, SECRET);
	cr_assert_str_eq(cfg.tenant_id, TENANT);
	cr_assert_str_eq(cfg.authority, "https://login.microsoftonline.us");
	cr_assert_str_eq(sub, "2b6e9f31-4c7a-4d8e-a1f2-3c4d5e6f7a80");
	cr_assert_str_eq(arm, "https://management.usgovcloudapi.net/");
	credential_creds_free(json);
}

Test(credential_config, creds_secret_is_masked_in_the_log_at_once)
{
	struct credential_config cfg;
	struct buf line = BUF_INIT;
	cJSON *json = NULL;

	cr_assert_ok(credential_parse_creds(&cfg, NULL, NULL, &json,
		"{\"clientId\":\"" CLIENT "\",\"clientSecret\":\"" SECRET "\",\"tenantId\":\"" TENANT "\"}"));
	buf_addstr(&line, "value " SECRET " here");
	log_mask(&line);
	cr_assert_str_eq(line.data, "value *** here");
	cr_assert_null(cfg.authority);
	buf_release(&line);
	credential_creds_free(json);
}

Test(credential_config, bad_creds_name_the_field_never_the_secret)
{
	static const struct { const char *text, *needle; } cases[] = {
		{ "{\"clientSecret\":\"" SECRET "\",\"tenantId\":\"" TENANT "\"}", "clientId is missing" },
		{ "{\"clientId\":\"" CLIENT "\",\"tenantId\":\"" TENANT "\"}", "clientSecret is missing" },
		{ "{\"clientId\":\"" CLIENT "\",\"clientSecret\":\"" SECRET "\"}", "tenantId is missing" },
		{ "{\"clientId\":42,\"clientSecret\":\"" SECRET "\",\"tenantId\":\"" TENANT "\"}",
		  "clientId must be a string, not a number" },
		{ "{\"clientId\":\"" CLIENT "\",\"clientSecret\":[\"" SECRET "\"],\"tenantId\":\"" TENANT "\"}",
		  "clientSecret must be a string, not an array" },
		{ "{\"clientId\":\"" CLIENT "\",\"clientSecret\":\"\",\"tenantId\":\"" TENANT "\"}",
		  "clientSecret is empty" },
		{ "{\"clientId\":\"" CLIENT "\",\"clientSecret\":\"" SECRET "\",\"tenantId\":\"" TENANT "\","
		  "\"subscriptionId\":true}", "subscriptionId must be a string" },
		{ "clientId=" CLIENT " clientSecret=" SECRET, "creds:1:1: invalid JSON" },
		{ "{\"clientId\":\"" CLIENT "\",\"clientSecret\":\"" SECRET "\"", "invalid JSON" },
		{ "[\"" SECRET "\"]", "expected a JSON object" },
		{ "", "invalid JSON" },
		/* Which clientId signs in must not depend on the reader. */
		{ "{\"clientId\":\"" CLIENT "\",\"clientSecret\":\"" SECRET "\",\"tenantId\":\"" TENANT "\",\n"
		  "\"clientId\":\"" CLIENT "\"}", "creds:2:1: clientId is given twice (first at line 1)" },
		{ "{\"clientId\":\"" CLIENT "\",\"clientSecret\":\"" SECRET "\",\"tenantId\":\"" TENANT "\"} "
		  "{\"clientId\":\"" CLIENT "\"}", "a second JSON value after the document" },
		{ "{\"clientId\":\"" CLIENT "\",\"clientSecret\":\"" SECRET "\",\"tenantId\":\"" TENANT "\"},",
		  "unexpected text after the JSON document" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct credential_config cfg;
		const char *sub = "x";
		cJSON *json = (cJSON *)1;

		cr_assert_fails(credential_parse_creds(&cfg, &sub, NULL, &json, cases[i].text),
				ERR_INPUT, cases[i].needle);
		cr_assert_null(strstr(error_message(), SECRET), "case %zu leaks: %s", i, error_message());
		cr_assert_null(json);
		cr_assert_null(sub);
		cr_assert_null(cfg.client_secret);
	}
}

/* ---- input checks ---- */

Test(credential_config, refuses_malformed_ids_before_any_call)
{
	static const struct { const char *tenant, *client, *authority, *needle; } cases[] = {
		{ "not a tenant", CLIENT, NULL, "tenant-id must be a GUID or a domain" },
		{ "5f0c6f2a-8a3b-4c1d-9e2f-7a6b5c4d3e2", CLIENT, NULL, "tenant-id" },
		{ "contoso", CLIENT, NULL, "tenant-id" },
		{ "contoso.onmicrosoft.com/../x", CLIENT, NULL, "tenant-id" },
		{ "", CLIENT, NULL, "tenant-id is required" },
		{ TENANT, "my-app", NULL, "client-id must be a GUID" },
		{ TENANT, NULL, NULL, "client-id is required" },
		{ TENANT, CLIENT, "http://login.example.com", "must be an https:// URL" },
		{ TENANT, CLIENT, "https://login.example.com/?x=1", "not a base URL" },
		{ TENANT, CLIENT, "https://", "no host" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct credential_config cfg = SECRET_CONFIG;
		struct credential *c = (struct credential *)1;

		cfg.tenant_id = cases[i].tenant;
		cfg.client_id = cases[i].client;
		cfg.authority = cases[i].authority;
		cr_assert_fails(credential_new(&c, &cfg, NULL), ERR_INPUT, cases[i].needle);
		cr_assert_null(c);
	}
}

Test(credential_config, accepts_a_domain_tenant_and_a_loopback_authority)
{
	struct credential_config cfg = SECRET_CONFIG;
	struct credential *c = NULL;

	cfg.tenant_id = "contoso.onmicrosoft.com";
	cfg.authority = "http://127.0.0.1:8080/";
	cr_assert_ok(credential_new(&c, &cfg, NULL));
	credential_free(c);
}

Test(credential_config, each_mode_needs_its_own_fields)
{
	struct credential_config cfg = { .tenant_id = TENANT, .client_id = CLIENT };
	struct credential *c = NULL;

	cfg.kind = CREDENTIAL_SECRET;
	cr_assert_fails(credential_new(&c, &cfg, NULL), ERR_INPUT, "client-secret is required");
	cfg.kind = CREDENTIAL_CERTIFICATE;
	cr_assert_fails(credential_new(&c, &cfg, NULL), ERR_INPUT, "PEM certificate is required");
	cfg.certificate_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	cr_assert_fails(credential_new(&c, &cfg, NULL), ERR_INPUT, "client certificate: ");
	cfg.kind = CREDENTIAL_OIDC;
	cr_assert_fails(credential_new(&c, &cfg, NULL), ERR_INPUT, "ID token source");
	cfg.kind = CREDENTIAL_MANAGED_IDENTITY;
	cfg.identity_endpoint = "http://127.0.0.1:1/msi/token";
	cr_assert_fails(credential_new(&c, &cfg, NULL), ERR_INPUT, "IDENTITY_HEADER");
	cr_assert_str_eq(credential_kind_name(CREDENTIAL_OIDC), "GitHub OIDC federation");
}


/* ---- known clouds ---- */

Test(credential_config, creds_endpoints_must_be_one_known_cloud)
{
	static const struct { const char *authority, *arm, *needle; } cases[] = {
		{ NULL, NULL, NULL },
		{ "https://login.microsoftonline.com/", "https://management.azure.com/", NULL },
		{ "https://LOGIN.chinacloudapi.cn", "https://management.chinacloudapi.cn/", NULL },
		{ "https://login.microsoftonline.us", "https://management.usgovcloudapi.net", NULL },
		{ "https://login.microsoftonline.com.example.net", NULL,
		  "activeDirectoryEndpointUrl is https://login.microsoftonline.com.example.net, which is not" },
		{ "https://login.microsoftonline.com:8443", NULL, "is https://login.microsoftonline.com:8443" },
		{ "http://login.microsoftonline.com", NULL, "activeDirectoryEndpointUrl is http://login" },
		{ NULL, "https://127.0.0.1:1/", "resourceManagerEndpointUrl is https://127.0.0.1:1" },
		{ "nonsense", NULL, "activeDirectoryEndpointUrl is not a URL" },
		{ "https://login.microsoftonline.us", NULL, "is Azure US Government's but resourceManagerEndpointUrl is Azure's" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int ret = credential_check_cloud(cases[i].authority, cases[i].arm);

		if (!cases[i].needle) {
			cr_assert_eq(ret, 0, "case %zu: %s", i, error_message());
			continue;
		}
		cr_assert_eq(ret, ERR_INPUT, "case %zu accepted", i);
		cr_assert(strstr(error_message(), cases[i].needle), "case %zu: '%s' lacks '%s'", i,
			  error_message(), cases[i].needle);
	}
}
