/*
 * An inline environment of a deployment YAML, versioned by its content
 * and registered as Environment-CD registers one (mlops/online_env.h).
 */
#include <stdlib.h>
#include <string.h>

#include "azure/aml_environment.h"
#include "azure/aml_names.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/online_env.h"
#include "core/banned.h"

/* Re-sets the current error at the deployment YAML's environment line. */
static int at_environment(const struct online_env *e, int code)
{
	struct buf why = BUF_INIT;

	/* Copied first: setting the new error replaces the message read here. */
	buf_addstr(&why, error_message());
	error_set_at(code, e->yaml_path, e->line, 0, "%s:%d: field 'environment': %s",
		     e->yaml_path, e->line, why.data);
	buf_release(&why);
	return code;
}

/* Tags and description are not read by online_yaml: check them as
 * environment_load checks an environment YAML's. */
static int check_metadata(struct online_env *e, const struct online_deployment *d)
{
	const cJSON *node = d->inline_env.node, *item;
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(node, "tags");
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(node, "description");

	if (desc && !cJSON_IsString(desc))
		return yaml_error_at(&d->doc, desc, ERR_YAML, "field 'environment.description' is "
				     "%s, expected a string", json_type_name(desc));
	if (tags && !cJSON_IsObject(tags))
		return yaml_error_at(&d->doc, tags, ERR_YAML, "field 'environment.tags' is %s, "
				     "expected a mapping", json_type_name(tags));
	cJSON_ArrayForEach(item, tags)
		if (!cJSON_IsString(item) && !cJSON_IsNumber(item) && !cJSON_IsBool(item))
			return yaml_error_at(&d->doc, item, ERR_YAML, "field 'environment.tags' "
					     "holds %s, expected a string, number or boolean",
					     json_type_name(item));
	e->env.description = desc ? desc->valuestring : NULL;
	e->env.tags = tags;
	return 0;
}

static int pick_name(struct online_env *e, const struct online_deployment *d, const char *model)
{
	const char *written = d->inline_env.name;

	if (written) {
		e->name = xstrdup(written);
	} else {
		if (!model || !*model)
			return error_set_at(ERR_INPUT, e->yaml_path, e->line, 0,
					    "%s:%d: field 'environment': an inline environment "
					    "without a name needs the model's name",
					    e->yaml_path, e->line);
		e->name = xasprintf("%s-deploy-env", model);
		if (aml_check_name(e->name, "environment name"))
			return at_environment(e, ERR_INPUT);
	}
	e->env.name = e->name;
	return 0;
}

/* The parts environment_hash reads, as environment_load would set them. */
static int describe(struct environment *env, const struct online_deployment *d)
{
	const struct online_inline_env *in = &d->inline_env;
	const char *base = strrchr(d->yaml_path, '/');

	env->image = in->image;
	env->os_type = xstrdup(in->os_type ? in->os_type : "linux");
	/* Resolved as the build context is, so the walk can leave it out. */
	env->yaml_path = xasprintf("%s/%s", d->yaml_dir ? d->yaml_dir : ".",
				   base ? base + 1 : d->yaml_path);
	if (in->build_dir) {
		env->build_path = xstrdup(in->build_dir);
		env->dockerfile_path = xstrdup(in->dockerfile_path ? in->dockerfile_path
					       : "Dockerfile");
	}
	if (!in->conda_path)
		return 0;
	env->conda_path = xstrdup(in->conda_path);
	return conda_load_file(&env->conda, env->conda_path);
}

int online_env_load(struct online_env *out, const struct online_deployment *d,
		    const char *model)
{
	int ret;

	*out = (struct online_env)ONLINE_ENV_INIT;
	out->yaml_path = d->yaml_path;
	out->line = online_yaml_line(d, "environment");
	if (d->env_kind != ONLINE_ENV_INLINE)
		return error_set_at(ERR_INPUT, d->yaml_path, out->line, 0,
				    "%s:%d: field 'environment': not an inline environment",
				    d->yaml_path, out->line);
	/*
	 * Borrowed, not copied: version_tags reads the tags' text as written
	 * through it. online_env_release gives it back before releasing env.
	 */
	out->env.doc = d->doc;
	if ((ret = check_metadata(out, d)) || (ret = pick_name(out, d, model)))
		goto done;
	if ((ret = describe(&out->env, d)) || (ret = environment_hash(&out->env))) {
		ret = at_environment(out, ret);
		goto done;
	}
	memcpy(out->version, out->env.content_hash, ONLINE_ENV_VERSION_LEN);
	out->version[ONLINE_ENV_VERSION_LEN] = '\0';
	out->written_version = d->inline_env.version;
done:
	if (ret)
		online_env_release(out);
	return ret;
}

/* A version already registered under our name and version: ours unless
 * its hash tag says otherwise. */
static int check_reused(const struct online_env *e, const struct aml_environment_version *v)
{
	const char *tag = json_string_or(v->asset.tags, ENVIRONMENT_HASH_TAG, NULL);

	if (!tag) {
		log_notice("environment %s:%s: reused (registered without a %s tag, so its content "
			   "could not be compared)", e->name, e->version, ENVIRONMENT_HASH_TAG);
		return 0;
	}
	if (strcmp(tag, e->env.content_hash))
		return error_set_at(ERR_CONFLICT, e->yaml_path, e->line, 0,
				    "%s:%d: field 'environment': environment %s:%s is registered "
				    "with other content (%s %.16s..., ours %.16s...): give the "
				    "inline environment another name", e->yaml_path, e->line,
				    e->name, e->version, ENVIRONMENT_HASH_TAG, tag,
				    e->env.content_hash);
	log_info("environment %s:%s: reused (the same content is registered)", e->name, e->version);
	return 0;
}

int online_env_ensure(struct buf *id_out, struct online_env *e, struct aml *aml,
		      const struct env_register_context *ctx)
{
	struct aml_environment_version v = { 0 };
	int ret;

	/* Here, not at load: Model-CD loads it twice, and says it once. */
	if (e->written_version)
		log_notice("%s:%d: environment version %s as written is not used: an inline "
			   "environment is versioned by its content (%s)", e->yaml_path, e->line,
			   e->written_version, e->version);
	ret = aml_environment_version_get(&v, aml, e->name, e->version);
	if (!ret) {
		ret = check_reused(e, &v);
	} else if (ret == ERR_NOT_FOUND) {
		error_clear();
		ret = env_register_version(aml, &e->env, e->version, ctx);
		if (!ret)
			e->registered = 1;
		/* Another run registered it meanwhile: ours if its content is. */
		if (ret == ERR_CONFLICT) {
			error_clear();
			aml_environment_version_release(&v);
			if (!(ret = aml_environment_version_get(&v, aml, e->name, e->version)))
				ret = check_reused(e, &v);
		}
	}
	if (ret && ret != ERR_CONFLICT)
		error_prefix("%s:%d: field 'environment'", e->yaml_path, e->line);
	else if (!ret)
		aml_path(id_out, aml, "/environments/%s/versions/%s", e->name, e->version);
	aml_environment_version_release(&v);
	return ret;
}

void online_env_release(struct online_env *e)
{
	if (!e)
		return;
	e->env.doc = (struct yaml_doc)YAML_DOC_INIT;
	e->env.name = NULL;
	environment_release(&e->env);
	free(e->name);
	*e = (struct online_env)ONLINE_ENV_INIT;
}
