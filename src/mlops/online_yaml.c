#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "azure/aml_endpoint.h"
#include "azure/aml_names.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "mlops/conda.h"
#include "mlops/image_ref.h"
#include "mlops/job_yaml.h"
#include "mlops/online_yaml.h"
#include "core/banned.h"

/* The fields of the CLI v2 managed online deployment schema. */
static const char *const known_fields[] = {
	"$schema", "type", "name", "endpoint_name", "model", "description", "tags",
	"model_mount_path", "code_configuration", "environment_variables", "environment",
	"instance_type", "instance_count", "app_insights_enabled", "scale_settings",
	"request_settings", "liveness_probe", "readiness_probe",
	"egress_public_network_access", "data_collector", NULL,
};

static const char *const code_fields[] = { "code", "scoring_script", NULL };
static const char *const scale_fields[] = { "type", NULL };
static const char *const request_fields[] = {
	"request_timeout_ms", "max_concurrent_requests_per_instance", "max_queue_wait_ms", NULL,
};
static const char *const probe_fields[] = {
	"initial_delay", "period", "timeout", "success_threshold", "failure_threshold", NULL,
};
static const char *const env_fields[] = {
	"$schema", "name", "version", "description", "tags", "image", "conda_file", "build",
	"os_type", "inference_config", NULL,
};
static const char *const build_fields[] = { "path", "dockerfile_path", NULL };

/* The CLI's largest scoring timeout for managed deployments (3 minutes). */
#define REQUEST_TIMEOUT_MAX_MS 180000

static const cJSON *field(const struct online_deployment *d, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(d->doc.root, key);
}

/* "<path>.<key>", or `key` at the top level; the caller releases `out`. */
static void field_name(struct buf *out, const char *path, const char *key)
{
	if (path)
		buf_addf(out, "%s.", path);
	buf_addstr(out, key);
}

/* `key` under `obj` (at `path`, NULL for the top level): left NULL when
 * absent, else a string, not empty. */
static int get_string(struct online_deployment *d, const cJSON *obj, const char *path,
		      const char *key, const char **out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	struct buf name = BUF_INIT;
	int ret = 0;

	if (!item)
		return 0;
	field_name(&name, path, key);
	if (!cJSON_IsString(item))
		ret = yaml_error_at(&d->doc, item, ERR_YAML, "field '%s' is %s, expected a string",
				    name.data, json_type_name(item));
	else if (!*item->valuestring)
		ret = yaml_error_at(&d->doc, item, ERR_INPUT, "field '%s' is empty", name.data);
	else
		*out = item->valuestring;
	buf_release(&name);
	return ret;
}

/* `key` under `obj`: left as it is when absent, else an integer from
 * `min` to `max`. */
static int get_int(struct online_deployment *d, const cJSON *obj, const char *path,
		   const char *key, long min, long max, int *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	struct buf name = BUF_INIT;
	const char *text;
	double v;
	int ret = 0;

	if (!item)
		return 0;
	field_name(&name, path, key);
	v = item->valuedouble;
	text = yaml_scalar_text(&d->doc, item);
	if (!cJSON_IsNumber(item))
		ret = yaml_error_at(&d->doc, item, ERR_YAML, "field '%s' is %s, expected an integer",
				    name.data, json_type_name(item));
	else if (!(v >= (double)min && v <= (double)max) || v != (double)(long)v)
		ret = yaml_error_at(&d->doc, item, ERR_INPUT, "field '%s': %s is not an integer "
				    "from %ld to %ld", name.data, text ? excerpt(text) : "the value",
				    min, max);
	else
		*out = (int)v;
	buf_release(&name);
	return ret;
}

/* A mapping `key` under `obj`, NULL when absent or null, its keys checked
 * against `known` (NULL: any). */
static int get_map(struct online_deployment *d, const cJSON *obj, const char *path,
		   const char *key, const char *const *known, const cJSON **out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	struct buf name = BUF_INIT;
	int ret = 0;

	*out = NULL;
	if (!item || cJSON_IsNull(item))
		return 0;
	field_name(&name, path, key);
	if (!cJSON_IsObject(item))
		ret = yaml_error_at(&d->doc, item, ERR_YAML, "field '%s' is %s, expected a mapping",
				    name.data, json_type_name(item));
	else if (!known || !(ret = yaml_check_keys(&d->doc, item, name.data, known, NULL)))
		*out = item;
	buf_release(&name);
	return ret;
}

