#ifndef AZURE_MLFLOW_H
#define AZURE_MLFLOW_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "azure/token.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/kv.h"

/*
 * Reads of Azure ML's MLflow tracking API: a run's status, latest metrics,
 * params and tags, and a metric's full history. Contract: docs/azure-contract.md
 * 3.8. Azure ML's run id is the job name. Errors: the MLflow error body
 * {"error_code","message"} becomes "<METHOD> <path>: HTTP <status>
 * <error_code>: <message>"; RESOURCE_DOES_NOT_EXIST is ERR_NOT_FOUND, a
 * 404 with another error_code ERR_HTTP, other statuses as
 * http_status_code says (401/403 ERR_AUTH, 404 ERR_NOT_FOUND, 409/412
 * ERR_CONFLICT, others ERR_HTTP).
 */

/*
 * The REST base for a workspace's tracking URI (the workspace's
 * properties.mlFlowTrackingUri or a job's services.Tracking.endpoint):
 * "azureml://<host>/mlflow/v1.0/subscriptions/..." becomes
 * "https://<host>/mlflow/v1.0/subscriptions/.../api/2.0/mlflow" (no
 * trailing '/'). An https:// URI is kept as it is. ERR_INPUT otherwise.
 */
int mlflow_rest_base(struct buf *out, const char *tracking_uri);

struct mlflow {
	struct http_client *http;   /* borrowed */
	struct token_source tokens; /* asked for the management token (azure-contract 3.8) */
	char *base;                 /* from mlflow_rest_base */
	char *scope;                /* AZURE_SCOPE_ARM */
};

/* ERR_INPUT for a tracking URI mlflow_rest_base refuses. `scope` NULL means
 * public Azure's management scope (sovereign clouds pass theirs). `tokens`
 * is copied; what its ctx points at is borrowed. */
int mlflow_init(struct mlflow *m, struct http_client *http, struct token_source tokens,
		const char *tracking_uri, const char *scope);
void mlflow_release(struct mlflow *m);

struct mlflow_metric {
	char *key;
	double value;
	int64_t timestamp;          /* epoch milliseconds */
	int64_t step;
};

/* A run. Every string is owned, may be NULL when absent. */
struct mlflow_run {
	char *run_id;
	char *experiment_id;
	char *run_name;
	char *status;               /* RUNNING, SCHEDULED, FINISHED, FAILED, KILLED */
	char *artifact_uri;
	int64_t start_time;         /* epoch ms, 0 when absent */
	int64_t end_time;
	struct mlflow_metric *metrics;  /* latest value of each key */
	size_t metrics_nr;
	struct kv_list params;      /* in the order MLflow gave them */
	struct kv_list tags;
};
#define MLFLOW_RUN_INIT { 0 }
void mlflow_run_release(struct mlflow_run *r);

/* Lookups in a run; borrowed from it; NULL when absent. */
const struct mlflow_metric *mlflow_run_metric(const struct mlflow_run *r, const char *key);
const char *mlflow_run_param(const struct mlflow_run *r, const char *key);
const char *mlflow_run_tag(const struct mlflow_run *r, const char *key);

/* A growable list of metric values, in the order the server gave them. */
struct mlflow_metrics {
	struct mlflow_metric *items;
	size_t nr, alloc;
};
#define MLFLOW_METRICS_INIT { NULL, 0, 0 }
void mlflow_metrics_release(struct mlflow_metrics *l);

/* GET runs/get?run_id=: ERR_NOT_FOUND when the run does not exist. */
int mlflow_run_get(struct mlflow_run *out, struct mlflow *m, const char *run_id);

/*
 * GET metrics/get-history for `key` of run `run_id`, following
 * next_page_token (at most 10,000 pages), appending to `out`. A key the run
 * never logged gives an empty list.
 */
int mlflow_metric_history(struct mlflow_metrics *out, struct mlflow *m, const char *run_id,
			  const char *key);

/* ---- pure pieces, exported for tests ---- */

/* Reads {"run":{"info":{...},"data":{...}}} into `out` (released first).
 * ERR_JSON when there is no run.info.run_id or a field has a wrong type. */
int mlflow_run_parse(struct mlflow_run *out, const cJSON *json);

/* Appends one get-history page's metrics to `out`; `*next_out` receives the
 * next page token (owned) or NULL on the last page. */
int mlflow_history_parse(struct mlflow_metrics *out, char **next_out, const cJSON *json);

/*
 * Parses an MLflow reply. MLflow writes non-finite metric values as the
 * strings "NaN", "Infinity" and "-Infinity"; a server writing JSON with
 * Python's json module sends them as bare tokens, which is not JSON: those
 * are read as the strings too, so one such value never makes the whole
 * reply unreadable. A metric whose value is neither a number nor one of
 * those strings is left out with a warning, never the run with it.
 */
int mlflow_json_parse(cJSON **out, const char *body, size_t len);

/* A metric value as MLflow names it: "NaN", "Infinity", "-Infinity", or
 * the number (%.6g). */
void mlflow_value_text(struct buf *out, double v);
/* A metric value for a JSON output: a number, or for a non-finite one the
 * string MLflow uses ("NaN"...; a JSON number cannot hold it, and cJSON
 * would write null). The caller owns the item. */
cJSON *mlflow_value_json(double v);

/* Sets the error for a failed MLflow call from its status and body and
 * returns its code (see the top of this file). `what` is "GET <path>". */
int mlflow_error(long status, const char *body, size_t len, const char *what);

#endif
