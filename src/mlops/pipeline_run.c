#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azure/aml_pipeline.h"
#include "azure/aml_workspace.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "mlops/job_model.h"
#include "mlops/pipeline_run.h"
#include "core/banned.h"

/* ---- reading ---- */

int pipeline_run_load(struct job_run *r, const char *path)
{
	struct pipeline_run *p = xcalloc(1, sizeof(*p));
	size_t i;
	int ret;

	r->pipeline = p;
	p->yaml = (struct pipeline_yaml)PIPELINE_YAML_INIT;
	if ((ret = pipeline_yaml_load(&p->yaml, path)))
		return ret;
	p->snaps = xcalloc(p->yaml.steps_nr + 1, sizeof(*p->snaps));
	for (i = 0; i < p->yaml.steps_nr; i++) {
		const char *dir = p->yaml.steps[i].spec.code_dir;

		p->snaps[i] = (struct code_snapshot)CODE_SNAPSHOT_INIT;
		if (dir && (ret = code_snapshot_scan(&p->snaps[i], dir)))
			return ret;
	}
	/* The job_run decides the experiment and compute from its `spec`:
	 * the pipeline's own fields stand there. */
	job_yaml_release(&r->spec);
	r->spec = p->yaml.parent;
	memset(&p->yaml.parent, 0, sizeof(p->yaml.parent));
	r->spec.name = p->yaml.name;
	if (p->yaml.default_compute)
		r->spec.compute = xstrdup(p->yaml.default_compute);
	return 0;
}

/* ---- submitting ---- */

/* One step's request: the command job request, then its inputs and
 * outputs with the bindings added. */
struct step_request {
	struct job_request req;
	struct aml_job_input *inputs;
	struct aml_job_output *outputs;
	struct aml_job_spec spec;
};

static void step_io(struct step_request *sr, const struct pipeline_step *st)
{
	size_t i, lit = 0;

	sr->inputs = xcalloc(st->inputs_nr + 1, sizeof(*sr->inputs));
	for (i = 0; i < st->inputs_nr; i++) {
		if (st->inputs[i].bind == PIPELINE_LITERAL) {
			sr->inputs[i] = sr->req.inputs[lit++];
			continue;
		}
		sr->inputs[i].name = st->inputs[i].name;
		sr->inputs[i].type = AML_INPUT_LITERAL;
		sr->inputs[i].value = st->inputs[i].value;
	}
	sr->outputs = xcalloc(st->outputs_nr + 1, sizeof(*sr->outputs));
	for (i = 0; i < st->outputs_nr; i++) {
		sr->outputs[i] = sr->req.outputs[i];
		if (st->outputs[i].binding)
			sr->outputs[i].uri = st->outputs[i].binding;
	}
	sr->spec = sr->req.spec;
	sr->spec.inputs = sr->inputs;
	sr->spec.inputs_nr = st->inputs_nr;
	sr->spec.outputs = sr->outputs;
	sr->spec.outputs_nr = st->outputs_nr;
	sr->spec.experiment_name = NULL;
	sr->spec.tags = NULL;
}

static int build_step(struct step_request *sr, struct job_run *r, size_t i, struct aml *aml,
		      struct http_client *http, const struct job_run_options *o)
{
	struct pipeline_run *p = r->pipeline;
	const struct pipeline_step *st = &p->yaml.steps[i];
	/* The workflow's compute for every step, else the step's, else the default. */
	const char *c = o->compute && *o->compute ? o->compute
			: st->spec.compute ? NULL : p->yaml.default_compute;
	int ret;

	if ((ret = job_request_build(&sr->req, aml, &st->spec, r->experiment.data, c, NULL, NULL)))
		return error_prefix("pipeline step %s", st->name);
	if (st->spec.code_dir) {
		r->changed = 1;
		if ((ret = job_request_add_code(&sr->req, aml, http, &p->snaps[i], st->spec.code_dir)))
			return error_prefix("pipeline step %s", st->name);
	}
	step_io(sr, st);
	return 0;
}

static void step_requests_release(struct step_request *srs, size_t n)
{
	size_t i;

	for (i = 0; srs && i < n; i++) {
		job_request_release(&srs[i].req);
		free(srs[i].inputs);
		free(srs[i].outputs);
	}
	free(srs);
}

