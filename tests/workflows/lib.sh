# Shared by the workflow tests (tests/workflows/*.sh), after tests/lib.sh:
# running one step as the runner runs it and reading back what it left.
# The script defines gh_cmd WORKFLOW [NAME=VALUE...] (its runner-shaped
# environment) and $work; the sandbox's env is loaded.

# sandbox_up NAME: a private sandbox for this script on free ports and a
# scratch folder $work, both removed at exit; the sandbox's environment is
# loaded. A sandbox that does not start is one failure, and the end.
sandbox_up() {
	export SANDBOX_DIR
	SANDBOX_DIR=$(mktemp -d "/tmp/mlops-$1.XXXXXX")
	"$repo/sandbox/sandbox.sh" start >/dev/null || { echo "sandbox did not start"; echo "0 passed, 1 failed"; exit 1; }
	work=$(mktemp -d "/tmp/mlops-$1-ws.XXXXXX")
	trap '"$repo/sandbox/sandbox.sh" stop >/dev/null 2>&1; rm -rf "$SANDBOX_DIR" "$work"' EXIT
	# shellcheck disable=SC1091
	. "$SANDBOX_DIR/env"
}

# gh WORKFLOW [NAME=VALUE...]: one step; stdout+stderr in $work/log, the
# exit code in $work/rc.
gh() {
	(gh_cmd "$@") >"$work/log" 2>&1
	echo $? >"$work/rc"
}
rc() { cat "$work/rc"; }
# output NAME: a step output, read from the heredoc blocks of GITHUB_OUTPUT.
output() {
	awk -v n="$1" 'index($0, n "<<") == 1 { d = substr($0, length(n) + 3); on = 1; v = ""; first = 1; next }
		on && $0 == d { print v; on = 0; next }
		on { v = first ? $0 : v "\n" $0; first = 0 }' "$work/output"
}
# state EXPR: a Python expression over the sandbox state `s` (the ML
# workspace is `ws`, its assets `w`, its jobs `jobs`).
state() {
	curl -s "$SANDBOX_CONTROL_URL/state" | python3 -c "
import json, sys
s = json.load(sys.stdin)
ws = s['azureml']['$AZURE_RESOURCE_GROUP/$AZURE_ML_WORKSPACE']
w = ws['assets']
jobs = ws.get('jobs', {})
print($1)"
}
expect() { [ "$1" = "$2" ] || { tail -n 20 "$work/log"; echo "expected '$2', got '$1'"; return 1; }; }
# fault JSON: adds a rule to the sandbox's fault script; prints its id.
fault() {
	curl -s -X POST -d "$1" "$SANDBOX_CONTROL_URL/faults" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["faults"][0]["id"])'
}
# applied ID: how many times rule ID was applied (while it is in the script).
applied() {
	curl -s "$SANDBOX_CONTROL_URL/faults" |
		python3 -c 'import json,sys; print(sum(r["applied"] for r in json.load(sys.stdin)["faults"] if r["id"] == int(sys.argv[1])))' "$1"
}

# gh_runner WORKFLOW [NAME=VALUE...]: one step as the runner runs it, in
# $work/ws with the sandbox's sign-in (the training scripts' gh_cmd);
# outputs in $work/output, summary in $work/summary.
gh_runner() {
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

# training_sandbox NAME: sandbox_up NAME with quick jobs and deployments,
# and $work/ws a copy of the repository's .cloud, datasets, environments,
# jobs and training, as the runner checks them out.
training_sandbox() {
	sandbox_up "$1"
	curl -s -X POST -d '{"lro_step_seconds": 0.2, "job_step_seconds": 0.2}' "$SANDBOX_CONTROL_URL/config" >/dev/null
	rm -rf "$work/ws" && mkdir -p "$work/ws"
	cp -r "$repo/.cloud" "$repo/datasets" "$repo/environments" "$repo/jobs" "$repo/training" "$work/ws/"
}

# run_runs FIRST_RUN_ID: each t_ function of the script (t_setup* always,
# the others as TEST_FILTER picks them) as a workflow run of its own, so
# that no test finds the jobs of another as its own attempt's; then the
# summary line.
run_runs() {
	local t out
	run_id=$1
	for t in $(grep -o '^t_[a-z0-9_]*' "$0" | grep -E "^t_setup|${TEST_FILTER:-.}"); do
		run_id=$((run_id + 1))
		if out=$($t 2>&1); then pass "${t#t_}"; else fail "${t#t_}" "$(printf '%s' "$out" | tail -n 8)"; fi
	done
	summary_line
}
