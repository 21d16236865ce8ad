#!/usr/bin/env bash
# Model-CT end to end: the real binary, run the way the GitHub runner runs
# a container action, against a private local sandbox that really runs the
# submitted command jobs; the sandbox's state is read back after each run.
# Stage train makes sure of the job's environment and trains as Model-CI
# does; stage register registers the job's model with its lineage. The
# training job of the first test is kept in $work/trained for the re-run.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"
. "$repo/tests/workflows/model-ci-lib.sh"

training_sandbox model-ct

# register MODEL JOB [NAME=VALUE...]: stage register of JOB's model as MODEL.
register() { gh model-ct INPUT_STAGE=register INPUT_MODEL-NAME="$1" INPUT_JOB-NAME="$2" "${@:3}"; }
trained() { cat "$work/trained"; }

t_setup_registers_the_data_and_the_environment() {
	gh workspace-cd
	expect "$(rc)" 0 || return 1
	gh environment-cd
	expect "$(rc)" 0 && expect "$(state "sorted(w['environments']['train-env']['versions'])")" "['1']"
}

t_bad_inputs_exit_2_before_anything() {
	gh model-ct INPUT_STAGE=all
	expect "$(rc)" 2 && grep -q "Input stage: 'all' is not train or register" "$work/log" || return 1
	gh model-ct INPUT_STAGE=register INPUT_JOB-NAME=some-job
	expect "$(rc)" 2 && grep -q 'Input required and not supplied: model-name' "$work/log" || return 1
	register churn-classifier some-job INPUT_MODEL-TYPE=triton_model
	expect "$(rc)" 2 && grep -q "Input model-type: 'triton_model'" "$work/log" &&
		expect "$(state "'churn-classifier' in w.get('models', {})")" False
}

t_train_then_register_with_lineage() {
	gh model-ct
	local job
	job=$(output job-name)
	expect "$(rc)" 0 && expect "$(output status)" Completed && [ -n "$job" ] &&
		grep -q 'environment train-env:1 is defined by' "$work/log" &&
		grep -q 'registered with the same content' "$work/log" &&
		python3 -c "import json,sys; m=json.loads(sys.argv[1]); assert 'accuracy' in m, m" "$(output metrics)" ||
		return 1
	echo "$job" >"$work/trained"
	register churn-classifier "$job"
	local v="w['models']['churn-classifier']['versions']['1']"
	expect "$(rc)" 0 && expect "$(output model-name)" churn-classifier &&
		expect "$(output model-version)" 1 && expect "$(output job-name)" "$job" &&
		case "$(output model-id)" in */models/churn-classifier/versions/1) ;; *) echo "model-id: $(output model-id)"; false ;; esac &&
		expect "$(state "$v['jobName']")" "$job" &&
		expect "$(state "$v['modelUri']")" "azureml://jobs/$job/outputs/model" &&
		expect "$(state "$v['modelType']")" mlflow_model &&
		expect "$(state "$v['tags']['commit']")" 3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c &&
		expect "$(state "$v['tags']['repository']")" org/mlops-example &&
		expect "$(state "$v['tags']['workflowRun']")" "https://github.com/org/mlops-example/actions/runs/$run_id" &&
		state "$v['tags']['metric.accuracy']" | grep -q '^0\.[0-9]' &&
		grep -q '^```mermaid$' "$work/summary" && grep -q 'flowchart LR' "$work/summary" &&
		grep -q "job\[\"$job\"\]" "$work/summary" && grep -q 'churn-classifier:1' "$work/summary" &&
		grep -q 'in0\["training_data: churn:1"\] --> job' "$work/summary" && grep -q '| accuracy |' "$work/summary"
}

t_a_rerun_of_register_registers_nothing() {
	local job
	job=$(trained)
	[ -n "$job" ] || { echo "no trained job"; return 1; }
	register churn-classifier "$job"
	expect "$(rc)" 0 && expect "$(output model-version)" 1 &&
		grep -q "was registered from job $job already; nothing to do" "$work/log" &&
		grep -q 'nothing done' "$work/summary" &&
		expect "$(state "sorted(w['models']['churn-classifier']['versions'])")" "['1']"
}

t_register_checks_the_gate_again_and_tags_only_its_metrics() {
	local job v="w['models']['churn-gated']['versions']['1']['tags']"
	job=$(trained)
	[ -n "$job" ] || { echo "no trained job"; return 1; }
	register churn-gated "$job" INPUT_METRIC-THRESHOLDS='auc>=0.5, accuracy>0.1'
	expect "$(rc)" 0 && expect "$(output model-version)" 1 &&
		state "$v['metric.auc']" | grep -q '^0\.[0-9]' &&
		state "$v['metric.accuracy']" | grep -q '^0\.[0-9]' &&
		expect "$(state "'metric.loss' in $v")" False || return 1
	register churn-ungated "$job" INPUT_METRIC-THRESHOLDS='auc>=0.99'
	expect "$(rc)" 1 &&
		grep -q "^::error title=model-ct%3A failed::job $job did not pass the metric gate (1 of 1 thresholds not met: auc = 0\.[0-9]* is not >= 0\.99): no model registered" "$work/log" &&
		expect "$(state "'churn-ungated' in w.get('models', {})")" False
}

