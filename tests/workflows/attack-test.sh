#!/usr/bin/env bash
# Attacks a hostile pull request can still try after the containment rules:
# the real binary, run as the GitHub runner runs it, on a private sandbox.
# A symbolic link inside the code folder that leads into .git/ (where
# actions/checkout keeps the token), or a code: folder that is .git/ itself,
# is refused with exit 2 before anything reaches Azure.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"

sandbox_up attack
curl -s -X POST -d '{"lro_step_seconds": 0.2, "job_step_seconds": 0.2}' "$SANDBOX_CONTROL_URL/config" >/dev/null

ws=$work/ws
mkdir -p "$ws/jobs"
cp -r "$repo/.cloud" "$repo/datasets" "$repo/environments" "$ws/"
# What actions/checkout leaves behind: the token in .git/config.
fake_token=ghs_FAKEtokenFAKEtokenFAKEtoken0123456789
mkdir -p "$ws/.git"
printf '[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic %s\n' "$fake_token" >"$ws/.git/config"

# gh_cmd WORKFLOW [NAME=VALUE...]: one step as the runner runs it (at most 120 s).
gh_cmd() {
	local wf=$1
	shift
	: >"$work/output"
	: >"$work/summary"
	cd "$ws" && exec timeout 120 env -i PATH=/usr/bin:/bin HOME="$work" CI=true GITHUB_ACTIONS=true \
		GITHUB_WORKSPACE="$ws" GITHUB_OUTPUT="$work/output" GITHUB_STEP_SUMMARY="$work/summary" \
		GITHUB_SHA=3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c GITHUB_REPOSITORY=org/hostile \
		GITHUB_RUN_ID="$run_id" GITHUB_RUN_ATTEMPT=1 GITHUB_SERVER_URL=https://github.com \
		ACTIONS_RESULTS_URL="$ACTIONS_RESULTS_URL" ACTIONS_RUNTIME_URL="$ACTIONS_RUNTIME_URL" \
		ACTIONS_RUNTIME_TOKEN="$ACTIONS_RUNTIME_TOKEN" \
		HTTPS_PROXY="$HTTPS_PROXY" NO_PROXY="$NO_PROXY" SSL_CERT_FILE="$SSL_CERT_FILE" \
		INPUT_CREDS="$AZURE_CREDENTIALS" INPUT_RESOURCE-GROUP="$AZURE_RESOURCE_GROUP" \
		INPUT_WORKSPACE-NAME="$AZURE_ML_WORKSPACE" INPUT_LOG-ARTIFACT= "$@" "$mlops" "$wf"
}
# What Azure holds: code versions and jobs, to show a refusal changed nothing.
azure_holds() { state "(sorted((k, len(v['versions'])) for k, v in w.get('codes', {}).items()), len(jobs))"; }
# token_reached_azure: whether the token is in any blob or job the sandbox holds.
token_reached_azure() { grep -rqa "$fake_token" "$SANDBOX_DIR" --exclude=env; }

t_setup_registers_the_environment() {
	gh workspace-cd
	expect "$(rc)" 0 || return 1
	gh environment-cd
	expect "$(rc)" 0
}

# code_job NAME CODE: jobs/NAME.yml running on the folder CODE.
code_job() {
	printf 'type: command\ncode: %s\ncommand: ls -R\nenvironment: azureml:train-env:1\n' "$2" >"$ws/jobs/$1.yml"
}

t_a_link_into_git_inside_the_code_folder_is_refused() {
	local before ok=0
	before=$(azure_holds)
	mkdir -p "$ws/src"
	echo 'print(1)' >"$ws/src/train.py"
	ln -s .git "$ws/src-git"
	code_job gitlink ..
	gh model-ci INPUT_JOB=jobs/gitlink.yml
	expect "$(rc)" 2 &&
		grep -q '^::error title=model-ci%3A input error::.*src-git: a symbolic link into .git' "$work/log" &&
		! token_reached_azure && expect "$(azure_holds)" "$before" || ok=1
	rm -f "$ws/src-git"
	return $ok
}

