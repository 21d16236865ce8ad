#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "azure/blob.h"
#include "azure/credential.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/http_multi.h"
#include "core/log.h"
#include "core/banned.h"

#define MiB (1024ull * 1024)
#define DEFAULT_PARALLEL 8
#define DEFAULT_SINGLE_PUT_MAX (8 * MiB)
#define MAX_HEADERS 24
/* List Blobs pages are at most 5000 entries; a few MiB of XML. */
#define LIST_MAX_RESPONSE (32u << 20)
/* Error bodies are small XML documents. */
#define ERROR_MAX_RESPONSE (1u << 20)

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

/* ---- small text helpers ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void percent_decode(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			buf_addch(out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else {
			buf_addch(out, s[i]);
		}
	}
}

/* XML character data: the five named entities and numeric references. */
static void xml_decode(struct buf *out, const char *s, size_t len)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
	};
	size_t i, k;

	for (i = 0; i < len; i++) {
		const char *p = s + i + 1;
		size_t left = len - i - 1;
		int done = 0;

		if (s[i] != '&') {
			buf_addch(out, s[i]);
			continue;
		}
		for (k = 0; k < sizeof(named) / sizeof(named[0]) && !done; k++) {
			size_t n = strlen(named[k].name);
			if (left >= n && !memcmp(p, named[k].name, n)) {
				buf_addch(out, named[k].c);
				i += n;
				done = 1;
			}
		}
		if (!done && left >= 3 && *p == '#') {
			const char *q = p + 1;
			unsigned long cp = 0;
			int hex = *q == 'x' || *q == 'X', digits = 0;

			for (q += hex; q < s + len && *q != ';' && digits < 8; q++, digits++) {
				int v = hex ? hexval(*q) : (*q >= '0' && *q <= '9' ? *q - '0' : -1);
				if (v < 0)
					break;
				cp = cp * (hex ? 16 : 10) + (unsigned long)v;
			}
			if (q < s + len && *q == ';' && digits && cp && cp <= 0x10FFFF) {
				/* UTF-8, as XML text is. */
				if (cp < 0x80) {
					buf_addch(out, (char)cp);
				} else if (cp < 0x800) {
					buf_addch(out, (char)(0xC0 | (cp >> 6)));
					buf_addch(out, (char)(0x80 | (cp & 0x3F)));
				} else if (cp < 0x10000) {
					buf_addch(out, (char)(0xE0 | (cp >> 12)));
					buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
					buf_addch(out, (char)(0x80 | (cp & 0x3F)));
				} else {
					buf_addch(out, (char)(0xF0 | (cp >> 18)));
					buf_addch(out, (char)(0x80 | ((cp >> 12) & 0x3F)));
					buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
					buf_addch(out, (char)(0x80 | (cp & 0x3F)));
				}
				i = (size_t)(q - s);
				done = 1;
			}
		}
		if (!done)
			buf_addch(out, '&');
	}
}

static const char *find_in(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; s + n <= end; s++)
		if (*s == *needle && !memcmp(s, needle, n))
			return s;
	return NULL;
}

/*
 * The text of the first element `tag` in [s, end): sets *text and *len and
 * whether it carries Encoded="true" (List Blobs percent-encodes names XML
 * cannot carry). 0, or -1 when absent; an empty element (<X/>) is found
 * with length 0.
 */
static int xml_element(const char *s, const char *end, const char *tag, const char **text,
		       size_t *len, int *encoded)
{
	size_t n = strlen(tag);
	const char *p = s, *gt, *close;
	struct buf closing = BUF_INIT;
	int ret = -1;

	while ((p = find_in(p, end, "<")) && p + 1 + n <= end) {
		if (!memcmp(p + 1, tag, n) && (p[1 + n] == '>' || p[1 + n] == ' ' || p[1 + n] == '/'))
			break;
		p++;
	}
	if (!p || p + 1 + n > end || !(gt = find_in(p, end, ">")))
		goto done;
	if (encoded)
		*encoded = find_in(p, gt, "Encoded=\"true\"") != NULL;
	if (gt[-1] == '/') {
		*text = gt;
		*len = 0;
		ret = 0;
		goto done;
	}
	buf_addf(&closing, "</%s>", tag);
	if (!(close = find_in(gt + 1, end, closing.data)))
		goto done;
	*text = gt + 1;
	*len = (size_t)(close - gt - 1);
	ret = 0;
done:
	buf_release(&closing);
	return ret;
}

/* ---- pure pieces ---- */

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

void blob_block_id(struct buf *out, uint32_t index)
{
	char raw[32];
	int n = snprintf(raw, sizeof(raw), "block-%010u", index);

	/* 16 bytes for every index, so every id has the same length (contract 4). */
	base64_encode(out, raw, (size_t)n);
}