/* A top-level mapping of scalars (tags, environment_variables) as written. */
static int scalar_map(struct online_deployment *d, const char *key, struct kv_list *out)
{
	const cJSON *map, *kv;
	struct buf name = BUF_INIT;
	const char *value;
	int ret;

	if ((ret = get_map(d, d->doc.root, NULL, key, NULL, &map)) || !map)
		return ret;
	cJSON_ArrayForEach(kv, map) {
		buf_reset(&name);
		buf_addf(&name, "%s.%s", key, kv->string);
		if ((ret = job_yaml_scalar(&d->doc, kv, name.data, &value)))
			break;
		kv_list_add(out, kv->string, value);
	}
	buf_release(&name);
	return ret;
}

/* ---- what Model-CD decides itself: name, endpoint_name, model ---- */

static int note_ignored(struct online_deployment *d)
{
	static const char *const keys[] = { "name", "endpoint_name", "model" };
	const cJSON *item;
	const char *text;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		if (!(item = field(d, keys[i])) || cJSON_IsNull(item))
			continue;
		if (cJSON_IsObject(item))
			text = "(an inline model)";
		else if (job_yaml_scalar(&d->doc, item, keys[i], &text))
			return ERR_YAML;
		kv_list_add(&d->ignored, keys[i], text);
	}
	return 0;
}

/* ---- code_configuration ---- */

/* A relative path that stays below its folder once "." and ".." are
 * resolved lexically (links are judged when the files are there). */
static int stays_below(const char *rel)
{
	struct buf p = BUF_INIT;
	int ok;

	buf_addstr(&p, rel);
	fs_normalize(&p);
	ok = rel[0] != '/' && strcmp(p.data, "..") && strncmp(p.data, "../", 3);
	buf_release(&p);
	return ok;
}

static int check_code(struct online_deployment *d)
{
	const cJSON *m, *code, *script;
	int ret;

	if ((ret = get_map(d, d->doc.root, NULL, "code_configuration", code_fields, &m)) || !m)
		return ret;
	code = cJSON_GetObjectItemCaseSensitive(m, "code");
	script = cJSON_GetObjectItemCaseSensitive(m, "scoring_script");
	if (!code || !script)
		return yaml_error_at(&d->doc, m, ERR_INPUT, "field 'code_configuration.%s': "
				     "required (code and scoring_script go together)",
				     code ? "scoring_script" : "code");
	if ((ret = get_string(d, m, "code_configuration", "code", &d->code)) ||
	    (ret = get_string(d, m, "code_configuration", "scoring_script", &d->scoring_script)))
		return ret;
	if (!strncmp(d->code, "azureml:", strlen("azureml:")))
		return yaml_error_at(&d->doc, code, ERR_INPUT, "field 'code_configuration.code': "
				     "a local folder is expected; it is uploaded as a code snapshot");
	/* The snapshot is the repository's own code, never the runner's. */
	if (d->code[0] == '/')
		return yaml_error_at(&d->doc, code, ERR_INPUT, "field 'code_configuration.code': "
				     "%s is an absolute path; name a folder of the repository "
				     "relative to the deployment YAML", excerpt(d->code));
	if (!stays_below(d->scoring_script))
		return yaml_error_at(&d->doc, script, ERR_INPUT, "field "
				     "'code_configuration.scoring_script': %s is not a path inside "
				     "the code folder", excerpt(d->scoring_script));
	return 0;
}

/* ---- environment ---- */

static int check_env_ref(struct online_deployment *d, const cJSON *item)
{
	const char *ref = item->valuestring;

	d->environment = ref;
	if (!strncmp(ref, "azureml://registries/", strlen("azureml://registries/"))) {
		d->env_kind = ONLINE_ENV_REGISTRY;
		return 0;
	}
	if (strncmp(ref, "azureml:", strlen("azureml:")) || !strncmp(ref, "azureml://", strlen("azureml://")))
		return yaml_error_at(&d->doc, item, ERR_INPUT, "field 'environment': '%s' is not "
				     "azureml:<name>:<version>, azureml:<name>@latest, "
				     "azureml://registries/... or an inline environment", excerpt(ref));
	if (job_yaml_asset_ref(&d->env_name, &d->env_version, ref + strlen("azureml:"),
			       "environment"))
		return yaml_error_for_field(&d->doc, item, "environment");
	d->env_kind = strcmp(d->env_version, "latest") ? ONLINE_ENV_VERSION : ONLINE_ENV_LATEST;
	return 0;
}

