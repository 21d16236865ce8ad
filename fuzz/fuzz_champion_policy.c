/*
 * libFuzzer target: the promotion policy's parser (mlops/champion), which
 * reads the metric, direction, min-delta and max-p-value inputs, then a
 * decision on values taken from the same input and its record. The input
 * is split at newlines: metric, direction, min-delta, max-p-value, then
 * the champion's and the challenger's values and the p-value ("-" for
 * none). Nothing may crash, leak or read past the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mlops/champion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct champion_policy p = CHAMPION_POLICY_INIT;
	struct champion_decision d = CHAMPION_DECISION_INIT;
	struct champion_candidate champion, challenger;
	struct buf text = BUF_INIT, words = BUF_INIT;
	const char *f[FIELDS] = { NULL };
	char *s, *nl;
	size_t i;
	cJSON *j;

	buf_add(&text, data, size); /* NUL-terminated; an inner NUL ends the input */
	for (i = 0, s = text.data; i < FIELDS && s; i++, s = nl ? nl + 1 : NULL) {
		f[i] = s;
		if ((nl = strchr(s, '\n')))
			*nl = 0;
	}
	if (champion_policy_parse(&p, f[0], f[1], f[2], f[3]))
		goto done;
	champion_policy_describe(&words, &p);
	champion = (struct champion_candidate){ "5", f[4] && strcmp(f[4], "-") ? f[4] : NULL,
						NULL, NULL };
	challenger = (struct champion_candidate){ f[7] && *f[7] ? "5" : "7",
						  f[5] && strcmp(f[5], "-") ? f[5] : NULL, NULL,
						  f[6] && strcmp(f[6], "-") ? f[6] : NULL };
	champion_decide(&d, &p, f[4] ? &champion : NULL, &challenger, size % 2, "fuzzer");
	j = champion_decision_json(&d, &p);
	cJSON_Delete(j);
done:
	champion_decision_release(&d);
	champion_policy_release(&p);
	buf_release(&words);
	buf_release(&text);
	return 0;
}
