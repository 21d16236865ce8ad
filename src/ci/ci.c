#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ci/host.h"
#include "core/encode.h"
#include "core/fs.h"
#include "core/banned.h"

static const char *env_or_empty(const char *name)
{
	const char *v = getenv(name);

	return v ? v : "";
}

static void log_line(enum log_level level, const char *text, void *ctx)
{
	struct ci *ci = ctx;

	ci->host->line(ci, level, text);
}

static void log_new_secret(const char *secret, void *ctx)
{
	struct ci *ci = ctx;

	ci->host->secret(ci, secret);
}

static const struct input_spec *find_input(const struct ci_spec *spec, const char *name)
{
	const struct input_spec *in;

	for (in = spec->inputs; in && in->name; in++)
		if (!strcmp(in->name, name))
			return in;
	return NULL;
}

/* A boolean input given as a bare switch: nothing follows it, or another
 * flag does. */
static int is_bare_bool(const struct ci_spec *spec, const char *name, const char *next)
{
	const struct input_spec *in = find_input(spec, name);

	return in && (in->flags & INPUT_BOOL) && (!next || !strncmp(next, "--", 2));
}

static int parse_flags(struct ci *ci, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq;
		struct buf name = BUF_INIT;
		const char *value;

		if (strncmp(arg, "--", 2) || !arg[2])
			return error_set(ERR_INPUT, "unexpected argument '%s' (inputs are --name value)", arg);
		arg += 2;
		eq = strchr(arg, '=');
		buf_add(&name, arg, eq ? (size_t)(eq - arg) : strlen(arg));
		if (eq) {
			value = eq + 1;
		} else if (is_bare_bool(ci->spec, name.data, i + 1 < argc ? argv[i + 1] : NULL)) {
			value = "true"; /* --force alone, as most programs take a switch */
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			error_set(ERR_INPUT, "--%s needs a value", name.data);
			buf_release(&name);
			return ERR_INPUT;
		}
		if (!strcmp(name.data, "summary")) {
			ci->summary_file = value;
		} else if (!strcmp(name.data, "artifacts")) {
			ci->artifacts_dir = value;
		} else if (!find_input(ci->spec, name.data)) {
			error_set(ERR_INPUT, "unknown input --%s (see '%s --help')",
				  name.data, ci->spec->name);
			buf_release(&name);
			return ERR_INPUT;
		} else {
			kv_list_add(&ci->flags, name.data, value);
		}
		buf_release(&name);
	}
	return 0;
}

static int same_dir(const char *a, const char *b)
{
	char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
	int same = ra && rb && !strcmp(ra, rb);

	free(ra);
	free(rb);
	return same;
}

static void read_context(struct ci *ci)
{
	struct ci_context *c = &ci->context;

	if (ci->host->kind == CI_PIPELINES) {
		c->repository = env_or_empty("BUILD_REPOSITORY_NAME");
		c->sha = env_or_empty("BUILD_SOURCEVERSION");
		c->ref = env_or_empty("BUILD_SOURCEBRANCH");
		c->run_id = env_or_empty("BUILD_BUILDID");
		c->run_attempt = env_or_empty("SYSTEM_JOBATTEMPT");
		c->job = env_or_empty("SYSTEM_JOBNAME");
		c->actor = env_or_empty("BUILD_REQUESTEDFOR");
		c->server_url = env_or_empty("SYSTEM_COLLECTIONURI");
		c->workspace = env_or_empty("BUILD_SOURCESDIRECTORY");
		c->event_name = env_or_empty("BUILD_REASON");
	} else {
		/* GitHub's names; a terminal run may set them too. */
		c->repository = env_or_empty("GITHUB_REPOSITORY");
		c->sha = env_or_empty("GITHUB_SHA");
		c->ref = env_or_empty("GITHUB_REF");
		c->run_id = env_or_empty("GITHUB_RUN_ID");
		c->run_attempt = env_or_empty("GITHUB_RUN_ATTEMPT");
		c->job = env_or_empty("GITHUB_JOB");
		c->actor = env_or_empty("GITHUB_ACTOR");
		c->server_url = env_or_empty("GITHUB_SERVER_URL");
		c->workspace = env_or_empty("GITHUB_WORKSPACE");
		c->event_name = env_or_empty("GITHUB_EVENT_NAME");
	}
	if (!*c->workspace || same_dir(c->workspace, "."))
		c->workspace = "."; /* the runner's case: paths stay relative, as users write them */
	fs_set_workspace(c->workspace);
}

