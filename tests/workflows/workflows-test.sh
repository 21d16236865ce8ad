#!/usr/bin/env bash
# Workspace-CD, Environment-CI and Environment-CD end to end: the real
# binary, run the way the GitHub runner runs a container action (an
# environment holding only the runner's variables and INPUT_*), against a
# private local sandbox whose state is read back after each run.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"

export SANDBOX_DIR
SANDBOX_DIR=$(mktemp -d /tmp/mlops-workflows.XXXXXX)
"$repo/sandbox/sandbox.sh" start >/dev/null || { echo "sandbox did not start"; echo "0 passed, 1 failed"; exit 1; }
work=$(mktemp -d /tmp/mlops-workflows-ws.XXXXXX)
trap '"$repo/sandbox/sandbox.sh" stop >/dev/null 2>&1; rm -rf "$SANDBOX_DIR" "$work"' EXIT
# shellcheck disable=SC1091
. "$SANDBOX_DIR/env"
sbx_settings='{"lro_step_seconds": 0.2}'
curl -s -X POST -d "$sbx_settings" "$SANDBOX_CONTROL_URL/config" >/dev/null

# A fresh checkout of the repository's examples in the workspace.
fresh_workspace() {
	rm -rf "$work/ws" && mkdir -p "$work/ws"
	cp -r "$repo/.cloud" "$repo/datasets" "$repo/environments" "$work/ws/"
	curl -s -X POST "$SANDBOX_CONTROL_URL/reset" >/dev/null
	curl -s -X POST -d "$sbx_settings" "$SANDBOX_CONTROL_URL/config" >/dev/null
}

# gh WORKFLOW [NAME=VALUE...]: one step as the runner runs it; stdout+stderr
# in $work/log, outputs in $work/output, summary in $work/summary.
gh() {
	local wf=$1
	shift
	: >"$work/output"
	: >"$work/summary"
	(cd "$work/ws" && env -i PATH=/usr/bin:/bin HOME="$work" CI=true GITHUB_ACTIONS=true \
		GITHUB_WORKSPACE="$work/ws" GITHUB_OUTPUT="$work/output" GITHUB_STEP_SUMMARY="$work/summary" \
		GITHUB_SHA=3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c GITHUB_REPOSITORY=org/mlops-example \
		GITHUB_RUN_ID=42 GITHUB_SERVER_URL=https://github.com \
		HTTPS_PROXY="$HTTPS_PROXY" NO_PROXY="$NO_PROXY" SSL_CERT_FILE="$SSL_CERT_FILE" \
		INPUT_CREDS="$AZURE_CREDENTIALS" INPUT_RESOURCE-GROUP="$AZURE_RESOURCE_GROUP" \
		INPUT_WORKSPACE-NAME="$AZURE_ML_WORKSPACE" "$@" "$mlops" "$wf") >"$work/log" 2>&1
	echo $? >"$work/rc"
}

rc() { cat "$work/rc"; }
# output NAME: a step output, read back with the runner's heredoc rule.
output() {
	awk -v n="$1" 'index($0, n "<<") == 1 { d = substr($0, length(n) + 3); on = 1; v = ""; first = 1; next }
		on && $0 == d { print v; on = 0; next }
		on { v = first ? $0 : v "\n" $0; first = 0 }' "$work/output"
}
# state EXPR: a Python expression over the sandbox state `s` (the ML workspace is `w`).
state() {
	curl -s "$SANDBOX_CONTROL_URL/state" | python3 -c "
import json, sys
s = json.load(sys.stdin)
w = s['azureml']['$AZURE_RESOURCE_GROUP/$AZURE_ML_WORKSPACE']['assets']
print($1)"
}
expect() { [ "$1" = "$2" ] || { echo "expected '$2', got '$1'"; tail -n 20 "$work/log"; return 1; }; }

# ---- Workspace-CD ----

