#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/error.h"
#include "core/xml.h"
#include "support/check.h"

/* `text` with no NUL after it, so a read past the end is caught by the sanitizers. */
static char *unterminated(const char *text, size_t *len)
{
	*len = strlen(text);
	return memcpy(xmalloc(*len ? *len : 1), text, *len);
}

struct text_case {
	const char *doc;
	int ret;          /* of xml_text(doc, "Code") */
	const char *want; /* the decoded content when found */
};

/* A truncated element is cut short (ERR_INPUT), not absent: a caller can tell a cut body. */
Test(xml, finds_the_first_whole_element_and_tells_a_cut_one_from_none)
{
	static const struct text_case cases[] = {
		{ "<a><Codex>no</Codex><Code>yes</Code><Code>later</Code></a>", 0, "yes" },
		{ "<Code\tkind=\"x\">attr</Code>", 0, "attr" },
		{ "<Code\n>nl</Code>", 0, "nl" },
		{ "<Code><Name>n</Name></Code>", 0, "<Name>n</Name>" },
		{ "<Code>a &amp; b</Code>", 0, "a & b" },
		{ "<a>text</a>", ERR_NOT_FOUND, NULL },
		{ "", ERR_NOT_FOUND, NULL },
		/* The same name in an end tag, or inside a longer one, is not a start. */
		{ "</Code><Coder>x</Coder>", ERR_NOT_FOUND, NULL },
		{ "<Code ", ERR_INPUT, NULL },
		{ "<Code attr=\"", ERR_INPUT, NULL },
		{ "<Code>", ERR_INPUT, NULL },
		{ "<Code>abc", ERR_INPUT, NULL },
		{ "<Code>abc</", ERR_INPUT, NULL },
		{ "<Code>abc</Code", ERR_INPUT, NULL },
		{ "<Code>abc</Cod>", ERR_INPUT, NULL },
		{ "<Code>abc</Code >", ERR_INPUT, NULL },
		/* Cut inside the name, which could have gone on ("<Coder"): no such element. */
		{ "<Code", ERR_NOT_FOUND, NULL },
		{ "<Cod", ERR_NOT_FOUND, NULL },
		{ "<", ERR_NOT_FOUND, NULL },
	};
	struct buf out = BUF_INIT;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = unterminated(cases[i].doc, &len);
		int ret;

		buf_reset(&out);
		ret = xml_text(&out, s, len, "Code");
		cr_expect_eq(ret, cases[i].ret, "%s: %d", cases[i].doc, ret);
		if (!ret)
			cr_expect_str_eq(out.data, cases[i].want, "%s", cases[i].doc);
		free(s);
	}
	buf_release(&out);
}

Test(xml, empty_elements_have_no_text)
{
	struct xml_element e;
	const char *doc = "<r><NextMarker /><After>x</After></r>";

	cr_assert_ok(xml_find(&e, doc, strlen(doc), "NextMarker"));
	cr_expect_eq(e.len, 0);
	cr_expect_eq(e.end, strstr(doc, "<After>"), "the search goes on after it");
	cr_expect_eq(e.tag_len, strlen("<NextMarker />"));
	doc = "<r><M></M><Code/></r>";
	cr_assert_ok(xml_find(&e, doc, strlen(doc), "M"));
	cr_expect_eq(e.len, 0);
	cr_assert_ok(xml_find(&e, doc, strlen(doc), "Code"));
	cr_expect_eq(e.len, 0);
}

Test(xml, end_points_past_the_element_for_the_next_search)
{
	const char *doc = "<L><B>1</B><B>2</B><B>3</B></L>";
	const char *p = doc, *end = doc + strlen(doc);
	struct xml_element e;
	char seen[4] = "";
	int n = 0;

	while (!xml_find(&e, p, (size_t)(end - p), "B")) {
		cr_assert_eq(e.len, 1);
		seen[n++] = e.text[0];
		p = e.end;
	}
	cr_expect_str_eq(seen, "123");
}

Test(xml, attributes_are_whole_names_with_either_quote)
{
	struct xml_element e;
	const char *doc = "<Name NotEncoded=\"true\" Encoded='true' Other=\"false\">x</Name>";

	cr_assert_ok(xml_find(&e, doc, strlen(doc), "Name"));
	cr_expect(xml_attr_is(&e, "Encoded", "true"));
	cr_expect(xml_attr_is(&e, "NotEncoded", "true"));
	cr_expect_not(xml_attr_is(&e, "Other", "true"));
	cr_expect_not(xml_attr_is(&e, "Encoded", "tru"));
	cr_expect_not(xml_attr_is(&e, "Missing", "true"));
	doc = "<Name Encoded=\"true>x</Name>";
	cr_assert_ok(xml_find(&e, doc, strlen(doc), "Name"));
	cr_expect_not(xml_attr_is(&e, "Encoded", "true"), "an unclosed quote is no value");
	/* The content is not the start tag. */
	doc = "<Name>Encoded=\"true\"</Name>";
	cr_assert_ok(xml_find(&e, doc, strlen(doc), "Name"));
	cr_expect_not(xml_attr_is(&e, "Encoded", "true"));
}

