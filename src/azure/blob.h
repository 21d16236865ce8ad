#ifndef AZURE_BLOB_H
#define AZURE_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "azure/token.h"
#include "core/buf.h"
#include "core/http.h"

/*
 * Azure Blob Storage: upload files and folders (Put Blob for small files,
 * Put Block in parallel + Put Block List for large ones), download blobs
 * and prefixes. Contract: docs/azure-contract.md section 4.
 *
 * A client is bound to one container URL, "https://<account>.blob.core.
 * windows.net/<container>", with the SAS query after '?' for SAS auth.
 * Errors: ERR_AUTH (401/403), ERR_NOT_FOUND (404), ERR_CONFLICT (409/412),
 * ERR_HTTP (other statuses), ERR_NETWORK / ERR_TIMEOUT (no answer), ERR_IO
 * (local files), ERR_INPUT (bad arguments). A failed call's message is
 * "<METHOD> <url without query>: HTTP <status> <Code>: <Message>" from
 * Azure's XML error; it never holds the SAS signature, key or token.
 */

/* Sent on every request: >= 2019-12-12 for 4000 MiB blocks, >= 2017-11-09 for bearer. */
#define BLOB_API_VERSION "2024-11-04"

enum blob_auth_kind {
	BLOB_AUTH_SAS,        /* the container URL carries the SAS query */
	BLOB_AUTH_SHARED_KEY, /* account name + base64 account key */
	BLOB_AUTH_BEARER,     /* an Entra token for AZURE_SCOPE_STORAGE */
};

struct blob_auth {
	enum blob_auth_kind kind;
	const char *account_key;  /* SHARED_KEY: base64, copied and masked in the log */
	/* BEARER: asked for AZURE_SCOPE_STORAGE before every request, so the
	 * credential behind it can renew as it sees fit. */
	struct token_source tokens;
};

struct blob_client;

/*
 * A client for the container at `container_url` over `http` (borrowed; it
 * must outlive the client). `auth` is copied (what its token source's ctx
 * points at is borrowed). ERR_INPUT when the URL is not https://host/container
 * or the key is not base64.
 */
int blob_client_new(struct blob_client **out, struct http_client *http,
		    const char *container_url, const struct blob_auth *auth);
/* Wipes the key and frees; NULL is fine. */
void blob_client_free(struct blob_client *c);

struct blob_upload_options {
	const char *content_type;      /* NULL: application/octet-stream */
	const char *const *metadata;   /* "name", "value" pairs, NULL-terminated: x-ms-meta-<name> */
	int parallel;                  /* transfers in flight; 0: 8 */
	uint64_t single_put_max;       /* Put Blob up to this size; 0: 8 MiB */
	uint64_t block_size;           /* 0: blob_choose_block_size() */
};

/*
 * Uploads the file at `path` to blob `name` (a '/'-separated path inside
 * the container, replaced if it exists). Streams from disk: each body's
 * Content-MD5 is computed ahead of sending in 256 KiB pieces between
 * network events, so memory stays at one piece plus libcurl's buffers,
 * whatever the file and block sizes. Each request is retried on its own.
 */
int blob_upload_file(struct blob_client *c, const char *name, const char *path,
		     const struct blob_upload_options *o);

/*
 * Uploads every regular file under `dir` to "<prefix>/<relative path>"
 * (no '/' added when `prefix` is empty or ends in one), several files and
 * blocks at once within `o->parallel`. `o->content_type` applies to all.
 * `count_out` (may be NULL) receives the number of files uploaded.
 */
int blob_upload_dir(struct blob_client *c, const char *prefix, const char *dir,
		    const struct blob_upload_options *o, size_t *count_out);

/* One file for blob_upload_files: `path` on disk goes to "<prefix>/<name>". */
struct blob_file {
	const char *path;
	const char *name;
	uint64_t size;
};

/*
 * Uploads exactly the `nr` files listed, as blob_upload_dir does a folder's,
 * so a caller that chose the files (a code snapshot leaving out ignored
 * ones) uploads the set it hashed. ERR_INPUT for a name that is empty,
 * starts with '/' or is longer than 1024 bytes.
 */
int blob_upload_files(struct blob_client *c, const char *prefix, const struct blob_file *files,
		      size_t nr, const struct blob_upload_options *o, size_t *count_out);

/* Downloads blob `name` to `path` (created or replaced; parents created),
 * streamed. ERR_NOT_FOUND when the blob does not exist. */
int blob_download_file(struct blob_client *c, const char *path, const char *name);

/*
 * Downloads every blob whose name starts with `prefix` to "<dir>/<name
 * without prefix>", `parallel` (0: 8) at once. A name that would leave
 * `dir` ("..", absolute) is ERR_INPUT. `count_out` may be NULL.
 */
int blob_download_prefix(struct blob_client *c, const char *dir, const char *prefix,
			 int parallel, size_t *count_out);

/* One page of List Blobs: names (owned, entity-decoded) and the next marker. */
struct blob_list {
	char **names;
	uint64_t *sizes;
	size_t nr;
	char *next_marker; /* NULL when this was the last page */
};
#define BLOB_LIST_INIT { NULL, NULL, 0, NULL }
void blob_list_release(struct blob_list *l);

/* Lists blobs under `prefix`, following NextMarker; appends to `out`. */
int blob_list(struct blob_list *out, struct blob_client *c, const char *prefix);

/* ---- pure pieces, exported for tests (the block ids, block list body and
 * error body are core/block_blob.h's) ---- */

/*
 * Parses a List Blobs EnumerationResults body, appending names and sizes to
 * `out` and replacing its next_marker. ERR_INPUT when it is not one, or a
 * <Blob> in it has no <Name> or no end.
 */
int blob_list_parse(struct blob_list *out, const char *xml, size_t len);

/*
 * The Shared Key string-to-sign for a request (azure-contract 4, "Shared Key"):
 * `headers` are the "Name: value" lines to be sent, `content_length` the
 * body length (libcurl adds that header itself), `url` the full URL as sent.
 */
int blob_string_to_sign(struct buf *out, const char *account, const char *method,
			const char *url, const char *const *headers, uint64_t content_length);
/* "SharedKey <account>:<base64 HMAC-SHA256(key, string_to_sign)>"; `key` is decoded. */
void blob_shared_key_header(struct buf *out, const char *account, const void *key,
			    size_t key_len, const char *string_to_sign);

/*
 * The block size for a file of `size` bytes: 8 MiB (above the 4 MiB
 * high-throughput threshold), doubled while that makes more than 10,000
 * blocks, up to 100 MiB; beyond that the least MiB multiple that fits
 * 50,000 blocks. 0 when even 4000 MiB blocks cannot hold the file.
 */
uint64_t blob_choose_block_size(uint64_t size);

/*
 * The URL of blob `name` (each path segment percent-encoded) in the
 * container at `base` (no query), then `query` (ours, may be NULL) and the
 * SAS query `sas` (may be NULL) appended after '?' / '&', the SAS byte for
 * byte.
 */
void blob_url(struct buf *out, const char *base, const char *name, const char *query,
	      const char *sas);

#endif
