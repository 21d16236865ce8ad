#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "azure/blob.h"
#include "azure/blob_internal.h"
#include "azure/credential.h"
#include "core/block_blob.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/kv.h"
#include "core/log.h"
#include "core/banned.h"

/*
 * The client and its authorization: the container it is bound to, the
 * Shared Key signature, and each request's URL, headers and Authorization.
 * What to send lives in blob_upload.c and blob_download.c.
 */

struct blob_client {
	struct http_client *http;
	enum blob_auth_kind kind;
	char *base;      /* scheme://host/container, no query, no trailing '/' */
	char *path;      /* "/container" as sent, for the canonicalized resource */
	char *account;
	char *sas;       /* the SAS query without '?', byte for byte, or NULL */
	struct buf key;  /* the decoded account key */
	struct token_source tokens; /* BEARER */
};

/* ---- URLs ---- */

void blob_url(struct buf *out, const char *base, const char *name, const char *query,
	      const char *sas)
{
	const char *seg = name;

	buf_addstr(out, base);
	while (seg && *seg) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
		char *part = xstrndup(seg, n);

		buf_addch(out, '/');
		url_encode(out, part);
		free(part);
		seg = slash ? slash + 1 : NULL;
	}
	if (query && *query) {
		buf_addch(out, '?');
		buf_addstr(out, query);
	}
	/* The SAS goes on untouched: its signature covers the exact values. */
	if (sas && *sas) {
		buf_addch(out, query && *query ? '&' : '?');
		buf_addstr(out, sas);
	}
}

/* ---- Shared Key ---- */

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* The value of "Name: value" header `name` among `headers`, trimmed, or "". */
static void header_value(struct buf *out, const char *const *headers, const char *name)
{
	size_t n = strlen(name);

	buf_reset(out);
	for (; headers && *headers; headers++)
		if (!strncasecmp(*headers, name, n) && (*headers)[n] == ':') {
			buf_addstr(out, *headers + n + 1);
			buf_trim(out);
			return;
		}
}

/* "x-ms-*" headers: lower-case names, sorted, values trimmed (azure-contract 4). */
static void canonical_headers(struct buf *out, const char *const *headers)
{
	struct kv_list v = KV_LIST_INIT;
	struct buf name = BUF_INIT, val = BUF_INIT;
	const char *const *p;

	for (; headers && *headers; headers++) {
		const char *colon = strchr(*headers, ':');

		if (!colon || strncasecmp(*headers, "x-ms-", 5))
			continue;
		buf_reset(&name);
		buf_add(&name, *headers, (size_t)(colon - *headers));
		lower(name.data);
		buf_reset(&val);
		buf_addstr(&val, colon + 1);
		buf_trim(&val);
		kv_list_add(&v, name.data, val.data);
	}
	kv_list_sort(&v);
	for (p = kv_list_pairs(&v); *p; p += 2)
		buf_addf(out, "%s:%s\n", p[0], p[1]);
	kv_list_release(&v);
	buf_release(&name);
	buf_release(&val);
}

/*
 * "/account/path" then each query parameter, names lower-cased, sorted,
 * values URL-decoded, several values of one name joined by commas
 * ("Shared Key authorization", Microsoft's "Authorize with Shared Key").
 */
static void canonical_resource(struct buf *out, const char *account, const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *path = strchr(scheme ? scheme + 3 : url, '/');
	const char *q = strchr(url, '?');
	struct kv_list v = KV_LIST_INIT;
	const char *const *p;

	buf_addf(out, "/%s", account);
	if (path && (!q || path < q))
		buf_add(out, path, q ? (size_t)(q - path) : strlen(path));
	while (q && *q) {
		const char *start = q + 1, *amp = strchr(start, '&'), *eq;
		const char *stop = amp ? amp : start + strlen(start);
		struct buf name = BUF_INIT, val = BUF_INIT;

		q = amp;
		if (stop == start)
			continue;
		eq = memchr(start, '=', (size_t)(stop - start));
		url_decode(&name, start, (size_t)((eq ? eq : stop) - start));
		if (eq)
			url_decode(&val, eq + 1, (size_t)(stop - eq - 1));
		lower(name.data);
		kv_list_add(&v, name.data, val.data);
		buf_release(&name);
		buf_release(&val);
	}
	kv_list_sort(&v);
	for (p = kv_list_pairs(&v); *p; p += 2) {
		if (p != kv_list_pairs(&v) && !strcmp(p[0], p[-2])) {
			buf_addf(out, ",%s", p[1]);
			continue;
		}
		buf_addf(out, "\n%s:%s", p[0], p[1]);
	}
	kv_list_release(&v);
}