void blob_block_list_xml(struct buf *out, uint32_t n)
{
	uint32_t i;

	buf_addstr(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (i = 0; i < n; i++) {
		buf_addstr(out, "<Latest>");
		blob_block_id(out, i);
		buf_addstr(out, "</Latest>");
	}
	buf_addstr(out, "</BlockList>");
}

uint64_t blob_choose_block_size(uint64_t size)
{
	uint64_t bs = 8 * MiB;

	/* Fewer, bigger blocks cut per-request overhead; 10,000 keeps the block
	 * list body under half a MiB and far from the 50,000 limit. */
	while (bs < 100 * MiB && (size + bs - 1) / bs > 10000)
		bs = bs * 2 > 100 * MiB ? 100 * MiB : bs * 2;
	if ((size + bs - 1) / bs > 10000) {
		uint64_t need = (size + 49999) / 50000;

		need = (need + MiB - 1) / MiB * MiB;
		if (need > bs)
			bs = need;
	}
	/* 4000 MiB is the largest block from version 2019-12-12 (contract 4). */
	return bs > 4000 * MiB ? 0 : bs;
}

void blob_error_detail(struct buf *out, const char *xml, size_t len)
{
	const char *end = xml + len, *code, *msg;
	size_t code_len, msg_len, nl;

	if (xml_element(xml, end, "Code", &code, &code_len, NULL))
		return;
	xml_decode(out, code, code_len);
	if (xml_element(xml, end, "Message", &msg, &msg_len, NULL) || !msg_len)
		return;
	/* The first line; the rest is RequestId and Time, which x-ms-request-id has. */
	for (nl = 0; nl < msg_len && msg[nl] != '\n' && msg[nl] != '\r'; nl++)
		;
	buf_addstr(out, ": ");
	xml_decode(out, msg, nl);
}

void blob_list_release(struct blob_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		free(l->names[i]);
	free(l->names);
	free(l->sizes);
	free(l->next_marker);
	l->names = NULL;
	l->sizes = NULL;
	l->nr = 0;
	l->next_marker = NULL;
}

static void list_add(struct blob_list *l, char *name, uint64_t size)
{
	l->names = xrealloc(l->names, (l->nr + 1) * sizeof(*l->names));
	l->sizes = xrealloc(l->sizes, (l->nr + 1) * sizeof(*l->sizes));
	l->names[l->nr] = name;
	l->sizes[l->nr] = size;
	l->nr++;
}

int blob_list_parse(struct blob_list *out, const char *xml, size_t len)
{
	const char *end = xml + len, *p = xml, *text;
	struct buf name = BUF_INIT, raw = BUF_INIT;
	size_t n;
	int encoded;

	if (!find_in(xml, end, "<EnumerationResults"))
		return error_set(ERR_INPUT, "List Blobs: the reply is not an EnumerationResults document");
	while ((p = find_in(p, end, "<Blob>"))) {
		const char *close = find_in(p, end, "</Blob>");
		uint64_t size = 0;

		if (!close || xml_element(p, close, "Name", &text, &n, &encoded) || !n) {
			buf_release(&name);
			buf_release(&raw);
			return error_set(ERR_INPUT, "List Blobs: a <Blob> without a <Name>");
		}
		buf_reset(&name);
		buf_reset(&raw);
		xml_decode(&raw, text, n);
		if (encoded)
			percent_decode(&name, raw.data, raw.len);
		else
			buf_add(&name, raw.data, raw.len);
		if (!xml_element(p, close, "Content-Length", &text, &n, NULL))
			size = strtoull(text, NULL, 10);
		list_add(out, xstrdup(name.data), size);
		p = close + 7;
	}
	free(out->next_marker);
	out->next_marker = NULL;
	if (!xml_element(xml, end, "NextMarker", &text, &n, NULL) && n) {
		buf_reset(&raw);
		xml_decode(&raw, text, n);
		out->next_marker = xstrdup(raw.data);
	}
	buf_release(&name);
	buf_release(&raw);
	return 0;
}

/* ---- Shared Key ---- */

struct kv {
	char *name;
	char *value;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static void kv_free(struct kv *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

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

/* "x-ms-*" headers: lower-case names, sorted, values trimmed (contract 4). */
static void canonical_headers(struct buf *out, const char *const *headers)
{
	struct kv *v = NULL;
	size_t n = 0, i;

	for (; headers && *headers; headers++) {
		const char *colon = strchr(*headers, ':');
		struct buf val = BUF_INIT;

		if (!colon || strncasecmp(*headers, "x-ms-", 5))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].name = xstrndup(*headers, (size_t)(colon - *headers));
		lower(v[n].name);
		buf_addstr(&val, colon + 1);
		buf_trim(&val);
		v[n].value = buf_detach(&val, NULL);
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), kv_cmp);
	for (i = 0; i < n; i++)
		buf_addf(out, "%s:%s\n", v[i].name, v[i].value);
	kv_free(v, n);
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
	struct kv *v = NULL;
	size_t n = 0, i;

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
		percent_decode(&name, start, (size_t)((eq ? eq : stop) - start));
		if (eq)
			percent_decode(&val, eq + 1, (size_t)(stop - eq - 1));
		lower(name.data);
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].name = buf_detach(&name, NULL);
		v[n].value = buf_detach(&val, NULL);
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), kv_cmp);
	for (i = 0; i < n; i++) {
		if (i && !strcmp(v[i].name, v[i - 1].name)) {
			buf_addf(out, ",%s", v[i].value);
			continue;
		}
		buf_addf(out, "\n%s:%s", v[i].name, v[i].value);
	}
	kv_free(v, n);
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

