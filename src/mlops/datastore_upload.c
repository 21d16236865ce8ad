#include <string.h>

#include "azure/blob.h"
#include "core/error.h"
#include "mlops/datastore_upload.h"
#include "core/banned.h"

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int datastore_blob_client(struct blob_client **out, struct aml *aml, struct http_client *http,
			  const struct aml_datastore *store, struct token_source tokens)
{
	struct aml_datastore_secret secret = AML_DATASTORE_SECRET_INIT;
	struct blob_auth auth = { 0 };
	struct buf url = BUF_INIT;
	int ret;

	if ((ret = aml_datastore_container_url(&url, store)))
		goto done;
	if (store->credentials_type && !strcmp(store->credentials_type, "None")) {
		/* Identity-based access: our own Entra token for storage. */
		if (!token_source_ready(&tokens)) {
			ret = error_set(ERR_AUTH, "datastore %s has no key, and no storage token "
					"is available", store->name);
			goto done;
		}
		auth.kind = BLOB_AUTH_BEARER;
		auth.tokens = tokens;
	} else {
		if ((ret = aml_datastore_list_secrets(&secret, aml, store->name)))
			goto done;
		if (!strcmp(secret.secrets_type, "Sas")) {
			const char *sas = secret.value.data;

			auth.kind = BLOB_AUTH_SAS;
			buf_addch(&url, '?');
			buf_addstr(&url, *sas == '?' ? sas + 1 : sas);
		} else {
			auth.kind = BLOB_AUTH_SHARED_KEY;
			auth.account_key = secret.value.data;
		}
	}
	ret = blob_client_new(out, http, url.data, &auth);
done:
	aml_datastore_secret_release(&secret);
	buf_wipe(&url);
	return ret;
}

int datastore_upload(struct aml *aml, struct http_client *http,
		     const struct aml_datastore *store, const struct datastore_upload *u,
		     size_t *count_out)
{
	struct blob_client *blob = NULL;
	struct buf name = BUF_INIT;
	size_t count = 1;
	int ret;

	if ((ret = datastore_blob_client(&blob, aml, http, store, u->tokens)))
		goto done;
	if (u->is_dir) {
		ret = blob_upload_dir(blob, u->prefix, u->local_path, NULL, &count);
	} else {
		buf_addf(&name, "%s/%s", u->prefix, base_name(u->local_path));
		ret = blob_upload_file(blob, name.data, u->local_path, NULL);
	}
	if (!ret && count_out)
		*count_out = count;
done:
	blob_client_free(blob);
	buf_release(&name);
	return ret;
}
