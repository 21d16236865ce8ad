#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/zip.h"
#include "core/banned.h"

struct zip_writer {
	struct archive *a;
	zip_write_fn fn;
	void *ctx;
	char *chunk;         /* ZIP_CHUNK bytes for reading files */
	int failed;          /* the first sticky error's code, 0 if none */
	struct error_saved failure; /* ... and the error, to repeat it later */
	int callback_err;    /* what the write callback returned, if it failed */
	int discarding;      /* being freed unclosed: swallow libarchive's output */
	int closed;
};

/* libarchive's output hook: pass each chunk on as it comes. */
static la_ssize_t on_write(struct archive *a, void *ctx, const void *data, size_t len)
{
	struct zip_writer *w = ctx;
	int ret;

	if (w->discarding)
		return (la_ssize_t)len;
	ret = w->fn(data, len, w->ctx);
	if (ret) {
		w->callback_err = ret < 0 ? ret : ERR_IO;
		archive_set_error(a, EIO, "write callback failed");
		return -1;
	}
	return (la_ssize_t)len;
}

/*
 * Makes the error just set sticky: a half-written entry leaves the archive
 * corrupt, so nothing more may be added and close must fail too.
 */
static int stick(struct zip_writer *w, int code)
{
	w->failed = code;
	error_save(&w->failure);
	w->failure.code = code;
	return code;
}

/* A failed libarchive call; the callback's own message beats libarchive's,
 * which only says that the callback failed. */
static int fail(struct zip_writer *w, const char *what)
{
	const char *why = archive_error_string(w->a);

	if (w->callback_err)
		return stick(w, w->callback_err);
	return stick(w, error_set(ERR_IO, "zip: %s: %s", what, why ? why : "libarchive failed"));
}

/* Repeats the sticky error, so every later call reports the real cause. */
static int still_failed(const struct zip_writer *w)
{
	return error_restore(&w->failure);
}

int zip_writer_open(struct zip_writer **out, int level, zip_write_fn fn, void *ctx)
{
	struct zip_writer *w = NULL;
	struct buf options = BUF_INIT;
	int ret = 0;

	*out = NULL;
	if (level < 0 || level > 9) {
		ret = error_set(ERR_INPUT, "zip: compression level %d is not between 0 and 9", level);
		goto done;
	}
	w = xcalloc(1, sizeof(*w));
	w->fn = fn;
	w->ctx = ctx;
	w->failure = (struct error_saved)ERROR_SAVED_INIT;
	w->chunk = xmalloc(ZIP_CHUNK);
	w->a = archive_write_new();
	if (!w->a)
		abort(); /* only out of memory, as buf decides */

	/* hdrcharset=UTF-8 makes libarchive set flag bit 11 on non-ASCII names. */
	if (level)
		buf_addf(&options, "zip:compression=deflate,zip:compression-level=%d,"
			 "zip:hdrcharset=UTF-8", level);
	else
		buf_addstr(&options, "zip:compression=store,zip:hdrcharset=UTF-8");
	if (archive_write_set_format_zip(w->a) != ARCHIVE_OK ||
	    archive_write_set_options(w->a, options.data) != ARCHIVE_OK ||
	    /* Chunks of ZIP_CHUNK, and no padding after the end record: a
	     * block-padded tail would be junk after the zip's last byte. */
	    archive_write_set_bytes_per_block(w->a, ZIP_CHUNK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->a, w, NULL, on_write, NULL, NULL) != ARCHIVE_OK) {
		ret = error_set(ERR_IO, "zip: cannot start the archive: %s",
				archive_error_string(w->a));
		goto done;
	}
	*out = w;
	w = NULL;
done:
	zip_writer_free(w);
	buf_release(&options);
	return ret;
}

/* Whether `s` (of `len` bytes) is a component that escapes or says nothing. */
static int bad_component(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.');
}

int zip_check_name(const char *name)
{
	/* The characters actions/toolkit's path validation refuses (section 5.5). */
	static const struct { char c; const char *what; } forbidden[] = {
		{ '"', "a double quote" }, { ':', "a colon" }, { '<', "'<'" },
		{ '>', "'>'" }, { '|', "'|'" }, { '*', "'*'" }, { '?', "'?'" },
		{ '\r', "a carriage return" }, { '\n', "a line feed" },
	};
	size_t i, len = strlen(name);
	const char *p;

	if (!len)
		return error_set(ERR_INPUT, "zip: empty file name");
	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (strchr(name, forbidden[i].c))
			return error_set(ERR_INPUT, "%s: file name contains %s, which artifact "
					 "paths may not", name, forbidden[i].what);
	if (name[0] == '/' || name[0] == '\\')
		return error_set(ERR_INPUT, "%s: absolute file name in a zip", name);
	if (name[len - 1] == '/')
		len--; /* a directory entry's trailing slash */
	for (p = name;; p++) {
		size_t n = strcspn(p, "/\\");

		if (n > (size_t)(name + len - p))
			n = (size_t)(name + len - p);
		if (bad_component(p, n))
			return error_set(ERR_INPUT, "%s: file name has an empty, '.' or '..' "
					 "component", name);
		p += n;
		if (p >= name + len)
			break;
	}
	return 0;
}

