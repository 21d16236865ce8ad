#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "azure/aml_names.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "mlops/pipeline_yaml.h"
#include "core/banned.h"

static const char *const top_fields[] = {
	"$schema", "type", "name", "display_name", "description", "experiment_name", "tags",
	"settings", "inputs", "outputs", "jobs", NULL,
};
static const char *const settings_fields[] = {
	"default_compute", "default_datastore", "continue_on_step_failure", NULL,
};
static const char *const step_fields[] = {
	"type", "display_name", "description", "code", "command", "environment", "compute",
	"environment_variables", "inputs", "outputs", NULL,
};
static const char *const io_fields[] = { "type", "path", "mode", "description", NULL };

static const char *const input_modes[][2] = {
	{ "ro_mount", "ReadOnlyMount" }, { "rw_mount", "ReadWriteMount" },
	{ "download", "Download" }, { "direct", "Direct" },
	{ "eval_mount", "EvalMount" }, { "eval_download", "EvalDownload" },
};

/* ---- small readers, each error located at its node ---- */

static const cJSON *child(const cJSON *map, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(map, key);
}

/* A non-empty string field of `map` (absent: *out untouched); `where` names `map`. */
static int string_at(const struct yaml_doc *doc, const cJSON *map, const char *key,
		     const char *where, const char **out)
{
	const cJSON *item = child(map, key);

	if (!item)
		return 0;
	if (!cJSON_IsString(item))
		return yaml_error_at(doc, item, ERR_YAML, "field '%s%s%s' is %s, expected a string",
				     where ? where : "", where ? "." : "", key, json_type_name(item));
	if (!*item->valuestring)
		return yaml_error_at(doc, item, ERR_INPUT, "field '%s%s%s' is empty",
				     where ? where : "", where ? "." : "", key);
	*out = item->valuestring;
	return 0;
}

/* A mapping field of `map` (absent or null: NULL); `where` names `map`. */
static int map_at(const struct yaml_doc *doc, const cJSON *map, const char *key,
		  const char *where, const cJSON **out)
{
	const cJSON *item = child(map, key);

	*out = NULL;
	if (!item || cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsObject(item))
		return yaml_error_at(doc, item, ERR_YAML, "field '%s%s%s' is %s, expected a mapping",
				     where ? where : "", where ? "." : "", key, json_type_name(item));
	*out = item;
	return 0;
}

static int scalar_map_at(const struct yaml_doc *doc, const cJSON *map, const char *key,
			 const char *where, struct kv_list *out)
{
	const cJSON *m, *it;
	struct buf f = BUF_INIT;
	const char *v;
	int ret;

	if ((ret = map_at(doc, map, key, where, &m)) || !m)
		return ret;
	cJSON_ArrayForEach(it, m) {
		buf_reset(&f);
		buf_addf(&f, "%s%s%s.%s", where ? where : "", where ? "." : "", key, it->string);
		if ((ret = job_yaml_scalar(doc, it, f.data, &v)))
			break;
		kv_list_add(out, it->string, v);
	}
	buf_release(&f);
	return ret;
}

static int io_name(const struct yaml_doc *doc, const cJSON *item, const char *where)
{
	if (job_yaml_io_name_ok(item->string))
		return 0;
	return yaml_error_at(doc, item, ERR_INPUT, "field '%s': a name of an input or output is "
			     "letters, digits and '_', not starting with a digit", where);
}

/* A compute given as azureml:<name> or <name>, as an owned name. */
static int compute_at(const struct yaml_doc *doc, const cJSON *map, const char *key,
		      const char *where, char **out)
{
	const char *c = NULL;
	int ret;

	if ((ret = string_at(doc, map, key, where, &c)) || !c)
		return ret;
	if (!strncmp(c, "azureml:", strlen("azureml:")))
		c += strlen("azureml:");
	if (aml_check_name(c, "compute name"))
		return yaml_error_for_field(doc, child(map, key), key);
	*out = xstrdup(c);
	return 0;
}

/* ---- the pipeline's own inputs and outputs ---- */

static int input_mode(const struct yaml_doc *doc, const cJSON *obj, const char *where,
		      const char **out)
{
	const cJSON *m = child(obj, "mode");
	size_t i;

	if (!m)
		return 0;
	for (i = 0; cJSON_IsString(m) && i < sizeof(input_modes) / sizeof(*input_modes); i++)
		if (!strcmp(m->valuestring, input_modes[i][0])) {
			*out = input_modes[i][1];
			return 0;
		}
	return yaml_error_at(doc, m, ERR_INPUT, "field '%s.mode': use ro_mount, rw_mount, download, "
			     "direct, eval_mount or eval_download", where);
}

