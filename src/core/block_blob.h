#ifndef CORE_BLOCK_BLOB_H
#define CORE_BLOCK_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/*
 * The wire pieces of a block blob upload (Put Block, then Put Block List
 * naming the blocks in order), shared by the storage client and by the
 * artifact upload, which writes to a blob through a signed URL it is
 * handed. Pure text: no authorization, no requests; the URLs keep the
 * caller's query (a SAS) byte for byte, since its signature covers the
 * exact bytes. Contract: docs/azure-contract.md section 4.
 */

/* The most blocks one block blob holds. */
#define BLOCK_BLOB_MAX_BLOCKS 50000
/* The query of a Put Block List. */
#define BLOCK_BLOB_LIST_QUERY "comp=blocklist"
/* At most this many bytes of each of Azure's <Code> and <Message> are quoted. */
#define BLOCK_BLOB_DETAIL_MAX 500

/*
 * Appends the id of block `index`: base64 of "block-" and the index in ten
 * digits, so every id of a blob has the same length, as Azure requires.
 */
void block_blob_id(struct buf *out, uint32_t index);

/* Appends the Put Block List body committing blocks 0 .. n-1 in order (<Latest>). */
void block_blob_list_xml(struct buf *out, uint32_t n);

/* Appends the Put Block query of block `index`: "comp=block&blockid=<url-encoded id>". */
void block_blob_block_query(struct buf *out, uint32_t index);

/* Appends `url` byte for byte, then '?' or '&' and the Put Block query of `index`. */
void block_blob_block_url(struct buf *out, const char *url, uint32_t index);
/* ... and the Put Block List URL: `url`, then '?' or '&' and "comp=blocklist". */
void block_blob_list_url(struct buf *out, const char *url);

/*
 * Appends "Code: Message" from a storage <Error> body, entities decoded,
 * the Message cut at its first line (the rest is RequestId and Time, which
 * x-ms-request-id carries), each at most BLOCK_BLOB_DETAIL_MAX bytes of
 * the body. Appends nothing when there is no <Code>; the Code alone when
 * there is no Message.
 */
void block_blob_error_detail(struct buf *out, const char *xml, size_t len);

#endif
