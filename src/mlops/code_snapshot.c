#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "azure/blob.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/ignore.h"
#include "core/log.h"
#include "mlops/code_snapshot.h"
#include "core/banned.h"

/* An ignore file larger than this is refused rather than read. */
#define IGNORE_FILE_MAX (1u << 20)

struct scan {
	struct code_snapshot *s;
	struct ignore rules;
	size_t alloc;
	struct sha256 h;
};

/*
 * The Azure ML CLI (azure-ai-ml, _utils/_asset_utils.py, get_ignore_file)
 * reads one ignore file, in the root of the code folder: .amlignore when it
 * exists, else .gitignore. Ignore files further down are plain files.
 */
static int read_ignore_file(struct scan *w, const char *dir)
{
	static const char *const names[] = { ".amlignore", ".gitignore" };
	struct buf path = BUF_INIT, text = BUF_INIT;
	struct stat st;
	size_t i;
	int ret = 0;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, names[i]);
		if (!lstat(path.data, &st))
			break;
		if (errno != ENOENT) {
			ret = error_set(ERR_IO, "%s: %s", path.data, strerror(errno));
			goto done;
		}
	}
	if (i == sizeof(names) / sizeof(*names))
		goto done;
	/* Judged before it is opened: a link out must not be read, a FIFO
	 * would block the run. */
	if (!fs_resolves_inside(path.data, dir)) {
		ret = error_set(ERR_INPUT, "%s: a symbolic link to outside the code folder", path.data);
		goto done;
	}
	if (stat(path.data, &st) || !S_ISREG(st.st_mode)) {
		ret = error_set(ERR_INPUT, "%s: not a regular file", path.data);
		goto done;
	}
	if ((ret = fs_read_file(&text, path.data, IGNORE_FILE_MAX)))
		goto done;
	ignore_parse(&w->rules, text.data, text.len);
	w->s->ignore_file = names[i];
done:
	buf_release(&path);
	buf_release(&text);
	return ret;
}

/* dataset_hash's line for a file of a folder: "<rel>\0<hex sha256>\n". */
static void hash_file(struct sha256 *h, const char *rel, const unsigned char digest[SHA256_LEN])
{
	struct buf line = BUF_INIT;

	buf_addstr(&line, rel);
	buf_addch(&line, '\0');
	hex_encode(&line, digest, SHA256_LEN);
	buf_addch(&line, '\n');
	sha256_update(h, line.data, line.len);
	buf_release(&line);
}

static int scan_entry(const struct fs_entry *e, void *ctx)
{
	struct scan *w = ctx;
	struct code_snapshot *s = w->s;
	unsigned char digest[SHA256_LEN];
	uint64_t size;
	int ret;

	/* The walk leaves out an excluded folder whole, which is git's rule
	 * that nothing under it can be re-included. */
	if (ignore_match(&w->rules, e->rel, e->is_dir, NULL) == IGNORE_EXCLUDED) {
		s->ignored++;
		return FS_WALK_SKIP;
	}
	if (e->is_dir)
		return 0;
	if ((ret = sha256_file(digest, e->path, &size)))
		return ret;
	hash_file(&w->h, e->rel, digest);
	if (s->nr == w->alloc) {
		w->alloc = w->alloc ? 2 * w->alloc : 64;
		s->files = xrealloc(s->files, w->alloc * sizeof(*s->files));
	}
	s->files[s->nr].path = xstrdup(e->path);
	s->files[s->nr].rel = xstrdup(e->rel);
	s->files[s->nr].size = size; /* as hashed */
	s->nr++;
	s->size += size;
	return 0;
}

int code_snapshot_scan(struct code_snapshot *out, const char *dir)
{
	struct scan w = { out, IGNORE_INIT, 0, SHA256_INIT };
	unsigned char digest[SHA256_LEN];
	struct buf hex = BUF_INIT;
	int ret;

	memset(out, 0, sizeof(*out));
	sha256_begin(&w.h);
	if ((ret = read_ignore_file(&w, dir)) || (ret = fs_walk(dir, scan_entry, &w)))
		goto done;
	sha256_end(&w.h, digest);
	hex_encode(&hex, digest, SHA256_LEN);
	memcpy(out->hash, hex.data, sizeof(out->hash) - 1);
done:
	if (ret) {
		sha256_release(&w.h);
		code_snapshot_release(out);
	}
	ignore_release(&w.rules);
	buf_release(&hex);
	return ret;
}