static int data_path(const struct yaml_doc *doc, struct job_input *in, const cJSON *item,
		     const char *where)
{
	const cJSON *p = child(item, "path");
	int ret;

	if ((ret = string_at(doc, item, "path", where, &in->path)))
		return ret;
	if (!in->path)
		return yaml_error_at(doc, item, ERR_INPUT, "field '%s.path': required", where);
	if (!strncmp(in->path, "azureml://", 10) || !strncmp(in->path, "https://", 8)) {
		in->path_kind = JOB_PATH_URI;
		return 0;
	}
	if (strncmp(in->path, "azureml:", 8))
		return yaml_error_at(doc, p, ERR_INPUT, "field '%s.path': '%s' is a local path; this "
				     "workflow uploads no input data: register it as a data asset "
				     "and use azureml:<name>:<version>", where, in->path);
	in->path_kind = JOB_PATH_ASSET;
	if (job_yaml_asset_ref(&in->asset_name, &in->asset_version, in->path + 8, "data asset"))
		return yaml_error_for_field(doc, p, "path");
	return 0;
}

static int parent_input(const struct yaml_doc *doc, struct job_input *in, const cJSON *item)
{
	struct buf where = BUF_INIT;
	const char *type = NULL;
	int ret;

	in->name = item->string;
	buf_addf(&where, "inputs.%s", item->string);
	if ((ret = io_name(doc, item, where.data)))
		goto done;
	if (!cJSON_IsObject(item)) {
		in->type = AML_INPUT_LITERAL;
		ret = cJSON_IsNull(item) ? yaml_error_at(doc, item, ERR_INPUT, "field '%s': has no "
							 "value", where.data)
					 : job_yaml_scalar(doc, item, where.data, &in->value);
		goto done;
	}
	if ((ret = yaml_check_keys(doc, item, where.data, io_fields, NULL)) ||
	    (ret = string_at(doc, item, "type", where.data, &type)))
		goto done;
	if (type && !strcmp(type, "uri_file"))
		in->type = AML_INPUT_URI_FILE;
	else if (type && !strcmp(type, "uri_folder"))
		in->type = AML_INPUT_URI_FOLDER;
	else {
		ret = yaml_error_at(doc, type ? child(item, "type") : item, ERR_INPUT,
				    "field '%s.type': use uri_file or uri_folder", where.data);
		goto done;
	}
	if (!(ret = data_path(doc, in, item, where.data)))
		ret = input_mode(doc, item, where.data, &in->mode);
done:
	buf_release(&where);
	return ret;
}

static int parent_output(const struct yaml_doc *doc, struct job_output *o, const cJSON *item)
{
	struct buf where = BUF_INIT;
	const char *type = "uri_folder";
	int ret;

	o->name = item->string;
	buf_addf(&where, "outputs.%s", item->string);
	if ((ret = io_name(doc, item, where.data)) || cJSON_IsNull(item))
		goto done;
	if (!cJSON_IsObject(item)) {
		ret = yaml_error_at(doc, item, ERR_YAML, "field '%s' is %s, expected a mapping such as "
				    "{type: uri_folder}", where.data, json_type_name(item));
		goto done;
	}
	if ((ret = yaml_check_keys(doc, item, where.data, io_fields, NULL)) ||
	    (ret = string_at(doc, item, "type", where.data, &type)) ||
	    (ret = string_at(doc, item, "path", where.data, &o->path)))
		goto done;
	if (strcmp(type, "uri_folder"))
		ret = yaml_error_at(doc, child(item, "type"), ERR_INPUT, "field '%s.type': only "
				    "uri_folder outputs are submitted", where.data);
	else if (child(item, "mode"))
		ret = yaml_error_at(doc, child(item, "mode"), ERR_INPUT, "field '%s.mode': a "
				    "pipeline output takes the mode of the step that writes it",
				    where.data);
done:
	buf_release(&where);
	return ret;
}

static int parent_io(struct pipeline_yaml *p)
{
	struct job_yaml *s = &p->parent;
	const cJSON *ins, *outs, *it;
	int ret;

	if ((ret = map_at(&p->doc, p->doc.root, "inputs", NULL, &ins)) ||
	    (ret = map_at(&p->doc, p->doc.root, "outputs", NULL, &outs)))
		return ret;
	s->inputs = xcalloc((size_t)cJSON_GetArraySize(ins) + 1, sizeof(*s->inputs));
	s->outputs = xcalloc((size_t)cJSON_GetArraySize(outs) + 1, sizeof(*s->outputs));
	cJSON_ArrayForEach(it, ins) {
		if ((ret = parent_input(&p->doc, &s->inputs[s->inputs_nr++], it)))
			return ret;
	}
	cJSON_ArrayForEach(it, outs) {
		if ((ret = parent_output(&p->doc, &s->outputs[s->outputs_nr++], it)))
			return ret;
	}
	return scalar_map_at(&p->doc, p->doc.root, "tags", NULL, &s->tags);
}

