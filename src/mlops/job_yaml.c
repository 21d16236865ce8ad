#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "azure/aml_names.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/job_yaml.h"
#include "core/banned.h"

/* The fields of the CLI v2 command job schema this workflow submits. */
static const char *const known_fields[] = {
	"$schema", "type", "name", "code", "command", "environment", "compute", "inputs",
	"outputs", "experiment_name", "display_name", "description", "tags",
	"environment_variables", "properties", "resources", "distribution", "limits",
	"queue_settings", "identity", "services", NULL,
};

/* The fields of an input or output given as a mapping. */
static const char *const io_fields[] = { "type", "path", "mode", "description", NULL };

/* The CLI's mode names and the REST enum each stands for (azure-contract 3.5). */
static const char *const modes[][2] = {
	{ "ro_mount", "ReadOnlyMount" }, { "rw_mount", "ReadWriteMount" },
	{ "download", "Download" }, { "direct", "Direct" },
	{ "eval_mount", "EvalMount" }, { "eval_download", "EvalDownload" },
	{ "upload", "Upload" },
};

static const cJSON *field(const struct job_yaml *s, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(s->doc.root, key);
}

/* A scalar as written: strings as they are, numbers and booleans as their
 * source text (so `lr: 0.010` stays "0.010"). */
static int scalar_text(const struct yaml_doc *doc, const cJSON *item, const char *fieldname,
		       const char **out)
{
	const char *t;

	if (cJSON_IsString(item)) {
		*out = item->valuestring;
		return 0;
	}
	if ((cJSON_IsNumber(item) || cJSON_IsBool(item)) && (t = yaml_scalar_text(doc, item))) {
		*out = t;
		return 0;
	}
	return yaml_error_at(doc, item, ERR_YAML, "field '%s' is %s, expected a string, number "
			     "or boolean", fieldname, json_type_name(item));
}

static int string_field(struct job_yaml *s, const char *key, const char **out, int nonempty)
{
	const cJSON *item = field(s, key);

	if (!item)
		return 0;
	if (!cJSON_IsString(item))
		return yaml_error_at(&s->doc, item, ERR_YAML, "field '%s' is %s, expected a string",
				     key, json_type_name(item));
	if (nonempty && !*item->valuestring)
		return yaml_error_at(&s->doc, item, ERR_INPUT, "field '%s' is empty", key);
	*out = item->valuestring;
	return 0;
}

/* "name:version" or "name@latest" after "azureml:"; `what` for messages. */
static int parse_asset_ref(char **name_out, char **version_out, const char *ref, const char *what)
{
	const char *sep;
	char *name = NULL;
	int ret = 0;

	sep = strpbrk(ref, ":@");
	if (!sep || strpbrk(sep + 1, ":@/")) {
		return error_set(ERR_INPUT, "'%s' is not azureml:<name>:<version> or "
				 "azureml:<name>@latest", ref);
	}
	name = xstrndup(ref, (size_t)(sep - ref));
	if (*sep == '@' && strcmp(sep + 1, "latest")) {
		ret = error_set(ERR_INPUT, "'%s': only @latest may follow the name", ref);
	} else if (!(ret = aml_check_name(name, what)) && *sep == ':') {
		ret = aml_check_version(sep + 1, what);
	}
	if (ret) {
		free(name);
		return ret;
	}
	*name_out = name;
	*version_out = xstrdup(*sep == '@' ? "latest" : sep + 1);
	return 0;
}

static int check_environment(struct job_yaml *s)
{
	const cJSON *item = field(s, "environment");
	const char *ref;

	if (!item)
		return yaml_error_at(&s->doc, s->doc.root, ERR_INPUT,
				     "field 'environment': required (azureml:<name>:<version>)");
	if (cJSON_IsObject(item))
		return yaml_error_at(&s->doc, item, ERR_INPUT,
				     "field 'environment': inline environments are not submitted by "
				     "this workflow; register it (environment-cd) and use "
				     "azureml:<name>:<version>");
	if (!cJSON_IsString(item))
		return yaml_error_at(&s->doc, item, ERR_YAML, "field 'environment' is %s, expected "
				     "a string", json_type_name(item));
	s->environment = ref = item->valuestring;
	if (!strncmp(ref, "azureml://registries/", strlen("azureml://registries/"))) {
		s->env_kind = JOB_ENV_REGISTRY;
		return 0;
	}
	if (strncmp(ref, "azureml:", strlen("azureml:")) || !strncmp(ref, "azureml://", strlen("azureml://")))
		return yaml_error_at(&s->doc, item, ERR_INPUT, "field 'environment': '%s' is not "
				     "azureml:<name>:<version>, azureml:<name>@latest or "
				     "azureml://registries/...", ref);
	if (parse_asset_ref(&s->env_name, &s->env_version, ref + strlen("azureml:"),
			    "environment"))
		return yaml_error_for_field(&s->doc, item, "environment");
	s->env_kind = strcmp(s->env_version, "latest") ? JOB_ENV_VERSION : JOB_ENV_LATEST;
	return 0;
}

