#include <stdlib.h>
#include <string.h>

#include "cmd/session.h"
#include "core/log.h"
#include "core/banned.h"

static int github_id_token(void *ctx, const char *audience, char **token_out)
{
	struct session *s = ctx;

	return ci_id_token(s->ci, audience, token_out);
}

static int kind_from_input(const char *auth, enum credential_kind *kind, int *is_auto)
{
	static const struct { const char *name; enum credential_kind kind; } names[] = {
		{ "secret", CREDENTIAL_SECRET },
		{ "certificate", CREDENTIAL_CERTIFICATE },
		{ "oidc", CREDENTIAL_OIDC },
		{ "managed-identity", CREDENTIAL_MANAGED_IDENTITY },
	};
	size_t i;

	*is_auto = !strcmp(auth, "auto");
	if (*is_auto)
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(auth, names[i].name)) {
			*kind = names[i].kind;
			return 0;
		}
	return error_set(ERR_INPUT, "Input auth is '%s': use auto, secret, certificate, oidc "
			 "or managed-identity", auth);
}

struct sign_in_inputs {
	const char *creds, *client_id, *tenant_id, *subscription_id, *secret, *certificate, *auth;
	int allow_custom_cloud;
};

static int read_inputs(struct ci *ci, struct sign_in_inputs *in)
{
	int ret;

	if ((ret = ci_input(ci, "creds", &in->creds)) ||
	    (ret = ci_input(ci, "client-id", &in->client_id)) ||
	    (ret = ci_input(ci, "tenant-id", &in->tenant_id)) ||
	    (ret = ci_input(ci, "subscription-id", &in->subscription_id)) ||
	    (ret = ci_input(ci, "client-secret", &in->secret)) ||
	    (ret = ci_input(ci, "client-certificate", &in->certificate)) ||
	    (ret = ci_input(ci, "auth", &in->auth)) ||
	    (ret = ci_input_bool(ci, "allow-custom-cloud", &in->allow_custom_cloud)))
		return ret;
	return 0;
}

/* The sign-in the creds JSON describes; its subscription unless the
 * input gave one. */
static int from_creds(struct session *s, const struct sign_in_inputs *in,
		      struct credential_config *cfg, const char **subscription,
		      int *subscription_from_creds, const char **resource_manager)
{
	const char *creds_sub = NULL;
	int ret;

	if ((ret = credential_parse_creds(cfg, &creds_sub, resource_manager,
					  &s->creds_json, in->creds)))
		return error_prefix("Input creds");
	/* The secret goes to the sign-in host, the token to Resource
	 * Manager: only a known cloud's unless the user said otherwise. */
	if (!in->allow_custom_cloud &&
	    (ret = credential_check_cloud(cfg->authority, *resource_manager)))
		return error_prefix("Input creds");
	if (!**subscription && creds_sub) {
		*subscription = creds_sub;
		*subscription_from_creds = 1;
	}
	return 0;
}

/* Fills `cfg` from the inputs; the subscription and (for sovereign
 * clouds) the Resource Manager endpoint may come from the creds JSON. */
