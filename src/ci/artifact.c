#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ci/artifact.h"
#include "core/block_blob.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "core/zip.h"
#include "core/banned.h"

#define TWIRP_PREFIX "/twirp/github.actions.results.api.v1.ArtifactService/"
/* The version the Azure SDK in @actions/artifact sends; Azurite knows it. */
#define BLOB_API_VERSION "x-ms-version: 2021-12-02"
#define REPLY_CAP (1024 * 1024)
#define MESSAGE_CAP 500 /* of a service's error text quoted in ours */

void artifact_result_release(struct artifact_result *r)
{
	if (!r)
		return;
	free(r->id);
	r->id = NULL;
	r->size = 0;
	r->sha256_hex[0] = '\0';
}

void artifact_ids_release(struct artifact_ids *ids)
{
	if (!ids)
		return;
	free(ids->run);
	free(ids->job);
	ids->run = ids->job = NULL;
}

void artifact_url(struct buf *out, const char *server_url, const char *repository,
		  const char *run_id, const char *artifact_id)
{
	size_t n = strlen(server_url);

	while (n && server_url[n - 1] == '/')
		n--;
	buf_add(out, server_url, n);
	buf_addf(out, "/%s/actions/runs/%s/artifacts/%s", repository, run_id, artifact_id);
}

/* ---- names and tokens ---- */

int artifact_check_name(const char *name)
{
	/* upload-artifact's list (actions-contract 5.5); '/' and '\' too, unlike paths. */
	static const char forbidden[] = "\":<>|*?\r\n\\/";
	size_t bad;

	if (!*name)
		return error_set(ERR_INPUT, "artifact name is empty");
	bad = strcspn(name, forbidden);
	if (name[bad])
		return error_set(ERR_INPUT, "artifact name \"%s\" contains a forbidden "
				 "character (none of \" : < > | * ? \\ / CR LF are allowed)", name);
	return 0;
}

/* Splits "Actions.Results:<run>:<job>" (exactly three parts) into `out`. */
static int split_results_scope(struct artifact_ids *out, const char *scope, size_t len)
{
	const char *run = scope + strlen("Actions.Results:");
	const char *end = scope + len;
	const char *colon = memchr(run, ':', (size_t)(end - run));

	if (!colon || colon == run || colon + 1 == end ||
	    memchr(colon + 1, ':', (size_t)(end - colon - 1)))
		return -1;
	out->run = xstrndup(run, (size_t)(colon - run));
	out->job = xstrndup(colon + 1, (size_t)(end - colon - 1));
	return 0;
}

