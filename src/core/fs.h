#ifndef CORE_FS_H
#define CORE_FS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Files and directories. Errors are ERR_IO (or ERR_INPUT for a too-large
 * file) with the path and the system's reason in the message; the path is
 * quoted whole with quote_path_add (core/encode.h), so a file name holding
 * a newline, CR or ESC is shown escaped, on one line. */

/* Reads a whole file of at most `cap` bytes into `out` (appending). */
int fs_read_file(struct buf *out, const char *path, size_t cap);
/* Writes `len` bytes to `path` in one append-mode write(2), creating the
 * file if needed, so concurrent writers never interleave within a block. */
int fs_append(const char *path, const void *data, size_t len);
/* Creates or replaces `path` with `len` bytes. */
int fs_write_file(const char *path, const void *data, size_t len);
/* Creates a directory and its parents (mode 0755); existing ones are fine. */
int fs_mkdirs(const char *path);

/* Rewrites `path` lexically without "." and "dir/.." parts and repeated
 * slashes ("jobs/../training/" becomes "training"); leading ".." of a
 * relative path stay. Symbolic links are not looked at. */
void fs_normalize(struct buf *path);

int fs_is_dir(const char *path);
int fs_is_file(const char *path);

/*
 * The workspace: the folder the repository is checked out in, which every
 * path a repository file names must stay inside (see docs/security.md).
 * The CI layer sets it once at start; until then it is ".".
 */
void fs_set_workspace(const char *dir);
const char *fs_workspace(void);

/* Whether `path` exists and resolves, symbolic links followed, to `dir`
 * or below it, through no folder named .git below `dir` (git's own folder
 * is never repository content; .git/config may hold the checkout token). */
int fs_resolves_inside(const char *path, const char *dir);
/* The same for the workspace. */
int fs_in_workspace(const char *path);

/* One regular file met by fs_walk. */
struct fs_entry {
	const char *path;     /* as opened: root + "/" + rel */
	const char *rel;      /* relative to the root, '/'-separated */
	uint64_t size;
	int is_dir;           /* directories are reported too (before contents) */
};

/*
 * Calls `fn` for every entry under `root` in a stable (byte-wise sorted)
 * order, depth first. Whatever the walk reaches stays inside `root`: a
 * symbolic link to a file is followed only when it resolves to `root` or
 * below it (and not into a .git there); one that leads out, or nowhere, is
 * an ERR_INPUT naming it, so a repository cannot make an upload read the
 * runner's files. A link to a folder is an ERR_INPUT too, wherever it
 * points: folders are walked where they are, so the walk is bounded by the
 * tree itself (links to folders could repeat it without end). A `.git`
 * entry is never reported nor
 * entered: git's own folder holds credentials (actions/checkout keeps the
 * token in .git/config) and is never data. Sockets, FIFOs and devices are
 * skipped.
 *
 * `fn` returns 0 to go on, FS_WALK_SKIP to leave out a directory's contents
 * (for a file it means the same as 0), anything else to stop the walk,
 * which then returns it.
 */
#define FS_WALK_SKIP 1
typedef int (*fs_walk_fn)(const struct fs_entry *entry, void *ctx);
int fs_walk(const char *root, fs_walk_fn fn, void *ctx);

#endif