struct blob_req {
	const char *method;
	struct buf url;
	char *headers[MAX_HEADERS + 1];
	size_t nr;
	struct buf body;    /* an in-memory body (block list) */
};

static void req_init(struct blob_req *r, const char *method)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	buf_init(&r->url);
	buf_init(&r->body);
}

static void req_release(struct blob_req *r)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		free(r->headers[i]);
	r->nr = 0;
	buf_release(&r->url);
	buf_release(&r->body);
}

__attribute__((format(printf, 2, 3)))
static void req_header(struct blob_req *r, const char *fmt, ...)
{
	struct buf h = BUF_INIT;
	va_list ap;

	if (r->nr >= MAX_HEADERS)
		abort(); /* a programming error: MAX_HEADERS bounds what we build */
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

/* Sets the URL of `name` (NULL: the container itself) with our query. */
static void req_url(struct blob_req *r, const struct blob_client *c, const char *name,
		    const char *query)
{
	buf_reset(&r->url);
	blob_url(&r->url, c->base, name, query, c->sas);
}

/* Adds x-ms-version, x-ms-date and the authorization, last (it signs the rest). */
static int req_authorize(struct blob_req *r, struct blob_client *c, uint64_t content_length)
{
	struct buf date = BUF_INIT, sts = BUF_INIT, auth = BUF_INIT;
	const char *token = NULL;
	int ret = 0;

	rfc1123_now(&date);
	req_header(r, "x-ms-version: %s", BLOB_API_VERSION);
	req_header(r, "x-ms-date: %s", date.data);
	switch (c->kind) {
	case BLOB_AUTH_SAS:
		break;
	case BLOB_AUTH_SHARED_KEY:
		blob_string_to_sign(&sts, c->account, r->method, r->url.data,
				    (const char *const *)r->headers, content_length);
		blob_shared_key_header(&auth, c->account, c->key.data, c->key.len, sts.data);
		req_header(r, "%s", auth.data);
		break;
	case BLOB_AUTH_BEARER:
		if ((ret = token_source_get(&c->tokens, AZURE_SCOPE_STORAGE, &token)) < 0)
			goto done;
		if (!token || !*token) {
			ret = error_set(ERR_AUTH, "no storage access token");
			goto done;
		}
		req_header(r, "Authorization: Bearer %s", token);
		break;
	}
done:
	buf_release(&date);
	buf_release(&sts);
	buf_release(&auth);
	return ret;
}

/*
 * A bearer request Storage refused as expired (credential.h): marks the
 * token refused and authorizes `r` again with a new one, once per request
 * (`*retried`). Returns 1 when it should be sent again, 0 when the answer
 * stands, or the token callback's error.
 */
static int req_reauthorize(struct blob_req *r, struct blob_client *c,
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
	if ((ret = token_source_get(&c->tokens, AZURE_SCOPE_STORAGE, &token)) < 0)
		return ret;
	if (!token || !*token)
		return error_set(ERR_AUTH, "no storage access token");
	log_warning("%s %s: Storage refused the token as expired; retrying once with a new one",
		    r->method, c->base);
	free(r->headers[i]);
	r->headers[i] = xasprintf("%s%s", bearer, token);
	return 1;
}

static void req_to_http(struct http_request *out, struct blob_req *r)
{
	memset(out, 0, sizeof(*out));
	out->method = r->method;
	out->url = r->url.data;
	out->headers = (const char *const *)r->headers;
}

/* The error for a reply that is not the expected status, with Azure's code and message. */
static int reply_error(const struct http_response *resp, const char *method, const char *url)
{
	struct buf detail = BUF_INIT;
	int ret;

	blob_error_detail(&detail, resp->body.data, resp->body.len);
	/* HEAD replies and some proxies carry the code only in the header. */
	if (!detail.len)
		http_header(resp, "x-ms-error-code", &detail);
	ret = http_status_error(resp, method, url, detail.data);
	buf_release(&detail);
	return ret;
}

/* ---- upload ---- */

/* A file to upload: one Put Blob, or blocks then a block list. */
struct up_file {
	struct up_file *next;
	char *path;
	char *name;
	uint64_t size;
	int single;            /* one Put Blob */
	uint64_t block_size;   /* 0 for a single Put Blob */
	uint32_t nr_blocks;
	uint32_t issued;
	uint32_t completed;
	int list_issued;
};

enum xfer_kind { X_PUT_BLOB, X_PUT_BLOCK, X_BLOCK_LIST };

/* One transfer's request and what it is for: the tag http_multi hands back. */
struct xfer {
	enum xfer_kind kind;
	struct up_file *file;
	uint32_t block;
	struct blob_req rq;
	uint64_t offset, length;  /* the file slice sent (not for a block list) */
	int retried;              /* sent again once with a new token */
	struct xfer *next_retry;
};

/* A body (a block, or a whole small file) whose Content-MD5 is known. */
struct hashed {
	struct up_file *file;
	uint32_t block;
	unsigned char md5[MD5_LEN];
};

/*
 * Bodies are hashed ahead of sending, a HASH_PIECE at a time between
 * network events (http_multi's work callback), at most `lookahead` bodies
 * ahead of what is sent. A Content-MD5 must go before its body, so the
 * hash cannot be taken while sending; hashing a whole 8 MiB block at once
 * inside `next` left every transfer in flight unserved for as long (some
 * 15 ms a block, 2 s a GiB). Memory is one piece whatever the block size;
 * the bytes are read twice, the second time from the page cache.
 */
#define HASH_PIECE (256u * 1024)

struct hasher {
	struct up_file *file;  /* the file whose bodies are being hashed, or NULL */
	uint32_t next_body;    /* its next body to start */
	int fd;
	struct md5 md5;        /* the body being hashed (ctx NULL: none) */
	uint32_t body;
	uint64_t pos, end;     /* its remaining range in the file */
	unsigned char *piece;
};

struct upload {
	struct blob_client *c;
	struct blob_upload_options o;
	struct up_file **todo;    /* files not started yet, in walk order */
	size_t nr_todo, next_todo;
	struct up_file *open;     /* files started (hashed or sent), until committed */
	struct hasher h;
	struct hashed *ready;     /* a ring of hashed bodies, in the order they go out */
	size_t lookahead, ready_head, nr_ready;
	size_t uploaded;
	struct xfer *retry;       /* to send again with a new token */
};

static void up_file_free(struct up_file *f)
{
	if (!f)
		return;
	free(f->path);
	free(f->name);
	free(f);
}

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	req_release(&x->rq);
	free(x);
}

