#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jwt.h"
#include "core/banned.h"

/* Entra refuses certificate credentials with smaller RSA keys. */
#define MIN_RSA_BITS 2048
/* A JWT longer than this is not one we were meant to read (GitHub's are ~1-2 KiB). */
#define MAX_TOKEN_LEN (64 * 1024)

struct jwt_key {
	EVP_PKEY *pkey;
	struct buf x5t, x5t_s256;
};

/* Refuses encrypted keys: without this OpenSSL would prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static X509 *read_certificate(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert;

	if (!bio)
		abort();
	/* PEM_read_bio_X509 skips blocks of other types, so the key may come first. */
	cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	return cert;
}

static EVP_PKEY *read_private_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey;

	if (!bio)
		abort();
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	return pkey;
}

/* Sets x5t and x5t#S256 from the DER form of `cert`. */
static int thumbprints(struct jwt_key *key, X509 *cert)
{
	unsigned char *der = NULL, digest[EVP_MAX_MD_SIZE];
	unsigned int n;
	int der_len = i2d_X509(cert, &der);
	int ret = 0;

	if (der_len <= 0) {
		ret = error_set(ERR_INPUT, "the certificate cannot be encoded as DER");
		goto done;
	}
	if (!EVP_Digest(der, (size_t)der_len, digest, &n, EVP_sha1(), NULL))
		abort();
	base64url_encode(&key->x5t, digest, n);
	if (!EVP_Digest(der, (size_t)der_len, digest, &n, EVP_sha256(), NULL))
		abort();
	base64url_encode(&key->x5t_s256, digest, n);
done:
	OPENSSL_free(der);
	return ret;
}

static int check_key(EVP_PKEY *pkey, X509 *cert)
{
	if (!EVP_PKEY_is_a(pkey, "RSA"))
		return error_set(ERR_INPUT, "the private key is not an RSA key "
				 "(Entra certificate credentials sign with RS256 or PS256)");
	if (EVP_PKEY_get_bits(pkey) < MIN_RSA_BITS)
		return error_set(ERR_INPUT, "the RSA key has %d bits; at least %d are needed",
				 EVP_PKEY_get_bits(pkey), MIN_RSA_BITS);
	if (X509_check_private_key(cert, pkey) != 1)
		return error_set(ERR_INPUT, "the private key does not belong to the certificate");
	return 0;
}

int jwt_key_load(struct jwt_key **out, const char *cert_pem, const char *key_pem)
{
	struct jwt_key *key = xcalloc(1, sizeof(*key));
	X509 *cert = NULL;
	int ret;

	*out = NULL;
	buf_init(&key->x5t);
	buf_init(&key->x5t_s256);
	cert = read_certificate(cert_pem);
	if (!cert) {
		ret = error_set(ERR_INPUT, "the certificate PEM holds no readable certificate");
		goto done;
	}
	key->pkey = read_private_key(key_pem ? key_pem : cert_pem);
	if (!key->pkey) {
		ret = error_set(ERR_INPUT, "the %s PEM holds no readable private key "
				"(an encrypted key is not supported)", key_pem ? "key" : "certificate");
		goto done;
	}
	if ((ret = check_key(key->pkey, cert)) || (ret = thumbprints(key, cert)))
		goto done;
	*out = key;
	key = NULL;
done:
	/* Failed parses leave reasons on OpenSSL's queue; ours is in the message. */
	ERR_clear_error();
	X509_free(cert);
	jwt_key_free(key);
	return ret;
}

void jwt_key_free(struct jwt_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	buf_release(&key->x5t);
	buf_release(&key->x5t_s256);
	free(key);
}

const char *jwt_key_x5t(const struct jwt_key *key)
{
	return key->x5t.data;
}

const char *jwt_key_x5t_s256(const struct jwt_key *key)
{
	return key->x5t_s256.data;
}

const char *jwt_alg_name(enum jwt_alg alg)
{
	return alg == JWT_PS256 ? "PS256" : "RS256";
}

