#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azure/aml_names.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/yaml.h"
#include "mlops/asset_version.h"
#include "mlops/conda.h"
#include "mlops/environment.h"
#include "core/banned.h"

/* ---- lifecycle ---- */

void environment_init(struct environment *env)
{
	struct environment fresh = ENVIRONMENT_INIT;

	*env = fresh;
}

void environment_release(struct environment *env)
{
	if (!env)
		return;
	free(env->dir);
	free(env->yaml_path);
	yaml_doc_release(&env->doc);
	free(env->os_type);
	free(env->conda_path);
	conda_file_release(&env->conda);
	free(env->build_path);
	free(env->dockerfile_path);
	free(env->canonical);
	environment_init(env);
}

int env_versioning_parse(enum env_versioning *out, const char *text)
{
	if (!strcmp(text, "declared"))
		*out = ENV_VERSIONING_DECLARED;
	else if (!strcmp(text, "auto"))
		*out = ENV_VERSIONING_AUTO;
	else
		return error_set(ERR_INPUT, "versioning '%s' is not valid: use declared or auto",
				 excerpt(text));
	return 0;
}

/* ---- finding the environment YAML ---- */

static int has_yaml_suffix(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && !strcmp(name + n - 4, ".yml")) || (n > 5 && !strcmp(name + n - 5, ".yaml"));
}

static int cmp_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.yml / *.yaml names directly in `dir`, sorted. */
static int list_yaml_files(char ***out, size_t *nr_out, const char *dir)
{
	char **names = NULL;
	size_t nr = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	*out = NULL;
	*nr_out = 0;
	if (!d)
		return error_set(ERR_IO, "%s: cannot read the environment folder", dir);
	while ((de = readdir(d)))
		if (has_yaml_suffix(de->d_name)) {
			names = xrealloc(names, (nr + 1) * sizeof(*names));
			names[nr++] = xstrdup(de->d_name);
		}
	closedir(d);
	if (nr > 1)
		qsort(names, nr, sizeof(*names), cmp_strings);
	*out = names;
	*nr_out = nr;
	return 0;
}

static void free_names(char **names, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
}

/* An environment YAML, as opposed to a conda file: name and image or build. */
static int looks_like_environment(const cJSON *root)
{
	return cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "name") &&
	       (cJSON_GetObjectItemCaseSensitive(root, "image") ||
		cJSON_GetObjectItemCaseSensitive(root, "build"));
}

/* A YAML that leads out of the workspace is not opened: its text would reach messages. */
static int check_readable_yaml(const char *path)
{
	if (fs_in_workspace(path))
		return 0;
	return error_set_at(ERR_INPUT, path, 0, 0, "%s: a YAML file that leads outside the workspace "
			    "(a symbolic link); it is not read", path);
}

static int find_yaml(struct buf *out, const char *dir)
{
	static const char *const preferred[] = { "environment.yml", "environment.yaml",
						 "env.yml", "env.yaml", NULL };
	struct buf path = BUF_INIT;
	struct error_saved first_error = ERROR_SAVED_INIT;
	const char *found = NULL;
	char **names = NULL;
	size_t nr = 0, i, matches = 0;
	int ret = 0;

	for (i = 0; preferred[i]; i++) {
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, preferred[i]);
		if (!fs_is_file(path.data))
			continue;
		if ((ret = check_readable_yaml(path.data)))
			goto done;
		if (found) {
			ret = error_set(ERR_INPUT, "%s: both %s and %s are there: keep one environment YAML",
					dir, found, preferred[i]);
			goto done;
		}
		found = preferred[i];
	}
	if (found) {
		buf_addf(out, "%s/%s", dir, found);
		goto done;
	}

	/* No conventional name: the one YAML that is shaped like an environment. */
	if ((ret = list_yaml_files(&names, &nr, dir)))
		goto done;
	for (i = 0; i < nr; i++) {
		struct yaml_doc doc = YAML_DOC_INIT;

		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, names[i]);
		if ((ret = check_readable_yaml(path.data)))
			goto done;
		if (yaml_load_file(&doc, path.data)) {
			/* Maybe it was the environment: say so if nothing else is. */
			if (!first_error.code)
				error_save(&first_error);
			continue;
		}
		if (looks_like_environment(doc.root)) {
			if (matches++)
				buf_addstr(out, " and ");
			buf_addstr(out, path.data);
		}
		yaml_doc_release(&doc);
	}
	if (matches > 1) {
		ret = error_set(ERR_INPUT, "%s: several environment YAML files (%s): keep one, or name it "
				"environment.yml", dir, out->data);
	} else if (!matches && first_error.code) {
		ret = error_restore(&first_error);
	} else if (!matches) {
		ret = error_set(ERR_INPUT, "%s: no environment YAML: expected environment.yml, or a YAML "
				"file with 'name' and 'image' or 'build'", dir);
	}
done:
	free_names(names, nr);
	buf_release(&path);
	error_saved_release(&first_error);
	return ret;
}

