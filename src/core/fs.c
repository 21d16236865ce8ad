#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/banned.h"

/*
 * Sets "<path>: <why>" with the path quoted whole but escaped
 * (quote_path_add): file names come from the repository, and one named
 * "x\n::error::y" must not end the log line or forge a workflow command.
 */
static int path_error(int code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int path_error(int code, const char *path, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	int ret;

	quote_path_add(&msg, path);
	buf_addstr(&msg, ": ");
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	ret = error_set(code, "%s", msg.data);
	buf_release(&msg);
	return ret;
}

int fs_read_file(struct buf *out, const char *path, size_t cap)
{
	char chunk[16384];
	size_t total = 0;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return path_error(errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, path, "%s", strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = path_error(ERR_IO, path, "%s", strerror(errno));
			break;
		}
		total += (size_t)n;
		if (total > cap) {
			ret = path_error(ERR_INPUT, path, "larger than the %zu bytes allowed", cap);
			break;
		}
		buf_add(out, chunk, (size_t)n);
	}
	close(fd);
	return ret;
}

static int write_all(int fd, const char *path, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return path_error(ERR_IO, path, "%s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Appending and replacing differ only in how the file is opened. */
static int write_with_flags(const char *path, int flags, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
	int ret;

	if (fd < 0)
		return path_error(ERR_IO, path, "%s", strerror(errno));
	ret = write_all(fd, path, data, len);
	if (close(fd) && !ret)
		ret = path_error(ERR_IO, path, "%s", strerror(errno));
	return ret;
}

int fs_append(const char *path, const void *data, size_t len)
{
	return write_with_flags(path, O_APPEND, data, len);
}

int fs_write_file(const char *path, const void *data, size_t len)
{
	return write_with_flags(path, O_TRUNC, data, len);
}

int fs_mkdirs(const char *path)
{
	struct buf p = BUF_INIT;
	size_t i;
	int ret = 0;

	buf_addstr(&p, path);
	for (i = 1; i <= p.len; i++) {
		if (p.data[i] != '/' && p.data[i] != '\0')
			continue;
		p.data[i] = '\0';
		if (mkdir(p.data, 0755) && errno != EEXIST) {
			ret = path_error(ERR_IO, p.data, "%s", strerror(errno));
			break;
		}
		if (i < p.len)
			p.data[i] = '/';
	}
	buf_release(&p);
	return ret;
}

void fs_normalize(struct buf *path)
{
	struct part { const char *s; size_t n; } *parts;
	struct buf out = BUF_INIT;
	int absolute = path->data[0] == '/';
	const char *p = path->data;
	size_t nr = 0, i;

	parts = xcalloc(path->len / 2 + 2, sizeof(*parts));
	while (*p) {
		size_t n = strcspn(p, "/");
		int dotdot = n == 2 && p[0] == '.' && p[1] == '.';

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* "//" and "." add nothing */
		} else if (dotdot && nr && !(parts[nr - 1].n == 2 && !memcmp(parts[nr - 1].s, "..", 2))) {
			nr--;
		} else if (!(dotdot && absolute)) { /* "/.." is "/" */
			parts[nr].s = p;
			parts[nr].n = n;
			nr++;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	if (absolute)
		buf_addch(&out, '/');
	for (i = 0; i < nr; i++) {
		if (i)
			buf_addch(&out, '/');
		buf_add(&out, parts[i].s, parts[i].n);
	}
	if (!out.len)
		buf_addch(&out, '.');
	free(parts);
	buf_release(path);
	*path = out;
}

int fs_is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

int fs_is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

static char *workspace;

void fs_set_workspace(const char *dir)
{
	free(workspace);
	workspace = dir && *dir ? xstrdup(dir) : NULL;
}

const char *fs_workspace(void)
{
	return workspace ? workspace : ".";
}

/* Whether the resolved `real` is `real_dir` or below it. */
static int real_below(const char *real, const char *real_dir)
{
	size_t n = strlen(real_dir);

	if (n == 1 && real_dir[0] == '/')
		return real[0] == '/';
	return !strncmp(real, real_dir, n) && (real[n] == '/' || !real[n]);
}

/* Whether the part of `real` below `real_dir` (real_below holds) passes
 * through a folder named .git: git's own folder is never repository
 * content, and .git/config may hold the checkout token. */
static int real_in_git(const char *real, const char *real_dir)
{
	const char *p = real + strlen(real_dir);

	while (*p) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 4 && !strncmp(p, ".git", 4))
			return 1;
		p += len;
	}
	return 0;
}

/* Whether the resolved `real` is `real_dir` or below it, and not in a .git. */
static int real_inside(const char *real, const char *real_dir)
{
	return real_below(real, real_dir) && !real_in_git(real, real_dir);
}

int fs_resolves_inside(const char *path, const char *dir)
{
	char *real_dir = realpath(dir, NULL), *real = realpath(path, NULL);
	int inside = real_dir && real && real_inside(real, real_dir);

	free(real_dir);
	free(real);
	return inside;
}

int fs_in_workspace(const char *path)
{
	return fs_resolves_inside(path, fs_workspace());
}

struct walk {
	fs_walk_fn fn;
	void *ctx;
	size_t root_len;
	char *real_root;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * lstat first: a link is judged by where it leads before anything is read
 * through it. Links to files are followed only inside the walk's root, so
 * a data folder may link to a file beside it but never to /etc/shadow or
 * to the runner's home.
 */
static int entry_stat(struct walk *w, const char *path, struct stat *st)
{
	char *real;
	int inside, in_git;

	if (lstat(path, st))
		return path_error(ERR_IO, path, "%s", strerror(errno));
	if (!S_ISLNK(st->st_mode))
		return 0;
	real = realpath(path, NULL);
	if (!real)
		return path_error(ERR_INPUT, path, "a symbolic link that leads nowhere (%s)",
					  strerror(errno));
	inside = real_below(real, w->real_root);
	in_git = inside && real_in_git(real, w->real_root);
	free(real);
	if (!inside)
		return path_error(ERR_INPUT, path, "a symbolic link to outside the folder; "
					  "links may only point inside it");
	if (in_git)
		return path_error(ERR_INPUT, path, "a symbolic link into .git; git's folder "
					  "is never uploaded");
	if (stat(path, st))
		return path_error(ERR_IO, path, "%s", strerror(errno));
	/*
	 * A link to a folder inside is refused all the same: the folder is
	 * walked where it stands, and links to folders fan out (fourteen
	 * levels of two links each make millions of folders out of 44 files),
	 * so a walk through them has no bound a repository does not set.
	 */
	if (S_ISDIR(st->st_mode))
		return path_error(ERR_INPUT, path, "a symbolic link to a folder; links may "
					  "only point to files (the folder is taken where it is)");
	return 0;
}

static int walk_dir(struct walk *w, struct buf *path)
{
	char **names = NULL;
	size_t nr = 0, alloc = 0, i, base = path->len;
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	dir = opendir(path->data);
	if (!dir)
		return path_error(ERR_IO, path->data, "%s", strerror(errno));
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".git"))
			continue;
		if (nr == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			names = xrealloc(names, alloc * sizeof(*names));
		}
		names[nr++] = xstrdup(de->d_name);
	}
	closedir(dir);
	if (nr)
		qsort(names, nr, sizeof(*names), cmp_names);

	for (i = 0; i < nr && !ret; i++) {
		struct fs_entry e;
		struct stat st;

		buf_setlen(path, base);
		buf_addch(path, '/');
		buf_addstr(path, names[i]);
		if ((ret = entry_stat(w, path->data, &st)))
			break;
		e.path = path->data;
		e.rel = path->data + w->root_len + 1;
		e.size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		e.is_dir = S_ISDIR(st.st_mode);
		if (!e.is_dir && !S_ISREG(st.st_mode))
			continue; /* sockets, fifos, devices: not data */
		ret = w->fn(&e, w->ctx);
		if (ret == FS_WALK_SKIP) {
			ret = 0;
			continue;
		}
		/* Only real folders are entered (links to folders are refused),
		 * and a file system has no cycles of them: no loop to guard. */
		if (!ret && e.is_dir)
			ret = walk_dir(w, path);
	}
	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
	buf_setlen(path, base);
	return ret;
}

int fs_walk(const char *root, fs_walk_fn fn, void *ctx)
{
	struct walk w = { fn, ctx, 0, NULL };
	struct buf path = BUF_INIT;
	struct stat st;
	int ret;

	buf_addstr(&path, root);
	while (path.len > 1 && path.data[path.len - 1] == '/')
		buf_setlen(&path, path.len - 1);
	w.root_len = path.len;
	w.real_root = realpath(path.data, NULL);
	if (!w.real_root || stat(w.real_root, &st) || !S_ISDIR(st.st_mode)) {
		ret = path_error(ERR_IO, root, "not a directory");
		goto done;
	}
	ret = walk_dir(&w, &path);
done:
	free(w.real_root);
	buf_release(&path);
	return ret;
}