/* ---- the steps ---- */

static int step_environment(const struct yaml_doc *doc, struct job_yaml *s, const cJSON *map,
			    const char *where)
{
	const cJSON *item = child(map, "environment");
	const char *ref = NULL;
	int ret;

	if (!item)
		return yaml_error_at(doc, map, ERR_INPUT, "field '%s.environment': required "
				     "(azureml:<name>:<version>)", where);
	if (cJSON_IsObject(item))
		return yaml_error_at(doc, item, ERR_INPUT, "field '%s.environment': inline "
				     "environments are not submitted by this workflow; register it "
				     "(environment-cd) and use azureml:<name>:<version>", where);
	if ((ret = string_at(doc, map, "environment", where, &ref)))
		return ret;
	s->environment = ref;
	if (!strncmp(ref, "azureml://registries/", strlen("azureml://registries/"))) {
		s->env_kind = JOB_ENV_REGISTRY;
		return 0;
	}
	if (strncmp(ref, "azureml:", 8) || !strncmp(ref, "azureml://", 10))
		return yaml_error_at(doc, item, ERR_INPUT, "field '%s.environment': '%s' is not "
				     "azureml:<name>:<version>, azureml:<name>@latest or "
				     "azureml://registries/...", where, ref);
	if (job_yaml_asset_ref(&s->env_name, &s->env_version, ref + 8, "environment"))
		return yaml_error_for_field(doc, item, "environment");
	s->env_kind = strcmp(s->env_version, "latest") ? JOB_ENV_VERSION : JOB_ENV_LATEST;
	return 0;
}

/* "${{parent.<rest>}}" with blanks allowed inside the braces: `rest`, or
 * NULL when `text` is no such binding. */
static const char *binding_body(const char *text, size_t *len)
{
	const char *a, *b;

	if (strncmp(text, "${{", 3) || !(b = strstr(text, "}}")) || b[2])
		return NULL;
	for (a = text + 3; isspace((unsigned char)*a); a++)
		;
	while (b > a && isspace((unsigned char)b[-1]))
		b--;
	if ((size_t)(b - a) < 7 || strncmp(a, "parent.", 7))
		return NULL;
	*len = (size_t)(b - a) - 7;
	return a + 7;
}

/* The step input `in` (its value already read) as a literal or binding. */
static int step_binding(const struct yaml_doc *doc, struct pipeline_input *in, const cJSON *item,
			const char *where)
{
	size_t len;
	const char *b = binding_body(in->value, &len), *dot;

	if (!b) {
		if (strstr(in->value, "${{"))
			return yaml_error_at(doc, item, ERR_INPUT, "field '%s': '%s' is not "
					     "${{parent.inputs.<name>}} or "
					     "${{parent.jobs.<step>.outputs.<name>}}", where, in->value);
		in->bind = PIPELINE_LITERAL;
		return 0;
	}
	if (len > 7 && !strncmp(b, "inputs.", 7)) {
		in->bind = PIPELINE_PARENT_INPUT;
		in->ref_name = xstrndup(b + 7, len - 7);
		return 0;
	}
	if (len > 5 && !strncmp(b, "jobs.", 5) && (dot = memchr(b + 5, '.', len - 5)) &&
	    (size_t)(b + len - dot) > 9 && !strncmp(dot, ".outputs.", 9)) {
		in->bind = PIPELINE_STEP_OUTPUT;
		in->ref_step = xstrndup(b + 5, (size_t)(dot - b - 5));
		in->ref_name = xstrndup(dot + 9, (size_t)(b + len - dot - 9));
		return 0;
	}
	return yaml_error_at(doc, item, ERR_INPUT, "field '%s': a step input binds "
			     "${{parent.inputs.<name>}} or ${{parent.jobs.<step>.outputs.<name>}}",
			     where);
}

