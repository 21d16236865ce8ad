#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "azure/blob.h"
#include "core/block_blob.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/fs.h"
#include "core/http.h"
#include "core/log.h"
#include "support/check.h"
#include "support/stub_server.h"

/* The key and signature were computed independently with the openssl CLI:
 *   printf '%s' "$string_to_sign" | openssl dgst -sha256 -mac HMAC \
 *       -macopt hexkey:$(printf 'sandbox-test-key-0123456789abcdef' | xxd -p) -binary | base64 */
#define TEST_KEY "c2FuZGJveC10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVm"

static const char *const block_headers[] = {
	"x-ms-version: 2024-11-04",
	"X-MS-Date: Mon, 01 Jan 2024 00:00:00 GMT",
	"Content-MD5: abc==",
	"x-ms-meta-B:   v  ",
	"x-ms-blob-type: BlockBlob",
	NULL,
};

Test(blob, string_to_sign_follows_the_shared_key_rules)
{
	struct buf s = BUF_INIT;

	cr_assert_ok(blob_string_to_sign(&s, "myaccount", "PUT",
		"https://myaccount.blob.core.windows.net/c/dir/a%20b.txt?comp=block&blockid=YmxvY2stMDAwMDAwMDAwMA%3D%3D",
		block_headers, 5));
	cr_assert_str_eq(s.data,
		"PUT\n\n\n5\nabc==\n\n\n\n\n\n\n\n"
		"x-ms-blob-type:BlockBlob\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n"
		"x-ms-meta-b:v\nx-ms-version:2024-11-04\n"
		"/myaccount/c/dir/a%20b.txt\nblockid:YmxvY2stMDAwMDAwMDAwMA==\ncomp:block");
	buf_release(&s);
}

Test(blob, shared_key_signature_matches_openssl)
{
	struct buf s = BUF_INIT, key = BUF_INIT, h = BUF_INIT;

	cr_assert_ok(blob_string_to_sign(&s, "myaccount", "PUT",
		"https://myaccount.blob.core.windows.net/c/dir/a%20b.txt?comp=block&blockid=YmxvY2stMDAwMDAwMDAwMA%3D%3D",
		block_headers, 5));
	cr_assert_ok(base64_decode(&key, TEST_KEY, strlen(TEST_KEY)));
	blob_shared_key_header(&h, "myaccount", key.data, key.len, s.data);
	cr_assert_str_eq(h.data, "Authorization: SharedKey myaccount:XzTFI1hLr2NMy5G//opMSwJ8+DdUt92CH2Q9JMf2eqc=");
	buf_release(&s);
	buf_release(&key);
	buf_release(&h);
}

Test(blob, string_to_sign_leaves_zero_length_and_date_empty_and_joins_repeated_parameters)
{
	const char *const headers[] = { "x-ms-date: D", "Date: ignored", "Range: bytes=0-9", NULL };
	const char *const date_only[] = { "Date: Tue, 02 Jan 2024 00:00:00 GMT", NULL };
	struct buf s = BUF_INIT;

	cr_assert_ok(blob_string_to_sign(&s, "acct", "GET",
		"https://acct.blob.core.windows.net/c?restype=container&comp=list&Include=snapshots&include=metadata",
		headers, 0));
	cr_assert_str_eq(s.data, "GET\n\n\n\n\n\n\n\n\n\n\nbytes=0-9\nx-ms-date:D\n"
		"/acct/c\ncomp:list\ninclude:metadata,snapshots\nrestype:container");
	buf_reset(&s);
	cr_assert_ok(blob_string_to_sign(&s, "acct", "HEAD", "https://acct.blob.core.windows.net/c/b",
					 date_only, 0));
	cr_assert_str_eq(s.data, "HEAD\n\n\n\n\n\n" "Tue, 02 Jan 2024 00:00:00 GMT\n\n\n\n\n\n/acct/c/b");
	buf_release(&s);
}