t_a_second_job_registers_the_next_version() {
	gh model-ct INPUT_WAIT=true
	local job
	job=$(output job-name)
	expect "$(rc)" 0 || return 1
	register churn-classifier "$job" INPUT_MODEL-TYPE=custom_model
	expect "$(rc)" 0 && expect "$(output model-version)" 2 &&
		expect "$(state "w['models']['churn-classifier']['versions']['2']['modelType']")" custom_model
}

# trained_by NAME COMMAND RC: jobs/NAME.yml runs COMMAND with a model
# output; stage train must exit RC. Its job name in $job.
trained_by() {
	job_yaml "$1" <<YML
type: command
code: ../training
command: $2
environment: azureml:train-env:1
outputs:
  model:
    type: uri_folder
YML
	gh model-ct INPUT_JOB="jobs/$1.yml"
	job=$(output job-name)
	expect "$(rc)" "$3" && [ -n "$job" ]
}

t_a_failed_job_registers_no_version() {
	local job
	trained_by fail 'echo boom >&2 && exit 3' 1 || return 1
	register churn-failed "$job"
	expect "$(rc)" 1 && grep -q "job $job did not complete (Failed" "$work/log" &&
		grep -q 'no model registered' "$work/log" &&
		expect "$(state "'churn-failed' in w.get('models', {})")" False
}

t_a_job_whose_output_is_missing_registers_no_version() {
	local job
	trained_by empty 'echo trained nothing' 0 || return 1
	register churn-empty "$job"
	expect "$(rc)" 1 && grep -q "output 'model' of job $job is missing" "$work/log" &&
		expect "$(state "'churn-empty' in w.get('models', {})")" False || return 1
	register churn-empty "$(trained)" INPUT_MODEL-OUTPUT=weights
	expect "$(rc)" 1 && grep -q "has no output 'weights'" "$work/log" &&
		expect "$(state "'churn-empty' in w.get('models', {})")" False
}

t_an_unknown_job_registers_no_version() {
	register churn-unknown no-such-job
	expect "$(rc)" 1 && grep -q 'job no-such-job does not exist' "$work/log" &&
		expect "$(state "'churn-unknown' in w.get('models', {})")" False
}

# ct-env lives only in the repository: stage train registers it first.
ct_env() {
	mkdir -p "$work/ws/environments/ct"
	cat >"$work/ws/environments/ct/environment.yml" <<'YML'
name: ct-env
version: "1"
image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
conda_file: conda.yml
YML
	printf 'name: ct\ndependencies:\n  - python=%s\n' "$1" >"$work/ws/environments/ct/conda.yml"
	job_yaml ct <<'YML'
type: command
code: ../training
command: echo trained in ct-env
environment: azureml:ct-env:1
YML
}

t_an_environment_folder_is_registered_when_missing() {
	ct_env 3.11
	gh model-ct INPUT_JOB=jobs/ct.yml
	expect "$(rc)" 0 && expect "$(output status)" Completed &&
		grep -q 'environment ct-env:1: not registered yet' "$work/log" &&
		grep -q 'environment ct-env: registered version 1' "$work/log" &&
		expect "$(state "sorted(w['environments']['ct-env']['versions'])")" "['1']" &&
		[ -n "$(state "w['environments']['ct-env']['versions']['1']['tags']['contentHash']")" ] &&
		expect "$(state "sorted(w['environments']['train-env']['versions'])")" "['1']"
}

t_changed_content_under_the_same_version_is_refused() {
	ct_env 3.12
	local before
	before=$(state "len(jobs)")
	gh model-ct INPUT_JOB=jobs/ct.yml
	expect "$(rc)" 1 && grep -q 'environment ct-env version 1 is registered with other content' "$work/log" &&
		grep -q 'nothing was trained' "$work/log" &&
		expect "$(state "len(jobs)")" "$before" &&
		expect "$(state "sorted(w['environments']['ct-env']['versions'])")" "['1']" &&
		expect "$(output job-name)" ""
}

t_a_job_version_other_than_the_folder_s_is_a_bad_input() {
	ct_env 3.11
	sed -i 's/ct-env:1/ct-env:2/' "$work/ws/jobs/ct.yml"
	gh model-ct INPUT_JOB=jobs/ct.yml
	expect "$(rc)" 2 && grep -q "the job's environment is ct-env:2, but .* declares version 1" "$work/log"
}

run_runs 100
