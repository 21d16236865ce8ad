# For the Model-CI workflow tests, after tests/workflows/lib.sh and
# sandbox_up: the step as the runner runs it, job YAMLs beside the shipped
# one, a step in the background, the test loop (run_tests sets $run_id for
# each test). rerun-test.sh uses it; model-ci-test.sh still has copies of
# the same helpers, meant to go once it sources this file too.

# gh_cmd WORKFLOW [NAME=VALUE...]: one step as the runner runs it (gh runs
# it with stdout+stderr in $work/log); outputs in $work/output, summary in
# $work/summary.
gh_cmd() {
	local wf=$1
	shift
	: >"$work/output"
	: >"$work/summary"
	cd "$work/ws" && exec env -i PATH=/usr/bin:/bin HOME="$work" CI=true GITHUB_ACTIONS=true \
		GITHUB_WORKSPACE="$work/ws" GITHUB_OUTPUT="$work/output" GITHUB_STEP_SUMMARY="$work/summary" \
		GITHUB_SHA=3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c GITHUB_REPOSITORY=org/mlops-example \
		GITHUB_RUN_ID="$run_id" GITHUB_RUN_ATTEMPT=1 GITHUB_SERVER_URL=https://github.com \
		ACTIONS_RESULTS_URL="$ACTIONS_RESULTS_URL" ACTIONS_RUNTIME_URL="$ACTIONS_RUNTIME_URL" \
		ACTIONS_RUNTIME_TOKEN="$ACTIONS_RUNTIME_TOKEN" \
		HTTPS_PROXY="$HTTPS_PROXY" NO_PROXY="$NO_PROXY" SSL_CERT_FILE="$SSL_CERT_FILE" \
		INPUT_CREDS="$AZURE_CREDENTIALS" INPUT_RESOURCE-GROUP="$AZURE_RESOURCE_GROUP" \
		INPUT_WORKSPACE-NAME="$AZURE_ML_WORKSPACE" "$@" "$mlops" "$wf"
}

# The repository the steps run in: the examples, copied to $work/ws.
model_ci_workspace() {
	rm -rf "$work/ws" && mkdir -p "$work/ws"
	cp -r "$repo/.cloud" "$repo/datasets" "$repo/environments" "$repo/jobs" "$repo/training" "$work/ws/"
}

# job_yaml NAME: a job YAML beside the shipped one (jobs/NAME.yml, from
# stdin), on the same code folder.
job_yaml() { cat >"$work/ws/jobs/$1.yml"; }
# bg WORKFLOW [NAME=VALUE...]: the step in the background; its pid in $bg_pid.
bg() {
	(gh_cmd "$@") >"$work/log" 2>&1 &
	bg_pid=$!
}
# Waits until the background step's job runs; its name in $job.
wait_running() {
	local i
	job=""
	for i in $(seq 1 150); do
		job=$(output job-name)
		[ -n "$job" ] && grep -q 'Running' "$work/log" && return 0
		sleep 0.2
	done
	echo "the job did not start running"; tail -n 20 "$work/log"; return 1
}
# slow_job [COMMAND [NAME]]: jobs/NAME.yml (default slow) running COMMAND
# (default: five minutes of sleep).
slow_job() {
	job_yaml "${2:-slow}" <<YML
type: command
code: ../training
command: ${1:-sleep 300}
environment: azureml:train-env:1
YML
}

# run_tests FIRST_RUN_ID: every t_ function of the script (those matching
# $TEST_FILTER, and the setup ones always), each as a workflow run of its
# own (run ids from FIRST_RUN_ID + 1), so that no test finds the jobs of
# another as its own attempt's; then the result line.
run_tests() {
	local t out
	run_id=$1
	for t in $(grep -o '^t_[a-z0-9_]*' "$0" | grep -E "^t_setup|${TEST_FILTER:-.}"); do
		run_id=$((run_id + 1))
		if out=$($t 2>&1); then pass "${t#t_}"; else fail "${t#t_}" "$(printf '%s' "$out" | tail -n 8)"; fi
	done
	summary_line
}
