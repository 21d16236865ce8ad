/*
 * The metric gate (mlops/metric_gate.h): the `metric-thresholds` input
 * parsed strictly, then each threshold checked against the run's latest
 * metrics. Whatever the input holds, an error quotes at most a short,
 * printable excerpt of it.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mlops/metric_gate.h"
#include "core/banned.h"

#define EXCERPT_MAX 60

static const char *const op_texts[] = { ">=", ">", "<=", "<", "==" };

const char *metric_op_text(enum metric_op op)
{
	return op_texts[op];
}

/* The item as an error quotes it: printable, cut short. */
static void excerpt(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < EXCERPT_MAX; i++)
		buf_addch(out, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
	if (len > EXCERPT_MAX)
		buf_addstr(out, "...");
}

static int item_error(const char *s, size_t len, const char *why)
{
	struct buf q = BUF_INIT;
	int ret;

	excerpt(&q, s, len);
	ret = error_set(ERR_INPUT, "threshold '%s': %s", q.data, why);
	buf_release(&q);
	return ret;
}

static int key_char(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("_-./ ", c));
}

static void trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s))
		(*s)++, (*len)--;
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* The operator at `s` (one of op_texts, longest first); its length, or 0. */
static size_t parse_op(enum metric_op *out, const char *s, size_t len)
{
	static const enum metric_op order[] = {
		METRIC_GE, METRIC_LE, METRIC_EQ, METRIC_GT, METRIC_LT,
	};
	size_t i, n;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		n = strlen(op_texts[order[i]]);
		if (len >= n && !memcmp(s, op_texts[order[i]], n)) {
			*out = order[i];
			return n;
		}
	}
	return 0;
}

int metric_number_parse(double *out, const char *s, size_t len)
{
	size_t i = 0, digits = 0;
	char text[64];

	if (!len || len >= sizeof(text))
		return -1;
	if (s[i] == '+' || s[i] == '-')
		i++;
	for (; i < len && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && isdigit((unsigned char)s[i]); i++)
			digits++;
	if (!digits)
		return -1;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp = 0;

		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < len && isdigit((unsigned char)s[i]); i++)
			exp++;
		if (!exp)
			return -1;
	}
	if (i != len)
		return -1;
	memcpy(text, s, len);
	text[len] = 0;
	*out = strtod(text, NULL);
	return isfinite(*out) ? 0 : -1;
}

static int parse_item(struct metric_threshold *out, const char *s, size_t len)
{
	const char *key = s, *num;
	size_t klen, oplen, nlen, i;

	for (klen = 0; klen < len && !strchr("<>=!", s[klen]); klen++)
		;
	if (klen == len)
		return item_error(s, len, "no comparison (use >=, >, <=, < or ==)");
	oplen = parse_op(&out->op, s + klen, len - klen);
	if (!oplen || (klen + oplen < len && strchr("<>=!", s[klen + oplen])))
		return item_error(s, len, "unknown operator (use >=, >, <=, < or ==)");
	num = s + klen + oplen;
	nlen = len - klen - oplen;
	trim(&key, &klen);
	trim(&num, &nlen);
	if (!klen)
		return item_error(s, len, "no metric name before the operator");
	if (klen > METRIC_KEY_MAX)
		return item_error(s, len, "the metric name is longer than 250 characters");
	for (i = 0; i < klen; i++)
		if (!key_char(key[i]))
			return item_error(s, len, "a metric name holds only letters, digits, "
					  "'_', '-', '.', '/' and spaces");
	if (metric_number_parse(&out->limit, num, nlen))
		return item_error(s, len, "the threshold is not a finite number");
	out->key = xstrndup(key, klen);
	out->limit_text = xstrndup(num, nlen);
	return 0;
}

