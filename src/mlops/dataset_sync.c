#include <stdlib.h>
#include <string.h>

#include "azure/aml_data.h"
#include "azure/aml_workspace.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/datastore_upload.h"
#include "mlops/dataset_sync.h"
#include "core/banned.h"

const char *dataset_outcome_name(enum dataset_outcome o)
{
	switch (o) {
	case DATASET_CREATED: return "created";
	case DATASET_WOULD_CREATE: return "would be created";
	case DATASET_UNCHANGED: return "existing";
	case DATASET_DIFFERS: return "existing, differs";
	case DATASET_UNKNOWN: return "existing";
	}
	return "?";
}

void dataset_result_release(struct dataset_result *r)
{
	free(r->version);
	free(r->registered_hash);
	free(r->data_uri);
	memset(r, 0, sizeof(*r));
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Compares the repository's data with the latest registered version. */
static int compare_existing(struct dataset_result *out, struct aml *aml,
			    const struct dataset *d, const char *latest)
{
	struct aml_data_version v = { 0 };
	const char *hash;
	int ret;

	if ((ret = aml_data_version_get(&v, aml, d->name, latest)))
		return ret;
	out->version = xstrdup(latest);
	out->data_uri = xstrdup(v.data_uri ? v.data_uri : "");
	hash = json_string_or(v.asset.tags, DATASET_HASH_TAG, NULL);
	if (!hash) {
		out->outcome = DATASET_UNKNOWN;
	} else {
		out->registered_hash = xstrdup(hash);
		out->outcome = strcmp(hash, d->content_hash) ? DATASET_DIFFERS : DATASET_UNCHANGED;
	}
	aml_data_version_release(&v);
	return 0;
}

static cJSON *version_tags(const struct dataset *d)
{
	cJSON *tags = json_new_object();
	const cJSON *t;

	cJSON_ArrayForEach(t, d->tags) {
		/* Azure ML tags are strings; YAML may have typed them. */
		if (cJSON_IsString(t)) {
			json_add_string(tags, t->string, t->valuestring);
		} else {
			const char *text = yaml_scalar_text(&d->doc, t);
			json_add_string(tags, t->string, text ? text : "");
		}
	}
	cJSON_DeleteItemFromObjectCaseSensitive(tags, DATASET_HASH_TAG);
	json_add_string(tags, DATASET_HASH_TAG, d->content_hash);
	return tags;
}

static int create(struct dataset_result *out, struct aml *aml, struct http_client *http,
		  const struct dataset *d, int dry_run, struct token_source tokens)
{
	struct aml_datastore store = { 0 };
	struct aml_data_version v = { 0 }, made = { 0 };
	struct datastore_upload upload;
	struct buf prefix = BUF_INIT, uri = BUF_INIT;
	size_t count = 0;
	int ret;

	if ((ret = aml_datastore_get_default(&store, aml)))
		goto done;
	dataset_upload_prefix(&prefix, d);
	buf_addf(&uri, "azureml://datastores/%s/paths/%s/", store.name, prefix.data);
	if (d->type == DATASET_URI_FILE) {
		buf_setlen(&uri, uri.len - 1);
		buf_addf(&uri, "/%s", base_name(d->data_path));
	}
	out->version = xstrdup(d->version);
	out->data_uri = xstrdup(uri.data);
	if (dry_run) {
		out->outcome = DATASET_WOULD_CREATE;
		goto done;
	}
	upload.local_path = d->data_path;
	upload.is_dir = d->type != DATASET_URI_FILE;
	upload.prefix = prefix.data;
	upload.tokens = tokens;
	if ((ret = datastore_upload(aml, http, &store, &upload, &count)))
		goto done;
	log_info("dataset %s: uploaded %zu file%s to datastore %s under %s/", d->name, count,
		 count == 1 ? "" : "s", store.name, prefix.data);
	v.asset.name = d->name;
	v.asset.version = d->version;
	v.asset.description = d->description;
	v.asset.tags = version_tags(d);
	v.data_type = xstrdup(dataset_type_name(d->type));
	v.data_uri = uri.data;
	ret = aml_data_version_put(&made, aml, &v);
	cJSON_Delete(v.asset.tags);
	free(v.data_type);
	if (!ret)
		out->outcome = DATASET_CREATED;
done:
	aml_data_version_release(&made);
	aml_datastore_release(&store);
	buf_release(&prefix);
	buf_release(&uri);
	return ret;
}

int dataset_sync(struct dataset_result *out, struct aml *aml, struct http_client *http,
		 const struct dataset *d, int dry_run, struct token_source tokens)
{
	char *latest = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = aml_latest_version(&latest, aml, AML_DATA, d->name);
	if (!ret && latest)
		ret = compare_existing(out, aml, d, latest);
	else if (!ret || ret == ERR_NOT_FOUND)
		ret = create(out, aml, http, d, dry_run, tokens);
	free(latest);
	if (ret) {
		error_prefix("dataset %s (%s)", d->name, d->yaml_path);
		dataset_result_release(out);
	}
	return ret;
}