static int check_compute(struct job_yaml *s)
{
	const char *c = NULL;
	int ret;

	if ((ret = string_field(s, "compute", &c, 1)) || !c)
		return ret;
	if (!strncmp(c, "azureml:", strlen("azureml:")))
		c += strlen("azureml:");
	if (aml_check_name(c, "compute name"))
		return yaml_error_for_field(&s->doc, field(s, "compute"), "compute");
	s->compute = xstrdup(c);
	return 0;
}

static int valid_io_name(const char *name)
{
	const char *p = name;

	if (!isalpha((unsigned char)*p) && *p != '_')
		return 0;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return 0;
	return p - name <= 255;
}

static int mode_field(const struct yaml_doc *doc, const cJSON *obj, const char *where,
		      int output, const char **out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "mode");
	size_t i;

	*out = NULL;
	if (!m)
		return 0;
	if (cJSON_IsString(m))
		for (i = 0; i < sizeof(modes) / sizeof(*modes); i++) {
			int for_output = !strcmp(modes[i][0], "rw_mount") || !strcmp(modes[i][0], "upload") ||
					 !strcmp(modes[i][0], "direct");
			int for_input = strcmp(modes[i][0], "upload") != 0;

			if (!strcmp(m->valuestring, modes[i][0]) && (output ? for_output : for_input)) {
				*out = modes[i][1];
				return 0;
			}
		}
	return yaml_error_at(doc, m, ERR_INPUT, "field '%s.mode': use %s", where,
			     output ? "rw_mount, upload or direct"
				    : "ro_mount, rw_mount, download, direct, eval_mount or eval_download");
}

static int check_input_path(struct job_yaml *s, struct job_input *in, const cJSON *p,
			    const char *where)
{
	const char *path;

	if (!p)
		return yaml_error_at(&s->doc, cJSON_GetObjectItemCaseSensitive(field(s, "inputs"), in->name),
				     ERR_INPUT, "field '%s.path': required", where);
	if (!cJSON_IsString(p))
		return yaml_error_at(&s->doc, p, ERR_YAML, "field '%s.path' is %s, expected a string",
				     where, json_type_name(p));
	in->path = path = p->valuestring;
	if (!strncmp(path, "azureml://", strlen("azureml://")) || !strncmp(path, "https://", strlen("https://"))) {
		in->path_kind = JOB_PATH_URI;
		return 0;
	}
	if (!strncmp(path, "azureml:", strlen("azureml:"))) {
		in->path_kind = JOB_PATH_ASSET;
		if (parse_asset_ref(&in->asset_name, &in->asset_version, path + strlen("azureml:"),
				    "data asset")) {
			struct buf f = BUF_INIT;
			int ret;

			buf_addf(&f, "%s.path", where);
			ret = yaml_error_for_field(&s->doc, p, f.data);
			buf_release(&f);
			return ret;
		}
		return 0;
	}
	return yaml_error_at(&s->doc, p, ERR_INPUT, "field '%s.path': '%s' is a local path; this "
			     "workflow uploads no input data: register it as a data asset "
			     "(workspace-cd) and use azureml:<name>:<version>, or give an "
			     "azureml:// or https:// URI", where, path);
}

/* Sets `where` to "<kind>s.<name>" and checks the name of an input or output. */
static int check_io_name(struct job_yaml *s, const cJSON *item, const char *kind,
			 struct buf *where)
{
	buf_addf(where, "%ss.%s", kind, item->string);
	if (valid_io_name(item->string))
		return 0;
	return yaml_error_at(&s->doc, item, ERR_INPUT, "field '%s': an %s name is letters, "
			     "digits and '_', not starting with a digit", where->data, kind);
}

static int check_io_description(struct job_yaml *s, const cJSON *item, const char *where)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(item, "description");

	if (k && !cJSON_IsString(k))
		return yaml_error_at(&s->doc, k, ERR_YAML, "field '%s.description' is %s, expected "
				     "a string", where, json_type_name(k));
	return 0;
}