static int check_env_build(struct online_deployment *d, const cJSON *env)
{
	struct online_inline_env *e = &d->inline_env;
	const cJSON *b, *path;
	const char *p = NULL;
	int ret;

	if ((ret = get_map(d, env, "environment", "build", build_fields, &b)))
		return ret;
	path = cJSON_GetObjectItemCaseSensitive(b, "path");
	if (!path)
		return yaml_error_at(&d->doc, b ? b : env, ERR_INPUT,
				     "field 'environment.build.path': required");
	if ((ret = get_string(d, b, "environment.build", "path", &p)) ||
	    (ret = get_string(d, b, "environment.build", "dockerfile_path", &e->dockerfile_path)))
		return ret;
	if (strstr(p, "://") || p[0] == '/')
		return yaml_error_at(&d->doc, path, ERR_INPUT, "field 'environment.build.path': "
				     "%s is not a folder of the repository relative to the "
				     "deployment YAML", excerpt(p));
	if (e->dockerfile_path && !stays_below(e->dockerfile_path))
		return yaml_error_at(&d->doc, cJSON_GetObjectItemCaseSensitive(b, "dockerfile_path"),
				     ERR_INPUT, "field 'environment.build.dockerfile_path': %s is "
				     "not a path inside the build context", excerpt(e->dockerfile_path));
	if (!e->dockerfile_path)
		e->dockerfile_path = "Dockerfile";
	if (cJSON_GetObjectItemCaseSensitive(env, "conda_file"))
		return yaml_error_at(&d->doc, cJSON_GetObjectItemCaseSensitive(env, "conda_file"),
				     ERR_INPUT, "field 'environment.conda_file': only with 'image' "
				     "(a build context installs its packages in its Dockerfile)");
	return 0;
}

static int check_env_image(struct online_deployment *d, const cJSON *env)
{
	struct online_inline_env *e = &d->inline_env;
	const cJSON *image = cJSON_GetObjectItemCaseSensitive(env, "image");
	const cJSON *conda = cJSON_GetObjectItemCaseSensitive(env, "conda_file");
	const char *why;
	int ret;

	if ((ret = get_string(d, env, "environment", "image", &e->image)))
		return ret;
	if ((why = image_ref_problem(e->image)))
		return yaml_error_at(&d->doc, image, ERR_INPUT, "field 'environment.image': '%s' is "
				     "not a Docker image reference: %s", excerpt(e->image), why);
	if (conda && !cJSON_IsString(conda))
		return yaml_error_at(&d->doc, conda, ERR_YAML, "field 'environment.conda_file' is "
				     "%s, expected the path of a conda file", json_type_name(conda));
	if (conda && (!*conda->valuestring || conda->valuestring[0] == '/' ||
		      strstr(conda->valuestring, "://")))
		return yaml_error_at(&d->doc, conda, ERR_INPUT, "field 'environment.conda_file': "
				     "'%s' is not a file of the repository relative to the "
				     "deployment YAML", excerpt(conda->valuestring));
	return 0;
}

