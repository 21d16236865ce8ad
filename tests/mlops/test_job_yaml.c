#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "core/fs.h"
#include "mlops/job_yaml.h"
#include "support/check.h"
#include "support/tmpdir.h"

static int parse(struct job_yaml *s, const char *text)
{
	return job_yaml_parse(s, text, strlen(text), "jobs/train.yml");
}

#define GOOD_HEAD "type: command\ncommand: python train.py\nenvironment: azureml:train-env:1\n"

Test(job_yaml, reads_the_shipped_example_fields)
{
	struct job_yaml s = JOB_YAML_INIT;

	cr_assert_ok(parse(&s,
		"$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n"
		"type: command\n"
		"code: ../training\n"
		"command: python train.py --data ${{inputs.training_data}} --lr ${{ inputs.lr }} --out ${{outputs.model}}\n"
		"environment: azureml:train-env:1\n"
		"compute: azureml:cpu-cluster\n"
		"experiment_name: churn\n"
		"display_name: run one\n"
		"inputs:\n"
		"  training_data:\n"
		"    type: uri_folder\n"
		"    path: azureml:churn:1\n"
		"    mode: download\n"
		"  lr: 0.010\n"
		"outputs:\n"
		"  model:\n"
		"    type: uri_folder\n"
		"tags: {team: ml, rows: 1200}\n"
		"environment_variables: {SEED: 7}\n"));
	cr_assert_str_eq(s.code, "../training");
	cr_assert_eq(s.env_kind, JOB_ENV_VERSION);
	cr_assert_str_eq(s.env_name, "train-env");
	cr_assert_str_eq(s.env_version, "1");
	cr_assert_str_eq(s.compute, "cpu-cluster");
	cr_assert_str_eq(s.experiment_name, "churn");
	cr_assert_eq(s.inputs_nr, 2);
	cr_assert_str_eq(s.inputs[0].name, "training_data");
	cr_assert_eq(s.inputs[0].type, AML_INPUT_URI_FOLDER);
	cr_assert_eq(s.inputs[0].path_kind, JOB_PATH_ASSET);
	cr_assert_str_eq(s.inputs[0].asset_name, "churn");
	cr_assert_str_eq(s.inputs[0].asset_version, "1");
	cr_assert_str_eq(s.inputs[0].mode, "Download");
	cr_assert_eq(s.inputs[1].type, AML_INPUT_LITERAL);
	cr_assert_str_eq(s.inputs[1].value, "0.010", "a literal keeps its text as written");
	cr_assert_eq(s.outputs_nr, 1);
	cr_assert_str_eq(s.outputs[0].name, "model");
	cr_assert_eq(s.tags.nr, 2);
	cr_assert_str_eq(kv_list_pairs(&s.tags)[0], "team");
	cr_assert_str_eq(kv_list_find(&s.tags, "team"), "ml");
	cr_assert_str_eq(kv_list_find(&s.tags, "rows"), "1200");
	cr_assert_str_eq(kv_list_find(&s.environment_variables, "SEED"), "7");
	job_yaml_release(&s);
}

Test(job_yaml, latest_environment_and_uri_inputs)
{
	struct job_yaml s = JOB_YAML_INIT;

	cr_assert_ok(parse(&s, "command: x ${{inputs.a}} ${{inputs.b}}\nenvironment: azureml:env@latest\n"
			       "inputs:\n  a: {type: uri_file, path: 'https://acct.blob.core.windows.net/c/f.csv'}\n"
			       "  b: {type: uri_folder, path: 'azureml://datastores/workspaceblobstore/paths/x/'}\n"
			       "outputs:\n  m:\n"));
	cr_assert_eq(s.env_kind, JOB_ENV_LATEST);
	cr_assert_str_eq(s.env_version, "latest");
	cr_assert_eq(s.inputs[0].path_kind, JOB_PATH_URI);
	cr_assert_eq(s.inputs[0].type, AML_INPUT_URI_FILE);
	cr_assert_eq(s.outputs_nr, 1);
	job_yaml_release(&s);
}

struct bad_case {
	const char *text;
	int code;
	const char *needle;   /* includes the line and column */
};