int pipeline_run_submit(struct job_run *r, struct aml *aml, struct http_client *http,
			const struct job_run_options *o)
{
	struct pipeline_run *p = r->pipeline;
	size_t n = p->yaml.steps_nr, i;
	struct step_request *srs = xcalloc(n + 1, sizeof(*srs));
	struct aml_pipeline_step *steps = xcalloc(n + 1, sizeof(*steps));
	struct job_request parent = JOB_REQUEST_INIT;
	struct aml_pipeline_spec ps;
	int ret;

	for (i = 0; i < n; i++)
		srs[i].req = (struct job_request)JOB_REQUEST_INIT;
	/* The pipeline's data inputs, compute and tags as a command job's. */
	if ((ret = job_request_build(&parent, aml, &r->spec, r->experiment.data, o->compute,
				     o->origin.commit, r->identity)))
		goto done;
	for (i = 0; i < n; i++) {
		if ((ret = build_step(&srs[i], r, i, aml, http, o)))
			goto done;
		steps[i].name = p->yaml.steps[i].name;
		steps[i].spec = &srs[i].spec;
	}
	memset(&ps, 0, sizeof(ps));
	ps.display_name = r->spec.display_name;
	ps.experiment_name = r->experiment.data;
	ps.description = r->spec.description;
	ps.compute_id = parent.spec.compute_id;
	ps.inputs = parent.spec.inputs;
	ps.inputs_nr = parent.spec.inputs_nr;
	ps.outputs = parent.spec.outputs;
	ps.outputs_nr = parent.spec.outputs_nr;
	ps.tags = parent.spec.tags;
	ps.steps = steps;
	ps.steps_nr = n;
	r->changed = 1;
	if (!(ret = aml_pipeline_create(&r->job, aml, r->name.len ? r->name.data : NULL, &ps)))
		log_info("pipeline job %s (%zu step%s) submitted to experiment %s%s%s", r->job.name, n,
			 n == 1 ? "" : "s", r->experiment.data, r->job.studio_url ? ": " : "",
			 r->job.studio_url ? r->job.studio_url : "");
done:
	job_request_release(&parent);
	step_requests_release(srs, n);
	free(steps);
	return ret;
}

/* ---- the children ---- */

/* Where the pipeline's child runs are listed: the host of its tracking
 * endpoint, else of the workspace's. */
static int children_list(struct aml_pipeline_children *out, const struct job_run *r,
			 struct aml *aml)
{
	const char *uri = r->done.tracking_uri ? r->done.tracking_uri : r->job.tracking_uri;
	struct aml_workspace ws;
	int ret;

	memset(&ws, 0, sizeof(ws));
	if (!uri && !(ret = aml_workspace_get(&ws, aml)))
		uri = ws.mlflow_tracking_uri;
	ret = aml_pipeline_children_list(out, aml, uri, r->job.name);
	aml_workspace_release(&ws);
	return ret;
}

/*
 * The step a child ran: the one whose display name it has, else the
 * child's own name (checked by aml_pipeline_children_list). Never the
 * display name as Azure sent it: anyone with the workspace may edit it,
 * and the step names a folder of the log artifact and the metrics' keys.
 */
static const char *step_of(const struct pipeline_run *p, const struct aml_pipeline_child *c)
{
	size_t i;

	for (i = 0; c->display_name && i < p->yaml.steps_nr; i++)
		if (!strcmp(p->yaml.steps[i].spec.display_name, c->display_name))
			return p->yaml.steps[i].name;
	return c->name;
}

/* Adds the children not known yet, in the order they are listed. */
static int refresh_children(struct job_run *r, struct aml *aml)
{
	struct pipeline_run *p = r->pipeline;
	struct aml_pipeline_children l = AML_PIPELINE_CHILDREN_INIT;
	size_t i, j;
	int ret;

	if ((ret = children_list(&l, r, aml)))
		goto done;
	for (i = 0; i < l.nr; i++) {
		for (j = 0; j < p->children_nr && strcmp(p->children[j].job, l.items[i].name); j++)
			;
		if (j < p->children_nr)
			continue;
		p->children = xrealloc(p->children, (p->children_nr + 1) * sizeof(*p->children));
		memset(&p->children[p->children_nr], 0, sizeof(*p->children));
		p->children[p->children_nr].step = xstrdup(step_of(p, &l.items[i]));
		p->children[p->children_nr].job = xstrdup(l.items[i].name);
		p->children_nr++;
	}
done:
	aml_pipeline_children_release(&l);
	return ret;
}

/* ---- following ---- */

static int stopping(const struct job_follow_options *fo)
{
	return fo->stop && *fo->stop;
}

/* Waits `ms` between polls, in slices of 100 ms a stop ends. */
static void pause_ms(const struct job_follow_options *fo, long ms)
{
	struct timespec slice = { 0, 100 * 1000 * 1000 };

	for (; ms > 0 && !stopping(fo); ms -= 100)
		nanosleep(&slice, NULL);
}