static uint32_t nr_bodies(const struct up_file *f)
{
	return f->single ? 1 : f->nr_blocks;
}

static uint64_t body_offset(const struct up_file *f, uint32_t i)
{
	return f->single ? 0 : (uint64_t)i * f->block_size;
}

static uint64_t body_length(const struct up_file *f, uint32_t i)
{
	uint64_t off = body_offset(f, i);

	if (f->single)
		return f->size;
	return f->size - off < f->block_size ? f->size - off : f->block_size;
}

/* Takes the next file off the to-do list: open from here until committed. */
static int start_file(struct upload *u)
{
	struct up_file *f = u->todo[u->next_todo];

	u->todo[u->next_todo++] = NULL;
	f->next = u->open;
	u->open = f;
	if (f->size <= u->o.single_put_max) {
		f->single = 1;
	} else {
		f->block_size = u->o.block_size ? u->o.block_size : blob_choose_block_size(f->size);
		if (!f->block_size || (f->size + f->block_size - 1) / f->block_size > 50000)
			return error_set(ERR_INPUT, "%s: too large for one block blob "
					 "(50,000 blocks of at most 4000 MiB)", f->path);
		f->nr_blocks = (uint32_t)((f->size + f->block_size - 1) / f->block_size);
	}
	u->h.file = f;
	u->h.next_body = 0;
	u->h.fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (u->h.fd < 0)
		return error_set(ERR_IO, "%s: %s", f->path, strerror(errno));
	return 0;
}

static void hasher_close_file(struct hasher *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->file = NULL;
}

/*
 * http_multi's work: one piece of the next body's MD5. 1 when it did some,
 * 0 when the ring is full or everything is hashed, or an error (ERR_IO).
 */
static int up_work(void *ctx)
{
	struct upload *u = ctx;
	struct hasher *h = &u->h;
	size_t want;
	ssize_t n;

	if (u->nr_ready >= u->lookahead)
		return 0;
	if (!h->md5.ctx) {
		if (!h->file) {
			int ret;

			if (u->next_todo >= u->nr_todo)
				return 0;
			if ((ret = start_file(u)))
				return ret;
		}
		h->body = h->next_body++;
		h->pos = body_offset(h->file, h->body);
		h->end = h->pos + body_length(h->file, h->body);
		md5_begin(&h->md5);
	}
	want = h->end - h->pos < HASH_PIECE ? (size_t)(h->end - h->pos) : HASH_PIECE;
	if (want) {
		do
			n = pread(h->fd, h->piece, want, (off_t)h->pos);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return error_set(ERR_IO, "%s: %s", h->file->path,
					 n < 0 ? strerror(errno) : "file shrank while uploading");
		md5_update(&h->md5, h->piece, (size_t)n);
		h->pos += (uint64_t)n;
	}
	if (h->pos == h->end) {
		struct hashed *r = &u->ready[(u->ready_head + u->nr_ready) % u->lookahead];

		r->file = h->file;
		r->block = h->body;
		md5_end(&h->md5, r->md5);
		u->nr_ready++;
		/* Let go of the file now: it may be committed and freed before
		 * the next call. */
		if (h->next_body >= nr_bodies(h->file))
			hasher_close_file(h);
	}
	return 1;
}