static const struct bad_case bad_cases[] = {
	{ GOOD_HEAD "colour: blue\n", ERR_INPUT, "jobs/train.yml:4:9: field 'colour': unknown" },
	{ "type: sweep\ncommand: x\nenvironment: azureml:e:1\n", ERR_INPUT, ":1:7: field 'type': 'sweep'" },
	{ "type: command\nenvironment: azureml:e:1\n", ERR_INPUT, ":1:1: field 'command': required" },
	{ "command: x\n", ERR_INPUT, "field 'environment': required" },
	{ "command: [a]\nenvironment: azureml:e:1\n", ERR_YAML, ":1:10: field 'command' is an array" },
	{ "command: x\nenvironment: train-env\n", ERR_INPUT, ":2:14: field 'environment': 'train-env' is not" },
	{ "command: x\nenvironment: azureml:e@v2\n", ERR_INPUT, ":2:14: field 'environment': 'e@v2': only @latest" },
	{ "command: x\nenvironment:\n  image: ubuntu\n", ERR_INPUT, ":3:3: field 'environment': inline environments" },
	{ "command: x\nenvironment: azureml:-bad:1\n", ERR_INPUT, ":2:14: field 'environment':" },
	{ "command: x\nenvironment: azureml:e:1\ncompute: 'azureml:bad name'\n", ERR_INPUT, ":3:10: field 'compute':" },
	{ "command: x\nenvironment: azureml:e:1\ncode: azureml:src:1\n", ERR_INPUT, ":3:7: field 'code': a local folder" },
	{ GOOD_HEAD "inputs:\n  d: {type: uri_folder}\n", ERR_INPUT, ":5:6: field 'inputs.d.path': required" },
	{ GOOD_HEAD "inputs:\n  d: {type: mltable, path: azureml:x:1}\n", ERR_INPUT, ":5:13: field 'inputs.d.type'" },
	{ GOOD_HEAD "inputs:\n  d: {type: uri_folder, path: ./data}\n", ERR_INPUT, ":5:31: field 'inputs.d.path': './data' is a local path" },
	{ GOOD_HEAD "inputs:\n  d: {type: uri_folder, path: 'azureml:churn'}\n", ERR_INPUT, ":5:31: field 'inputs.d.path': 'churn' is not" },
	{ GOOD_HEAD "inputs:\n  d: {type: uri_folder, path: azureml:c:1, mode: upload}\n", ERR_INPUT, "field 'inputs.d.mode': use ro_mount" },
	{ GOOD_HEAD "inputs:\n  d:\n    type: uri_folder\n    path: azureml:c:1\n    colour: blue\n", ERR_INPUT, ":8:13: field 'inputs.d.colour': unknown" },
	{ GOOD_HEAD "inputs:\n  1d: 3\n", ERR_INPUT, ":5:7: field 'inputs.1d': an input name" },
	{ GOOD_HEAD "inputs:\n  d:\n", ERR_INPUT, "field 'inputs.d': has no value" },
	{ GOOD_HEAD "inputs: [a]\n", ERR_YAML, ":4:9: field 'inputs' is an array" },
	{ GOOD_HEAD "outputs:\n  m: {type: uri_file}\n", ERR_INPUT, ":5:13: field 'outputs.m.type': only uri_folder" },
	{ GOOD_HEAD "outputs:\n  m: {mode: ro_mount}\n", ERR_INPUT, "field 'outputs.m.mode': use rw_mount" },
	{ GOOD_HEAD "outputs:\n  m: 3\n", ERR_YAML, ":5:6: field 'outputs.m' is a number" },
	{ GOOD_HEAD "outputs:\n  2m: {type: uri_folder}\n", ERR_INPUT, ":5:7: field 'outputs.2m': an output name is letters, digits and '_', not starting with a digit" },
	{ GOOD_HEAD "outputs: x\n", ERR_YAML, ":4:10: field 'outputs' is a string, expected a mapping" },
	{ GOOD_HEAD "outputs:\n  m: {description: [a]}\n", ERR_YAML, ":5:20: field 'outputs.m.description' is an array, expected a string" },
	{ GOOD_HEAD "inputs:\n  d: {type: uri_folder, path: azureml:c:1, description: 3}\n", ERR_YAML, ":5:57: field 'inputs.d.description' is a number, expected a string" },
	{ GOOD_HEAD "tags:\n  a: [1]\n", ERR_YAML, ":5:6: field 'tags.a' is an array" },
	{ GOOD_HEAD "environment_variables: x\n", ERR_YAML, ":4:24: field 'environment_variables' is a string" },
	{ "command: python t.py ${{inputs.missing}}\nenvironment: azureml:e:1\n", ERR_INPUT, ":1:10: field 'command': ${{inputs.missing}} names no declared input" },
	{ "command: python t.py ${{outputs.m\nenvironment: azureml:e:1\n", ERR_INPUT, "'${{' without its closing" },
	{ "command: python t.py ${{jobs.x}}\nenvironment: azureml:e:1\n", ERR_INPUT, "is not ${{inputs.<name>}}" },
	{ GOOD_HEAD "experiment_name: 'a b'\n", ERR_INPUT, ":4:18: field 'experiment_name':" },
	{ GOOD_HEAD "name: ''\n", ERR_INPUT, ":4:7: field 'name' is empty" },
	{ GOOD_HEAD "resources: {instance_count: 0}\n", ERR_INPUT, ":4:29: field 'resources.instance_count': 0 is not an integer from 1" },
	{ GOOD_HEAD "resources: {instance_count: 1.5}\n", ERR_INPUT, "field 'resources.instance_count': 1.5 is not an integer" },
	{ GOOD_HEAD "resources: {instance_count: '2'}\n", ERR_YAML, ":4:29: field 'resources.instance_count' is a string, expected an integer" },
	{ GOOD_HEAD "resources: {instance_count: 2, gpus: 1}\n", ERR_INPUT, ":4:38: field 'resources.gpus': unknown" },
	{ GOOD_HEAD "resources: {shm_size: 2gb}\n", ERR_INPUT, ":4:23: field 'resources.shm_size': '2gb' is not <number><unit>" },
	{ GOOD_HEAD "resources: {shm_size: 0g}\n", ERR_INPUT, "field 'resources.shm_size': '0g'" },
	{ GOOD_HEAD "resources: {instance_type: 3}\n", ERR_YAML, "field 'resources.instance_type' is a number, expected a string" },
	{ GOOD_HEAD "resources: {properties: [a]}\n", ERR_YAML, "field 'resources.properties' is an array" },
	{ GOOD_HEAD "resources: 2\n", ERR_YAML, ":4:12: field 'resources' is a number, expected a mapping" },
	{ GOOD_HEAD "distribution: {process_count_per_instance: 2}\n", ERR_INPUT, ":4:15: field 'distribution.type': required" },
	{ GOOD_HEAD "distribution: {type: ray}\n", ERR_INPUT, ":4:22: field 'distribution.type': use pytorch, mpi or tensorflow" },
	{ GOOD_HEAD "distribution: {type: PyTorch}\n", ERR_INPUT, "field 'distribution.type': use pytorch" },
	{ GOOD_HEAD "distribution: {type: pytorch, process_count_per_instance: -1}\n", ERR_INPUT, "field 'distribution.process_count_per_instance': -1 is not" },
	{ GOOD_HEAD "distribution: {type: pytorch, worker_count: 2}\n", ERR_INPUT, "field 'distribution.worker_count': unknown" },
	{ GOOD_HEAD "distribution: {type: tensorflow, process_count_per_instance: 2}\n", ERR_INPUT, "field 'distribution.process_count_per_instance': unknown" },
	{ GOOD_HEAD "distribution: {type: tensorflow, parameter_server_count: true}\n", ERR_YAML, "field 'distribution.parameter_server_count' is a boolean" },
	{ GOOD_HEAD "limits: {timeout: 0}\n", ERR_INPUT, ":4:19: field 'limits.timeout': 0 is not an integer from 1" },
	{ GOOD_HEAD "limits: {timeout: 3000000000}\n", ERR_INPUT, "field 'limits.timeout': 3000000000 is not an integer from 1 to 2147483647" },
	{ GOOD_HEAD "resources: {instance_count: 1e12}\n", ERR_INPUT, "field 'resources.instance_count': 1e12 is not an integer from 1 to 2147483647" },
	{ GOOD_HEAD "limits: {timeout: 1h}\n", ERR_YAML, "field 'limits.timeout' is a string, expected an integer" },
	{ GOOD_HEAD "limits: {max_trials: 3}\n", ERR_INPUT, "field 'limits.max_trials': unknown" },
	{ GOOD_HEAD "queue_settings: {job_tier: gold}\n", ERR_INPUT, ":4:28: field 'queue_settings.job_tier': use null, spot, basic, standard, premium" },
	{ GOOD_HEAD "queue_settings: {priority: high}\n", ERR_INPUT, "field 'queue_settings.priority': unknown" },
	{ GOOD_HEAD "identity: {client_id: 00000000-0000-0000-0000-000000000000}\n", ERR_INPUT, ":4:11: field 'identity.type': required" },
	{ GOOD_HEAD "identity: {type: system}\n", ERR_INPUT, "field 'identity.type': use aml_token, user_identity, managed" },
	{ GOOD_HEAD "identity: {type: managed, client_id: abc}\n", ERR_INPUT, ":4:38: field 'identity.client_id': 'abc' is not a GUID" },
	{ GOOD_HEAD "identity: {type: user_identity, object_id: 00000000-0000-0000-0000-000000000000}\n", ERR_INPUT, "field 'identity.object_id': only a managed identity" },
	{ GOOD_HEAD "identity: {type: aml_token, resource_id: /x}\n", ERR_INPUT, "field 'identity.resource_id': only a managed identity" },
	{ GOOD_HEAD "services:\n  lab: {type: jupyter}\n", ERR_INPUT, ":5:15: field 'services.lab.type': use jupyter_lab, ssh, tensor_board, vs_code, custom" },
	{ GOOD_HEAD "services:\n  lab: {port: 8888}\n", ERR_INPUT, ":5:8: field 'services.lab.type': required" },
	{ GOOD_HEAD "services:\n  lab: {type: jupyter_lab, port: 70000}\n", ERR_INPUT, "field 'services.lab.port': 70000 is not an integer from 1 to 65535" },
	{ GOOD_HEAD "services:\n  lab: {type: jupyter_lab, nodes: 2}\n", ERR_INPUT, "field 'services.lab.nodes': only 'all'" },
	{ GOOD_HEAD "services:\n  lab: {type: ssh, ssh_public_keys: k}\n", ERR_INPUT, "field 'services.lab.ssh_public_keys': unknown" },
	{ GOOD_HEAD "services:\n  lab: ssh\n", ERR_YAML, "field 'services.lab' is a string, expected a mapping" },
	{ GOOD_HEAD "services:\n  lab: {type: ssh, properties: {k: [1]}}\n", ERR_YAML, "field 'services.lab' is an array" },
	{ GOOD_HEAD "properties:\n  a: {b: 1}\n", ERR_YAML, ":5:6: field 'properties.a' is an object" },
	{ "- a\n- b\n", ERR_YAML, ":1:1: a job YAML is a mapping" },
	{ "command: [unclosed\n", ERR_YAML, "jobs/train.yml:" },
};