static int check_input(struct job_yaml *s, struct job_input *in, const cJSON *item)
{
	struct buf where = BUF_INIT;
	const cJSON *t;
	int ret = 0;

	in->name = item->string;
	if ((ret = check_io_name(s, item, "input", &where)))
		goto done;
	if (!cJSON_IsObject(item)) {
		in->type = AML_INPUT_LITERAL;
		if (cJSON_IsNull(item))
			ret = yaml_error_at(&s->doc, item, ERR_INPUT, "field '%s': has no value", where.data);
		else
			ret = scalar_text(&s->doc, item, where.data, &in->value);
		goto done;
	}
	if ((ret = yaml_check_keys(&s->doc, item, where.data, io_fields, NULL)))
		goto done;
	t = cJSON_GetObjectItemCaseSensitive(item, "type");
	if (!t) {
		ret = yaml_error_at(&s->doc, item, ERR_INPUT, "field '%s.type': required (uri_file "
				    "or uri_folder)", where.data);
		goto done;
	}
	if (cJSON_IsString(t) && !strcmp(t->valuestring, "uri_file"))
		in->type = AML_INPUT_URI_FILE;
	else if (cJSON_IsString(t) && !strcmp(t->valuestring, "uri_folder"))
		in->type = AML_INPUT_URI_FOLDER;
	else {
		ret = yaml_error_at(&s->doc, t, ERR_INPUT, "field '%s.type': use uri_file or "
				    "uri_folder", where.data);
		goto done;
	}
	if ((ret = check_input_path(s, in, cJSON_GetObjectItemCaseSensitive(item, "path"), where.data)))
		goto done;
	if (!(ret = mode_field(&s->doc, item, where.data, 0, &in->mode)))
		ret = check_io_description(s, item, where.data);
done:
	buf_release(&where);
	return ret;
}

static int check_output(struct job_yaml *s, struct job_output *o, const cJSON *item)
{
	struct buf where = BUF_INIT;
	const cJSON *t, *k;
	int ret = 0;

	o->name = item->string;
	if ((ret = check_io_name(s, item, "output", &where)))
		goto done;
	if (cJSON_IsNull(item))
		goto done;      /* `model:` alone: a uri_folder where Azure chooses */
	if (!cJSON_IsObject(item)) {
		ret = yaml_error_at(&s->doc, item, ERR_YAML, "field '%s' is %s, expected a mapping "
				    "such as {type: uri_folder}", where.data, json_type_name(item));
		goto done;
	}
	if ((ret = yaml_check_keys(&s->doc, item, where.data, io_fields, NULL)))
		goto done;
	t = cJSON_GetObjectItemCaseSensitive(item, "type");
	if (t && (!cJSON_IsString(t) || strcmp(t->valuestring, "uri_folder"))) {
		ret = yaml_error_at(&s->doc, t, ERR_INPUT, "field '%s.type': only uri_folder outputs "
				    "are submitted", where.data);
		goto done;
	}
	k = cJSON_GetObjectItemCaseSensitive(item, "path");
	if (k) {
		if (!cJSON_IsString(k) || strncmp(k->valuestring, "azureml://", strlen("azureml://"))) {
			ret = yaml_error_at(&s->doc, k, ERR_INPUT, "field '%s.path': an output path is "
					    "an azureml:// URI", where.data);
			goto done;
		}
		o->path = k->valuestring;
	}
	if (!(ret = mode_field(&s->doc, item, where.data, 1, &o->mode)))
		ret = check_io_description(s, item, where.data);
done:
	buf_release(&where);
	return ret;
}

/* A top-level mapping (`inputs`, `tags`, `resources`...): 0 with NULL when
 * absent or null. */
static int io_map(struct job_yaml *s, const char *key, const cJSON **out)
{
	const cJSON *map = field(s, key);

	*out = NULL;
	if (!map || cJSON_IsNull(map))
		return 0;
	if (!cJSON_IsObject(map))
		return yaml_error_at(&s->doc, map, ERR_YAML, "field '%s' is %s, expected a mapping",
				     key, json_type_name(map));
	*out = map;
	return 0;
}

static int check_io(struct job_yaml *s)
{
	const cJSON *map, *item;
	int ret;

	if ((ret = io_map(s, "inputs", &map)))
		return ret;
	if (map) {
		s->inputs = xcalloc((size_t)cJSON_GetArraySize(map) + 1, sizeof(*s->inputs));
		cJSON_ArrayForEach(item, map)
			if ((ret = check_input(s, &s->inputs[s->inputs_nr++], item)))
				return ret;
	}
	if ((ret = io_map(s, "outputs", &map)))
		return ret;
	if (map) {
		s->outputs = xcalloc((size_t)cJSON_GetArraySize(map) + 1, sizeof(*s->outputs));
		cJSON_ArrayForEach(item, map)
			if ((ret = check_output(s, &s->outputs[s->outputs_nr++], item)))
				return ret;
	}
	return 0;
}

