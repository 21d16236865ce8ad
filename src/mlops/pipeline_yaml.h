#ifndef MLOPS_PIPELINE_YAML_H
#define MLOPS_PIPELINE_YAML_H

#include <stddef.h>

#include "core/error.h"
#include "core/yaml.h"
#include "mlops/job_yaml.h"

/*
 * An Azure ML CLI v2 pipeline job YAML (pipelineJob.schema.json), in the
 * shape Azure/mlops-v2 trains with, read as strictly as a command job:
 *
 *   $schema, type (pipeline), name, display_name, description,
 *   experiment_name, tags, settings {default_compute, default_datastore,
 *   continue_on_step_failure (false only)}, inputs and outputs (as a
 *   command job's), and jobs: a mapping of steps, each an inline command
 *   component: type (command), display_name, code, command, environment,
 *   compute, environment_variables, inputs and outputs.
 *
 * A step's input is a literal, "${{parent.inputs.<x>}}" (a pipeline
 * input) or "${{parent.jobs.<step>.outputs.<y>}}" (another step's output);
 * a step's output is `name:` alone, {type: uri_folder}, or
 * "${{parent.outputs.<z>}}", which makes it the pipeline's output <z>.
 * Every binding is checked against what it names, the bindings between
 * steps must not form a cycle, and the steps are kept in an order that
 * runs each after the steps it reads from.
 *
 * Each step and the pipeline's own inputs/outputs/tags are given as a
 * struct job_yaml (`spec`), so that the command job request builder
 * resolves their environment, data and compute as it does for a job; the
 * strings they hold point into the pipeline's document.
 */

enum pipeline_bind {
	PIPELINE_LITERAL,        /* a value as written */
	PIPELINE_PARENT_INPUT,   /* ${{parent.inputs.<ref_output>}} */
	PIPELINE_STEP_OUTPUT,    /* ${{parent.jobs.<ref_step>.outputs.<ref_output>}} */
};

struct pipeline_input {
	const char *name;
	enum pipeline_bind bind;
	const char *value;       /* as written (the binding text for bindings) */
	char *ref_step;          /* PIPELINE_STEP_OUTPUT */
	char *ref_name;          /* the parent input's or the step output's name */
};

struct pipeline_output {
	const char *name;
	const char *binding;     /* "${{parent.outputs.<parent_output>}}" as written, or NULL */
	char *parent_output;     /* the pipeline output it is, or NULL */
};

struct pipeline_step {
	const char *name;        /* the key under jobs */
	/* The step as a command job: command, code (+code_dir), environment,
	 * compute, display_name, environment_variables; its literal inputs
	 * only (bound ones are in `inputs`), and its outputs unbound. */
	struct job_yaml spec;
	struct pipeline_input *inputs;
	size_t inputs_nr;
	struct pipeline_output *outputs;
	size_t outputs_nr;
};

struct pipeline_yaml {
	char *yaml_path;
	struct yaml_doc doc;
	const char *name;                 /* NULL: generated */
	const char *experiment_name, *display_name, *description;
	char *default_compute;            /* settings.default_compute, the name; NULL when absent */
	/* The pipeline's inputs, outputs and tags (spec.inputs, .outputs,
	 * .tags); its environment is the first step's, so that the request
	 * builder can resolve the inputs. */
	struct job_yaml parent;
	struct pipeline_step *steps;      /* in an order that respects the bindings */
	size_t steps_nr;
};
#define PIPELINE_YAML_INIT { .doc = YAML_DOC_INIT, .parent = JOB_YAML_INIT }

/* 1 when the file `path` (a regular file in the workspace) is a YAML
 * mapping whose `type` is "pipeline" (the caller then reads it with
 * pipeline_yaml_load); 0 for anything else, the error cleared. */
int pipeline_yaml_is_pipeline(const char *path);

/*
 * Parses and checks the pipeline in `text` (`name` stands for the file in
 * messages); no file system access. Errors as job_yaml_parse: ERR_YAML for
 * a malformed file or a wrong type, ERR_INPUT for a bad value, an unknown
 * field, a binding that names nothing, or a cycle; file:line:col and the
 * field in the message.
 */
int pipeline_yaml_parse(struct pipeline_yaml *out, const char *text, size_t len,
			const char *name);

/* Reads `path` as job_yaml_load does and resolves each step's code folder
 * against the YAML's folder, inside the workspace. */
int pipeline_yaml_load(struct pipeline_yaml *out, const char *path);

void pipeline_yaml_release(struct pipeline_yaml *p);

/* The step named `name`, or NULL. */
const struct pipeline_step *pipeline_yaml_step(const struct pipeline_yaml *p, const char *name);

#endif