Test(job_yaml, reads_where_and_how_the_job_runs)
{
	struct job_yaml s = JOB_YAML_INIT;
	const char *const *p;

	cr_assert_ok(parse(&s, GOOD_HEAD
		"resources:\n"
		"  instance_count: 4\n"
		"  instance_type: Standard_NC6s_v3\n"
		"  shm_size: 16g\n"
		"  docker_args: --ipc=host\n"
		"  properties: {AISuperComputer: {interactive: false}}\n"
		"distribution:\n"
		"  type: pytorch\n"
		"  process_count_per_instance: 2\n"
		"limits: {timeout: 5400}\n"
		"queue_settings: {job_tier: spot}\n"
		"identity:\n"
		"  type: managed\n"
		"  client_id: 0a1b2c3d-0000-4000-8000-00000000abcd\n"
		"services:\n"
		"  lab: {type: jupyter_lab, port: 8888, nodes: all}\n"
		"  board: {type: tensor_board, properties: {logDir: outputs/tb}}\n"
		"properties: {owner: ml, rows: 12}\n"));
	cr_assert_eq(s.resources.instance_count, 4);
	cr_assert_str_eq(s.resources.instance_type, "Standard_NC6s_v3");
	cr_assert_str_eq(s.resources.shm_size, "16g");
	cr_assert_str_eq(s.resources.docker_args, "--ipc=host");
	cr_assert(cJSON_IsObject(s.resources.properties));
	cr_assert_eq(s.distribution.type, AML_DIST_PYTORCH);
	cr_assert_eq(s.distribution.process_count_per_instance, 2);
	cr_assert_eq(s.timeout_s, 5400);
	cr_assert_str_eq(s.job_tier, "Spot");
	cr_assert_str_eq(s.identity.type, "Managed");
	cr_assert_str_eq(s.identity.client_id, "0a1b2c3d-0000-4000-8000-00000000abcd");
	cr_assert_null(s.identity.object_id);
	cr_assert_eq(s.services_nr, 2);
	cr_assert_str_eq(s.services[0].name, "lab");
	cr_assert_str_eq(s.services[0].type, "JupyterLab");
	cr_assert_eq(s.services[0].port, 8888);
	cr_assert(s.services[0].all_nodes);
	cr_assert_null(s.services[0].properties);
	cr_assert_str_eq(s.services[1].type, "TensorBoard");
	cr_assert_not(s.services[1].all_nodes);
	p = s.services[1].properties;
	cr_assert(p && !strcmp(p[0], "logDir") && !strcmp(p[1], "outputs/tb") && !p[2]);
	cr_assert_str_eq(kv_list_find(&s.properties, "rows"), "12");
	job_yaml_release(&s);
}

