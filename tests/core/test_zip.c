#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/zip.h"
#include "support/check.h"

#define UTF8_NAME "d\xc3\xa9j\xc3\xa0/na\xc3\xafve \xe2\x9c\x93.txt" /* déjà/naïve ✓.txt */
#define BIG (3 * 1024 * 1024)

/* ---- helpers ---- */

static char tmp[64];

static void make_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test-zip-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
}

static void remove_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

static void put(const char *rel, const void *data, size_t len)
{
	struct buf path = BUF_INIT, dir = BUF_INIT;
	const char *slash;

	buf_addf(&path, "%s/%s", tmp, rel);
	slash = strrchr(path.data, '/');
	buf_add(&dir, path.data, (size_t)(slash - path.data));
	cr_assert_ok(fs_mkdirs(dir.data));
	cr_assert_ok(fs_write_file(path.data, data, len));
	buf_release(&path);
	buf_release(&dir);
}

static void mkdir_in_tmp(const char *rel)
{
	struct buf path = BUF_INIT;

	buf_addf(&path, "%s/%s", tmp, rel);
	cr_assert_ok(fs_mkdirs(path.data));
	buf_release(&path);
}

/* A write callback into a file, remembering the largest chunk it saw. */
struct sink {
	FILE *f;
	size_t calls;
	size_t max_chunk;
	size_t fail_after; /* fail the call after this many; 0 = never */
};

static int to_file(const void *data, size_t len, void *ctx)
{
	struct sink *s = ctx;

	s->calls++;
	if (s->fail_after && s->calls > s->fail_after)
		return error_set(ERR_NETWORK, "sink refused chunk %zu", s->calls);
	if (len > s->max_chunk)
		s->max_chunk = len;
	if (s->f && fwrite(data, 1, len, s->f) != len)
		return error_set(ERR_IO, "fwrite failed");
	return 0;
}

/* One entry read back from an archive. */
struct entry {
	char *name;
	int is_dir;
	struct buf data;
};

struct listing {
	struct entry items[32];
	size_t n;
};

static void read_back(struct listing *out, const char *zip_path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char chunk[16384];
	la_ssize_t got;
	int rc;

	/* The reader, unlike our writer, needs a UTF-8 locale for UTF-8 names. */
	cr_assert_not_null(setlocale(LC_CTYPE, "C.UTF-8"));
	memset(out, 0, sizeof(*out));
	archive_read_support_format_zip(a);
	cr_assert_eq(archive_read_open_filename(a, zip_path, 10240), ARCHIVE_OK, "%s",
		     archive_error_string(a));
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		struct entry *it = &out->items[out->n++];

		cr_assert_lt(out->n, 32);
		it->name = xstrdup(archive_entry_pathname_utf8(e));
		it->is_dir = archive_entry_filetype(e) == AE_IFDIR;
		buf_init(&it->data);
		while ((got = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			buf_add(&it->data, chunk, (size_t)got);
		cr_assert_geq(got, 0, "%s: %s", it->name, archive_error_string(a));
	}
	cr_assert_eq(rc, ARCHIVE_EOF, "%s", archive_error_string(a));
	archive_read_free(a);
	setlocale(LC_CTYPE, "C");
}

static const struct entry *find(const struct listing *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].name, name))
			return &l->items[i];
	return NULL;
}

static void listing_release(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].name);
		buf_release(&l->items[i].data);
	}
}

/* The general purpose flags and method of the local header of `name`. */
static void local_header(struct buf *zip, const char *name, unsigned *flags, unsigned *method)
{
	const unsigned char *p = (const unsigned char *)zip->data;
	size_t i, n = strlen(name);

	for (i = 0; i + 30 + n <= zip->len; i++)
		if (!memcmp(p + i, "PK\x03\x04", 4) && (size_t)(p[i + 26] | p[i + 27] << 8) == n &&
		    !memcmp(p + i + 30, name, n)) {
			*flags = p[i + 6] | p[i + 7] << 8;
			*method = p[i + 8] | p[i + 9] << 8;
			return;
		}
	cr_assert_fail("no local header for %s", name);
}

static void zip_tree_to(const char *zip_path, int level, struct sink *s)
{
	struct zip_writer *w = NULL;

	s->f = fopen(zip_path, "wb");
	cr_assert_not_null(s->f);
	cr_assert_ok(zip_writer_open(&w, level, to_file, s));
	cr_assert_ok(zip_add_tree(w, tmp));
	cr_assert_ok(zip_writer_close(w));
	zip_writer_free(w);
	cr_assert_eq(fclose(s->f), 0);
}

static unsigned char *random_data(size_t len)
{
	unsigned char *p = xmalloc(len);

	random_bytes(p, len);
	return p;
}

TestSuite(zip, .init = make_tmp, .fini = remove_tmp);

/* ---- round trips ---- */

