#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "azure/aml_code.h"
#include "azure/blob.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

#define HASH_PROPERTY "hash_sha256"
#define HASH_VERSION_PROPERTY "hash_version"

static void add_properties(cJSON *props, const void *p)
{
	const struct aml_code_version *v = p;

	json_add_string(props, "codeUri", v->code_uri ? v->code_uri : "");
}

static const struct aml_field fields[] = {
	{ "properties.codeUri", offsetof(struct aml_code_version, code_uri), AML_FIELD_PUT },
	{ 0 },
};

AML_VERSION_FUNCTIONS(aml_code_version, struct aml_code_version,
		      .kind = AML_CODE, .what = "code version", .fields = fields,
		      .add_properties = add_properties)

/* ---- pending upload ---- */

void aml_pending_upload_release(struct aml_pending_upload *p)
{
	if (!p)
		return;
	free(p->pending_upload_id);
	free(p->blob_uri);
	if (p->sas_uri)
		memset(p->sas_uri, 0, strlen(p->sas_uri));
	free(p->sas_uri);
	free(p->storage_account_arm_id);
	memset(p, 0, sizeof(*p));
}

cJSON *aml_pending_upload_body(void)
{
	cJSON *body = json_new_object();

	json_add_string(body, "pendingUploadType", "TemporaryBlobReference");
	cJSON_AddItemToObject(body, "pendingUploadId", cJSON_CreateNull());
	return body;
}

int aml_pending_upload_parse(struct aml_pending_upload *out, const cJSON *json)
{
	static const char what[] = "startPendingUpload reply";
	const char *query;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = aml_json_string(&out->pending_upload_id, json, "pendingUploadId", 0, what)) ||
	    (ret = aml_json_string(&out->blob_uri, json, "blobReferenceForConsumption.blobUri", 1,
				   what)) ||
	    (ret = aml_json_string(&out->sas_uri, json,
				   "blobReferenceForConsumption.credential.sasUri", 1, what)) ||
	    (ret = aml_json_string(&out->storage_account_arm_id, json,
				   "blobReferenceForConsumption.storageAccountArmId", 0, what)))
		goto done;
	/* The SAS query grants write access to the container: mask it now. */
	query = strchr(out->sas_uri, '?');
	if (query && query[1])
		log_secret(query + 1);
done:
	if (ret)
		aml_pending_upload_release(out);
	return ret;
}

int aml_code_start_pending_upload(struct aml_pending_upload *out, struct aml *aml,
				  const char *name, const char *version)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	cJSON *body = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = aml_check_name(name, "code asset name")) ||
	    (ret = aml_check_version(version, "code asset version")))
		goto done;
	aml_path(&path, aml, "/codes/%s/versions/%s/startPendingUpload", name, version);
	body = aml_pending_upload_body();
	if (!(ret = arm_call(aml->arm, "POST", path.data, AML_API_VERSION, body, &r)))
		ret = aml_pending_upload_parse(out, r.json);
done:
	cJSON_Delete(body);
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

int aml_pending_upload_split(struct buf *container_url, struct buf *prefix,
			     const struct aml_pending_upload *p)
{
	const char *uri = p->sas_uri ? p->sas_uri : "";
	const char *host = strstr(uri, "://");
	const char *query = strchr(uri, '?');
	const char *container, *rest, *end;

	end = query ? query : uri + strlen(uri);
	container = host ? memchr(host + 3, '/', (size_t)(end - (host + 3))) : NULL;
	if (!container || container + 1 >= end || container[1] == '/')
		return error_set(ERR_INPUT, "the upload URL names no blob container");
	rest = memchr(container + 1, '/', (size_t)(end - (container + 1)));
	if (!rest)
		rest = end;
	buf_add(container_url, uri, (size_t)(rest - uri));
	if (query)
		buf_addstr(container_url, query);
	if (rest < end) {
		rest++;
		buf_add(prefix, rest, (size_t)(end - rest));
		while (prefix->len && prefix->data[prefix->len - 1] == '/')
			buf_setlen(prefix, prefix->len - 1);
	}
	return 0;
}

