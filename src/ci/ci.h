#ifndef CI_CI_H
#define CI_CI_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/log.h"

/*
 * The host platform a workflow runs under: GitHub Actions, Azure Pipelines
 * or a terminal. One interface; src/cmd never knows which host it has.
 * Only this layer reads the platform's environment variables and prints
 * workflow commands.
 *
 * Host detection: TF_BUILD=True means Azure Pipelines; GITHUB_ACTIONS=true
 * means GitHub Actions (and act, which sets it too); anything else is a
 * terminal.
 */

enum input_flags {
	INPUT_REQUIRED = 1 << 0, /* empty after trimming is an input error */
	INPUT_BOOL = 1 << 1,     /* true/True/TRUE/false/False/FALSE only */
	INPUT_SECRET = 1 << 2,   /* masked in every log the moment it is read */
	INPUT_MULTILINE = 1 << 3,/* one item a line; empty lines dropped */
};

/* One declared input: the single source of truth for action.yml too. */
struct input_spec {
	const char *name;        /* [a-z0-9-], as in action.yml */
	const char *description;
	const char *default_value; /* NULL: no default */
	unsigned flags;
};

struct output_spec {
	const char *name;
	const char *description;
};

/* What a workflow declares; tables end with a { NULL } entry. */
struct ci_spec {
	const char *name;
	const struct input_spec *inputs;
	const struct output_spec *outputs;
};

enum ci_kind { CI_TERMINAL, CI_GITHUB, CI_PIPELINES };

struct ci;

/*
 * Opens the host for workflow `spec`. `argv` holds the arguments after the
 * workflow name: for a terminal, `--name value` / `--name=value` inputs and
 * `--summary FILE`; the other hosts take no arguments. Installs the host's
 * log sink and turns debug logging on when the host asks for it. Returns
 * ERR_INPUT for unknown or malformed arguments and for a --summary that is
 * a folder; ERR_IO when GITHUB_STEP_SUMMARY is a folder (the summary is
 * then not written at all). `*out` is set even on error, for reporting it.
 */
int ci_open(struct ci **out, const struct ci_spec *spec, int argc, char **argv);
/*
 * Finishes: writes the step summary, and on a terminal prints the outputs
 * as one JSON object on stdout. Frees the host. A summary that cannot be
 * written is logged as an error (an annotation) and returned.
 */
int ci_close(struct ci *ci);

enum ci_kind ci_kind(const struct ci *ci);

/*
 * An input's value: trimmed, the declared default when empty, checked
 * against its flags. Errors are ERR_INPUT naming the input, e.g.
 * "Input required and not supplied: resource-group". The string is owned by
 * the host and lives until ci_close. An optional input with no value and no
 * default yields "".
 */
int ci_input(struct ci *ci, const char *name, const char **out);
/* Whether the workflow declares input `name` (shared code asks first). */
int ci_has_input(const struct ci *ci, const char *name);
int ci_input_bool(struct ci *ci, const char *name, int *out);
/* A positive integer within [min, max]. */
int ci_input_int(struct ci *ci, const char *name, long min, long max, long *out);
/* A multiline input split into non-empty trimmed lines (NULL-terminated,
 * owned by the host). */
int ci_input_lines(struct ci *ci, const char *name, const char *const **out);

/*
 * Sets a step output. On GitHub: a heredoc block with a fresh random
 * delimiter, appended to GITHUB_OUTPUT in one O_APPEND write, LF only.
 * A value that contains the delimiter is refused (ERR_INPUT). Masked
 * secrets are refused too: outputs are not masked by the runner.
 */
int ci_output(struct ci *ci, const char *name, const char *value);

/* An annotation; `where` may be NULL; `title` may be NULL. */
void ci_annotate(struct ci *ci, enum log_level level,
		 const struct error_location *where, const char *title,
		 const char *message);

void ci_group_begin(struct ci *ci, const char *title);
void ci_group_end(struct ci *ci);

/* Appends Markdown to the step summary (written at ci_close). */
struct summary;
struct summary *ci_summary(struct ci *ci);