/* ---- field checks ---- */

/* Re-sets a checker's message (aml_check_*, conda spec) at `item`, naming the field. */
static int error_for_field(const struct yaml_doc *doc, const cJSON *item, const char *field)
{
	struct buf why = BUF_INIT;
	int ret;

	buf_addstr(&why, error_message());
	ret = yaml_error_at(doc, item, ERR_INPUT, "field '%s': %s", field, why.data);
	buf_release(&why);
	return ret;
}

static const cJSON *field(const struct environment *env, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(env->doc.root, key);
}

static int check_known_fields(const struct environment *env)
{
	/* The Azure ML CLI v2 environment schema (environment.schema.json). */
	static const char *const known[] = { "$schema", "name", "version", "description", "tags",
					     "properties", "image", "conda_file", "build", "os_type",
					     "inference_config", "datastore", NULL };
	const cJSON *item;

	if (!cJSON_IsObject(env->doc.root))
		return yaml_error_at(&env->doc, env->doc.root, ERR_YAML,
				     "an environment YAML is a mapping of fields, not %s",
				     json_type_name(env->doc.root));
	cJSON_ArrayForEach(item, env->doc.root) {
		size_t i;
		for (i = 0; known[i] && strcmp(known[i], item->string); i++)
			;
		if (!known[i])
			return yaml_error_at(&env->doc, item, ERR_INPUT,
					     "field '%s': unknown in an Azure ML environment (known: $schema, "
					     "name, version, description, tags, properties, image, conda_file, "
					     "build, os_type, inference_config, datastore)", excerpt(item->string));
	}
	return 0;
}

static int check_name_version(struct environment *env, enum env_versioning mode)
{
	const struct yaml_doc *doc = &env->doc;
	const cJSON *at;
	int ret;

	if ((ret = yaml_get_text(doc, &env->name, doc->root, "name")))
		return ret;
	if (aml_check_name(env->name, "environment name"))
		return error_for_field(doc, field(env, "name"), "name");
	at = field(env, "version");
	if (at) {
		if ((ret = yaml_get_text(doc, &env->version, doc->root, "version")))
			return ret;
		if ((ret = asset_version_check(doc, at, env->version, "environment version")))
			return ret;
	} else if (mode == ENV_VERSIONING_DECLARED) {
		return yaml_error_at(doc, field(env, "name"), ERR_INPUT,
				     "field 'version': required with versioning 'declared' "
				     "(or use versioning 'auto' to have it computed)");
	} else {
		at = field(env, "name");
	}
	env->version_at.file = env->yaml_path;
	yaml_where(doc, at, &env->version_at.line, &env->version_at.column);
	return 0;
}

/* tags, properties: string keys (YAML keys always are) to scalar values. */
static int check_scalar_map(const struct environment *env, const char *key)
{
	const cJSON *map, *item;
	int ret;

	if (!field(env, key))
		return 0;
	if ((ret = yaml_get_object(&env->doc, &map, env->doc.root, key)))
		return ret;
	cJSON_ArrayForEach(item, map)
		if (!cJSON_IsString(item) && !cJSON_IsNumber(item) && !cJSON_IsBool(item))
			return yaml_error_at(&env->doc, item, ERR_YAML,
					     "field '%s.%s' is %s, expected a string, number or boolean",
					     key, excerpt(item->string), json_type_name(item));
	return 0;
}

static int check_optional_string(const struct environment *env, const char *key, const char **out)
{
	const char *s;

	if (!field(env, key))
		return 0;
	return yaml_get_string(&env->doc, out ? out : &s, env->doc.root, key);
}

/* inference_config: {liveness_route, readiness_route, scoring_route: {path, port}}. */
static int check_inference_config(const struct environment *env)
{
	static const char *const routes[] = { "liveness_route", "readiness_route", "scoring_route", NULL };
	const struct yaml_doc *doc = &env->doc;
	const cJSON *cfg, *item;
	struct buf path = BUF_INIT;
	int ret = 0;

	if (!field(env, "inference_config"))
		return 0;
	if ((ret = yaml_get_object(doc, &cfg, doc->root, "inference_config")))
		return ret;
	cJSON_ArrayForEach(item, cfg) {
		const cJSON *port, *route;
		const char *s;
		size_t i;

		for (i = 0; routes[i] && strcmp(routes[i], item->string); i++)
			;
		if (!routes[i]) {
			ret = yaml_error_at(doc, item, ERR_INPUT,
					    "field 'inference_config.%s': unknown (known: liveness_route, "
					    "readiness_route, scoring_route)", excerpt(item->string));
			break;
		}
		buf_reset(&path);
		buf_addf(&path, "inference_config.%s", item->string);
		if ((ret = yaml_get_object(doc, &route, doc->root, path.data)))
			break;
		buf_addstr(&path, ".path");
		if ((ret = yaml_get_string(doc, &s, doc->root, path.data)))
			break;
		port = cJSON_GetObjectItemCaseSensitive(route, "port");
		if (!port || !cJSON_IsNumber(port) || port->valuedouble != (double)(int)port->valuedouble ||
		    port->valuedouble < 1 || port->valuedouble > 65535) {
			ret = yaml_error_at(doc, port ? port : item, ERR_INPUT,
					    "field 'inference_config.%s.port': a port number (1-65535) is required",
					    item->string);
			break;
		}
	}
	buf_release(&path);
	return ret;
}