static int check_env_inline(struct online_deployment *d, const cJSON *env)
{
	struct online_inline_env *e = &d->inline_env;
	const cJSON *os, *v;
	int has_image, has_build, ret;

	if ((ret = yaml_check_keys(&d->doc, env, "environment", env_fields, "an inline environment")))
		return ret;
	d->env_kind = ONLINE_ENV_INLINE;
	e->node = env;
	has_image = cJSON_GetObjectItemCaseSensitive(env, "image") != NULL;
	has_build = cJSON_GetObjectItemCaseSensitive(env, "build") != NULL;
	if (has_image == has_build)
		return yaml_error_at(&d->doc, env, ERR_INPUT, "field 'environment': an inline "
				     "environment has exactly one of 'image' and 'build'");
	if ((ret = get_string(d, env, "environment", "name", &e->name)) ||
	    (ret = get_string(d, env, "environment", "os_type", &e->os_type)))
		return ret;
	if (e->name && aml_check_name(e->name, "environment name"))
		return yaml_error_for_field(&d->doc, cJSON_GetObjectItemCaseSensitive(env, "name"),
					    "environment.name");
	if ((v = cJSON_GetObjectItemCaseSensitive(env, "version")) &&
	    (ret = job_yaml_scalar(&d->doc, v, "environment.version", &e->version)))
		return ret;
	os = cJSON_GetObjectItemCaseSensitive(env, "os_type");
	if (e->os_type && strcmp(e->os_type, "linux") && strcmp(e->os_type, "windows"))
		return yaml_error_at(&d->doc, os, ERR_INPUT, "field 'environment.os_type': '%s' is "
				     "not valid: use linux or windows", excerpt(e->os_type));
	if (!e->os_type)
		e->os_type = "linux";
	return has_image ? check_env_image(d, env) : check_env_build(d, env);
}

static int check_environment(struct online_deployment *d)
{
	const cJSON *item = field(d, "environment");

	if (!item)
		return yaml_error_at(&d->doc, d->doc.root, ERR_INPUT, "field 'environment': required "
				     "(azureml:<name>:<version> or an inline image)");
	if (cJSON_IsObject(item))
		return check_env_inline(d, item);
	if (!cJSON_IsString(item))
		return yaml_error_at(&d->doc, item, ERR_YAML, "field 'environment' is %s, expected "
				     "a string or a mapping", json_type_name(item));
	return check_env_ref(d, item);
}

/* ---- compute and serving ---- */

static int check_instance(struct online_deployment *d)
{
	int ret;

	if (!field(d, "instance_type"))
		return yaml_error_at(&d->doc, d->doc.root, ERR_INPUT, "field 'instance_type': "
				     "required: a managed deployment names its VM size "
				     "(Standard_DS3_v2, ...)");
	if ((ret = get_string(d, d->doc.root, NULL, "instance_type", &d->instance_type)))
		return ret;
	d->instance_count = 1;
	return get_int(d, d->doc.root, NULL, "instance_count", 1, INT32_MAX, &d->instance_count);
}

static int check_flags(struct online_deployment *d)
{
	const cJSON *ai = field(d, "app_insights_enabled"), *eg = field(d, "egress_public_network_access");

	if (ai && !cJSON_IsBool(ai))
		return yaml_error_at(&d->doc, ai, ERR_YAML, "field 'app_insights_enabled' is %s, "
				     "expected true or false", json_type_name(ai));
	d->app_insights_enabled = cJSON_IsTrue(ai);
	if (!eg)
		return 0;
	if (cJSON_IsString(eg) && !strcmp(eg->valuestring, "enabled"))
		d->egress = "Enabled";
	else if (cJSON_IsString(eg) && !strcmp(eg->valuestring, "disabled"))
		d->egress = "Disabled";
	else
		return yaml_error_at(&d->doc, eg, cJSON_IsString(eg) ? ERR_INPUT : ERR_YAML,
				     "field 'egress_public_network_access': use enabled or disabled");
	return 0;
}

static int check_scale(struct online_deployment *d)
{
	const cJSON *m, *t;
	int ret;

	if ((ret = get_map(d, d->doc.root, NULL, "scale_settings", NULL, &m)) || !m)
		return ret;
	t = cJSON_GetObjectItemCaseSensitive(m, "type");
	if (cJSON_IsString(t) && !strcmp(t->valuestring, "target_utilization"))
		return yaml_error_at(&d->doc, t, ERR_INPUT, "field 'scale_settings.type': "
				     "target_utilization is for Kubernetes deployments; a managed "
				     "deployment scales by instance_count (or Azure Monitor autoscale)");
	if (!t || !cJSON_IsString(t) || strcmp(t->valuestring, "default"))
		return yaml_error_at(&d->doc, t ? t : m, t && !cJSON_IsString(t) ? ERR_YAML : ERR_INPUT,
				     "field 'scale_settings.type': use default");
	if ((ret = yaml_check_keys(&d->doc, m, "scale_settings", scale_fields, NULL)))
		return ret;
	d->scale_type = "Default";
	return 0;
}

