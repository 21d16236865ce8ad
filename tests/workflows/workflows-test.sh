#!/usr/bin/env bash
# Workspace-CD, Environment-CI and Environment-CD end to end: the real
# binary, run the way the GitHub runner runs a container action (an
# environment holding only the runner's variables and INPUT_*), against a
# private local sandbox whose state is read back after each run.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"

sandbox_up workflows
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
gh_cmd() {
	local wf=$1
	shift
	: >"$work/output"
	: >"$work/summary"
	cd "$work/ws" && exec env -i PATH=/usr/bin:/bin HOME="$work" CI=true GITHUB_ACTIONS=true \
		GITHUB_WORKSPACE="$work/ws" GITHUB_OUTPUT="$work/output" GITHUB_STEP_SUMMARY="$work/summary" \
		GITHUB_SHA=3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c GITHUB_REPOSITORY=org/mlops-example \
		GITHUB_RUN_ID=42 GITHUB_SERVER_URL=https://github.com \
		HTTPS_PROXY="$HTTPS_PROXY" NO_PROXY="$NO_PROXY" SSL_CERT_FILE="$SSL_CERT_FILE" \
		INPUT_CREDS="$AZURE_CREDENTIALS" INPUT_RESOURCE-GROUP="$AZURE_RESOURCE_GROUP" \
		INPUT_WORKSPACE-NAME="$AZURE_ML_WORKSPACE" "$@" "$mlops" "$wf"
}

# The container's process is PID 1 (no default action for SIGINT/SIGTERM),
# so the stop tests run the binary as PID 1 of a new PID namespace when
# the machine allows it.
if unshare --pid --fork true 2>/dev/null; then as_pid1=(unshare --pid --fork --kill-child); else as_pid1=(); fi