Test(blob, block_size_grows_with_the_file)
{
	const uint64_t MiB = 1024 * 1024;

	cr_assert_eq(blob_choose_block_size(1), 8 * MiB);
	cr_assert_eq(blob_choose_block_size(1024 * MiB), 8 * MiB);
	cr_assert_eq(blob_choose_block_size(10000 * 8 * MiB), 8 * MiB);
	cr_assert_eq(blob_choose_block_size(10000 * 8 * MiB + 1), 16 * MiB);
	cr_assert_eq(blob_choose_block_size(500000 * MiB), 64 * MiB);
	cr_assert_eq(blob_choose_block_size(1000000 * MiB), 100 * MiB);
	/* Past 10,000 blocks of 100 MiB: the least MiB multiple under 50,000 blocks. */
	cr_assert_eq(blob_choose_block_size(2000000 * MiB), 100 * MiB);
	cr_assert_eq(blob_choose_block_size(10000000 * MiB), 200 * MiB);
	cr_assert_eq(blob_choose_block_size(50000 * 4000 * MiB), 4000 * MiB);
	cr_assert_eq(blob_choose_block_size(50000 * 4000 * MiB + 1), 0);
}

Test(blob, url_keeps_the_sas_byte_for_byte)
{
	const char *sas = "sv=2021-08-06&spr=https&se=2030-01-01T00%3A00%3A00Z&sr=c&sp=racwdl&sig=a%2Bb%2F%3D";
	struct buf u = BUF_INIT;

	blob_url(&u, "https://a.blob.core.windows.net/c", "dir/x y+z.txt", "comp=block&blockid=QQ%3D%3D", sas);
	cr_assert_str_eq(u.data, "https://a.blob.core.windows.net/c/dir/x%20y%2Bz.txt"
		"?comp=block&blockid=QQ%3D%3D&sv=2021-08-06&spr=https&se=2030-01-01T00%3A00%3A00Z&sr=c&sp=racwdl&sig=a%2Bb%2F%3D");
	buf_reset(&u);
	blob_url(&u, "https://a.blob.core.windows.net/c", "b", NULL, sas);
	cr_assert_str_eq(u.data, "https://a.blob.core.windows.net/c/b?sv=2021-08-06&spr=https"
		"&se=2030-01-01T00%3A00%3A00Z&sr=c&sp=racwdl&sig=a%2Bb%2F%3D");
	buf_release(&u);
}

Test(blob, list_parser_decodes_names_sizes_and_marker)
{
	const char *xml =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>"
		"<EnumerationResults ServiceEndpoint=\"https://a.blob.core.windows.net/\" ContainerName=\"c\">"
		"<Prefix>p/</Prefix><Blobs>"
		"<Blob><Name>p/a &amp; b&lt;1&gt;.txt</Name><Properties><Content-Length>12</Content-Length></Properties></Blob>"
		"<Blob><Name Encoded=\"true\">p/%01odd</Name><Properties><Content-Length>0</Content-Length></Properties></Blob>"
		"<Blob><Name>p/caf&#233;&#x2603;</Name><Properties /></Blob>"
		/* A name that spells markup, under a decoy attribute; one that climbs. */
		"<Blob><Name NotEncoded=\"true\">&lt;Name&gt;x%41&lt;/Name&gt;</Name></Blob>"
		"<Blob><Name Encoded=\"true\">%2e%2E/..%2Fetc</Name></Blob>"
		"</Blobs><NextMarker>2!72!MDAw&amp;</NextMarker></EnumerationResults>";
	struct blob_list l = BLOB_LIST_INIT;

	cr_assert_ok(blob_list_parse(&l, xml, strlen(xml)));
	cr_assert_eq(l.nr, 5);
	cr_assert_str_eq(l.names[0], "p/a & b<1>.txt");
	cr_assert_eq(l.sizes[0], 12);
	cr_assert_str_eq(l.names[1], "p/\001odd");
	cr_assert_str_eq(l.names[2], "p/caf\xc3\xa9\xe2\x98\x83");
	cr_assert_str_eq(l.names[3], "<Name>x%41</Name>");
	cr_assert_str_eq(l.names[4], "../../etc", "decoded here; the download refuses it");
	cr_assert_str_eq(l.next_marker, "2!72!MDAw&");
	blob_list_release(&l);
}

/* A name with an encoded NUL would be cut short, and "-1" read as the
 * largest size: the first is refused, the second read as no size. */
