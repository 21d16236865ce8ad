#ifndef MLOPS_CODE_SNAPSHOT_H
#define MLOPS_CODE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "azure/aml_code.h"
#include "core/buf.h"
#include "core/http.h"

/*
 * A job's code folder as an Azure ML code version (docs/code-snapshot.md).
 *
 * What goes in is decided once, by code_snapshot_scan, and that list is
 * both hashed and uploaded: every regular file under the folder, except
 *   - `.git` (fs_walk never enters it: actions/checkout keeps the token in
 *     .git/config),
 *   - what the folder's own `.amlignore` names, or its `.gitignore` when
 *     there is no .amlignore (the Azure ML CLI's get_ignore_file: one file,
 *     at the root of the code folder), read with git's rules (core/ignore);
 *     an ignored folder is not even entered.
 * A symbolic link that leads out of the folder, or an ignore file that is
 * not a regular file inside it, is an ERR_INPUT naming it.
 *
 * The hash is SHA-256 over each listed file's relative path and content
 * hash in walk order (dataset_hash's folder format, so a folder without
 * ignored files keeps its version), hence a renamed, added or changed file
 * changes it and an ignored one does not. aml_code_ensure reuses the
 * version named after it or uploads the list and registers it.
 */

struct code_file {
	char *path;         /* as opened: dir + "/" + rel */
	char *rel;          /* '/'-separated, relative to the folder: the blob name */
	uint64_t size;
};

struct code_snapshot {
	struct code_file *files;  /* in walk order */
	size_t nr;
	uint64_t size;            /* of all files */
	unsigned ignored;         /* files and folders the ignore file left out */
	const char *ignore_file;  /* ".amlignore", ".gitignore" or NULL (static) */
	char hash[65];            /* hex SHA-256 */
};
#define CODE_SNAPSHOT_INIT { NULL, 0, 0, 0, NULL, { 0 } }

/* Lists and hashes the snapshot of `dir`. ERR_INPUT as above, ERR_IO for
 * an unreadable file; on error `out` holds nothing. */
int code_snapshot_scan(struct code_snapshot *out, const char *dir);
void code_snapshot_release(struct code_snapshot *s);

/*
 * Ensures the code version of `snap`, the scan of `dir`: reused when the
 * version named after its hash exists, else its files uploaded and
 * registered. Scanning is separate so that a refusal (a link out, a bad
 * ignore file) comes before anything is sent. `*uploaded_out` (may be
 * NULL) says whether it was uploaded now; `http` is used for the blob
 * upload (borrowed). Errors as aml_code_ensure.
 */
int code_snapshot_ensure(struct aml_code_version *out, int *uploaded_out, struct aml *aml,
			 struct http_client *http, const struct code_snapshot *snap, const char *dir);

/* code_snapshot_ensure, then the version's ARM id appended to `id_out`,
 * with a line saying whether it was uploaded or reused. */
int code_snapshot_ensure_id(struct buf *id_out, struct aml *aml, struct http_client *http,
			    const struct code_snapshot *snap, const char *dir);

#endif