Test(job_yaml, tensorflow_mpi_and_the_other_identities)
{
	struct job_yaml s = JOB_YAML_INIT;

	cr_assert_ok(parse(&s, GOOD_HEAD "distribution: {type: tensorflow, worker_count: 3, "
			   "parameter_server_count: 0}\nidentity: {type: user_identity}\n"));
	cr_assert_eq(s.distribution.type, AML_DIST_TENSORFLOW);
	cr_assert_eq(s.distribution.worker_count, 3);
	cr_assert_eq(s.distribution.parameter_server_count, 0);
	cr_assert_str_eq(s.identity.type, "UserIdentity");
	cr_assert_ok(parse(&s, GOOD_HEAD "distribution: {type: mpi}\nidentity: {type: aml_token}\n"
			   "queue_settings: {job_tier: 'null'}\n"));
	cr_assert_eq(s.distribution.type, AML_DIST_MPI);
	cr_assert_eq(s.distribution.process_count_per_instance, 0, "absent: Azure's default");
	cr_assert_str_eq(s.identity.type, "AMLToken");
	cr_assert_str_eq(s.job_tier, "Null");
	cr_assert_ok(parse(&s, GOOD_HEAD));
	cr_assert_eq(s.distribution.type, AML_DIST_NONE);
	cr_assert_null(s.identity.type);
	cr_assert_eq(s.resources.instance_count, 0);
	cr_assert_eq(s.timeout_s, 0);
	job_yaml_release(&s);
}

