#ifndef CORE_CRYPTO_H
#define CORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Hashing, MACs and randomness over OpenSSL. */

#define SHA256_LEN 32

/* A streaming SHA-256; init allocates, final or release frees. */
struct sha256 {
	void *ctx;
};
#define SHA256_INIT { NULL }

void sha256_begin(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Writes the 32-byte digest and releases the context. */
void sha256_end(struct sha256 *h, unsigned char out[SHA256_LEN]);
void sha256_release(struct sha256 *h);
/* One-shot digest of a buffer. */
void sha256_digest(unsigned char out[SHA256_LEN], const void *data, size_t len);
/* Digest of a file's bytes, streamed; returns 0 or ERR_IO. */
int sha256_file(unsigned char out[SHA256_LEN], const char *path, uint64_t *size_out);

void hmac_sha256(unsigned char out[SHA256_LEN], const void *key, size_t key_len,
		 const void *data, size_t len);
/* MD5 of a buffer, for blob Content-MD5 headers (not for security). */
void md5_digest(unsigned char out[16], const void *data, size_t len);

#define MD5_LEN 16

/*
 * A streaming MD5, the same shape as the SHA-256 above: a body can be hashed
 * in small pieces (interleaved with other work) without holding it whole.
 * begin allocates, end or release frees; release accepts an INIT'd value.
 */
struct md5 {
	void *ctx;
};
#define MD5_INIT { NULL }

void md5_begin(struct md5 *h);
void md5_update(struct md5 *h, const void *data, size_t len);
/* Writes the 16-byte digest and releases the context. */
void md5_end(struct md5 *h, unsigned char out[MD5_LEN]);
void md5_release(struct md5 *h);

/* Fills `out` from the OS CSPRNG; aborts if it cannot (never weak randomness). */
void random_bytes(void *out, size_t len);
/* Appends `nbytes` random bytes as lowercase hex. */
void random_hex(struct buf *out, size_t nbytes);
/* Appends a random RFC 4122 version 4 UUID. */
void random_uuid(struct buf *out);

#endif
