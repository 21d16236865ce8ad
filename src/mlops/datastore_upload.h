#ifndef MLOPS_DATASTORE_UPLOAD_H
#define MLOPS_DATASTORE_UPLOAD_H

#include "azure/aml.h"
#include "azure/aml_workspace.h"
#include "azure/blob.h"
#include "azure/token.h"
#include "core/http.h"

/*
 * Uploads local data to a workspace datastore, authenticating the way the
 * datastore allows: its account key or SAS (listSecrets), or for an
 * identity-based datastore our own Entra token for storage. Used for
 * datasets and for environment build contexts.
 */
struct datastore_upload {
	const char *local_path;   /* a file or a folder */
	int is_dir;
	const char *prefix;       /* blob folder, no leading or trailing '/' */
	struct token_source tokens; /* asked for AZURE_SCOPE_STORAGE; may be empty
				     * when the datastore has a key */
};

/*
 * Uploads to `store` (see aml_datastore_get_default). A file lands at
 * <prefix>/<its name>, a folder's files under <prefix>/. `count_out` (may
 * be NULL) receives the number of files.
 */
int datastore_upload(struct aml *aml, struct http_client *http,
		     const struct aml_datastore *store, const struct datastore_upload *u,
		     size_t *count_out);

/* A blob client for the container of `store`, authenticated as
 * datastore_upload is; also what reads a job's outputs back. */
int datastore_blob_client(struct blob_client **out, struct aml *aml, struct http_client *http,
			  const struct aml_datastore *store, struct token_source tokens);

#endif