Test(blob, list_parser_refuses_a_nul_in_a_name_and_reads_no_negative_size)
{
	const char *nul = "<EnumerationResults><Blobs>"
		"<Blob><Name Encoded=\"true\">p/a%00.txt</Name></Blob>"
		"</Blobs><NextMarker /></EnumerationResults>";
	const char *neg = "<EnumerationResults><Blobs>"
		"<Blob><Name>p/a</Name><Properties><Content-Length>-1</Content-Length></Properties></Blob>"
		"</Blobs><NextMarker /></EnumerationResults>";
	struct blob_list l = BLOB_LIST_INIT;

	cr_assert_fails(blob_list_parse(&l, nul, strlen(nul)), ERR_INPUT, "NUL");
	blob_list_release(&l);
	cr_assert_ok(blob_list_parse(&l, neg, strlen(neg)));
	cr_assert_eq(l.nr, 1);
	cr_assert_eq(l.sizes[0], 0);
	blob_list_release(&l);
}

Test(blob, list_parser_ends_on_an_empty_marker_and_rejects_other_documents)
{
	const char *last = "<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>";
	struct blob_list l = BLOB_LIST_INIT;

	cr_assert_ok(blob_list_parse(&l, last, strlen(last)));
	cr_assert_eq(l.nr, 0);
	cr_assert_null(l.next_marker);
	cr_assert_fails(blob_list_parse(&l, "<Error/>", 8), ERR_INPUT, "EnumerationResults");
	blob_list_release(&l);
}

Test(blob, list_parser_refuses_a_cut_short_page_rather_than_end_the_listing)
{
	static const char *const bad[] = {
		/* Cut inside a <Blob>, inside the document, or without its end at all. */
		"<EnumerationResults><Blobs><Blob><Name>a</Name></Blobs></EnumerationResults>",
		"<EnumerationResults><Blobs><Blob><Name>a</Name></Blob><Blob><Name>b",
		"<EnumerationResults><Blobs><Blob><Name>a</Name></Blob>",
		/* A blob without a name, or with an empty one. */
		"<EnumerationResults><Blobs><Blob><Properties/></Blob></Blobs></EnumerationResults>",
		"<EnumerationResults><Blobs><Blob><Name/></Blob></Blobs></EnumerationResults>",
		"<EnumerationResults><Blobs><Blob><Name></Name></Blob></Blobs></EnumerationResults>",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct blob_list l = BLOB_LIST_INIT;
		size_t len = strlen(bad[i]);
		char *xml = memcpy(xmalloc(len), bad[i], len); /* no NUL after it */

		cr_expect_eq(blob_list_parse(&l, xml, len), ERR_INPUT, "%s", bad[i]);
		cr_expect(strstr(error_message(), "List Blobs"), "%s", error_message());
		blob_list_release(&l);
		free(xml);
	}
}

/* ---- against the scripted loopback server ---- */

static const struct http_options fast = {
	.connect_timeout_ms = 2000, .attempt_timeout_ms = 5000, .max_attempts = 4,
	.retry_base_ms = 1, .retry_max_delay_ms = 5, .retry_budget_ms = 1000,
};

struct fixture {
	struct stub_server *s;
	struct http_client *http;
	struct blob_client *blob;
	char dir[64];
};

