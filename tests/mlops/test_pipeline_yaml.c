#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/error.h"
#include "mlops/pipeline_yaml.h"
#include "core/fs.h"
#include "support/check.h"
#include "support/tmpdir.h"

static int parse(struct pipeline_yaml *p, const char *text)
{
	return pipeline_yaml_parse(p, text, strlen(text), "jobs/pipe.yml");
}

/* The error of `text`: its code, and a message holding `want`. */
static void fails_with(const char *text, int code, const char *want)
{
	struct pipeline_yaml p = PIPELINE_YAML_INIT;

	cr_assert_eq(parse(&p, text), code, "%s", error_message());
	cr_assert(strstr(error_message(), want), "'%s' not in '%s'", want, error_message());
	pipeline_yaml_release(&p);
}

#define STEP(name, cmd) "  " name ":\n    command: " cmd "\n    environment: azureml:env:1\n"

static const char *const shipped =
	"$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n"
	"type: pipeline\n"
	"experiment_name: churn\n"
	"settings:\n"
	"  default_compute: azureml:cpu-cluster\n"
	"  continue_on_step_failure: false\n"
	"inputs:\n"
	"  raw:\n"
	"    type: uri_folder\n"
	"    path: azureml:churn@latest\n"
	"  epochs: 30\n"
	"outputs:\n"
	"  model:\n"
	"    type: uri_folder\n"
	"jobs:\n"
	"  train:\n"                                      /* listed before what it reads */
	"    type: command\n"
	"    code: ../training\n"
	"    command: python train.py ${{inputs.data}} ${{inputs.epochs}} ${{outputs.model}}\n"
	"    environment: azureml:train-env:2\n"
	"    compute: gpu\n"
	"    inputs:\n"
	"      data: ${{parent.jobs.prep.outputs.prepared}}\n"
	"      epochs: ${{ parent.inputs.epochs }}\n"
	"      seed: 7\n"
	"    outputs:\n"
	"      model: ${{parent.outputs.model}}\n"
	"  prep:\n"
	"    code: ../training\n"
	"    display_name: prepare\n"
	"    command: python prep.py ${{inputs.raw}} ${{outputs.prepared}}\n"
	"    environment: azureml:train-env@latest\n"
	"    inputs:\n"
	"      raw: ${{parent.inputs.raw}}\n"
	"    outputs:\n"
	"      prepared:\n"
	"tags: {model: churn}\n";

Test(pipeline_yaml, reads_steps_bindings_and_settings)
{
	struct pipeline_yaml p = PIPELINE_YAML_INIT;
	const struct pipeline_step *train, *prep;

	cr_assert_ok(parse(&p, shipped));
	cr_assert_str_eq(p.default_compute, "cpu-cluster");
	cr_assert_str_eq(p.experiment_name, "churn");
	cr_assert_eq(p.steps_nr, 2);
	cr_assert_str_eq(p.steps[0].name, "prep", "a step comes after the steps it reads from");
	cr_assert_str_eq(p.steps[1].name, "train");
	prep = pipeline_yaml_step(&p, "prep");
	train = pipeline_yaml_step(&p, "train");
	cr_assert_str_eq(prep->spec.display_name, "prepare");
	cr_assert_str_eq(train->spec.display_name, "train", "the step's name by default");
	cr_assert_eq(prep->spec.env_kind, JOB_ENV_LATEST);
	cr_assert_str_eq(train->spec.env_name, "train-env");
	cr_assert_str_eq(train->spec.compute, "gpu");
	cr_assert_eq(train->inputs_nr, 3);
	cr_assert_eq(train->inputs[0].bind, PIPELINE_STEP_OUTPUT);
	cr_assert_str_eq(train->inputs[0].ref_step, "prep");
	cr_assert_str_eq(train->inputs[0].ref_name, "prepared");
	cr_assert_eq(train->inputs[1].bind, PIPELINE_PARENT_INPUT);
	cr_assert_str_eq(train->inputs[1].ref_name, "epochs");
	cr_assert_eq(train->inputs[2].bind, PIPELINE_LITERAL);
	cr_assert_eq(train->spec.inputs_nr, 1, "only literals are the command job's own inputs");
	cr_assert_str_eq(train->spec.inputs[0].value, "7");
	cr_assert_str_eq(train->outputs[0].parent_output, "model");
	cr_assert_null(prep->outputs[0].parent_output);
	cr_assert_eq(p.parent.inputs_nr, 2);
	cr_assert_str_eq(p.parent.inputs[0].asset_name, "churn");
	cr_assert_str_eq(p.parent.inputs[0].asset_version, "latest");
	cr_assert_str_eq(p.parent.inputs[1].value, "30");
	cr_assert_str_eq(p.parent.outputs[0].name, "model");
	cr_assert_str_eq(p.parent.env_name, "train-env", "the first step's environment stands in");
	cr_assert_str_eq(kv_list_pairs(&p.parent.tags)[1], "churn");
	pipeline_yaml_release(&p);
}

Test(pipeline_yaml, a_binding_must_name_what_exists)
{
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo ${{inputs.x}}")
		   "    inputs:\n      x: ${{parent.inputs.nope}}\n",
		   ERR_INPUT, "jobs/pipe.yml:7:");
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo ${{inputs.x}}")
		   "    inputs:\n      x: ${{parent.jobs.b.outputs.y}}\n", ERR_INPUT, "names no output");
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo ${{inputs.x}}")
		   "    inputs:\n      x: ${{parent.jobs.a.outputs.y}}\n    outputs:\n      y:\n",
		   ERR_INPUT, "names no output of another step");
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo") "    inputs:\n      x: ${{parent.foo}}\n",
		   ERR_INPUT, "a step input binds");
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo") "    outputs:\n      y: ${{parent.inputs.z}}\n",
		   ERR_INPUT, "a step output binds ${{parent.outputs.<name>}}");
}