/* tags, environment_variables: a mapping of scalars, each as written. */
static int scalar_map(struct job_yaml *s, const char *key, struct kv_list *out)
{
	const cJSON *map = field(s, key), *item;
	struct buf where = BUF_INIT;
	const char *value;
	int ret = 0;

	if (!map || cJSON_IsNull(map))
		return 0;
	if (!cJSON_IsObject(map))
		return yaml_error_at(&s->doc, map, ERR_YAML, "field '%s' is %s, expected a mapping",
				     key, json_type_name(map));
	cJSON_ArrayForEach(item, map) {
		buf_reset(&where);
		buf_addf(&where, "%s.%s", key, item->string);
		if ((ret = scalar_text(&s->doc, item, where.data, &value)))
			break;
		kv_list_add(out, item->string, value);
	}
	buf_release(&where);
	return ret;
}

static int declared(const struct job_yaml *s, const char *kind, const char *name, size_t len)
{
	size_t i;

	if (!strcmp(kind, "inputs")) {
		for (i = 0; i < s->inputs_nr; i++)
			if (strlen(s->inputs[i].name) == len && !strncmp(s->inputs[i].name, name, len))
				return 1;
	} else {
		for (i = 0; i < s->outputs_nr; i++)
			if (strlen(s->outputs[i].name) == len && !strncmp(s->outputs[i].name, name, len))
				return 1;
	}
	return 0;
}

/* Every ${{inputs.x}} / ${{outputs.y}} names a declared one: Azure would
 * otherwise fail the job only once it runs. */
static int check_command_refs(struct job_yaml *s)
{
	const cJSON *at = field(s, "command");
	const char *p = s->command, *end;

	while ((p = strstr(p, "${{"))) {
		const char *a, *b, *dot;

		if (!(end = strstr(p + 3, "}}")))
			return yaml_error_at(&s->doc, at, ERR_INPUT, "field 'command': '${{' without "
					     "its closing '}}'");
		for (a = p + 3; a < end && isspace((unsigned char)*a); a++)
			;
		for (b = end; b > a && isspace((unsigned char)b[-1]); b--)
			;
		dot = memchr(a, '.', (size_t)(b - a));
		if (!dot || !((dot - a == 6 && !strncmp(a, "inputs", 6)) ||
			      (dot - a == 7 && !strncmp(a, "outputs", 7))))
			return yaml_error_at(&s->doc, at, ERR_INPUT, "field 'command': '${{%.*s}}' is "
					     "not ${{inputs.<name>}} or ${{outputs.<name>}}",
					     (int)(b - a), a);
		if (!declared(s, dot - a == 6 ? "inputs" : "outputs", dot + 1, (size_t)(b - dot - 1)))
			return yaml_error_at(&s->doc, at, ERR_INPUT, "field 'command': ${{%.*s}} names "
					     "no declared %s", (int)(b - a), a,
					     dot - a == 6 ? "input" : "output");
		p = end + 2;
	}
	return 0;
}

/* ---- where and how it runs: resources, distribution, limits, queue, identity, services ---- */

/* One YAML name and the REST name it stands for. */
struct name_map {
	const char *yaml, *rest;
};

static const struct name_map job_tiers[] = {
	{ "null", "Null" }, { "spot", "Spot" }, { "basic", "Basic" },
	{ "standard", "Standard" }, { "premium", "Premium" }, { NULL, NULL },
};

static const struct name_map identity_types[] = {
	{ "aml_token", "AMLToken" }, { "user_identity", "UserIdentity" },
	{ "managed", "Managed" }, { "managed_identity", "Managed" }, { NULL, NULL },
};

static const struct name_map service_types[] = {
	{ "jupyter_lab", "JupyterLab" }, { "ssh", "SSH" }, { "tensor_board", "TensorBoard" },
	{ "vs_code", "VSCode" }, { "custom", "Custom" }, { NULL, NULL },
};

static const char *const resources_fields[] = {
	"instance_count", "instance_type", "shm_size", "docker_args", "properties", NULL,
};
static const char *const pytorch_fields[] = { "type", "process_count_per_instance", NULL };
static const char *const tensorflow_fields[] = {
	"type", "worker_count", "parameter_server_count", NULL,
};
static const char *const limits_fields[] = { "timeout", NULL };
static const char *const queue_fields[] = { "job_tier", NULL };
static const char *const identity_fields[] = {
	"type", "client_id", "object_id", "resource_id", NULL,
};
static const char *const service_fields[] = { "type", "port", "nodes", "properties", NULL };