Test(job_yaml, every_error_names_line_and_field)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(*bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct job_yaml s = JOB_YAML_INIT;

		int ret = parse(&s, c->text);

		cr_expect_eq(ret, c->code, "case %zu: returned %d: %s", i, ret, error_message());
		cr_expect(strstr(error_message(), c->needle) != NULL, "case %zu: '%s' lacks '%s'", i,
			  error_message(), c->needle);
		cr_expect_null(s.doc.root, "a failed parse leaves nothing behind");
		job_yaml_release(&s);
	}
}

static char root[] = "/tmp/job-spec-test-XXXXXX";

Test(job_yaml, load_resolves_code_against_the_yaml_folder)
{
	struct job_yaml s = JOB_YAML_INIT;
	char *yml, *want;

	tmpdir_make(root);
	tmpdir_write(root, "training/train.py", "print(1)\n");
	tmpdir_write(root, "jobs/train.yml", GOOD_HEAD "code: ../training/\n");
	tmpdir_write(root, "jobs/nocode.yml", GOOD_HEAD "code: ../nowhere\n");
	fs_set_workspace(root);
	yml = xasprintf("%s/jobs/train.yml", root);
	want = xasprintf("%s/training", root); /* "jobs/../training", normalised */
	cr_assert_ok(job_yaml_load(&s, yml));
	cr_assert_str_eq(s.code_dir, want);
	free(yml);
	yml = xasprintf("%s/jobs/nocode.yml", root);
	cr_assert_fails(job_yaml_load(&s, yml), ERR_INPUT, "nocode.yml:4:7: field 'code':");
	job_yaml_release(&s);
	free(yml);
	free(want);
	tmpdir_remove(root);
}

/* ---- code: stays in the repository (attack: a job YAML uploading the runner's files) ---- */

