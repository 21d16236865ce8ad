#ifndef AZURE_BLOB_INTERNAL_H
#define AZURE_BLOB_INTERNAL_H

#include <stdint.h>

#include "azure/blob.h"
#include "core/buf.h"
#include "core/http.h"

/*
 * What the parts of the blob client share, and nothing outside them uses:
 * azure/blob.c holds the client and builds and authorizes each request;
 * blob_upload.c and blob_download.c say which requests to send.
 */

/* Transfers in flight when the caller does not say. */
#define BLOB_DEFAULT_PARALLEL 8
/* Error bodies are small XML documents. */
#define BLOB_ERROR_MAX_RESPONSE (1u << 20)
#define BLOB_MAX_HEADERS 24

/* One request being built: its URL, its headers, and a body held in memory. */
struct blob_req {
	const char *method;
	struct buf url;
	char *headers[BLOB_MAX_HEADERS + 1];
	size_t nr;
	struct buf body;    /* an in-memory body (block list) */
};

void blob_req_init(struct blob_req *r, const char *method);
void blob_req_release(struct blob_req *r);
/* Adds one "Name: value" header; more than BLOB_MAX_HEADERS is a programming error. */
void blob_req_header(struct blob_req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sets the URL of `name` (NULL: the container itself) with our `query` (may be NULL). */
void blob_req_url(struct blob_req *r, const struct blob_client *c, const char *name,
		  const char *query);
/*
 * Adds x-ms-version, x-ms-date and the authorization, last (Shared Key
 * signs the rest), for a body of `content_length` bytes. 0, or the token
 * source's error.
 */
int blob_req_authorize(struct blob_req *r, struct blob_client *c, uint64_t content_length);
/*
 * After a refusal `resp`: 1 when `r` was authorized again with a new token
 * and should be sent again (once per request, `*retried`), 0 when the
 * answer stands, or the token source's error.
 */
int blob_req_reauthorize(struct blob_req *r, struct blob_client *c,
			 const struct http_response *resp, int *retried);
/* Points `out` at the method, URL and headers of `r` (borrowed); the rest is zero. */
void blob_req_to_http(struct http_request *out, struct blob_req *r);

/* Sets the error for a reply that is not the expected status, with Azure's code and message. */
int blob_reply_error(const struct http_response *resp, const char *method, const char *url);

/* The HTTP client `c` sends with (borrowed). */
struct http_client *blob_client_http(const struct blob_client *c);

#endif
