#ifndef CI_SUMMARY_H
#define CI_SUMMARY_H

#include <stddef.h>

#include "core/buf.h"

/*
 * A small Markdown builder for step summaries. Text arguments are data and
 * are escaped (<, >, & as entities; | and newlines inside table cells), so
 * nothing a user or Azure wrote can break the layout or inject HTML.
 * The summary never grows past its limit (GitHub refuses a step summary
 * over 1 MiB and shows nothing): the first piece that would not fit is
 * dropped, as is everything after it, and a closing line says so.
 */
#define SUMMARY_LIMIT (1024 * 1024)

struct summary {
	struct buf text;
	size_t limit;
	int truncated;
	size_t dropped;     /* bytes left out */
	int table_columns;  /* columns of the open table, 0 when none */
};

void summary_init(struct summary *s, size_t limit);
void summary_release(struct summary *s);

void summary_heading(struct summary *s, int level, const char *text);
/* A paragraph of plain text (escaped). */
void summary_text(struct summary *s, const char *text);
/* A paragraph in Markdown the caller composed (not escaped: the caller
 * escaped any data in it with summary_escape). */
void summary_markdown(struct summary *s, const char *markdown);

/* A table: header cells, then rows of the same width; cells are escaped. */
void summary_table_begin(struct summary *s, const char *const *headers, int n);
void summary_table_row(struct summary *s, const char *const *cells, int n);
void summary_table_end(struct summary *s);
/* The row that closes a table cut short: "... N more" in the first cell of
 * the open table's width. */
void summary_table_more(struct summary *s, size_t more);

/* A collapsible section. */
void summary_details_begin(struct summary *s, const char *title);
void summary_details_end(struct summary *s);

/* A fenced code block; the fence grows past any run of backticks inside. */
void summary_code(struct summary *s, const char *language, const char *text);

/* Appends `text` escaped for Markdown/HTML to `out`: no tag, no link or
 * image (brackets and backslashes are escaped), `|` too in table cells. */
void summary_escape(struct buf *out, const char *text);

/* Appends `text` as a quoted Mermaid node label ("..."): letters, digits,
 * space and . : _ - / stay, every other byte becomes an entity code
 * (#34; for a quote), so no text ends the label, the node or the fenced
 * diagram, nor forms HTML. */
void summary_mermaid_label(struct buf *out, const char *text);

/* The final text, with the truncation note when something was left out. */
const char *summary_finish(struct summary *s);

#endif
