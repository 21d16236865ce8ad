/*
 * The stage machine's history tag and the timeline built from it
 * (mlops/stage.h). Everything here is pure: the tag comes from the
 * registry, where anyone with write access can put anything, so the
 * parser only ever skips what it does not understand.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mlops/stage.h"
#include "core/banned.h"

/* The letters of the encoding, by enum stage; STAGE_OTHER never written. */
static const char stage_letters[STAGE_NR] = { 'm', 'u', 's', 'p', 'x', '?' };

static int stage_of_letter(char c, enum stage *out)
{
	int s;

	for (s = 0; s < STAGE_OTHER; s++)
		if (stage_letters[s] == c) {
			*out = (enum stage)s;
			return 0;
		}
	return -1;
}

void stage_history_release(struct stage_history *h)
{
	free(h->items);
	h->items = NULL;
	h->nr = h->skipped = 0;
}

static void format_time(char out[17], time_t when)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!gmtime_r(&when, &tm) || !strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm))
		memcpy(out, "19700101T000000Z", 17);
}

static int parse_digits(const char *s, size_t n, int *out)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "YYYYMMDDTHHMMSSZ". Formatting the result again must give the same
 * text: that refuses 31 February and 25:00 rather than normalising them. */
static int parse_time(const char *s, time_t *out)
{
	struct tm tm;
	char again[17];

	memset(&tm, 0, sizeof(tm));
	if (s[8] != 'T' || s[15] != 'Z' ||
	    parse_digits(s, 4, &tm.tm_year) || parse_digits(s + 4, 2, &tm.tm_mon) ||
	    parse_digits(s + 6, 2, &tm.tm_mday) || parse_digits(s + 9, 2, &tm.tm_hour) ||
	    parse_digits(s + 11, 2, &tm.tm_min) || parse_digits(s + 13, 2, &tm.tm_sec) ||
	    tm.tm_year < 1970)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	format_time(again, *out);
	return memcmp(again, s, 16) ? -1 : 0;
}

static int url_char(int c)
{
	return isalnum(c) || (c && strchr("-._~:/?#[]@!$&'()*+=%", c));
}

/* One entry, `len` bytes at `s`; -1 when it is not understood. */
static int parse_entry(struct stage_event *e, const char *s, size_t len)
{
	const char *commit, *run, *end = s + len;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (len < 20 || stage_of_letter(s[0], &e->from) || stage_of_letter(s[1], &e->to) ||
	    parse_time(s + 2, &e->time) || s[18] != ',')
		return -1;
	commit = s + 19;
	run = memchr(commit, ',', (size_t)(end - commit));
	if (!run || run - commit > 12 || (size_t)(end - run - 1) >= sizeof(e->run))
		return -1;
	for (i = 0; commit + i < run; i++) {
		if (!isxdigit((unsigned char)commit[i]) || isupper((unsigned char)commit[i]))
			return -1;
		e->commit[i] = commit[i];
	}
	for (run++, i = 0; run + i < end; i++) {
		if (!url_char((unsigned char)run[i]) || run[i] == ',')
			return -1;
		e->run[i] = run[i];
	}
	return 0;
}

static void push(struct stage_history *h, const struct stage_event *e)
{
	h->items = xrealloc(h->items, (h->nr + 1) * sizeof(*h->items));
	h->items[h->nr++] = *e;
}

void stage_history_parse(struct stage_history *out, const char *tag)
{
	const char *p = tag ? tag : "", *semi;
	struct stage_event e;

	memset(out, 0, sizeof(*out));
	while (*p) {
		size_t len;

		semi = strchr(p, ';');
		len = semi ? (size_t)(semi - p) : strlen(p);
		if (len && !parse_entry(&e, p, len))
			push(out, &e);
		else if (len)
			out->skipped++;
		p += len + (semi ? 1 : 0);
	}
}

static void encode_entry(struct buf *out, const struct stage_event *e)
{
	char when[17];

	format_time(when, e->time);
	buf_addf(out, "%c%c%s,%s,%s", stage_letters[e->from], stage_letters[e->to], when,
		 e->commit, e->run);
}

void stage_history_encode(struct buf *out, const struct stage_history *h)
{
	struct buf one = BUF_INIT;
	size_t first = h->nr > STAGE_HISTORY_MAX ? h->nr - STAGE_HISTORY_MAX : 0;
	size_t i, total;

	/* From the newest back, as many entries as fit. */
	for (total = 0, i = h->nr; i > first; i--) {
		buf_reset(&one);
		encode_entry(&one, &h->items[i - 1]);
		if (total + one.len + (total ? 1 : 0) > STAGE_HISTORY_MAX_LEN)
			break;
		total += one.len + (total ? 1 : 0);
	}
	for (first = i; i < h->nr; i++) {
		if (i > first)
			buf_addch(out, ';');
		encode_entry(out, &h->items[i]);
	}
	buf_release(&one);
}

