#!/usr/bin/env bash
# Pipeline jobs end to end: Model-CI runs the shipped jobs/train-pipeline.yml
# (prep -> train -> evaluate) and jobs/train.yml beside it, with the real
# binary run as the runner runs a container action, against a private local
# sandbox that runs a pipeline as a DAG of child command jobs.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"
. "$repo/tests/workflows/model-ci-lib.sh"

training_sandbox pipeline

# Model-CI on job YAML $1 in the background (its pid in $bg_pid) until its
# first step printed "started"; the pipeline's name in $job.
started_in_background() {
	bg model-ci INPUT_JOB="$1"
	wait_running '^started$'
}

# The children of pipeline job $1, as the sandbox ran them: "step:status ...".
children() {
	state "' '.join(j['properties']['displayName'] + ':' + j['status'] for j in sorted(jobs.values(), key=lambda j: j['properties'].get('seq', 0)) if j['properties'].get('properties', {}).get('azureml.parentRunId') == '$1')"
}

t_setup_registers_the_data_and_the_environment() {
	gh workspace-cd
	expect "$(rc)" 0 || return 1
	gh environment-cd
	expect "$(rc)" 0
}

t_the_pipeline_runs_step_by_step_with_each_log_in_its_group() {
	gh model-ci INPUT_JOB=jobs/train-pipeline.yml
	local job
	job=$(output job-name)
	expect "$(rc)" 0 && expect "$(output status)" Completed && [ -n "$job" ] &&
		expect "$(state "jobs['$job']['properties']['jobType']")" Pipeline &&
		expect "$(children "$job")" "prep:Completed train:Completed evaluate:Completed" &&
		grep -q '^::group::Step prep: job .* log$' "$work/log" &&
		grep -q '^::group::Step train: job .* log$' "$work/log" &&
		grep -q '^::group::Step evaluate: job .* log$' "$work/log" &&
		grep -q '^train.csv: kept [0-9]* of [0-9]* rows$' "$work/log" &&
		grep -q '^epoch 30/30 loss' "$work/log" &&
		grep -q '^evaluated on [0-9]* rows' "$work/log" &&
		[ "$(sed -n 's/^::group::Step \([a-z]*\): .*/\1/p' "$work/log" | tr '\n' ' ')" = "prep train evaluate " ] ||
		{ grep -n '^::group::' "$work/log"; return 1; }
}

t_metrics_of_every_step_are_named_after_it() {
	gh model-ci INPUT_JOB=jobs/train-pipeline.yml "INPUT_METRIC-THRESHOLDS=train/accuracy>=0.5, evaluate/auc>0.5"
	expect "$(rc)" 0 && expect "$(output gate)" passed &&
		python3 -c "import json,sys; m=json.loads(sys.argv[1]); assert 0.5 < m['train/accuracy'] <= 1 and 'evaluate/accuracy' in m and m['prep/train_rows'] > 0 and 'train/loss' in m, m" "$(output metrics)" &&
		grep -q '| train/accuracy |' "$work/summary" && grep -q '| evaluate/auc |' "$work/summary" &&
		grep -q '| train/learning_rate | 0.1 |' "$work/summary"
}

t_the_model_output_is_where_the_train_step_wrote_it() {
	gh model-ci INPUT_JOB=jobs/train-pipeline.yml
	local job train
	job=$(output job-name)
	train=$(state "[n for n, j in jobs.items() if j['properties'].get('properties', {}).get('azureml.parentRunId') == '$job' and j['properties']['displayName'] == 'train'][0]")
	expect "$(rc)" 0 && [ -n "$train" ] &&
		expect "$(output model-uri)" "azureml://jobs/$train/outputs/model" &&
		grep -q "| model | azureml://datastores/workspaceblobstore/paths/azureml/$train/model/ |" "$work/summary"
}

t_the_command_job_beside_it_still_runs() {
	gh model-ci INPUT_JOB=jobs/train.yml
	expect "$(rc)" 0 && expect "$(output status)" Completed &&
		expect "$(state "jobs['$(output job-name)']['properties']['jobType']")" Command
}

t_a_failing_step_fails_the_pipeline_and_stops_it() {
	job_yaml failpipe <<'YML'
type: pipeline
settings:
  default_compute: azureml:cpu-cluster
jobs:
  first:
    code: ../training
    command: echo first ran && echo x >${{outputs.out}}/f
    environment: azureml:train-env:1
    outputs:
      out:
  broken:
    code: ../training
    command: echo boom && exit 3 && echo ${{inputs.x}}
    environment: azureml:train-env:1
    inputs:
      x: ${{parent.jobs.first.outputs.out}}
    outputs:
      out:
  never:
    command: echo never
    environment: azureml:train-env:1
    inputs:
      y: ${{parent.jobs.broken.outputs.out}}
YML
	gh model-ci INPUT_JOB=jobs/failpipe.yml
	local job
	job=$(output job-name)
	expect "$(rc)" 1 && expect "$(output status)" Failed &&
		expect "$(children "$job")" "first:Completed broken:Failed" &&
		grep -q '^first ran$' "$work/log" && grep -q '^boom$' "$work/log" &&
		grep -q "^::error title=model-ci%3A failed::job $job ended Failed.*broken" "$work/log" ||
		{ grep '::error' "$work/log"; return 1; }
}