int blob_string_to_sign(struct buf *out, const char *account, const char *method,
			const char *url, const char *const *headers, uint64_t content_length)
{
	static const char *const before_date[] = { "Content-Encoding", "Content-Language" };
	static const char *const after_length[] = { "Content-MD5", "Content-Type" };
	static const char *const after_date[] = { "If-Modified-Since", "If-Match", "If-None-Match",
						   "If-Unmodified-Since", "Range" };
	struct buf v = BUF_INIT;
	size_t i;

	buf_addf(out, "%s\n", method);
	for (i = 0; i < 2; i++) {
		header_value(&v, headers, before_date[i]);
		buf_addf(out, "%s\n", v.data);
	}
	/* Empty rather than "0" from version 2015-02-21. */
	if (content_length)
		buf_addf(out, "%llu", (unsigned long long)content_length);
	buf_addch(out, '\n');
	for (i = 0; i < 2; i++) {
		header_value(&v, headers, after_length[i]);
		buf_addf(out, "%s\n", v.data);
	}
	/* Date is left empty when x-ms-date is sent. */
	header_value(&v, headers, "x-ms-date");
	if (!v.len)
		header_value(&v, headers, "Date");
	else
		buf_reset(&v);
	buf_addf(out, "%s\n", v.data);
	for (i = 0; i < 5; i++) {
		header_value(&v, headers, after_date[i]);
		buf_addf(out, "%s\n", v.data);
	}
	canonical_headers(out, headers);
	canonical_resource(out, account, url);
	buf_release(&v);
	return 0;
}

void blob_shared_key_header(struct buf *out, const char *account, const void *key,
			    size_t key_len, const char *string_to_sign)
{
	unsigned char mac[SHA256_LEN];

	hmac_sha256(mac, key, key_len, string_to_sign, strlen(string_to_sign));
	buf_addf(out, "Authorization: SharedKey %s:", account);
	base64_encode(out, mac, sizeof(mac));
}

/* ---- the client ---- */

int blob_client_new(struct blob_client **out, struct http_client *http,
		    const char *container_url, const struct blob_auth *auth)
{
	struct blob_client *c = xcalloc(1, sizeof(*c));
	const char *host, *path, *q = strchr(container_url, '?');
	size_t base_len = q ? (size_t)(q - container_url) : strlen(container_url);
	int https = !strncmp(container_url, "https://", 8);
	int ret = 0;

	*out = NULL;
	buf_init(&c->key);
	c->http = http;
	c->kind = auth->kind;
	if (!https && strncmp(container_url, "http://", 7)) {
		ret = error_set(ERR_INPUT, "blob container URL must start with https://");
		goto done;
	}
	host = container_url + (https ? 8 : 7);
	path = memchr(host, '/', base_len - (size_t)(host - container_url));
	while (base_len && container_url[base_len - 1] == '/')
		base_len--;
	if (!path || container_url + base_len <= path + 1) {
		ret = error_set(ERR_INPUT, "blob container URL has no container: %.*s",
				(int)(path ? path - container_url : (ptrdiff_t)base_len), container_url);
		goto done;
	}
	c->base = xstrndup(container_url, base_len);
	c->path = xstrndup(path, (size_t)(container_url + base_len - path));
	/* The account is the first label of <account>.blob.core.windows.net. */
	c->account = xstrndup(host, strcspn(host, ".:/"));
	if (auth->kind == BLOB_AUTH_SAS) {
		const char *sig;

		if (!q || !q[1]) {
			ret = error_set(ERR_INPUT, "%s: SAS authorization needs the SAS query in the URL", c->base);
			goto done;
		}
		c->sas = xstrdup(q + 1);
		log_secret(c->sas);
		if ((sig = strstr(c->sas, "sig="))) {
			char *s = xstrndup(sig + 4, strcspn(sig + 4, "&"));
			log_secret(s);
			free(s);
		}
	} else if (auth->kind == BLOB_AUTH_SHARED_KEY) {
		if (!auth->account_key || !*auth->account_key) {
			ret = error_set(ERR_INPUT, "Shared Key authorization needs the account key");
			goto done;
		}
		log_secret(auth->account_key);
		if (base64_decode(&c->key, auth->account_key, strlen(auth->account_key)) || !c->key.len) {
			ret = error_set(ERR_INPUT, "the storage account key is not base64");
			goto done;
		}
	} else if (auth->kind == BLOB_AUTH_BEARER) {
		if (!token_source_ready(&auth->tokens)) {
			ret = error_set(ERR_INPUT, "bearer authorization needs a token source");
			goto done;
		}
		c->tokens = auth->tokens;
	} else {
		ret = error_set(ERR_INPUT, "unknown blob authorization kind %d", (int)auth->kind);
		goto done;
	}
	*out = c;
	c = NULL;
done:
	blob_client_free(c);
	return ret;
}

struct http_client *blob_client_http(const struct blob_client *c)
{
	return c->http;
}

