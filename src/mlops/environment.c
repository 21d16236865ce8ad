#include <dirent.h>
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
#include "mlops/image_ref.h"
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

	if (!cJSON_IsObject(env->doc.root))
		return yaml_error_at(&env->doc, env->doc.root, ERR_YAML,
				     "an environment YAML is a mapping of fields, not %s",
				     json_type_name(env->doc.root));
	return yaml_check_keys(&env->doc, env->doc.root, NULL, known, "an Azure ML environment");
}

static int check_name_version(struct environment *env, enum env_versioning mode)
{
	const struct yaml_doc *doc = &env->doc;
	const cJSON *at;
	int ret;

	if ((ret = yaml_get_text(doc, &env->name, doc->root, "name")))
		return ret;
	if (aml_check_name(env->name, "environment name"))
		return yaml_error_for_field(doc, field(env, "name"), "name");
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
	if ((ret = yaml_get_object(doc, &cfg, doc->root, "inference_config")) ||
	    (ret = yaml_check_keys(doc, cfg, "inference_config", routes, NULL)))
		return ret;
	cJSON_ArrayForEach(item, cfg) {
		const cJSON *port, *route;
		const char *s;

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
	static const char *const known[] = { "path", "dockerfile_path", NULL };
	const struct yaml_doc *doc = &env->doc;
	const cJSON *build = field(env, "build"), *item;
	struct buf path = BUF_INIT, dockerfile = BUF_INIT;
	const char *rel, *df = "Dockerfile";
	int ret;

	if ((ret = yaml_get_object(doc, &build, doc->root, "build")) ||
	    (ret = yaml_check_keys(doc, build, "build", known, NULL)) ||
	    (ret = yaml_get_string(doc, &rel, doc->root, "build.path")))
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
	if ((why = image_ref_problem(env->image)))
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

int environment_hash(struct environment *env)
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
		struct build_hash h = { &text, env->yaml_path ? realpath(env->yaml_path, NULL) : NULL };

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
	    (ret = environment_hash(out)))
		goto done;
	out->tags = field(out, "tags");
done:
	buf_release(&path);
	if (ret)
		environment_release(out);
	return ret;
}