static const struct ci_host *detect_host(void)
{
	const char *tf = getenv("TF_BUILD");

	if (tf && !strcasecmp(tf, "true"))
		return &ci_pipelines_host;
	if (!strcmp(env_or_empty("GITHUB_ACTIONS"), "true"))
		return &ci_github_host;
	return &ci_terminal_host;
}

int ci_open(struct ci **out, const struct ci_spec *spec, int argc, char **argv)
{
	struct ci *ci = xcalloc(1, sizeof(*ci));
	const struct input_spec *in;
	struct log_sink sink;
	int ret = 0;

	*out = NULL;
	ci->spec = spec;
	ci->host = detect_host();
	summary_init(&ci->summary, SUMMARY_LIMIT);
	if (ci->host->kind == CI_TERMINAL)
		ret = parse_flags(ci, argc, argv);
	else if (argc > 0)
		ret = error_set(ERR_INPUT, "unexpected argument '%s': under %s, inputs come from the "
				"environment (INPUT_<NAME>)", argv[0], ci->host->name);
	read_context(ci);
	if (!ret && ci->host->check_summary && (ret = ci->host->check_summary(ci)))
		ci->summary_refused = 1;

	sink.line = log_line;
	sink.secret = log_new_secret;
	sink.ctx = ci;
	log_set_sink(&sink);
	if (ci->host->kind == CI_GITHUB)
		log_set_debug(!strcmp(env_or_empty("RUNNER_DEBUG"), "1"));
	else if (ci->host->kind == CI_PIPELINES)
		log_set_debug(!strcasecmp(env_or_empty("SYSTEM_DEBUG"), "true"));
	else
		log_set_debug(!strcmp(env_or_empty("MLOPS_DEBUG"), "1"));

	/* Secrets are masked before anything could print them. */
	for (in = spec->inputs; in && in->name; in++)
		if (in->flags & INPUT_SECRET) {
			const char *v = ci->host->input(ci, in->name);
			if (v && *v)
				log_secret(v);
		}
	*out = ci;
	return ret;
}

enum ci_kind ci_kind(const struct ci *ci)
{
	return ci->host->kind;
}

const struct ci_context *ci_context(const struct ci *ci)
{
	return &ci->context;
}

const char *ci_relative_path(const struct ci *ci, const char *path)
{
	const char *ws = ci->context.workspace;
	size_t n = strlen(ws);

	if (n && strcmp(ws, ".") && !strncmp(path, ws, n) && path[n] == '/')
		path += n + 1;
	while (!strncmp(path, "./", 2))
		path += 2;
	return path;
}

void ci_workspace_path(const struct ci *ci, struct buf *out, const char *rel)
{
	if (rel[0] != '/' && strcmp(ci->context.workspace, "."))
		buf_addf(out, "%s/", ci->context.workspace);
	buf_addstr(out, rel);
}

struct summary *ci_summary(struct ci *ci)
{
	return &ci->summary;
}

int ci_http(struct ci *ci, struct http_client **out)
{
	int ret = 0;

	if (!ci->http)
		ret = http_client_new(&ci->http, NULL);
	*out = ci->http;
	return ret;
}

void ci_input_env_name(struct buf *out, const char *name)
{
	buf_addstr(out, "INPUT_");
	for (; *name; name++)
		buf_addch(out, *name == ' ' ? '_' : (char)toupper((unsigned char)*name));
}

const char *ci_input_env_lenient(const char *name)
{
	struct buf env = BUF_INIT;
	const char *v;
	size_t i;

	ci_input_env_name(&env, name);
	v = getenv(env.data);
	if (!v) {
		for (i = 0; i < env.len; i++)
			if (env.data[i] == '-')
				env.data[i] = '_';
		v = getenv(env.data);
	}
	buf_release(&env);
	return v;
}

static char *trimmed(const char *s)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, s);
	buf_trim(&b);
	return buf_detach(&b, NULL);
}

int ci_has_input(const struct ci *ci, const char *name)
{
	return find_input(ci->spec, name) != NULL;
}