static int alg_of(enum jwt_alg *out, const cJSON *header)
{
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");

	if (cJSON_IsString(alg) && !strcmp(alg->valuestring, "RS256"))
		*out = JWT_RS256;
	else if (cJSON_IsString(alg) && !strcmp(alg->valuestring, "PS256"))
		*out = JWT_PS256;
	else
		return error_set(ERR_INPUT, "JWT header alg must be \"RS256\" or \"PS256\"");
	return 0;
}

/* Appends the base64url signature of `data`. */
static void sign(struct buf *out, EVP_PKEY *pkey, enum jwt_alg alg, const char *data, size_t len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;

	if (!md || EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, pkey) != 1)
		abort();
	/* PS256 (RFC 7518 3.5): MGF1 with SHA-256 and a salt as long as the hash. */
	if (alg == JWT_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		abort();
	if (EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *)data, len) != 1)
		abort();
	sig = xmalloc(sig_len);
	if (EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)data, len) != 1)
		abort();
	base64url_encode(out, sig, sig_len);
	free(sig);
	EVP_MD_CTX_free(md);
}

static void add_segment(struct buf *out, const cJSON *item)
{
	struct buf json = BUF_INIT;

	json_write(&json, item);
	base64url_encode(out, json.data, json.len);
	buf_wipe(&json);
}

int jwt_sign(struct buf *out, const struct jwt_key *key, const cJSON *header, const cJSON *claims)
{
	struct buf input = BUF_INIT;
	enum jwt_alg alg = JWT_RS256;
	int ret;

	if ((ret = alg_of(&alg, header)))
		return ret;
	add_segment(&input, header);
	buf_addch(&input, '.');
	add_segment(&input, claims);
	buf_add(out, input.data, input.len);
	buf_addch(out, '.');
	sign(out, key->pkey, alg, input.data, input.len);
	buf_wipe(&input);
	return 0;
}

int jwt_decode_payload(cJSON **out, const char *token)
{
	size_t len = strnlen(token, MAX_TOKEN_LEN + 1);
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	struct buf payload = BUF_INIT;
	cJSON *root = NULL;
	int ret = 0;

	*out = NULL;
	if (len > MAX_TOKEN_LEN) {
		ret = error_set(ERR_INPUT, "the JWT is longer than %d bytes", MAX_TOKEN_LEN);
		goto done;
	}
	/* Exactly three segments; a JWE (five) or a bare string is not a JWT we read. */
	if (!dot1 || !dot2 || dot1 == token || dot2 == dot1 + 1 ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
		ret = error_set(ERR_INPUT, "the token is not a JWT (three dot-separated segments)");
		goto done;
	}
	if (base64_decode(&payload, dot1 + 1, (size_t)(dot2 - dot1 - 1))) {
		ret = error_set(ERR_INPUT, "the JWT payload is not base64url");
		goto done;
	}
	root = cJSON_ParseWithLength(payload.data, payload.len);
	if (!cJSON_IsObject(root)) {
		ret = error_set(ERR_INPUT, "the JWT payload is not a JSON object");
		goto done;
	}
	*out = root;
	root = NULL;
done:
	cJSON_Delete(root);
	buf_wipe(&payload);
	return ret;
}

int jwt_expiry(int64_t *out, const char *token)
{
	cJSON *claims = NULL;
	const cJSON *exp;
	int ret;

	if ((ret = jwt_decode_payload(&claims, token)))
		return ret;
	exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	/* Bounded so the conversion is defined: year 1 .. far beyond any token. */
	if (!cJSON_IsNumber(exp) || !isfinite(exp->valuedouble) ||
	    exp->valuedouble < 0 || exp->valuedouble > 1e15) {
		ret = error_set(ERR_NOT_FOUND, "the JWT has no numeric exp claim");
		goto done;
	}
	*out = (int64_t)exp->valuedouble;
done:
	cJSON_Delete(claims);
	return ret;
}
