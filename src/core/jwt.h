#ifndef CORE_JWT_H
#define CORE_JWT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"

/*
 * JSON Web Tokens over OpenSSL: signing with a certificate's RSA key (the
 * Entra certificate client assertion, docs/azure-contract.md section 1) and
 * reading the claims of a token we did not sign, without verifying it (the
 * lifetime of a token we were handed).
 *
 * A jwt_key holds an X.509 certificate and its RSA private key. The key
 * lives only inside OpenSSL's EVP_PKEY, which clears its numbers when
 * freed; no copy of the PEM text is kept.
 */

enum jwt_alg {
	JWT_RS256, /* RSASSA-PKCS1-v1_5 with SHA-256; header carries x5t */
	JWT_PS256, /* RSASSA-PSS with SHA-256, salt length 32; header carries x5t#S256 */
};

struct jwt_key;

/*
 * Loads a certificate and its RSA private key from PEM text. `cert_pem`
 * holds the certificate and, when `key_pem` is NULL, the key too, in either
 * order (the first certificate is taken: the leaf). The key may be PKCS#8
 * ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"); an encrypted key is refused
 * rather than prompting for a pass phrase. Returns 0, or ERR_INPUT naming
 * what is missing or wrong (no certificate, no key, not RSA, shorter than
 * 2048 bits, key and certificate do not match); never quotes the PEM.
 * Free with jwt_key_free.
 */
int jwt_key_load(struct jwt_key **out, const char *cert_pem, const char *key_pem);
/* Frees the key (OpenSSL wipes its private numbers); NULL is fine. */
void jwt_key_free(struct jwt_key *key);

/* base64url (no padding) of the SHA-1 of the DER certificate: header `x5t`. */
const char *jwt_key_x5t(const struct jwt_key *key);
/* base64url (no padding) of the SHA-256 of the DER certificate: header `x5t#S256`. */
const char *jwt_key_x5t_s256(const struct jwt_key *key);

/* "RS256" or "PS256". */
const char *jwt_alg_name(enum jwt_alg alg);

/*
 * Appends the compact JWT b64url(header).b64url(claims).b64url(signature)
 * to `out`. The algorithm is the header's "alg" ("RS256" or "PS256"), so
 * what is signed and what is announced cannot disagree. Returns 0, or
 * ERR_INPUT for a header without a supported alg.
 */
int jwt_sign(struct buf *out, const struct jwt_key *key, const cJSON *header, const cJSON *claims);

/*
 * The claims (middle segment) of a compact JWT, parsed but NOT verified:
 * only for reading a token's lifetime or identity, never for trusting it.
 * Returns 0 and a tree the caller frees with cJSON_Delete, or ERR_INPUT when
 * `token` is not three base64url segments with a JSON object in the middle.
 * The message never quotes the token.
 */
int jwt_decode_payload(cJSON **out, const char *token);

/* The `exp` claim (epoch seconds) of an unverified JWT: 0, ERR_INPUT as above,
 * or ERR_NOT_FOUND when the token has no numeric exp. */
int jwt_expiry(int64_t *out, const char *token);

#endif
