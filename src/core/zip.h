#ifndef CORE_ZIP_H
#define CORE_ZIP_H

#include <stddef.h>

/*
 * A streaming zip writer over libarchive, making the archives GitHub
 * artifacts are (docs/actions-contract.md section 5.5): standard PKZIP, deflate
 * (or store at level 0), UTF-8 names (general purpose flag bit 11), Zip64
 * only when an entry needs it, entry names relative with '/' separators.
 *
 * The archive is handed to a write callback in chunks as libarchive makes
 * them (at most ZIP_CHUNK bytes each); nothing holds the whole archive, so
 * memory stays bounded whatever the input size. The writer owns its
 * libarchive handle; the callback's context stays the caller's.
 */

#define ZIP_DEFAULT_LEVEL 6
#define ZIP_CHUNK (64 * 1024)

/*
 * Receives the next `len` bytes of the archive. Returns 0, or a negative
 * code from core/error.h with the message already set; the writer then
 * stops and every later call returns that code and message.
 */
typedef int (*zip_write_fn)(const void *data, size_t len, void *ctx);

struct zip_writer;

/*
 * Starts an archive written to `fn`. `level` is 0 (store) to 9, as zlib's;
 * ZIP_DEFAULT_LEVEL matches the toolkit. Returns ERR_INPUT for a level out
 * of range. Free the writer with zip_writer_free whatever happens.
 */
int zip_writer_open(struct zip_writer **out, int level, zip_write_fn fn, void *ctx);

/*
 * Adds the regular file at `path` (symbolic links followed) as `name`,
 * streamed in chunks, with the file's mtime and permission bits. Returns
 * ERR_INPUT for a bad name (see zip_check_name), ERR_IO when the file
 * cannot be read or is not a regular file, or the write callback's code.
 */
int zip_add_file(struct zip_writer *w, const char *path, const char *name);

/* Adds a directory entry `name` ("a/b" or "a/b/"), mtime now. */
int zip_add_dir(struct zip_writer *w, const char *name);

/*
 * Adds everything under the directory `root` the way the artifact toolkit
 * does: every regular file (links followed), each empty directory as a
 * directory entry, names relative to `root`, in fs_walk's sorted order.
 * Stops at the first error: ERR_INPUT naming the file for a name an
 * artifact may not hold, ERR_IO for an unreadable file, a directory loop or
 * a missing root, or the write callback's code.
 */
int zip_add_tree(struct zip_writer *w, const char *root);

/*
 * Writes the central directory and flushes the last chunk. Returns 0 only
 * when the whole archive reached the callback; otherwise the first error
 * (a failed add included, except the ERR_INPUT rejections of names, which
 * write nothing and leave the archive whole).
 */
int zip_writer_close(struct zip_writer *w);

/* Frees the writer; an unclosed archive is abandoned without another
 * callback call. Accepts NULL. */
void zip_writer_free(struct zip_writer *w);

/*
 * Checks that `name` may be a path inside an artifact: not empty, relative
 * (no leading '/' or '\'), no empty, "." or ".." component (either
 * separator counts, for Windows unzippers), and none of the characters the
 * artifact service refuses: " : < > | * ? CR LF. A trailing '/' is allowed
 * (directory entries). Returns 0 or ERR_INPUT naming the file and the reason.
 */
int zip_check_name(const char *name);

#endif
