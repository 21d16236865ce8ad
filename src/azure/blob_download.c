#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "azure/blob.h"
#include "azure/blob_internal.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/http_multi.h"
#include "core/xml.h"
#include "core/banned.h"

/*
 * Listing and download: List Blobs page by page, each blob streamed to
 * its file, several at once (azure-contract 4).
 */

/* List Blobs pages are at most 5000 entries; a few MiB of XML. */
#define LIST_MAX_RESPONSE (32u << 20)

/* ---- List Blobs ---- */

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

/* One <Blob> of a listing: its name (percent-decoded when Encoded="true") and size. */
static int list_parse_blob(struct blob_list *out, const struct xml_element *blob)
{
	struct xml_element e;
	struct buf name = BUF_INIT, raw = BUF_INIT;
	uint64_t size = 0;

	if (xml_find(&e, blob->text, blob->len, "Name") || !e.len)
		return error_set(ERR_INPUT, "List Blobs: a <Blob> without a <Name>");
	xml_decode(&raw, e.text, e.len);
	if (xml_attr_is(&e, "Encoded", "true"))
		url_decode(&name, raw.data, raw.len);
	else
		buf_add(&name, raw.data, raw.len);
	/* A NUL would cut the name short: another blob's name, or a shorter path. */
	if (memchr(name.data, 0, name.len)) {
		buf_release(&raw);
		buf_release(&name);
		return error_set(ERR_INPUT, "List Blobs: a blob name holds a NUL byte");
	}
	/* strtoull would take "-1" as the largest size: digits only. */
	if (!xml_find(&e, blob->text, blob->len, "Content-Length") && e.len &&
	    e.text[0] >= '0' && e.text[0] <= '9')
		size = strtoull(e.text, NULL, 10);
	list_add(out, buf_detach(&name, NULL), size);
	buf_release(&raw);
	return 0;
}

int blob_list_parse(struct blob_list *out, const char *xml, size_t len)
{
	struct xml_element root, blob;
	struct buf marker = BUF_INIT;
	const char *p, *end;
	int ret;

	if (xml_find(&root, xml, len, "EnumerationResults"))
		return error_set(ERR_INPUT, "List Blobs: the reply is not an EnumerationResults document");
	end = root.text + root.len;
	for (p = root.text; !(ret = xml_find(&blob, p, (size_t)(end - p), "Blob")); p = blob.end)
		if ((ret = list_parse_blob(out, &blob)))
			return ret;
	if (ret == ERR_INPUT)
		return error_set(ERR_INPUT, "List Blobs: a <Blob> without its end");
	free(out->next_marker);
	out->next_marker = NULL;
	if (!xml_text(&marker, root.text, root.len, "NextMarker") && marker.len)
		out->next_marker = buf_detach(&marker, NULL);
	buf_release(&marker);
	return 0;
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
		blob_req_init(&rq, "GET");
		blob_req_url(&rq, c, NULL, query.data);
		ret = blob_req_authorize(&rq, c, 0);
		for (int retried = 0; !ret; ret = 0) {
			blob_req_to_http(&req, &rq);
			req.max_response = LIST_MAX_RESPONSE;
			if ((ret = http_send(blob_client_http(c), &req, &resp)) || resp.status == 200 ||
			    (ret = blob_req_reauthorize(&rq, c, &resp, &retried)) != 1)
				break;
		}
		if (!ret && resp.status != 200)
			ret = blob_reply_error(&resp, "GET", rq.url.data);
		if (!ret)
			ret = blob_list_parse(out, resp.body.data, resp.body.len);
		blob_req_release(&rq);
		free(marker);
		marker = !ret && out->next_marker ? xstrdup(out->next_marker) : NULL;
	} while (!ret && marker);
	free(marker);
	buf_release(&query);
	http_response_release(&resp);
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
	blob_req_init(rq, "GET");
	blob_req_url(rq, c, name, NULL);
	return blob_req_authorize(rq, c, 0);
}

int blob_download_file(struct blob_client *c, const char *path, const char *name)
{
	struct blob_req rq;
	struct http_request req;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct sink_file s = { 0 };
	int ret;

	blob_req_init(&rq, "GET");
	if ((ret = get_request(&rq, c, name)) || (ret = open_target(&s, path)))
		goto done;
	for (int retried = 0;; ret = 0) {
		blob_req_to_http(&req, &rq);
		req.max_response = BLOB_ERROR_MAX_RESPONSE;
		req.sink = sink_write;
		req.sink_reset = sink_reset;
		req.sink_ctx = &s;
		if ((ret = http_send(blob_client_http(c), &req, &resp)) || resp.status == 200 ||
		    (ret = blob_req_reauthorize(&rq, c, &resp, &retried)) != 1)
			break;
	}
	if (!ret && resp.status != 200)
		ret = blob_reply_error(&resp, "GET", rq.url.data);
done:
	if (s.f) {
		int closed = close_target(&s, !ret);
		if (!ret)
			ret = closed;
	}
	http_response_release(&resp);
	blob_req_release(&rq);
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
	blob_req_to_http(req, &x->rq);
	req->max_response = BLOB_ERROR_MAX_RESPONSE;
	req->sink = sink_write;
	req->sink_reset = sink_reset;
	req->sink_ctx = &x->sink;
}

static void down_xfer_free(struct down_xfer *x)
{
	blob_req_release(&x->rq);
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
		blob_req_release(&x->rq);
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
		int again = result == 0 ? blob_req_reauthorize(&x->rq, d->c, resp, &x->retried) : 0;

		if (again == 1) {
			x->next_retry = d->retry;
			d->retry = x;
			return 0;
		}
		ret = again < 0 ? again : blob_reply_error(resp, "GET", x->rq.url.data);
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
	ret = http_multi_run(blob_client_http(c), parallel > 0 ? parallel : BLOB_DEFAULT_PARALLEL, &ops);
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