/* `key` under the mapping `obj` (at `path`): NULL when absent, else a
 * string (ERR_YAML otherwise), not empty. */
static int sub_string(const struct job_yaml *s, const cJSON *obj, const char *path,
		      const char *key, const char **out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (!item)
		return 0;
	if (!cJSON_IsString(item))
		return yaml_error_at(&s->doc, item, ERR_YAML, "field '%s.%s' is %s, expected a string",
				     path, key, json_type_name(item));
	if (!*item->valuestring)
		return yaml_error_at(&s->doc, item, ERR_INPUT, "field '%s.%s' is empty", path, key);
	*out = item->valuestring;
	return 0;
}

/* `key` under `obj`: 0 left in `*out` when absent, else an integer from
 * `min` to `max`. */
static int sub_integer(const struct job_yaml *s, const cJSON *obj, const char *path,
		       const char *key, long min, long max, long *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	double v;

	*out = 0;
	if (!item)
		return 0;
	if (!cJSON_IsNumber(item))
		return yaml_error_at(&s->doc, item, ERR_YAML, "field '%s.%s' is %s, expected an "
				     "integer", path, key, json_type_name(item));
	v = item->valuedouble;
	if (!(v >= (double)min && v <= (double)max) || v != (double)(long)v) {
		const char *text = yaml_scalar_text(&s->doc, item);

		return yaml_error_at(&s->doc, item, ERR_INPUT, "field '%s.%s': %s is not an integer "
				     "from %ld to %ld", path, key, text ? text : "the value", min, max);
	}
	*out = (long)v;
	return 0;
}

/* `key` under `obj` as one of `names`: its REST spelling, NULL when absent. */
static int sub_enum(const struct job_yaml *s, const cJSON *obj, const char *path,
		    const char *key, const struct name_map *names, const char **out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	struct buf known = BUF_INIT;
	const struct name_map *n;
	int ret;

	*out = NULL;
	if (!item)
		return 0;
	for (n = names; cJSON_IsString(item) && n->yaml; n++)
		if (!strcmp(item->valuestring, n->yaml)) {
			*out = n->rest;
			return 0;
		}
	for (n = names; n->yaml; n++)
		buf_addf(&known, "%s%s", n == names ? "" : ", ", n->yaml);
	ret = yaml_error_at(&s->doc, item, cJSON_IsString(item) ? ERR_INPUT : ERR_YAML,
			    "field '%s.%s': use %s", path, key, known.data);
	buf_release(&known);
	return ret;
}

/* A top-level mapping `key`, NULL when absent or null, its keys checked. */
static int section(struct job_yaml *s, const char *key, const char *const *known,
		   const cJSON **out)
{
	int ret = io_map(s, key, out);

	if (ret || !*out || !known)
		return ret;
	return yaml_check_keys(&s->doc, *out, key, known, NULL);
}

static int check_shm_size(const struct job_yaml *s, const cJSON *r)
{
	const char *v = s->resources.shm_size, *p;

	if (!v)
		return 0;
	/* The spec's pattern, \d+[bBkKmMgG], and a size above zero. */
	for (p = v; isdigit((unsigned char)*p); p++)
		;
	if (p > v && strchr("bBkKmMgG", *p) && *p && !p[1] && strspn(v, "0") < (size_t)(p - v))
		return 0;
	return yaml_error_at(&s->doc, cJSON_GetObjectItemCaseSensitive(r, "shm_size"), ERR_INPUT,
			     "field 'resources.shm_size': '%s' is not <number><unit>, a number "
			     "above 0 and a unit of b, k, m or g (2g)", v);
}

static int check_resources(struct job_yaml *s)
{
	struct aml_job_resources *res = &s->resources;
	const cJSON *r, *props;
	int ret;

	if ((ret = section(s, "resources", resources_fields, &r)) || !r)
		return ret;
	if ((ret = sub_integer(s, r, "resources", "instance_count", 1, INT32_MAX, &res->instance_count)) ||
	    (ret = sub_string(s, r, "resources", "instance_type", &res->instance_type)) ||
	    (ret = sub_string(s, r, "resources", "shm_size", &res->shm_size)) ||
	    (ret = sub_string(s, r, "resources", "docker_args", &res->docker_args)) ||
	    (ret = check_shm_size(s, r)))
		return ret;
	props = cJSON_GetObjectItemCaseSensitive(r, "properties");
	if (props && !cJSON_IsNull(props) && !cJSON_IsObject(props))
		return yaml_error_at(&s->doc, props, ERR_YAML, "field 'resources.properties' is %s, "
				     "expected a mapping", json_type_name(props));
	res->properties = cJSON_IsObject(props) ? props : NULL;
	return 0;
}