void code_snapshot_release(struct code_snapshot *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nr; i++) {
		free(s->files[i].path);
		free(s->files[i].rel);
	}
	free(s->files);
	memset(s, 0, sizeof(*s));
}

/* The code asset name for a folder: its last path component with anything
 * outside [A-Za-z0-9_-] as '-', or "code" when nothing is left. */
static void code_snapshot_name(struct buf *out, const char *dir)
{
	size_t len = strlen(dir), start = out->len, b;
	const char *p;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	for (b = len; b > 0 && dir[b - 1] != '/'; b--)
		;
	for (p = dir + b; p < dir + len && out->len - start < 200; p++)
		buf_addch(out, isalnum((unsigned char)*p) || *p == '_' || *p == '-' ? *p : '-');
	/* "." and ".." name nothing; a name starts with a letter or digit. */
	while (out->len > start && !isalnum((unsigned char)out->data[start])) {
		memmove(out->data + start, out->data + start + 1, out->len - start - 1);
		buf_setlen(out, out->len - 1);
	}
	if (out->len == start)
		buf_addstr(out, "code");
}

struct upload_ctx {
	struct http_client *http;
	const struct code_snapshot *snap;
};

/* The aml_upload_fn that sends the scanned list, not the folder again:
 * what was hashed is what is uploaded. */
static int upload_listed(void *ctx, const struct aml_pending_upload *target, const char *local_dir)
{
	const struct upload_ctx *u = ctx;
	struct buf container = BUF_INIT, prefix = BUF_INIT;
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct blob_client *c = NULL;
	struct blob_file *files = xcalloc(u->snap->nr + 1, sizeof(*files));
	size_t i, count = 0;
	int ret;

	for (i = 0; i < u->snap->nr; i++) {
		files[i].path = u->snap->files[i].path;
		files[i].name = u->snap->files[i].rel;
		files[i].size = u->snap->files[i].size;
	}
	if ((ret = aml_pending_upload_split(&container, &prefix, target)) ||
	    (ret = blob_client_new(&c, u->http, container.data, &auth)))
		goto done;
	if (!(ret = blob_upload_files(c, prefix.data, files, u->snap->nr, NULL, &count)))
		log_info("uploaded %zu file%s of %s", count, count == 1 ? "" : "s", local_dir);
done:
	blob_client_free(c);
	buf_wipe(&container);
	buf_release(&prefix);
	free(files);
	return ret;
}

int code_snapshot_ensure(struct aml_code_version *out, int *uploaded_out, struct aml *aml,
			 struct http_client *http, const struct code_snapshot *snap, const char *dir)
{
	struct upload_ctx u = { http, snap };
	struct buf name = BUF_INIT;
	int ret;

	code_snapshot_name(&name, dir);
	log_info("code %s: %zu file%s, %llu bytes, snapshot %.12s", dir, snap->nr,
		 snap->nr == 1 ? "" : "s", (unsigned long long)snap->size, snap->hash);
	if (snap->ignore_file)
		log_info("code %s: %u entr%s left out by %s", dir, snap->ignored,
			 snap->ignored == 1 ? "y" : "ies", snap->ignore_file);
	ret = aml_code_ensure(out, uploaded_out, aml, name.data, snap->hash, dir, upload_listed, &u);
	buf_release(&name);
	return ret;
}

int code_snapshot_ensure_id(struct buf *id_out, struct aml *aml, struct http_client *http,
			    const struct code_snapshot *snap, const char *dir)
{
	struct aml_code_version code;
	int ret, uploaded = 0;

	memset(&code, 0, sizeof(code));
	if (!(ret = code_snapshot_ensure(&code, &uploaded, aml, http, snap, dir))) {
		log_info("code snapshot %s:%s %s", code.asset.name, code.asset.version,
			 uploaded ? "uploaded" : "reused (unchanged)");
		if (code.asset.id)
			buf_addstr(id_out, code.asset.id);
		else
			aml_path(id_out, aml, "/codes/%s/versions/%s", code.asset.name,
				 code.asset.version);
	}
	aml_code_version_release(&code);
	return ret;
}