void blob_client_free(struct blob_client *c)
{
	if (!c)
		return;
	buf_wipe(&c->key);
	free(c->base);
	free(c->path);
	free(c->account);
	free(c->sas);
	free(c);
}

/* ---- one request: URL, headers and authorization ---- */

void blob_req_init(struct blob_req *r, const char *method)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	buf_init(&r->url);
	buf_init(&r->body);
}

void blob_req_release(struct blob_req *r)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		free(r->headers[i]);
	r->nr = 0;
	buf_release(&r->url);
	buf_release(&r->body);
}

void blob_req_header(struct blob_req *r, const char *fmt, ...)
{
	struct buf h = BUF_INIT;
	va_list ap;

	if (r->nr >= BLOB_MAX_HEADERS)
		abort(); /* a programming error: BLOB_MAX_HEADERS bounds what we build */
	va_start(ap, fmt);
	buf_vaddf(&h, fmt, ap);
	va_end(ap);
	r->headers[r->nr++] = buf_detach(&h, NULL);
	r->headers[r->nr] = NULL;
}

static void rfc1123_now(struct buf *out)
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	buf_addf(out, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void blob_req_url(struct blob_req *r, const struct blob_client *c, const char *name,
		  const char *query)
{
	buf_reset(&r->url);
	blob_url(&r->url, c->base, name, query, c->sas);
}

/*
 * The bearer token for a request: the one place the client asks its token
 * source, for every request so the credential behind it can renew as it
 * sees fit. 0 with `*out` borrowed until the next call, or an error.
 */
static int bearer_token(struct blob_client *c, const char **out)
{
	int ret;

	*out = NULL;
	if ((ret = token_source_get(&c->tokens, AZURE_SCOPE_STORAGE, out)) < 0)
		return ret;
	if (!*out || !**out)
		return error_set(ERR_AUTH, "no storage access token");
	return 0;
}

int blob_req_authorize(struct blob_req *r, struct blob_client *c, uint64_t content_length)
{
	struct buf date = BUF_INIT, sts = BUF_INIT, auth = BUF_INIT;
	const char *token = NULL;
	int ret = 0;

	rfc1123_now(&date);
	blob_req_header(r, "x-ms-version: %s", BLOB_API_VERSION);
	blob_req_header(r, "x-ms-date: %s", date.data);
	switch (c->kind) {
	case BLOB_AUTH_SAS:
		break;
	case BLOB_AUTH_SHARED_KEY:
		blob_string_to_sign(&sts, c->account, r->method, r->url.data,
				    (const char *const *)r->headers, content_length);
		blob_shared_key_header(&auth, c->account, c->key.data, c->key.len, sts.data);
		blob_req_header(r, "%s", auth.data);
		break;
	case BLOB_AUTH_BEARER:
		if (!(ret = bearer_token(c, &token)))
			blob_req_header(r, "Authorization: Bearer %s", token);
		break;
	}
	buf_release(&date);
	buf_release(&sts);
	buf_release(&auth);
	return ret;
}

/*
 * Only a bearer request Storage refused as expired (credential.h) is sent
 * again: the token is marked refused first, so the source hands a new one.
 */
int blob_req_reauthorize(struct blob_req *r, struct blob_client *c,
			 const struct http_response *resp, int *retried)
{
	static const char bearer[] = "Authorization: Bearer ";
	const char *token = NULL;
	size_t i;
	int ret;

	if (c->kind != BLOB_AUTH_BEARER || *retried || !credential_refused_as_expired(resp))
		return 0;
	for (i = 0; i < r->nr && strncmp(r->headers[i], bearer, strlen(bearer)); i++)
		;
	if (i == r->nr)
		return 0;
	*retried = 1;
	credential_token_refused(r->headers[i] + strlen(bearer));
	if ((ret = bearer_token(c, &token)))
		return ret;
	log_warning("%s %s: Storage refused the token as expired; retrying once with a new one",
		    r->method, c->base);
	free(r->headers[i]);
	r->headers[i] = xasprintf("%s%s", bearer, token);
	return 1;
}

void blob_req_to_http(struct http_request *out, struct blob_req *r)
{
	memset(out, 0, sizeof(*out));
	out->method = r->method;
	out->url = r->url.data;
	out->headers = (const char *const *)r->headers;
}

int blob_reply_error(const struct http_response *resp, const char *method, const char *url)
{
	struct buf detail = BUF_INIT;
	int ret;

	block_blob_error_detail(&detail, resp->body.data, resp->body.len);
	/* HEAD replies and some proxies carry the code only in the header. */
	if (!detail.len)
		http_header(resp, "x-ms-error-code", &detail);
	ret = http_status_error(resp, method, url, detail.data);
	buf_release(&detail);
	return ret;
}