Test(zip, tree_round_trips_names_contents_and_empty_dirs)
{
	unsigned char *big = random_data(BIG);
	struct sink s = { 0 };
	struct listing l;
	const struct entry *e;
	char zip_path[] = "/tmp/test-zip-out-XXXXXX";
	int fd = mkstemp(zip_path);

	cr_assert_geq(fd, 0);
	close(fd);
	put("top.txt", "hello\n", 6);
	put("a/b/c/deep.txt", "deep", 4);
	put("a/empty-file", "", 0);
	put("big.bin", big, BIG);
	put(UTF8_NAME, "utf8", 4);
	mkdir_in_tmp("a/empty-dir");
	mkdir_in_tmp("z-empty");

	zip_tree_to(zip_path, ZIP_DEFAULT_LEVEL, &s);
	read_back(&l, zip_path);

	cr_assert_eq(l.n, 7, "entries: %zu", l.n);
	cr_assert(find(&l, "top.txt") && !strcmp(find(&l, "top.txt")->data.data, "hello\n"));
	cr_assert(find(&l, "a/b/c/deep.txt") && !strcmp(find(&l, "a/b/c/deep.txt")->data.data, "deep"));
	cr_assert(find(&l, "a/empty-file") && find(&l, "a/empty-file")->data.len == 0);
	e = find(&l, "big.bin");
	cr_assert(e && e->data.len == BIG && !memcmp(e->data.data, big, BIG));
	e = find(&l, UTF8_NAME);
	cr_assert(e && !strcmp(e->data.data, "utf8"));
	e = find(&l, "a/empty-dir/");
	cr_assert(e && e->is_dir, "empty directory entry missing");
	e = find(&l, "z-empty/");
	cr_assert(e && e->is_dir, "trailing empty directory entry missing");
	/* Directories with contents get no entries of their own, as with the toolkit. */
	cr_assert_null(find(&l, "a/"));
	cr_assert_null(find(&l, "a/b/"));
	/* Streamed: never more than one chunk handed over at a time. */
	cr_assert_leq(s.max_chunk, ZIP_CHUNK);
	cr_assert_gt(s.calls, BIG / ZIP_CHUNK);

	listing_release(&l);
	free(big);
	unlink(zip_path);
}

Test(zip, names_are_utf8_flagged_and_deflated)
{
	struct sink s = { 0 };
	struct buf zip = BUF_INIT;
	unsigned flags = 0, method = 0;
	char zip_path[] = "/tmp/test-zip-out-XXXXXX";
	int fd = mkstemp(zip_path);

	cr_assert_geq(fd, 0);
	close(fd);
	put(UTF8_NAME, "some text some text some text", 29);
	zip_tree_to(zip_path, ZIP_DEFAULT_LEVEL, &s);
	cr_assert_ok(fs_read_file(&zip, zip_path, 1 << 20));
	local_header(&zip, UTF8_NAME, &flags, &method);
	cr_assert(flags & (1u << 11), "UTF-8 flag (bit 11) not set: flags %#x", flags);
	cr_assert_eq(method, 8, "method %u, want deflate", method);
	buf_release(&zip);
	unlink(zip_path);
}

Test(zip, level_zero_stores)
{
	struct sink s = { 0 };
	struct buf zip = BUF_INIT;
	struct listing l;
	unsigned flags = 0, method = 99;
	char zip_path[] = "/tmp/test-zip-out-XXXXXX";
	int fd = mkstemp(zip_path);

	cr_assert_geq(fd, 0);
	close(fd);
	put("plain.txt", "stored as is", 12);
	zip_tree_to(zip_path, 0, &s);
	cr_assert_ok(fs_read_file(&zip, zip_path, 1 << 20));
	local_header(&zip, "plain.txt", &flags, &method);
	cr_assert_eq(method, 0, "method %u, want store", method);
	read_back(&l, zip_path);
	cr_assert_eq(l.n, 1);
	cr_assert_str_eq(l.items[0].data.data, "stored as is");
	listing_release(&l);
	buf_release(&zip);
	unlink(zip_path);
}

Test(zip, empty_tree_makes_a_valid_empty_zip)
{
	struct sink s = { 0 };
	struct buf zip = BUF_INIT;
	struct listing l;
	char zip_path[] = "/tmp/test-zip-out-XXXXXX";
	int fd = mkstemp(zip_path);

	cr_assert_geq(fd, 0);
	close(fd);
	zip_tree_to(zip_path, ZIP_DEFAULT_LEVEL, &s);
	cr_assert_ok(fs_read_file(&zip, zip_path, 1 << 20));
	/* Just the end of central directory record, no padding after it. */
	cr_assert_eq(zip.len, 22, "%zu bytes", zip.len);
	cr_assert(!memcmp(zip.data, "PK\x05\x06", 4));
	read_back(&l, zip_path);
	cr_assert_eq(l.n, 0);
	buf_release(&zip);
	unlink(zip_path);
}

