/*
 * libFuzzer target: the diagnosis of a failed deployment
 * (mlops/deploy_diagnose), which reads Azure ML's error message and the
 * container logs, both text from outside. The input is split at its first
 * two NUL bytes: code, message, logs. The detail must stay one printable
 * line of at most DEPLOY_DETAIL_MAX bytes; nothing may crash, leak or read
 * past the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mlops/deploy_diagnose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deploy_diagnosis d = DEPLOY_DIAGNOSIS_INIT;
	struct buf text = BUF_INIT;
	const char *part[3] = { NULL, NULL, NULL };
	size_t i, at = 0;

	buf_add(&text, data, size);
	for (i = 0; i < 3 && at <= size; i++) {
		part[i] = text.data + at;
		at += strlen(part[i]) + 1;
	}
	deploy_diagnose(&d, part[0], part[1], part[2]);
	if (!d.name || !d.why || !d.fix)
		abort();
	if (d.detail) {
		if (strlen(d.detail) > DEPLOY_DETAIL_MAX)
			abort();
		for (i = 0; d.detail[i]; i++)
			if ((unsigned char)d.detail[i] < 0x20)
				abort();
	}
	deploy_diagnosis_release(&d);
	buf_release(&text);
	return 0;
}
