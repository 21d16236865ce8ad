#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "azure/arm_deployment.h"
#include "mlops/templates.h"
#include "core/banned.h"

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Loads a JSON file strictly (json_parse_strict): errors give file, line,
 * column and field. */
static int templates_load_json(cJSON **out, const char *path)
{
	struct buf text = BUF_INIT;
	int ret;

	*out = NULL;
	/* Strictly: a key given twice or a second document would deploy
	 * something other than what was reviewed. */
	if (!(ret = fs_read_file(&text, path, TEMPLATE_MAX_FILE)))
		ret = json_parse_strict(out, text.data, text.len, path, path);
	buf_release(&text);
	return ret;
}

static int cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every match of every pattern, parameter files left out, sorted, unique. */
static int expand(char ***paths_out, size_t *nr_out, const char *base,
		  const char *const *patterns)
{
	const char *const *pat;
	char **paths = NULL;
	size_t nr = 0, i, j;
	int ret = 0;

	for (pat = patterns; *pat && !ret; pat++) {
		struct buf full = BUF_INIT;
		glob_t g;
		int rc;

		if ((*pat)[0] == '/' || !strcmp(base, "."))
			buf_addstr(&full, *pat);
		else
			buf_addf(&full, "%s/%s", base, *pat);
		rc = glob(full.data, 0, NULL, &g);
		if (rc == GLOB_NOMATCH)
			ret = error_set(ERR_INPUT, "Input templates: '%s' matches no file", *pat);
		else if (rc)
			ret = error_set(ERR_IO, "Input templates: cannot expand '%s'", *pat);
		for (i = 0; !rc && i < g.gl_pathc; i++) {
			if (has_suffix(g.gl_pathv[i], ".parameters.json") || !fs_is_file(g.gl_pathv[i]))
				continue;
			paths = xrealloc(paths, (nr + 1) * sizeof(*paths));
			paths[nr++] = xstrdup(g.gl_pathv[i]);
		}
		if (!rc)
			globfree(&g);
		buf_release(&full);
	}
	if (nr)
		qsort(paths, nr, sizeof(*paths), cmp_paths);
	for (i = j = 0; i < nr; i++) {
		if (j && !strcmp(paths[j - 1], paths[i]))
			free(paths[i]);
		else
			paths[j++] = paths[i];
	}
	*paths_out = paths;
	*nr_out = j;
	return ret;
}

/* A template or parameters file is repository content: one that leads out
 * of the workspace (a link to a runner file) is not opened, since its text
 * would go to ARM or into a parse error's excerpt. */
static int check_in_workspace(const char *path)
{
	if (fs_in_workspace(path))
		return 0;
	return error_set_at(ERR_INPUT, path, 0, 0, "%s: outside the workspace (a symbolic link "
			    "counts where it leads); it is not read", path);
}

static int load_one(struct arm_template *t, const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct buf params = BUF_INIT;
	cJSON *pfile = NULL;
	int ret;

	t->path = xstrdup(path);
	t->name = xstrndup(base, has_suffix(base, ".json") ? strlen(base) - 5 : strlen(base));
	if ((ret = check_in_workspace(path)) || (ret = templates_load_json(&t->template, path)))
		goto done;
	if (!cJSON_IsObject(t->template) || !json_find(t->template, "$schema") ||
	    !json_find(t->template, "resources")) {
		ret = error_set_at(ERR_INPUT, path, 0, 0,
				   "%s: not an ARM template (it needs $schema and resources)", path);
		goto done;
	}
	buf_add(&params, path, strlen(path) - (has_suffix(path, ".json") ? 5 : 0));
	buf_addstr(&params, ".parameters.json");
	if (!fs_is_file(params.data))
		goto done;
	t->parameters_path = buf_detach(&params, NULL);
	if ((ret = check_in_workspace(t->parameters_path)) ||
	    (ret = templates_load_json(&pfile, t->parameters_path)))
		goto done;
	t->parameters = cJSON_DetachItemFromObjectCaseSensitive(pfile, "parameters");
	if (!cJSON_IsObject(t->parameters))
		ret = error_set_at(ERR_INPUT, t->parameters_path, 0, 0,
				   "%s: a parameters file needs a \"parameters\" object", t->parameters_path);
done:
	cJSON_Delete(pfile);
	buf_release(&params);
	return ret;
}

int templates_find(struct template_list *out, const char *base, const char *const *patterns)
{
	char **paths = NULL;
	size_t nr = 0, i;
	int ret;

	out->items = NULL;
	out->nr = 0;
	ret = expand(&paths, &nr, base, patterns);
	if (!ret && !nr)
		ret = error_set(ERR_INPUT, "Input templates: no ARM template found");
	if (!ret) {
		out->items = xcalloc(nr, sizeof(*out->items));
		out->nr = nr;
		for (i = 0; i < nr && !ret; i++)
			ret = load_one(&out->items[i], paths[i]);
	}
	for (i = 0; i < nr; i++)
		free(paths[i]);
	free(paths);
	if (ret)
		templates_release(out);
	return ret;
}