static int step_inputs(struct pipeline_yaml *p, struct pipeline_step *st, const cJSON *map,
		       const char *where)
{
	const cJSON *ins, *it;
	struct buf f = BUF_INIT;
	int ret;

	if ((ret = map_at(&p->doc, map, "inputs", where, &ins)))
		return ret;
	st->inputs = xcalloc((size_t)cJSON_GetArraySize(ins) + 1, sizeof(*st->inputs));
	st->spec.inputs = xcalloc((size_t)cJSON_GetArraySize(ins) + 1, sizeof(*st->spec.inputs));
	cJSON_ArrayForEach(it, ins) {
		struct pipeline_input *in = &st->inputs[st->inputs_nr++];

		buf_reset(&f);
		buf_addf(&f, "%s.inputs.%s", where, it->string);
		in->name = it->string;
		if ((ret = io_name(&p->doc, it, f.data)) ||
		    (ret = job_yaml_scalar(&p->doc, it, f.data, &in->value)) ||
		    (ret = step_binding(&p->doc, in, it, f.data)))
			break;
		if (in->bind == PIPELINE_LITERAL) {
			struct job_input *lit = &st->spec.inputs[st->spec.inputs_nr++];

			lit->name = in->name;
			lit->type = AML_INPUT_LITERAL;
			lit->value = in->value;
		}
	}
	buf_release(&f);
	return ret;
}

static int step_output(const struct yaml_doc *doc, struct pipeline_output *o,
		       struct job_output *spec_out, const cJSON *item, const char *where)
{
	const char *type = "uri_folder", *b;
	size_t len;
	int ret;

	o->name = spec_out->name = item->string;
	if ((ret = io_name(doc, item, where)) || cJSON_IsNull(item))
		return ret;
	if (cJSON_IsString(item)) {
		b = binding_body(item->valuestring, &len);
		if (!b || len <= 8 || strncmp(b, "outputs.", 8))
			return yaml_error_at(doc, item, ERR_INPUT, "field '%s': a step output binds "
					     "${{parent.outputs.<name>}}", where);
		o->binding = item->valuestring;
		o->parent_output = xstrndup(b + 8, len - 8);
		return 0;
	}
	if (!cJSON_IsObject(item))
		return yaml_error_at(doc, item, ERR_YAML, "field '%s' is %s, expected a mapping such "
				     "as {type: uri_folder} or ${{parent.outputs.<name>}}", where,
				     json_type_name(item));
	if ((ret = yaml_check_keys(doc, item, where, io_fields, NULL)) ||
	    (ret = string_at(doc, item, "type", where, &type)))
		return ret;
	if (strcmp(type, "uri_folder"))
		return yaml_error_at(doc, child(item, "type"), ERR_INPUT, "field '%s.type': only "
				     "uri_folder outputs are submitted", where);
	return 0;
}

static int step_outputs(struct pipeline_yaml *p, struct pipeline_step *st, const cJSON *map,
			const char *where)
{
	const cJSON *outs, *it;
	struct buf f = BUF_INIT;
	int ret;

	if ((ret = map_at(&p->doc, map, "outputs", where, &outs)))
		return ret;
	st->outputs = xcalloc((size_t)cJSON_GetArraySize(outs) + 1, sizeof(*st->outputs));
	st->spec.outputs = xcalloc((size_t)cJSON_GetArraySize(outs) + 1, sizeof(*st->spec.outputs));
	cJSON_ArrayForEach(it, outs) {
		buf_reset(&f);
		buf_addf(&f, "%s.outputs.%s", where, it->string);
		if ((ret = step_output(&p->doc, &st->outputs[st->outputs_nr],
				       &st->spec.outputs[st->spec.outputs_nr], it, f.data)))
			break;
		st->outputs_nr++;
		st->spec.outputs_nr++;
	}
	buf_release(&f);
	return ret;
}

static int has_io(const struct pipeline_step *st, int output, const char *name, size_t len)
{
	size_t i, n = output ? st->outputs_nr : st->inputs_nr;

	for (i = 0; i < n; i++) {
		const char *have = output ? st->outputs[i].name : st->inputs[i].name;

		if (strlen(have) == len && !strncmp(have, name, len))
			return 1;
	}
	return 0;
}

/* Every ${{inputs.x}} / ${{outputs.y}} of the command names one of the
 * step's: Azure would otherwise fail the step only once it runs. */
