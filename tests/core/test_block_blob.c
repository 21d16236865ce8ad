#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/block_blob.h"
#include "core/encode.h"
#include "support/check.h"

#define SIGNED "https://acct.blob.core.windows.net/c/a.zip?sv=2021-08-06&se=2030-01-01T00%3A00%3A00Z" \
	       "&sr=b&sp=cw&sig=a%2Bb%2F%3D"

Test(block_blob, ids_are_base64_of_one_fixed_width_counter)
{
	static const uint32_t indexes[] = { 0, 1, 9, 10, 12345, BLOCK_BLOB_MAX_BLOCKS - 1, UINT32_MAX };
	struct buf first = BUF_INIT, id = BUF_INIT, plain = BUF_INIT;
	size_t i;

	block_blob_id(&first, 0);
	cr_expect_str_eq(first.data, "YmxvY2stMDAwMDAwMDAwMA==");
	for (i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++) {
		char want[32];

		buf_reset(&id);
		buf_reset(&plain);
		block_blob_id(&id, indexes[i]);
		cr_expect_eq(id.len, first.len, "id %u: %s", indexes[i], id.data);
		cr_assert_ok(base64_decode(&plain, id.data, id.len));
		snprintf(want, sizeof(want), "block-%010u", indexes[i]);
		cr_expect_str_eq(plain.data, want);
		cr_expect_leq(plain.len, 64, "Azure takes ids of at most 64 bytes");
	}
	buf_release(&first);
	buf_release(&id);
	buf_release(&plain);
}

Test(block_blob, list_names_blocks_in_order)
{
	struct buf xml = BUF_INIT, id = BUF_INIT, want = BUF_INIT;

	block_blob_id(&id, 1);
	buf_addf(&want, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>"
		 "<Latest>YmxvY2stMDAwMDAwMDAwMA==</Latest><Latest>%s</Latest></BlockList>", id.data);
	block_blob_list_xml(&xml, 2);
	cr_expect_str_eq(xml.data, want.data);
	buf_reset(&xml);
	block_blob_list_xml(&xml, 0);
	cr_expect_str_eq(xml.data, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList></BlockList>");
	buf_release(&xml);
	buf_release(&id);
	buf_release(&want);
}

Test(block_blob, the_block_query_url_encodes_the_id)
{
	struct buf q = BUF_INIT;

	block_blob_block_query(&q, 0);
	cr_expect_str_eq(q.data, "comp=block&blockid=YmxvY2stMDAwMDAwMDAwMA%3D%3D");
	buf_release(&q);
}

Test(block_blob, urls_keep_the_signed_query_byte_for_byte)
{
	struct buf url = BUF_INIT;

	block_blob_block_url(&url, SIGNED, 0);
	cr_expect_str_eq(url.data, SIGNED "&comp=block&blockid=YmxvY2stMDAwMDAwMDAwMA%3D%3D");
	buf_reset(&url);
	block_blob_list_url(&url, SIGNED);
	cr_expect_str_eq(url.data, SIGNED "&comp=blocklist");
	buf_reset(&url);
	/* A URL without a query gets one. */
	block_blob_block_url(&url, "http://h/c/b", 1);
	cr_expect_str_eq(url.data, "http://h/c/b?comp=block&blockid=YmxvY2stMDAwMDAwMDAwMQ%3D%3D");
	buf_reset(&url);
	block_blob_list_url(&url, "http://h/c/b");
	cr_expect_str_eq(url.data, "http://h/c/b?comp=blocklist");
	buf_release(&url);
}

struct detail_case {
	const char *xml;
	const char *want;
};

Test(block_blob, error_detail_is_code_and_first_line_of_message)
{
	static const struct detail_case cases[] = {
		{ "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
		  "<Message>Server failed to authenticate the request &amp; more.\nRequestId:1\n"
		  "Time:2</Message><AuthenticationErrorDetail>sig secret</AuthenticationErrorDetail>"
		  "</Error>", "AuthenticationFailed: Server failed to authenticate the request & more." },
		{ "<Error><Code>ServerBusy</Code></Error>", "ServerBusy" },
		{ "<Error><Code>A</Code><Message></Message></Error>", "A" },
		{ "<Error><Code>A</Code><Message>\r\nsecond</Message></Error>", "A" },
		{ "<Error><Code>A&lt;b&gt;</Code><Message>one&#10;two</Message></Error>", "A<b>: one" },
		/* A Code with a line break cannot start a line of its own. */
		{ "<Error><Code>X&#10;::error::forged</Code><Message>m</Message></Error>", "X: m" },
		{ "<Error><Code>X\r::error::forged</Code></Error>", "X" },
		{ "<Error><Message>no code</Message></Error>", "" },
		{ "", "" },
		{ "not xml at all", "" },
		/* Truncated bodies: what is whole is quoted, the rest is not. */
		{ "<Error><Code>Cut", "" },
		{ "<Error><Code>Whole</Code><Message>cut here", "Whole" },
		{ "<Error><Code>Whole</Code><Message>cut here</Mess", "Whole" },
		{ "<Error><Code/><Message>m</Message></Error>", ": m" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf d = BUF_INIT;
		size_t len = strlen(cases[i].xml);
		char *xml = memcpy(xmalloc(len + 1), cases[i].xml, len);

		block_blob_error_detail(&d, xml, len); /* the copy has no NUL after it */
		cr_expect_str_eq(d.data, cases[i].want, "%s", cases[i].xml);
		free(xml);
		buf_release(&d);
	}
}

Test(block_blob, error_detail_quotes_a_bounded_part_of_a_huge_body, .timeout = 20)
{
	struct buf xml = BUF_INIT, d = BUF_INIT;
	size_t i;

	buf_addstr(&xml, "<Error><Code>");
	for (i = 0; i < (4u << 20); i++)
		buf_addch(&xml, 'C');
	buf_addstr(&xml, "</Code><Message>");
	for (i = 0; i < (1u << 20); i++)
		buf_addstr(&xml, "&amp;");
	buf_addstr(&xml, "</Message></Error>");
	block_blob_error_detail(&d, xml.data, xml.len);
	/* The Code's first bytes, ": ", then the Message's first bytes decoded. */
	cr_expect_eq(d.len, BLOCK_BLOB_DETAIL_MAX + 2 + BLOCK_BLOB_DETAIL_MAX / strlen("&amp;"),
		     "%zu bytes", d.len);
	cr_expect_eq(d.data[0], 'C');
	cr_expect_eq(d.data[d.len - 1], '&');
	buf_release(&xml);
	buf_release(&d);
}