static void start(struct fixture *f, const struct stub_reply *script, size_t n,
		  const struct blob_auth *auth, const char *query)
{
	struct buf url = BUF_INIT;

	f->s = stub_start(script, n);
	cr_assert_ok(http_client_new(&f->http, &fast));
	buf_addf(&url, "%s/cont%s", stub_url(f->s), query ? query : "");
	cr_assert_ok(blob_client_new(&f->blob, f->http, url.data, auth));
	buf_release(&url);
	snprintf(f->dir, sizeof(f->dir), "/tmp/blob-test-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
}

static void stop(struct fixture *f)
{
	char cmd[128];

	blob_client_free(f->blob);
	http_client_free(f->http);
	stub_stop(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	cr_assert_eq(system(cmd), 0);
}

static char *write_temp(struct fixture *f, const char *name, const char *data)
{
	char *path = xasprintf("%s/%s", f->dir, name);

	cr_assert_ok(fs_write_file(path, data, strlen(data)));
	return path;
}

/* The i-th recorded request whose head contains `needle`, or NULL. */
static size_t find_request(struct stub_server *s, const char *needle)
{
	size_t i;

	for (i = 0; i < stub_count(s); i++)
		if (strstr(stub_head(s, i), needle))
			return i;
	return (size_t)-1;
}

Test(blob, small_file_is_one_put_blob_with_md5_type_and_metadata_keeping_the_sas)
{
	struct stub_reply script[] = { { .status = 201 } };
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	const char *meta[] = { "source", "unit test", NULL };
	struct blob_upload_options o = { .content_type = "text/plain", .metadata = meta };
	struct fixture f;
	const char *head, *body;
	char *path;
	size_t len;

	start(&f, script, 1, &auth, "?sv=1&sig=c2Vj%2Bcg%3D%3D");
	path = write_temp(&f, "a.txt", "hello");
	cr_assert_ok(blob_upload_file(f.blob, "dir/a b.txt", path, &o));
	cr_assert_eq(stub_count(f.s), 1);
	head = stub_head(f.s, 0);
	body = stub_body(f.s, 0, &len);
	cr_assert(strstr(head, "PUT /cont/dir/a%20b.txt?sv=1&sig=c2Vj%2Bcg%3D%3D HTTP/1.1"), "%s", head);
	cr_assert(strstr(head, "x-ms-blob-type: BlockBlob\r\n"));
	cr_assert(strstr(head, "Content-MD5: XUFAKrxLKna5cZ2REBfFkg==\r\n"), "%s", head);
	cr_assert(strstr(head, "Content-Type: text/plain\r\n"));
	cr_assert(strstr(head, "x-ms-meta-source: unit test\r\n"));
	cr_assert(strstr(head, "x-ms-version: " BLOB_API_VERSION "\r\n"));
	cr_assert_null(strstr(head, "Authorization"));
	cr_assert_eq(len, 5);
	cr_assert(!memcmp(body, "hello", 5));
	free(path);
	stop(&f);
}

Test(blob, large_file_goes_in_blocks_retrying_one_and_commits_them_in_order)
{
	/* The second request gets a 503 and is retried on its own. */
	struct stub_reply script[] = { { .status = 201 }, { .status = 503 }, { .status = 201 } };
	struct blob_auth auth = { .kind = BLOB_AUTH_SHARED_KEY, .account_key = TEST_KEY };
	struct blob_upload_options o = { .single_put_max = 4, .block_size = 4, .parallel = 3 };
	struct buf want = BUF_INIT, id = BUF_INIT;
	struct fixture f;
	const char *body;
	char *path;
	size_t len, i, list;
	uint32_t b;

	start(&f, script, 3, &auth, NULL);
	path = write_temp(&f, "big.bin", "0123456789");
	cr_assert_ok(blob_upload_file(f.blob, "big.bin", path, &o));
	cr_assert_eq(stub_count(f.s), 5); /* 3 blocks + 1 retry + the list */
	for (b = 0; b < 3; b++) {
		buf_reset(&id);
		buf_reset(&want);
		block_blob_id(&id, b);
		buf_addstr(&want, "comp=block&blockid=");
		url_encode(&want, id.data);
		for (i = stub_count(f.s); i-- > 0;)
			if (strstr(stub_head(f.s, i), want.data))
				break;
		cr_assert_neq(i, (size_t)-1, "block %u missing", b);
		body = stub_body(f.s, i, &len);
		cr_assert_eq(len, b == 2 ? 2 : 4);
		cr_assert(!memcmp(body, "0123456789" + 4 * b, len));
		cr_assert(strstr(stub_head(f.s, i), "Authorization: SharedKey 127:"), "%s", stub_head(f.s, i));
	}
	list = find_request(f.s, "comp=blocklist");
	cr_assert_eq(list, 4, "the list goes last");
	buf_reset(&want);
	block_blob_list_xml(&want, 3);
	body = stub_body(f.s, list, &len);
	cr_assert_eq(len, want.len);
	cr_assert(!memcmp(body, want.data, len));
	cr_assert(strstr(stub_head(f.s, list), "x-ms-blob-content-type: application/octet-stream\r\n"));
	buf_release(&want);
	buf_release(&id);
	free(path);
	stop(&f);
}

/* Every Put Blob and Put Block recorded carries the Content-MD5 of its own
 * body; returns how many there were. */
static size_t assert_each_body_has_its_md5(struct stub_server *s)
{
	size_t i, len, n = 0;

	for (i = 0; i < stub_count(s); i++) {
		const char *head = stub_head(s, i), *body = stub_body(s, i, &len);
		unsigned char md5[MD5_LEN];
		struct buf want = BUF_INIT;

		if (strstr(head, "comp=blocklist"))
			continue;
		md5_digest(md5, body, len);
		buf_addstr(&want, "Content-MD5: ");
		base64_encode(&want, md5, sizeof(md5));
		buf_addstr(&want, "\r\n");
		cr_assert(strstr(head, want.data), "request %zu (%zu bytes) lacks %s:\n%s", i, len,
			  want.data, head);
		buf_release(&want);
		n++;
	}
	return n;
}

/* `n` bytes that differ from one offset to the next, as a file. */
static char *write_pattern(struct fixture *f, const char *name, size_t n, unsigned seed)
{
	char *path = xasprintf("%s/%s", f->dir, name);
	char *data = xmalloc(n ? n : 1);
	size_t i;

	for (i = 0; i < n; i++)
		data[i] = (char)(((i + seed) * 2654435761u) >> 11);
	cr_assert_ok(fs_write_file(path, data, n));
	free(data);
	return path;
}

Test(blob, blocks_hashed_ahead_in_pieces_each_carry_the_md5_of_their_own_slice)
{
	/* Blocks that are not a multiple of the 256 KiB hashing piece, a short
	 * last one, and fewer slots than blocks, so hashing runs ahead of and
	 * alongside the transfers. */
	struct stub_reply script[] = { { .status = 201 } };
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct blob_upload_options o = { .single_put_max = 1, .block_size = 600 * 1024 + 3, .parallel = 2 };
	size_t size = 3 * (600 * 1024 + 3) + 4097, len, i;
	struct fixture f;
	struct buf data = BUF_INIT;
	char *path;
	uint32_t b;

	start(&f, script, 1, &auth, "?sig=s");
	path = write_pattern(&f, "big.bin", size, 7);
	cr_assert_ok(fs_read_file(&data, path, size + 1));
	cr_assert_eq(data.len, size);
	cr_assert_ok(blob_upload_file(f.blob, "big.bin", path, &o));
	cr_assert_eq(stub_count(f.s), 5, "4 blocks and the list");
	cr_assert_eq(assert_each_body_has_its_md5(f.s), 4);
	for (b = 0; b < 4; b++) {
		struct buf want = BUF_INIT, id = BUF_INIT;
		size_t off = b * o.block_size, n = b == 3 ? 4097 : o.block_size;
		const char *body;

		block_blob_id(&id, b);
		buf_addstr(&want, "comp=block&blockid=");
		url_encode(&want, id.data);
		i = find_request(f.s, want.data);
		cr_assert_neq(i, (size_t)-1, "block %u missing", b);
		body = stub_body(f.s, i, &len);
		cr_assert_eq(len, n);
		cr_assert(!memcmp(body, data.data + off, n), "block %u is its slice", b);
		buf_release(&want);
		buf_release(&id);
	}
	cr_assert_eq(find_request(f.s, "comp=blocklist"), 4, "the list goes last");
	buf_release(&data);
	free(path);
	stop(&f);
}

Test(blob, a_folder_mixing_small_and_block_files_sends_every_body_with_its_md5)
{
	struct stub_reply script[] = { { .status = 201 } };
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct blob_upload_options o = { .single_put_max = 300 * 1024, .block_size = 300 * 1024, .parallel = 3 };
	static const size_t sizes[] = { 0, 1, 300 * 1024, 300 * 1024 + 1, 5, 1000 * 1024, 70000 };
	size_t n = 0, i, expect = 0, lists = 0;
	struct fixture f;

	start(&f, script, 1, &auth, "?sig=s");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%zu.bin", i);
		free(write_pattern(&f, name, sizes[i], (unsigned)i));
		if (sizes[i] <= o.single_put_max) {
			expect++;
		} else {
			expect += (sizes[i] + o.block_size - 1) / o.block_size + 1;
			lists++;
		}
	}
	cr_assert_ok(blob_upload_dir(f.blob, "p", f.dir, &o, &n));
	cr_assert_eq(n, sizeof(sizes) / sizeof(sizes[0]));
	cr_assert_eq(stub_count(f.s), expect);
	cr_assert_eq(assert_each_body_has_its_md5(f.s), expect - lists);
	/* The empty file is a Put Blob with the MD5 of nothing. */
	i = find_request(f.s, "PUT /cont/p/f0.bin?sig=s ");
	cr_assert_neq(i, (size_t)-1);
	cr_assert(strstr(stub_head(f.s, i), "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==\r\n"));
	stop(&f);
}

Test(blob, an_azure_error_names_the_code_and_message_but_not_the_sas)
{
	struct stub_reply script[] = { { .status = 403, .headers = "x-ms-error-code: AuthenticationFailed\r\n",
		.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
			"<Message>Signature did not match.\nRequestId:r</Message></Error>" } };
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct fixture f;
	char *path;

	start(&f, script, 1, &auth, "?sv=1&sig=topsecret");
	path = write_temp(&f, "a.txt", "x");
	cr_assert_fails(blob_upload_file(f.blob, "a.txt", path, NULL), ERR_AUTH,
			"/cont/a.txt: HTTP 403: AuthenticationFailed: Signature did not match.");
	cr_assert_null(strstr(error_message(), "topsecret"));
	cr_assert_null(strstr(error_message(), "sv=1"));
	free(path);
	stop(&f);
}

static const char *token_value;
static int token_calls;

static int test_token(void *ctx, const char *scope, const char **out)
{
	(void)ctx;
	cr_assert_str_eq(scope, "https://storage.azure.com/.default");
	token_calls++;
	*out = token_value;
	return 0;
}

Test(blob, bearer_sends_the_sources_storage_token_per_request)
{
	struct stub_reply script[] = { { .status = 201 } };
	struct blob_auth auth = { .kind = BLOB_AUTH_BEARER, .tokens = { test_token, NULL } };
	struct fixture f;
	char *path;

	token_value = "tok-123";
	token_calls = 0;
	start(&f, script, 1, &auth, NULL);
	path = write_temp(&f, "a.txt", "x");
	cr_assert_ok(blob_upload_file(f.blob, "a.txt", path, NULL));
	cr_assert(strstr(stub_head(f.s, 0), "Authorization: Bearer tok-123\r\n"));
	cr_assert_eq(token_calls, 1);
	free(path);
	stop(&f);
}

Test(blob, folder_uploads_every_file_under_the_prefix)
{
	struct stub_reply script[] = { { .status = 201 } };
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct fixture f;
	char *a, *sub, *b;
	size_t n = 0;

	start(&f, script, 1, &auth, "?sig=s");
	a = write_temp(&f, "a.txt", "A");
	sub = xasprintf("%s/sub", f.dir);
	cr_assert_ok(fs_mkdirs(sub));
	b = write_temp(&f, "sub/b.txt", "BB");
	cr_assert_ok(blob_upload_dir(f.blob, "snap", f.dir, NULL, &n));
	cr_assert_eq(n, 2);
	cr_assert_eq(stub_count(f.s), 2);
	cr_assert_neq(find_request(f.s, "PUT /cont/snap/a.txt?sig=s "), (size_t)-1);
	cr_assert_neq(find_request(f.s, "PUT /cont/snap/sub/b.txt?sig=s "), (size_t)-1);
	free(a);
	free(sub);
	free(b);
	stop(&f);
}

Test(blob, a_file_list_uploads_exactly_those_files)
{
	struct stub_reply script[] = { { .status = 201 } };
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct blob_file files[2];
	struct fixture f;
	char *a, *b, *left;
	size_t n = 0;

	start(&f, script, 1, &auth, "?sig=s");
	a = write_temp(&f, "a.txt", "A");
	b = write_temp(&f, "b.txt", "BB");
	left = write_temp(&f, "ignored.txt", "not listed");
	files[0] = (struct blob_file){ a, "a.txt", 1 };
	files[1] = (struct blob_file){ b, "sub/b.txt", 2 };
	cr_assert_ok(blob_upload_files(f.blob, "snap/", files, 2, NULL, &n));
	cr_assert_eq(n, 2);
	cr_assert_eq(stub_count(f.s), 2);
	cr_assert_neq(find_request(f.s, "PUT /cont/snap/a.txt?sig=s "), (size_t)-1);
	cr_assert_neq(find_request(f.s, "PUT /cont/snap/sub/b.txt?sig=s "), (size_t)-1);
	files[1].name = "/abs";
	cr_assert_fails(blob_upload_files(f.blob, "snap", files, 2, NULL, &n), ERR_INPUT,
			"'/abs' is not a valid blob name");
	cr_assert_eq(stub_count(f.s), 2, "nothing sent for a bad list");
	free(a);
	free(b);
	free(left);
	stop(&f);
}

Test(blob, download_writes_the_body_and_a_missing_blob_is_not_found)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "content" },
		{ .status = 404, .body = "<Error><Code>BlobNotFound</Code><Message>The specified blob does not exist.</Message></Error>" },
	};
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct buf got = BUF_INIT;
	struct fixture f;
	char *path;

	start(&f, script, 2, &auth, "?sig=s");
	path = xasprintf("%s/out/x.txt", f.dir);
	cr_assert_ok(blob_download_file(f.blob, path, "x.txt"));
	cr_assert_ok(fs_read_file(&got, path, 1024));
	cr_assert_str_eq(got.data, "content");
	cr_assert_fails(blob_download_file(f.blob, path, "gone.txt"), ERR_NOT_FOUND, "BlobNotFound");
	cr_assert_not(fs_is_file(path), "a failed download leaves no file");
	buf_release(&got);
	free(path);
	stop(&f);
}