static int check_os_type(struct environment *env)
{
	const char *os = "linux";
	int ret;

	if ((ret = check_optional_string(env, "os_type", &os)))
		return ret;
	if (strcasecmp(os, "linux") && strcasecmp(os, "windows"))
		return yaml_error_at(&env->doc, field(env, "os_type"), ERR_INPUT,
				     "field 'os_type': '%s' is not valid: use linux or windows",
				     excerpt(os));
	env->os_type = xstrdup(strcasecmp(os, "linux") ? "windows" : "linux");
	return 0;
}

/* ---- image references ---- */

static int is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component: [a-z0-9]+ joined by '.', '_', '__' or '-'+ (distribution/reference). */
static const char *path_component_problem(const char *p, size_t n)
{
	size_t i = 0;

	if (!n)
		return "an empty path component (a stray '/')";
	while (i < n) {
		size_t run = 0;
		while (i < n && is_lower_alnum((unsigned char)p[i]))
			i++, run++;
		if (!run)
			return isupper((unsigned char)p[i]) ? "repository names must be lowercase"
							    : "path components start and end with a letter or digit";
		if (i == n)
			return NULL;
		if (p[i] == '.' || p[i] == '_') {
			i++;
			if (p[i - 1] == '_' && i < n && p[i] == '_')
				i++;
		} else if (p[i] == '-') {
			while (i < n && p[i] == '-')
				i++;
		} else {
			return isupper((unsigned char)p[i]) ? "repository names must be lowercase"
							    : "an illegal character in the repository name";
		}
		if (i == n)
			return "path components start and end with a letter or digit";
	}
	return NULL;
}

/* domain: labels of letters, digits and inner '-', joined by '.', with an optional :port. */
static const char *domain_problem(const char *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;
		while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '-'))
			i++;
		if (i == start || p[start] == '-' || p[i - 1] == '-')
			return "a malformed registry host";
		if (i == n)
			return NULL;
		if (p[i] == ':') {
			size_t digits = 0;
			for (i++; i < n && isdigit((unsigned char)p[i]); i++)
				digits++;
			return digits && digits <= 5 && i == n ? NULL : "a malformed registry port";
		}
		if (p[i] != '.')
			return "a malformed registry host";
		i++;
	}
}

static const char *tag_problem(const char *t, size_t n)
{
	size_t i;

	if (!n || n > 128)
		return "a tag is 1-128 characters";
	if (!isalnum((unsigned char)t[0]) && t[0] != '_')
		return "a tag starts with a letter, digit or '_'";
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
			return "a tag holds only letters, digits, '_', '.' and '-'";
	return NULL;
}

/*
 * The Docker reference grammar (github.com/distribution/reference):
 * [host[:port]/]component(/component)*[:tag][@sha256:<64 hex>]. The first
 * component is a host when there are more and it has a '.' or ':' or is
 * localhost, as Docker decides.
 */
static const char *image_problem(const char *ref)
{
	const char *at = strchr(ref, '@'), *end = at ? at : ref + strlen(ref);
	const char *p, *last_slash = NULL, *colon = NULL, *name_end, *why;

	if (!*ref)
		return "it is empty";
	if (at) {
		const char *d = at + 1;
		size_t i;
		if (strncmp(d, "sha256:", 7))
			return "a digest is '@sha256:' and 64 hex digits";
		for (i = 0; i < 64; i++)
			if (!isxdigit((unsigned char)d[7 + i]) || isupper((unsigned char)d[7 + i]))
				return "a digest is '@sha256:' and 64 lowercase hex digits";
		if (d[7 + 64])
			return "a digest is '@sha256:' and 64 lowercase hex digits";
	}
	for (p = ref; p < end; p++)
		if (*p == '/')
			last_slash = p;
	for (p = last_slash ? last_slash : ref; p < end; p++)
		if (*p == ':')
			colon = p;
	name_end = colon ? colon : end;
	if (colon && (why = tag_problem(colon + 1, (size_t)(end - colon - 1))))
		return why;
	if (name_end - ref > 255)
		return "the repository name is longer than 255 characters";
	for (p = ref; p < name_end;) {
		const char *q = memchr(p, '/', (size_t)(name_end - p));
		size_t n = q ? (size_t)(q - p) : (size_t)(name_end - p);

		if (p == ref && q && (memchr(p, '.', n) || memchr(p, ':', n) ||
				      (n == 9 && !strncmp(p, "localhost", 9))))
			why = domain_problem(p, n);
		else
			why = path_component_problem(p, n);
		if (why)
			return why;
		if (!q)
			break;
		p = q + 1;
		if (p == name_end)
			return "an empty path component (a stray '/')";
	}
	return NULL;
}