static int choose(struct session *s, const struct sign_in_inputs *in,
		  struct credential_config *cfg, const char **subscription,
		  int *subscription_from_creds, const char **resource_manager)
{
	enum credential_kind kind = CREDENTIAL_SECRET;
	int is_auto, ret;

	memset(cfg, 0, sizeof(*cfg));
	*subscription = in->subscription_id;
	*subscription_from_creds = 0;
	*resource_manager = NULL;
	if ((ret = kind_from_input(in->auth, &kind, &is_auto)))
		return ret;
	if (*in->creds && (is_auto || kind == CREDENTIAL_SECRET))
		return from_creds(s, in, cfg, subscription, subscription_from_creds, resource_manager);
	if (is_auto) {
		if (*in->secret)
			kind = CREDENTIAL_SECRET;
		else if (*in->certificate)
			kind = CREDENTIAL_CERTIFICATE;
		else if (*in->client_id && *in->tenant_id)
			kind = CREDENTIAL_OIDC;
		else
			return error_set(ERR_INPUT, "no way to sign in to Azure: give creds, or "
					 "client-id and tenant-id with client-secret, client-certificate "
					 "or GitHub OIDC, or set auth: managed-identity");
	}
	cfg->kind = kind;
	cfg->client_id = in->client_id;
	cfg->tenant_id = in->tenant_id;
	switch (kind) {
	case CREDENTIAL_SECRET:
		cfg->client_secret = in->secret;
		if (!*in->secret)
			return error_set(ERR_INPUT, "auth is secret but client-secret is empty");
		break;
	case CREDENTIAL_CERTIFICATE:
		cfg->certificate_pem = in->certificate;
		if (!*in->certificate)
			return error_set(ERR_INPUT, "auth is certificate but client-certificate is empty");
		break;
	case CREDENTIAL_OIDC:
		cfg->id_token = github_id_token;
		cfg->id_token_ctx = s;
		break;
	case CREDENTIAL_MANAGED_IDENTITY:
		/* App Service / Container Apps style when the host provides it. */
		ci_managed_identity(s->ci, &cfg->identity_endpoint, &cfg->identity_header);
		break;
	}
	if (kind != CREDENTIAL_MANAGED_IDENTITY && (!*in->client_id || !*in->tenant_id))
		return error_set(ERR_INPUT, "%s sign-in needs client-id and tenant-id",
				 credential_kind_name(kind));
	return 0;
}

int session_open(struct session *s, struct ci *ci)
{
	struct sign_in_inputs in;
	struct credential_config cfg;
	const char *subscription, *resource_manager, *rg, *ws = NULL;
	int from_creds, ret;

	memset(s, 0, sizeof(*s));
	s->ci = ci;
	if ((ret = read_inputs(ci, &in)) || (ret = ci_input(ci, "resource-group", &rg)))
		return ret;
	if ((ret = aml_check_resource_group(rg)))
		return error_prefix("Input resource-group");
	if ((ret = http_client_new(&s->http, NULL)))
		return ret;
	if ((ret = choose(s, &in, &cfg, &subscription, &from_creds, &resource_manager)))
		return ret;
	if (!*subscription)
		return error_set(ERR_INPUT, "Input required and not supplied: subscription-id "
				 "(or subscriptionId in creds)");
	/* It becomes a path segment of every request, the token beside it:
	 * "../x" would send that token to another path. */
	if (!credential_is_guid(subscription))
		return error_set(ERR_INPUT, "%s must be a GUID (8-4-4-4-12 hex digits)",
				 from_creds ? "Input creds: subscriptionId" : "Input subscription-id");
	s->subscription_id = xstrdup(subscription);
	s->resource_group = xstrdup(rg);
	if ((ret = credential_new(&s->credential, &cfg, s->http)))
		return ret;
	s->tokens = credential_token_source(s->credential);
	arm_init(&s->arm, s->http, s->tokens, resource_manager, subscription);
	s->arm_ready = 1;
	log_info("Azure: %s sign-in%s%s, subscription %s, resource group %s",
		 credential_kind_name(cfg.kind), cfg.client_id && *cfg.client_id ? " as " : "",
		 cfg.client_id ? cfg.client_id : "", subscription, rg);

	if (ci_has_input(ci, "workspace-name")) {
		if ((ret = ci_input(ci, "workspace-name", &ws)))
			return ret;
		if ((ret = aml_init(&s->aml, &s->arm, rg, ws)))
			return error_prefix("Input workspace-name");
		s->has_workspace = 1;
	}
	return 0;
}

void session_close(struct session *s)
{
	if (s->has_workspace)
		aml_release(&s->aml);
	if (s->arm_ready)
		arm_release(&s->arm);
	credential_free(s->credential);
	http_client_free(s->http);
	credential_creds_free(s->creds_json);
	free(s->subscription_id);
	free(s->resource_group);
	memset(s, 0, sizeof(*s));
}