Test(blob, prefix_download_pages_through_the_listing)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "<EnumerationResults><Blobs><Blob><Name>logs/a.txt</Name></Blob></Blobs>"
			"<NextMarker>m1</NextMarker></EnumerationResults>" },
		{ .status = 200, .body = "<EnumerationResults><Blobs><Blob><Name>logs/d/b.txt</Name></Blob></Blobs>"
			"<NextMarker/></EnumerationResults>" },
		{ .status = 200, .body = "same" },
	};
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct buf got = BUF_INIT;
	struct fixture f;
	char *a, *b;
	size_t n = 0;

	start(&f, script, 3, &auth, "?sig=s");
	cr_assert_ok(blob_download_prefix(f.blob, f.dir, "logs/", 2, &n));
	cr_assert_eq(n, 2);
	cr_assert(strstr(stub_head(f.s, 0), "GET /cont?restype=container&comp=list&prefix=logs%2F&sig=s "));
	cr_assert(strstr(stub_head(f.s, 1), "&marker=m1&sig=s "));
	a = xasprintf("%s/a.txt", f.dir);
	b = xasprintf("%s/d/b.txt", f.dir);
	cr_assert_ok(fs_read_file(&got, a, 100));
	cr_assert_str_eq(got.data, "same");
	cr_assert(fs_is_file(b));
	buf_release(&got);
	free(a);
	free(b);
	stop(&f);
}

