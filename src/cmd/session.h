#ifndef CMD_SESSION_H
#define CMD_SESSION_H

#include "azure/aml.h"
#include "azure/arm.h"
#include "azure/credential.h"
#include "ci/ci.h"
#include "core/http.h"

/*
 * What every Azure workflow opens first: the sign-in chosen from the
 * shared inputs (AZURE_INPUTS in workflow.h), an ARM client for the
 * subscription and, for workflows that declare workspace-name, the Azure ML
 * workspace. Nothing is sent to Azure until the first call needs a token.
 */
struct session {
	struct http_client *http;
	struct credential *credential;
	struct token_source tokens; /* the credential's: give it to every client */
	struct arm arm;
	struct aml aml;            /* valid when has_workspace */
	int has_workspace;
	int arm_ready;
	char *subscription_id;
	char *resource_group;
	cJSON *creds_json;         /* AZURE_CREDENTIALS, kept while strings point into it */
	struct ci *ci;
};

/*
 * Reads the sign-in inputs and opens the session. ERR_INPUT names the input
 * at fault: no way to sign in, a malformed creds JSON, a missing
 * subscription id, a bad resource group or workspace name.
 * How `auth: auto` chooses: creds, then client-secret, then
 * client-certificate, then client-id + tenant-id with GitHub OIDC; a
 * managed identity only when asked for (auth: managed-identity).
 */
int session_open(struct session *s, struct ci *ci);
void session_close(struct session *s);

#endif
