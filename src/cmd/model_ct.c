/*
 * Model-CT in two stages, each a job of its own so that the second can
 * wait behind a GitHub environment's required reviewers:
 *   stage train     the job's environment made sure of (mlops/train_env.h:
 *                   a repository folder declaring it is registered when
 *                   missing, refused when its version holds other
 *                   content), then the training step exactly as Model-CI
 *                   runs it (cmd/training.h);
 *   stage register  the model the job wrote to its output registered as
 *                   the next version, with the job as lineage and its
 *                   tags set at creation (mlops/model_register.h); a
 *                   re-run finds the version and registers nothing.
 * Exit 2 for bad inputs before anything changed.
 */
#include <stdio.h>
#include <string.h>

#include "ci/summary.h"
#include "cmd/session.h"
#include "cmd/training.h"
#include "cmd/workflow.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/model_register.h"
#include "mlops/train_env.h"
#include "core/banned.h"

static const struct input_spec inputs[] = {
	AZURE_INPUTS,
	WORKSPACE_INPUT,
	{ "stage", "train: make sure of the job's environment and train; register: register the model of the job given by job-name.", "train", 0 },
	TRAINING_INPUTS,
	{ "environments", "Folder of environment folders (stage train): the one declaring the job's environment is registered when missing.", "environments", 0 },
	{ "model-name", "Name of the model to register (required for stage register).", NULL, 0 },
	{ "model-output", "Output of the training job that holds the model.", "model", 0 },
	{ "model-type", "Type of the registered model: mlflow_model or custom_model.", "mlflow_model", 0 },
	{ "job-name", "Training job whose model to register (stage register): the train stage's job-name output. Stage train: follow this job instead of submitting one.", NULL, 0 },
	{ NULL, NULL, NULL, 0 },
};

static const struct output_spec outputs[] = {
	TRAINING_OUTPUTS,
	{ "model-name", "Name of the registered model (stage register)." },
	{ "model-version", "Version of the registered model, or of the one registered earlier from the same job." },
	{ "model-id", "Azure resource id of the model version." },
	{ NULL, NULL },
};

static int run(struct ci *ci);

const struct workflow workflow_model_ct = {
	.spec = { "model-ct", inputs, outputs },
	.title = "Model CT",
	.description = "Trains a model in its checked environment, then registers it with a link to the job that made it.",
	.run = run,
	.stops_gracefully = 1,
};

/* ---- stage train ---- */

static int ensure_environment(struct ci *ci, struct session *s, const struct training_config *c)
{
	const struct ci_context *context = ci_context(ci);
	struct env_register_context reg = { context->sha, context->repository, s->http, s->tokens };
	struct train_env t = TRAIN_ENV_INIT;
	struct buf job = BUF_INIT, root = BUF_INIT;
	const char *dir;
	int ret;

	if ((ret = ci_input(ci, "environments", &dir)))
		return ret;
	ci_workspace_path(ci, &job, c->job);
	ci_workspace_path(ci, &root, dir);
	if ((ret = train_env_load(&t, job.data, root.data)) || (ret = train_env_decide(&t, &s->aml)))
		goto done;
	if (t.to_register) {
		workflow_changing();
		if (!(ret = train_env_register(&t, &s->aml, &reg)))
			summary_markdown(ci_summary(ci), "Environment registered from its folder.");
	}
done:
	if (ret && t.found)
		ci_annotate(ci, LOG_ERROR, error_where(), "training environment", error_message());
	train_env_release(&t);
	buf_release(&job);
	buf_release(&root);
	return ret;
}

/* ---- stage register ---- */

/* The inputs of stage register; `gate` receives metric-thresholds, the
 * gate the train stage checked, checked again before registering. */
static int read_register(struct ci *ci, struct model_register_options *o,
			 struct metric_thresholds *gate)
{
	const char *thresholds;
	int ret;

	memset(o, 0, sizeof(*o));
	if ((ret = ci_input(ci, "model-name", &o->model)) ||
	    (ret = ci_input(ci, "model-output", &o->output)) ||
	    (ret = ci_input(ci, "model-type", &o->type)) ||
	    (ret = ci_input(ci, "job-name", &o->job)) ||
	    (ret = ci_input(ci, "metric-thresholds", &thresholds)))
		return ret;
	if ((ret = metric_thresholds_parse(gate, thresholds)))
		return error_prefix("Input metric-thresholds");
	o->gate = gate;
	return model_register_check(o);
}

/* A data input as its asset's name:version when the URI is a data asset
 * version's id ("azureml:<workspace>/data/<name>/versions/<v>"), else the
 * URI as the job has it. */
static void input_label(struct buf *out, const struct aml_job_output_path *in)
{
	const char *data = strstr(in->uri, "/data/"), *versions;

	versions = data ? strstr(data + strlen("/data/"), "/versions/") : NULL;
	buf_addf(out, "%s: ", in->name);
	if (versions && !strchr(versions + strlen("/versions/"), '/')) {
		buf_add(out, data + strlen("/data/"), (size_t)(versions - data) - strlen("/data/"));
		buf_addf(out, ":%s", versions + strlen("/versions/"));
	} else {
		buf_addstr(out, in->uri);
	}
}