int artifact_ids_from_token(struct artifact_ids *out, const char *token)
{
	static const char prefix[] = "Actions.Results:";
	const char *dot1 = strchr(token, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	struct buf payload = BUF_INIT;
	cJSON *root = NULL;
	const cJSON *scp;
	const char *p;
	int ret = 0;

	out->run = out->job = NULL;
	/* The decoder's own messages are replaced: this is an auth problem. */
	if (!dot1 || !dot2 || base64_decode(&payload, dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
	    !(root = cJSON_ParseWithLength(payload.data, payload.len)) ||
	    !cJSON_IsObject(root)) {
		ret = error_set(ERR_AUTH, "the Actions runtime token is not a JWT");
		goto done;
	}
	scp = cJSON_GetObjectItemCaseSensitive(root, "scp");
	if (!cJSON_IsString(scp)) {
		ret = error_set(ERR_AUTH, "the Actions runtime token has no scp claim");
		goto done;
	}
	for (p = scp->valuestring; *p; p += *p == ' ') {
		size_t n = strcspn(p, " ");

		if (n > strlen(prefix) && !strncmp(p, prefix, strlen(prefix)) &&
		    !split_results_scope(out, p, n))
			goto done;
		p += n;
	}
	ret = error_set(ERR_AUTH, "the Actions runtime token has no "
			"Actions.Results:<run>:<job> scope, so this job cannot upload artifacts");
done:
	cJSON_Delete(root);
	buf_wipe(&payload);
	return ret;
}

/* ---- Twirp bodies ---- */

void artifact_expires_at(struct buf *out, time_t now, int days)
{
	time_t when = now + (time_t)days * 24 * 60 * 60;
	struct tm tm;
	char text[32];

	gmtime_r(&when, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_addstr(out, text);
}

static cJSON *body_with_ids(const struct artifact_ids *ids, const char *name)
{
	cJSON *root = json_new_object();

	json_add_string(root, "workflow_run_backend_id", ids->run);
	json_add_string(root, "workflow_job_run_backend_id", ids->job);
	json_add_string(root, "name", name);
	return root;
}

void artifact_create_body(struct buf *out, const struct artifact_ids *ids,
			  const char *name, const char *expires_at)
{
	cJSON *root = body_with_ids(ids, name);

	/* Version 4 and no mime_type: act answers unknown fields with a 500
	 * and version 7 requires mime_type (actions-contract 5.3). */
	json_add_number(root, "version", 4);
	if (expires_at)
		json_add_string(root, "expires_at", expires_at);
	json_write(out, root);
	cJSON_Delete(root);
}

void artifact_finalize_body(struct buf *out, const struct artifact_ids *ids,
			    const char *name, uint64_t size, const char *sha256_hex)
{
	cJSON *root = body_with_ids(ids, name);
	struct buf text = BUF_INIT;

	/* protobuf-JSON writes int64 as a string; a double would round above 2^53. */
	buf_addf(&text, "%" PRIu64, size);
	json_add_string(root, "size", text.data);
	buf_reset(&text);
	buf_addf(&text, "sha256:%s", sha256_hex);
	json_add_string(root, "hash", text.data);
	json_write(out, root);
	cJSON_Delete(root);
	buf_release(&text);
}

/* Parses a Twirp reply and checks its `ok`, which protobuf-JSON leaves out when false. */
static int parse_ok_reply(cJSON **out, const char *body, size_t len, const char *method)
{
	struct buf what = BUF_INIT;
	int ret;

	buf_addf(&what, "%s reply", method);
	ret = json_parse(out, body, len, what.data);
	if (!ret && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(*out, "ok")))
		ret = error_set(ERR_HTTP, "%s: the results service did not answer ok", method);
	buf_release(&what);
	return ret;
}

int artifact_parse_create_reply(struct buf *out, const char *body, size_t len)
{
	cJSON *root = NULL;
	const char *url;
	int ret;

	if ((ret = parse_ok_reply(&root, body, len, "CreateArtifact")))
		goto done;
	/* act answers in camelCase, GitHub in snake_case (actions-contract 5.3). */
	url = json_string_or(root, json_pick(root, "signed_upload_url", "signedUploadUrl"), "");
	if (!*url) {
		ret = error_set(ERR_JSON, "CreateArtifact reply has no signed_upload_url");
		goto done;
	}
	buf_addstr(out, url);
done:
	cJSON_Delete(root);
	return ret;
}

int artifact_parse_finalize_reply(char **out, const char *body, size_t len)
{
	cJSON *root = NULL;
	int64_t id;
	int ret;

	*out = NULL;
	if ((ret = parse_ok_reply(&root, body, len, "FinalizeArtifact")))
		goto done;
	ret = json_get_int64(&id, root, json_pick(root, "artifact_id", "artifactId"));
	if (ret == ERR_NOT_FOUND) {
		ret = error_set(ERR_JSON, "FinalizeArtifact reply has no artifact_id");
		goto done;
	}
	if (ret) {
		error_prefix("FinalizeArtifact reply");
		goto done;
	}
	*out = xasprintf("%" PRId64, id);
done:
	cJSON_Delete(root);
	return ret;
}

int artifact_twirp_error(const struct http_response *r, const char *method,
			 const char *artifact)
{
	cJSON *root = cJSON_ParseWithLength(r->body.data, r->body.len);
	const char *code = json_string_or(root, "code", "");
	const char *msg = json_string_or(root, "msg", "");
	int ret;

	/* The service's own code first: already_exists gets the message that
	 * says how to fix it, whatever the status carrying it. */
	if (r->status == 409 || !strcmp(code, "already_exists")) {
		ret = error_set(ERR_CONFLICT, "%s: an artifact named \"%s\" already exists in "
				"this workflow run (names are unique per run: include the job "
				"or matrix values in it)", method, artifact);
		goto done;
	}
	ret = http_status_code(r->status);
	error_set(ret, "%s: HTTP %ld%s%s%s%s%.*s%s", method, r->status,
		  *code ? " (" : "", code, *code ? ")" : "", *msg ? ": " : "",
		  MESSAGE_CAP, msg,
		  strstr(msg, "insufficient usage")
			  ? " (the artifact storage quota of this account is used up: "
			    "delete old artifacts or shorten their retention)"
			  : "");
done:
	cJSON_Delete(root);
	return ret;
}

/* ---- the calls ---- */

/* POSTs `body` to the Twirp `method`; `reply` gets a 2xx answer. */
static int twirp_call(struct http_response *reply, struct http_client *http,
		      const struct artifact_service *svc, const char *method,
		      const struct buf *body, const char *artifact)
{
	struct buf url = BUF_INIT, auth = BUF_INIT;
	const char *headers[] = { NULL, "Content-Type: application/json", NULL };
	struct http_request req = { 0 };
	int ret;

	/* The origin only: any path on ACTIONS_RESULTS_URL is dropped (actions-contract 5.1). */
	if ((ret = url_origin(&url, svc->results_url))) {
		error_prefix("the artifact service URL");
		goto done;
	}
	buf_addstr(&url, TWIRP_PREFIX);
	buf_addstr(&url, method);
	buf_addf(&auth, "Authorization: Bearer %s", svc->runtime_token);
	headers[0] = auth.data;
	req.method = "POST";
	req.url = url.data;
	req.headers = headers;
	req.body = body->data;
	req.body_len = body->len;
	req.max_response = REPLY_CAP;
	if ((ret = http_send(http, &req, reply)))
		goto done;
	if (reply->status < 200 || reply->status > 299)
		ret = artifact_twirp_error(reply, method, artifact);
done:
	buf_wipe(&auth);
	buf_release(&url);
	return ret;
}

/* Sets the error for a failed blob call from Azure's <Error> (no query in it). */
static int blob_error(const struct http_response *r, const char *url, const char *what)
{
	struct buf azure = BUF_INIT, detail = BUF_INIT;
	int ret;

	block_blob_error_detail(&azure, r->body.data, r->body.len);
	buf_addf(&detail, "%s%s%s", what, azure.len ? ": " : "", azure.data);
	ret = http_status_error(r, "PUT", url, detail.data);
	buf_release(&azure);
	buf_release(&detail);
	return ret;
}

/* A PUT to the blob that must answer 201; act answers 200 to requests it ignores. */
static int blob_put(struct http_client *http, const char *url, const char *const *headers,
		    const void *body, size_t len, const char *what)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { 0 };
	int ret;

	req.method = "PUT";
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = len;
	req.max_response = REPLY_CAP;
	if (!(ret = http_send(http, &req, &resp)) && resp.status != 201)
		ret = blob_error(&resp, url, what);
	http_response_release(&resp);
	return ret;
}

/* The zip's way to the blob: one block buffer, filled and sent in order. */
struct upload {
	struct http_client *http;
	const char *signed_url;
	struct buf block;
	unsigned blocks;
	uint64_t size;
	struct sha256 hash;
};

/*
 * Sends the buffered block. Blocks go one at a time and in order: act
 * appends bodies as they arrive and ignores block ids (actions-contract 5.4).
 */
static int put_block(struct upload *u)
{
	static const char *const headers[] = { BLOB_API_VERSION, NULL };
	struct buf url = BUF_INIT, what = BUF_INIT;
	int ret;

	if (u->blocks >= BLOCK_BLOB_MAX_BLOCKS) {
		ret = error_set(ERR_INPUT, "the artifact's zip is larger than %d blocks of "
				"8 MiB, the most one Azure blob holds", BLOCK_BLOB_MAX_BLOCKS);
		goto done;
	}
	block_blob_block_url(&url, u->signed_url, u->blocks);
	buf_addf(&what, "Put Block %u", u->blocks + 1);
	if ((ret = blob_put(u->http, url.data, headers, u->block.data, u->block.len, what.data)))
		goto done;
	/* Hashed once sent: Finalize describes exactly the bytes uploaded. */
	sha256_update(&u->hash, u->block.data, u->block.len);
	u->size += u->block.len;
	u->blocks++;
	buf_reset(&u->block);
done:
	buf_release(&url);
	buf_release(&what);
	return ret;
}

/* zip_write_fn: fills the block buffer, sending each full block. */
static int upload_write(const void *data, size_t len, void *ctx)
{
	struct upload *u = ctx;
	const char *p = data;
	int ret;

	while (len) {
		size_t n = ARTIFACT_BLOCK_SIZE - u->block.len;

		if (n > len)
			n = len;
		buf_add(&u->block, p, n);
		p += n;
		len -= n;
		if (u->block.len == ARTIFACT_BLOCK_SIZE && (ret = put_block(u)))
			return ret;
	}
	return 0;
}

/* Zips `root` into blocks and commits them as the blob. */
static int upload_zip(struct upload *u, const char *root)
{
	static const char *const headers[] = {
		BLOB_API_VERSION, "x-ms-blob-content-type: application/zip",
		"Content-Type: application/xml", NULL,
	};
	struct zip_writer *zw = NULL;
	struct buf url = BUF_INIT, xml = BUF_INIT;
	int ret;

	if ((ret = zip_writer_open(&zw, ZIP_DEFAULT_LEVEL, upload_write, u)) ||
	    (ret = zip_add_tree(zw, root)) ||
	    (ret = zip_writer_close(zw)))
		goto done;
	if (u->block.len && (ret = put_block(u)))
		goto done;
	block_blob_list_url(&url, u->signed_url);
	block_blob_list_xml(&xml, u->blocks);
	ret = blob_put(u->http, url.data, headers, xml.data, xml.len, "Put Block List");
done:
	zip_writer_free(zw);
	buf_release(&url);
	buf_release(&xml);
	return ret;
}

/* fs_walk callback: refuses a path before anything is created remotely. */
static int check_path(const struct fs_entry *e, void *ctx)
{
	(void)ctx;
	return zip_check_name(e->rel);
}

static int check_inputs(const struct artifact_service *svc, const char *name,
			const char *root_dir)
{
	int ret;

	if (!svc->results_url || !*svc->results_url || !svc->runtime_token ||
	    !*svc->runtime_token)
		return error_set(ERR_INPUT, "artifact \"%s\": no artifact service "
				 "(ACTIONS_RESULTS_URL and ACTIONS_RUNTIME_TOKEN are needed)", name);
	if ((ret = artifact_check_name(name)))
		return ret;
	/* A half-made artifact would hold the name for this run: check first. */
	if ((ret = fs_walk(root_dir, check_path, NULL)))
		return error_prefix("artifact \"%s\"", name);
	return 0;
}

int artifact_upload(struct artifact_result *out, struct http_client *http,
		    const struct artifact_service *svc, const char *name, const char *root_dir)
{
	struct artifact_ids ids = ARTIFACT_IDS_INIT;
	struct http_response reply = HTTP_RESPONSE_INIT;
	struct buf body = BUF_INIT, expires = BUF_INIT, signed_url = BUF_INIT, hex = BUF_INIT;
	struct upload u = { 0 };
	unsigned char digest[SHA256_LEN];
	char *id = NULL;
	int ret;

	buf_init(&u.block);
	if ((ret = check_inputs(svc, name, root_dir)) ||
	    (ret = artifact_ids_from_token(&ids, svc->runtime_token)))
		goto done;

	if (svc->retention_days > 0)
		artifact_expires_at(&expires, time(NULL), svc->retention_days);
	artifact_create_body(&body, &ids, name, expires.len ? expires.data : NULL);
	if ((ret = twirp_call(&reply, http, svc, "CreateArtifact", &body, name)) ||
	    (ret = artifact_parse_create_reply(&signed_url, reply.body.data, reply.body.len)))
		goto done;

	u.http = http;
	u.signed_url = signed_url.data;
	buf_grow(&u.block, ARTIFACT_BLOCK_SIZE);
	sha256_begin(&u.hash);
	if ((ret = upload_zip(&u, root_dir))) {
		error_prefix("artifact \"%s\"", name);
		goto done;
	}
	sha256_end(&u.hash, digest);
	hex_encode(&hex, digest, sizeof(digest));

	buf_reset(&body);
	artifact_finalize_body(&body, &ids, name, u.size, hex.data);
	if ((ret = twirp_call(&reply, http, svc, "FinalizeArtifact", &body, name)) ||
	    (ret = artifact_parse_finalize_reply(&id, reply.body.data, reply.body.len)))
		goto done;

	out->id = id;
	id = NULL;
	out->size = u.size;
	memcpy(out->sha256_hex, hex.data, sizeof(out->sha256_hex));
	log_info("Uploaded artifact \"%s\" (id %s): %" PRIu64 " bytes in %u block%s, sha256:%s",
		 name, out->id, u.size, u.blocks, u.blocks == 1 ? "" : "s", hex.data);
done:
	sha256_release(&u.hash);
	artifact_ids_release(&ids);
	http_response_release(&reply);
	buf_release(&body);
	buf_release(&expires);
	buf_release(&signed_url);
	buf_release(&hex);
	buf_release(&u.block);
	free(id);
	return ret;
}