/* Follows one step's child job to its end, its log in a section of its own. */
static int follow_child(struct pipeline_child *c, struct aml *aml,
			const struct job_follow_options *fo, const struct job_run_options *o,
			time_t deadline)
{
	struct job_follow_options cfo = *fo;
	int ret;

	if (o->on_step)
		o->on_step(c->step, c->job, o->ctx);
	log_info("step %s: job %s", c->step, c->job);
	cfo.timeout_s = (long)(deadline - time(NULL));
	if (cfo.timeout_s < 1)
		cfo.timeout_s = 1;
	ret = job_follow(&c->done, aml, c->job, &cfo);
	c->followed = 1;
	if (!ret)
		log_info("step %s: job %s ended %s", c->step, c->job, c->done.status_text ?
			 c->done.status_text : aml_job_status_name(c->done.status));
	return ret;
}

static struct pipeline_child *next_child(struct pipeline_run *p)
{
	size_t i;

	for (i = 0; i < p->children_nr; i++)
		if (!p->children[i].followed)
			return &p->children[i];
	return NULL;
}

/* Gives up on the pipeline: cancelled, so that no step trains on alone. */
static int give_up(struct job_run *r, struct aml *aml, const struct job_follow_options *fo, int ret)
{
	struct error_saved why = ERROR_SAVED_INIT;

	error_save(&why);
	job_cancel(aml, r->job.name, stopping(fo) ? JOB_CANCEL_STOP_S : 60);
	error_restore(&why);
	error_saved_release(&why);
	return ret;
}

/* A read of the pipeline's status; 1 when it ended. An outage (no answer,
 * 5xx, 429) is ridden out: 0, polled again. */
static int poll_parent(int *ret, struct job_run *r, struct aml *aml)
{
	long status = 0;

	*ret = aml_job_read(&r->done, &status, aml, r->job.name);
	if (*ret && (status == 0 || status == 429 || status >= 500)) {
		log_warning("pipeline job %s: %s; polling again", r->job.name, error_message());
		*ret = 0;
		return 0;
	}
	return !*ret && aml_job_status_terminal(r->done.status);
}

/* The pipeline's outputs where the steps that write them put them. */
static void step_outputs(struct job_run *r)
{
	struct pipeline_run *p = r->pipeline;
	size_t i, j, k;

	for (i = 0; i < r->done.outputs_nr; i++)
		for (j = 0; j < p->children_nr; j++) {
			const struct pipeline_step *st = pipeline_yaml_step(&p->yaml, p->children[j].step);
			const struct aml_job *cj = &p->children[j].done;

			for (k = 0; st && k < st->outputs_nr; k++) {
				size_t m;

				if (!st->outputs[k].parent_output ||
				    strcmp(st->outputs[k].parent_output, r->done.outputs[i].name))
					continue;
				for (m = 0; m < cj->outputs_nr; m++)
					if (!strcmp(cj->outputs[m].name, st->outputs[k].name) && cj->outputs[m].uri) {
						free(r->done.outputs[i].uri);
						r->done.outputs[i].uri = xstrdup(cj->outputs[m].uri);
					}
			}
		}
}

int pipeline_run_follow(struct job_run *r, struct aml *aml, const struct job_follow_options *fo,
			const struct job_run_options *o)
{
	struct pipeline_run *p = r->pipeline;
	time_t deadline = time(NULL) + fo->timeout_s;
	long wait_ms = JOB_POLL_MIN_MS;
	struct pipeline_child *c;
	int ret = 0, ended = 0;

	for (;;) {
		if (stopping(fo))
			return give_up(r, aml, fo, error_set(ERR_CANCELLED, "stopped while following "
							     "pipeline job %s; it was asked to cancel",
							     r->job.name));
		if (time(NULL) >= deadline)
			return give_up(r, aml, fo, error_set(ERR_TIMEOUT, "pipeline job %s did not end "
							     "within %lds; it was cancelled",
							     r->job.name, fo->timeout_s));
		if (refresh_children(r, aml))
			log_warning("pipeline job %s: steps not listed: %s", r->job.name, error_message());
		if ((c = next_child(p))) {
			if ((ret = follow_child(c, aml, fo, o, deadline)))
				return give_up(r, aml, fo, ret);
			wait_ms = JOB_POLL_MIN_MS;
			continue;
		}
		if (ended)
			break;      /* ended, and every step listed after it followed */
		ended = poll_parent(&ret, r, aml);
		if (ret)
			return give_up(r, aml, fo, ret);
		if (!ended) {
			pause_ms(fo, wait_ms);
			wait_ms = job_poll_next_ms(wait_ms, 0);
		}
	}
	step_outputs(r);
	return 0;
}

/* ---- after the end ---- */