/* ---- image, conda file, build context ---- */

static void join_path(struct buf *out, const char *dir, const char *rel)
{
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	buf_addf(out, "%s/%s", dir, rel);
}

static int is_url(const char *s)
{
	return strstr(s, "://") || !strncmp(s, "git@", 4) || !strncmp(s, "azureml:", 8);
}

static int check_conda_file(struct environment *env)
{
	const cJSON *item = field(env, "conda_file");
	struct buf path = BUF_INIT;
	const char *rel;
	int ret;

	if (!item)
		return 0;
	if ((ret = yaml_get_string(&env->doc, &rel, env->doc.root, "conda_file")))
		goto done;
	if (!*rel || rel[0] == '/' || is_url(rel)) {
		ret = yaml_error_at(&env->doc, item, ERR_INPUT,
				    "field 'conda_file': '%s' must be a path relative to the "
				    "environment YAML", excerpt(rel));
		goto done;
	}
	join_path(&path, env->dir, rel);
	if (!fs_is_file(path.data)) {
		ret = yaml_error_at(&env->doc, item, ERR_INPUT,
				    "field 'conda_file': '%s' does not exist", excerpt(rel));
		goto done;
	}
	/* Its text is registered in Azure: never a file from outside the folder. */
	if (!fs_resolves_inside(path.data, env->dir) || !fs_in_workspace(path.data)) {
		ret = yaml_error_at(&env->doc, item, ERR_INPUT,
				    "field 'conda_file': '%s' must be a file inside the environment "
				    "folder %s (a symbolic link counts where it leads)", excerpt(rel),
				    env->dir);
		goto done;
	}
	env->conda_path = buf_detach(&path, NULL);
	ret = conda_load_file(&env->conda, env->conda_path);
done:
	buf_release(&path);
	return ret;
}

static int check_build(struct environment *env)
{
	const struct yaml_doc *doc = &env->doc;
	const cJSON *build = field(env, "build"), *item;
	struct buf path = BUF_INIT, dockerfile = BUF_INIT;
	const char *rel, *df = "Dockerfile";
	int ret;

	if ((ret = yaml_get_object(doc, &build, doc->root, "build")))
		goto done;
	cJSON_ArrayForEach(item, build)
		if (strcmp(item->string, "path") && strcmp(item->string, "dockerfile_path")) {
			ret = yaml_error_at(doc, item, ERR_INPUT,
					    "field 'build.%s': unknown (known: path, dockerfile_path)",
					    excerpt(item->string));
			goto done;
		}
	if ((ret = yaml_get_string(doc, &rel, doc->root, "build.path")))
		goto done;
	item = cJSON_GetObjectItemCaseSensitive(build, "path");
	if (!*rel || is_url(rel)) {
		ret = yaml_error_at(doc, item, ERR_INPUT,
				    "field 'build.path': '%s' is not a local folder (remote build "
				    "contexts cannot be hashed; keep the context beside the YAML)", excerpt(rel));
		goto done;
	}
	join_path(&path, env->dir, rel);
	if (rel[0] == '/' || !fs_is_dir(path.data) || !fs_resolves_inside(path.data, env->dir) ||
	    !fs_in_workspace(path.data)) {
		ret = yaml_error_at(doc, item, ERR_INPUT,
				    "field 'build.path': '%s' must be a folder inside %s (a symbolic "
				    "link counts where it leads)", excerpt(rel), env->dir);
		goto done;
	}
	if (cJSON_GetObjectItemCaseSensitive(build, "dockerfile_path")) {
		if ((ret = yaml_get_string(doc, &df, doc->root, "build.dockerfile_path")))
			goto done;
		item = cJSON_GetObjectItemCaseSensitive(build, "dockerfile_path");
	}
	while (df[0] == '.' && df[1] == '/')
		df += 2;
	join_path(&dockerfile, path.data, df);
	if (!*df || df[0] == '/' || !fs_is_file(dockerfile.data) ||
	    !fs_resolves_inside(dockerfile.data, path.data)) {
		ret = yaml_error_at(doc, item, ERR_INPUT,
				    "field 'build.dockerfile_path': '%s' must be a file inside "
				    "the build context %s", excerpt(df), path.data);
		goto done;
	}
	env->dockerfile_path = xstrdup(df);
	env->build_path = buf_detach(&path, NULL);
done:
	buf_release(&path);
	buf_release(&dockerfile);
	return ret;
}