static int check_requests(struct online_deployment *d)
{
	struct aml_request_settings *r = &d->request_settings;
	const char *const path = "request_settings";
	const cJSON *m;
	int ret;

	if ((ret = get_map(d, d->doc.root, NULL, path, request_fields, &m)) || !m)
		return ret;
	if ((ret = get_int(d, m, path, "request_timeout_ms", 1, REQUEST_TIMEOUT_MAX_MS,
			   &r->request_timeout_ms)) ||
	    (ret = get_int(d, m, path, "max_concurrent_requests_per_instance", 1, INT32_MAX,
			   &r->max_concurrent_requests_per_instance)))
		return ret;
	return get_int(d, m, path, "max_queue_wait_ms", 1, INT32_MAX, &r->max_queue_wait_ms);
}

static int check_probe(struct online_deployment *d, const char *key, struct online_probe *out)
{
	struct aml_probe *p = &out->probe;
	const cJSON *m;
	int ret;

	if ((ret = get_map(d, d->doc.root, NULL, key, probe_fields, &m)) || !m)
		return ret;
	out->given = 1;
	/* Seconds, as the CLI reads them; sent as ISO 8601 durations. */
	if ((ret = get_int(d, m, key, "initial_delay", 1, INT32_MAX / 1000, &p->initial_delay_s)) ||
	    (ret = get_int(d, m, key, "period", 1, INT32_MAX / 1000, &p->period_s)) ||
	    (ret = get_int(d, m, key, "timeout", 1, INT32_MAX / 1000, &p->timeout_s)) ||
	    (ret = get_int(d, m, key, "success_threshold", 1, INT32_MAX, &p->success_threshold)))
		return ret;
	return get_int(d, m, key, "failure_threshold", 1, INT32_MAX, &p->failure_threshold);
}

static int check_serving(struct online_deployment *d)
{
	const cJSON *dc = field(d, "data_collector");
	int ret;

	if (dc)
		return yaml_error_at(&d->doc, dc, ERR_INPUT, "field 'data_collector': not supported "
				     "by this workflow (it deploys no data collection); remove it");
	if ((ret = check_instance(d)) || (ret = check_flags(d)) || (ret = check_scale(d)) ||
	    (ret = check_requests(d)) ||
	    (ret = check_probe(d, "liveness_probe", &d->liveness_probe)))
		return ret;
	return check_probe(d, "readiness_probe", &d->readiness_probe);
}

/* ---- the whole file ---- */

static int check(struct online_deployment *d)
{
	const char *type = NULL, *schema = NULL;
	int ret;

	if (!cJSON_IsObject(d->doc.root))
		return yaml_error_at(&d->doc, d->doc.root, ERR_YAML, "a deployment YAML is a mapping "
				     "of fields, not %s", json_type_name(d->doc.root));
	if ((ret = yaml_check_keys(&d->doc, d->doc.root, NULL, known_fields,
				   "a managed online deployment")) ||
	    (ret = get_string(d, d->doc.root, NULL, "$schema", &schema)) ||
	    (ret = get_string(d, d->doc.root, NULL, "type", &type)))
		return ret;
	if (type && strcmp(type, "managed"))
		return yaml_error_at(&d->doc, field(d, "type"), ERR_INPUT, "field 'type': '%s' "
				     "deployments are not made by this workflow; use managed",
				     excerpt(type));
	if ((ret = note_ignored(d)) ||
	    (ret = get_string(d, d->doc.root, NULL, "description", &d->description)) ||
	    (ret = get_string(d, d->doc.root, NULL, "model_mount_path", &d->model_mount_path)) ||
	    (ret = scalar_map(d, "tags", &d->tags)) ||
	    (ret = scalar_map(d, "environment_variables", &d->environment_variables)) ||
	    (ret = check_code(d)) || (ret = check_environment(d)))
		return ret;
	return check_serving(d);
}

int online_yaml_parse(struct online_deployment *out, const char *text, size_t len,
		      const char *name)
{
	int ret;

	online_deployment_release(out);
	out->yaml_path = xstrdup(name);
	if ((ret = yaml_load_string(&out->doc, text, len, name)) || (ret = check(out)))
		online_deployment_release(out);
	return ret;
}