int aml_code_upload_blob(void *ctx, const struct aml_pending_upload *target,
			 const char *local_dir)
{
	struct buf container = BUF_INIT, prefix = BUF_INIT;
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct blob_client *c = NULL;
	size_t count = 0;
	int ret;

	if ((ret = aml_pending_upload_split(&container, &prefix, target)) ||
	    (ret = blob_client_new(&c, ctx, container.data, &auth)))
		goto done;
	if (!(ret = blob_upload_dir(c, prefix.data, local_dir, NULL, &count)))
		log_info("uploaded %zu file%s of %s", count, count == 1 ? "" : "s", local_dir);
done:
	blob_client_free(c);
	buf_wipe(&container);
	buf_release(&prefix);
	return ret;
}

/* ---- reuse by hash ---- */

int aml_code_version_for_hash(struct buf *out, const char *sha256_hex)
{
	size_t i;

	for (i = 0; sha256_hex[i]; i++)
		if (!isxdigit((unsigned char)sha256_hex[i]))
			break;
	if (i != 64 || sha256_hex[i])
		return error_set(ERR_INPUT, "snapshot hash '%.80s' is not 64 hex digits", sha256_hex);
	for (i = 0; i < 32; i++)
		buf_addch(out, (char)tolower((unsigned char)sha256_hex[i]));
	return 0;
}

/* An existing version is ours only if it holds the same full hash. */
static int same_snapshot(const struct aml_code_version *v, const char *sha256_hex)
{
	const char *have = json_string_or(v->asset.properties, HASH_PROPERTY, NULL);

	if (have && !strcasecmp(have, sha256_hex))
		return 0;
	return error_set(ERR_CONFLICT, "code asset %s:%s exists with %s %s, not the snapshot's %s",
			 v->asset.name ? v->asset.name : "", v->asset.version ? v->asset.version : "",
			 HASH_PROPERTY, have ? have : "(none)", sha256_hex);
}

static int register_snapshot(struct aml_code_version *out, struct aml *aml, const char *name,
			     const char *version, const char *sha256_hex, const char *local_dir,
			     aml_upload_fn upload, void *upload_ctx)
{
	struct aml_pending_upload target = { 0 };
	struct aml_code_version v = { 0 };
	char hash[65];
	int ret;

	if ((ret = aml_code_start_pending_upload(&target, aml, name, version)))
		goto done;
	if ((ret = upload(upload_ctx, &target, local_dir))) {
		error_prefix("uploading %s", local_dir);
		goto done;
	}
	for (size_t i = 0; i < 64; i++)
		hash[i] = (char)tolower((unsigned char)sha256_hex[i]);
	hash[64] = '\0';
	v.asset.name = (char *)name;
	v.asset.version = (char *)version;
	v.asset.properties = json_new_object();
	json_add_string(v.asset.properties, HASH_PROPERTY, hash);
	json_add_string(v.asset.properties, HASH_VERSION_PROPERTY, AML_CODE_HASH_VERSION);
	v.code_uri = target.blob_uri;
	ret = aml_code_version_put(out, aml, &v);
	cJSON_Delete(v.asset.properties);
done:
	aml_pending_upload_release(&target);
	return ret;
}

int aml_code_ensure(struct aml_code_version *out, int *uploaded_out, struct aml *aml,
		    const char *name, const char *sha256_hex, const char *local_dir,
		    aml_upload_fn upload, void *upload_ctx)
{
	struct buf version = BUF_INIT;
	int ret, uploaded = 0;

	memset(out, 0, sizeof(*out));
	if ((ret = aml_check_name(name, "code asset name")) ||
	    (ret = aml_code_version_for_hash(&version, sha256_hex)))
		goto done;
	ret = aml_code_version_get(out, aml, name, version.data);
	if (ret != ERR_NOT_FOUND) {
		if (!ret)
			ret = same_snapshot(out, sha256_hex);
		goto done;
	}
	error_clear();
	ret = register_snapshot(out, aml, name, version.data, sha256_hex, local_dir, upload,
				upload_ctx);
	uploaded = !ret;
	if (ret == ERR_CONFLICT) {
		/* Another run registered this snapshot between our GET and PUT:
		 * its codeUri differs from ours, its content does not. */
		error_clear();
		if (!(ret = aml_code_version_get(out, aml, name, version.data)))
			ret = same_snapshot(out, sha256_hex);
	}
done:
	if (ret)
		aml_code_version_release(out);
	if (uploaded_out)
		*uploaded_out = uploaded;
	buf_release(&version);
	return ret;
}