static int check_distribution(struct job_yaml *s)
{
	struct aml_job_distribution *d = &s->distribution;
	const cJSON *m, *t;
	const char *type;
	int ret;

	if ((ret = section(s, "distribution", NULL, &m)) || !m)
		return ret;
	t = cJSON_GetObjectItemCaseSensitive(m, "type");
	if (!t)
		return yaml_error_at(&s->doc, m, ERR_INPUT, "field 'distribution.type': required "
				     "(pytorch, mpi or tensorflow)");
	type = cJSON_IsString(t) ? t->valuestring : "";
	if (!strcmp(type, "pytorch") || !strcmp(type, "mpi")) {
		d->type = !strcmp(type, "mpi") ? AML_DIST_MPI : AML_DIST_PYTORCH;
		if ((ret = yaml_check_keys(&s->doc, m, "distribution", pytorch_fields, NULL)))
			return ret;
		return sub_integer(s, m, "distribution", "process_count_per_instance", 1, INT32_MAX,
				   &d->process_count_per_instance);
	}
	if (strcmp(type, "tensorflow"))
		return yaml_error_at(&s->doc, t, ERR_INPUT, "field 'distribution.type': use pytorch, "
				     "mpi or tensorflow");
	d->type = AML_DIST_TENSORFLOW;
	if ((ret = yaml_check_keys(&s->doc, m, "distribution", tensorflow_fields, NULL)) ||
	    (ret = sub_integer(s, m, "distribution", "worker_count", 1, INT32_MAX, &d->worker_count)))
		return ret;
	return sub_integer(s, m, "distribution", "parameter_server_count", 0, INT32_MAX,
			   &d->parameter_server_count);
}

static int check_limits_and_queue(struct job_yaml *s)
{
	const cJSON *m;
	int ret;

	/* A timeout in seconds, as the CLI reads it; sent as an ISO 8601
	 * duration. Counts are the spec's int32; no tighter bound is Azure's. */
	if ((ret = section(s, "limits", limits_fields, &m)) ||
	    (m && (ret = sub_integer(s, m, "limits", "timeout", 1, INT32_MAX, &s->timeout_s))))
		return ret;
	if ((ret = section(s, "queue_settings", queue_fields, &m)) || !m)
		return ret;
	return sub_enum(s, m, "queue_settings", "job_tier", job_tiers, &s->job_tier);
}

static int is_guid(const char *v)
{
	size_t i;

	for (i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? v[i] != '-' : !isxdigit((unsigned char)v[i]))
			return 0;
	}
	return !v[36];
}

static int check_identity(struct job_yaml *s)
{
	struct aml_job_identity *id = &s->identity;
	static const char *const guids[] = { "client_id", "object_id" };
	const cJSON *m;
	size_t i;
	int ret;

	if ((ret = section(s, "identity", identity_fields, &m)) || !m)
		return ret;
	if (!cJSON_GetObjectItemCaseSensitive(m, "type"))
		return yaml_error_at(&s->doc, m, ERR_INPUT, "field 'identity.type': required "
				     "(aml_token, user_identity or managed)");
	if ((ret = sub_enum(s, m, "identity", "type", identity_types, &id->type)) ||
	    (ret = sub_string(s, m, "identity", "client_id", &id->client_id)) ||
	    (ret = sub_string(s, m, "identity", "object_id", &id->object_id)) ||
	    (ret = sub_string(s, m, "identity", "resource_id", &id->resource_id)))
		return ret;
	for (i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, guids[i]);

		if (v && strcmp(id->type, "Managed"))
			return yaml_error_at(&s->doc, v, ERR_INPUT, "field 'identity.%s': only a "
					     "managed identity names one", guids[i]);
		if (v && !is_guid(v->valuestring))
			return yaml_error_at(&s->doc, v, ERR_INPUT, "field 'identity.%s': '%s' is "
					     "not a GUID", guids[i], v->valuestring);
	}
	if (id->resource_id && strcmp(id->type, "Managed"))
		return yaml_error_at(&s->doc, cJSON_GetObjectItemCaseSensitive(m, "resource_id"),
				     ERR_INPUT, "field 'identity.resource_id': only a managed "
				     "identity names one");
	return 0;
}

static int check_service(struct job_yaml *s, const cJSON *item, struct aml_job_service *svc,
			 struct kv_list *props)
{
	struct buf where = BUF_INIT;
	const cJSON *nodes, *p, *kv;
	const char *value;
	int ret;

