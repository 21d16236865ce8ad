#ifndef CMD_WORKFLOW_H
#define CMD_WORKFLOW_H

#include <signal.h>
#include <stdio.h>

#include "ci/ci.h"
#include "core/buf.h"
#include "core/error.h"

/*
 * One workflow: its declared inputs and outputs (the single source of truth
 * for its action.yml and its --help) and the function that runs it.
 * `run` returns 0 or a negative error code with the message set; workflow_run
 * turns that into an annotation, a summary line and the exit code.
 */
struct workflow {
	struct ci_spec spec;
	const char *title;        /* "Model CD" */
	const char *description;  /* one sentence for action.yml and --help */
	int (*run)(struct ci *ci);
	/* Its run watches workflow_stopping() and ends early on SIGINT or
	 * SIGTERM (summary and outputs of what was done); otherwise the first
	 * signal ends the process at once. */
	int stops_gracefully;
};

/* Each workflow, defined in the file of its name (cmd/workspace_cd.c, ...). */
extern const struct workflow workflow_workspace_cd, workflow_environment_ci,
	workflow_environment_cd, workflow_model_ci, workflow_model_ct, workflow_model_cd;

/* The six workflows, NULL-terminated, in the order the docs list them. */
extern const struct workflow *const workflows[];

const struct workflow *workflow_find(const char *name);

/* Exit codes: what a script or the runner can tell apart. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILED = 1,      /* the workflow ran and failed (Azure said no, a check failed) */
	EXIT_USAGE = 2,       /* bad inputs or files: nothing was changed in Azure */
	EXIT_SIGNAL = 128,    /* + the signal: ended at once by SIGINT or SIGTERM */
};

/* Runs `wf` under the detected host; returns the process exit code. */
int workflow_run(const struct workflow *wf, int argc, char **argv);

/*
 * Says that the run is about to change Azure (a deployment, an upload, a
 * registration). From then on it never exits EXIT_USAGE, which promises
 * that nothing was changed: an input error found later is EXIT_FAILED.
 * Call it before the first request that may change anything.
 */
void workflow_changing(void);
/* Whether workflow_changing() was called in this run. */
int workflow_changed(void);

/*
 * Outputs are written whatever happened, so a failed run still says what it
 * did. A writer error_save()s the run's error `ret` into `saved` before
 * writing, and ends with this: the outputs' result `out` after a success;
 * after a failure the run's error again (an outputs failure then only warns,
 * "outputs not written: ..."). Releases `saved`.
 */
int workflow_outputs_written(int ret, int out, struct error_saved *saved);

/*
 * Signals. workflow_run installs handlers for SIGINT and SIGTERM (the
 * container's process is PID 1, which has no default action for them).
 * For a workflow that stops gracefully the first signal only sets the
 * stop flag, and arms a watchdog that ends the process after
 * WORKFLOW_STOP_GRACE_S whatever the network does; a second signal ends it
 * at once (EXIT_SIGNAL + the signal). The runner sends SIGINT, SIGTERM
 * 7.5 s later, then SIGKILL 2.5 s after that; the step is out within 5 s
 * of the first, hung or not: 4 s, as alarm() counts whole seconds (it is
 * async-signal-safe, setitimer is not).
 */
#define WORKFLOW_STOP_GRACE_S 4

/* The signal that asked the run to stop (SIGINT, SIGTERM), or 0. */
int workflow_stopping(void);
/* The flag itself, for code below src/cmd that waits (non-zero: stop). */
const volatile sig_atomic_t *workflow_stop_flag(void);
/* "SIGTERM" or "SIGINT". */
const char *workflow_signal_name(int sig);

/*
 * For a workflow whose steps are not built yet (cmd/pending.c): reads and
 * checks every declared input (so bad inputs fail exactly as they will
 * later), then fails saying the workflow is not available in this build.
 * Nothing is sent to Azure.
 */
int workflow_pending(struct ci *ci, const struct ci_spec *spec);

/* Prints `wf`'s inputs and outputs as help text. */
void workflow_help(const struct workflow *wf, FILE *out);

/* Writes the action.yml for `wf`, or the top-level one (all workflows,
 * picked by the `workflow` input) when `wf` is NULL. */
void workflow_action_yml(struct buf *out, const struct workflow *wf);

/* The inputs every Azure workflow shares: authentication and workspace. */
#define AZURE_INPUTS \
	{ "creds", "Azure credentials JSON as azure/login takes it (AZURE_CREDENTIALS: clientId, clientSecret, tenantId, subscriptionId). Alternative to the separate inputs below.", NULL, INPUT_SECRET }, \
	{ "client-id", "Application (client) ID of the service principal or user-assigned managed identity.", NULL, 0 }, \
	{ "tenant-id", "Microsoft Entra tenant ID.", NULL, 0 }, \
	{ "subscription-id", "Azure subscription ID.", NULL, 0 }, \
	{ "client-secret", "Client secret of the service principal.", NULL, INPUT_SECRET }, \
	{ "client-certificate", "PEM certificate and private key of the service principal (contents, not a path).", NULL, INPUT_SECRET }, \
	{ "allow-custom-cloud", "Allow creds to name sign-in and Resource Manager endpoints outside the known Azure clouds (public, China, US Government): the client secret is sent there.", "false", 0 }, \
	{ "auth", "How to sign in: auto, secret, certificate, oidc (GitHub workload identity federation) or managed-identity. auto picks from the inputs given.", "auto", 0 }, \
	{ "resource-group", "Resource group of the workspace.", NULL, INPUT_REQUIRED }

#define WORKSPACE_INPUT \
	{ "workspace-name", "Azure Machine Learning workspace name.", NULL, INPUT_REQUIRED }

#endif