/* A value from the environment of the run: the commit, the repository... */
struct ci_context {
	const char *repository;  /* owner/name, or "" */
	const char *sha;         /* commit, or "" */
	const char *ref;
	const char *run_id;
	const char *run_attempt;
	const char *job;
	const char *actor;
	const char *server_url;
	const char *workspace;   /* where the repository is checked out; "." when it
				  * is the working directory (as under the runner) */
	const char *event_name;
};
const struct ci_context *ci_context(const struct ci *ci);
/* Appends where `rel` (a path from an input) is: under the workspace, or
 * as it is when the workspace is the working directory or `rel` is absolute. */
void ci_workspace_path(const struct ci *ci, struct buf *out, const char *rel);
/* `path` as the repository sees it: relative to the workspace when under it. */
const char *ci_relative_path(const struct ci *ci, const char *path);

/*
 * Uploads the files under `root` as a workflow artifact named `name`
 * (zipped). On GitHub, the v4 results service; on Azure Pipelines, the
 * ##vso[artifact.upload] command; on a terminal, a zip in the directory
 * given by --artifacts (default ./artifacts). Where the host offers no
 * artifact storage (GitHub without ACTIONS_RESULTS_URL, as under act
 * without --artifact-server-path) it returns ERR_NOT_FOUND after a warning.
 * `url_out`, when not NULL, receives where to find it (caller frees).
 */
int ci_upload_artifact(struct ci *ci, const char *name, const char *root,
		       char **url_out);
/* The id the host gave the artifact ci_upload_artifact last uploaded (on
 * GitHub, FinalizeArtifact's artifact_id, decimal); NULL when it gave none. */
const char *ci_artifact_id(const struct ci *ci);

/*
 * Makes a new, empty folder named "<prefix>-XXXXXX" to gather an artifact's
 * files in, where the host's uploader can read it: on Azure Pipelines under
 * $AGENT_TEMPDIRECTORY (which a container step shares with the agent),
 * elsewhere under $TMPDIR, else /tmp. Appends its path to `dir`. ERR_IO
 * naming the parent folder when it cannot be made.
 */
int ci_artifact_folder(struct ci *ci, const char *prefix, struct buf *dir);
/*
 * Done with a folder from ci_artifact_folder, uploaded or not: removed with
 * all it holds, except on Azure Pipelines, where the agent uploads the
 * folder of ##vso[artifact.upload] asynchronously, maybe after this program
 * has ended, and empties $AGENT_TEMPDIRECTORY itself after the job. An
 * empty `dir` (none was made) is nothing to do.
 */
void ci_artifact_folder_done(struct ci *ci, const char *dir);

/*
 * The managed identity endpoint the machine itself offers, where it is an
 * App Service, Container Apps or Functions host: IDENTITY_ENDPOINT and
 * IDENTITY_HEADER, each NULL when unset (then the caller asks IMDS).
 * Borrowed from the environment of the run; the header, a secret, is
 * masked in the log before it is returned.
 */
void ci_managed_identity(const struct ci *ci, const char **endpoint_out,
			 const char **header_out);

/*
 * Requests an OIDC ID token for `audience` from the host (GitHub:
 * ACTIONS_ID_TOKEN_REQUEST_URL). The token is masked before it is returned.
 * ERR_AUTH with a hint when the host offers none (no id-token permission).
 */
int ci_id_token(struct ci *ci, const char *audience, char **token_out);

/* The pull request this run is for: its number on GitHub for a
 * pull_request or pull_request_target event, else 0. */
long ci_pull_request(const struct ci *ci);

/*
 * Creates, or updates in place, this run's comment on its pull request
 * (ci/github_comment.h): one comment per workflow file and `key` (a job
 * file, say), found again on every push by a hidden marker of `kind` and
 * that key, which is put before `body` (Markdown the caller escaped; at
 * most CI_PR_COMMENT_MAX bytes). `token` is masked first. Nothing is done,
 * 0 returned, without a token, on a run that is not for a pull request,
 * and on other hosts than GitHub (Azure Pipelines logs a notice). Errors
 * as github_comment_upsert: ERR_AUTH naming `pull-requests: write` for a
 * token that may not comment. `url_out`, when not NULL, receives the
 * comment's link (caller frees) or NULL.
 */
#define CI_PR_COMMENT_MAX (63 * 1024)
int ci_pr_comment(struct ci *ci, const char *token, const char *kind, const char *key,
		  const char *body, char **url_out);

#endif