static int command_refs(const struct yaml_doc *doc, const struct pipeline_step *st,
			const cJSON *at, const char *where)
{
	const char *p = st->spec.command, *end, *a, *b, *dot;

	while ((p = strstr(p, "${{"))) {
		if (!(end = strstr(p + 3, "}}")))
			return yaml_error_at(doc, at, ERR_INPUT, "field '%s.command': '${{' without "
					     "its closing '}}'", where);
		for (a = p + 3; a < end && isspace((unsigned char)*a); a++)
			;
		for (b = end; b > a && isspace((unsigned char)b[-1]); b--)
			;
		dot = memchr(a, '.', (size_t)(b - a));
		if (!dot || !((dot - a == 6 && !strncmp(a, "inputs", 6)) ||
			      (dot - a == 7 && !strncmp(a, "outputs", 7))))
			return yaml_error_at(doc, at, ERR_INPUT, "field '%s.command': '${{%.*s}}' is "
					     "not ${{inputs.<name>}} or ${{outputs.<name>}}", where,
					     (int)(b - a), a);
		if (!has_io(st, dot - a == 7, dot + 1, (size_t)(b - dot - 1)))
			return yaml_error_at(doc, at, ERR_INPUT, "field '%s.command': ${{%.*s}} names "
					     "none of the step's %s", where, (int)(b - a), a,
					     dot - a == 7 ? "outputs" : "inputs");
		p = end + 2;
	}
	return 0;
}

static int read_step(struct pipeline_yaml *p, struct pipeline_step *st, const cJSON *node)
{
	struct job_yaml *s = &st->spec;
	struct buf where = BUF_INIT;
	const char *type = "command";
	int ret;

	st->name = node->string;
	s->yaml_path = xstrdup(p->yaml_path);
	buf_addf(&where, "jobs.%s", node->string);
	if (aml_check_name(node->string, "step name")) {
		ret = yaml_error_for_field(&p->doc, node, where.data);
		goto done;
	}
	if (!cJSON_IsObject(node)) {
		ret = yaml_error_at(&p->doc, node, ERR_YAML, "field '%s' is %s, expected a command "
				    "step", where.data, json_type_name(node));
		goto done;
	}
	if ((ret = yaml_check_keys(&p->doc, node, where.data, step_fields, "a pipeline step")) ||
	    (ret = string_at(&p->doc, node, "type", where.data, &type)))
		goto done;
	if (strcmp(type, "command")) {
		ret = yaml_error_at(&p->doc, child(node, "type"), ERR_INPUT, "field '%s.type': "
				    "'%s' steps are not submitted by this workflow; use command",
				    where.data, type);
		goto done;
	}
	if ((ret = string_at(&p->doc, node, "command", where.data, &s->command)) ||
	    (ret = string_at(&p->doc, node, "code", where.data, &s->code)) ||
	    (ret = string_at(&p->doc, node, "display_name", where.data, &s->display_name)) ||
	    (ret = string_at(&p->doc, node, "description", where.data, &s->description)))
		goto done;
	if (!s->command) {
		ret = yaml_error_at(&p->doc, node, ERR_INPUT, "field '%s.command': required", where.data);
		goto done;
	}
	if (s->code && (s->code[0] == '/' || !strncmp(s->code, "azureml:", 8))) {
		ret = yaml_error_at(&p->doc, child(node, "code"), ERR_INPUT, "field '%s.code': name "
				    "a folder of the repository relative to the pipeline YAML; it is "
				    "uploaded as a code snapshot", where.data);
		goto done;
	}
	if (!s->display_name)
		s->display_name = st->name;
	if ((ret = step_environment(&p->doc, s, node, where.data)) ||
	    (ret = compute_at(&p->doc, node, "compute", where.data, &s->compute)) ||
	    (ret = scalar_map_at(&p->doc, node, "environment_variables", where.data,
				 &s->environment_variables)) ||
	    (ret = step_inputs(p, st, node, where.data)) ||
	    (ret = step_outputs(p, st, node, where.data)))
		goto done;
	ret = command_refs(&p->doc, st, child(node, "command"), where.data);
done:
	buf_release(&where);
	return ret;
}

/* ---- bindings and order ---- */

static int parent_has_input(const struct pipeline_yaml *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->parent.inputs_nr; i++)
		if (!strcmp(p->parent.inputs[i].name, name))
			return 1;
	return 0;
}

static int parent_output_index(const struct pipeline_yaml *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->parent.outputs_nr; i++)
		if (!strcmp(p->parent.outputs[i].name, name))
			return (int)i;
	return -1;
}

const struct pipeline_step *pipeline_yaml_step(const struct pipeline_yaml *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->steps_nr; i++)
		if (!strcmp(p->steps[i].name, name))
			return &p->steps[i];
	return NULL;
}

/* Where the input or output `name` of step `step` stands, for messages. */
static const cJSON *io_node(const struct pipeline_yaml *p, const char *step, const char *kind,
			    const char *name)
{
	return child(child(child(child(p->doc.root, "jobs"), step), kind), name);
}

