#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/encode.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/jwt.h"
#include "support/check.h"

/*
 * A throwaway certificate and key made with the openssl CLI for each test,
 * so no private key is committed and the thumbprints are checked against
 * an independent implementation (`openssl x509 -fingerprint`).
 */
static char dir[] = "/tmp/test_jwt.XXXXXX";
static struct buf cert_pem = BUF_INIT, key_pem = BUF_INIT;

static void run(const char *fmt, const char *arg)
{
	struct buf cmd = BUF_INIT;

	buf_addf(&cmd, fmt, arg, arg, arg, arg);
	cr_assert_eq(system(cmd.data), 0, "failed: %s", cmd.data);
	buf_release(&cmd);
}

static void slurp(struct buf *out, const char *name)
{
	struct buf path = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f;

	buf_addf(&path, "%s/%s", dir, name);
	f = fopen(path.data, "r");
	cr_assert(f, "cannot open %s", path.data);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	fclose(f);
	buf_release(&path);
}

static void make_fixture(void)
{
	cr_assert(mkdtemp(dir));
	run("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem -out %s/cert.pem "
	    "-subj /CN=mlops-unit-test -days 1 2>/dev/null", dir);
	slurp(&cert_pem, "cert.pem");
	slurp(&key_pem, "key.pem");
}

static void drop_fixture(void)
{
	run("rm -rf %s", dir);
	buf_wipe(&key_pem);
	buf_release(&cert_pem);
}

TestSuite(jwt, .init = make_fixture, .fini = drop_fixture);

/* `openssl x509 -fingerprint -<md>` ("SHA1 Fingerprint=AB:CD:...") as base64url. */
static void openssl_thumbprint(struct buf *out, const char *md)
{
	struct buf cmd = BUF_INIT, raw = BUF_INIT;
	char line[512], *p;
	FILE *f;

	buf_addf(&cmd, "openssl x509 -in %s/cert.pem -noout -fingerprint -%s", dir, md);
	f = popen(cmd.data, "r");
	cr_assert(f && fgets(line, sizeof(line), f));
	pclose(f);
	p = strchr(line, '=');
	cr_assert(p);
	for (p++; p[0] && p[1] && p[0] != '\n'; p += p[2] == ':' ? 3 : 2) {
		char hex[3] = { p[0], p[1], 0 };

		buf_addch(&raw, (char)strtol(hex, NULL, 16));
	}
	base64url_encode(out, raw.data, raw.len);
	buf_release(&cmd);
	buf_release(&raw);
}

static struct jwt_key *load(void)
{
	struct buf both = BUF_INIT;
	struct jwt_key *key = NULL;

	buf_addf(&both, "%s%s", cert_pem.data, key_pem.data);
	cr_assert_ok(jwt_key_load(&key, both.data, NULL));
	buf_wipe(&both);
	return key;
}

/* Checks `token`'s signature with the certificate's public key, as Entra does. */
static int verify(const char *token, int pss)
{
	const char *dot = strrchr(token, '.');
	struct buf sig = BUF_INIT;
	BIO *bio = BIO_new_mem_buf(cert_pem.data, -1);
	X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	EVP_PKEY *pub = X509_get_pubkey(cert);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	cr_assert(dot && !base64_decode(&sig, dot + 1, strlen(dot + 1)));
	cr_assert_eq(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub), 1);
	if (pss) {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		/* Entra (and RFC 7518) expect salt length = digest length, 32. */
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
	}
	ok = EVP_DigestVerify(md, (const unsigned char *)sig.data, sig.len,
			      (const unsigned char *)token, (size_t)(dot - token)) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	X509_free(cert);
	BIO_free(bio);
	buf_release(&sig);
	return ok;
}

static void sign_with(struct buf *out, struct jwt_key *key, const char *alg)
{
	cJSON *header = json_new_object(), *claims = json_new_object();

	json_add_string(header, "alg", alg);
	json_add_string(header, "typ", "JWT");
	json_add_string(claims, "iss", "me");
	json_add_number(claims, "exp", 1700000600);
	cr_assert_ok(jwt_sign(out, key, header, claims));
	cJSON_Delete(header);
	cJSON_Delete(claims);
}

Test(jwt, x5t_is_the_base64url_sha1_of_the_certificate)
{
	struct jwt_key *key = load();
	struct buf want = BUF_INIT;

	openssl_thumbprint(&want, "sha1");
	cr_assert_str_eq(jwt_key_x5t(key), want.data);
	cr_assert_eq(strlen(jwt_key_x5t(key)), 27); /* 20 bytes, no padding */
	buf_release(&want);
	jwt_key_free(key);
}

Test(jwt, x5t_s256_is_the_base64url_sha256_of_the_certificate)
{
	struct jwt_key *key = load();
	struct buf want = BUF_INIT;

	openssl_thumbprint(&want, "sha256");
	cr_assert_str_eq(jwt_key_x5t_s256(key), want.data);
	cr_assert_eq(strlen(jwt_key_x5t_s256(key)), 43);
	buf_release(&want);
	jwt_key_free(key);
}

Test(jwt, rs256_signature_verifies_with_the_certificate_key)
{
	struct jwt_key *key = load();
	struct buf token = BUF_INIT;

	sign_with(&token, key, "RS256");
	cr_assert(verify(token.data, 0));
	cr_assert_not(verify(token.data, 1), "an RS256 signature must not pass as PSS");
	buf_release(&token);
	jwt_key_free(key);
}