t_workspace_first_deploy_creates_everything() {
	fresh_workspace
	gh workspace-cd
	expect "$(rc)" 0 &&
		expect "$(output workspaceName)" "$AZURE_ML_WORKSPACE" &&
		expect "$(output deployment-names)" '["workspace-3c5e0a7"]' &&
		grep -q '"status":"created"' <<<"$(output datasets)" &&
		expect "$(state "sorted(w['data']['churn']['versions'])")" "['1']" &&
		grep -q 'Deployment `workspace-3c5e0a7`: \*\*Succeeded\*\*' "$work/summary" &&
		grep -q '| churn | 1 | created |' "$work/summary"
}

t_workspace_rerun_changes_nothing() {
	gh workspace-cd
	expect "$(rc)" 0 &&
		grep -q 'What-if for \*\*workspace\*\*: 7 NoChange' "$work/summary" &&
		grep -q '"status":"existing"' <<<"$(output datasets)" &&
		expect "$(state "sorted(w['data']['churn']['versions'])")" "['1']"
}

t_workspace_what_if_only_deploys_nothing() {
	fresh_workspace
	gh workspace-cd INPUT_WHAT-IF=true
	expect "$(rc)" 0 &&
		expect "$(output deployment-names)" '[]' &&
		grep -q '"status":"would be created"' <<<"$(output datasets)" &&
		grep -q 'What-if only' "$work/summary" &&
		expect "$(state "len(s['arm'].get('deployments', {})) + len(w.get('data', {}))")" 0
}

t_workspace_failing_template_names_the_resource() {
	fresh_workspace
	python3 - "$work/ws/.cloud/workspace.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["resources"][1]["tags"] = {"sandbox-fail": "VaultAlreadyExists"}
json.dump(t, open(sys.argv[1], "w"))
PY
	gh workspace-cd
	expect "$(rc)" 1 &&
		grep -q "^::error title=workspace-cd%3A http error::.*Microsoft.KeyVault/vaults 'kv-.*VaultAlreadyExists" "$work/log" &&
		grep -q 'Failed' "$work/summary" &&
		expect "$(state "len(w.get('data', {}))")" 0
}

t_workspace_changed_dataset_is_noticed_not_reversioned() {
	fresh_workspace
	gh workspace-cd
	echo "C09999,1,20.0,0,two-year,0" >>"$work/ws/datasets/churn/data/test.csv"
	gh workspace-cd
	expect "$(rc)" 0 &&
		grep -q '^::notice file=datasets/churn/data.yml,title=dataset differs::' "$work/log" &&
		grep -q '| churn | 1 | existing, differs |' "$work/summary" &&
		expect "$(state "sorted(w['data']['churn']['versions'])")" "['1']"
}

t_workspace_undeclared_parameter_is_an_input_error() {
	fresh_workspace
	gh workspace-cd "INPUT_PARAMETERS=computeMaxNodes=3
noSuchParameter=1"
	expect "$(rc)" 2 &&
		grep -q "no template declares 'noSuchParameter'" "$work/log" &&
		expect "$(state "len(s['arm'].get('deployments', {}))")" 0
}

# A parameters file naming workspaceName twice deployed a second workspace
# with exit 0 (issue 12): refused before any Azure call, on its line.
t_workspace_parameter_given_twice_is_refused_on_its_line() {
	fresh_workspace
	sed -i 's/^    "computeName": .*/&\n    "workspaceName": { "value": "mlops-second-ws" },/' \
		"$work/ws/.cloud/workspace.parameters.json"
	gh workspace-cd
	expect "$(rc)" 2 &&
		grep -q '^::error file=.cloud/workspace.parameters.json,line=7,col=5,.*parameters.workspaceName is given twice (first at line 5)' "$work/log" &&
		expect "$(state "len(s['arm'].get('deployments', {}))")" 0
}