int metric_thresholds_parse(struct metric_thresholds *out, const char *text)
{
	const char *p = text, *end;
	int ret = 0;

	metric_thresholds_release(out);
	for (; *p && !ret; p = *end ? end + 1 : end) {
		const char *item = p;
		size_t len;

		end = p + strcspn(p, ",\n");
		len = (size_t)(end - p);
		trim(&item, &len);
		if (!len)
			continue;
		if (out->nr == METRIC_THRESHOLDS_MAX) {
			ret = error_set(ERR_INPUT, "more than %d thresholds", METRIC_THRESHOLDS_MAX);
			break;
		}
		if (!out->items)
			out->items = xcalloc(METRIC_THRESHOLDS_MAX, sizeof(*out->items));
		if (!(ret = parse_item(&out->items[out->nr], item, len)))
			out->nr++;
	}
	if (ret)
		metric_thresholds_release(out);
	return ret;
}

void metric_thresholds_release(struct metric_thresholds *t)
{
	size_t i;

	for (i = 0; i < t->nr; i++) {
		free(t->items[i].key);
		free(t->items[i].limit_text);
	}
	free(t->items);
	t->items = NULL;
	t->nr = 0;
}

static int meets(double v, enum metric_op op, double limit)
{
	switch (op) {
	case METRIC_GE: return v >= limit;
	case METRIC_GT: return v > limit;
	case METRIC_LE: return v <= limit;
	case METRIC_LT: return v < limit;
	case METRIC_EQ: return v == limit;
	}
	return 0;
}

static void check(struct metric_check *c, const struct metric_threshold *t,
		  const struct mlflow_run *run)
{
	const struct mlflow_metric *m = run ? mlflow_run_metric(run, t->key) : NULL;

	c->key = xstrdup(t->key);
	c->op = t->op;
	c->limit = t->limit;
	c->limit_text = xstrdup(t->limit_text);
	c->value = m ? m->value : 0;
	if (!m)
		c->verdict = METRIC_NOT_LOGGED;
	else if (!isfinite(m->value))
		c->verdict = METRIC_NOT_FINITE;
	else
		c->verdict = meets(m->value, t->op, t->limit) ? METRIC_PASSED : METRIC_MISSED;
}

void metric_gate_evaluate(struct metric_gate_result *out, const struct metric_thresholds *t,
			  const struct mlflow_run *run)
{
	size_t i;

	metric_gate_result_release(out);
	if (!t->nr)
		return;
	out->checks = xcalloc(t->nr, sizeof(*out->checks));
	for (i = 0; i < t->nr; i++) {
		check(&out->checks[i], &t->items[i], run);
		if (out->checks[i].verdict != METRIC_PASSED)
			out->failed++;
	}
	out->nr = t->nr;
	out->state = out->failed ? METRIC_GATE_FAILED : METRIC_GATE_PASSED;
}

void metric_gate_result_release(struct metric_gate_result *r)
{
	size_t i;

	for (i = 0; i < r->nr; i++) {
		free(r->checks[i].key);
		free(r->checks[i].limit_text);
	}
	free(r->checks);
	memset(r, 0, sizeof(*r));
}

const char *metric_verdict_name(enum metric_verdict v)
{
	switch (v) {
	case METRIC_PASSED: return "passed";
	case METRIC_MISSED: return "missed";
	case METRIC_NOT_FINITE: return "not finite";
	default: return "not logged";
	}
}

const char *metric_gate_state_name(enum metric_gate_state state)
{
	switch (state) {
	case METRIC_GATE_PASSED: return "passed";
	case METRIC_GATE_FAILED: return "failed";
	default: return "none";
	}
}

void metric_check_value(struct buf *out, const struct metric_check *c)
{
	if (c->verdict != METRIC_NOT_LOGGED)
		mlflow_value_text(out, c->value);
}

void metric_check_describe(struct buf *out, const struct metric_check *c)
{
	const char *op = metric_op_text(c->op);

	if (c->verdict == METRIC_NOT_LOGGED) {
		buf_addf(out, "%s was not logged (needs %s %s)", c->key, op, c->limit_text);
		return;
	}
	buf_addf(out, "%s = ", c->key);
	mlflow_value_text(out, c->value);
	if (c->verdict == METRIC_NOT_FINITE)
		buf_addf(out, " is not finite (needs %s %s)", op, c->limit_text);
	else
		buf_addf(out, " %s%s %s", c->verdict == METRIC_PASSED ? "" : "is not ", op,
			 c->limit_text);
}
