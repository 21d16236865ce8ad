#!/usr/bin/env bash
# Command jobs that scale out, end to end: the real binary runs Model-CI
# with jobs/train-distributed.yml (PyTorch distribution, two processes)
# against a private sandbox that starts one process per rank with the
# environment Azure ML sets; the job's compute-side fields, its limits and
# a failing rank are checked from the step's outputs and the sandbox state.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"

training_sandbox jobs

# gh_cmd WORKFLOW [NAME=VALUE...]: a GitHub step (lib.sh's gh runs it);
# AGENT=1 in front runs it as an Azure Pipelines step instead, whose log
# artifact stays as a folder under $work/agent-temp.
gh_cmd() {
	local wf=$1 host
	shift
	: >"$work/output"
	: >"$work/summary"
	host=(CI=true GITHUB_ACTIONS=true GITHUB_WORKSPACE="$work/ws" GITHUB_OUTPUT="$work/output"
	      GITHUB_STEP_SUMMARY="$work/summary" GITHUB_SHA=3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c
	      GITHUB_REPOSITORY=org/mlops-example GITHUB_RUN_ID="$run_id" GITHUB_RUN_ATTEMPT=1
	      GITHUB_SERVER_URL=https://github.com ACTIONS_RESULTS_URL="$ACTIONS_RESULTS_URL"
	      ACTIONS_RUNTIME_URL="$ACTIONS_RUNTIME_URL" ACTIONS_RUNTIME_TOKEN="$ACTIONS_RUNTIME_TOKEN")
	[ -z "${AGENT:-}" ] || host=(TF_BUILD=True AGENT_TEMPDIRECTORY="$work/agent-temp"
				     BUILD_SOURCESDIRECTORY="$work/ws" BUILD_REPOSITORY_NAME=org/mlops-example
				     BUILD_BUILDID="$run_id" SYSTEM_JOBATTEMPT=1 SYSTEM_JOBNAME=train)
	cd "$work/ws" && exec env -i PATH=/usr/bin:/bin HOME="$work" "${host[@]}" \
		HTTPS_PROXY="$HTTPS_PROXY" NO_PROXY="$NO_PROXY" SSL_CERT_FILE="$SSL_CERT_FILE" \
		INPUT_CREDS="$AZURE_CREDENTIALS" INPUT_RESOURCE-GROUP="$AZURE_RESOURCE_GROUP" \
		INPUT_WORKSPACE-NAME="$AZURE_ML_WORKSPACE" "$@" "$mlops" "$wf"
}

job_yaml() { cat >"$work/ws/jobs/$1.yml"; }

t_setup_registers_the_data_and_the_environment() {
	gh workspace-cd
	expect "$(rc)" 0 || return 1
	gh environment-cd
	expect "$(rc)" 0
}

t_distributed_job_trains_on_two_ranks() {
	gh model-ci INPUT_JOB=jobs/train-distributed.yml
	local job
	job=$(output job-name)
	expect "$(rc)" 0 && expect "$(output status)" Completed && [ -n "$job" ] &&
		python3 -c "import json,sys; m=json.loads(sys.argv[1]); assert m['world_size'] == 2 and 0.5 < m['accuracy'] <= 1, m" "$(output metrics)" &&
		grep -q '^rank 0 of 2 (node 0, local rank 0), master 127.0.0.1:[0-9]*$' "$work/log" &&
		grep -q '^rank 0: all 2 processes met$' "$work/log" &&
		grep -q '^epoch 10/10 loss' "$work/log" &&
		expect "$(state "jobs['$job']['properties']['distribution']")" "{'distributionType': 'PyTorch', 'processCountPerInstance': 2}" &&
		expect "$(state "jobs['$job']['properties']['resources']")" "{'instanceCount': 1}" &&
		expect "$(state "jobs['$job']['properties']['limits']")" "{'jobLimitsType': 'Command', 'timeout': 'PT30M'}" &&
		grep -q "Job \`$job\`: \*\*Completed\*\*" "$work/summary"
}

# Every process's log lands in the log artifact (a folder the agent keeps).
t_the_log_artifact_holds_every_rank() {
	rm -rf "$work/agent-temp" && mkdir -p "$work/agent-temp"
	AGENT=1 gh model-ci INPUT_JOB=jobs/train-distributed.yml
	local dir
	dir=$(sed -n 's/^##vso\[artifact\.upload [^]]*\]//p' "$work/log" | tail -n 1)
	expect "$(rc)" 0 && [ -n "$dir" ] &&
		grep -rq '^rank 1 of 2 (node 0, local rank 1)' "$dir" &&
		[ -n "$(find "$dir" -name std_log_process_0.txt -size +0)" ] &&
		[ -n "$(find "$dir" -name std_log_process_1.txt -size +0)" ]
}

t_a_failing_rank_fails_the_job() {
	job_yaml rank-fails <<'YML'
type: command
code: ../training
command: if [ "$RANK" = 1 ]; then echo "rank 1 gives up" >&2; exit 3; fi; sleep 60
environment: azureml:train-env:1
distribution: {type: pytorch, process_count_per_instance: 2}
YML
	gh model-ci INPUT_JOB=jobs/rank-fails.yml
	expect "$(rc)" 1 && expect "$(output status)" Failed &&
		grep -q '^::error title=model-ci%3A failed::job .* ended Failed.*std_log_process_1.txt' "$work/log"
}

t_limits_timeout_cancels_the_job_in_azure() {
	job_yaml limited <<'YML'
type: command
code: ../training
command: echo started; sleep 60
environment: azureml:train-env:1
limits:
  timeout: 2
YML
	gh model-ci INPUT_JOB=jobs/limited.yml
	local job
	job=$(output job-name)
	expect "$(rc)" 1 && expect "$(output status)" Canceled &&
		expect "$(state "jobs['$job']['properties']['limits']['timeout']")" PT2S &&
		grep -q '^::error title=model-ci%3A cancelled::.*limits.timeout of 2 seconds' "$work/log"
}

t_compute_side_errors_fail_before_anything_is_sent() {
	job_yaml bad-dist <<'YML'
type: command
code: ../training
command: python train.py
environment: azureml:train-env:1
resources:
  instance_count: 2
distribution:
  type: ray
YML
	local before
	before=$(state "len(jobs)")
	gh model-ci INPUT_JOB=jobs/bad-dist.yml
	expect "$(rc)" 2 &&
		grep -q "^::error file=jobs/bad-dist.yml,line=8,col=9,title=model-ci%3A input error::.*field 'distribution.type': use pytorch, mpi or tensorflow" "$work/log" &&
		expect "$(state "len(jobs)")" "$before"
}

run_runs 500
