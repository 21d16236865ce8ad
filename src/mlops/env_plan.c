#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "azure/aml_environment.h"
#include "azure/aml_workspace.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/datastore_upload.h"
#include "mlops/env_plan.h"
#include "core/banned.h"

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sub-folders of `root`, sorted; hidden ones are skipped. */
static int list_folders(char ***out, size_t *nr_out, const char *root)
{
	struct buf path = BUF_INIT;
	char **names = NULL;
	size_t nr = 0;
	struct dirent *de;
	DIR *d = opendir(root);

	*out = NULL;
	*nr_out = 0;
	if (!d)
		return error_set(ERR_INPUT, "Input environments: '%s' is not a folder (%s)", root,
				 strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s", root, de->d_name);
		if (!fs_is_dir(path.data))
			continue;
		names = xrealloc(names, (nr + 1) * sizeof(*names));
		names[nr++] = buf_detach(&path, NULL);
	}
	closedir(d);
	buf_release(&path);
	if (nr)
		qsort(names, nr, sizeof(*names), cmp_names);
	*out = names;
	*nr_out = nr;
	return nr ? 0 : error_set(ERR_INPUT, "Input environments: '%s' holds no environment folder", root);
}

static void record_failure(struct env_entry *e, int code)
{
	e->failed = 1;
	error_save(&e->error);
	e->error.code = code;
	error_clear();
}

int env_plan_load(struct env_plan *out, const char *root, enum env_versioning mode)
{
	char **dirs = NULL;
	size_t nr = 0, i;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = list_folders(&dirs, &nr, root)))
		return ret;
	out->items = xcalloc(nr, sizeof(*out->items));
	out->nr = nr;
	for (i = 0; i < nr; i++) {
		struct env_entry *e = &out->items[i];

		e->dir = dirs[i];
		environment_init(&e->env);
		env_decision_init(&e->decision);
		ret = environment_load(&e->env, e->dir, mode);
		if (ret) {
			record_failure(e, ret);
			out->invalid++;
		}
	}
	free(dirs);
	return 0;
}

static void registered_view(struct env_registered *view, const struct aml_environment_version *v)
{
	view->version = v->asset.version;
	view->image = v->image;
	view->conda_text = v->conda_file;
	view->content_hash_tag = json_string_or(v->asset.tags, ENVIRONMENT_HASH_TAG, NULL);
	view->os_type = v->os_type;
	view->has_build = v->build_context_uri != NULL;
}

/* ERR_NOT_FOUND (no such version, or no container yet) is an answer, not an error. */
static int lookup(int *found, int ret)
{
	*found = !ret;
	if (ret == ERR_NOT_FOUND) {
		error_clear();
		return 0;
	}
	return ret;
}

static int decide_one(struct env_entry *e, struct aml *aml, enum env_versioning mode)
{
	struct aml_environment_version same = { 0 }, latest = { 0 };
	struct env_registered same_view = { 0 }, latest_view = { 0 };
	int has_same = 0, has_latest = 0, ret;

	if (e->env.version &&
	    (ret = lookup(&has_same, aml_environment_version_get(&same, aml, e->env.name,
								   e->env.version))))
		goto done;
	if ((ret = lookup(&has_latest, aml_environment_version_latest(&latest, aml, e->env.name))))
		goto done;
	if (has_same)
		registered_view(&same_view, &same);
	if (has_latest) {
		registered_view(&latest_view, &latest);
		e->latest_version = xstrdup(latest.asset.version);
	}
	ret = env_decide(&e->decision, &e->env, has_same ? &same_view : NULL,
			 has_latest ? &latest_view : NULL, mode);
	if (!ret)
		e->decided = 1;
done:
	if (ret)
		error_prefix("environment %s (%s)", e->env.name, e->env.yaml_path);
	aml_environment_version_release(&same);
	aml_environment_version_release(&latest);
	return ret;
}

int env_plan_decide(struct env_plan *plan, struct aml *aml, enum env_versioning mode)
{
	size_t i;
	int ret;

	plan->needs_bump = plan->to_register = 0;
	for (i = 0; i < plan->nr; i++) {
		struct env_entry *e = &plan->items[i];

		if (e->failed)
			continue;
		if ((ret = decide_one(e, aml, mode)))
			return ret;
		if (e->decision.status == ENV_NEEDS_BUMP)
			plan->needs_bump++;
		else if (e->decision.status == ENV_NEW || e->decision.status == ENV_CHANGED_AUTO)
			plan->to_register++;
	}
	return 0;
}