t_a_link_to_git_config_inside_the_code_folder_is_refused() {
	local before ok=0
	before=$(azure_holds)
	ln -s ../.git/config "$ws/src/config.txt"
	code_job cfglink ../src
	gh model-ci INPUT_JOB=jobs/cfglink.yml
	# ../src is the code folder: the link leads out of it.
	expect "$(rc)" 2 && ! token_reached_azure && expect "$(azure_holds)" "$before" || ok=1
	rm -f "$ws/src/config.txt"
	ln -s .git/config "$ws/config.txt"
	code_job cfglink2 ..
	gh model-ci INPUT_JOB=jobs/cfglink2.yml
	expect "$(rc)" 2 &&
		grep -q '^::error title=model-ci%3A input error::.*config.txt: a symbolic link into .git' "$work/log" &&
		! token_reached_azure && expect "$(azure_holds)" "$before" || ok=1
	rm -f "$ws/config.txt"
	return $ok
}

t_code_that_is_the_git_folder_is_refused() {
	local before
	before=$(azure_holds)
	code_job gitcode ../.git
	gh model-ci INPUT_JOB=jobs/gitcode.yml
	expect "$(rc)" 2 &&
		grep -q "^::error file=jobs/gitcode.yml,line=2,col=7,title=model-ci%3A input error::.*field 'code'" "$work/log" &&
		! token_reached_azure && expect "$(azure_holds)" "$before"
}

# Fourteen levels of two links each to the next folder: 44 entries that a
# walk following folder links reads as 3^14 folders (hours, or millions of
# blobs). Refused at the first link, before anything is sent.
t_links_to_folders_in_the_code_folder_cannot_fan_out() {
	local before p=$ws/fan i
	before=$(azure_holds)
	mkdir -p "$p"
	echo 'print(1)' >"$p/train.py"
	for i in $(seq 1 14); do
		mkdir -p "$p/n"
		ln -s n "$p/a"
		ln -s n "$p/b"
		echo "print($i)" >"$p/n/f$i.py"
		p=$p/n
	done
	code_job fan ../fan
	gh model-ci INPUT_JOB=jobs/fan.yml
	expect "$(rc)" 2 &&
		grep -q '^::error title=model-ci%3A input error::.*fan/a: a symbolic link to a folder' "$work/log" &&
		expect "$(azure_holds)" "$before"
}

# A template's parameters file linked to a runner file: sent to ARM as the
# deployment's parameters, and kept in the deployment history.
t_a_parameters_file_linked_out_of_the_workspace_is_not_deployed() {
	local before ok=0 p
	mkdir -p "$work/outside"
	printf '{"parameters": {"workspaceName": {"value": "runner-secret-0000"}}}\n' >"$work/outside/params.json"
	before=$(state "sorted(s['arm'].get('deployments', {}))" 2>/dev/null)
	for p in "$ws"/.cloud/*.parameters.json; do
		mv "$p" "$p.orig"
		ln -s "$work/outside/params.json" "$p"
	done
	gh workspace-cd
	expect "$(rc)" 2 &&
		grep -q '^::error file=.cloud/[a-z_-]*.parameters.json,title=workspace-cd%3A input error::.*outside the workspace' "$work/log" &&
		! curl -s "$SANDBOX_CONTROL_URL/state" | grep -q 'runner-secret-0000' &&
		! grep -rqa 'runner-secret-0000' "$SANDBOX_DIR" --exclude=env &&
		expect "$(state "sorted(s['arm'].get('deployments', {}))" 2>/dev/null)" "$before" || ok=1
	for p in "$ws"/.cloud/*.parameters.json; do
		rm -f "$p"
		mv "$p.orig" "$p"
	done
	return $ok
}

run_id=900
for t in $(grep -o '^t_[a-z0-9_]*' "$0"); do
	run_id=$((run_id + 10))
	if out=$($t 2>&1); then pass "${t#t_}"; else fail "${t#t_}" "$(printf '%s' "$out" | tail -n 8)"; fi
done
summary_line
