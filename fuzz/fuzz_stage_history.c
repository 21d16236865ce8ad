/*
 * libFuzzer target: the stage machine's history tag (mlops/stage), a
 * value anyone with write access to the registry can set. Parsing must
 * never crash or read past the input; what it understood must encode
 * within the tag limit and parse back to the same entries; and a
 * timeline built from it must come out sorted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mlops/stage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct stage_history *h)
{
	struct stage_history back = STAGE_HISTORY_INIT;
	struct buf text = BUF_INIT;
	size_t i, off;

	stage_history_encode(&text, h);
	if (text.len > STAGE_HISTORY_MAX_LEN)
		abort();
	stage_history_parse(&back, text.data);
	/* The newest entries that fit, unchanged. */
	if (back.skipped || back.nr > h->nr)
		abort();
	off = h->nr - back.nr;
	for (i = 0; i < back.nr; i++) {
		const struct stage_event *a = &back.items[i], *b = &h->items[off + i];

		if (a->from != b->from || a->to != b->to || a->time != b->time ||
		    strcmp(a->commit, b->commit) || strcmp(a->run, b->run))
			abort();
	}
	stage_history_release(&back);
	buf_release(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stage_model m = STAGE_MODEL_INIT;
	struct stage_timeline t = STAGE_TIMELINE_INIT;
	struct stage_history h = STAGE_HISTORY_INIT;
	struct buf text = BUF_INIT;
	size_t i;

	buf_add(&text, data, size); /* NUL-terminated; an inner NUL ends the input */
	stage_history_parse(&h, text.data);
	check_round_trip(&h);
	/* Two versions sharing the history: the merge must stay sorted. */
	m.name = xstrdup("m");
	stage_model_add(&m, "1", STAGE_PRODUCTION, NULL);
	stage_model_add(&m, "2", STAGE_STAGED, NULL);
	m.v[0].history = xstrdup(text.data);
	m.v[1].history = xstrdup(text.data);
	stage_timeline_build(&t, &m);
	for (i = 1; i < t.nr; i++)
		if (t.items[i - 1].event.time > t.items[i].event.time)
			abort();
	buf_reset(&text);
	stage_timeline_write(&text, &t);
	(void)stage_timeline_production_at(&t, t.nr ? t.items[t.nr - 1].event.time : 0);
	stage_timeline_release(&t);
	stage_model_release(&m);
	stage_history_release(&h);
	buf_release(&text);
	return 0;
}