static int check_input_binding(const struct pipeline_yaml *p, const struct pipeline_step *st,
			       const struct pipeline_input *in)
{
	const struct pipeline_step *from;

	if (in->bind == PIPELINE_PARENT_INPUT && !parent_has_input(p, in->ref_name))
		return yaml_error_at(&p->doc, io_node(p, st->name, "inputs", in->name), ERR_INPUT,
				     "field 'jobs.%s.inputs.%s': the pipeline has no input %s",
				     st->name, in->name, in->ref_name);
	if (in->bind != PIPELINE_STEP_OUTPUT)
		return 0;
	from = pipeline_yaml_step(p, in->ref_step);
	if (!from || from == st || !has_io(from, 1, in->ref_name, strlen(in->ref_name)))
		return yaml_error_at(&p->doc, io_node(p, st->name, "inputs", in->name), ERR_INPUT,
				     "field 'jobs.%s.inputs.%s': %s names no output of another step",
				     st->name, in->name, in->value);
	return 0;
}

/* Each pipeline output is written by exactly one step. */
static int check_outputs(const struct pipeline_yaml *p)
{
	size_t i, j, k;
	int n;

	for (i = 0; i < p->steps_nr; i++)
		for (j = 0; j < p->steps[i].outputs_nr; j++) {
			const char *po = p->steps[i].outputs[j].parent_output;

			if (po && parent_output_index(p, po) < 0)
				return yaml_error_at(&p->doc, io_node(p, p->steps[i].name, "outputs",
								      p->steps[i].outputs[j].name),
						     ERR_INPUT, "field 'jobs.%s.outputs.%s': the pipeline "
						     "has no output %s", p->steps[i].name,
						     p->steps[i].outputs[j].name, po);
		}
	for (k = 0; k < p->parent.outputs_nr; k++) {
		for (n = 0, i = 0; i < p->steps_nr; i++)
			for (j = 0; j < p->steps[i].outputs_nr; j++) {
				const char *po = p->steps[i].outputs[j].parent_output;

				n += po && !strcmp(po, p->parent.outputs[k].name);
			}
		if (n != 1)
			return yaml_error_at(&p->doc, child(child(p->doc.root, "outputs"),
							    p->parent.outputs[k].name), ERR_INPUT,
					     "field 'outputs.%s': %s step binds it with "
					     "${{parent.outputs.%s}}; exactly one must",
					     p->parent.outputs[k].name, n ? "more than one" : "no",
					     p->parent.outputs[k].name);
	}
	return 0;
}

/* 1 when every step `st` reads from is among the first `done` of `order`. */
static int ready(const struct pipeline_step *st, struct pipeline_step *const *order, size_t done)
{
	size_t i, j;

	for (i = 0; i < st->inputs_nr; i++) {
		if (st->inputs[i].bind != PIPELINE_STEP_OUTPUT)
			continue;
		for (j = 0; j < done && strcmp(order[j]->name, st->inputs[i].ref_step); j++)
			;
		if (j == done)
			return 0;
	}
	return 1;
}

/* Reorders the steps so that each comes after those it reads from. */
static int sort_steps(struct pipeline_yaml *p)
{
	struct pipeline_step **order = xcalloc(p->steps_nr + 1, sizeof(*order));
	struct pipeline_step *sorted;
	size_t done = 0, i, j;
	int progressed = 1;

	while (done < p->steps_nr && progressed)
		for (progressed = 0, i = 0; i < p->steps_nr; i++) {
			for (j = 0; j < done && order[j] != &p->steps[i]; j++)
				;
			if (j == done && ready(&p->steps[i], order, done)) {
				order[done++] = &p->steps[i];
				progressed = 1;
			}
		}
	if (done < p->steps_nr) {
		free(order);
		return yaml_error_at(&p->doc, child(p->doc.root, "jobs"), ERR_INPUT, "field 'jobs': "
				     "the steps bind each other's outputs in a cycle");
	}
	sorted = xcalloc(p->steps_nr + 1, sizeof(*sorted));
	for (i = 0; i < p->steps_nr; i++)
		sorted[i] = *order[i];
	free(p->steps);
	free(order);
	p->steps = sorted;
	return 0;
}

static int check_bindings(struct pipeline_yaml *p)
{
	size_t i, j;
	int ret;

	for (i = 0; i < p->steps_nr; i++)
		for (j = 0; j < p->steps[i].inputs_nr; j++)
			if ((ret = check_input_binding(p, &p->steps[i], &p->steps[i].inputs[j])))
				return ret;
	if ((ret = check_outputs(p)))
		return ret;
	return sort_steps(p);
}

/* ---- the whole file ---- */