int ci_input(struct ci *ci, const char *name, const char **out)
{
	const struct input_spec *in = find_input(ci->spec, name);
	const char *raw;
	char *value;

	if (!in) {
		/* A workflow asking for an input it did not declare is a bug. */
		fprintf(stderr, "BUG: workflow %s reads undeclared input '%s'\n",
			ci->spec->name, name);
		abort();
	}
	if ((*out = kv_list_find(&ci->inputs, name)))
		return 0;
	raw = ci->host->input(ci, name);
	value = trimmed(raw ? raw : "");
	if (!*value && in->default_value) {
		free(value);
		value = trimmed(in->default_value);
	}
	if (!*value && (in->flags & INPUT_REQUIRED)) {
		free(value);
		return error_set(ERR_INPUT, "Input required and not supplied: %s", name);
	}
	if ((in->flags & INPUT_SECRET) && *value)
		log_secret(value);
	kv_list_add(&ci->inputs, name, value);
	free(value);
	*out = kv_list_find(&ci->inputs, name);
	return 0;
}

int ci_input_bool(struct ci *ci, const char *name, int *out)
{
	const char *v;
	int ret = ci_input(ci, name, &v);

	if (ret)
		return ret;
	if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE") || !*v)
		*out = 0;
	else
		return error_set(ERR_INPUT,
				 "Input %s is '%s', not a boolean: use true | True | TRUE | "
				 "false | False | FALSE", name, v);
	return 0;
}

int ci_input_int(struct ci *ci, const char *name, long min, long max, long *out)
{
	const char *v;
	char *end;
	long n;
	int ret = ci_input(ci, name, &v);

	if (ret)
		return ret;
	errno = 0;
	n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < min || n > max)
		return error_set(ERR_INPUT, "Input %s is '%s', expected a whole number from %ld to %ld",
				 name, v, min, max);
	*out = n;
	return 0;
}

int ci_input_lines(struct ci *ci, const char *name, const char *const **out)
{
	const char *v, *line, *nl;
	char **lines = NULL;
	size_t n = 0;
	int ret = ci_input(ci, name, &v);

	if (ret)
		return ret;
	for (line = v; *line; line = nl + 1) {
		struct buf b = BUF_INIT;

		nl = strchr(line, '\n');
		buf_add(&b, line, nl ? (size_t)(nl - line) : strlen(line));
		buf_trim(&b);
		if (b.len) {
			lines = xrealloc(lines, (n + 2) * sizeof(*lines));
			lines[n++] = buf_detach(&b, NULL);
		}
		buf_release(&b);
		if (!nl)
			break;
	}
	lines = xrealloc(lines, (n + 1) * sizeof(*lines));
	lines[n] = NULL;
	ci->lists = xrealloc(ci->lists, (ci->nr_lists + 1) * sizeof(*ci->lists));
	ci->lists[ci->nr_lists++] = lines;
	*out = (const char *const *)lines;
	return 0;
}

static int valid_output_name(const char *name)
{
	if (!*name)
		return 0;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && *name != '-' && *name != '_')
			return 0;
	return 1;
}

int ci_output(struct ci *ci, const char *name, const char *value)
{
	struct buf masked = BUF_INIT;
	int ret;

	if (!valid_output_name(name))
		return error_set(ERR_INPUT, "invalid output name '%s'", name);
	/* Outputs are not masked by the runner; a secret must never be one. */
	buf_addstr(&masked, value);
	log_mask(&masked);
	if (strcmp(masked.data, value)) {
		buf_release(&masked);
		return error_set(ERR_INPUT, "output '%s' would reveal a secret; not set", name);
	}
	buf_release(&masked);
	ret = ci->host->output(ci, name, value);
	if (!ret)
		kv_list_add(&ci->outputs, name, value);
	return ret;
}

void ci_annotate(struct ci *ci, enum log_level level,
		 const struct error_location *where, const char *title,
		 const char *message)
{
	struct buf masked = BUF_INIT;

	buf_addstr(&masked, message);
	log_mask(&masked);
	ci->host->annotate(ci, level, where, title, masked.data);
	buf_release(&masked);
}

void ci_group_begin(struct ci *ci, const char *title)
{
	if (ci->in_group)
		ci_group_end(ci);
	ci->host->group(ci, title);
	ci->in_group = 1;
}

void ci_group_end(struct ci *ci)
{
	if (!ci->in_group)
		return;
	ci->host->group(ci, NULL);
	ci->in_group = 0;
}