/* ---- paths: the YAML, the code folder, the scoring script, the environment's files ---- */

/* The deployment YAML: a regular file (a folder or a FIFO would fail late
 * or block the run) inside the workspace. */
static int check_yaml_file(const char *full, const char *path, const char *root)
{
	struct buf parent = BUF_INIT;
	struct stat st;
	int missing = stat(full, &st), err = errno, inside;

	/* Outside first: nothing about a file out of bounds is told but that
	 * (a missing one is, when its folder is inside). */
	if (missing) {
		const char *slash = strrchr(full, '/');

		if (slash)
			buf_add(&parent, full, (size_t)(slash - full));
		else
			buf_addstr(&parent, ".");
		inside = fs_resolves_inside(parent.data, root);
		buf_release(&parent);
	} else {
		inside = fs_resolves_inside(full, root);
	}
	if (!inside)
		return error_set(ERR_INPUT, "deployment YAML %s resolves outside the workspace %s",
				 excerpt(path), root);
	if (missing)
		return error_set(ERR_INPUT, "deployment YAML %s: %s", excerpt(path), strerror(err));
	if (!S_ISREG(st.st_mode))
		return error_set(ERR_INPUT, "deployment YAML %s is %s, not a regular file",
				 excerpt(path), S_ISDIR(st.st_mode) ? "a folder" :
				 S_ISFIFO(st.st_mode) ? "a FIFO" : "a special file");
	return 0;
}

/*
 * `rel` (the text of `item`, field `name`) against the folder `base`,
 * normalised, as `*out`: it must exist, resolve (links followed) inside
 * `bound` (`what` names it in the message) and be a folder or a file.
 */
static int resolve(struct online_deployment *d, const cJSON *item, const char *name,
		   const char *base, const char *rel, const char *bound, const char *what,
		   int want_dir, char **out)
{
	struct buf p = BUF_INIT;
	struct stat st;
	int ret = 0;

	buf_addf(&p, "%s/%s", base, rel);
	fs_normalize(&p);
	/* Outside first: nothing about a file out of bounds is told but that. */
	if (!fs_resolves_inside(p.data, bound))
		ret = yaml_error_at(&d->doc, item, ERR_INPUT, "field '%s': %s %s", name,
				    excerpt(rel), stat(p.data, &st) ? "does not exist" :
				    what);
	else if (want_dir ? !fs_is_dir(p.data) : !fs_is_file(p.data))
		ret = yaml_error_at(&d->doc, item, ERR_INPUT, "field '%s': %s is not a %s", name,
				    excerpt(rel), want_dir ? "folder" : "regular file");
	else
		*out = buf_detach(&p, NULL);
	buf_release(&p);
	return ret;
}

static const cJSON *code_item(const struct online_deployment *d, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(field(d, "code_configuration"), key);
}

static int resolve_code(struct online_deployment *d, const char *root)
{
	char *script = NULL;
	int ret;

	if (!d->code)
		return 0;
	/* Everything under the folder is uploaded: "../.." and a link to /etc
	 * both land outside. */
	if ((ret = resolve(d, code_item(d, "code"), "code_configuration.code", d->yaml_dir,
			   d->code, root, "resolves outside the workspace or into its .git; "
			   "the code snapshot is taken from the repository only", 1, &d->code_dir)))
		return ret;
	ret = resolve(d, code_item(d, "scoring_script"), "code_configuration.scoring_script",
		      d->code_dir, d->scoring_script, d->code_dir, "resolves outside the code "
		      "folder; the scoring script is uploaded with it", 0, &script);
	free(script);
	return ret;
}