static int check_image_or_build(struct environment *env)
{
	const cJSON *image = field(env, "image"), *build = field(env, "build");
	const char *why;
	int ret, il = 0, ic = 0, bl = 0, bc = 0;

	if (image && build) {
		yaml_where(&env->doc, image, &il, &ic);
		yaml_where(&env->doc, build, &bl, &bc);
		return yaml_error_at(&env->doc, build, ERR_INPUT,
				     "fields 'image' (line %d) and 'build' (line %d): give one of "
				     "them, not both", il, bl);
	}
	if (!image && !build)
		return yaml_error_at(&env->doc, env->doc.root, ERR_INPUT,
				     "fields 'image' and 'build': one of them is required");
	if (build) {
		if (field(env, "conda_file"))
			return yaml_error_at(&env->doc, field(env, "conda_file"), ERR_INPUT,
					     "field 'conda_file': only with 'image' (a build context "
					     "installs its packages in its Dockerfile)");
		return check_build(env);
	}
	if ((ret = yaml_get_string(&env->doc, &env->image, env->doc.root, "image")))
		return ret;
	if ((why = image_problem(env->image)))
		return yaml_error_at(&env->doc, image, ERR_INPUT,
				     "field 'image': '%s' is not a Docker image reference: %s",
				     excerpt(env->image), why);
	return check_conda_file(env);
}

/* ---- canonical form and hash ---- */

static void add_json_string(struct buf *out, const char *s)
{
	cJSON *str = cJSON_CreateString(s);

	if (!str)
		abort();
	json_write(out, str);
	cJSON_Delete(str);
}

struct build_hash {
	struct buf *out;
	char *yaml_real; /* the environment YAML, resolved */
};

static int hash_build_file(const struct fs_entry *e, void *ctx)
{
	struct build_hash *h = ctx;
	struct buf *out = h->out;
	unsigned char digest[SHA256_LEN];
	int ret;

	if (e->is_dir)
		return 0;
	/*
	 * With `build.path: .` the YAML itself is in the context; hashing it
	 * would make a description or tag edit look like a new environment.
	 */
	if (h->yaml_real) {
		char *real = realpath(e->path, NULL);
		int is_yaml = real && !strcmp(real, h->yaml_real);
		free(real);
		if (is_yaml)
			return 0;
	}
	if ((ret = sha256_file(digest, e->path, NULL)))
		return ret;
	buf_addstr(out, "file ");
	hex_encode(out, digest, sizeof(digest));
	buf_addch(out, ' ');
	add_json_string(out, e->rel);
	buf_addch(out, '\n');
	return 0;
}

static int compute_hash(struct environment *env)
{
	struct buf text = BUF_INIT, hex = BUF_INIT;
	unsigned char digest[SHA256_LEN];
	int ret = 0;

	buf_addstr(&text, "mlops-environment 1\n");
	if (env->image) {
		buf_addstr(&text, "image ");
		add_json_string(&text, env->image);
		buf_addch(&text, '\n');
	}
	buf_addstr(&text, "os_type ");
	add_json_string(&text, env->os_type);
	buf_addch(&text, '\n');
	if (env->conda.canonical)
		buf_addf(&text, "conda %s\n", env->conda.canonical);
	if (env->build_path) {
		buf_addstr(&text, "dockerfile ");
		add_json_string(&text, env->dockerfile_path);
		buf_addch(&text, '\n');
		struct build_hash h = { &text, realpath(env->yaml_path, NULL) };

		ret = fs_walk(env->build_path, hash_build_file, &h);
		free(h.yaml_real);
		if (ret) {
			/* A link out met by the walk: name the line that chose the context. */
			struct buf why = BUF_INIT;

			buf_addstr(&why, error_message());
			ret = yaml_error_at(&env->doc, json_find(env->doc.root, "build.path"), ret,
					    "field 'build.path': %s", why.data);
			buf_release(&why);
			goto done;
		}
	}
	sha256_digest(digest, text.data, text.len);
	hex_encode(&hex, digest, sizeof(digest));
	memcpy(env->content_hash, hex.data, sizeof(env->content_hash) - 1);
	env->content_hash[sizeof(env->content_hash) - 1] = '\0';
	env->canonical = buf_detach(&text, NULL);
done:
	buf_release(&text);
	buf_release(&hex);
	return ret;
}

int environment_load(struct environment *out, const char *dir, enum env_versioning mode)
{
	struct buf path = BUF_INIT;
	int ret;

	environment_init(out);
	out->dir = xstrdup(dir);
	/* "environments/train/" and "environments/train" name the same files. */
	for (size_t n = strlen(out->dir); n > 1 && out->dir[n - 1] == '/'; n--)
		out->dir[n - 1] = '\0';
	if (!fs_is_dir(out->dir)) {
		ret = error_set(ERR_IO, "%s: not a folder", out->dir);
		goto done;
	}
	if (!fs_in_workspace(out->dir)) {
		ret = error_set_at(ERR_INPUT, out->dir, 0, 0, "%s: an environment folder that leads "
				   "outside the workspace (a symbolic link); environments must be in "
				   "the repository", out->dir);
		goto done;
	}
	if ((ret = find_yaml(&path, out->dir)))
		goto done;
	out->yaml_path = buf_detach(&path, NULL);
	if ((ret = yaml_load_file(&out->doc, out->yaml_path)) ||
	    (ret = check_known_fields(out)) ||
	    (ret = check_name_version(out, mode)) ||
	    (ret = check_optional_string(out, "$schema", NULL)) ||
	    (ret = check_optional_string(out, "description", &out->description)) ||
	    (ret = check_optional_string(out, "datastore", NULL)) ||
	    (ret = check_scalar_map(out, "tags")) ||
	    (ret = check_scalar_map(out, "properties")) ||
	    (ret = check_inference_config(out)) ||
	    (ret = check_os_type(out)) ||
	    (ret = check_image_or_build(out)) ||
	    (ret = compute_hash(out)))
		goto done;
	out->tags = field(out, "tags");
done:
	buf_release(&path);
	if (ret)
		environment_release(out);
	return ret;
}

