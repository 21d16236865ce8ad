/*
 * libFuzzer target: the storage XML readers on any input, which is not
 * NUL-terminated, so a read past it is caught: the element finder and its
 * attribute test, entity decoding, the <Error> detail and the List Blobs
 * page parser. What they find lies inside the input, decoding never makes
 * text longer, and the error detail stays within its bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "azure/blob.h"
#include "core/block_blob.h"
#include "core/error.h"
#include "core/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const char *p, size_t len, const char *s, size_t size)
{
	if (p < s || p > s + size || len > (size_t)(s + size - p))
		__builtin_trap();
}

static void find_all(const char *s, size_t size)
{
	static const char *const names[] = {
		"Error", "Code", "Message", "EnumerationResults", "Blob", "Name", "NextMarker", "a",
	};
	struct buf text = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct xml_element e;
		int ret = xml_find(&e, s, size, names[i]);

		if (ret && ret != ERR_NOT_FOUND && ret != ERR_INPUT)
			__builtin_trap();
		if (ret)
			continue;
		check_inside(e.tag, e.tag_len, s, size);
		check_inside(e.text, e.len, s, size);
		check_inside(e.end, 0, s, size);
		if (e.tag[0] != '<' || e.tag[e.tag_len - 1] != '>' || e.end <= e.tag)
			__builtin_trap();
		xml_attr_is(&e, "Encoded", "true");
		buf_reset(&text);
		xml_decode(&text, e.text, e.len);
		if (text.len > e.len)
			__builtin_trap();
	}
	buf_release(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly `size` bytes: nothing after it to lean on. */
	char *s = malloc(size ? size : 1);
	struct blob_list list = BLOB_LIST_INIT;
	struct buf out = BUF_INIT;
	size_t i;

	memcpy(s, data, size);
	find_all(s, size);
	xml_decode(&out, s, size);
	if (out.len > size)
		__builtin_trap();
	buf_reset(&out);
	block_blob_error_detail(&out, s, size);
	if (out.len > 2 * BLOCK_BLOB_DETAIL_MAX + 2)
		__builtin_trap();
	if (!blob_list_parse(&list, s, size))
		for (i = 0; i < list.nr; i++)
			if (!list.names[i])
				__builtin_trap();
	blob_list_release(&list);
	buf_release(&out);
	free(s);
	error_clear();
	return 0;
}