static int read_settings(struct pipeline_yaml *p)
{
	const cJSON *set, *cont;
	const char *ds = NULL;
	int ret;

	if ((ret = map_at(&p->doc, p->doc.root, "settings", NULL, &set)) || !set)
		return ret;
	if ((ret = yaml_check_keys(&p->doc, set, "settings", settings_fields, NULL)) ||
	    (ret = compute_at(&p->doc, set, "default_compute", "settings", &p->default_compute)) ||
	    (ret = string_at(&p->doc, set, "default_datastore", "settings", &ds)))
		return ret;
	/* The steps run one after the other and the first failure ends the
	 * pipeline: that is what is followed and reported. */
	cont = child(set, "continue_on_step_failure");
	if (cont && !cJSON_IsFalse(cont))
		return yaml_error_at(&p->doc, cont, ERR_INPUT, "field 'settings.continue_on_step_"
				     "failure': only false is supported");
	return 0;
}

/* The last step read must not share its display name with an earlier one:
 * the pipeline's child jobs are matched to their steps by it. */
static int display_name_unique(struct pipeline_yaml *p, const cJSON *node)
{
	const struct pipeline_step *last = &p->steps[p->steps_nr - 1];
	const cJSON *at = child(node, "display_name");
	size_t i;

	for (i = 0; i + 1 < p->steps_nr; i++)
		if (!strcmp(p->steps[i].spec.display_name, last->spec.display_name))
			return yaml_error_at(&p->doc, at ? at : node, ERR_INPUT,
					     "field 'jobs.%s.display_name': step %s has the display "
					     "name '%s' already; each step's must differ (its job is "
					     "found by it)", last->name, p->steps[i].name,
					     last->spec.display_name);
	return 0;
}

static int read_steps(struct pipeline_yaml *p)
{
	const cJSON *jobs, *it;
	int ret;

	if ((ret = map_at(&p->doc, p->doc.root, "jobs", NULL, &jobs)))
		return ret;
	if (!jobs || !cJSON_GetArraySize(jobs))
		return yaml_error_at(&p->doc, jobs ? jobs : p->doc.root, ERR_INPUT,
				     "field 'jobs': required, at least one step");
	p->steps = xcalloc((size_t)cJSON_GetArraySize(jobs) + 1, sizeof(*p->steps));
	cJSON_ArrayForEach(it, jobs) {
		p->steps[p->steps_nr].spec = (struct job_yaml)JOB_YAML_INIT;
		if ((ret = read_step(p, &p->steps[p->steps_nr++], it)) ||
		    (ret = display_name_unique(p, it)))
			return ret;
	}
	return 0;
}

/* The pipeline's inputs are resolved by the command job request builder,
 * which wants an environment: the first step's stands in. */
static void parent_environment(struct pipeline_yaml *p)
{
	const struct job_yaml *first = &p->steps[0].spec;

	p->parent.yaml_path = xstrdup(p->yaml_path);
	p->parent.environment = first->environment;
	p->parent.env_kind = first->env_kind;
	p->parent.env_name = first->env_name ? xstrdup(first->env_name) : NULL;
	p->parent.env_version = first->env_version ? xstrdup(first->env_version) : NULL;
	p->parent.command = first->command;
	p->parent.display_name = p->display_name;
	p->parent.description = p->description;
	p->parent.experiment_name = p->experiment_name;
}

static int check(struct pipeline_yaml *p)
{
	const char *type = NULL, *schema = NULL;
	int ret;

	if (!cJSON_IsObject(p->doc.root))
		return yaml_error_at(&p->doc, p->doc.root, ERR_YAML, "a pipeline YAML is a mapping "
				     "of fields, not %s", json_type_name(p->doc.root));
	if ((ret = string_at(&p->doc, p->doc.root, "type", NULL, &type)))
		return ret;
	if (!type || strcmp(type, "pipeline"))
		return yaml_error_at(&p->doc, type ? child(p->doc.root, "type") : p->doc.root,
				     ERR_INPUT, "field 'type': pipeline expected");
	if ((ret = yaml_check_keys(&p->doc, p->doc.root, NULL, top_fields, "a pipeline job")) ||
	    (ret = string_at(&p->doc, p->doc.root, "$schema", NULL, &schema)))
		return ret;
	if ((ret = string_at(&p->doc, p->doc.root, "name", NULL, &p->name)) ||
	    (ret = string_at(&p->doc, p->doc.root, "experiment_name", NULL, &p->experiment_name)) ||
	    (ret = string_at(&p->doc, p->doc.root, "display_name", NULL, &p->display_name)) ||
	    (ret = string_at(&p->doc, p->doc.root, "description", NULL, &p->description)))
		return ret;
	if (p->name && aml_check_name(p->name, "job name"))
		return yaml_error_for_field(&p->doc, child(p->doc.root, "name"), "name");
	if (p->experiment_name && aml_check_name(p->experiment_name, "experiment name"))
		return yaml_error_for_field(&p->doc, child(p->doc.root, "experiment_name"),
					    "experiment_name");
	if ((ret = read_settings(p)) || (ret = parent_io(p)) || (ret = read_steps(p)) ||
	    (ret = check_bindings(p)))
		return ret;
	parent_environment(p);
	return 0;
}