/* data asset(s) -> job -> model version. */
static void lineage(struct summary *sum, const struct model_register_result *r)
{
	struct buf m = BUF_INIT, label = BUF_INIT;
	size_t i;

	buf_addstr(&m, "flowchart LR\n  job[");
	summary_mermaid_label(&m, r->job.name);
	buf_addstr(&m, "]\n  model[");
	buf_addf(&label, "%s:%s", r->version.asset.name, r->version.asset.version);
	summary_mermaid_label(&m, label.data);
	buf_addstr(&m, "]\n  job --> model\n");
	for (i = 0; i < r->job.inputs_nr; i++) {
		if (!r->job.inputs[i].uri)
			continue; /* a literal */
		buf_addf(&m, "  in%zu[", i);
		buf_reset(&label);
		input_label(&label, &r->job.inputs[i]);
		summary_mermaid_label(&m, label.data);
		buf_addf(&m, "] --> job\n");
	}
	summary_code(sum, "mermaid", m.data);
	buf_release(&m);
	buf_release(&label);
}

static void summarize(struct ci *ci, const struct model_register_result *r)
{
	static const char *const head[] = { "Metric", "Value" };
	struct summary *sum = ci_summary(ci);
	struct buf line = BUF_INIT;
	const cJSON *m;

	summary_heading(sum, 3, "Registered model");
	buf_addstr(&line, "Model `");
	summary_escape(&line, r->version.asset.name);
	buf_addstr(&line, "` version **");
	summary_escape(&line, r->version.asset.version);
	buf_addstr(&line, "** from job `");
	summary_escape(&line, r->job.name);
	buf_addstr(&line, r->reused ? "` (registered by an earlier run: nothing done)" : "`");
	summary_markdown(sum, line.data);
	if (cJSON_GetArraySize(r->metrics)) {
		summary_table_begin(sum, head, 2);
		cJSON_ArrayForEach(m, r->metrics) {
			struct buf v = BUF_INIT;
			const char *row[2];

			json_write(&v, m);
			row[0] = m->string;
			row[1] = cJSON_IsString(m) ? m->valuestring : v.data;
			summary_table_row(sum, row, 2);
			buf_release(&v);
		}
		summary_table_end(sum);
	}
	lineage(sum, r);
	buf_release(&line);
}

static int write_register_outputs(struct ci *ci, const struct model_register_result *r)
{
	int ret;

	if ((ret = ci_output(ci, "model-name", r->version.asset.name)) ||
	    (ret = ci_output(ci, "model-version", r->version.asset.version)) ||
	    (ret = ci_output(ci, "job-name", r->job.name)))
		return ret;
	return r->version.asset.id ? ci_output(ci, "model-id", r->version.asset.id) : 0;
}

static int run_register(struct ci *ci)
{
	const struct ci_context *c = ci_context(ci);
	struct model_register_result r = MODEL_REGISTER_RESULT_INIT;
	struct model_register_options o;
	struct metric_thresholds gate = METRIC_THRESHOLDS_INIT;
	struct session session;
	struct buf run_url = BUF_INIT;
	int ret;

	if ((ret = read_register(ci, &o, &gate)) || (ret = session_open(&session, ci))) {
		metric_thresholds_release(&gate);
		return ret;
	}
	http_client_set_stop(session.http, workflow_stop_flag());
	/* GitHub's run page; Azure Pipelines' needs the project, which the
	 * context lacks, so its runs are tagged by commit and repository only. */
	if (ci_kind(ci) != CI_PIPELINES && *c->server_url && *c->repository && *c->run_id)
		buf_addf(&run_url, "%s/%s/actions/runs/%s", c->server_url, c->repository, c->run_id);
	o.commit = c->sha;
	o.repository = c->repository;
	o.run_url = run_url.data;
	o.http = session.http;
	o.tokens = session.tokens;
	if (!(ret = model_register_decide(&r, &session.aml, &o)) && !r.reused) {
		workflow_changing(); /* no exit 2 once a registration was sent */
		ret = model_register_apply(&r, &session.aml, &o);
	}
	if (!ret) {
		summarize(ci, &r);
		ret = write_register_outputs(ci, &r);
	}
	model_register_result_release(&r);
	session_close(&session);
	metric_thresholds_release(&gate);
	buf_release(&run_url);
	return ret;
}

static int run(struct ci *ci)
{
	const char *stage;
	int ret;

	if ((ret = ci_input(ci, "stage", &stage)))
		return ret;
	if (!strcmp(stage, "train"))
		return training_main(ci, ensure_environment);
	if (!strcmp(stage, "register"))
		return run_register(ci);
	return error_set(ERR_INPUT, "Input stage: '%s' is not train or register", stage);
}
