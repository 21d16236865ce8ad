#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "azure/blob.h"
#include "azure/blob_internal.h"
#include "core/block_blob.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/http_multi.h"
#include "core/log.h"
#include "core/banned.h"

/*
 * The upload engine: each file is one Put Blob, or Put Block for each of
 * its blocks then Put Block List, with the bodies of several files in
 * flight at once and streamed from disk (azure-contract 4).
 */

#define MiB (1024ull * 1024)
#define DEFAULT_SINGLE_PUT_MAX (8 * MiB)

uint64_t blob_choose_block_size(uint64_t size)
{
	uint64_t bs = 8 * MiB;

	/* Fewer, bigger blocks cut per-request overhead; 10,000 keeps the block
	 * list body under half a MiB and far from the 50,000 limit. */
	while (bs < 100 * MiB && (size + bs - 1) / bs > 10000)
		bs = bs * 2 > 100 * MiB ? 100 * MiB : bs * 2;
	if ((size + bs - 1) / bs > 10000) {
		uint64_t need = (size + BLOCK_BLOB_MAX_BLOCKS - 1) / BLOCK_BLOB_MAX_BLOCKS;

		need = (need + MiB - 1) / MiB * MiB;
		if (need > bs)
			bs = need;
	}
	/* 4000 MiB is the largest block from version 2019-12-12 (azure-contract 4). */
	return bs > 4000 * MiB ? 0 : bs;
}

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
	blob_req_release(&x->rq);
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
		if (!f->block_size ||
		    (f->size + f->block_size - 1) / f->block_size > BLOCK_BLOB_MAX_BLOCKS)
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

	blob_req_header(rq, "%s: %s", type_header,
		   o->content_type ? o->content_type : "application/octet-stream");
	for (m = o->metadata; m && m[0] && m[1]; m += 2)
		blob_req_header(rq, "x-ms-meta-%s: %s", m[0], m[1]);
}

static void add_md5(struct blob_req *rq, const unsigned char md5[MD5_LEN])
{
	struct buf b64 = BUF_INIT;

	base64_encode(&b64, md5, MD5_LEN);
	blob_req_header(rq, "Content-MD5: %s", b64.data);
	buf_release(&b64);
}

/* Put Blob: the whole file in one request (azure-contract 4). */
static int build_put_blob(struct upload *u, const struct hashed *b, struct xfer *x)
{
	struct up_file *f = b->file;

	x->kind = X_PUT_BLOB;
	x->file = f;
	x->offset = 0;
	x->length = f->size;
	blob_req_url(&x->rq, u->c, f->name, NULL);
	blob_req_header(&x->rq, "x-ms-blob-type: BlockBlob");
	add_md5(&x->rq, b->md5);
	add_blob_properties(&x->rq, &u->o, "Content-Type");
	f->issued = 1;
	return blob_req_authorize(&x->rq, u->c, f->size);
}

/* Put Block: a slice of the file, under its fixed-length id. */
static int build_block(struct upload *u, const struct hashed *b, struct xfer *x)
{
	struct up_file *f = b->file;
	struct buf query = BUF_INIT;
	int ret;

	x->kind = X_PUT_BLOCK;
	x->file = f;
	x->block = b->block;
	x->offset = body_offset(f, b->block);
	x->length = body_length(f, b->block);
	block_blob_block_query(&query, x->block);
	blob_req_url(&x->rq, u->c, f->name, query.data);
	add_md5(&x->rq, b->md5);
	if (!(ret = blob_req_authorize(&x->rq, u->c, x->length)))
		f->issued++;
	buf_release(&query);
	return ret;
}

/* Put Block List: commits the blocks in file order. */
static int build_block_list(struct upload *u, struct up_file *f, struct xfer *x)
{
	unsigned char md5[MD5_LEN];

	x->kind = X_BLOCK_LIST;
	x->file = f;
	blob_req_url(&x->rq, u->c, f->name, BLOCK_BLOB_LIST_QUERY);
	block_blob_list_xml(&x->rq.body, f->nr_blocks);
	md5_digest(md5, x->rq.body.data, x->rq.body.len);
	add_md5(&x->rq, md5);
	blob_req_header(&x->rq, "Content-Type: application/xml");
	/* Here the blob's own content type goes in x-ms-blob-content-type. */
	add_blob_properties(&x->rq, &u->o, "x-ms-blob-content-type");
	f->list_issued = 1;
	return blob_req_authorize(&x->rq, u->c, x->rq.body.len);
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
	blob_req_init(&x->rq, "PUT");
	ret = build_next(u, x);
	if (ret < 0)
		ret = error_last();
	if (ret != 1) {
		xfer_free(x);
		return ret;
	}
send:
	blob_req_to_http(req, &x->rq);
	if (x->kind == X_BLOCK_LIST) {
		req->body = x->rq.body.data;
		req->body_len = x->rq.body.len;
	} else {
		req->body_file = x->file->path;
		req->file_offset = x->offset;
		req->file_length = x->length;
	}
	req->max_response = BLOB_ERROR_MAX_RESPONSE;
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
		int again = blob_req_reauthorize(&x->rq, u->c, resp, &x->retried);

		if (again == 1) {
			x->next_retry = u->retry;
			u->retry = x;
			return 0;
		}
		ret = again < 0 ? again : blob_reply_error(resp, x->rq.method, x->rq.url.data);
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
		u->o.parallel = BLOB_DEFAULT_PARALLEL;
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

	return http_multi_run(blob_client_http(u->c), u->o.parallel, &ops);
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