static int resolve_env(struct online_deployment *d, const char *root)
{
	struct online_inline_env *e = &d->inline_env;
	const cJSON *conda, *build;
	char *dockerfile = NULL;
	int ret;

	if (d->env_kind != ONLINE_ENV_INLINE)
		return 0;
	conda = cJSON_GetObjectItemCaseSensitive(e->node, "conda_file");
	if (conda) {
		struct conda_file c = CONDA_FILE_INIT;

		if ((ret = resolve(d, conda, "environment.conda_file", d->yaml_dir,
				   conda->valuestring, root, "resolves outside the workspace", 0,
				   &e->conda_path)))
			return ret;
		/* Checked as Environment-CI checks one: its errors name its lines. */
		ret = conda_load_file(&c, e->conda_path);
		conda_file_release(&c);
		return ret;
	}
	if (!(build = cJSON_GetObjectItemCaseSensitive(e->node, "build")))
		return 0;
	if ((ret = resolve(d, json_find(build, "path"), "environment.build.path", d->yaml_dir,
			   json_find(build, "path")->valuestring, root,
			   "resolves outside the workspace", 1, &e->build_dir)))
		return ret;
	ret = resolve(d, json_find(build, "dockerfile_path") ? json_find(build, "dockerfile_path")
		      : json_find(build, "path"), "environment.build.dockerfile_path", e->build_dir,
		      e->dockerfile_path, e->build_dir, "resolves outside the build context", 0,
		      &dockerfile);
	free(dockerfile);
	return ret;
}

int online_yaml_read(struct online_deployment *out, const char *workspace_root,
		     const char *path)
{
	const char *root = workspace_root ? workspace_root : fs_workspace();
	struct buf full = BUF_INIT, text = BUF_INIT;
	char *slash;
	int ret;

	online_deployment_release(out);
	if (path[0] == '/')
		buf_addstr(&full, path);
	else
		buf_addf(&full, "%s/%s", root, path);
	if ((ret = check_yaml_file(full.data, path, root)) ||
	    (ret = fs_read_file(&text, full.data, YAML_MAX_FILE)) ||
	    (ret = online_yaml_parse(out, text.data, text.len, path)))
		goto done;
	fs_normalize(&full);
	slash = strrchr(full.data, '/');
	out->yaml_dir = slash ? xstrndup(full.data, (size_t)(slash - full.data)) : xstrdup(".");
	if (!*out->yaml_dir) {
		free(out->yaml_dir);
		out->yaml_dir = xstrdup("/");
	}
	if ((ret = resolve_code(out, root)) || (ret = resolve_env(out, root)))
		online_deployment_release(out);
done:
	buf_release(&full);
	buf_release(&text);
	return ret;
}

/* ---- what the caller sends ---- */

int online_deployment_spec(struct aml_deployment_spec *out, struct online_deployment *d,
			   const char *location, const char *model_id,
			   const char *environment_id, const char *code_id,
			   const char *const *tags)
{
	const char *const *t;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!model_id || !*model_id || !environment_id || !*environment_id)
		return error_set(ERR_INPUT, "%s: the deployment needs the model's and the "
				 "environment's ids", d->yaml_path);
	if (!!code_id != !!d->code)
		return error_set(ERR_INPUT, "%s: %s", d->yaml_path, d->code ?
				 "code_configuration needs the code version's id" :
				 "a code version id, but no code_configuration");
	/* The caller's tags (what Model-CD records) win over the YAML's. */
	kv_list_release(&d->spec_tags);
	for (i = 0; i < d->tags.nr; i++) {
		const char *key = d->tags.pairs[2 * i];

		for (t = tags; t && *t && strcmp(*t, key); t += 2)
			;
		if (!t || !*t)
			kv_list_add(&d->spec_tags, key, d->tags.pairs[2 * i + 1]);
	}
	for (t = tags; t && *t; t += 2)
		kv_list_add(&d->spec_tags, t[0], t[1]);
	out->location = location;
	out->model_id = model_id;
	out->environment_id = environment_id;
	out->code_id = code_id;
	out->scoring_script = code_id ? d->scoring_script : NULL;
	out->instance_type = d->instance_type;
	out->instance_count = d->instance_count;
	out->description = d->description;
	out->environment_variables = d->environment_variables.nr ?
				     kv_list_pairs(&d->environment_variables) : NULL;
	out->tags = d->spec_tags.nr ? kv_list_pairs(&d->spec_tags) : NULL;
	out->request_settings = d->request_settings;
	out->liveness_probe = d->liveness_probe.probe;
	out->readiness_probe = d->readiness_probe.probe;
	out->scale_type = d->scale_type;
	out->app_insights_enabled = d->app_insights_enabled;
	out->egress_public_network_access = d->egress;
	out->model_mount_path = d->model_mount_path;
	return 0;
}

