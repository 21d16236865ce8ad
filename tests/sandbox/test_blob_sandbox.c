/*
 * The blob client against the live sandbox: Azurite behind the sandbox's
 * HTTPS proxy under the production host name, with each auth kind, a large
 * file in parallel blocks, a folder, and injected faults that must recover.
 * Skipped unless the sandbox environment is loaded (SANDBOX_CONTROL_URL).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "azure/blob.h"
#include "azure/credential.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/fs.h"
#include "core/http.h"
#include "core/json.h"
#include "support/check.h"
#include "support/sandbox.h"

/* The workspace's default container (sandbox/azsandbox/config.py). */
#define CONTAINER "azureml-blobstore-3f6c2a1e-9b8d-4e7f-a0b1-c2d3e4f5a6b7"
#define MiB (1024u * 1024)

static char workdir[64];

static void setup(void)
{
	sandbox_require();
	snprintf(workdir, sizeof(workdir), "/tmp/blob-sbx-XXXXXX");
	cr_assert_not_null(mkdtemp(workdir));
}

static void teardown(void)
{
	char cmd[128];

	if (!workdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", workdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(blob_sandbox, .init = setup, .fini = teardown, .timeout = 300);

static const char *account(void)
{
	return sandbox_env("SANDBOX_STORAGE_ACCOUNT");
}

static char *container_url(const char *query)
{
	return xasprintf("https://%s.blob.core.windows.net/%s%s%s", account(), CONTAINER,
			 query ? "?" : "", query ? query : "");
}

/* The account key from the sandbox's per-run configuration. */
static char *account_key(void)
{
	struct buf text = BUF_INIT, path = BUF_INIT, field = BUF_INIT;
	cJSON *conf = NULL;
	const char *key;
	char *out;

	buf_addf(&path, "%s/config.json", sandbox_env("SANDBOX_DIR"));
	cr_assert_ok(fs_read_file(&text, path.data, 1 << 20));
	cr_assert_ok(json_parse(&conf, text.data, text.len, path.data));
	buf_addf(&field, "storage_accounts.%s", account());
	cr_assert_ok(json_get_string(&key, conf, field.data));
	out = xstrdup(key);
	cJSON_Delete(conf);
	buf_release(&text);
	buf_release(&path);
	buf_release(&field);
	return out;
}

static void iso8601(struct buf *out, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	buf_addf(out, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A container service SAS (version 2021-08-06), as startPendingUpload hands out. */
static char *container_sas(void)
{
	struct buf st = BUF_INIT, se = BUF_INIT, sts = BUF_INIT, key = BUF_INIT, sig = BUF_INIT, q = BUF_INIT;
	unsigned char mac[SHA256_LEN];
	char *k = account_key();

	iso8601(&st, time(NULL) - 300);
	iso8601(&se, time(NULL) + 3600);
	buf_addf(&sts, "racwdl\n%s\n%s\n/blob/%s/%s\n\n\nhttps\n2021-08-06\nc\n\n\n\n\n\n\n",
		 st.data, se.data, account(), CONTAINER);
	cr_assert_ok(base64_decode(&key, k, strlen(k)));
	hmac_sha256(mac, key.data, key.len, sts.data, sts.len);
	base64_encode(&sig, mac, sizeof(mac));
	buf_addstr(&q, "sv=2021-08-06&spr=https&st=");
	url_encode(&q, st.data);
	buf_addstr(&q, "&se=");
	url_encode(&q, se.data);
	buf_addstr(&q, "&sr=c&sp=racwdl&sig=");
	url_encode(&q, sig.data);
	free(k);
	buf_release(&st);
	buf_release(&se);
	buf_release(&sts);
	buf_release(&key);
	buf_release(&sig);
	return buf_detach(&q, NULL);
}

/* A storage token by the client secret flow: a plain form POST to Entra. */
static char *storage_token(struct http_client *http)
{
	struct buf url = BUF_INIT, form = BUF_INIT;
	struct http_response r = HTTP_RESPONSE_INIT;
	const char *const headers[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
	struct http_request req = { .method = "POST", .headers = headers };
	cJSON *reply = NULL;
	const char *token;
	char *out;

	buf_addf(&url, "https://login.microsoftonline.com/%s/oauth2/v2.0/token",
		 sandbox_env("AZURE_TENANT_ID"));
	buf_addstr(&form, "grant_type=client_credentials&scope=");
	form_encode(&form, "https://storage.azure.com/.default");
	buf_addstr(&form, "&client_id=");
	form_encode(&form, sandbox_env("AZURE_CLIENT_ID"));
	buf_addstr(&form, "&client_secret=");
	form_encode(&form, sandbox_env("AZURE_CLIENT_SECRET"));
	req.url = url.data;
	req.body = form.data;
	req.body_len = form.len;
	cr_assert_ok(http_send(http, &req, &r));
	cr_assert_eq(r.status, 200, "token: %ld %s", r.status, r.body.data);
	cr_assert_ok(json_parse(&reply, r.body.data, r.body.len, "token reply"));
	cr_assert_ok(json_get_string(&token, reply, "access_token"));
	out = xstrdup(token);
	cJSON_Delete(reply);
	http_response_release(&r);
	buf_release(&url);
	buf_release(&form);
	return out;
}

static int give_token(void *ctx, const char *scope, const char **out)
{
	cr_assert_str_eq(scope, AZURE_SCOPE_STORAGE);
	*out = ctx;
	return 0;
}

/* A client of each kind; *secret_out is freed by the caller. */
static struct blob_client *client(struct http_client *http, enum blob_auth_kind kind, char **secret_out)
{
	struct blob_auth auth = { .kind = kind };
	struct blob_client *c = NULL;
	char *url;

	*secret_out = NULL;
	switch (kind) {
	case BLOB_AUTH_SAS:
		*secret_out = container_sas();
		url = container_url(*secret_out);
		break;
	case BLOB_AUTH_SHARED_KEY:
		*secret_out = account_key();
		auth.account_key = *secret_out;
		url = container_url(NULL);
		break;
	default:
		*secret_out = storage_token(http);
		auth.tokens = (struct token_source){ give_token, *secret_out };
		url = container_url(NULL);
		break;
	}
	cr_assert_ok(blob_client_new(&c, http, url, &auth));
	free(url);
	return c;
}

/* A file of `size` bytes of a position-dependent pattern, so a misplaced block shows. */
static char *make_file(const char *name, size_t size)
{
	char *path = xasprintf("%s/%s", workdir, name);
	FILE *f = fopen(path, "wb");
	uint32_t x = 2463534242u + (uint32_t)size;
	size_t i;

	cr_assert_not_null(f);
	for (i = 0; i < size; i += 4) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		cr_assert_eq(fwrite(&x, 1, size - i < 4 ? size - i : 4, f), size - i < 4 ? size - i : 4);
	}
	cr_assert_eq(fclose(f), 0);
	return path;
}

static void assert_same_files(const char *a, const char *b)
{
	char *cmd = xasprintf("cmp -s '%s' '%s'", a, b);

	cr_assert_eq(system(cmd), 0, "%s and %s differ", a, b);
	free(cmd);
}

static void round_trip(enum blob_auth_kind kind, const char *name, size_t size,
		       const struct blob_upload_options *o)
{
	struct http_client *http = sandbox_http();
	char *secret, *src = make_file("src.bin", size), *dst = xasprintf("%s/dst.bin", workdir);
	struct blob_client *c = client(http, kind, &secret);

	cr_assert_ok(blob_upload_file(c, name, src, o));
	cr_assert_ok(blob_download_file(c, dst, name));
	assert_same_files(src, dst);
	blob_client_free(c);
	http_client_free(http);
	free(secret);
	free(src);
	free(dst);
}

Test(blob_sandbox, sas_put_blob_round_trips)
{
	round_trip(BLOB_AUTH_SAS, "tests/sas/small.bin", 100 * 1000, NULL);
}

Test(blob_sandbox, shared_key_put_blob_and_blocks_round_trip)
{
	struct blob_upload_options o = { .single_put_max = MiB, .block_size = MiB };

	round_trip(BLOB_AUTH_SHARED_KEY, "tests/key/small file.bin", 1000, NULL);
	round_trip(BLOB_AUTH_SHARED_KEY, "tests/key/blocks.bin", 3 * MiB + 17, &o);
}

Test(blob_sandbox, bearer_put_blob_and_blocks_round_trip)
{
	struct blob_upload_options o = { .single_put_max = MiB, .block_size = MiB };

	round_trip(BLOB_AUTH_BEARER, "tests/bearer/small.bin", 1000, NULL);
	round_trip(BLOB_AUTH_BEARER, "tests/bearer/blocks.bin", 2 * MiB + 1, &o);
}

Test(blob_sandbox, forty_mib_in_parallel_blocks_round_trips_byte_exact)
{
	struct blob_upload_options o = { .block_size = 4 * MiB, .parallel = 8 };

	round_trip(BLOB_AUTH_SAS, "tests/large/40mib.bin", 40 * MiB, &o);
}

Test(blob_sandbox, a_folder_round_trips)
{
	struct http_client *http = sandbox_http();
	struct blob_upload_options o = { .single_put_max = MiB, .block_size = MiB, .parallel = 4 };
	char *secret, *src = xasprintf("%s/src", workdir), *dst = xasprintf("%s/dst", workdir), *cmd;
	struct blob_client *c = client(http, BLOB_AUTH_SHARED_KEY, &secret);
	size_t up = 0, down = 0;

	cr_assert_ok(fs_mkdirs(src));
	cr_assert_ok(fs_mkdirs(xasprintf("%s/src/sub/deeper", workdir)));
	free(make_file("src/a.txt", 10));
	free(make_file("src/empty", 0));
	free(make_file("src/sub/b & c.bin", 2 * MiB + 3));
	free(make_file("src/sub/deeper/d.bin", 5000));
	cr_assert_ok(blob_upload_dir(c, "tests/folder", src, &o, &up));
	cr_assert_eq(up, 4);
	cr_assert_ok(blob_download_prefix(c, dst, "tests/folder/", 4, &down));
	cr_assert_eq(down, 4);
	cmd = xasprintf("diff -r '%s' '%s'", src, dst);
	cr_assert_eq(system(cmd), 0, "the folders differ");
	free(cmd);
	blob_client_free(c);
	http_client_free(http);
	free(secret);
	free(src);
	free(dst);
}

/* Uploads in 1 MiB blocks with a fault on the Put Block requests of `name`. */
static void survive(const char *fault_fmt, const char *name)
{
	struct buf rule = BUF_INIT;
	struct blob_upload_options o = { .single_put_max = MiB, .block_size = MiB, .parallel = 4 };
	char *id;

	sandbox_reset();
	buf_addf(&rule, fault_fmt, account(), CONTAINER, name);
	id = sandbox_fault(rule.data);
	round_trip(BLOB_AUTH_SAS, name, 4 * MiB + 5, &o);
	cr_assert_geq(sandbox_fault_applied(id), 1, "the fault never happened: %s", rule.data);
	free(id);
	buf_release(&rule);
}

Test(blob_sandbox, a_503_on_a_put_block_is_retried)
{
	survive("{\"kind\":\"status\",\"status\":503,\"method\":\"PUT\",\"host\":\"%s.blob.core.windows.net\","
		"\"path\":\"^/%s/%s$\",\"query\":\"comp=block&\",\"skip\":1,\"count\":1}", "tests/faults/503.bin");
}

Test(blob_sandbox, a_dropped_connection_on_a_put_block_is_retried)
{
	survive("{\"kind\":\"drop\",\"method\":\"PUT\",\"host\":\"%s.blob.core.windows.net\","
		"\"path\":\"^/%s/%s$\",\"query\":\"comp=block&\",\"skip\":2,\"count\":1}", "tests/faults/drop.bin");
}

Test(blob_sandbox, a_429_with_retry_after_is_honoured)
{
	survive("{\"kind\":\"status\",\"status\":429,\"retry_after\":1,\"method\":\"PUT\","
		"\"host\":\"%s.blob.core.windows.net\",\"path\":\"^/%s/%s$\",\"query\":\"comp=block&\",\"count\":2}",
		"tests/faults/429.bin");
}

Test(blob_sandbox, a_wrong_key_is_an_auth_error_that_names_azures_code)
{
	struct http_client *http = sandbox_http();
	struct blob_auth auth = { .kind = BLOB_AUTH_SHARED_KEY,
				  .account_key = "d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3dw==" };
	struct blob_client *c = NULL;
	char *url = container_url(NULL), *src = make_file("x.bin", 10);

	cr_assert_ok(blob_client_new(&c, http, url, &auth));
	/* Azure answers 403 AuthenticationFailed; the sandbox's Azurite answers
	 * 400 InvalidAuthenticationInfo (reported): accept either, with its code. */
	cr_assert_neq(blob_upload_file(c, "tests/wrong-key.bin", src, NULL), 0);
	cr_assert(strstr(error_message(), "HTTP 403: AuthenticationFailed") ||
		  strstr(error_message(), "HTTP 400: InvalidAuthenticationInfo"), "%s", error_message());
	cr_assert_null(strstr(error_message(), "d3d3d3d3"));
	blob_client_free(c);
	http_client_free(http);
	free(url);
	free(src);
}

/* ---- a token refused as expired (issue 10) ---- */

/* Storage tokens from a real credential (so the cache matters), counting
 * how many different tokens it handed out. */
struct cached_tokens {
	struct credential *cred;
	char *last;
	int different;
};

static int cached_token(void *ctx, const char *scope, const char **out)
{
	struct cached_tokens *t = ctx;
	int ret = credential_token(t->cred, scope, out);

	if (!ret && (!t->last || strcmp(t->last, *out))) {
		t->different++;
		free(t->last);
		t->last = xstrdup(*out);
	}
	return ret;
}

static char *expired_fault(const char *method, const char *name, const char *query, int skip, int count)
{
	struct buf rule = BUF_INIT;
	char *id;

	buf_addf(&rule, "{\"kind\":\"expired_token\",\"method\":\"%s\",\"host\":\"%s.blob.core.windows.net\","
		 "\"path\":\"^/%s%s\",\"query\":\"%s\",\"skip\":%d,\"count\":%d}", method, account(),
		 CONTAINER, name, query, skip, count);
	id = sandbox_fault(rule.data);
	buf_release(&rule);
	return id;
}

static struct blob_client *cached_client(struct http_client *http, struct cached_tokens *t)
{
	struct credential_config cfg = {
		.kind = CREDENTIAL_SECRET, .tenant_id = sandbox_env("AZURE_TENANT_ID"),
		.client_id = sandbox_env("AZURE_CLIENT_ID"), .client_secret = sandbox_env("AZURE_CLIENT_SECRET"),
	};
	struct blob_auth auth = { .kind = BLOB_AUTH_BEARER, .tokens = { cached_token, t } };
	struct blob_client *c = NULL;
	char *url = container_url(NULL);

	cr_assert_ok(credential_new(&t->cred, &cfg, http));
	cr_assert_ok(blob_client_new(&c, http, url, &auth));
	free(url);
	return c;
}

Test(blob_sandbox, a_bearer_refused_as_expired_gets_a_new_token_once_on_every_kind_of_request)
{
	struct http_client *http = sandbox_http();
	struct blob_upload_options o = { .single_put_max = MiB, .block_size = MiB, .parallel = 4 };
	struct cached_tokens t = { NULL, NULL, 0 };
	struct blob_client *c;
	char *src = xasprintf("%s/src", workdir), *dst = xasprintf("%s/dst", workdir), *one, *cmd;
	char *ids[5];
	size_t up = 0, down = 0;

	sandbox_reset();
	c = cached_client(http, &t);
	cr_assert_ok(fs_mkdirs(src));
	free(make_file("src/small.txt", 10));
	free(make_file("src/blocks.bin", 3 * MiB + 3));
	ids[0] = expired_fault("PUT", "/tests/expired/blocks.bin$", "comp=block&", 1, 1);  /* parallel Put Block */
	ids[1] = expired_fault("PUT", "/tests/expired/small.txt$", "", 0, 1);              /* parallel Put Blob */
	ids[2] = expired_fault("GET", "/?$", "comp=list", 0, 1);                            /* List Blobs */
	ids[3] = expired_fault("GET", "/tests/expired/blocks.bin$", "", 0, 1);             /* parallel Get Blob */
	cr_assert_ok(blob_upload_dir(c, "tests/expired", src, &o, &up));
	cr_assert_eq(up, 2);
	cr_assert_ok(blob_download_prefix(c, dst, "tests/expired/", 4, &down));
	cr_assert_eq(down, 2);
	one = xasprintf("%s/one.bin", workdir);
	ids[4] = expired_fault("GET", "/tests/expired/small.txt$", "", 0, 1);              /* Get Blob */
	cr_assert_ok(blob_download_file(c, one, "tests/expired/small.txt"));
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(sandbox_fault_applied(ids[i]), 1, "fault %d applied %d times", i,
			     sandbox_fault_applied(ids[i]));
		free(ids[i]);
	}
	cmd = xasprintf("diff -r '%s' '%s'", src, dst);
	cr_assert_eq(system(cmd), 0, "the folders differ");
	free(cmd);
	/* Each refusal renewed the cached token: the first, then five new ones
	 * at most (one per refusal; parallel refusals of one token share one). */
	cr_assert_geq(t.different, 2, "the refused token was sent again");
	blob_client_free(c);
	credential_free(t.cred);
	http_client_free(http);
	free(t.last);
	free(src);
	free(dst);
	free(one);
}

Test(blob_sandbox, a_bearer_refused_as_expired_twice_is_the_error)
{
	struct http_client *http = sandbox_http();
	struct cached_tokens t = { NULL, NULL, 0 };
	struct blob_client *c;
	char *src = make_file("x.bin", 10), *id;

	sandbox_reset();
	c = cached_client(http, &t);
	id = expired_fault("PUT", "/tests/expired/twice.bin$", "", 0, 2);
	cr_assert_fails(blob_upload_file(c, "tests/expired/twice.bin", src, NULL), ERR_AUTH,
			"InvalidAuthenticationInfo");
	cr_assert_eq(sandbox_fault_applied(id), 2, "retried exactly once");
	blob_client_free(c);
	credential_free(t.cred);
	http_client_free(http);
	free(t.last);
	free(src);
	free(id);
}
