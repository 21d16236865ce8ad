#ifndef MLOPS_TEMPLATES_H
#define MLOPS_TEMPLATES_H

#include <cjson/cJSON.h>

/*
 * The ARM templates Workspace-CD deploys: found by glob patterns (by
 * default every .json file in .cloud), each paired with
 * NAME.parameters.json beside it when there is one. Parameter files
 * themselves are never templates.
 */
struct arm_template {
	char *path;              /* NAME.json */
	char *name;              /* NAME: the file name without .json */
	char *parameters_path;   /* NAME.parameters.json, or NULL */
	cJSON *template;         /* parsed */
	cJSON *parameters;       /* the file's "parameters" object, or NULL */
};

struct template_list {
	struct arm_template *items;
	size_t nr;
};
#define TEMPLATE_LIST_INIT { NULL, 0 }

/* The largest template or parameters file read. */
#define TEMPLATE_MAX_FILE (4u << 20)

/*
 * Expands each pattern (glob(3), relative to `base`), drops parameter
 * files, sorts and de-duplicates, then loads each template and its
 * parameters. A pattern that matches nothing is an ERR_INPUT naming it;
 * malformed JSON (a key given twice, text after the document included) is
 * ERR_INPUT naming the file, line and column; a template
 * without $schema or resources, or a parameters file without a
 * "parameters" object, is ERR_INPUT naming the file.
 */
int templates_find(struct template_list *out, const char *base,
		   const char *const *patterns);
void templates_release(struct template_list *list);

/*
 * Each `name=value` override (from the workflow's `parameters` input) must
 * be declared by at least one template: ERR_INPUT naming it otherwise.
 */
int templates_check_overrides(const struct template_list *list, const char *const *overrides);

/*
 * The outputs each template declares (its "outputs" object, read locally)
 * become step outputs, so before anything is deployed each non-secure one
 * must have a name every host carries and ARM accepts (ASCII letters,
 * digits and '_', not starting with a digit), must not be one of the
 * workflow's own output names `reserved` (NULL-terminated; compared
 * ignoring case, as expressions and ARM do), and must not be declared by
 * two templates. ERR_INPUT naming the template file and the output
 * otherwise. Secure outputs (securestring, secureobject) never become step
 * outputs and are not checked.
 */
int templates_check_outputs(const struct template_list *list, const char *const *reserved);

/*
 * The deployment `parameters` object ({"p":{"value":...}}) of `t`, the one
 * place it is made: the parameters file's entries, then each override
 * "name=value" that `t` declares on top (an override another template
 * declares is skipped; templates_check_overrides refuses one that none
 * declares). An override's value is typed by the template's declared
 * parameter type: string and securestring as they are; int a decimal
 * integer; bool true or false; object, secureobject and array as JSON text
 * of that kind. Parameter names match case-insensitively, as ARM does, and
 * the template's spelling is kept; Key Vault "reference" entries in the file
 * pass through. Values of securestring/secureobject parameters are
 * registered with log_secret() before anything could print them.
 *
 * `*out` is a new object the caller frees with cJSON_Delete. ERR_INPUT
 * names the parameter (and the parameters file) when the file gives a
 * parameter the template does not declare, gives one twice or not as an
 * object with a value or reference, or an override has no '=' or a value
 * that does not parse as the declared type.
 */
int template_parameters(cJSON **out, const struct arm_template *t,
			const char *const *overrides);

#endif