Test(blob, prefix_download_refuses_names_that_leave_the_folder)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "<EnumerationResults><Blobs><Blob><Name>p/../../etc/x</Name></Blob></Blobs>"
			"</EnumerationResults>" },
	};
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct fixture f;

	start(&f, script, 1, &auth, "?sig=s");
	cr_assert_fails(blob_download_prefix(f.blob, f.dir, "p/", 2, NULL), ERR_INPUT, "outside");
	stop(&f);
}

Test(blob, client_rejects_a_url_without_container_or_sas)
{
	struct blob_auth sas = { .kind = BLOB_AUTH_SAS };
	struct blob_auth key = { .kind = BLOB_AUTH_SHARED_KEY, .account_key = "not base64!" };
	struct blob_client *c = NULL;

	cr_assert_fails(blob_client_new(&c, NULL, "https://a.blob.core.windows.net/?sig=x", &sas), ERR_INPUT, "no container");
	cr_assert_fails(blob_client_new(&c, NULL, "https://a.blob.core.windows.net/c", &sas), ERR_INPUT, "SAS");
	cr_assert_fails(blob_client_new(&c, NULL, "ftp://a/c", &sas), ERR_INPUT, "https://");
	cr_assert_fails(blob_client_new(&c, NULL, "https://a.blob.core.windows.net/c", &key), ERR_INPUT, "base64");
	cr_assert_null(c);
}

Test(blob, client_refuses_bearer_auth_without_a_token_source)
{
	struct blob_auth auth = { .kind = BLOB_AUTH_BEARER, .tokens = TOKEN_SOURCE_NONE };
	struct blob_client *c = NULL;

	cr_assert_fails(blob_client_new(&c, NULL, "https://a.blob.core.windows.net/c", &auth),
			ERR_INPUT, "needs a token source");
	cr_assert_null(c);
}
