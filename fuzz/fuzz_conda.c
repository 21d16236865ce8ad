/*
 * libFuzzer target: the conda file validator, the canonicaliser for
 * registered condaFile text, and the spec checkers on each line alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "mlops/conda.h"
#include "mlops/pip_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each line of the input as a conda spec and a pip line: the checkers must never crash. */
static void check_lines(const char *text, size_t size)
{
	struct buf line = BUF_INIT, name = BUF_INIT;
	size_t start = 0, i;

	for (i = 0; i <= size; i++) {
		if (i < size && text[i] != '\n')
			continue;
		buf_reset(&line);
		buf_add(&line, text + start, i - start);
		if (strlen(line.data) == line.len) {
			if (conda_check_spec(line.data) && strpbrk(error_message(), "\r\n\x1b"))
				abort();
			if (pip_req_check(line.data) && strpbrk(error_message(), "\r\n\x1b"))
				abort();
			buf_reset(&name);
			conda_spec_name(&name, line.data);
		}
		start = i + 1;
	}
	buf_release(&line);
	buf_release(&name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conda_file c = CONDA_FILE_INIT;
	struct buf canon = BUF_INIT;
	const char *text = (const char *)data;

	if (!conda_load_string(&c, text, size, "fuzz.yml")) {
		/* A valid file's canonical form is what the lenient path gives too. */
		if (conda_canonical_text(&canon, text, size, "fuzz.yml") || strcmp(canon.data, c.canonical))
			abort();
		conda_file_release(&c);
	} else if (strpbrk(error_message(), "\r\n\x1b")) {
		abort(); /* file text reaches a message only as a one-line excerpt */
	} else {
		conda_canonical_text(&canon, text, size, "fuzz.yml");
	}
	buf_release(&canon);
	if (size < 4096)
		check_lines(text, size);
	error_clear();
	return 0;
}