void stage_history_add(struct stage_history *h, const struct stage_event *e)
{
	push(h, e);
	if (h->nr > STAGE_HISTORY_MAX) {
		memmove(h->items, h->items + 1, (h->nr - 1) * sizeof(*h->items));
		h->nr--;
	}
}

/* The run number of a GitHub Actions run URL, else the URL when it can
 * be written as is; "" otherwise. */
static void run_ref(char *out, size_t size, const char *url)
{
	const char *runs = url ? strstr(url, "/actions/runs/") : NULL;
	size_t n = 0, len = url ? strlen(url) : 0, i;

	out[0] = '\0';
	if (runs) {
		runs += strlen("/actions/runs/");
		while (isdigit((unsigned char)runs[n]) && n + 1 < size)
			n++;
		if (n && (!runs[n] || runs[n] == '/')) {
			memcpy(out, runs, n);
			out[n] = '\0';
			return;
		}
	}
	if (!len || len >= size)
		return;
	for (i = 0; i < len; i++)
		if (!url_char((unsigned char)url[i]) || url[i] == ',')
			return;
	memcpy(out, url, len + 1);
}

void stage_event_set(struct stage_event *out, enum stage from, enum stage to, time_t when,
		     const char *commit, const char *run_url)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->from = from == STAGE_OTHER ? STAGE_MISSING : from;
	out->to = to == STAGE_OTHER ? STAGE_MISSING : to;
	out->time = when < 0 ? 0 : when;
	for (i = 0; commit && i < 12 && isxdigit((unsigned char)commit[i]); i++)
		out->commit[i] = (char)tolower((unsigned char)commit[i]);
	if (commit && i < 12 && commit[i])
		i = 0;  /* not a commit id: nothing rather than a piece of it */
	out->commit[i] = '\0';
	run_ref(out->run, sizeof(out->run), run_url);
}

/* ---- timeline ---- */

void stage_timeline_release(struct stage_timeline *t)
{
	free(t->items);
	memset(t, 0, sizeof(*t));
}

static int moment_cmp(const void *a, const void *b)
{
	const struct stage_moment *x = a, *y = b;

	if (x->event.time != y->event.time)
		return x->event.time < y->event.time ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

void stage_timeline_build(struct stage_timeline *out, const struct stage_model *m)
{
	struct stage_history h;
	size_t i, j;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < m->nr; i++) {
		stage_history_parse(&h, m->v[i].history);
		out->skipped += h.skipped;
		out->items = xrealloc(out->items, (out->nr + h.nr + 1) * sizeof(*out->items));
		for (j = 0; j < h.nr; j++) {
			struct stage_moment *mo = &out->items[out->nr++];

			mo->version = m->v[i].version;
			mo->event = h.items[j];
			mo->order = out->nr - 1; /* model order, then entry order */
		}
		stage_history_release(&h);
	}
	if (out->nr)
		qsort(out->items, out->nr, sizeof(*out->items), moment_cmp);
}

void stage_time_text(char out[STAGE_TIME_LEN], time_t when)
{
	char basic[17];

	/* Back to ISO 8601's extended form for people. */
	format_time(basic, when);
	snprintf(out, STAGE_TIME_LEN, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", basic, basic + 4,
		 basic + 6, basic + 9, basic + 11, basic + 13);
}

void stage_run_url(struct buf *out, const char *run, const char *server, const char *repository)
{
	size_t n = run ? strspn(run, "0123456789") : 0;

	if (n && !run[n] && repository && *repository)
		buf_addf(out, "%s/%s/actions/runs/%s", server && *server ? server : "https://github.com",
			 repository, run);
	else if (run)
		buf_addstr(out, run);
}

void stage_timeline_write(struct buf *out, const struct stage_timeline *t)
{
	size_t i;

	for (i = 0; i < t->nr; i++) {
		const struct stage_event *e = &t->items[i].event;
		char when[STAGE_TIME_LEN];

		stage_time_text(when, e->time);
		buf_addf(out, "%s  %s  %s -> %s", when, t->items[i].version, stage_name(e->from),
			 stage_name(e->to));
		if (*e->commit)
			buf_addf(out, "  commit %s", e->commit);
		if (*e->run)
			buf_addf(out, "  run %s", e->run);
		buf_addch(out, '\n');
	}
}

const char *stage_timeline_production_at(const struct stage_timeline *t, time_t when)
{
	const char *current = NULL;
	size_t i;

	for (i = 0; i < t->nr && t->items[i].event.time <= when; i++) {
		const struct stage_moment *mo = &t->items[i];

		if (mo->event.to == STAGE_PRODUCTION)
			current = mo->version;
		else if (mo->event.from == STAGE_PRODUCTION && current &&
			 !strcmp(current, mo->version))
			current = NULL;
	}
	return current;
}