/* ---- the deployment's name ---- */

#define NAME_MAX_LEN 32
#define SHA_SHOWN 7
#define VERSION_SHOWN 10

/* `src` lowercased, each run of other characters one '-', none at the
 * ends, and "m-" before a leading digit: Azure's REST pattern lets a
 * deployment name start with one, the online endpoint naming rules ask
 * for a letter, so the name always starts with a letter. */
static void name_part(struct buf *out, const char *src)
{
	const unsigned char *p;

	for (p = (const unsigned char *)src; *p; p++) {
		if (!out->len && isdigit(*p))
			buf_addstr(out, "m-");
		if (isalnum(*p))
			buf_addch(out, (char)tolower(*p));
		else if (out->len && out->data[out->len - 1] != '-')
			buf_addch(out, '-');
	}
	while (out->len && out->data[out->len - 1] == '-')
		buf_setlen(out, out->len - 1);
}

static int plain_version(const char *v)
{
	size_t n = strlen(v), i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)v[i]) && !islower((unsigned char)v[i]))
			return 0;
	return n <= VERSION_SHOWN;
}

/* "-v<version>-<sha7>": a version that would not show as itself (mapped
 * characters could make two versions alike) is shown by its hash. */
static void name_tail(struct buf *out, const char *version, const char *sha)
{
	unsigned char digest[SHA256_LEN];
	int i;

	buf_addstr(out, "-v");
	if (plain_version(version)) {
		buf_addstr(out, version);
	} else {
		sha256_digest(digest, version, strlen(version));
		buf_addch(out, 'h');
		for (i = 0; i < 4; i++)
			buf_addf(out, "%02x", digest[i]);
	}
	buf_addch(out, '-');
	for (i = 0; i < SHA_SHOWN; i++)
		buf_addch(out, (char)tolower((unsigned char)sha[i]));
}

int online_deployment_name(char *out, size_t n, const char *model_name,
			   const char *version, const char *commit_sha)
{
	struct buf model = BUF_INIT, tail = BUF_INIT;
	size_t keep;

	if (n <= NAME_MAX_LEN)
		return error_set(ERR_INPUT, "a deployment name needs %d bytes", NAME_MAX_LEN + 1);
	if (!model_name || !*model_name || !version || !*version)
		return error_set(ERR_INPUT, "a deployment name needs the model's name and version");
	if (!commit_sha || strlen(commit_sha) < SHA_SHOWN ||
	    strspn(commit_sha, "0123456789abcdefABCDEF") != strlen(commit_sha))
		return error_set(ERR_INPUT, "commit '%s' is not a hex commit id of %d or more "
				 "digits", excerpt(commit_sha ? commit_sha : ""), SHA_SHOWN);
	name_part(&model, model_name);
	name_tail(&tail, version, commit_sha);
	keep = NAME_MAX_LEN - tail.len;
	if (model.len > keep)
		buf_setlen(&model, keep);
	while (model.len && model.data[model.len - 1] == '-')
		buf_setlen(&model, model.len - 1);
	if (!model.len)
		buf_addch(&model, 'm');
	snprintf(out, n, "%s%s", model.data, tail.data);
	buf_release(&model);
	buf_release(&tail);
	return aml_check_deployment_name(out);
}

/* ---- annotations and release ---- */

int online_yaml_line(const struct online_deployment *d, const char *name)
{
	const cJSON *item = d->doc.root && *name ? json_find(d->doc.root, name) : NULL;
	int line = 0, column;

	if (item && yaml_where(&d->doc, item, &line, &column))
		line = 0;
	return line;
}

void online_deployment_release(struct online_deployment *d)
{
	if (!d)
		return;
	free(d->yaml_path);
	free(d->yaml_dir);
	free(d->code_dir);
	free(d->env_name);
	free(d->env_version);
	free(d->inline_env.conda_path);
	free(d->inline_env.build_dir);
	kv_list_release(&d->ignored);
	kv_list_release(&d->tags);
	kv_list_release(&d->environment_variables);
	kv_list_release(&d->spec_tags);
	yaml_doc_release(&d->doc);
	memset(d, 0, sizeof(*d));
}
