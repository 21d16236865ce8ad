#ifndef MLOPS_METRIC_GATE_H
#define MLOPS_METRIC_GATE_H

#include <stddef.h>

#include "azure/mlflow.h"
#include "core/buf.h"

/*
 * The metric gate: thresholds on a run's latest MLflow metrics, as the
 * `metric-thresholds` input writes them, e.g. "auc>=0.75, loss<0.5".
 *
 * Grammar: items separated by commas or newlines (empty items are
 * skipped); each item is KEY OP NUMBER, white space around each part
 * allowed. KEY is an MLflow metric key as MLflow accepts them: letters,
 * digits, '_', '-', '.', '/' and spaces (inner spaces kept, outer ones
 * trimmed), at most METRIC_KEY_MAX bytes. OP is one of >=, >, <=, <, ==.
 * NUMBER is a finite decimal number ("0.75", "-1", "1e-3"; no hex, no
 * "inf" or "nan"). At most METRIC_THRESHOLDS_MAX items. The same key may
 * appear more than once ("loss>0, loss<1" is a range).
 *
 * Verdicts: a threshold passes when the run logged the key and its latest
 * value is finite and meets it. A key the run never logged fails ("not
 * logged": an error, never a pass), and so does a value that is NaN or
 * infinite, whatever the operator.
 */

#define METRIC_KEY_MAX 250
#define METRIC_THRESHOLDS_MAX 100

enum metric_op { METRIC_GE, METRIC_GT, METRIC_LE, METRIC_LT, METRIC_EQ };

struct metric_threshold {
	char *key;
	enum metric_op op;
	double limit;
	char *limit_text;       /* the number as written, for messages */
};

struct metric_thresholds {
	struct metric_threshold *items;
	size_t nr;
};
#define METRIC_THRESHOLDS_INIT { NULL, 0 }

/*
 * Parses `text` into `out` (released first); "" gives none. ERR_INPUT
 * naming the item and what is wrong with it; `out` is then empty.
 */
int metric_thresholds_parse(struct metric_thresholds *out, const char *text);
void metric_thresholds_release(struct metric_thresholds *t);

/* A finite decimal number, the whole of `s[0..len)`, as a threshold is
 * written: [+-]digits[.digits][e[+-]digits] (no hex, inf or nan, no white
 * space); 0, else -1 (a number too large for a double included). */
int metric_number_parse(double *out, const char *s, size_t len);

/* ">=", ">", "<=", "<", "==". */
const char *metric_op_text(enum metric_op op);

enum metric_verdict {
	METRIC_PASSED,
	METRIC_MISSED,          /* logged, finite, does not meet the threshold */
	METRIC_NOT_FINITE,      /* logged as NaN, Infinity or -Infinity */
	METRIC_NOT_LOGGED,      /* the run has no such metric */
};

/* One threshold checked; owns copies, so the result outlives the inputs. */
struct metric_check {
	char *key;
	enum metric_op op;
	double limit;
	char *limit_text;
	enum metric_verdict verdict;
	double value;           /* the latest value; 0 when not logged */
};

enum metric_gate_state { METRIC_GATE_NONE, METRIC_GATE_PASSED, METRIC_GATE_FAILED };

/*
 * The gate's verdict, for the step's output and summary, and for what
 * decides on it later (registering a model, a pull request comment).
 */
struct metric_gate_result {
	enum metric_gate_state state;   /* NONE: no thresholds, or not evaluated */
	struct metric_check *checks;
	size_t nr;
	size_t failed;                  /* checks whose verdict is not PASSED */
};
#define METRIC_GATE_RESULT_INIT { METRIC_GATE_NONE, NULL, 0, 0 }

/*
 * Checks each threshold against `run`'s latest metrics (`run` NULL: the
 * run could not be read, so nothing was logged). `out` is released first.
 * No thresholds: state NONE.
 */
void metric_gate_evaluate(struct metric_gate_result *out, const struct metric_thresholds *t,
			  const struct mlflow_run *run);
void metric_gate_result_release(struct metric_gate_result *r);

/* "passed", "missed", "not finite", "not logged". */
const char *metric_verdict_name(enum metric_verdict v);

/* "passed", "failed" or "none", as the `gate` output says. */
const char *metric_gate_state_name(enum metric_gate_state state);

/* Appends the check's value as MLflow writes it ("0.71", "NaN"); nothing
 * when it was not logged. */
void metric_check_value(struct buf *out, const struct metric_check *c);

/* Appends one check in words: "auc = 0.71 is not >= 0.75", "auc = 0.8 >= 0.75",
 * "auc = NaN is not finite (needs >= 0.75)", "auc was not logged (needs >= 0.75)". */
void metric_check_describe(struct buf *out, const struct metric_check *c);

#endif
