#ifndef TESTS_SANDBOX_H
#define TESTS_SANDBOX_H

#include <cjson/cJSON.h>

#include "azure/aml.h"
#include "azure/arm.h"
#include "core/http.h"

/*
 * For tests that run against the live local sandbox (the tests/sandbox/ files,
 * built into build/sandbox-tests and run by tests/sandbox/run.sh with the
 * sandbox's environment loaded). See sandbox/README.md for the control API.
 */

/* Skips the current test unless the sandbox environment is loaded. */
void sandbox_require(void);
/* getenv that fails the test when the variable is missing. */
const char *sandbox_env(const char *name);

/* A control-API call; `body` may be NULL; `reply` may be NULL. Fails the
 * test on a transport error; returns the HTTP status. */
long sandbox_control(const char *method, const char *path, const cJSON *body, cJSON **reply);
/* POST /reset: a fresh sandbox (assets, jobs, blobs, faults). */
void sandbox_reset(void);
/* Adds one fault rule given as JSON text; returns its id. */
char *sandbox_fault(const char *json);
/* How many times rule `id` was applied. */
int sandbox_fault_applied(const char *id);
/* POST /config with JSON text, e.g. {"lro_step_seconds": 0.05}. */
void sandbox_config(const char *json);

/* A token source that asks the control API for an Entra token for the
 * scope's audience (so control-plane tests need no credential module). */
extern const struct token_source sandbox_tokens;

/* An HTTP client with quick retries, for tests. */
struct http_client *sandbox_http(void);
/* An ARM client against the sandbox's management endpoint. */
void sandbox_arm(struct arm *arm, struct http_client *http);
/* "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<ws>" */
const char *sandbox_workspace_path(void);

/* What the Azure ML client tests start from: an HTTP client, an ARM client
 * and the sandbox's workspace. */
struct sandbox_aml {
	struct http_client *http;
	struct arm arm;
	struct aml aml;
};

/* sandbox_require, sandbox_reset, then fills `s` (the ARM client polls
 * every 200 ms unless the test changes arm.poll_default_ms). */
void sandbox_aml_open(struct sandbox_aml *s);
void sandbox_aml_close(struct sandbox_aml *s);

#endif