Test(jwt, ps256_signature_verifies_with_pss_and_a_32_byte_salt)
{
	struct jwt_key *key = load();
	struct buf token = BUF_INIT;

	sign_with(&token, key, "PS256");
	cr_assert(verify(token.data, 1));
	cr_assert_not(verify(token.data, 0));
	buf_release(&token);
	jwt_key_free(key);
}

Test(jwt, signed_segments_decode_to_what_was_signed)
{
	struct jwt_key *key = load();
	struct buf token = BUF_INIT, header = BUF_INIT;
	cJSON *claims = NULL;
	int64_t exp = 0;

	sign_with(&token, key, "RS256");
	cr_assert_ok(base64_decode(&header, token.data, strcspn(token.data, ".")));
	cr_assert_str_eq(header.data, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
	cr_assert_ok(jwt_decode_payload(&claims, token.data));
	cr_assert_str_eq(json_string_or(claims, "iss", ""), "me");
	cr_assert_ok(jwt_expiry(&exp, token.data));
	cr_assert_eq(exp, 1700000600);
	cJSON_Delete(claims);
	buf_release(&token);
	buf_release(&header);
	jwt_key_free(key);
}

Test(jwt, loads_the_key_before_the_certificate_and_a_separate_key)
{
	struct buf swapped = BUF_INIT;
	struct jwt_key *a = NULL, *b = NULL;

	buf_addf(&swapped, "%s%s", key_pem.data, cert_pem.data);
	cr_assert_ok(jwt_key_load(&a, swapped.data, NULL));
	cr_assert_ok(jwt_key_load(&b, cert_pem.data, key_pem.data));
	cr_assert_str_eq(jwt_key_x5t(a), jwt_key_x5t(b));
	buf_wipe(&swapped);
	jwt_key_free(a);
	jwt_key_free(b);
}

Test(jwt, refuses_an_unsupported_alg)
{
	struct jwt_key *key = load();
	struct buf out = BUF_INIT;
	cJSON *header = json_new_object(), *claims = json_new_object();

	json_add_string(header, "alg", "none");
	cr_assert_fails(jwt_sign(&out, key, header, claims), ERR_INPUT, "RS256");
	cr_assert_eq(out.len, 0);
	cJSON_Delete(header);
	cJSON_Delete(claims);
	jwt_key_free(key);
}

Test(jwt, a_certificate_without_a_key_is_refused)
{
	struct jwt_key *key = NULL;

	cr_assert_fails(jwt_key_load(&key, cert_pem.data, NULL), ERR_INPUT, "no readable private key");
	cr_assert_null(key);
	cr_assert_fails(jwt_key_load(&key, key_pem.data, NULL), ERR_INPUT, "no readable certificate");
	cr_assert_fails(jwt_key_load(&key, "not a pem", NULL), ERR_INPUT, "certificate");
}

Test(jwt, an_encrypted_key_is_refused_without_prompting)
{
	struct buf enc = BUF_INIT;
	struct jwt_key *key = NULL;

	run("openssl pkey -in %s/key.pem -aes256 -passout pass:test -out %s/enc.pem", dir);
	slurp(&enc, "enc.pem");
	cr_assert_fails(jwt_key_load(&key, cert_pem.data, enc.data), ERR_INPUT, "encrypted");
	buf_release(&enc);
}

Test(jwt, a_key_of_another_certificate_is_refused)
{
	struct buf other = BUF_INIT;
	struct jwt_key *key = NULL;

	run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s/other.pem 2>/dev/null", dir);
	slurp(&other, "other.pem");
	cr_assert_fails(jwt_key_load(&key, cert_pem.data, other.data), ERR_INPUT, "does not belong");
	buf_release(&other);
}

Test(jwt, a_non_rsa_key_is_refused)
{
	struct buf ec = BUF_INIT;
	struct jwt_key *key = NULL;

	run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s/eckey.pem "
	    "-out %s/ec.pem -subj /CN=ec -days 1 2>/dev/null && cat %s/eckey.pem >> %s/ec.pem", dir);
	slurp(&ec, "ec.pem");
	cr_assert_fails(jwt_key_load(&key, ec.data, NULL), ERR_INPUT, "not an RSA key");
	buf_release(&ec);
}

Test(jwt, decoding_garbage_fails_without_quoting_it)
{
	static const char *const bad[] = {
		"", "abc", "a.b", "a..c", ".b.c", "a.b.c.d.e", "a.!!!.c", "a.bm90IGpzb24.c", /* "not json" */
		"a.WzFd.c", /* "[1]": not an object */
	};
	cJSON *claims = NULL;
	int64_t exp;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(jwt_decode_payload(&claims, bad[i]), ERR_INPUT, "accepted \"%s\"", bad[i]);
		cr_assert_null(claims);
		if (*bad[i])
			cr_assert_null(strstr(error_message(), bad[i]), "message quotes the token: %s",
					  error_message());
	}
	/* {"sub":"x"}: a JWT without exp */
	cr_assert_fails(jwt_expiry(&exp, "e30.eyJzdWIiOiJ4In0.c2ln"), ERR_NOT_FOUND, "exp");
}
