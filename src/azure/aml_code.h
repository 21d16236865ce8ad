#ifndef AZURE_AML_CODE_H
#define AZURE_AML_CODE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "azure/aml_assets.h"
#include "core/buf.h"
#include "core/http.h"

/*
 * Code assets and snapshot upload (azure-contract 3.3). The container is an
 * aml_container of kind AML_CODE. Errors and ownership as in aml_assets.h.
 *
 * Reuse of an identical snapshot: the caller hashes the snapshot (SHA-256,
 * 64 hex digits; how the files are hashed is the domain's choice), and the
 * code version is named after the hash: version = its first 32 hex digits,
 * properties {"hash_sha256": <all 64>, "hash_version": "202208"} (the SDK's
 * keys, so the service's `?hash=` lookup finds it too). An unchanged
 * snapshot therefore maps to a version that already exists, found with one
 * GET, and is never uploaded twice.
 */

#define AML_CODE_HASH_VERSION "202208"

struct aml_code_version {
	struct aml_asset asset;   /* first: the shared calls of aml_assets.h read it */
	char *code_uri;     /* "https://<acct>.blob.core.windows.net/<container>/<prefix>" (create-only) */
};
void aml_code_version_release(struct aml_code_version *v);

int aml_code_version_get(struct aml_code_version *out, struct aml *aml, const char *name,
			 const char *version);
/* PUT W/codes/{name}/versions/{version}; ERR_INPUT without a codeUri. */
int aml_code_version_put(struct aml_code_version *out, struct aml *aml,
			 const struct aml_code_version *v);
int aml_code_version_list(struct aml_code_version **out, size_t *nr_out, struct aml *aml,
			  const char *name, const struct aml_list_options *o);
void aml_code_versions_free(struct aml_code_version *v, size_t nr);

/* Where to upload a snapshot: the answer of startPendingUpload. */
struct aml_pending_upload {
	char *pending_upload_id;
	char *blob_uri;               /* the folder the files go under (no query) */
	char *sas_uri;                /* blob_uri + "?<SAS>": a secret, masked once parsed */
	char *storage_account_arm_id;
};
void aml_pending_upload_release(struct aml_pending_upload *p);

/* POST W/codes/{name}/versions/{version}/startPendingUpload with
 * {"pendingUploadType":"TemporaryBlobReference"} -> a container-level
 * read/write/list SAS (azure-contract 3.3 step 1). */
int aml_code_start_pending_upload(struct aml_pending_upload *out, struct aml *aml,
				  const char *name, const char *version);

/*
 * Uploads every file of `local_dir` to "<blob_uri>/<relative path>" with
 * the SAS in `target->sas_uri`. Returns 0 or a negative code with the
 * message set.
 */
typedef int (*aml_upload_fn)(void *ctx, const struct aml_pending_upload *target,
			     const char *local_dir);
/* The aml_upload_fn over the blob client (azure/blob.h); `ctx` is the
 * struct http_client * to use (borrowed). */
int aml_code_upload_blob(void *ctx, const struct aml_pending_upload *target,
			 const char *local_dir);

/*
 * The code version for the snapshot in `local_dir` whose SHA-256 is
 * `sha256_hex`: the existing one when the hash-named version exists
 * (`*uploaded_out` = 0), else startPendingUpload, `upload`, PUT with
 * codeUri = blob_uri (`*uploaded_out` = 1; `uploaded_out` may be NULL).
 * ERR_INPUT for a hash that is not 64 hex digits; ERR_CONFLICT when the
 * version exists with another hash_sha256. A concurrent run that registered
 * the same version first wins: its version is returned.
 */
int aml_code_ensure(struct aml_code_version *out, int *uploaded_out, struct aml *aml,
		    const char *name, const char *sha256_hex, const char *local_dir,
		    aml_upload_fn upload, void *upload_ctx);

/* Pure pieces. */
int aml_code_version_parse(struct aml_code_version *out, const cJSON *json);
cJSON *aml_code_version_body(const struct aml_code_version *v);
/* {"pendingUploadType":"TemporaryBlobReference","pendingUploadId":null} */
cJSON *aml_pending_upload_body(void);
int aml_pending_upload_parse(struct aml_pending_upload *out, const cJSON *json);
/* The version named after a snapshot hash (the first 32 hex digits, lower
 * case); ERR_INPUT when `sha256_hex` is not 64 hex digits. */
int aml_code_version_for_hash(struct buf *out, const char *sha256_hex);
/* Splits sas_uri "https://host/<container>/<prefix>?<sas>" into the
 * container URL with the SAS ("https://host/<container>?<sas>", for
 * blob_client_new) and the blob name prefix ("<prefix>", maybe empty);
 * ERR_INPUT when it has no container. */
int aml_pending_upload_split(struct buf *container_url, struct buf *prefix,
			     const struct aml_pending_upload *p);

#endif