int pipeline_yaml_parse(struct pipeline_yaml *out, const char *text, size_t len,
			const char *name)
{
	int ret;

	pipeline_yaml_release(out);
	out->yaml_path = xstrdup(name);
	if ((ret = yaml_load_string(&out->doc, text, len, name)) || (ret = check(out)))
		pipeline_yaml_release(out);
	return ret;
}

int pipeline_yaml_is_pipeline(const char *path)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	const cJSON *type;
	int is = 0;

	/* A file that does not load, or that is not to be read at all, is the
	 * command job reader's to report. */
	if (fs_is_file(path) && fs_in_workspace(path) && !yaml_load_file(&doc, path)) {
		type = cJSON_GetObjectItemCaseSensitive(doc.root, "type");
		is = cJSON_IsString(type) && !strcmp(type->valuestring, "pipeline");
	} else {
		error_clear();
	}
	yaml_doc_release(&doc);
	return is;
}

/* A step's code folder against the YAML's folder, inside the workspace. */
static int resolve_code(struct pipeline_yaml *p, struct pipeline_step *st, const char *path)
{
	const cJSON *at = child(child(child(p->doc.root, "jobs"), st->name), "code");
	struct buf dir = BUF_INIT;
	const char *slash = strrchr(path, '/');
	int ret = 0;

	if (slash)
		buf_addf(&dir, "%.*s/", (int)(slash - path), path);
	buf_addstr(&dir, st->spec.code);
	fs_normalize(&dir);
	if (!fs_is_dir(dir.data))
		ret = yaml_error_at(&p->doc, at, ERR_INPUT, "field 'jobs.%s.code': %s is not a "
				    "folder", st->name, dir.data);
	else if (!fs_in_workspace(dir.data))
		ret = yaml_error_at(&p->doc, at, ERR_INPUT, "field 'jobs.%s.code': %s resolves "
				    "outside the workspace %s or into its .git; the code snapshot "
				    "is taken from the repository only", st->name, st->spec.code,
				    fs_workspace());
	else
		st->spec.code_dir = buf_detach(&dir, NULL);
	buf_release(&dir);
	return ret;
}

int pipeline_yaml_load(struct pipeline_yaml *out, const char *path)
{
	struct buf text = BUF_INIT;
	struct stat st;
	size_t i;
	int ret;

	if (stat(path, &st))
		ret = error_set(ERR_INPUT, "pipeline YAML %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		ret = error_set(ERR_INPUT, "pipeline YAML %s is not a regular file", path);
	else if (!fs_in_workspace(path))
		ret = error_set(ERR_INPUT, "pipeline YAML %s resolves outside the workspace %s", path,
				fs_workspace());
	else if (!(ret = fs_read_file(&text, path, YAML_MAX_FILE)))
		ret = pipeline_yaml_parse(out, text.data, text.len, path);
	for (i = 0; !ret && i < out->steps_nr; i++)
		if (out->steps[i].spec.code)
			ret = resolve_code(out, &out->steps[i], path);
	if (ret)
		pipeline_yaml_release(out);
	buf_release(&text);
	return ret;
}

static void release_step(struct pipeline_step *st)
{
	size_t i;

	for (i = 0; i < st->inputs_nr; i++) {
		free(st->inputs[i].ref_step);
		free(st->inputs[i].ref_name);
	}
	for (i = 0; i < st->outputs_nr; i++)
		free(st->outputs[i].parent_output);
	free(st->inputs);
	free(st->outputs);
	job_yaml_release(&st->spec);
}

void pipeline_yaml_release(struct pipeline_yaml *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; p->steps && i < p->steps_nr; i++)
		release_step(&p->steps[i]);
	/* read_steps counts a step before reading it: a failed one is released too. */
	free(p->steps);
	job_yaml_release(&p->parent);
	free(p->default_compute);
	free(p->yaml_path);
	yaml_doc_release(&p->doc);
	memset(p, 0, sizeof(*p));
}