static void assert_decodes(const char *raw, const char *want, size_t want_len)
{
	struct buf out = BUF_INIT;
	size_t len;
	char *s = unterminated(raw, &len);

	xml_decode(&out, s, len);
	cr_expect_eq(out.len, want_len, "%s: %zu bytes", raw, out.len);
	cr_expect(!memcmp(out.data, want, want_len), "%s -> %s", raw, out.data);
	free(s);
	buf_release(&out);
}
#define DECODES(raw, want) assert_decodes(raw, want, sizeof(want) - 1)

Test(xml, decodes_named_and_numeric_references)
{
	DECODES("a &amp; b&lt;1&gt; &quot;q&quot; &apos;", "a & b<1> \"q\" '");
	DECODES("caf&#233;&#x2603;&#X1F600;&#65;", "caf\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80" "A");
	DECODES("&#x7F;&#x80;&#x7FF;&#x800;&#xFFFF;&#x10000;&#x10FFFF;",
		"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
	DECODES("&amp;amp;", "&amp;");
}

Test(xml, keeps_what_is_not_a_reference)
{
	/* Unknown, unterminated, empty, NUL, surrogate, too large, too long, bad digits. */
	DECODES("&nbsp; &amp &#; &#x; &#0; &#xD800; &#x110000; &#123456789; &#12a; &#xG1;",
		"&nbsp; &amp &#; &#x; &#0; &#xD800; &#x110000; &#123456789; &#12a; &#xG1;");
	DECODES("&", "&");
	DECODES("&#", "&#");
	DECODES("&#6", "&#6");
	DECODES("&#65", "&#65");
	DECODES("x&", "x&");
}

Test(xml, a_nul_byte_in_the_text_is_data_not_an_end)
{
	struct buf out = BUF_INIT;
	struct xml_element e;
	static const char doc[] = "<M>a\0b&lt;</M>";

	cr_assert_ok(xml_find(&e, doc, sizeof(doc) - 1, "M"));
	xml_decode(&out, e.text, e.len);
	cr_expect_eq(out.len, 4);
	cr_expect(!memcmp(out.data, "a\0b<", 4));
	buf_release(&out);
}

/* `head`, then `piece` `times` over, then `tail`. */
static void repeat(struct buf *out, const char *head, const char *piece, size_t times,
		   const char *tail)
{
	size_t i;

	buf_reset(out);
	buf_addstr(out, head);
	for (i = 0; i < times; i++)
		buf_addstr(out, piece);
	buf_addstr(out, tail);
}

/* Each of these is linear; a quadratic search would not end within the timeout. */
Test(xml, huge_hostile_documents_take_linear_time, .timeout = 20)
{
	struct xml_element e;
	struct buf s = BUF_INIT, out = BUF_INIT;

	/* A million near-misses before the element. */
	repeat(&s, "", "<Code<Codex</Code ", 1000000, "<Code>found</Code>");
	cr_assert_ok(xml_find(&e, s.data, s.len, "Code"));
	cr_expect_eq(e.len, 5);

	/* Megabytes of '<' hold no element; megabytes of near-miss end tags close none. */
	repeat(&s, "", "<", 8u << 20, "");
	cr_expect_eq(xml_find(&e, s.data, s.len, "Code"), ERR_NOT_FOUND);
	repeat(&s, "<Code>", "</Cod</Codex>", 1000000, "");
	cr_expect_eq(xml_find(&e, s.data, s.len, "Code"), ERR_INPUT);

	/* Megabytes of entities and of half-entities. */
	repeat(&s, "", "&amp;&#x2603;&#12", 500000, "");
	xml_decode(&out, s.data, s.len);
	cr_expect_eq(out.len, 500000u * (1 + 3 + 4));

	/* An attribute search over a start tag of megabytes. */
	repeat(&s, "<Name", " Encoded=\"tru", 500000, ">x</Name>");
	cr_assert_ok(xml_find(&e, s.data, s.len, "Name"));
	cr_expect_not(xml_attr_is(&e, "Encoded", "true"));
	buf_release(&s);
	buf_release(&out);
}