# A number beyond a double, or bytes that are not UTF-8, went to Azure in
# the template (issue 16): refused locally, on their line.
t_workspace_template_with_an_infinite_number_or_bad_utf8_is_refused_locally() {
	fresh_workspace
	sed -i '0,/"metadata": {/s//"metadata": {"n": 1e999999,/' \
		"$work/ws/.cloud/workspace.json"
	gh workspace-cd
	expect "$(rc)" 2 &&
		grep -q '^::error file=.cloud/workspace.json,line=[0-9]*,col=[0-9]*,.*metadata.n: a number beyond the range of a double' "$work/log" &&
		expect "$(state "len(s['arm'].get('deployments', {}))")" 0 || return 1
	fresh_workspace
	sed -i '0,/"metadata": {/s//"metadata": {"note": "caf\xe9",/' \
		"$work/ws/.cloud/workspace.json"
	gh workspace-cd
	expect "$(rc)" 2 &&
		grep -q '^::error file=.cloud/workspace.json,line=[0-9]*,col=[0-9]*,.*byte 0xE9 is not valid UTF-8' "$work/log" &&
		expect "$(state "len(s['arm'].get('deployments', {}))")" 0
}

# ---- Environment-CI and Environment-CD ----

t_environments_new_then_registered_then_unchanged() {
	fresh_workspace
	gh environment-ci
	expect "$(rc)" 0 && expect "$(output status)" ok &&
		grep -q '"name":"train-env","version":"1","folder":"environments/train","kind":"conda","conda_file":"environments/train/conda.yml","status":"new"' <<<"$(output changed)" || return 1
	expect "$(state "len(w.get('environments', {}))")" 0 || return 1
	gh environment-cd
	expect "$(rc)" 0 &&
		expect "$(output registered)" '[{"name":"inference-env","version":"1"},{"name":"train-env","version":"1"}]' &&
		expect "$(state "w['environments']['train-env']['versions']['1']['tags']['commit']")" 3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c || return 1
	gh environment-cd
	expect "$(rc)" 0 && expect "$(output registered)" '[]' && expect "$(output changed)" '[]' &&
		grep -q '| train-env | environments/train | 1 | 1 | unchanged |' "$work/summary"
}

t_environment_changed_without_bump_fails_ci_on_the_version_line() {
	sed -i 's/pandas==2.2.2/pandas==2.2.3/' "$work/ws/environments/train/conda.yml"
	gh environment-ci
	expect "$(rc)" 1 && expect "$(output status)" needs-version-bump &&
		grep -q '^::error file=environments/train/environment.yml,line=5,col=10,title=environment train-env%3A version not bumped::.*Use version 2\.$' "$work/log" &&
		grep -q 'pandas==2.2.2 | pandas==2.2.3' "$work/summary" || return 1
	# CD refuses too, and registers nothing.
	gh environment-cd
	expect "$(rc)" 1 && expect "$(state "sorted(w['environments']['train-env']['versions'])")" "['1']"
}

t_environment_changed_in_auto_mode_gets_the_next_version() {
	gh environment-cd INPUT_VERSIONING=auto
	expect "$(rc)" 0 &&
		expect "$(output registered)" '[{"name":"train-env","version":"2"}]' &&
		expect "$(state "sorted(w['environments']['train-env']['versions'])")" "['1', '2']"
}

t_malformed_environment_yaml_is_reported_and_nothing_is_created() {
	fresh_workspace
	printf 'name: train-env\nversion: 1\nimage: [unclosed\n' >"$work/ws/environments/train/environment.yml"
	gh environment-cd
	expect "$(rc)" 2 &&
		grep -q '^::error file=environments/train/environment.yml,line=[0-9]*,col=[0-9]*,title=environment in environments/train is invalid::' "$work/log" &&
		expect "$(state "len(w.get('environments', {}))")" 0
}

t_bad_conda_spec_names_its_line() {
	fresh_workspace
	sed -i 's/  - pip=24.0/  - pip=>>24/' "$work/ws/environments/train/conda.yml"
	gh environment-ci
	expect "$(rc)" 2 &&
		grep -q '^::error file=environments/train/conda.yml,line=[0-9]*,col=[0-9]*,title=environment in environments/train is invalid::.*pip=>>24' "$work/log" &&
		expect "$(state "len(w.get('environments', {}))")" 0
}

# In the order written: later cases build on the state earlier ones leave.
for t in $(grep -o '^t_[a-z0-9_]*' "$0"); do
	if out=$($t 2>&1); then pass "${t#t_}"; else fail "${t#t_}" "$(printf '%s' "$out" | tail -n 8)"; fi
done
summary_line