t_a_bad_binding_exits_2_at_its_line_and_submits_nothing() {
	local before
	before=$(state "len(jobs)")
	job_yaml badpipe <<'YML'
type: pipeline
jobs:
  train:
    command: echo ${{inputs.data}}
    environment: azureml:train-env:1
    inputs:
      data: ${{parent.jobs.prep.outputs.data}}
YML
	gh model-ci INPUT_JOB=jobs/badpipe.yml
	expect "$(rc)" 2 &&
		grep -q "^::error file=jobs/badpipe.yml,line=7,.*field 'jobs.train.inputs.data'.*names no output" "$work/log" &&
		expect "$(state "len(jobs)")" "$before"
}

t_sigterm_cancels_the_pipeline_and_its_running_step() {
	job_yaml slowpipe <<'YML'
type: pipeline
jobs:
  slow:
    command: echo started && sleep 300
    environment: azureml:train-env:1
  after:
    command: echo never
    environment: azureml:train-env:1
YML
	started_in_background jobs/slowpipe.yml || return 1
	kill -TERM "$bg_pid"
	wait "$bg_pid"
	local code=$?
	[ -n "$job" ] && [ "$code" -ne 0 ] && grep -q 'SIGTERM' "$work/log" &&
		expect "$(state "jobs['$job']['status']")" Canceled &&
		expect "$(children "$job")" "slow:Canceled"
}

t_a_rerun_of_the_same_attempt_follows_its_pipeline() {
	job_yaml oncepipe <<'YML'
type: pipeline
jobs:
  slow:
    command: echo started && sleep 4 && echo trained once
    environment: azureml:train-env:1
YML
	started_in_background jobs/oncepipe.yml || return 1
	kill -KILL "$bg_pid"
	wait "$bg_pid" 2>/dev/null
	gh model-ci INPUT_JOB=jobs/oncepipe.yml
	expect "$(rc)" 0 && expect "$(output job-name)" "$job" &&
		grep -q "already submitted by this run attempt" "$work/log" &&
		grep -q '^trained once$' "$work/log" &&
		expect "$(state "len([j for j in jobs.values() if j['properties']['tags'].get('run_id') == '$run_id'])")" 1
}

# Azure Pipelines keeps the artifact folder in the agent's temp folder:
# there every step's logs can be looked at, each under its step's name.
t_every_steps_logs_are_kept_under_its_name() {
	rm -rf "$work/agent-temp" && mkdir -p "$work/agent-temp"
	(cd "$work/ws" && exec env -i PATH=/usr/bin:/bin HOME="$work" TF_BUILD=True \
		AGENT_TEMPDIRECTORY="$work/agent-temp" BUILD_SOURCESDIRECTORY="$work/ws" \
		BUILD_REPOSITORY_NAME=org/mlops-example BUILD_BUILDID="$run_id" SYSTEM_JOBATTEMPT=1 \
		BUILD_SOURCEVERSION=3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c SYSTEM_JOBNAME=train \
		HTTPS_PROXY="$HTTPS_PROXY" NO_PROXY="$NO_PROXY" SSL_CERT_FILE="$SSL_CERT_FILE" \
		INPUT_CREDS="$AZURE_CREDENTIALS" INPUT_RESOURCE_GROUP="$AZURE_RESOURCE_GROUP" \
		INPUT_WORKSPACE_NAME="$AZURE_ML_WORKSPACE" INPUT_JOB=jobs/train-pipeline.yml \
		"$mlops" model-ci) >"$work/log" 2>&1
	local code=$? dir
	dir=$(sed -n 's/^##vso\[artifact\.upload [^]]*\]//p' "$work/log" | tail -n 1)
	expect "$code" 0 && [ -n "$dir" ] &&
		grep -q 'kept' "$dir/prep/user_logs/std_log.txt" &&
		grep -q '^epoch 30/30' "$dir/train/user_logs/std_log.txt" &&
		grep -q '^evaluated on' "$dir/evaluate/user_logs/std_log.txt" ||
		{ find "$dir" | head -20; tail -n 20 "$work/log"; return 1; }
}

run_runs 500