/* ---- comparing with a registered version ---- */

void env_diff_init(struct env_diff *d)
{
	struct env_diff fresh = ENV_DIFF_INIT;

	*d = fresh;
}

void env_diff_release(struct env_diff *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nr; i++) {
		free(d->items[i].field);
		free(d->items[i].before);
		free(d->items[i].after);
	}
	free(d->items);
	env_diff_init(d);
}

static void add_change(struct env_diff *d, const char *fieldname, const char *before, const char *after)
{
	struct env_change *c;

	if (!d)
		return;
	if (d->nr == d->alloc) {
		d->alloc = d->alloc ? d->alloc * 2 : 8;
		d->items = xrealloc(d->items, d->alloc * sizeof(*d->items));
	}
	c = &d->items[d->nr++];
	c->field = xstrdup(fieldname);
	c->before = before ? xstrdup(before) : NULL;
	c->after = after ? xstrdup(after) : NULL;
}

/* One dependency for the diff: a conda spec or a pip requirement, keyed by package. */
struct dep {
	int pip;
	char *spec;
	char *key;
	int matched;
};

struct deps {
	struct dep *items;
	size_t nr;
};

static void add_dep(struct deps *deps, const struct yaml_doc *doc, const cJSON *item, int pip)
{
	struct buf spec = BUF_INIT, key = BUF_INIT;
	struct dep *d;

	if (cJSON_IsString(item))
		buf_addstr(&spec, item->valuestring);
	else
		conda_write_canonical(&spec, doc, item);
	conda_spec_name(&key, spec.data);
	deps->items = xrealloc(deps->items, (deps->nr + 1) * sizeof(*deps->items));
	d = &deps->items[deps->nr++];
	d->pip = pip;
	d->spec = buf_detach(&spec, NULL);
	d->key = buf_detach(&key, NULL);
	d->matched = 0;
}

static void collect_deps(struct deps *out, const struct yaml_doc *doc)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc->root, "dependencies"), *item, *pip;

	cJSON_ArrayForEach(item, list) {
		pip = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "pip") : NULL;
		if (pip && cJSON_IsArray(pip) && cJSON_GetArraySize(item) == 1) {
			const cJSON *p;
			cJSON_ArrayForEach(p, pip)
				add_dep(out, doc, p, 1);
		} else {
			add_dep(out, doc, item, 0);
		}
	}
}

static void free_deps(struct deps *deps)
{
	size_t i;

	for (i = 0; i < deps->nr; i++) {
		free(deps->items[i].spec);
		free(deps->items[i].key);
	}
	free(deps->items);
}

/* Pairs dependencies by package: changed, removed (before only), added (after only). */
static size_t diff_dependencies(struct env_diff *diff, const struct yaml_doc *before,
				const struct yaml_doc *after)
{
	struct deps b = { NULL, 0 }, a = { NULL, 0 };
	size_t i, j, changes = 0;

	collect_deps(&b, before);
	collect_deps(&a, after);
	for (i = 0; i < b.nr; i++) {
		const char *fieldname = b.items[i].pip ? "conda_file.dependencies.pip"
						       : "conda_file.dependencies";
		for (j = 0; j < a.nr; j++)
			if (!a.items[j].matched && a.items[j].pip == b.items[i].pip &&
			    !strcmp(a.items[j].key, b.items[i].key))
				break;
		if (j == a.nr) {
			add_change(diff, fieldname, b.items[i].spec, NULL);
			changes++;
			continue;
		}
		a.items[j].matched = 1;
		if (strcmp(a.items[j].spec, b.items[i].spec)) {
			add_change(diff, fieldname, b.items[i].spec, a.items[j].spec);
			changes++;
		}
	}
	for (j = 0; j < a.nr; j++)
		if (!a.items[j].matched) {
			add_change(diff, a.items[j].pip ? "conda_file.dependencies.pip"
							: "conda_file.dependencies", NULL, a.items[j].spec);
			changes++;
		}
	free_deps(&b);
	free_deps(&a);
	return changes;
}

