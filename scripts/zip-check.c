/*
 * zip-check DIR OUT.zip: zips DIR with the program's own writer (core/zip.c)
 * and reads the archive's central directory back, printing each entry name
 * on a line of its own. Exit 0 only when the archive was written whole, its
 * end record and central directory parse, it holds at least one entry, and
 * every name with a byte above 0x7f carries the UTF-8 flag (bit 11).
 *
 * scripts/build-static.sh links it exactly as the release binary is linked
 * (the same static libarchive, zlib and libc) and runs it, so a static build
 * that cannot write a zip fails at build time; tests/container/rootfs-test.sh
 * runs it in the image's empty root and checks the archive with Python's
 * zipfile. Not part of the program.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/zip.h"
#include "core/banned.h"

static int to_file(const void *data, size_t len, void *ctx)
{
	if (fwrite(data, 1, len, ctx) != len)
		return error_set(ERR_IO, "writing the zip failed");
	return 0;
}

static unsigned get16(const unsigned char *p) { return p[0] | (unsigned)p[1] << 8; }
static uint32_t get32(const unsigned char *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }

static int non_ascii(const unsigned char *s, size_t n)
{
	while (n--)
		if (*s++ > 0x7f)
			return 1;
	return 0;
}

/* Lists the central directory of the archive in `z`; 0 when it is sound. */
static int list(const struct buf *z)
{
	const unsigned char *p = (const unsigned char *)z->data, *eocd = NULL, *c, *end;
	size_t i, entries;

	for (i = z->len; !eocd && i >= 22; i--)
		if (get32(p + i - 22) == 0x06054b50)
			eocd = p + i - 22;
	if (!eocd) {
		fprintf(stderr, "zip-check: no end of central directory record\n");
		return 1;
	}
	entries = get16(eocd + 10);
	c = p + get32(eocd + 16);
	end = eocd;
	if (!entries) {
		fprintf(stderr, "zip-check: the archive holds no entry\n");
		return 1;
	}
	for (i = 0; i < entries; i++) {
		unsigned flags;
		size_t name_len;

		if (c + 46 > end || get32(c) != 0x02014b50) {
			fprintf(stderr, "zip-check: central directory entry %zu is broken\n", i);
			return 1;
		}
		flags = get16(c + 8);
		name_len = get16(c + 28);
		if (c + 46 + name_len > end) {
			fprintf(stderr, "zip-check: entry %zu's name runs past the directory\n", i);
			return 1;
		}
		if (non_ascii(c + 46, name_len) && !(flags & 0x800)) {
			fprintf(stderr, "zip-check: %.*s: non-ASCII name without the UTF-8 flag\n",
				(int)name_len, (const char *)(c + 46));
			return 1;
		}
		printf("%.*s\n", (int)name_len, (const char *)(c + 46));
		c += 46 + name_len + get16(c + 30) + get16(c + 32);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct zip_writer *w = NULL;
	struct buf z = BUF_INIT;
	FILE *f;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: zip-check DIR OUT.zip\n");
		return 2;
	}
	f = fopen(argv[2], "wb");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	ret = zip_writer_open(&w, ZIP_DEFAULT_LEVEL, to_file, f);
	if (!ret)
		ret = zip_add_tree(w, argv[1]);
	if (!ret)
		ret = zip_writer_close(w);
	zip_writer_free(w);
	if (fclose(f) && !ret)
		ret = error_set(ERR_IO, "%s: close failed", argv[2]);
	if (ret) {
		fprintf(stderr, "zip-check: %s\n", error_message());
		return 1;
	}
	if (fs_read_file(&z, argv[2], 64 * 1024 * 1024)) {
		fprintf(stderr, "zip-check: %s\n", error_message());
		return 1;
	}
	ret = list(&z);
	buf_release(&z);
	return ret;
}
