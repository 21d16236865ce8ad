#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/encode.h"
#include "core/crypto.h"
#include "support/check.h"

Test(encode, base64_round_trips_every_length)
{
	unsigned char data[40];
	size_t n, i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	for (n = 0; n <= sizeof(data); n++) {
		struct buf enc = BUF_INIT, dec = BUF_INIT;

		base64_encode(&enc, data, n);
		cr_assert_eq(enc.len % 4, 0);
		cr_assert_ok(base64_decode(&dec, enc.data, enc.len));
		cr_assert_eq(dec.len, n);
		cr_assert(!memcmp(dec.data, data, n));
		buf_release(&enc);
		buf_release(&dec);
	}
}

Test(encode, base64_known_vectors)
{
	struct buf b = BUF_INIT;

	base64_encode(&b, "foobar", 6);
	cr_assert_str_eq(b.data, "Zm9vYmFy");
	buf_reset(&b);
	base64_encode(&b, "fo", 2);
	cr_assert_str_eq(b.data, "Zm8=");
	buf_reset(&b);
	base64url_encode(&b, "\xfb\xff", 2);
	cr_assert_str_eq(b.data, "-_8");
	buf_release(&b);
}

Test(encode, base64_rejects_garbage)
{
	struct buf b = BUF_INIT;

	cr_assert_fails(base64_decode(&b, "ab$d", 4), ERR_INPUT, "invalid base64");
	buf_release(&b);
}

Test(encode, url_encoding_keeps_only_unreserved)
{
	struct buf b = BUF_INIT;

	url_encode(&b, "api://AzureADTokenExchange a+b/c~d");
	cr_assert_str_eq(b.data, "api%3A%2F%2FAzureADTokenExchange%20a%2Bb%2Fc~d");
	buf_release(&b);
}

Test(encode, url_without_query_drops_secrets_in_the_query)
{
	struct buf b = BUF_INIT;

	url_without_query(&b, "https://a.blob.core.windows.net/c/b?sv=1&sig=SECRET");
	cr_assert_str_eq(b.data, "https://a.blob.core.windows.net/c/b");
	buf_release(&b);
}

Test(encode, url_origin)
{
	struct buf b = BUF_INIT;

	cr_assert_ok(url_origin(&b, "https://results.example:8443/some/path?q"));
	cr_assert_str_eq(b.data, "https://results.example:8443");
	buf_reset(&b);
	cr_assert_fails(url_origin(&b, "no-scheme"), ERR_INPUT, "absolute");
	buf_release(&b);
}

Test(crypto, sha256_and_hmac_known_vectors)
{
	unsigned char d[SHA256_LEN];
	struct buf hex = BUF_INIT;

	sha256_digest(d, "abc", 3);
	hex_encode(&hex, d, sizeof(d));
	cr_assert_str_eq(hex.data, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	buf_reset(&hex);
	/* RFC 4231 test case 2 */
	hmac_sha256(d, "Jefe", 4, "what do ya want for nothing?", 28);
	hex_encode(&hex, d, sizeof(d));
	cr_assert_str_eq(hex.data, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	buf_release(&hex);
}

Test(crypto, streaming_sha256_equals_one_shot)
{
	unsigned char a[SHA256_LEN], b[SHA256_LEN];
	struct sha256 h = SHA256_INIT;
	const char *text = "the quick brown fox jumps over the lazy dog";

	sha256_begin(&h);
	sha256_update(&h, text, 10);
	sha256_update(&h, text + 10, strlen(text) - 10);
	sha256_end(&h, a);
	sha256_digest(b, text, strlen(text));
	cr_assert(!memcmp(a, b, sizeof(a)));
}

Test(crypto, md5_known_vectors_one_shot_and_streamed)
{
	/* RFC 1321, appendix A.5 */
	static const struct { const char *in, *hex; } v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	unsigned char d[MD5_LEN];
	struct buf hex = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct md5 h = MD5_INIT;

		buf_reset(&hex);
		md5_digest(d, v[i].in, strlen(v[i].in));
		hex_encode(&hex, d, sizeof(d));
		cr_assert_str_eq(hex.data, v[i].hex);
		buf_reset(&hex);
		md5_begin(&h);
		md5_update(&h, v[i].in, strlen(v[i].in));
		md5_end(&h, d);
		cr_assert_null(h.ctx, "end releases the context");
		hex_encode(&hex, d, sizeof(d));
		cr_assert_str_eq(hex.data, v[i].hex);
	}
	buf_release(&hex);
}

Test(crypto, streaming_md5_equals_one_shot_at_every_split)
{
	/* Odd lengths across MD5's 64-byte block edges, split at every point
	 * into three pieces (empty ones included). */
	static const size_t lens[] = { 0, 1, 55, 56, 63, 64, 65, 127, 128, 200 };
	unsigned char data[200], want[MD5_LEN], got[MD5_LEN];
	size_t k, a, b, i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + 7);
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t n = lens[k];

		md5_digest(want, data, n);
		for (a = 0; a <= n; a++)
			for (b = a; b <= n; b += 7) {
				struct md5 h = MD5_INIT;

				md5_begin(&h);
				md5_update(&h, data, a);
				md5_update(&h, data + a, b - a);
				md5_update(&h, data + b, n - b);
				md5_end(&h, got);
				cr_assert(!memcmp(want, got, sizeof(want)),
					  "length %zu split at %zu and %zu", n, a, b);
			}
	}
}

