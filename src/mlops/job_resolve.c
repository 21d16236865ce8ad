#include <stdlib.h>
#include <string.h>

#include "azure/aml_assets.h"
#include "azure/aml_environment.h"
#include "core/error.h"
#include "core/log.h"
#include "mlops/job_resolve.h"
#include "core/banned.h"

/* An error located at a field of the job YAML, keeping the message. */
static int at_field(const struct job_spec *spec, const char *field, int code)
{
	struct error_location where;
	struct buf msg = BUF_INIT;
	int ret;

	buf_addstr(&msg, error_message());
	job_spec_where(&where, spec, field);
	ret = error_set_at(code, where.file, where.line, where.column, "%s", msg.data);
	buf_release(&msg);
	return ret;
}

int job_resolve_environment(struct buf *id_out, struct aml *aml, const struct job_spec *spec)
{
	struct aml_environment_version env;
	int ret;

	if (spec->env_kind == JOB_ENV_REGISTRY) {
		buf_addstr(id_out, spec->environment);
		return 0;
	}
	memset(&env, 0, sizeof(env));
	if (spec->env_kind == JOB_ENV_LATEST)
		ret = aml_environment_version_latest(&env, aml, spec->env_name);
	else
		ret = aml_environment_version_get(&env, aml, spec->env_name, spec->env_version);
	if (ret == ERR_NOT_FOUND) {
		error_set(ERR_INPUT, "environment %s is not registered in workspace %s (Environment-CD "
			  "registers it)", spec->environment, aml->workspace);
		ret = at_field(spec, "environment", ERR_INPUT);
	}
	if (!ret) {
		aml_path(id_out, aml, "/environments/%s/versions/%s", spec->env_name,
			 env.asset.version ? env.asset.version : spec->env_version);
		log_info("environment %s -> %s:%s", spec->environment, spec->env_name,
			 env.asset.version ? env.asset.version : spec->env_version);
	}
	aml_environment_version_release(&env);
	return ret;
}

int job_resolve_inputs(struct aml_job_input *out, char **uris, struct aml *aml,
		       const struct job_spec *spec)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < spec->inputs_nr && !ret; i++) {
		const struct job_input *in = &spec->inputs[i];
		struct buf uri = BUF_INIT;
		char *version = NULL;
		cJSON *found = NULL;

		out[i].name = in->name;
		out[i].type = in->type;
		out[i].value = in->value;
		out[i].mode = in->mode;
		if (in->type == AML_INPUT_LITERAL)
			continue;
		if (in->path_kind == JOB_PATH_URI) {
			out[i].uri = in->path;
			continue;
		}
		if (!strcmp(in->asset_version, "latest"))
			ret = aml_latest_version(&version, aml, AML_DATA, in->asset_name);
		else if ((ret = aml_version_get_json(&found, aml, AML_DATA, in->asset_name,
						     in->asset_version)) == 0)
			version = xstrdup(in->asset_version);
		cJSON_Delete(found);
		found = NULL;
		if (ret == ERR_NOT_FOUND) {
			error_set(ERR_INPUT, "input %s: data asset %s is not registered in workspace %s "
				  "(Workspace-CD registers the datasets in datasets/)", in->name,
				  in->path, aml->workspace);
			ret = at_field(spec, "inputs", ERR_INPUT);
		}
		if (!ret) {
			buf_addstr(&uri, "azureml:");
			aml_path(&uri, aml, "/data/%s/versions/%s", in->asset_name, version);
			uris[i] = buf_detach(&uri, NULL);
			out[i].uri = uris[i];
			log_info("input %s: %s -> %s:%s", in->name, in->path, in->asset_name, version);
		}
		free(version);
		buf_release(&uri);
	}
	return ret;
}

/* ---- the job already submitted ---- */

static int has_tags(const struct aml_job *job, const char *const *tags)
{
	size_t i;

	for (i = 0; tags[i] && tags[i + 1]; i += 2) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(job->tags, tags[i]);

		if (!cJSON_IsString(v) || strcmp(v->valuestring, tags[i + 1]))
			return 0;
	}
	return 1;
}

int job_resolve_submitted(struct aml_job *out, struct aml *aml, const char *const *tags)
{
	struct aml_job_list list = AML_JOB_LIST_INIT;
	struct buf filter = BUF_INIT;
	size_t i;
	int ret;

	buf_addf(&filter, "%s=%s", tags[0], tags[1]);
	if ((ret = aml_job_list(&list, aml, filter.data)))
		goto done;
	ret = ERR_NOT_FOUND;
	/* Newest first, as Azure lists them. */
	for (i = 0; i < list.nr; i++)
		if (has_tags(&list.items[i], tags)) {
			aml_job_release(out);
			*out = list.items[i];
			memset(&list.items[i], 0, sizeof(list.items[i]));
			ret = 0;
			break;
		}
	if (ret)
		error_set(ret, "no job tagged %s in workspace %s", filter.data, aml->workspace);
done:
	aml_job_list_release(&list);
	buf_release(&filter);
	return ret;
}

