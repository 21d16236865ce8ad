#ifndef MLOPS_CODE_SNAPSHOT_H
#define MLOPS_CODE_SNAPSHOT_H

#include "azure/aml_code.h"
#include "core/buf.h"
#include "core/http.h"

/*
 * A job's code folder as an Azure ML code version: the folder is hashed
 * (SHA-256 over each file's relative path and content hash, as
 * dataset_hash does, so a renamed, added or changed file changes it), and
 * aml_code_ensure reuses the version named after that hash or uploads the
 * folder through startPendingUpload and registers it.
 */

/* The code asset name for a folder: its last path component with anything
 * outside [A-Za-z0-9_-] as '-', or "code" when nothing is left. */
void code_snapshot_name(struct buf *out, const char *dir);

/*
 * Ensures the code version for `dir`. `hash_out` (may be NULL) receives
 * the 64 hex digits, `*uploaded_out` (may be NULL) whether it was
 * uploaded now. `http` is used for the blob upload (borrowed). Errors as
 * aml_code_ensure, ERR_IO for an unreadable folder.
 */
int code_snapshot_ensure(struct aml_code_version *out, struct buf *hash_out, int *uploaded_out,
			 struct aml *aml, struct http_client *http, const char *dir);

#endif