void templates_release(struct template_list *list)
{
	size_t i;

	for (i = 0; i < list->nr; i++) {
		free(list->items[i].path);
		free(list->items[i].name);
		free(list->items[i].parameters_path);
		cJSON_Delete(list->items[i].template);
		cJSON_Delete(list->items[i].parameters);
	}
	free(list->items);
	list->items = NULL;
	list->nr = 0;
}

/* ---- parameters ---- */

/* The template's declaration of `name` (case-insensitive, as ARM matches). */
static const cJSON *declared_parameter(const cJSON *template, const char *name, size_t len)
{
	const cJSON *params = json_find(template, "parameters"), *p;

	cJSON_ArrayForEach(p, params)
		if (p->string && strlen(p->string) == len && !strncasecmp(p->string, name, len))
			return p;
	return NULL;
}

static void declared_names(struct buf *out, const cJSON *template)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, json_find(template, "parameters"))
		buf_addf(out, "%s%s", out->len ? ", " : "", p->string);
	if (!out->len)
		buf_addstr(out, "none");
}

static const char *declared_type(const cJSON *decl)
{
	return json_string_or(decl, "type", "string");
}

/* An override's text as a JSON value of the declared `type`. */
static int typed_value(cJSON **out, const char *type, const char *name, const char *text)
{
	cJSON *v = NULL;
	char *end;
	long long n;

	*out = NULL;
	if (!strcasecmp(type, "string") || !strcasecmp(type, "securestring")) {
		v = cJSON_CreateString(text);
	} else if (!strcasecmp(type, "int")) {
		errno = 0;
		n = strtoll(text, &end, 10);
		/* cJSON keeps numbers as doubles: beyond 2^53 they would change. */
		if (!*text || *end || errno || n > (1LL << 53) || n < -(1LL << 53))
			return error_set(ERR_INPUT, "parameter '%s' is an int; '%s' is not a whole number",
					 name, text);
		v = cJSON_CreateNumber((double)n);
	} else if (!strcasecmp(type, "bool")) {
		if (strcasecmp(text, "true") && strcasecmp(text, "false"))
			return error_set(ERR_INPUT, "parameter '%s' is a bool; '%s' is not true or false",
					 name, text);
		v = cJSON_CreateBool(!strcasecmp(text, "true"));
	} else if (!strcasecmp(type, "object") || !strcasecmp(type, "secureobject") ||
		   !strcasecmp(type, "array")) {
		int want_array = !strcasecmp(type, "array");

		/* As strictly as a file: no key twice, nothing after the value. */
		if (json_parse_strict(&v, text, strlen(text), "override", NULL))
			error_clear();
		if (!v || (want_array ? !cJSON_IsArray(v) : !cJSON_IsObject(v))) {
			cJSON_Delete(v);
			/* The text is not echoed: it may be a secureobject. */
			return error_set(ERR_INPUT, "parameter '%s' is of type %s; the value given is not "
					 "a JSON %s", name, type, want_array ? "array ([...])" : "object ({...})");
		}
	} else {
		return error_set(ERR_INPUT, "parameter '%s' has type '%s', which ARM templates do not have",
				 name, type);
	}
	if (!v)
		abort();
	*out = v;
	return 0;
}

/* Replaces (or adds) parameters[name] = {"value": value}, dropping any
 * spelling of the same name in another case. Takes `value`. */
static void set_parameter(cJSON *params, const char *name, cJSON *value)
{
	cJSON *entry = json_new_object(), *p = params->child, *next;

	for (; p; p = next) {
		next = p->next;
		if (p->string && !strcasecmp(p->string, name))
			cJSON_Delete(cJSON_DetachItemViaPointer(params, p));
	}
	cJSON_AddItemToObject(entry, "value", value);
	cJSON_AddItemToObject(params, name, entry);
}

/* Each override must be declared by at least one template. */
int templates_check_overrides(const struct template_list *list, const char *const *all)
{
	size_t i;

	for (; all && *all; all++) {
		const char *eq = strchr(*all, '=');
		char *name = xstrndup(*all, eq ? (size_t)(eq - *all) : strlen(*all));
		int found = 0;

		for (i = 0; i < list->nr && !found; i++)
			found = declared_parameter(list->items[i].template, name, strlen(name)) != NULL;
		if (!found && eq) {
			error_set(ERR_INPUT, "Input parameters: no template declares '%s'", name);
			free(name);
			return ERR_INPUT;
		}
		free(name);
	}
	return 0;
}

static int is_secure_output(const cJSON *o)
{
	return arm_deployment_secure_type(json_string_or(o, "type", ""));
}

/* A step output on every host, and a JavaScript identifier as ARM wants. */
static int output_name_ok(const char *name)
{
	const char *p;

	if (!*name || isdigit((unsigned char)*name))
		return 0;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return 0;
	return 1;
}