Test(job_yaml, code_absolute_path_is_refused_at_its_line)
{
	struct job_yaml s = JOB_YAML_INIT;

	cr_assert_fails(parse(&s, GOOD_HEAD "code: /etc\n"), ERR_INPUT,
			"jobs/train.yml:4:7: field 'code': /etc is an absolute path");
	cr_assert_eq(error_where()->line, 4);
	job_yaml_release(&s);
}

/* A workspace <root>/ws with jobs/ and training/, and <root>/outside. */
static void hostile_tree(void)
{
	struct buf p = BUF_INIT;

	tmpdir_make(root);
	tmpdir_write(root, "ws/training/train.py", "print(1)\n");
	tmpdir_write(root, "outside/secret.txt", "runner secret\n");
	buf_addf(&p, "%s/ws", root);
	fs_set_workspace(p.data);
	buf_release(&p);
}

/* Loads ws/jobs/<name>.yml holding GOOD_HEAD + `code_line`; returns the result. */
static int load_job(struct job_yaml *s, const char *name, const char *code_line)
{
	char *rel = xasprintf("ws/jobs/%s.yml", name), *yml = xasprintf("%s/%s", root, rel);
	char *text = xasprintf(GOOD_HEAD "%s\n", code_line);
	int ret;

	tmpdir_write(root, rel, text);
	ret = job_yaml_load(s, yml);
	free(rel);
	free(yml);
	free(text);
	return ret;
}

Test(job_yaml, code_dotdot_chain_out_of_the_workspace_is_refused)
{
	struct job_yaml s = JOB_YAML_INIT;

	hostile_tree();
	cr_assert_ok(load_job(&s, "ok", "code: ../training"));
	cr_assert_fails(load_job(&s, "up", "code: ../.."), ERR_INPUT,
			"up.yml:4:7: field 'code': ../.. resolves outside the workspace");
	cr_assert_eq(error_where()->line, 4);
	cr_assert_fails(load_job(&s, "side", "code: ../../outside"), ERR_INPUT,
			"side.yml:4:7: field 'code': ../../outside resolves outside the workspace");
	/* In and out again is still out. */
	cr_assert_fails(load_job(&s, "back", "code: ../training/../../outside"), ERR_INPUT,
			"resolves outside the workspace");
	cr_assert_null(s.code_dir);
	job_yaml_release(&s);
	tmpdir_remove(root);
}

Test(job_yaml, code_linked_folder_pointing_out_is_refused)
{
	struct job_yaml s = JOB_YAML_INIT;
	char *link = NULL, *target = NULL;

	hostile_tree();
	link = xasprintf("%s/ws/linked", root);
	target = xasprintf("%s/outside", root);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_fails(load_job(&s, "link", "code: ../linked"), ERR_INPUT,
			"link.yml:4:7: field 'code': ../linked resolves outside the workspace");
	free(link);
	free(target);
	/* A link that stays inside is followed. */
	link = xasprintf("%s/ws/inner", root);
	cr_assert_eq(symlink("training", link), 0);
	cr_assert_ok(load_job(&s, "inner", "code: ../inner"));
	job_yaml_release(&s);
	free(link);
	tmpdir_remove(root);
}

Test(job_yaml, job_yaml_that_is_a_folder_or_fifo_is_refused_without_blocking)
{
	struct job_yaml s = JOB_YAML_INIT;
	char *dir, *fifo;

	hostile_tree();
	dir = xasprintf("%s/ws/training", root);
	fifo = xasprintf("%s/ws/jobs.fifo", root);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_fails(job_yaml_load(&s, dir), ERR_INPUT, "training is a folder, not a regular file");
	/* Opening a FIFO would wait for a writer forever. */
	cr_assert_fails(job_yaml_load(&s, fifo), ERR_INPUT, "jobs.fifo is a FIFO, not a regular file");
	free(dir);
	free(fifo);
	tmpdir_remove(root);
}

Test(job_yaml, job_yaml_outside_the_workspace_is_refused)
{
	struct job_yaml s = JOB_YAML_INIT;
	char *yml;

	hostile_tree();
	tmpdir_write(root, "outside/train.yml", GOOD_HEAD);
	yml = xasprintf("%s/ws/../outside/train.yml", root);
	cr_assert_fails(job_yaml_load(&s, yml), ERR_INPUT, "resolves outside the workspace");
	free(yml);
	tmpdir_remove(root);
}