int pipeline_run_model_uri(struct buf *out, const struct job_run *r)
{
	const struct pipeline_run *p = r->pipeline;
	const struct aml_job_output_path *model = job_model_output(r->last);
	size_t i, j;

	for (i = 0; model && i < p->children_nr; i++) {
		const struct pipeline_step *st = pipeline_yaml_step(&p->yaml, p->children[i].step);

		for (j = 0; st && j < st->outputs_nr; j++)
			if (st->outputs[j].parent_output &&
			    !strcmp(st->outputs[j].parent_output, model->name)) {
				buf_addf(out, "azureml://jobs/%s/outputs/%s", p->children[i].job,
					 st->outputs[j].name);
				return 0;
			}
	}
	return ERR_NOT_FOUND;
}

int pipeline_run_logs(size_t *count_out, struct job_run *r, struct aml *aml, const char *dir,
		      const struct job_run_options *o)
{
	struct pipeline_run *p = r->pipeline;
	struct buf sub = BUF_INIT;
	size_t i, n;
	int ret = 0;

	*count_out = 0;
	if (!p->children_nr && (ret = refresh_children(r, aml)))
		return ret;
	for (i = 0; i < p->children_nr && !ret; i++) {
		buf_reset(&sub);
		buf_addf(&sub, "%s/%s", dir, p->children[i].step);
		n = 0;
		if ((ret = fs_mkdirs(sub.data)))
			break;
		ret = job_logs_download(&n, aml, p->children[i].job, sub.data, o->tokens);
		if (ret == ERR_NOT_FOUND) {
			log_warning("step %s: %s", p->children[i].step, error_message());
			ret = 0;
		}
		*count_out += n;
	}
	buf_release(&sub);
	if (!ret && !*count_out)
		ret = error_set(ERR_NOT_FOUND, "pipeline job %s: no step left logs", r->job.name);
	return ret;
}

/* Adds `run`'s metrics and params to `out` under "<step>/". */
static void merge_run(struct mlflow_run *out, const struct mlflow_run *run, const char *step)
{
	const char *const *kv;
	struct buf key = BUF_INIT;
	size_t i;

	out->metrics = xrealloc(out->metrics, (out->metrics_nr + run->metrics_nr + 1) *
				sizeof(*out->metrics));
	for (i = 0; i < run->metrics_nr; i++) {
		struct mlflow_metric *m = &out->metrics[out->metrics_nr++];

		*m = run->metrics[i];
		buf_reset(&key);
		buf_addf(&key, "%s/%s", step, run->metrics[i].key);
		m->key = xstrdup(key.data);
	}
	for (kv = kv_list_pairs(&run->params); *kv; kv += 2) {
		buf_reset(&key);
		buf_addf(&key, "%s/%s", step, kv[0]);
		kv_list_add(&out->params, key.data, kv[1]);
	}
	if (run->start_time > 0 && (!out->start_time || run->start_time < out->start_time))
		out->start_time = run->start_time;
	if (run->end_time > out->end_time)
		out->end_time = run->end_time;
	buf_release(&key);
}

int pipeline_run_read_mlflow(struct mlflow_run *out, struct job_run *r, struct aml *aml,
			     struct http_client *http, const struct job_run_options *o)
{
	struct pipeline_run *p = r->pipeline;
	struct mlflow m;
	size_t i, read = 0;
	int ret;

	memset(&m, 0, sizeof(m));
	/* The steps' runs are in the pipeline's workspace, at its endpoint. */
	if ((!p->children_nr && (ret = refresh_children(r, aml))) ||
	    (ret = job_run_open_mlflow(&m, aml, http, r->last, o)))
		goto done;
	ret = error_set(ERR_NOT_FOUND, "pipeline job %s has no steps", r->job.name);
	for (i = 0; i < p->children_nr; i++) {
		struct mlflow_run run = MLFLOW_RUN_INIT;

		if ((ret = mlflow_run_get(&run, &m, p->children[i].job))) {
			log_warning("step %s: MLflow run %s not read: %s", p->children[i].step,
				    p->children[i].job, error_message());
		} else {
			merge_run(out, &run, p->children[i].step);
			read++;
		}
		mlflow_run_release(&run);
	}
	if (read)
		ret = 0;
done:
	mlflow_release(&m);
	return ret;
}

void pipeline_run_release(struct pipeline_run *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; p->snaps && i < p->yaml.steps_nr; i++)
		code_snapshot_release(&p->snaps[i]);
	free(p->snaps);
	for (i = 0; i < p->children_nr; i++) {
		free(p->children[i].step);
		free(p->children[i].job);
		aml_job_release(&p->children[i].done);
	}
	free(p->children);
	pipeline_yaml_release(&p->yaml);
	free(p);
}