Test(zip, unzip_accepts_the_archive)
{
	struct sink s = { 0 };
	struct buf cmd = BUF_INIT;
	char zip_path[] = "/tmp/test-zip-out-XXXXXX";
	int fd = mkstemp(zip_path);

	if (access("/usr/bin/unzip", X_OK))
		cr_skip_test("unzip is not installed");
	cr_assert_geq(fd, 0);
	close(fd);
	put("x/y.txt", "y", 1);
	put(UTF8_NAME, "u", 1);
	mkdir_in_tmp("e");
	zip_tree_to(zip_path, ZIP_DEFAULT_LEVEL, &s);
	buf_addf(&cmd, "unzip -tq '%s' >/dev/null", zip_path);
	cr_assert_eq(system(cmd.data), 0, "unzip -t failed");
	buf_release(&cmd);
	unlink(zip_path);
}

/* ---- names ---- */

Test(zip, check_name_refuses_what_artifacts_refuse)
{
	static const char *const bad[] = {
		"", "/abs", "\\abs", "..", "../x", "a/../b", "a/..", "a\\..\\b", "./a",
		"a//b", "a\\", "a:b", "a\"b", "a<b", "a>b", "a|b", "a*b", "a?b",
		"a\rb", "a\nb",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(zip_check_name(bad[i]), ERR_INPUT, "'%s' accepted", bad[i]);
}

Test(zip, check_name_accepts_ordinary_relative_paths)
{
	static const char *const good[] = {
		"a", "a/b/c.txt", "dir/", "with space.txt", "a\\b", ".hidden", "a/.b",
		"...", "a..b", UTF8_NAME,
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect_eq(zip_check_name(good[i]), 0, "'%s': %s", good[i], error_message());
}

Test(zip, bad_name_is_refused_naming_the_file)
{
	struct zip_writer *w = NULL;
	struct sink s = { 0 };

	put("ok.txt", "ok", 2);
	cr_assert_ok(zip_writer_open(&w, 6, to_file, &s));
	cr_assert_eq(zip_add_file(w, "/dev/null", "../escape"), ERR_INPUT);
	cr_assert(strstr(error_message(), "../escape"), "%s", error_message());
	/* A refused name writes nothing, so the archive can still be finished. */
	cr_assert_ok(zip_writer_close(w));
	zip_writer_free(w);
}

Test(zip, tree_with_a_forbidden_character_is_refused)
{
	struct zip_writer *w = NULL;
	struct sink s = { 0 };

	put("sub/what?.txt", "?", 1);
	cr_assert_ok(zip_writer_open(&w, 6, to_file, &s));
	cr_assert_eq(zip_add_tree(w, tmp), ERR_INPUT);
	cr_assert(strstr(error_message(), "sub/what?.txt"), "%s", error_message());
	zip_writer_free(w);
}

Test(zip, level_out_of_range_is_an_input_error)
{
	struct zip_writer *w = NULL;

	cr_assert_eq(zip_writer_open(&w, 10, to_file, NULL), ERR_INPUT);
	cr_assert_null(w);
	cr_assert_eq(zip_writer_open(&w, -1, to_file, NULL), ERR_INPUT);
}

Test(zip, missing_file_is_an_io_error)
{
	struct zip_writer *w = NULL;
	struct sink s = { 0 };

	cr_assert_ok(zip_writer_open(&w, 6, to_file, &s));
	cr_assert_eq(zip_add_file(w, "/nonexistent/file", "file"), ERR_IO);
	cr_assert(strstr(error_message(), "/nonexistent/file"), "%s", error_message());
	zip_writer_free(w);
}

/* ---- the write callback ---- */

Test(zip, callback_error_stops_the_writer_with_its_error)
{
	unsigned char *big = random_data(BIG);
	struct zip_writer *w = NULL;
	struct sink s = { 0 };
	size_t calls;

	s.fail_after = 2;
	put("big.bin", big, BIG);
	put("later.txt", "later", 5);
	cr_assert_ok(zip_writer_open(&w, 6, to_file, &s));
	cr_assert_eq(zip_add_tree(w, tmp), ERR_NETWORK, "%s", error_message());
	cr_assert_str_eq(error_message(), "sink refused chunk 3");
	calls = s.calls;
	/* Sticky: later calls repeat the cause and write nothing more. */
	error_clear();
	cr_assert_eq(zip_add_dir(w, "more"), ERR_NETWORK);
	cr_assert_eq(zip_writer_close(w), ERR_NETWORK);
	cr_assert_str_eq(error_message(), "sink refused chunk 3");
	zip_writer_free(w);
	cr_assert_eq(s.calls, calls, "callback called after the failure");
	free(big);
}

Test(zip, freeing_an_unclosed_writer_does_not_call_back)
{
	struct zip_writer *w = NULL;
	struct sink s = { 0 };

	put("f.txt", "f", 1);
	cr_assert_ok(zip_writer_open(&w, 6, to_file, &s));
	cr_assert_ok(zip_add_tree(w, tmp));
	s.calls = 0;
	zip_writer_free(w);
	cr_assert_eq(s.calls, 0, "callback called from zip_writer_free");
}