/* Writes one entry's header; the caller fills in type, size and times. */
static int write_header(struct zip_writer *w, struct archive_entry *e, const char *name)
{
	archive_entry_set_pathname_utf8(e, name);
	if (archive_write_header(w->a, e) != ARCHIVE_OK)
		return fail(w, name);
	return 0;
}

/* Copies exactly `size` bytes of `fd` into the current entry. */
static int copy_data(struct zip_writer *w, int fd, uint64_t size, const char *path)
{
	uint64_t left = size;

	while (left) {
		size_t want = left < ZIP_CHUNK ? (size_t)left : ZIP_CHUNK;
		ssize_t got = read(fd, w->chunk, want);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return stick(w, error_set(ERR_IO, "%s: %s", path, strerror(errno)));
		/* The header promised `size` bytes; fewer would corrupt the entry. */
		if (got == 0)
			return stick(w, error_set(ERR_IO, "%s: file shrank while being zipped", path));
		if (archive_write_data(w->a, w->chunk, (size_t)got) != got)
			return fail(w, path);
		left -= (uint64_t)got;
	}
	/* A file still growing (a live log) is taken as it was when opened. */
	return 0;
}

int zip_add_file(struct zip_writer *w, const char *path, const char *name)
{
	struct archive_entry *e = NULL;
	struct stat st;
	int fd = -1, ret;

	if (w->failed)
		return still_failed(w);
	if ((ret = zip_check_name(name)))
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		ret = error_set(ERR_IO, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = error_set(ERR_IO, "%s: not a regular file", path);
		goto done;
	}
	e = archive_entry_new();
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, st.st_mode & 0777);
	/* A known size lets libarchive choose Zip64 only when it is needed. */
	archive_entry_set_size(e, (la_int64_t)st.st_size);
	archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if ((ret = write_header(w, e, name)))
		goto done;
	ret = copy_data(w, fd, (uint64_t)st.st_size, path);
done:
	if (e)
		archive_entry_free(e);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* A directory entry named `name` + "/" with the given mtime. */
static int add_dir_at(struct zip_writer *w, const char *name, time_t mtime)
{
	struct archive_entry *e = NULL;
	struct buf full = BUF_INIT;
	int ret;

	if (w->failed)
		return still_failed(w);
	if ((ret = zip_check_name(name)))
		goto done;
	buf_addstr(&full, name);
	if (full.data[full.len - 1] != '/')
		buf_addch(&full, '/');
	e = archive_entry_new();
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_size(e, 0);
	archive_entry_set_mtime(e, mtime, 0);
	ret = write_header(w, e, full.data);
done:
	if (e)
		archive_entry_free(e);
	buf_release(&full);
	return ret;
}

int zip_add_dir(struct zip_writer *w, const char *name)
{
	return add_dir_at(w, name, time(NULL));
}

/*
 * fs_walk reports a directory just before its contents, so a directory is
 * empty exactly when the next entry is not inside it. The walk remembers
 * the last directory seen and writes it as an entry when that turns out to
 * be so; the toolkit gives only empty directories entries of their own.
 */
struct tree {
	struct zip_writer *w;
	struct buf dir_rel;   /* the pending directory, "" when none */
	struct buf dir_path;
};

static int flush_empty_dir(struct tree *t)
{
	struct stat st;
	int ret;

	if (!t->dir_rel.len)
		return 0;
	if (stat(t->dir_path.data, &st))
		return error_set(ERR_IO, "%s: %s", t->dir_path.data, strerror(errno));
	ret = add_dir_at(t->w, t->dir_rel.data, st.st_mtim.tv_sec);
	buf_reset(&t->dir_rel);
	return ret;
}

static int on_entry(const struct fs_entry *e, void *ctx)
{
	struct tree *t = ctx;
	int ret;

	if (t->dir_rel.len) {
		size_t n = t->dir_rel.len;

		if (!strncmp(e->rel, t->dir_rel.data, n) && e->rel[n] == '/')
			buf_reset(&t->dir_rel); /* it has contents */
		else if ((ret = flush_empty_dir(t)))
			return ret;
	}
	if (e->is_dir) {
		if ((ret = zip_check_name(e->rel)))
			return ret;
		buf_reset(&t->dir_rel);
		buf_addstr(&t->dir_rel, e->rel);
		buf_reset(&t->dir_path);
		buf_addstr(&t->dir_path, e->path);
		return 0;
	}
	return zip_add_file(t->w, e->path, e->rel);
}

int zip_add_tree(struct zip_writer *w, const char *root)
{
	struct tree t = { w, BUF_INIT, BUF_INIT };
	int ret;

	if (w->failed)
		return still_failed(w);
	ret = fs_walk(root, on_entry, &t);
	if (!ret)
		ret = flush_empty_dir(&t);
	buf_release(&t.dir_rel);
	buf_release(&t.dir_path);
	return ret;
}

int zip_writer_close(struct zip_writer *w)
{
	if (w->failed)
		return still_failed(w);
	if (w->closed)
		return 0;
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return fail(w, "writing the central directory");
	w->closed = 1;
	return 0;
}

void zip_writer_free(struct zip_writer *w)
{
	if (!w)
		return;
	if (w->a) {
		/* archive_write_free closes an open archive, which would call the
		 * callback again after the caller may have dropped its context. */
		w->discarding = 1;
		archive_write_free(w->a);
	}
	error_saved_release(&w->failure);
	free(w->chunk);
	free(w);
}