static void add_blob_properties(struct blob_req *rq, const struct blob_upload_options *o,
				const char *type_header)
{
	const char *const *m;

	req_header(rq, "%s: %s", type_header,
		   o->content_type ? o->content_type : "application/octet-stream");
	for (m = o->metadata; m && m[0] && m[1]; m += 2)
		req_header(rq, "x-ms-meta-%s: %s", m[0], m[1]);
}

static void add_md5(struct blob_req *rq, const unsigned char md5[MD5_LEN])
{
	struct buf b64 = BUF_INIT;

	base64_encode(&b64, md5, MD5_LEN);
	req_header(rq, "Content-MD5: %s", b64.data);
	buf_release(&b64);
}

/* Put Blob: the whole file in one request (contract 4). */
static int build_put_blob(struct upload *u, const struct hashed *b, struct xfer *x)
{
	struct up_file *f = b->file;

	x->kind = X_PUT_BLOB;
	x->file = f;
	x->offset = 0;
	x->length = f->size;
	req_url(&x->rq, u->c, f->name, NULL);
	req_header(&x->rq, "x-ms-blob-type: BlockBlob");
	add_md5(&x->rq, b->md5);
	add_blob_properties(&x->rq, &u->o, "Content-Type");
	f->issued = 1;
	return req_authorize(&x->rq, u->c, f->size);
}

/* Put Block: a slice of the file, under its fixed-length id. */
static int build_block(struct upload *u, const struct hashed *b, struct xfer *x)
{
	struct up_file *f = b->file;
	struct buf query = BUF_INIT, id = BUF_INIT;
	int ret;

	x->kind = X_PUT_BLOCK;
	x->file = f;
	x->block = b->block;
	x->offset = body_offset(f, b->block);
	x->length = body_length(f, b->block);
	blob_block_id(&id, x->block);
	buf_addstr(&query, "comp=block&blockid=");
	url_encode(&query, id.data);
	req_url(&x->rq, u->c, f->name, query.data);
	add_md5(&x->rq, b->md5);
	if (!(ret = req_authorize(&x->rq, u->c, x->length)))
		f->issued++;
	buf_release(&query);
	buf_release(&id);
	return ret;
}

/* Put Block List: commits the blocks in file order. */
static int build_block_list(struct upload *u, struct up_file *f, struct xfer *x)
{
	unsigned char md5[MD5_LEN];

	x->kind = X_BLOCK_LIST;
	x->file = f;
	req_url(&x->rq, u->c, f->name, "comp=blocklist");
	blob_block_list_xml(&x->rq.body, f->nr_blocks);
	md5_digest(md5, x->rq.body.data, x->rq.body.len);
	add_md5(&x->rq, md5);
	req_header(&x->rq, "Content-Type: application/xml");
	/* Here the blob's own content type goes in x-ms-blob-content-type. */
	add_blob_properties(&x->rq, &u->o, "x-ms-blob-content-type");
	f->list_issued = 1;
	return req_authorize(&x->rq, u->c, x->rq.body.len);
}

/* Builds the next transfer: 1, 0 when nothing is ready, or an error. */
static int build_next(struct upload *u, struct xfer *x)
{
	struct hashed *b;
	struct up_file *f;

	/* Commit what has all its blocks first: block lists are small. */
	for (f = u->open; f; f = f->next)
		if (!f->single && !f->list_issued && f->nr_blocks && f->completed == f->nr_blocks)
			return build_block_list(u, f, x) ? -1 : 1;
	if (!u->nr_ready)
		return 0; /* up_work is hashing the next body */
	b = &u->ready[u->ready_head];
	u->ready_head = (u->ready_head + 1) % u->lookahead;
	u->nr_ready--;
	if (b->file->single)
		return build_put_blob(u, b, x) ? -1 : 1;
	return build_block(u, b, x) ? -1 : 1;
}

static int up_next(void *ctx, struct http_request *req, void **tag)
{
	struct upload *u = ctx;
	struct xfer *x;
	int ret;

	if ((x = u->retry)) {
		u->retry = x->next_retry;
		goto send;
	}
	x = xcalloc(1, sizeof(*x));
	req_init(&x->rq, "PUT");
	ret = build_next(u, x);
	if (ret < 0)
		ret = error_last();
	if (ret != 1) {
		xfer_free(x);
		return ret;
	}
send:
	req_to_http(req, &x->rq);
	if (x->kind == X_BLOCK_LIST) {
		req->body = x->rq.body.data;
		req->body_len = x->rq.body.len;
	} else {
		req->body_file = x->file->path;
		req->file_offset = x->offset;
		req->file_length = x->length;
	}
	req->max_response = ERROR_MAX_RESPONSE;
	*tag = x;
	return 1;
}