/* The template before `upto` that declares non-secure output `name`, or NULL. */
static const struct arm_template *declared_before(const struct template_list *list, size_t upto,
						  const char *name)
{
	const cJSON *o;
	size_t i;

	for (i = 0; i < upto; i++)
		cJSON_ArrayForEach(o, json_find(list->items[i].template, "outputs"))
			if (!is_secure_output(o) && !strcasecmp(o->string, name))
				return &list->items[i];
	return NULL;
}

int templates_check_outputs(const struct template_list *list, const char *const *reserved)
{
	const char *const *r;
	size_t i;

	for (i = 0; i < list->nr; i++) {
		const struct arm_template *t = &list->items[i], *other;
		const cJSON *outputs = json_find(t->template, "outputs"), *o;

		if (outputs && !cJSON_IsObject(outputs))
			return error_set_at(ERR_INPUT, t->path, 0, 0,
					    "%s: \"outputs\" must be an object", t->path);
		cJSON_ArrayForEach(o, outputs) {
			if (is_secure_output(o))
				continue;
			if (!output_name_ok(o->string))
				return error_set_at(ERR_INPUT, t->path, 0, 0,
						    "%s: output '%s' cannot be a step output: use ASCII "
						    "letters, digits and '_', not starting with a digit",
						    t->path, o->string);
			for (r = reserved; r && *r; r++)
				if (!strcasecmp(*r, o->string))
					return error_set_at(ERR_INPUT, t->path, 0, 0,
							    "%s: output '%s' has the name of one of the "
							    "workflow's own outputs; rename it", t->path,
							    o->string);
			if ((other = declared_before(list, i, o->string)))
				return error_set_at(ERR_INPUT, t->path, 0, 0,
						    "%s: output '%s' is declared by %s too; step "
						    "outputs need unique names", t->path, o->string,
						    other->path);
		}
	}
	return 0;
}

/* The parameters file's "parameters" object `given`, read from `where`. */
static int merge_file(cJSON *params, const cJSON *template, const cJSON *given, const char *where)
{
	const cJSON *p, *decl;
	struct buf names = BUF_INIT;
	int ret = 0;

	if (!cJSON_IsObject(given))
		return error_set(ERR_INPUT, "%s: 'parameters' must be an object", where);
	cJSON_ArrayForEach(p, given) {
		if (!(decl = declared_parameter(template, p->string, strlen(p->string)))) {
			declared_names(&names, template);
			ret = error_set(ERR_INPUT, "%s: parameter '%s' is not declared by the template "
					"(it declares: %s)", where, p->string, names.data);
			goto done;
		}
		if (!cJSON_IsObject(p) || (!json_find(p, "value") && !json_find(p, "reference"))) {
			ret = error_set(ERR_INPUT, "%s: parameter '%s' must be an object with a 'value' "
					"or a Key Vault 'reference'", where, p->string);
			goto done;
		}
		if (arm_deployment_secure_type(declared_type(decl)))
			arm_deployment_mask_value(json_find(p, "value"));
		/* ARM names ignore case: two spellings are one parameter given twice. */
		if (cJSON_GetObjectItem(params, p->string)) {
			ret = error_set(ERR_INPUT, "%s: parameter '%s' is given twice (names ignore case)",
					where, p->string);
			goto done;
		}
		json_add_copy(params, p->string, p);
	}
done:
	buf_release(&names);
	return ret;
}

/* An override `name=value` whose name the template declares as `decl`. */
static int merge_override(cJSON *params, const cJSON *decl, const char *eq)
{
	/* The template's spelling, so the body has one key per parameter. */
	const char *name = decl->string, *type = declared_type(decl);
	cJSON *value = NULL;
	int ret;

	if (arm_deployment_secure_type(type) && eq[1])
		log_secret(eq + 1);
	if ((ret = typed_value(&value, type, name, eq + 1)))
		return ret;
	if (!strcasecmp(type, "secureobject"))
		arm_deployment_mask_value(value);
	set_parameter(params, name, value);
	return 0;
}

int template_parameters(cJSON **out, const struct arm_template *t, const char *const *overrides)
{
	cJSON *params = json_new_object();
	const char *const *o;
	int ret = 0;

	*out = NULL;
	if (!cJSON_IsObject(t->template)) {
		ret = error_set(ERR_INPUT, "%s: the template is not a JSON object", t->path);
		goto done;
	}
	if (t->parameters && (ret = merge_file(params, t->template, t->parameters,
					       t->parameters_path ? t->parameters_path : t->path)))
		goto done;
	for (o = overrides; o && *o; o++) {
		const char *eq = strchr(*o, '=');
		const cJSON *decl;

		if (!eq || eq == *o) {
			/* Not echoed whole: the text after a missing '=' could be a secret. */
			ret = error_set(ERR_INPUT, "parameter override %zu characters long is not "
					"name=value", strlen(*o));
			goto done;
		}
		/* templates_check_overrides made sure another template declares it. */
		if (!(decl = declared_parameter(t->template, *o, (size_t)(eq - *o))))
			continue;
		if ((ret = merge_override(params, decl, eq)))
			goto done;
	}
	*out = params;
	params = NULL;
done:
	cJSON_Delete(params);
	return ret;
}
