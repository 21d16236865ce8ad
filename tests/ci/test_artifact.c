#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>

#include "ci/artifact.h"
#include "core/block_blob.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/http.h"
#include "support/check.h"
#include "support/stub_server.h"

#define SIGNED_QUERY "?sv=2021-12-02&se=2030-01-01T00%3A00%3A00Z&sr=b&sp=cw&sig=a%2Bb%2Fc%3D"

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* A JWT whose payload is `payload` (the signature is not checked). */
static char *jwt(const char *payload)
{
	struct buf t = BUF_INIT;

	buf_addstr(&t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.");
	base64url_encode(&t, payload, strlen(payload));
	buf_addstr(&t, ".c2lnbmF0dXJl");
	return buf_detach(&t, NULL);
}

/* ---- names ---- */

Test(artifact, names_with_forbidden_characters_are_refused)
{
	static const char *const bad[] = {
		"", "a/b", "a\\b", "a:b", "a\"b", "a<b", "a>b", "a|b", "a*b", "a?b",
		"a\rb", "a\nb",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(artifact_check_name(bad[i]), ERR_INPUT, "'%s' accepted", bad[i]);
	cr_assert_ok(artifact_check_name("model-ci logs (job 3, py3.11)"));
	cr_assert_ok(artifact_check_name("d\xc3\xa9j\xc3\xa0"));
}

/* ---- backend ids from the runtime token ---- */

Test(artifact, backend_ids_come_from_the_results_scope)
{
	struct artifact_ids ids = ARTIFACT_IDS_INIT;
	char *token = jwt("{\"scp\":\"Actions.ExampleScope Actions.Results:ce7f54c7-61c7-4aae-887f-30da475f5f1a:ca395085-040a-526b-2ce8-bdc85f692774 Actions.UploadArtifacts:x\",\"iss\":\"vstoken.actions.githubusercontent.com\"}");

	cr_assert_ok(artifact_ids_from_token(&ids, token));
	cr_assert_str_eq(ids.run, "ce7f54c7-61c7-4aae-887f-30da475f5f1a");
	cr_assert_str_eq(ids.job, "ca395085-040a-526b-2ce8-bdc85f692774");
	artifact_ids_release(&ids);
	free(token);
}

Test(artifact, backend_ids_from_an_act_token)
{
	struct artifact_ids ids = ARTIFACT_IDS_INIT;
	char *token = jwt("{\"scp\":\"Actions.Results:1:1\",\"ac\":\"[]\"}");

	cr_assert_ok(artifact_ids_from_token(&ids, token));
	cr_assert_str_eq(ids.run, "1");
	cr_assert_str_eq(ids.job, "1");
	artifact_ids_release(&ids);
	free(token);
}

Test(artifact, tokens_without_a_usable_scope_are_auth_errors)
{
	static const char *const payloads[] = {
		"not json", "[1,2]", "{}", "{\"scp\":42}", "{\"scp\":\"\"}",
		"{\"scp\":\"Actions.GenericRead:abc\"}", "{\"scp\":\"Actions.Results:1\"}",
		"{\"scp\":\"Actions.Results:1:2:3\"}", "{\"scp\":\"Actions.Results::2\"}",
		"{\"scp\":\"Actions.Results:1:\"}", "{\"scp\":\"Actions.Results\"}",
		"{\"scp\":\"XActions.Results:1:2\"}",
	};
	static const char *const not_jwts[] = { "", "opaque-token", "a.b", "a.!!!!.c" };
	struct artifact_ids ids = ARTIFACT_IDS_INIT;
	size_t i;

	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		char *token = jwt(payloads[i]);

		cr_expect_eq(artifact_ids_from_token(&ids, token), ERR_AUTH, "%s", payloads[i]);
		cr_expect_null(ids.run);
		cr_expect_null(strstr(error_message(), token), "token in '%s'", error_message());
		free(token);
	}
	for (i = 0; i < sizeof(not_jwts) / sizeof(not_jwts[0]); i++)
		cr_expect_eq(artifact_ids_from_token(&ids, not_jwts[i]), ERR_AUTH, "%s", not_jwts[i]);
	cr_assert(strstr(error_message(), "not a JWT"), "%s", error_message());
}

/* ---- Twirp bodies ---- */

Test(artifact, create_body_is_snake_case_version_4_without_mime_type)
{
	char run[] = "run-1", job[] = "job-2";
	struct artifact_ids ids = { run, job };
	struct buf body = BUF_INIT;

	artifact_create_body(&body, &ids, "logs", NULL);
	cr_assert_str_eq(body.data, "{\"workflow_run_backend_id\":\"run-1\","
			 "\"workflow_job_run_backend_id\":\"job-2\",\"name\":\"logs\",\"version\":4}");
	buf_reset(&body);
	artifact_create_body(&body, &ids, "logs", "2030-01-02T03:04:05Z");
	cr_assert_str_eq(body.data, "{\"workflow_run_backend_id\":\"run-1\","
			 "\"workflow_job_run_backend_id\":\"job-2\",\"name\":\"logs\",\"version\":4,"
			 "\"expires_at\":\"2030-01-02T03:04:05Z\"}");
	buf_release(&body);
}

Test(artifact, expiry_is_rfc3339_utc_days_ahead)
{
	struct buf t = BUF_INIT;

	artifact_expires_at(&t, 0, 1);
	cr_assert_str_eq(t.data, "1970-01-02T00:00:00Z");
	buf_reset(&t);
	artifact_expires_at(&t, 1700000000, 90);
	cr_assert_str_eq(t.data, "2024-02-12T22:13:20Z");
	buf_release(&t);
}

Test(artifact, finalize_body_has_size_as_a_decimal_string_and_sha256_hash)
{
	char run[] = "r", job[] = "j";
	struct artifact_ids ids = { run, job };
	struct buf body = BUF_INIT;

	artifact_finalize_body(&body, &ids, "logs", UINT64_C(9007199254740993), "00ff");
	cr_assert_str_eq(body.data, "{\"workflow_run_backend_id\":\"r\","
			 "\"workflow_job_run_backend_id\":\"j\",\"name\":\"logs\","
			 "\"size\":\"9007199254740993\",\"hash\":\"sha256:00ff\"}");
	buf_release(&body);
}

struct reply_case {
	const char *body;
	int code;          /* 0 or the error expected */
	const char *want;  /* the URL or id on success */
};

Test(artifact, create_replies_in_either_spelling)
{
	static const struct reply_case cases[] = {
		{ "{\"ok\":true,\"signed_upload_url\":\"https://a/b?sig=x%2B\"}", 0, "https://a/b?sig=x%2B" },
		{ "{\"ok\":true,\"signedUploadUrl\":\"http://act:34567/upload?sig=y\"}", 0, "http://act:34567/upload?sig=y" },
		{ "{\"ok\":false,\"signed_upload_url\":\"https://a/b\"}", ERR_HTTP, NULL },
		{ "{\"signed_upload_url\":\"https://a/b\"}", ERR_HTTP, NULL },
		{ "{\"ok\":true}", ERR_JSON, NULL },
		{ "{\"ok\":true,\"signed_upload_url\":7}", ERR_JSON, NULL },
		{ "<html>", ERR_JSON, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf url = BUF_INIT;
		int rc = artifact_parse_create_reply(&url, cases[i].body, strlen(cases[i].body));

		cr_expect_eq(rc, cases[i].code, "%s: %d %s", cases[i].body, rc, error_message());
		if (!rc && cases[i].want)
			cr_expect_str_eq(url.data, cases[i].want);
		buf_release(&url);
	}
}

Test(artifact, finalize_replies_with_int64_as_string_or_number)
{
	static const struct reply_case cases[] = {
		{ "{\"ok\":true,\"artifact_id\":\"1234\"}", 0, "1234" },
		{ "{\"ok\":true,\"artifact_id\":1234}", 0, "1234" },
		{ "{\"ok\":true,\"artifactId\":\"9007199254740993\"}", 0, "9007199254740993" },
		{ "{\"ok\":true,\"artifactId\":3735928559}", 0, "3735928559" },
		{ "{\"ok\":false,\"artifact_id\":\"1\"}", ERR_HTTP, NULL },
		{ "{\"ok\":true}", ERR_JSON, NULL },
		{ "{\"ok\":true,\"artifact_id\":\"12a\"}", ERR_JSON, NULL },
		{ "{\"ok\":true,\"artifact_id\":1.5}", ERR_JSON, NULL },
		{ "", ERR_JSON, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *id = NULL;
		int rc = artifact_parse_finalize_reply(&id, cases[i].body, strlen(cases[i].body));

		cr_expect_eq(rc, cases[i].code, "%s: %d %s", cases[i].body, rc, error_message());
		if (!rc && cases[i].want)
			cr_expect_str_eq(id, cases[i].want);
		free(id);
	}
}

/* ---- Twirp errors ---- */

struct error_case {
	long status;
	const char *body;
	int code;
	const char *needle;
};

Test(artifact, twirp_errors_name_the_method_status_and_message)
{
	static const struct error_case cases[] = {
		{ 409, "{\"code\":\"already_exists\",\"msg\":\"dup\"}", ERR_CONFLICT, "\"my-logs\" already exists" },
		{ 400, "{\"code\":\"already_exists\",\"msg\":\"dup\"}", ERR_CONFLICT, "CreateArtifact" },
		{ 429, "{\"code\":\"resource_exhausted\",\"msg\":\"insufficient usage to create artifact\"}",
		  ERR_HTTP, "storage quota" },
		{ 400, "{\"code\":\"invalid_argument\",\"msg\":\"bad name\"}", ERR_HTTP,
		  "CreateArtifact: HTTP 400 (invalid_argument): bad name" },
		{ 401, "{\"code\":\"unauthenticated\",\"msg\":\"expired\"}", ERR_AUTH, "HTTP 401" },
		{ 404, "{\"code\":\"not_found\",\"msg\":\"no such run\"}", ERR_NOT_FOUND, "no such run" },
		{ 412, "{\"code\":\"failed_precondition\",\"msg\":\"finalized\"}", ERR_CONFLICT,
		  "CreateArtifact: HTTP 412 (failed_precondition): finalized" },
		{ 502, "<html>Bad Gateway</html>", ERR_HTTP, "CreateArtifact: HTTP 502" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_response r = HTTP_RESPONSE_INIT;

		r.status = cases[i].status;
		buf_addstr(&r.body, cases[i].body);
		cr_expect_eq(artifact_twirp_error(&r, "CreateArtifact", "my-logs"), cases[i].code,
			     "%ld %s", cases[i].status, cases[i].body);
		cr_expect(strstr(error_message(), cases[i].needle), "'%s' lacks '%s'",
			  error_message(), cases[i].needle);
		http_response_release(&r);
	}
}

Test(artifact, url_points_at_the_run_page)
{
	struct buf url = BUF_INIT;

	artifact_url(&url, "https://github.com/", "octo/repo", "42", "1234");
	cr_assert_str_eq(url.data, "https://github.com/octo/repo/actions/runs/42/artifacts/1234");
	buf_release(&url);
}

/* ---- end to end against two loopback stubs: results service and blob ---- */

struct e2e {
	char dir[64];
	struct stub_server *svc, *blob;
	struct http_client *http;
	struct buf create_reply;
	char *token;
};

static void e2e_start(struct e2e *t, const struct stub_reply *blob_script, size_t nblob,
		      struct stub_reply *svc_script, size_t nsvc)
{
	struct http_options o = { 0 };

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/test-artifact-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	t->blob = stub_start(blob_script, nblob);
	/* The CreateArtifact reply (script entry 0) points at the blob stub,
	 * in act's camelCase, with a query that must survive untouched. */
	buf_init(&t->create_reply);
	buf_addf(&t->create_reply, "{\"ok\":true,\"signedUploadUrl\":\"%s/upload/logs.zip%s\"}",
		 stub_url(t->blob), SIGNED_QUERY);
	if (!svc_script[0].body)
		svc_script[0].body = t->create_reply.data;
	t->svc = stub_start(svc_script, nsvc);
	o.max_attempts = 3;
	o.retry_base_ms = 1;
	o.retry_max_delay_ms = 5;
	o.retry_budget_ms = 1000;
	cr_assert_ok(http_client_new(&t->http, &o));
	t->token = jwt("{\"scp\":\"Actions.Results:7:8\"}");
}

static void e2e_stop(struct e2e *t)
{
	struct buf cmd = BUF_INIT;

	stub_stop(t->svc);
	stub_stop(t->blob);
	http_client_free(t->http);
	buf_release(&t->create_reply);
	free(t->token);
	buf_addf(&cmd, "rm -rf '%s'", t->dir);
	cr_expect_eq(system(cmd.data), 0);
	buf_release(&cmd);
}

static int e2e_upload(struct e2e *t, const char *name, struct artifact_result *out)
{
	struct artifact_service svc = { 0 };
	struct buf results = BUF_INIT;
	int ret;

	/* Any path on ACTIONS_RESULTS_URL is dropped (contract 5.1). */
	buf_addf(&results, "%s/some/path/", stub_url(t->svc));
	svc.results_url = results.data;
	svc.runtime_token = t->token;
	ret = artifact_upload(out, t->http, &svc, name, t->dir);
	buf_release(&results);
	return ret;
}

static void put_file(struct e2e *t, const char *rel, const void *data, size_t len)
{
	struct buf path = BUF_INIT;

	buf_addf(&path, "%s/%s", t->dir, rel);
	if (strchr(rel, '/')) {
		struct buf dir = BUF_INIT;

		buf_add(&dir, path.data, (size_t)(strrchr(path.data, '/') - path.data));
		cr_assert_ok(fs_mkdirs(dir.data));
		buf_release(&dir);
	}
	cr_assert_ok(fs_write_file(path.data, data, len));
	buf_release(&path);
}

/* The value of query parameter blockid in a request head's target, decoded. */
static void block_id_of(struct buf *out, const char *head)
{
	const char *p = strstr(head, "&blockid=");
	const char *end;

	cr_assert_not_null(p, "no blockid in %.200s", head);
	p += strlen("&blockid=");
	end = p + strcspn(p, " &");
	buf_reset(out);
	url_decode(out, p, (size_t)(end - p));
}

/* Finds `name` in the zip held in memory and returns its contents. */
static void zip_member(struct buf *out, const struct buf *zip, const char *name)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char chunk[65536];
	la_ssize_t got;
	int found = 0;

	archive_read_support_format_zip(a);
	cr_assert_eq(archive_read_open_memory(a, zip->data, zip->len), ARCHIVE_OK);
	while (!found && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(e), name))
			continue;
		found = 1;
		while ((got = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			buf_add(out, chunk, (size_t)got);
	}
	archive_read_free(a);
	cr_assert(found, "%s not in the uploaded zip", name);
}

#define BIG (17 * 1024 * 1024) /* incompressible: three blocks, the last short */

Test(artifact, upload_sends_blocks_in_order_and_finalizes_with_their_hash)
{
	static const struct stub_reply blob[] = {
		{ 201, NULL, NULL, 0, 0 },
		{ 503, NULL, "<?xml version=\"1.0\"?><Error><Code>ServerBusy</Code></Error>", 0, 0 },
		{ 201, NULL, NULL, 0, 0 },
	};
	struct stub_reply svc[] = {
		{ 200, "Content-Type: application/json\r\n", NULL, 0, 0 },
		{ 200, "Content-Type: application/json\r\n", "{\"ok\":true,\"artifactId\":\"4242\"}", 0, 0 },
	};
	struct artifact_result res = ARTIFACT_RESULT_INIT;
	struct buf zip = BUF_INIT, id = BUF_INIT, ids[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	struct buf xml = BUF_INIT, hex = BUF_INIT, member = BUF_INIT, want = BUF_INIT;
	unsigned char digest[SHA256_LEN];
	unsigned char *big = xmalloc(BIG);
	const char *head, *body;
	size_t i, len, blocks[] = { 0, 2, 3 };
	struct e2e t;

	random_bytes(big, BIG);
	e2e_start(&t, blob, 3, svc, 2);
	put_file(&t, "big.bin", big, BIG);
	put_file(&t, "logs/user_logs/std_log.txt", "epoch 1 loss 0.5\n", 17);

	cr_assert_ok(e2e_upload(&t, "training-logs", &res));

	/* CreateArtifact: origin + Twirp path, bearer token, snake_case v4 body. */
	cr_assert_eq(stub_count(t.svc), 2);
	head = stub_head(t.svc, 0);
	cr_assert(starts_with(head, "POST /twirp/github.actions.results.api.v1.ArtifactService/"
			      "CreateArtifact HTTP/1.1\r\n"), "%.120s", head);
	buf_addf(&want, "\r\nAuthorization: Bearer %s\r\n", t.token);
	cr_assert(strstr(head, want.data), "no bearer token in %s", head);
	cr_assert(strcasestr(head, "\r\nContent-Type: application/json\r\n"));
	body = stub_body(t.svc, 0, NULL);
	cr_assert_str_eq(body, "{\"workflow_run_backend_id\":\"7\",\"workflow_job_run_backend_id\":"
			 "\"8\",\"name\":\"training-logs\",\"version\":4}");

	/* Blob: block 1, block 2 refused with 503 and retried, block 3, list. */
	cr_assert_eq(stub_count(t.blob), 5, "%zu blob requests", stub_count(t.blob));
	for (i = 0; i < 4; i++) {
		head = stub_head(t.blob, i);
		cr_assert(starts_with(head, "PUT /upload/logs.zip" SIGNED_QUERY "&comp=block&blockid="),
			  "%.200s", head);
		cr_assert(strcasestr(head, "\r\nx-ms-version: "), "%s", head);
		cr_assert_null(strcasestr(head, "\r\nAuthorization:"), "%s", head);
	}
	for (i = 0; i < 3; i++)
		block_id_of(&ids[i], stub_head(t.blob, blocks[i]));
	block_id_of(&id, stub_head(t.blob, 1));
	cr_assert_str_eq(id.data, ids[1].data, "the retry is of the same block");
	cr_assert(ids[0].len == ids[1].len && ids[1].len == ids[2].len);
	cr_assert(strcmp(ids[0].data, ids[1].data) < 0 && strcmp(ids[1].data, ids[2].data) < 0);
	for (i = 0; i < 3; i++) {
		buf_reset(&want);
		block_blob_block_query(&want, (uint32_t)i);
		cr_assert(strstr(stub_head(t.blob, blocks[i]), want.data), "block %zu is %s", i, want.data);
	}
	for (i = 0; i < 3; i++) {
		body = stub_body(t.blob, blocks[i], &len);
		if (i < 2)
			cr_assert_eq(len, ARTIFACT_BLOCK_SIZE);
		buf_add(&zip, body, len);
	}

	head = stub_head(t.blob, 4);
	cr_assert(starts_with(head, "PUT /upload/logs.zip" SIGNED_QUERY "&comp=blocklist HTTP/1.1"),
		  "%.200s", head);
	cr_assert(strcasestr(head, "\r\nx-ms-blob-content-type: application/zip\r\n"), "%s", head);
	buf_addf(&xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>%s</Latest>"
		 "<Latest>%s</Latest><Latest>%s</Latest></BlockList>",
		 ids[0].data, ids[1].data, ids[2].data);
	cr_assert_str_eq(stub_body(t.blob, 4, NULL), xml.data);

	/* Size and hash describe exactly the bytes the blob received. */
	sha256_digest(digest, zip.data, zip.len);
	hex_encode(&hex, digest, sizeof(digest));
	cr_assert_eq(res.size, zip.len);
	cr_assert_str_eq(res.sha256_hex, hex.data);
	cr_assert_str_eq(res.id, "4242");
	buf_reset(&want);
	buf_addf(&want, "{\"workflow_run_backend_id\":\"7\",\"workflow_job_run_backend_id\":\"8\","
		 "\"name\":\"training-logs\",\"size\":\"%zu\",\"hash\":\"sha256:%s\"}",
		 zip.len, hex.data);
	cr_assert(starts_with(stub_head(t.svc, 1), "POST /twirp/github.actions.results.api.v1."
			      "ArtifactService/FinalizeArtifact "));
	cr_assert_str_eq(stub_body(t.svc, 1, NULL), want.data);

	/* And the bytes are the zip of the directory. */
	zip_member(&member, &zip, "logs/user_logs/std_log.txt");
	cr_assert_str_eq(member.data, "epoch 1 loss 0.5\n");
	buf_reset(&member);
	zip_member(&member, &zip, "big.bin");
	cr_assert(member.len == BIG && !memcmp(member.data, big, BIG));

	artifact_result_release(&res);
	for (i = 0; i < 3; i++)
		buf_release(&ids[i]);
	buf_release(&zip);
	buf_release(&id);
	buf_release(&xml);
	buf_release(&hex);
	buf_release(&member);
	buf_release(&want);
	free(big);
	e2e_stop(&t);
}

Test(artifact, empty_directory_uploads_an_empty_zip)
{
	static const struct stub_reply blob[] = { { 201, NULL, NULL, 0, 0 } };
	struct stub_reply svc[] = {
		{ 200, NULL, NULL, 0, 0 },
		{ 200, NULL, "{\"ok\":true,\"artifact_id\":77}", 0, 0 },
	};
	struct artifact_result res = ARTIFACT_RESULT_INIT;
	size_t len;
	struct e2e t;

	e2e_start(&t, blob, 1, svc, 2);
	cr_assert_ok(e2e_upload(&t, "empty", &res));
	cr_assert_eq(stub_count(t.blob), 2);
	cr_assert(!memcmp(stub_body(t.blob, 0, &len), "PK\x05\x06", 4));
	cr_assert_eq(len, 22);
	cr_assert_eq(res.size, 22);
	cr_assert_str_eq(res.id, "77");
	artifact_result_release(&res);
	e2e_stop(&t);
}

Test(artifact, retention_sets_expires_at)
{
	static const struct stub_reply blob[] = { { 201, NULL, NULL, 0, 0 } };
	struct stub_reply svc[] = {
		{ 200, NULL, NULL, 0, 0 },
		{ 200, NULL, "{\"ok\":true,\"artifact_id\":\"1\"}", 0, 0 },
	};
	struct artifact_result res = ARTIFACT_RESULT_INIT;
	struct artifact_service s = { 0 };
	struct e2e t;

	e2e_start(&t, blob, 1, svc, 2);
	s.results_url = stub_url(t.svc);
	s.runtime_token = t.token;
	s.retention_days = 5;
	cr_assert_ok(artifact_upload(&res, t.http, &s, "kept", t.dir));
	cr_assert(strstr(stub_body(t.svc, 0, NULL), "\"expires_at\":\""), "%s",
		  stub_body(t.svc, 0, NULL));
	artifact_result_release(&res);
	e2e_stop(&t);
}

Test(artifact, a_name_used_twice_is_a_conflict)
{
	static const struct stub_reply blob[] = { { 201, NULL, NULL, 0, 0 } };
	struct stub_reply svc[] = {
		{ 409, NULL, "{\"code\":\"already_exists\",\"msg\":\"artifact exists\"}", 0, 0 },
	};
	struct artifact_result res = ARTIFACT_RESULT_INIT;
	struct e2e t;

	e2e_start(&t, blob, 1, svc, 1);
	cr_assert_fails(e2e_upload(&t, "logs", &res), ERR_CONFLICT, "\"logs\" already exists");
	cr_assert_eq(stub_count(t.blob), 0);
	cr_assert_null(res.id);
	e2e_stop(&t);
}

Test(artifact, bad_names_and_paths_fail_before_any_call)
{
	static const struct stub_reply blob[] = { { 201, NULL, NULL, 0, 0 } };
	struct stub_reply svc[] = { { 200, NULL, NULL, 0, 0 } };
	struct artifact_result res = ARTIFACT_RESULT_INIT;
	struct e2e t;

	e2e_start(&t, blob, 1, svc, 1);
	cr_assert_fails(e2e_upload(&t, "a/b", &res), ERR_INPUT, "a/b");
	put_file(&t, "sub/report|final.txt", "x", 1);
	cr_assert_fails(e2e_upload(&t, "logs", &res), ERR_INPUT, "sub/report|final.txt");
	cr_assert_eq(stub_count(t.svc), 0);
	e2e_stop(&t);
}

Test(artifact, a_refused_block_fails_without_leaking_the_signature)
{
	static const struct stub_reply blob[] = {
		{ 403, NULL, "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code>"
			     "<Message>sig</Message></Error>", 0, 0 },
	};
	struct stub_reply svc[] = { { 200, NULL, NULL, 0, 0 } };
	struct artifact_result res = ARTIFACT_RESULT_INIT;
	struct e2e t;

	e2e_start(&t, blob, 1, svc, 1);
	put_file(&t, "f.txt", "f", 1);
	cr_assert_fails(e2e_upload(&t, "logs", &res), ERR_AUTH, "AuthenticationFailed");
	cr_assert(strstr(error_message(), "Put Block 1: AuthenticationFailed: sig"), "%s",
		  error_message());
	cr_assert_null(strstr(error_message(), "sig="), "%s", error_message());
	cr_assert_eq(stub_count(t.svc), 1, "no Finalize after a failed upload");
	e2e_stop(&t);
}
