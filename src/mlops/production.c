/*
 * The model in production (mlops/production.h): its version found by the
 * stage tag, its training job's MLflow run read for the comparison.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "azure/aml_workspace.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/production.h"
#include "core/banned.h"

void production_model_release(struct production_model *p)
{
	free(p->name);
	free(p->version);
	free(p->job_name);
	mlflow_run_release(&p->run);
	memset(p, 0, sizeof(*p));
}

/* Whether version `a` is newer than `b`: workspace versions are integers
 * (compared as numbers, "10" after "9"); a version that is not one, or a
 * tie, goes by creation time (ISO 8601, so compared as text). */
static int newer(const struct aml_model_version *a, const struct aml_model_version *b)
{
	char *ea, *eb;
	long long na = strtoll(a->asset.version ? a->asset.version : "", &ea, 10);
	long long nb = strtoll(b->asset.version ? b->asset.version : "", &eb, 10);
	const char *ca = a->asset.created_at ? a->asset.created_at : "";
	const char *cb = b->asset.created_at ? b->asset.created_at : "";

	if (ea != a->asset.version && !*ea && eb != b->asset.version && !*eb && na != nb)
		return na > nb;
	return strcmp(ca, cb) > 0;
}

long production_pick(const struct aml_model_version *v, size_t nr)
{
	long best = -1;
	size_t i;

	for (i = 0; i < nr; i++) {
		const char *stage = json_string_or(v[i].asset.tags, PRODUCTION_TAG, "");

		/* The server's tag filter is only a first sieve: checked here. */
		if (strcmp(stage, PRODUCTION_STAGE) || v[i].asset.is_archived)
			continue;
		if (best < 0 || newer(&v[i], &v[best]))
			best = (long)i;
	}
	return best;
}

int production_run_read(struct mlflow_run *run, struct aml *aml, struct http_client *http,
			struct token_source tokens, const char *job)
{
	struct aml_workspace ws;
	struct mlflow m;
	int ret;

	memset(&ws, 0, sizeof(ws));
	memset(&m, 0, sizeof(m));
	if ((ret = aml_workspace_get(&ws, aml)))
		goto done;
	if (!ws.mlflow_tracking_uri) {
		ret = error_set(ERR_NOT_FOUND, "workspace %s has no MLflow tracking URI",
				aml->workspace);
		goto done;
	}
	/* MLflow takes the Resource Manager token: the cloud's own scope. */
	if (!(ret = mlflow_init(&m, http, tokens, ws.mlflow_tracking_uri, aml->arm->scope)))
		ret = mlflow_run_get(run, &m, job);
done:
	mlflow_release(&m);
	aml_workspace_release(&ws);
	return ret;
}

int production_model_find(struct production_model *out, struct aml *aml,
			  struct http_client *http, struct token_source tokens, const char *name)
{
	struct aml_list_options o = { .tags = PRODUCTION_TAG "=" PRODUCTION_STAGE };
	struct aml_model_version *v = NULL;
	const struct aml_model_version *p;
	size_t nr = 0;
	long i;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!name || !*name)
		return 0;
	out->name = xstrdup(name);
	ret = aml_model_version_list(&v, &nr, aml, name, &o);
	if (ret == ERR_NOT_FOUND) {
		log_debug("model %s not found: nothing in production", name);
		error_clear();
		return 0;
	}
	if (ret) {
		production_model_release(out);
		return error_prefix("model %s's production version", name);
	}
	if ((i = production_pick(v, nr)) < 0) {
		log_info("model %s has no version in production", name);
		goto done;
	}
	p = &v[i];
	out->found = 1;
	out->version = xstrdup(p->asset.version ? p->asset.version : "");
	out->job_name = p->job_name ? xstrdup(p->job_name) : NULL;
	if (!out->job_name)
		log_warning("model %s:%s in production names no training job: no metrics to compare",
			    name, out->version);
	else if (production_run_read(&out->run, aml, http, tokens, out->job_name))
		log_warning("model %s:%s in production: run %s not read: %s", name, out->version,
			    out->job_name, error_message());
	else
		out->have_run = 1;
	error_clear();
done:
	aml_model_versions_free(v, nr);
	return 0;
}

/* ---- the comparison ---- */

void production_comparison_release(struct production_comparison *c)
{
	size_t i;

	for (i = 0; i < c->nr; i++) {
		free(c->rows[i].value);
		free(c->rows[i].production);
		free(c->rows[i].difference);
	}
	free(c->rows);
	c->rows = NULL;
	c->nr = 0;
}

static char *value_text(double v)
{
	struct buf text = BUF_INIT;

	mlflow_value_text(&text, v);
	return buf_detach(&text, NULL);
}

/* A difference says which way it went: "+" before a positive number. */
static char *difference_text(double a, double b)
{
	struct buf text = BUF_INIT;
	double d = a - b;

	if (isfinite(d) && d > 0)
		buf_addch(&text, '+');
	mlflow_value_text(&text, d);
	return buf_detach(&text, NULL);
}

static void add_row(struct production_comparison *c, const struct mlflow_metric *mine,
		    const struct mlflow_metric *theirs)
{
	struct production_row *r;

	c->rows = xrealloc(c->rows, (c->nr + 1) * sizeof(*c->rows));
	r = &c->rows[c->nr++];
	memset(r, 0, sizeof(*r));
	r->key = mine ? mine->key : theirs->key;
	r->value = mine ? value_text(mine->value) : NULL;
	r->production = theirs ? value_text(theirs->value) : NULL;
	if (mine && theirs)
		r->difference = difference_text(mine->value, theirs->value);
}

void production_compare(struct production_comparison *out, const struct mlflow_run *run,
			const struct production_model *p)
{
	const struct mlflow_run *prod = p && p->have_run ? &p->run : NULL;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; run && i < run->metrics_nr; i++)
		add_row(out, &run->metrics[i], prod ? mlflow_run_metric(prod, run->metrics[i].key) : NULL);
	for (i = 0; prod && i < prod->metrics_nr; i++)
		if (!run || !mlflow_run_metric(run, prod->metrics[i].key))
			add_row(out, NULL, &prod->metrics[i]);
}
