#include <stdio.h>
#include <string.h>

#include "ci/summary.h"
#include "core/banned.h"

/* Room kept for the closing truncation note. */
#define NOTE_ROOM 200

void summary_init(struct summary *s, size_t limit)
{
	buf_init(&s->text);
	s->limit = limit > NOTE_ROOM * 2 ? limit : NOTE_ROOM * 2;
	s->truncated = 0;
	s->dropped = 0;
	s->table_columns = 0;
}

void summary_release(struct summary *s)
{
	buf_release(&s->text);
	s->truncated = 0;
	s->dropped = 0;
	s->table_columns = 0;
}

/* Appends a whole piece, or drops it (and all that follows) if it won't fit. */
static void put(struct summary *s, const struct buf *piece)
{
	if (!s->truncated && s->text.len + piece->len + NOTE_ROOM <= s->limit) {
		buf_add(&s->text, piece->data, piece->len);
		return;
	}
	s->truncated = 1;
	s->dropped += piece->len;
}

static void escape(struct buf *out, const char *text, int in_cell)
{
	for (; *text; text++) {
		switch (*text) {
		case '<': buf_addstr(out, "&lt;"); break;
		case '>': buf_addstr(out, "&gt;"); break;
		case '&': buf_addstr(out, "&amp;"); break;
		/* No link or image from outside text (a job's error, an MLflow
		 * param): "[x](url)" and "![](url)" need brackets. The backslash
		 * too, or "\\[" would turn the escape back off. */
		case '[': buf_addstr(out, "\\["); break;
		case ']': buf_addstr(out, "\\]"); break;
		case '\\': buf_addstr(out, "\\\\"); break;
		case '|':
			buf_addstr(out, in_cell ? "\\|" : "|");
			break;
		case '\r':
			break;
		case '\n':
			buf_addstr(out, in_cell ? "<br>" : "\n");
			break;
		default:
			buf_addch(out, *text);
		}
	}
}

void summary_escape(struct buf *out, const char *text)
{
	escape(out, text, 0);
}

void summary_heading(struct summary *s, int level, const char *text)
{
	struct buf p = BUF_INIT;
	int i;

	if (level < 1)
		level = 1;
	if (level > 6)
		level = 6;
	for (i = 0; i < level; i++)
		buf_addch(&p, '#');
	buf_addch(&p, ' ');
	/* A heading is one line: newlines would end it early. */
	for (; *text; text++) {
		char one[2] = { *text == '\n' || *text == '\r' ? ' ' : *text, 0 };
		escape(&p, one, 0);
	}
	buf_addstr(&p, "\n\n");
	put(s, &p);
	buf_release(&p);
}

void summary_text(struct summary *s, const char *text)
{
	struct buf p = BUF_INIT;

	escape(&p, text, 0);
	buf_addstr(&p, "\n\n");
	put(s, &p);
	buf_release(&p);
}

void summary_markdown(struct summary *s, const char *markdown)
{
	struct buf p = BUF_INIT;

	buf_addstr(&p, markdown);
	buf_addstr(&p, "\n\n");
	put(s, &p);
	buf_release(&p);
}

static void row(struct buf *p, const char *const *cells, int n)
{
	int i;

	buf_addch(p, '|');
	for (i = 0; i < n; i++) {
		buf_addch(p, ' ');
		escape(p, cells[i] ? cells[i] : "", 1);
		buf_addstr(p, " |");
	}
	buf_addch(p, '\n');
}

void summary_table_begin(struct summary *s, const char *const *headers, int n)
{
	struct buf p = BUF_INIT;
	int i;

	row(&p, headers, n);
	buf_addch(&p, '|');
	for (i = 0; i < n; i++)
		buf_addstr(&p, " --- |");
	buf_addch(&p, '\n');
	put(s, &p);
	buf_release(&p);
	s->table_columns = n;
}

void summary_table_row(struct summary *s, const char *const *cells, int n)
{
	struct buf p = BUF_INIT;

	row(&p, cells, n);
	put(s, &p);
	buf_release(&p);
}

void summary_table_more(struct summary *s, size_t more)
{
	const char *cells[16] = { NULL };
	char text[64];
	int n = s->table_columns < 1 ? 1 : s->table_columns > 16 ? 16 : s->table_columns;

	snprintf(text, sizeof(text), "... %zu more", more);
	cells[0] = text;
	summary_table_row(s, cells, n);
}

void summary_table_end(struct summary *s)
{
	struct buf p = BUF_INIT;

	buf_addch(&p, '\n');
	put(s, &p);
	buf_release(&p);
	s->table_columns = 0;
}

void summary_details_begin(struct summary *s, const char *title)
{
	struct buf p = BUF_INIT;

	buf_addstr(&p, "<details><summary>");
	escape(&p, title, 1);
	buf_addstr(&p, "</summary>\n\n");
	put(s, &p);
	buf_release(&p);
}

void summary_details_end(struct summary *s)
{
	struct buf p = BUF_INIT;

	buf_addstr(&p, "</details>\n\n");
	put(s, &p);
	buf_release(&p);
}

void summary_code(struct summary *s, const char *language, const char *text)
{
	struct buf p = BUF_INIT;
	size_t run = 0, longest = 0, i, fence;
	const char *c;

	for (c = text; *c; c++) {
		run = *c == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	fence = longest >= 3 ? longest + 1 : 3;
	for (i = 0; i < fence; i++)
		buf_addch(&p, '`');
	buf_addstr(&p, language ? language : "");
	buf_addch(&p, '\n');
	buf_addstr(&p, text);
	if (!p.len || p.data[p.len - 1] != '\n')
		buf_addch(&p, '\n');
	for (i = 0; i < fence; i++)
		buf_addch(&p, '`');
	buf_addstr(&p, "\n\n");
	put(s, &p);
	buf_release(&p);
}

const char *summary_finish(struct summary *s)
{
	if (s->truncated) {
		buf_addf(&s->text,
			 "\n> **Summary truncated:** %zu bytes were left out to stay under the "
			 "%zu KiB limit; the log has the full detail.\n",
			 s->dropped, s->limit / 1024);
		s->truncated = 0; /* the note is written once */
		s->dropped = 0;
	}
	return s->text.data;
}

void summary_mermaid_label(struct buf *out, const char *text)
{
	const unsigned char *c;

	buf_addch(out, '"');
	for (c = (const unsigned char *)text; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    strchr(" .:_-/", *c))
			buf_addch(out, (char)*c);
		else
			buf_addf(out, "#%u;", *c);
	}
	buf_addch(out, '"');
}
