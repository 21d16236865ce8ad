#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/banned.h"

void sha256_begin(struct sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		abort();
	h->ctx = ctx;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	if (len && !EVP_DigestUpdate(h->ctx, data, len))
		abort();
}

void sha256_end(struct sha256 *h, unsigned char out[SHA256_LEN])
{
	unsigned int n = SHA256_LEN;

	if (!EVP_DigestFinal_ex(h->ctx, out, &n))
		abort();
	sha256_release(h);
}

void sha256_release(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void sha256_digest(unsigned char out[SHA256_LEN], const void *data, size_t len)
{
	struct sha256 h = SHA256_INIT;

	sha256_begin(&h);
	sha256_update(&h, data, len);
	sha256_end(&h, out);
}

int sha256_file(unsigned char out[SHA256_LEN], const char *path, uint64_t *size_out)
{
	struct sha256 h = SHA256_INIT;
	unsigned char chunk[64 * 1024];
	uint64_t total = 0;
	FILE *f;
	size_t n;
	int ret = 0;

	f = fopen(path, "rb");
	if (!f)
		return error_set(ERR_IO, "%s: %s", path, strerror(errno));
	sha256_begin(&h);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		sha256_update(&h, chunk, n);
		total += n;
	}
	if (ferror(f)) {
		ret = error_set(ERR_IO, "%s: read failed", path);
		sha256_release(&h);
	} else {
		sha256_end(&h, out);
		if (size_out)
			*size_out = total;
	}
	fclose(f);
	return ret;
}

void hmac_sha256(unsigned char out[SHA256_LEN], const void *key, size_t key_len,
		 const void *data, size_t len)
{
	unsigned int n = SHA256_LEN;

	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n))
		abort();
}

void md5_digest(unsigned char out[16], const void *data, size_t len)
{
	unsigned int n = 16;

	if (!EVP_Digest(data, len, out, &n, EVP_md5(), NULL))
		abort();
}

void md5_begin(struct md5 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL))
		abort();
	h->ctx = ctx;
}

void md5_update(struct md5 *h, const void *data, size_t len)
{
	if (len && !EVP_DigestUpdate(h->ctx, data, len))
		abort();
}

void md5_end(struct md5 *h, unsigned char out[MD5_LEN])
{
	unsigned int n = MD5_LEN;

	if (!EVP_DigestFinal_ex(h->ctx, out, &n))
		abort();
	md5_release(h);
}

void md5_release(struct md5 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void random_bytes(void *out, size_t len)
{
	if (RAND_bytes(out, (int)len) != 1) {
		fprintf(stderr, "fatal: no secure randomness available\n");
		abort();
	}
}

void random_hex(struct buf *out, size_t nbytes)
{
	unsigned char *bytes = xmalloc(nbytes);

	random_bytes(bytes, nbytes);
	hex_encode(out, bytes, nbytes);
	free(bytes);
}

void random_uuid(struct buf *out)
{
	unsigned char u[16];

	random_bytes(u, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	buf_addf(out,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}