static cJSON *version_tags(const struct environment *env, const struct env_register_context *ctx)
{
	cJSON *tags = json_new_object();
	const cJSON *t;

	cJSON_ArrayForEach(t, env->tags) {
		const char *text = cJSON_IsString(t) ? t->valuestring : yaml_scalar_text(&env->doc, t);
		json_add_string(tags, t->string, text ? text : "");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(tags, ENVIRONMENT_HASH_TAG);
	json_add_string(tags, ENVIRONMENT_HASH_TAG, env->content_hash);
	if (ctx->commit && *ctx->commit) {
		cJSON_DeleteItemFromObjectCaseSensitive(tags, "commit");
		json_add_string(tags, "commit", ctx->commit);
	}
	if (ctx->repository && *ctx->repository) {
		cJSON_DeleteItemFromObjectCaseSensitive(tags, "repository");
		json_add_string(tags, "repository", ctx->repository);
	}
	return tags;
}

/* Uploads the build context; `uri_out` receives its https folder URL. */
static int upload_context(struct buf *uri_out, struct aml *aml, const struct environment *env,
			  const struct env_register_context *ctx)
{
	struct aml_datastore store = { 0 };
	struct datastore_upload u = { 0 };
	struct buf prefix = BUF_INIT;
	size_t count = 0;
	int ret;

	if ((ret = aml_datastore_get_default(&store, aml)))
		goto done;
	buf_addf(&prefix, "environments/%s/%.16s", env->name, env->content_hash);
	u.local_path = env->build_path;
	u.is_dir = 1;
	u.prefix = prefix.data;
	u.tokens = ctx->tokens;
	if ((ret = datastore_upload(aml, ctx->http, &store, &u, &count)))
		goto done;
	log_info("environment %s: uploaded its build context (%zu files) to %s/", env->name, count,
		 prefix.data);
	if ((ret = aml_datastore_container_url(uri_out, &store)))
		goto done;
	buf_addf(uri_out, "/%s/", prefix.data);
done:
	aml_datastore_release(&store);
	buf_release(&prefix);
	return ret;
}

int env_register_version(struct aml *aml, const struct environment *env, const char *version,
			 const struct env_register_context *ctx)
{
	struct aml_environment_version v = { 0 }, made = { 0 };
	struct buf conda = BUF_INIT, context = BUF_INIT;
	int ret = 0;

	/* The request borrows our strings: the client only reads them. */
	v.asset.name = (char *)env->name;
	v.asset.version = (char *)version;
	v.asset.description = (char *)env->description;
	v.asset.tags = version_tags(env, ctx);
	v.os_type = (char *)(!strcmp(env->os_type, "windows") ? "Windows" : "Linux");
	if (env->image) {
		v.image = (char *)env->image;
		if (env->conda_path) {
			/* Azure keeps the conda file as text; send it as written. */
			if ((ret = fs_read_file(&conda, env->conda_path, 1 << 20)))
				goto done;
			v.conda_file = conda.data;
		}
	} else {
		if ((ret = upload_context(&context, aml, env, ctx)))
			goto done;
		v.build_context_uri = context.data;
		v.build_dockerfile_path = env->dockerfile_path;
	}
	if ((ret = aml_environment_version_put(&made, aml, &v)))
		goto done;
	log_info("environment %s: registered version %s", env->name, version);
done:
	if (ret)
		error_prefix("environment %s version %s", env->name, version);
	cJSON_Delete(v.asset.tags);
	aml_environment_version_release(&made);
	buf_release(&conda);
	buf_release(&context);
	return ret;
}

int env_plan_register(struct env_plan *plan, struct aml *aml, const struct env_register_context *ctx)
{
	size_t i;
	int ret;

	for (i = 0; i < plan->nr; i++) {
		struct env_entry *e = &plan->items[i];

		if (!e->decided || (e->decision.status != ENV_NEW &&
				    e->decision.status != ENV_CHANGED_AUTO))
			continue;
		if ((ret = env_register_version(aml, &e->env, e->decision.version, ctx)))
			return ret;
		e->registered = 1;
	}
	return 0;
}

void env_plan_release(struct env_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->nr; i++) {
		struct env_entry *e = &plan->items[i];

		free(e->dir);
		environment_release(&e->env);
		error_saved_release(&e->error);
		env_decision_release(&e->decision);
		free(e->latest_version);
	}
	free(plan->items);
	memset(plan, 0, sizeof(*plan));
}