	buf_addf(&where, "services.%s", item->string);
	svc->name = item->string;
	if (!cJSON_IsObject(item)) {
		ret = yaml_error_at(&s->doc, item, ERR_YAML, "field '%s' is %s, expected a mapping",
				    where.data, json_type_name(item));
		goto done;
	}
	if ((ret = yaml_check_keys(&s->doc, item, where.data, service_fields, NULL)))
		goto done;
	if (!cJSON_GetObjectItemCaseSensitive(item, "type")) {
		ret = yaml_error_at(&s->doc, item, ERR_INPUT, "field '%s.type': required", where.data);
		goto done;
	}
	if ((ret = sub_enum(s, item, where.data, "type", service_types, &svc->type)) ||
	    (ret = sub_integer(s, item, where.data, "port", 1, 65535, &svc->port)))
		goto done;
	nodes = cJSON_GetObjectItemCaseSensitive(item, "nodes");
	if (nodes && (!cJSON_IsString(nodes) || strcmp(nodes->valuestring, "all"))) {
		ret = yaml_error_at(&s->doc, nodes, ERR_INPUT, "field '%s.nodes': only 'all' may be "
				    "given (absent: the leader node)", where.data);
		goto done;
	}
	svc->all_nodes = nodes != NULL;
	p = cJSON_GetObjectItemCaseSensitive(item, "properties");
	if (p && !cJSON_IsNull(p) && !cJSON_IsObject(p)) {
		ret = yaml_error_at(&s->doc, p, ERR_YAML, "field '%s.properties' is %s, expected a "
				    "mapping", where.data, json_type_name(p));
		goto done;
	}
	if (!cJSON_IsObject(p))
		goto done;
	cJSON_ArrayForEach(kv, p) {
		if ((ret = scalar_text(&s->doc, kv, where.data, &value)))
			goto done;
		kv_list_add(props, kv->string, value);
	}
done:
	buf_release(&where);
	return ret;
}

static int check_services(struct job_yaml *s)
{
	const cJSON *m, *item;
	size_t i, n;
	int ret;

	if ((ret = section(s, "services", NULL, &m)) || !m)
		return ret;
	n = (size_t)cJSON_GetArraySize(m);
	s->services = xcalloc(n + 1, sizeof(*s->services));
	s->service_properties = xcalloc(n + 1, sizeof(*s->service_properties));
	cJSON_ArrayForEach(item, m) {
		i = s->services_nr++;
		kv_list_init(&s->service_properties[i]);
		if ((ret = check_service(s, item, &s->services[i], &s->service_properties[i])))
			return ret;
	}
	/* The pairs settle once every property is added. */
	for (i = 0; i < s->services_nr; i++)
		if (s->service_properties[i].nr)
			s->services[i].properties = kv_list_pairs(&s->service_properties[i]);
	return 0;
}

static int check_compute_side(struct job_yaml *s)
{
	int ret;

	if ((ret = check_resources(s)) || (ret = check_distribution(s)) ||
	    (ret = check_limits_and_queue(s)) || (ret = check_identity(s)))
		return ret;
	return check_services(s);
}

static int check(struct job_yaml *s)
{
	const char *type = NULL;
	int ret;

	if (!cJSON_IsObject(s->doc.root))
		return yaml_error_at(&s->doc, s->doc.root, ERR_YAML, "a job YAML is a mapping of "
				     "fields, not %s", json_type_name(s->doc.root));
	if ((ret = yaml_check_keys(&s->doc, s->doc.root, NULL, known_fields, "a command job")) ||
	    (ret = string_field(s, "$schema", &type, 0)) || (ret = string_field(s, "type", &type, 0)))
		return ret;
	if (field(s, "type") && strcmp(type, "command"))
		return yaml_error_at(&s->doc, field(s, "type"), ERR_INPUT, "field 'type': '%s' jobs "
				     "are not submitted by this workflow; use command", type);
	if ((ret = string_field(s, "name", &s->name, 1)))
		return ret;
	if (s->name && aml_check_name(s->name, "job name"))
		return yaml_error_for_field(&s->doc, field(s, "name"), "name");
	if (!field(s, "command"))
		return yaml_error_at(&s->doc, s->doc.root, ERR_INPUT, "field 'command': required");
	if ((ret = string_field(s, "command", &s->command, 1)))
		return ret;
	if ((ret = string_field(s, "code", &s->code, 1)))
		return ret;
	if (s->code && !strncmp(s->code, "azureml:", strlen("azureml:")))
		return yaml_error_at(&s->doc, field(s, "code"), ERR_INPUT, "field 'code': a local "
				     "folder is expected; it is uploaded as a code snapshot");
	/* The snapshot is the repository's own code: a path from the root of
	 * the file system would upload the runner's files. */
	if (s->code && s->code[0] == '/')
		return yaml_error_at(&s->doc, field(s, "code"), ERR_INPUT, "field 'code': %s is an "
				     "absolute path; name a folder of the repository relative to "
				     "the job YAML", s->code);
	if ((ret = check_environment(s)) || (ret = check_compute(s)))
		return ret;
	if ((ret = string_field(s, "experiment_name", &s->experiment_name, 1)) ||
	    (ret = string_field(s, "display_name", &s->display_name, 0)) ||
	    (ret = string_field(s, "description", &s->description, 0)))
		return ret;
	if (s->experiment_name && aml_check_name(s->experiment_name, "experiment name"))
		return yaml_error_for_field(&s->doc, field(s, "experiment_name"), "experiment_name");
	if ((ret = check_io(s)) ||
	    (ret = scalar_map(s, "tags", &s->tags)) ||
	    (ret = scalar_map(s, "environment_variables", &s->environment_variables)) ||
	    (ret = scalar_map(s, "properties", &s->properties)) ||
	    (ret = check_compute_side(s)))
		return ret;
	return check_command_refs(s);
}