static void close_file(struct upload *u, struct up_file *f)
{
	struct up_file **p;

	for (p = &u->open; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	u->uploaded++;
	if (f->nr_blocks)
		log_info("uploaded %s (%llu bytes in %u blocks)", f->name,
			 (unsigned long long)f->size, f->nr_blocks);
	else
		log_debug("uploaded %s (%llu bytes)", f->name, (unsigned long long)f->size);
	up_file_free(f);
}

static int up_done(void *ctx, void *tag, int result, struct http_response *resp)
{
	struct upload *u = ctx;
	struct xfer *x = tag;
	int ret = 0;

	if (result == HTTP_MULTI_CANCELLED)
		goto done;
	if (result < 0) {
		ret = result;
		goto done;
	}
	if (resp->status != 201) {
		int again = req_reauthorize(&x->rq, u->c, resp, &x->retried);

		if (again == 1) {
			x->next_retry = u->retry;
			u->retry = x;
			return 0;
		}
		ret = again < 0 ? again : reply_error(resp, x->rq.method, x->rq.url.data);
		goto done;
	}
	if (x->kind == X_PUT_BLOCK)
		x->file->completed++;
	else
		close_file(u, x->file); /* a Put Blob, or the block list: committed */
done:
	xfer_free(x);
	return ret;
}

static void upload_release(struct upload *u)
{
	size_t i;

	for (i = u->next_todo; i < u->nr_todo; i++)
		up_file_free(u->todo[i]);
	free(u->todo);
	while (u->open) {
		struct up_file *f = u->open;
		u->open = f->next;
		up_file_free(f);
	}
	while (u->retry) {
		struct xfer *x = u->retry;
		u->retry = x->next_retry;
		xfer_free(x);
	}
	md5_release(&u->h.md5);
	hasher_close_file(&u->h);
	free(u->h.piece);
	free(u->ready);
}

static void upload_init(struct upload *u, struct blob_client *c, const struct blob_upload_options *o)
{
	memset(u, 0, sizeof(*u));
	u->c = c;
	if (o)
		u->o = *o;
	if (u->o.parallel <= 0)
		u->o.parallel = DEFAULT_PARALLEL;
	if (!u->o.single_put_max)
		u->o.single_put_max = DEFAULT_SINGLE_PUT_MAX;
	/* As many hashed bodies as transfers in flight: when they all end at
	 * once, the next as many can go without waiting for a hash. */
	u->lookahead = (size_t)u->o.parallel;
	u->ready = xcalloc(u->lookahead, sizeof(*u->ready));
	u->h.fd = -1;
	u->h.piece = xmalloc(HASH_PIECE);
}

static void upload_add(struct upload *u, const char *path, const char *name, uint64_t size)
{
	struct up_file *f = xcalloc(1, sizeof(*f));

	f->path = xstrdup(path);
	f->name = xstrdup(name);
	f->size = size;
	u->todo = xrealloc(u->todo, (u->nr_todo + 1) * sizeof(*u->todo));
	u->todo[u->nr_todo++] = f;
}

static int upload_run(struct upload *u)
{
	struct http_multi_ops ops = { up_next, up_done, u, up_work };

	return http_multi_run(u->c->http, u->o.parallel, &ops);
}

static int valid_name(const char *name)
{
	return name && *name && *name != '/' && strlen(name) <= 1024;
}

int blob_upload_file(struct blob_client *c, const char *name, const char *path,
		     const struct blob_upload_options *o)
{
	struct upload u;
	FILE *f;
	off_t size;
	int ret;

	upload_init(&u, c, o);
	if (!valid_name(name)) {
		ret = error_set(ERR_INPUT, "'%s' is not a valid blob name", name ? name : "");
		goto done;
	}
	if (!(f = fopen(path, "rb")) || fseeko(f, 0, SEEK_END) || (size = ftello(f)) < 0) {
		ret = error_set(ERR_IO, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		goto done;
	}
	fclose(f);
	upload_add(&u, path, name, (uint64_t)size);
	ret = upload_run(&u);
done:
	upload_release(&u);
	return ret;
}

struct walk_ctx {
	struct upload *u;
	const char *prefix;
};

/* Queues `path` as "<prefix>/<rel>". */
static void upload_add_under(struct upload *u, const char *prefix, const char *path,
			     const char *rel, uint64_t size)
{
	struct buf name = BUF_INIT;

	buf_addstr(&name, prefix);
	if (name.len && name.data[name.len - 1] != '/')
		buf_addch(&name, '/');
	buf_addstr(&name, rel);
	upload_add(u, path, name.data, size);
	buf_release(&name);
}

static int collect(const struct fs_entry *e, void *ctx)
{
	struct walk_ctx *w = ctx;

	if (!e->is_dir)
		upload_add_under(w->u, w->prefix, e->path, e->rel, e->size);
	return 0;
}

int blob_upload_files(struct blob_client *c, const char *prefix, const struct blob_file *files,
		      size_t nr, const struct blob_upload_options *o, size_t *count_out)
{
	struct upload u;
	size_t i;
	int ret = 0;

	upload_init(&u, c, o);
	if (count_out)
		*count_out = 0;
	prefix = prefix ? prefix : "";
	if (*prefix == '/')
		ret = error_set(ERR_INPUT, "blob prefix '%s' must not start with '/'", prefix);
	for (i = 0; !ret && i < nr; i++) {
		if (!valid_name(files[i].name))
			ret = error_set(ERR_INPUT, "'%s' is not a valid blob name", files[i].name);
		else
			upload_add_under(&u, prefix, files[i].path, files[i].name, files[i].size);
	}
	if (!ret)
		ret = upload_run(&u);
	if (count_out)
		*count_out = u.uploaded;
	upload_release(&u);
	return ret;
}

int blob_upload_dir(struct blob_client *c, const char *prefix, const char *dir,
		    const struct blob_upload_options *o, size_t *count_out)
{
	struct upload u;
	struct walk_ctx w;
	int ret;

	upload_init(&u, c, o);
	if (count_out)
		*count_out = 0;
	w.u = &u;
	w.prefix = prefix ? prefix : "";
	if (*w.prefix == '/') {
		ret = error_set(ERR_INPUT, "blob prefix '%s' must not start with '/'", w.prefix);
		goto done;
	}
	if ((ret = fs_walk(dir, collect, &w)))
		goto done;
	ret = upload_run(&u);
	if (count_out)
		*count_out = u.uploaded;
done:
	upload_release(&u);
	return ret;
}

/* ---- download ---- */

struct sink_file {
	FILE *f;
	const char *path;
	int err;
};

static int sink_write(const void *data, size_t len, void *ctx)
{
	struct sink_file *s = ctx;

	if (fwrite(data, 1, len, s->f) != len) {
		s->err = errno ? errno : EIO;
		return error_set(ERR_IO, "%s: %s", s->path, strerror(s->err));
	}
	return 0;
}

/* A retry starts the body again: empty the file. */
static void sink_reset(void *ctx)
{
	struct sink_file *s = ctx;

	fflush(s->f);
	if (ftruncate(fileno(s->f), 0) == 0)
		rewind(s->f);
}

static int open_target(struct sink_file *s, const char *path)
{
	const char *slash = strrchr(path, '/');

	s->path = path;
	s->err = 0;
	if (slash && slash != path) {
		char *parent = xstrndup(path, (size_t)(slash - path));
		int ret = fs_mkdirs(parent);
		free(parent);
		if (ret)
			return ret;
	}
	if (!(s->f = fopen(path, "wb")))
		return error_set(ERR_IO, "%s: %s", path, strerror(errno));
	return 0;
}

/* Closes the target; removes it unless the download succeeded. */
static int close_target(struct sink_file *s, int ok)
{
	int ret = 0;

	if (!s->f)
		return 0;
	if (fclose(s->f) && ok)
		ret = error_set(ERR_IO, "%s: %s", s->path, strerror(errno));
	s->f = NULL;
	if (!ok || ret)
		unlink(s->path);
	return ret;
}

static int get_request(struct blob_req *rq, struct blob_client *c, const char *name)
{
	req_init(rq, "GET");
	req_url(rq, c, name, NULL);
	return req_authorize(rq, c, 0);
}

int blob_download_file(struct blob_client *c, const char *path, const char *name)
{
	struct blob_req rq;
	struct http_request req;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct sink_file s = { 0 };
	int ret;

	req_init(&rq, "GET");
	if ((ret = get_request(&rq, c, name)) || (ret = open_target(&s, path)))
		goto done;
	for (int retried = 0;; ret = 0) {
		req_to_http(&req, &rq);
		req.max_response = ERROR_MAX_RESPONSE;
		req.sink = sink_write;
		req.sink_reset = sink_reset;
		req.sink_ctx = &s;
		if ((ret = http_send(c->http, &req, &resp)) || resp.status == 200 ||
		    (ret = req_reauthorize(&rq, c, &resp, &retried)) != 1)
			break;
	}
	if (!ret && resp.status != 200)
		ret = reply_error(&resp, "GET", rq.url.data);
done:
	if (s.f) {
		int closed = close_target(&s, !ret);
		if (!ret)
			ret = closed;
	}
	http_response_release(&resp);
	req_release(&rq);
	return ret;
}

int blob_list(struct blob_list *out, struct blob_client *c, const char *prefix)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf query = BUF_INIT;
	char *marker = NULL;
	int ret = 0;

	do {
		struct blob_req rq;
		struct http_request req;

		buf_reset(&query);
		buf_addstr(&query, "restype=container&comp=list");
		if (prefix && *prefix) {
			buf_addstr(&query, "&prefix=");
			url_encode(&query, prefix);
		}
		if (marker) {
			buf_addstr(&query, "&marker=");
			url_encode(&query, marker);
		}
		req_init(&rq, "GET");
		req_url(&rq, c, NULL, query.data);
		ret = req_authorize(&rq, c, 0);
		for (int retried = 0; !ret; ret = 0) {
			req_to_http(&req, &rq);
			req.max_response = LIST_MAX_RESPONSE;
			if ((ret = http_send(c->http, &req, &resp)) || resp.status == 200 ||
			    (ret = req_reauthorize(&rq, c, &resp, &retried)) != 1)
				break;
		}
		if (!ret && resp.status != 200)
			ret = reply_error(&resp, "GET", rq.url.data);
		if (!ret)
			ret = blob_list_parse(out, resp.body.data, resp.body.len);
		req_release(&rq);
		free(marker);
		marker = !ret && out->next_marker ? xstrdup(out->next_marker) : NULL;
	} while (!ret && marker);
	free(marker);
	buf_release(&query);
	http_response_release(&resp);
	return ret;
}

/* A name is safe to write under a directory when no segment is "." or "..". */
static int safe_relative(const char *rel)
{
	const char *seg = rel;

	if (!*rel || *rel == '/')
		return 0;
	while (seg) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);

		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		seg = slash ? slash + 1 : NULL;
	}
	return 1;
}