Test(pipeline_yaml, steps_that_read_each_other_are_a_cycle)
{
	fails_with("type: pipeline\njobs:\n"
		   STEP("a", "echo") "    inputs:\n      x: ${{parent.jobs.b.outputs.o}}\n    outputs:\n      o:\n"
		   STEP("b", "echo") "    inputs:\n      x: ${{parent.jobs.a.outputs.o}}\n    outputs:\n      o:\n",
		   ERR_INPUT, "cycle");
}

Test(pipeline_yaml, every_pipeline_output_is_written_by_one_step)
{
	fails_with("type: pipeline\noutputs:\n  model:\njobs:\n" STEP("a", "echo"), ERR_INPUT,
		   "field 'outputs.model': no step binds it");
	fails_with("type: pipeline\noutputs:\n  model:\njobs:\n"
		   STEP("a", "echo") "    outputs:\n      m: ${{parent.outputs.model}}\n"
		   STEP("b", "echo") "    outputs:\n      m: ${{parent.outputs.model}}\n",
		   ERR_INPUT, "more than one");
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo") "    outputs:\n      m: ${{parent.outputs.x}}\n",
		   ERR_INPUT, "the pipeline has no output x");
}

/* Child jobs are matched to their steps by display name: two alike would
 * share a log folder and metric keys. */
Test(pipeline_yaml, two_steps_may_not_share_a_display_name)
{
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo") "    display_name: b\n" STEP("b", "echo"),
		   ERR_INPUT, "field 'jobs.b.display_name': step a has the display name 'b' already");
}

Test(pipeline_yaml, the_command_names_only_the_steps_inputs_and_outputs)
{
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo ${{inputs.x}}"), ERR_INPUT,
		   "field 'jobs.a.command': ${{inputs.x}} names none of the step's inputs");
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo ${{parent.inputs.x}}"), ERR_INPUT,
		   "is not ${{inputs.<name>}}");
}

Test(pipeline_yaml, unknown_fields_and_types_are_refused_at_their_line)
{
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo") "    colour: blue\n", ERR_INPUT,
		   "jobs/pipe.yml:6:13: field 'jobs.a.colour': unknown");
	fails_with("type: pipeline\nfoo: 1\njobs:\n" STEP("a", "echo"), ERR_INPUT, "field 'foo'");
	fails_with("type: command\ncommand: x\n", ERR_INPUT, "pipeline expected");
	fails_with("type: pipeline\njobs:\n  a:\n    type: sweep\n    command: x\n", ERR_INPUT,
		   "'sweep' steps are not submitted");
	fails_with("type: pipeline\njobs: {}\n", ERR_INPUT, "at least one step");
	fails_with("type: pipeline\njobs:\n  a:\n    command: x\n", ERR_INPUT, "environment': required");
	fails_with("type: pipeline\njobs:\n  a:\n    command: x\n    environment: {image: x}\n",
		   ERR_INPUT, "inline environments");
	fails_with("type: pipeline\njobs:\n" STEP("a", "echo") "    code: /etc\n", ERR_INPUT,
		   "relative to the pipeline YAML");
	fails_with("type: pipeline\nsettings:\n  continue_on_step_failure: true\njobs:\n" STEP("a", "echo"),
		   ERR_INPUT, "only false");
	fails_with("type: pipeline\ninputs:\n  d:\n    type: uri_folder\n    path: ./data\njobs:\n"
		   STEP("a", "echo"), ERR_INPUT, "is a local path");
	fails_with("type: pipeline\njobs:\n  a: [1]\n", ERR_YAML, "expected a command step");
}

Test(pipeline_yaml, load_resolves_each_steps_code_in_the_workspace)
{
	struct pipeline_yaml p = PIPELINE_YAML_INIT;
	char root[] = "/tmp/pipeline-yaml-XXXXXX";
	char *yml, *want, *bad, *cmd;

	tmpdir_make(root);
	tmpdir_write(root, "training/train.py", "print(1)\n");
	tmpdir_write(root, "jobs/p.yml", "type: pipeline\njobs:\n" STEP("a", "echo") "    code: ../training\n"
		     STEP("b", "echo"));
	tmpdir_write(root, "jobs/bad.yml", "type: pipeline\njobs:\n" STEP("a", "echo") "    code: ../../\n");
	tmpdir_write(root, "jobs/cmd.yml", "type: command\ncommand: x\n");
	fs_set_workspace(root);
	yml = xasprintf("%s/jobs/p.yml", root);
	bad = xasprintf("%s/jobs/bad.yml", root);
	cmd = xasprintf("%s/jobs/cmd.yml", root);
	want = xasprintf("%s/training", root);
	cr_assert(pipeline_yaml_is_pipeline(yml));
	cr_assert_not(pipeline_yaml_is_pipeline(cmd));
	cr_assert_not(pipeline_yaml_is_pipeline(root), "a folder is not read");
	cr_assert_not(pipeline_yaml_is_pipeline("/etc/hostname"), "nor a file outside the workspace");
	cr_assert_ok(pipeline_yaml_load(&p, yml));
	cr_assert_str_eq(p.steps[0].spec.code_dir, want);
	cr_assert_null(p.steps[1].spec.code_dir);
	cr_assert_fails(pipeline_yaml_load(&p, bad), ERR_INPUT, "field 'jobs.a.code'");
	cr_assert_fails(pipeline_yaml_load(&p, root), ERR_INPUT, "not a regular file");
	pipeline_yaml_release(&p);
	tmpdir_remove(root);
	free(yml);
	free(bad);
	free(cmd);
	free(want);
}