static void canonical_of(struct buf *out, const struct yaml_doc *doc, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc->root, key);

	if (item)
		conda_write_canonical(out, doc, item);
}

/* Every top-level key of either file other than dependencies, by canonical JSON. */
static void diff_other_keys(struct env_diff *diff, const struct yaml_doc *before,
			    const struct yaml_doc *after)
{
	const struct yaml_doc *docs[2] = { before, after };
	struct buf b = BUF_INIT, a = BUF_INIT, name = BUF_INIT;
	const cJSON *item;
	int k;

	for (k = 0; k < 2; k++)
		cJSON_ArrayForEach(item, docs[k]->root) {
			if (!strcmp(item->string, "dependencies") ||
			    (k == 1 && cJSON_GetObjectItemCaseSensitive(before->root, item->string)))
				continue; /* dependencies by item; keys of both only once */
			buf_reset(&b);
			buf_reset(&a);
			buf_reset(&name);
			canonical_of(&b, before, item->string);
			canonical_of(&a, after, item->string);
			if (strcmp(a.data, b.data)) {
				buf_addf(&name, "conda_file.%s", item->string);
				add_change(diff, name.data, b.len ? b.data : NULL, a.len ? a.data : NULL);
			}
		}
	buf_release(&b);
	buf_release(&a);
	buf_release(&name);
}

static enum env_compare compare_conda(struct env_diff *diff, const struct environment *local,
				      const char *registered_text)
{
	struct yaml_doc reg = YAML_DOC_INIT;
	struct buf canon = BUF_INIT, deps_b = BUF_INIT, deps_a = BUF_INIT;
	enum env_compare result = ENV_SAME;

	if (!local->conda.canonical && !registered_text)
		return ENV_SAME;
	if (!local->conda.canonical || !registered_text) {
		add_change(diff, "conda_file", registered_text ? "a conda file" : NULL,
			   local->conda.canonical ? local->conda_path : NULL);
		return ENV_DIFFERENT;
	}
	if (yaml_load_string(&reg, registered_text, strlen(registered_text), "registered condaFile")) {
		add_change(diff, "conda_file", "(the registered condaFile is not YAML)", local->conda_path);
		result = ENV_DIFFERENT;
		goto done;
	}
	conda_write_canonical(&canon, &reg, reg.root);
	if (!strcmp(canon.data, local->conda.canonical))
		goto done;
	result = ENV_DIFFERENT;
	if (!cJSON_IsObject(reg.root)) {
		add_change(diff, "conda_file", canon.data, local->conda.canonical);
		goto done;
	}
	diff_other_keys(diff, &reg, &local->conda.doc);
	canonical_of(&deps_b, &reg, "dependencies");
	canonical_of(&deps_a, &local->conda.doc, "dependencies");
	if (!diff_dependencies(diff, &reg, &local->conda.doc) && strcmp(deps_a.data, deps_b.data))
		add_change(diff, "conda_file.dependencies (order)", deps_b.data, deps_a.data);
done:
	yaml_doc_release(&reg);
	buf_release(&canon);
	buf_release(&deps_b);
	buf_release(&deps_a);
	return result;
}

enum env_compare env_compare(struct env_diff *diff, const struct environment *local,
			     const struct env_registered *reg)
{
	const char *reg_os = reg->os_type ? reg->os_type : "linux";
	enum env_compare result = ENV_SAME;

	if (reg->has_build != (local->build_path != NULL)) {
		add_change(diff, local->build_path ? "build" : "image",
			   reg->has_build ? "a build context" : reg->image,
			   local->build_path ? "a build context" : local->image);
		return ENV_DIFFERENT;
	}
	if (strcasecmp(reg_os, local->os_type)) {
		add_change(diff, "os_type", reg_os, local->os_type);
		result = ENV_DIFFERENT;
	}
	if (local->build_path) {
		/* Azure keeps only a contextUri: the files are compared through our tag. */
		if (!reg->content_hash_tag) {
			add_change(diff, "build", "registered without a " ENVIRONMENT_HASH_TAG
				   " tag: the build context cannot be compared", local->content_hash);
			return result == ENV_DIFFERENT ? ENV_DIFFERENT : ENV_UNKNOWN;
		}
		if (strcmp(reg->content_hash_tag, local->content_hash)) {
			add_change(diff, "build", reg->content_hash_tag, local->content_hash);
			result = ENV_DIFFERENT;
		}
		return result;
	}
	if (!reg->image || strcmp(reg->image, local->image)) {
		add_change(diff, "image", reg->image, local->image);
		result = ENV_DIFFERENT;
	}
	if (compare_conda(diff, local, reg->conda_text) != ENV_SAME)
		result = ENV_DIFFERENT;
	return result;
}

/* ---- versions and the decision ---- */