struct down_xfer {
	struct blob_req rq;
	struct sink_file sink;
	char *path;
	int retried;                 /* sent again once with a new token */
	struct down_xfer *next_retry;
};

struct download {
	struct blob_client *c;
	struct blob_list list;
	const char *dir;
	size_t prefix_len;
	size_t next, done;
	struct down_xfer *retry;     /* to send again with a new token */
};

static void down_request(struct http_request *req, struct down_xfer *x)
{
	req_to_http(req, &x->rq);
	req->max_response = ERROR_MAX_RESPONSE;
	req->sink = sink_write;
	req->sink_reset = sink_reset;
	req->sink_ctx = &x->sink;
}

static void down_xfer_free(struct down_xfer *x)
{
	req_release(&x->rq);
	free(x->path);
	free(x);
}

static int down_next(void *ctx, struct http_request *req, void **tag)
{
	struct download *d = ctx;
	struct down_xfer *x;
	const char *name, *rel;
	int ret;

	if ((x = d->retry)) {
		d->retry = x->next_retry;
		down_request(req, x);
		*tag = x;
		return 1;
	}
	/* Names that are "directories" (end in '/') carry no file. */
	while (d->next < d->list.nr && d->list.names[d->next][strlen(d->list.names[d->next]) - 1] == '/')
		d->next++;
	if (d->next >= d->list.nr)
		return 0;
	name = d->list.names[d->next++];
	rel = name + d->prefix_len;
	while (*rel == '/')
		rel++;
	if (!safe_relative(rel))
		return error_set(ERR_INPUT, "blob '%s' would be written outside %s", name, d->dir);
	x = xcalloc(1, sizeof(*x));
	x->path = xasprintf("%s/%s", d->dir, rel);
	if ((ret = get_request(&x->rq, d->c, name)) || (ret = open_target(&x->sink, x->path))) {
		req_release(&x->rq);
		free(x->path);
		free(x);
		return ret;
	}
	down_request(req, x);
	*tag = x;
	return 1;
}