# gh_stopped WHEN WORKFLOW [NAME=VALUE...]: runs the step in the background
# and, once `WHEN` (a shell command) holds, stops it as the runner cancels
# a step: SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that (or as
# STOP_PLAN says, "SIGNAL:SECONDS ..."; "TERM:10" is `docker stop`). Writes
# what happened to $work/stop: "exited after N ms" or "killed".
gh_stopped() {
	local when=$1 pid target i t0 t1 step
	shift
	("${as_pid1[@]}" bash -c "$(declare -f gh_cmd); $(declare -p work mlops HTTPS_PROXY NO_PROXY SSL_CERT_FILE AZURE_CREDENTIALS AZURE_RESOURCE_GROUP AZURE_ML_WORKSPACE); gh_cmd \"\$@\"" gh "$@") >"$work/log" 2>&1 &
	pid=$!
	for i in $(seq 600); do eval "$when" && break; sleep 0.1; done
	# The signals go to the workflow's own process, as docker sends them to PID 1.
	target=$pid
	if [ ${#as_pid1[@]} -gt 0 ]; then target=$(pgrep -P "$pid" | head -n 1); fi
	t0=$(date +%s%N)
	for step in ${STOP_PLAN:-INT:7.5 TERM:2.5}; do
		kill -"${step%%:*}" "$target" 2>/dev/null
		for i in $(seq "$(awk -v s="${step#*:}" 'BEGIN { print int(s * 10) }')"); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$target" "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		echo killed >"$work/stop"
	else
		wait "$pid"
		echo $? >"$work/rc"
		t1=$(date +%s%N)
		echo "exited after $(((t1 - t0) / 1000000)) ms" >"$work/stop"
	fi
}
# Whether the step stopped within `ms` milliseconds of the first signal.
stopped_within() {
	local t
	t=$(sed -n 's/^exited after \([0-9]*\) ms$/\1/p' "$work/stop")
	[ -n "$t" ] && [ "$t" -le "$1" ] || { echo "not out within $1 ms: $(cat "$work/stop")"; return 1; }
}
# The deployment of the shipped template, as the sandbox has it.
deployment_state() { state "s['arm'].get('deployments', {}).get('$AZURE_RESOURCE_GROUP/workspace-3c5e0a7', {}).get('provisioningState')"; }


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
		grep -q "^::error title=workspace-cd%3A failed::.*Microsoft.KeyVault/vaults 'kv-.*VaultAlreadyExists" "$work/log" &&
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

# Template outputs become step outputs: their names are checked before
# anything is sent, so a clash with the workflow's own outputs or a name no
# host can carry is an input error with nothing deployed.
edit_template() {
	python3 - "$work/ws/.cloud/workspace.json" "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(t, open(sys.argv[1], "w"))
PY
}

t_workspace_output_named_like_a_workflow_output_is_an_input_error() {
	fresh_workspace
	edit_template 't["outputs"]["datasets"] = {"type": "string", "value": "not the data assets"}'
	gh workspace-cd
	expect "$(rc)" 2 &&
		grep -q "output 'datasets'.*workflow's own" "$work/log" &&
		expect "$(state "len(s['arm'].get('deployments', {}))")" 0 &&
		[ ! -s "$work/output" ]
}

t_workspace_output_name_no_host_can_carry_is_refused_before_deploying() {
	fresh_workspace
	edit_template 't["outputs"]["storage.name"] = {"type": "string", "value": "x"}'
	gh workspace-cd
	expect "$(rc)" 2 &&
		grep -q "output 'storage.name'" "$work/log" &&
		expect "$(state "len(s['arm'].get('deployments', {}))")" 0
}

t_workspace_bad_parameters_of_a_later_template_fail_before_the_first_deploys() {
	fresh_workspace
	printf '%s' '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0", "parameters": {}, "resources": []}' >"$work/ws/.cloud/zz-extra.json"
	printf '%s' '{"parameters": {"noSuchParameter": {"value": 1}}}' >"$work/ws/.cloud/zz-extra.parameters.json"
	gh workspace-cd
	expect "$(rc)" 2 &&
		grep -q "noSuchParameter" "$work/log" &&
		expect "$(state "len(s['arm'].get('deployments', {}))")" 0
}

# Exit 2 promises that nothing changed in Azure: an input error found after
# a deployment (a plain output that would reveal a secure parameter) is 1,
# and the outputs of what was done are still written.
t_workspace_input_error_after_a_deployment_is_exit_1() {
	fresh_workspace
	edit_template "t['parameters']['adminSecret'] = {'type': 'securestring', 'defaultValue': ''}; t['outputs']['leak'] = {'type': 'string', 'value': \"[parameters('adminSecret')]\"}"
	gh workspace-cd "INPUT_PARAMETERS=adminSecret=s3cr3t-Value-4711"
	expect "$(rc)" 1 &&
		grep -q "output 'leak' would reveal a secret" "$work/log" &&
		expect "$(deployment_state)" Succeeded &&
		expect "$(output deployment-names)" '["workspace-3c5e0a7"]' || return 1
	# Registered with the runner's masking, and nowhere else.
	if grep -v '^::add-mask::' "$work/log" | cat "$work/output" "$work/summary" - | grep -q 's3cr3t-Value-4711'; then
		echo "the secret was revealed"
		return 1
	fi
}

t_workspace_failed_dataset_still_writes_the_deployment_outputs() {
	fresh_workspace
	curl -s -X POST "$SANDBOX_CONTROL_URL/faults" -d '[{"kind": "status", "status": 400, "code": "UserError", "message": "refused by the test", "method": "PUT", "path": "/data/churn/versions/", "count": 0}]' >/dev/null
	gh workspace-cd
	expect "$(rc)" 1 &&
		expect "$(output deployment-names)" '["workspace-3c5e0a7"]' &&
		grep -q '"workspaceName":"mlops-sandbox-ws"' <<<"$(output outputs)" &&
		expect "$(output datasets)" '[]'
}

# Stopped while following a deployment (the runner cancels the step): the
# summary and the outputs of what was done are written, the deployment is
# left running in Azure and named, and the process exits well within the
# runner's 10 s, as PID 1 too.
t_workspace_cancelled_while_following_leaves_the_deployment_running() {
	fresh_workspace
	curl -s -X POST -d '{"lro_step_seconds": 4}' "$SANDBOX_CONTROL_URL/config" >/dev/null
	gh_stopped '[ "$(deployment_state)" = Running ]' workspace-cd
	stopped_within 2000 &&
		expect "$(rc)" 1 &&
		expect "$(deployment_state)" Running &&
		grep -q 'workspace-3c5e0a7.*left running' "$work/summary" &&
		expect "$(output deployment-names)" '[]' &&
		expect "$(state "len(w.get('data', {}))")" 0
}

# The same with the network hanging on the poll in flight: out before the
# runner's SIGKILL whatever the network does.
t_workspace_cancelled_while_the_network_hangs_exits_before_the_kill() {
	fresh_workspace
	curl -s -X POST -d '{"lro_step_seconds": 4}' "$SANDBOX_CONTROL_URL/config" >/dev/null
	curl -s -X POST "$SANDBOX_CONTROL_URL/faults" -d '[{"kind": "delay", "seconds": 60, "method": "GET", "path": "/operationStatuses/", "count": 0}]' >/dev/null
	gh_stopped '[ "$(deployment_state)" = Running ]' workspace-cd
	stopped_within 9500 && [ "$(rc)" -ne 0 ] && [ "$(rc)" -ne 2 ] &&
		expect "$(deployment_state)" Running
}

# SIGTERM alone (`docker stop`, an Azure Pipelines cancel) is handled the same.
t_workspace_sigterm_alone_writes_the_summary_and_leaves_the_deployment() {
	fresh_workspace
	curl -s -X POST -d '{"lro_step_seconds": 4}' "$SANDBOX_CONTROL_URL/config" >/dev/null
	STOP_PLAN="TERM:10" gh_stopped '[ "$(deployment_state)" = Running ]' workspace-cd
	stopped_within 2000 &&
		expect "$(rc)" 1 &&
		expect "$(deployment_state)" Running &&
		grep -q 'workspace-3c5e0a7.*left running.*SIGTERM' "$work/summary" &&
		expect "$(output deployment-names)" '[]'
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

# A registration refused half-way (409 on the second environment): what was
# registered is still in the outputs.
t_environment_cd_conflict_on_the_second_still_writes_its_outputs() {
	fresh_workspace
	curl -s -X POST "$SANDBOX_CONTROL_URL/faults" -d '[{"kind": "status", "status": 409, "code": "Conflict", "message": "refused by the test", "method": "PUT", "path": "/environments/train-env/versions/", "count": 0}]' >/dev/null
	gh environment-cd
	expect "$(rc)" 1 &&
		expect "$(output registered)" '[{"name":"inference-env","version":"1"}]' &&
		grep -q '"name":"train-env"' <<<"$(output changed)" &&
		grep -q '"name":"inference-env"' <<<"$(output changed)"
}

# In the order written: later cases build on the state earlier ones leave.
# A workflow that has nothing to finish ends at the first signal, as PID 1
# too (which has no default action for SIGINT).
t_environment_cd_stopped_while_comparing_exits_at_once() {
	fresh_workspace
	curl -s -X POST "$SANDBOX_CONTROL_URL/faults" -d '[{"kind": "delay", "seconds": 30, "method": "GET", "path": "/environments/", "count": 0}]' >/dev/null
	gh_stopped 'grep -q "Comparing with the workspace" "$work/log"' environment-cd
	stopped_within 1000 && expect "$(rc)" 130 &&
		expect "$(state "len(w.get('environments', {}))")" 0
}

# ---- Model-CI ----

# The job's environment is not registered: found only after the code
# snapshot was uploaded, so it may not be exit 2 ("nothing changed") unless
# nothing was uploaded.
t_model_ci_input_error_after_the_code_upload_is_not_exit_2() {
	fresh_workspace
	cp -r "$repo/jobs" "$repo/training" "$work/ws/"
	gh model-ci
	local codes
	codes=$(state "len(w.get('codes', {}))")
	grep -q "environment azureml:train-env:1 is not registered" "$work/log" || { tail -n 5 "$work/log"; return 1; }
	if [ "$(rc)" = 2 ] && [ "$codes" != 0 ]; then
		echo "exit 2 after uploading the code snapshot ($codes code asset)"
		return 1
	fi
	[ "$(rc)" = 1 ] || [ "$(rc)" = 2 ]
}

# ONLY=REGEX runs the matching cases alone (each must then start afresh).
for t in $(grep -o '^t_[a-z0-9_]*' "$0"); do
	[ -z "${ONLY:-}" ] || [[ $t =~ $ONLY ]] || continue
	if out=$($t 2>&1); then pass "${t#t_}"; else fail "${t#t_}" "$(printf '%s' "$out" | tail -n 8)"; fi
done
summary_line