int ci_upload_artifact(struct ci *ci, const char *name, const char *root, char **url_out)
{
	if (url_out)
		*url_out = NULL;
	return ci->host->upload_artifact(ci, name, root, url_out);
}

const char *ci_artifact_id(const struct ci *ci)
{
	return ci->artifact_id;
}

int ci_id_token(struct ci *ci, const char *audience, char **token_out)
{
	*token_out = NULL;
	return ci->host->id_token(ci, audience, token_out);
}

void ci_managed_identity(const struct ci *ci, const char **endpoint_out,
			 const char **header_out)
{
	(void)ci; /* the same variables under every host */
	*endpoint_out = getenv("IDENTITY_ENDPOINT");
	*header_out = getenv("IDENTITY_HEADER");
	if (*header_out && **header_out)
		log_secret(*header_out);
}

const char *ci_default_temp_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

int ci_artifact_folder(struct ci *ci, const char *prefix, struct buf *dir)
{
	const char *parent = ci->host->temp_dir();
	size_t mark = dir->len;

	buf_addf(dir, "%s/%s-XXXXXX", parent, prefix);
	if (!mkdtemp(dir->data + mark)) {
		int e = errno;

		buf_setlen(dir, mark);
		return error_set(ERR_IO, "no temporary folder under %s: %s", parent, strerror(e));
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void ci_artifact_folder_done(struct ci *ci, const char *dir)
{
	if (!dir || !*dir || ci->host->uploads_later)
		return;
	/* FTW_PHYS: a link inside is removed, never followed. */
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int ci_close(struct ci *ci)
{
	struct buf text = BUF_INIT;
	size_t i;
	int ret = 0;

	if (!ci)
		return 0;
	ci_group_end(ci);
	summary_finish(&ci->summary);
	if (ci->summary.text.len && !ci->summary_refused) {
		/* Our own masking first: a terminal or Pipelines has no runner to do it. */
		buf_addstr(&text, ci->summary.text.data);
		log_mask(&text);
		ret = ci->host->write_summary(ci, text.data);
		/* An error, not a warning: it fails the step. */
		if (ret)
			log_error("step summary not written: %s", error_message());
	}
	if (ci->host->finish && ci->host->finish(ci) && !ret)
		ret = error_last();
	log_set_sink(NULL);
	buf_release(&text);
	summary_release(&ci->summary);
	http_client_free(ci->http);
	kv_list_release(&ci->inputs);
	kv_list_release(&ci->outputs);
	kv_list_release(&ci->flags);
	for (i = 0; i < ci->nr_lists; i++) {
		char **l;
		for (l = ci->lists[i]; *l; l++)
			free(*l);
		free(ci->lists[i]);
	}
	free(ci->lists);
	free(ci->artifact_id);
	free(ci);
	return ret;
}

/* Workflow commands escape % and line breaks in data; a property value
 * also ends at ':' or ',', so those are escaped there too. */
static void escape_command(struct buf *out, const char *text, int property)
{
	for (; *text; text++) {
		if (*text == '%')
			buf_addstr(out, "%25");
		else if (*text == '\r')
			buf_addstr(out, "%0D");
		else if (*text == '\n')
			buf_addstr(out, "%0A");
		else if (property && *text == ':')
			buf_addstr(out, "%3A");
		else if (property && *text == ',')
			buf_addstr(out, "%2C");
		else
			buf_addch(out, *text);
	}
}

void ci_escape_data(struct buf *out, const char *text)
{
	escape_command(out, text, 0);
}

void ci_escape_property(struct buf *out, const char *text)
{
	escape_command(out, text, 1);
}

/* May .NET's culture-aware search skip this byte? Controls may be
 * weightless; a non-ASCII byte may belong to a weightless character. */
static int maybe_weightless(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c >= 0x80;
}

size_t ci_marker_at(const char *s, const char *marker)
{
	const char *p = s;

	if (!*marker || tolower((unsigned char)*p) != tolower((unsigned char)*marker))
		return 0;
	for (p++, marker++; *marker; p++, marker++) {
		while (*p && maybe_weightless((unsigned char)*p))
			p++;
		if (tolower((unsigned char)*p) != tolower((unsigned char)*marker))
			return 0;
	}
	return (size_t)(p - s);
}