static int down_done(void *ctx, void *tag, int result, struct http_response *resp)
{
	struct download *d = ctx;
	struct down_xfer *x = tag;
	int ret = result == HTTP_MULTI_CANCELLED ? 0 : result;

	if (!ret && resp->status != 200) {
		int again = result == 0 ? req_reauthorize(&x->rq, d->c, resp, &x->retried) : 0;

		if (again == 1) {
			x->next_retry = d->retry;
			d->retry = x;
			return 0;
		}
		ret = again < 0 ? again : reply_error(resp, "GET", x->rq.url.data);
	}
	if (close_target(&x->sink, result == 0 && !ret) && !ret && result == 0)
		ret = error_last();
	if (!ret && result == 0)
		d->done++;
	down_xfer_free(x);
	return ret;
}

int blob_download_prefix(struct blob_client *c, const char *dir, const char *prefix,
			 int parallel, size_t *count_out)
{
	struct download d;
	struct http_multi_ops ops = { down_next, down_done, &d, NULL };
	int ret;

	memset(&d, 0, sizeof(d));
	d.c = c;
	d.dir = dir;
	d.prefix_len = prefix ? strlen(prefix) : 0;
	if (count_out)
		*count_out = 0;
	if ((ret = blob_list(&d.list, c, prefix)) || (ret = fs_mkdirs(dir)))
		goto done;
	ret = http_multi_run(c->http, parallel > 0 ? parallel : DEFAULT_PARALLEL, &ops);
	if (count_out)
		*count_out = d.done;
done:
	while (d.retry) {
		struct down_xfer *x = d.retry;

		d.retry = x->next_retry;
		close_target(&x->sink, 0);
		down_xfer_free(x);
	}
	blob_list_release(&d.list);
	return ret;
}
