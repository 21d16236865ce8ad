#include <stdio.h>
#include <string.h>

#include "core/block_blob.h"
#include "core/encode.h"
#include "core/xml.h"
#include "core/banned.h"

void block_blob_id(struct buf *out, uint32_t index)
{
	char raw[32];
	int n = snprintf(raw, sizeof(raw), "block-%010u", (unsigned)index);

	/* 16 bytes for every uint32_t, well under the 64 Azure allows (azure-contract 4). */
	base64_encode(out, raw, (size_t)n);
}

void block_blob_list_xml(struct buf *out, uint32_t n)
{
	uint32_t i;

	buf_addstr(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (i = 0; i < n; i++) {
		buf_addstr(out, "<Latest>");
		block_blob_id(out, i);
		buf_addstr(out, "</Latest>");
	}
	buf_addstr(out, "</BlockList>");
}

void block_blob_block_query(struct buf *out, uint32_t index)
{
	struct buf id = BUF_INIT;

	block_blob_id(&id, index);
	buf_addstr(out, "comp=block&blockid=");
	url_encode(out, id.data);
	buf_release(&id);
}

/* Appends `url` untouched and what joins a parameter to it: '&' after its query, else '?'. */
static void url_then(struct buf *out, const char *url)
{
	buf_addstr(out, url);
	buf_addch(out, strchr(url, '?') ? '&' : '?');
}

void block_blob_block_url(struct buf *out, const char *url, uint32_t index)
{
	url_then(out, url);
	block_blob_block_query(out, index);
}

void block_blob_list_url(struct buf *out, const char *url)
{
	url_then(out, url);
	buf_addstr(out, BLOCK_BLOB_LIST_QUERY);
}

/* An element's text decoded, at most BLOCK_BLOB_DETAIL_MAX bytes of it, up
 * to its first line break: &#10; counts as one too, once decoded, so the
 * server's text cannot start a line of its own in our log. */
static void first_line(struct buf *out, const struct xml_element *e)
{
	buf_reset(out);
	xml_decode(out, e->text, e->len < BLOCK_BLOB_DETAIL_MAX ? e->len : BLOCK_BLOB_DETAIL_MAX);
	buf_setlen(out, strcspn(out->data, "\r\n"));
}

void block_blob_error_detail(struct buf *out, const char *xml, size_t len)
{
	struct xml_element code, msg;
	struct buf text = BUF_INIT;

	if (xml_find(&code, xml, len, "Code"))
		return;
	first_line(&text, &code);
	buf_add(out, text.data, text.len);
	if (!xml_find(&msg, xml, len, "Message")) {
		first_line(&text, &msg);
		if (text.len) {
			buf_addstr(out, ": ");
			buf_add(out, text.data, text.len);
		}
	}
	buf_release(&text);
}
