#ifndef CI_HOST_H
#define CI_HOST_H

/* Internal to src/ci: what each host (github.c, pipelines.c, terminal.c)
 * provides behind the one interface of ci.h. */

#include "ci/ci.h"
#include "ci/summary.h"
#include "core/http.h"
#include "core/kv.h"

struct ci;

struct ci_host {
	enum ci_kind kind;
	const char *name;
	/* The raw value of an input, or NULL when the host has none. */
	const char *(*input)(struct ci *ci, const char *name);
	int (*output)(struct ci *ci, const char *name, const char *value);
	void (*secret)(struct ci *ci, const char *value);
	void (*line)(struct ci *ci, enum log_level level, const char *text);
	void (*annotate)(struct ci *ci, enum log_level level,
			 const struct error_location *where, const char *title,
			 const char *message);
	void (*group)(struct ci *ci, const char *title); /* NULL ends it */
	int (*write_summary)(struct ci *ci, const char *markdown);
	/* At ci_open, before anything has changed: can the summary be written
	 * where it is asked for? NULL: nothing to check. */
	int (*check_summary)(struct ci *ci);
	int (*upload_artifact)(struct ci *ci, const char *name, const char *root,
			       char **url_out);
	int (*id_token)(struct ci *ci, const char *audience, char **token_out);
	int (*finish)(struct ci *ci);
	/* Where to make folders the host reads (ci_artifact_folder). */
	const char *(*temp_dir)(void);
	/* The host reads an uploaded folder after the upload call returns,
	 * maybe after this program ended: ci_artifact_folder_done keeps it. */
	int uploads_later;
};

struct ci {
	const struct ci_host *host;
	const struct ci_spec *spec;
	struct ci_context context;
	struct summary summary;
	struct http_client *http;     /* created on first need */
	/* inputs read so far and outputs set so far (terminal prints them) */
	struct kv_list inputs, outputs;
	char ***lists;                /* ci_input_lines results */
	size_t nr_lists;
	/* terminal */
	struct kv_list flags;          /* --name value, in order: the last one counts */
	const char *summary_file;
	const char *artifacts_dir;
	int in_group;
	int summary_refused;          /* check_summary failed: not written */
	char *artifact_id;            /* of the last artifact uploaded, when the host says */
};

extern const struct ci_host ci_github_host;
extern const struct ci_host ci_pipelines_host;
extern const struct ci_host ci_terminal_host;

/* $TMPDIR, else /tmp. */
const char *ci_default_temp_dir(void);

/* The shared HTTP client for host calls (OIDC, artifacts). */
int ci_http(struct ci *ci, struct http_client **out);

/* Escaping for ::command:: data and property values (docs/actions-contract.md 3.3). */
void ci_escape_data(struct buf *out, const char *text);
void ci_escape_property(struct buf *out, const char *text);

/*
 * Whether the command marker `marker` (ASCII, letters in either case)
 * starts at `s`; returns how many bytes of `s` it spans, or 0. The runner
 * and the agent look for markers with .NET's culture-aware string search,
 * which passes over characters without collation weight (NUL and the other
 * controls, zero-width characters, the soft hyphen); so any control byte
 * or non-ASCII byte between the marker's characters is passed over here
 * too. Matching more than .NET would only fences or defuses a harmless
 * line (docs/workflow-commands.md).
 */
size_t ci_marker_at(const char *s, const char *marker);

/* INPUT_<NAME>: upper-cased, spaces to '_', hyphens kept (the runner's rule). */
void ci_input_env_name(struct buf *out, const char *name);
/* getenv of INPUT_<NAME>, then of the same with '-' as '_' (the spelling a
 * pipeline or a shell can export); NULL when neither is set. */
const char *ci_input_env_lenient(const char *name);

/* GitHub pieces, exposed for tests. */
int github_format_output(struct buf *out, const char *name, const char *value);

#endif
