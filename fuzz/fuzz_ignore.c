/*
 * libFuzzer target: the ignore file reader and matcher (core/ignore), which
 * read whatever a repository's .amlignore / .gitignore hold. The input is
 * split at its first "\n\n": the ignore file, then one path a line to ask
 * about ('/' at the end: a directory). Nothing may crash, leak or take long
 * (a pattern's backtracking is bounded).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/ignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *end = text + size, *split, *p;
	struct ignore ig = IGNORE_INIT;
	struct buf path = BUF_INIT;

	split = memmem(text, size, "\n\n", 2);
	ignore_parse(&ig, text, split ? (size_t)(split - text) : size);
	for (p = split ? split + 2 : end; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		int is_dir = n && p[n - 1] == '/', line;

		buf_reset(&path);
		buf_add(&path, p, is_dir ? n - 1 : n);
		ignore_excludes(&ig, path.data, is_dir, &line);
		ignore_match(&ig, path.data, is_dir, NULL);
		ignore_glob(path.data, path.data, 1);
		p = nl ? nl + 1 : end;
	}
	ignore_release(&ig);
	buf_release(&path);
	return 0;
}