int job_yaml_parse(struct job_yaml *out, const char *text, size_t len, const char *name)
{
	int ret;

	job_yaml_release(out);
	out->yaml_path = xstrdup(name);
	if ((ret = yaml_load_string(&out->doc, text, len, name)) || (ret = check(out)))
		job_yaml_release(out);
	return ret;
}

/* The job YAML itself: a regular file (a folder or a FIFO named by the
 * input would fail late or block the run) inside the workspace. */
static int check_yaml_path(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return error_set(ERR_INPUT, "job YAML %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return error_set(ERR_INPUT, "job YAML %s is %s, not a regular file", path,
				 S_ISDIR(st.st_mode) ? "a folder" : S_ISFIFO(st.st_mode) ? "a FIFO"
				 : "a special file");
	if (!fs_in_workspace(path))
		return error_set(ERR_INPUT, "job YAML %s resolves outside the workspace %s", path,
				 fs_workspace());
	return 0;
}

int job_yaml_load(struct job_yaml *out, const char *path)
{
	struct buf text = BUF_INIT, dir = BUF_INIT;
	const char *slash;
	int ret;

	if ((ret = check_yaml_path(path)) || (ret = fs_read_file(&text, path, YAML_MAX_FILE)))
		goto done;
	if ((ret = job_yaml_parse(out, text.data, text.len, path)) || !out->code)
		goto done;
	if ((slash = strrchr(path, '/')))
		buf_addf(&dir, "%.*s/", (int)(slash - path), path);
	buf_addstr(&dir, out->code);
	fs_normalize(&dir);
	if (!fs_is_dir(dir.data))
		ret = yaml_error_at(&out->doc, field(out, "code"), ERR_INPUT, "field 'code': %s is "
				    "not a folder", dir.data);
	/* Resolved, links followed: "../.." and a link to /etc both land
	 * outside, and everything under the folder is uploaded. */
	else if (!fs_in_workspace(dir.data))
		ret = yaml_error_at(&out->doc, field(out, "code"), ERR_INPUT, "field 'code': %s "
				    "resolves outside the workspace %s or into its .git; the code "
				    "snapshot is taken from the repository only", out->code, fs_workspace());
	if (ret) {
		job_yaml_release(out);
		goto done;
	}
	out->code_dir = buf_detach(&dir, NULL);
done:
	buf_release(&text);
	buf_release(&dir);
	return ret;
}

void job_yaml_where(struct error_location *out, const struct job_yaml *spec, const char *key)
{
	const cJSON *item = spec->doc.root ? field(spec, key) : NULL;

	out->file = spec->yaml_path;
	out->line = out->column = 0;
	if (item)
		yaml_where(&spec->doc, item, &out->line, &out->column);
}

void job_yaml_release(struct job_yaml *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->inputs_nr; i++) {
		free(s->inputs[i].asset_name);
		free(s->inputs[i].asset_version);
	}
	free(s->inputs);
	free(s->outputs);
	kv_list_release(&s->tags);
	kv_list_release(&s->environment_variables);
	kv_list_release(&s->properties);
	for (i = 0; i < s->services_nr; i++)
		kv_list_release(&s->service_properties[i]);
	free(s->service_properties);
	free(s->services);
	free(s->env_name);
	free(s->env_version);
	free(s->compute);
	free(s->code_dir);
	free(s->yaml_path);
	yaml_doc_release(&s->doc);
	memset(s, 0, sizeof(*s));
}
