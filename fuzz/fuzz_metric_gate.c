/*
 * libFuzzer target: the metric gate's parser (mlops/metric_gate), which
 * reads the metric-thresholds input, then the verdict on a run whose
 * metrics are the thresholds' own keys at their limits, and each check
 * described. Nothing may crash, leak or read past the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mlops/metric_gate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metric_thresholds t = METRIC_THRESHOLDS_INIT;
	struct metric_gate_result g = METRIC_GATE_RESULT_INIT;
	struct mlflow_metric *m = NULL;
	struct mlflow_run run;
	struct buf text = BUF_INIT;
	size_t i;

	buf_add(&text, data, size); /* NUL-terminated; an inner NUL ends the input */
	if (metric_thresholds_parse(&t, text.data))
		goto done;
	m = xcalloc(t.nr + 1, sizeof(*m));
	memset(&run, 0, sizeof(run));
	for (i = 0; i < t.nr; i += 2) /* every other key logged */
		m[run.metrics_nr++] = (struct mlflow_metric){ t.items[i].key, t.items[i].limit, 0, 0 };
	run.metrics = m;
	metric_gate_evaluate(&g, &t, &run);
	for (i = 0; i < g.nr; i++) {
		buf_reset(&text);
		metric_check_describe(&text, &g.checks[i]);
	}
done:
	metric_gate_result_release(&g);
	metric_thresholds_release(&t);
	free(m);
	buf_release(&text);
	return 0;
}
