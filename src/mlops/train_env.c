/*
 * The training job's environment checked against its repository folder
 * (mlops/train_env.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "mlops/job_yaml.h"
#include "mlops/train_env.h"
#include "core/banned.h"

int train_env_parse_ref(char **name, char **version, const char *ref)
{
	static const char prefix[] = "azureml:";
	const char *rest, *colon;

	*name = *version = NULL;
	if (!ref || strncmp(ref, prefix, strlen(prefix)))
		return ERR_NOT_FOUND;
	rest = ref + strlen(prefix);
	/* azureml://registries/... and ARM ids are not a workspace name:version. */
	if (*rest == '/' || strchr(rest, '@'))
		return ERR_NOT_FOUND;
	colon = strchr(rest, ':');
	if (!colon || colon == rest || !colon[1] || strchr(colon + 1, ':'))
		return ERR_NOT_FOUND;
	*name = xstrndup(rest, (size_t)(colon - rest));
	*version = xstrdup(colon + 1);
	return 0;
}

/* Moves the valid entry declaring `name` to the front; 1 when there is one. */
static int pick(struct env_plan *plan, const char *name)
{
	size_t i;

	for (i = 0; i < plan->nr; i++) {
		struct env_entry *e = &plan->items[i], tmp;

		if (e->failed || strcmp(e->env.name, name))
			continue;
		tmp = plan->items[0];
		plan->items[0] = *e;
		*e = tmp;
		return 1;
	}
	return 0;
}

static int load_folders(struct train_env *t, const char *root)
{
	size_t i;
	int ret;

	if (!fs_is_dir(root))
		return 0;
	if ((ret = env_plan_load(&t->plan, root, ENV_VERSIONING_DECLARED))) {
		if (ret != ERR_INPUT)
			return ret;
		error_clear(); /* an empty root holds no folder */
		return 0;
	}
	t->all = t->plan.nr;
	t->found = pick(&t->plan, t->name);
	if (!t->found)
		for (i = 0; i < t->plan.nr; i++)
			if (t->plan.items[i].failed)
				log_warning("environment folder %s is invalid, so it is not checked as "
					    "the job's environment %s: %s", t->plan.items[i].dir,
					    t->name, t->plan.items[i].error.message);
	return 0;
}

int train_env_load(struct train_env *t, const char *job_path, const char *root)
{
	struct job_yaml spec = JOB_YAML_INIT;
	const struct environment *env;
	int ret;

	if ((ret = job_yaml_load(&spec, job_path)))
		goto done;
	if (train_env_parse_ref(&t->name, &t->version, spec.environment)) {
		ret = 0; /* not a workspace name:version: nothing of ours to check */
		goto done;
	}
	if ((ret = load_folders(t, root)) || !t->found)
		goto done;
	env = &t->plan.items[0].env;
	if (strcmp(env->version, t->version)) {
		const struct error_location *at = &env->version_at;

		ret = error_set_at(ERR_INPUT, at->file, at->line, at->column,
				   "%s: the job's environment is %s:%s, but %s declares version %s "
				   "of it", job_path, t->name, t->version, env->yaml_path, env->version);
	}
	if (!ret)
		log_info("environment %s:%s is defined by %s", t->name, t->version,
			 t->plan.items[0].dir);
done:
	job_yaml_release(&spec);
	return ret;
}

int train_env_decide(struct train_env *t, struct aml *aml)
{
	const struct env_entry *e;
	struct buf fields = BUF_INIT;
	size_t i;
	int ret;

	if (!t->found)
		return 0;
	/* Only the job's folder is compared and registered, none of the others. */
	t->plan.nr = 1;
	ret = env_plan_decide(&t->plan, aml, ENV_VERSIONING_DECLARED);
	t->plan.nr = t->all;
	if (ret)
		return ret;
	e = &t->plan.items[0];
	t->to_register = e->decision.status == ENV_NEW;
	if (e->decision.status != ENV_NEEDS_BUMP) {
		log_info("environment %s:%s: %s", t->name, t->version,
			 t->to_register ? "not registered yet" : "registered with the same content");
		return 0;
	}
	for (i = 0; i < e->decision.diff.nr; i++)
		buf_addf(&fields, "%s%s", i ? ", " : "", e->decision.diff.items[i].field);
	ret = error_set_at(ERR_CONFLICT, e->env.version_at.file, e->env.version_at.line,
			   e->env.version_at.column, "environment %s version %s is registered with other content than "
		  "%s (%s): give the folder and the job a new version%s%s; nothing was trained",
		  t->name, t->version, e->env.yaml_path, fields.data ? fields.data : "",
		  e->decision.next_version ? ", e.g. " : "",
		  e->decision.next_version ? e->decision.next_version : "");
	buf_release(&fields);
	return ret;
}

int train_env_register(struct train_env *t, struct aml *aml, const struct env_register_context *ctx)
{
	int ret;

	if (!t->to_register)
		return 0;
	t->plan.nr = 1;
	ret = env_plan_register(&t->plan, aml, ctx);
	t->plan.nr = t->all;
	return ret;
}

const struct env_entry *train_env_entry(const struct train_env *t)
{
	return t->found ? &t->plan.items[0] : NULL;
}

void train_env_release(struct train_env *t)
{
	t->plan.nr = t->all;
	env_plan_release(&t->plan);
	free(t->name);
	free(t->version);
	memset(t, 0, sizeof(*t));
}