/* Integer or dotted numeric: digits, single dots, no empty part. */
static int is_numeric_version(const char *v)
{
	const char *p;

	if (!isdigit((unsigned char)*v))
		return 0;
	for (p = v; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
			return 0;
	return 1;
}

int env_next_version(struct buf *out, const char *version)
{
	const char *last;
	size_t start, i;

	if (!is_numeric_version(version))
		return error_set(ERR_INPUT,
				 "cannot compute the version after '%s': only integer (\"3\") "
				 "and dotted numeric (\"1.9\") versions can be incremented; set the "
				 "next version explicitly in the environment YAML", excerpt(version));
	last = strrchr(version, '.');
	last = last ? last + 1 : version;
	start = out->len;
	buf_addstr(out, version);
	/* Decimal increment of the last part, as text: no overflow at any length. */
	for (i = out->len; i > start + (size_t)(last - version); i--) {
		if (out->data[i - 1] != '9') {
			out->data[i - 1]++;
			return 0;
		}
		out->data[i - 1] = '0';
	}
	/* All nines: "9" -> "10", "1.99" -> "1.100". */
	buf_addch(out, '0');
	out->data[start + (size_t)(last - version)] = '1';
	return 0;
}

const char *env_status_name(enum env_status status)
{
	switch (status) {
	case ENV_NEW:
		return "new";
	case ENV_UNCHANGED:
		return "unchanged";
	case ENV_NEEDS_BUMP:
		return "needs-version-bump";
	case ENV_CHANGED_AUTO:
		return "changed";
	}
	return "unknown";
}

void env_decision_init(struct env_decision *d)
{
	struct env_decision fresh = ENV_DECISION_INIT;

	*d = fresh;
}

void env_decision_release(struct env_decision *d)
{
	if (!d)
		return;
	free(d->version);
	free(d->next_version);
	env_diff_release(&d->diff);
	env_decision_init(d);
}

/* Errors about the version point at the version: line (or name: without one). */
static int version_error(const struct environment *local, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int version_error(const struct environment *local, const char *fmt, ...)
{
	const cJSON *at = field(local, "version");
	struct buf msg = BUF_INIT;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	ret = yaml_error_at(&local->doc, at ? at : field(local, "name"), ERR_INPUT,
			    "field 'version': %s", msg.data);
	buf_release(&msg);
	return ret;
}

static int decide_declared(struct env_decision *out, const struct environment *local,
			   const struct env_registered *same, const struct env_registered *latest)
{
	struct buf next = BUF_INIT;
	enum env_compare cmp;

	if (!local->version)
		return version_error(local, "required with versioning 'declared'");
	out->version = xstrdup(local->version);
	if (!same) {
		out->status = ENV_NEW;
		return 0;
	}
	cmp = env_compare(&out->diff, local, same);
	if (cmp != ENV_DIFFERENT) {
		/* An uncomparable version is immutable anyway: leave it, but say so. */
		out->status = ENV_UNCHANGED;
		out->uncertain = cmp == ENV_UNKNOWN;
		return 0;
	}
	out->status = ENV_NEEDS_BUMP;
	/* A human picks the version here: one we cannot compute is left NULL. */
	if (is_numeric_version(latest ? latest->version : same->version) &&
	    !env_next_version(&next, latest ? latest->version : same->version))
		out->next_version = buf_detach(&next, NULL);
	buf_release(&next);
	return 0;
}

static int decide_auto(struct env_decision *out, const struct environment *local,
		       const struct env_registered *same, const struct env_registered *latest)
{
	const struct env_registered *ref;
	struct buf next = BUF_INIT;
	enum env_compare cmp;
	int ret = 0;

	if ((local->version && !same) || (!same && !latest)) {
		out->status = ENV_NEW;
		out->version = xstrdup(local->version ? local->version : "1");
		return 0;
	}
	/* A declared version that is registered pins the comparison to it. */
	ref = local->version && same ? same : latest;
	cmp = env_compare(&out->diff, local, ref);
	if (cmp == ENV_SAME) {
		out->status = ENV_UNCHANGED;
		out->version = xstrdup(ref->version);
		return 0;
	}
	/* Unknown, too, registers: with our tag the next run can compare. */
	out->uncertain = cmp == ENV_UNKNOWN;
	if (!latest)
		latest = ref;
	if (env_next_version(&next, latest->version)) {
		ret = version_error(local, "the content changed and the latest registered version "
				    "is '%s', which cannot be incremented: set the next version "
				    "explicitly", excerpt(latest->version));
		goto done;
	}
	out->status = ENV_CHANGED_AUTO;
	out->version = xstrdup(next.data);
	out->next_version = buf_detach(&next, NULL);
done:
	buf_release(&next);
	return ret;
}

int env_decide(struct env_decision *out, const struct environment *local,
	       const struct env_registered *same, const struct env_registered *latest,
	       enum env_versioning mode)
{
	int ret;

	env_decision_init(out);
	if (mode == ENV_VERSIONING_DECLARED)
		ret = decide_declared(out, local, same, latest);
	else
		ret = decide_auto(out, local, same, latest);
	if (ret)
		env_decision_release(out);
	return ret;
}