Test(crypto, streaming_md5_in_uneven_pieces_of_a_large_body)
{
	size_t n = 3 * 1024 * 1024 + 17, pos = 0, step = 1;
	unsigned char *data = malloc(n), want[MD5_LEN], got[MD5_LEN];
	struct md5 h = MD5_INIT;
	size_t i;

	cr_assert_not_null(data);
	for (i = 0; i < n; i++)
		data[i] = (unsigned char)((i * 2654435761u) >> 13);
	md5_digest(want, data, n);
	md5_begin(&h);
	while (pos < n) {
		size_t len = step < n - pos ? step : n - pos;

		md5_update(&h, data + pos, len);
		pos += len;
		step = step * 3 + 1; /* 1, 4, 13, ... up to MiB pieces */
		if (step > 1024 * 1024)
			step = 5;
	}
	md5_end(&h, got);
	cr_assert(!memcmp(want, got, sizeof(want)));
	free(data);
}

Test(crypto, md5_release_accepts_a_fresh_or_begun_context)
{
	struct md5 h = MD5_INIT;

	md5_release(&h);
	md5_begin(&h);
	md5_update(&h, "abc", 3);
	md5_release(&h);
	cr_assert_null(h.ctx);
}

Test(crypto, random_uuid_is_version_4)
{
	struct buf u = BUF_INIT, v = BUF_INIT;

	random_uuid(&u);
	random_uuid(&v);
	cr_assert_eq(u.len, 36);
	cr_assert_eq(u.data[14], '4');
	cr_assert(strchr("89ab", u.data[19]) != NULL);
	cr_assert_str_neq(u.data, v.data);
	buf_release(&u);
	buf_release(&v);
}

Test(encode, excerpt_of_file_text_is_short_one_line_and_printable)
{
	struct buf out = BUF_INIT;
	char long_text[200];

	cr_assert_str_eq(excerpt("plain name-1.0"), "plain name-1.0");
	cr_assert_str_eq(excerpt("a\nb\rc\td\\e"), "a\\nb\\rc\\td\\\\e");
	cr_assert_str_eq(excerpt("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
	cr_assert_str_eq(excerpt("caf\xc3\xa9"), "caf\\xc3\\xa9");
	cr_assert_str_eq(excerpt(NULL), "(null)");
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	excerpt_add(&out, long_text);
	cr_assert_eq(out.len, EXCERPT_MAX + 3);
	cr_assert_str_eq(out.data + EXCERPT_MAX, "...");
	buf_release(&out);
	/* The worst case, every byte escaped, still fits. */
	memset(long_text, '\x01', sizeof(long_text) - 1);
	cr_assert_eq(strlen(excerpt(long_text)), EXCERPT_MAX * 4 + 3);
}

Test(encode, a_quoted_path_is_whole_one_line_and_printable)
{
	struct buf out = BUF_INIT;
	char long_path[300];

	quote_path_add(&out, "data/evil\n::error::x\r\x1b[2J\\caf\xc3\xa9\xff");
	cr_assert_str_eq(out.data, "data/evil\\n::error::x\\r\\x1b[2J\\\\caf\\xc3\\xa9\\xff");
	buf_reset(&out);
	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	quote_path_add(&out, long_path);
	cr_assert_str_eq(out.data, long_path);
	buf_reset(&out);
	quote_path_add(&out, NULL);
	cr_assert_str_eq(out.data, "(null)");
	buf_release(&out);
}

Test(encode, excerpt_buffers_survive_several_uses_in_one_message)
{
	const char *a = excerpt("one"), *b = excerpt("two"), *c = excerpt("three");

	cr_assert_str_eq(a, "one");
	cr_assert_str_eq(b, "two");
	cr_assert_str_eq(c, "three");
}

Test(encode, hex_values_of_either_case)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 16; i++) {
		cr_expect_eq(hex_value(digits[i]), (int)i);
		cr_expect_eq(hex_value((char)(digits[i] >= 'a' ? digits[i] - 32 : digits[i])), (int)i);
	}
	cr_expect_eq(hex_value('g'), -1);
	cr_expect_eq(hex_value('G'), -1);
	cr_expect_eq(hex_value('/'), -1);
	cr_expect_eq(hex_value(':'), -1);
	cr_expect_eq(hex_value('\0'), -1);
}

Test(encode, url_decoding_undoes_percent_escapes_and_keeps_the_rest)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "a%20b%2Bc%2fd", "a b+c/d" },
		{ "a+b", "a+b" },               /* not form decoding */
		{ "100%", "100%" },             /* a '%' without two hex digits stays */
		{ "%4", "%4" },
		{ "%g1%1g", "%g1%1g" },
		{ "%%41", "%A" },
		{ "%2541", "%41" },             /* one pass only */
		{ "", "" },
	};
	struct buf out = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&out);
		url_decode(&out, cases[i].in, strlen(cases[i].in));
		cr_expect_str_eq(out.data, cases[i].want, "%s", cases[i].in);
	}
	/* The length bounds it, not a NUL; %00 is a NUL byte. */
	buf_reset(&out);
	url_decode(&out, "%41%00x%42", 7);
	cr_expect_eq(out.len, 3);
	cr_expect(!memcmp(out.data, "A\0x", 3));
	buf_release(&out);
}
