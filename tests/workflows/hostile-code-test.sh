#!/usr/bin/env bash
# Model-CI against a hostile repository: the real binary, run as the GitHub
# runner runs it, on a private sandbox. A job YAML whose code: leaves the
# checkout (../.., /etc, a folder linked out, a link to a file outside) is
# refused with exit 2 at its file:line before anything reaches Azure; an
# accepted snapshot holds neither .git/ (where actions/checkout keeps the
# token) nor what .amlignore / .gitignore leave out; a job input that is a
# folder or a FIFO is a clear exit 2, not exit 1 or a hang.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"

sandbox_up hostile-code
curl -s -X POST -d '{"lro_step_seconds": 0.2, "job_step_seconds": 0.2}' "$SANDBOX_CONTROL_URL/config" >/dev/null

ws=$work/ws
mkdir -p "$ws/jobs" "$work/outside"
cp -r "$repo/.cloud" "$repo/datasets" "$repo/environments" "$ws/"
echo "runner secret" >"$work/outside/secret.txt"
# What actions/checkout leaves behind: the token in .git/config.
fake_token=ghs_FAKEtokenFAKEtokenFAKEtoken0123456789
mkdir -p "$ws/.git"
printf '[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic %s\n' "$fake_token" >"$ws/.git/config"

# gh WORKFLOW [NAME=VALUE...]: one step as the runner runs it (at most 120 s);
# stdout+stderr in $work/log, outputs in $work/output, exit code in $work/rc.
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
job_yaml() { cat >"$ws/jobs/$1.yml"; }
# refused NAME CODE MESSAGE: jobs/NAME.yml with `code: CODE` on line 2 exits
# 2 with an annotation at jobs/NAME.yml line 2, column 7, and Azure unchanged.
refused() {
	local before
	before=$(azure_holds)
	printf 'type: command\ncode: %s\ncommand: ls\nenvironment: azureml:train-env:1\n' "$2" >"$ws/jobs/$1.yml"
	gh model-ci INPUT_JOB="jobs/$1.yml"
	expect "$(rc)" 2 &&
		grep -q "^::error file=jobs/$1.yml,line=2,col=7,title=model-ci%3A input error::.*field 'code': $3" "$work/log" &&
		expect "$(azure_holds)" "$before"
}

t_setup_registers_the_environment() {
	gh workspace-cd
	expect "$(rc)" 0 || return 1
	gh environment-cd
	expect "$(rc)" 0
}

t_code_dotdot_chain_out_of_the_workspace_is_refused() {
	refused up '../..' '../.. resolves outside the workspace' &&
		refused back '../jobs/../../..' '../jobs/../../.. resolves outside the workspace'
}

t_code_absolute_path_is_refused() {
	refused abs /etc '/etc is an absolute path'
}

t_code_linked_folder_pointing_out_is_refused() {
	ln -s "$work/outside" "$ws/linked"
	refused linked ../linked '../linked resolves outside the workspace'
	local ok=$?
	rm -f "$ws/linked"
	return $ok
}

t_code_folder_with_a_link_to_a_file_outside_is_refused() {
	local before
	before=$(azure_holds)
	mkdir -p "$ws/stealer"
	echo 'print(1)' >"$ws/stealer/train.py"
	ln -s "$work/outside/secret.txt" "$ws/stealer/notes.txt"
	job_yaml stealer <<'YML'
type: command
code: ../stealer
command: cat notes.txt
environment: azureml:train-env:1
YML
	gh model-ci INPUT_JOB=jobs/stealer.yml
	expect "$(rc)" 2 &&
		grep -q '^::error title=model-ci%3A input error::.*stealer/notes.txt: a symbolic link to outside the folder' "$work/log" &&
		! grep -q 'runner secret' "$work/log" &&
		expect "$(azure_holds)" "$before"
	local ok=$?
	rm -rf "$ws/stealer"
	return $ok
}

# The whole checkout as the code folder (code: ..), as a careless job YAML
# names it: .git/ is there with the token, and the ignore file decides the rest.
snapshot_tree() {
	mkdir -p "$ws/src/lib" "$ws/secrets" "$ws/outputs" "$ws/data"
	echo 'print("train")' >"$ws/src/train.py"
	echo 'x = 1' >"$ws/src/lib/util.py"
	echo 'api-key=0000' >"$ws/secrets/key.txt"
	echo 'old model' >"$ws/outputs/model.bin"
	echo 'debug' >"$ws/debug.log"
	echo 'kept' >"$ws/keep.log"
	echo '1,2' >"$ws/data/big.csv"
	printf '# what the snapshot leaves out\nsecrets/\noutputs/\n*.log\n!keep.log\n/.cloud/\n/datasets/\n/environments/\n/jobs/\n' >"$ws/.amlignore"
	# Not read while .amlignore exists (it would leave out src/).
	printf 'src/\n' >"$ws/.gitignore"
	# An ignore file below the root is an ordinary file, as for the CLI.
	printf 'util.py\n' >"$ws/src/.amlignore"
	job_yaml snap <<'YML'
type: command
code: ..
command: find . -type f | LC_ALL=C sort | sed 's|^[.]/|snapshot-file |'
environment: azureml:train-env:1
YML
}
# The files of the job's code folder, as the sandbox downloaded them from the
# snapshot's blobs, one a line.
snapshot_files() { grep '^snapshot-file ' "$work/log" | sed 's/^snapshot-file //' | tr '\n' ' '; }

t_accepted_snapshot_leaves_out_git_and_amlignored_files() {
	snapshot_tree
	gh model-ci INPUT_JOB=jobs/snap.yml
	local job files
	job=$(output job-name)
	files=$(snapshot_files)
	expect "$(rc)" 0 &&
		expect "$files" ".amlignore .gitignore data/big.csv keep.log src/.amlignore src/lib/util.py src/train.py " &&
		[ -d "$SANDBOX_DIR/jobs/$job/code" ] && [ ! -e "$SANDBOX_DIR/jobs/$job/code/.git" ] &&
		[ ! -e "$SANDBOX_DIR/jobs/$job/code/secrets" ] &&
		! grep -rq "$fake_token" "$SANDBOX_DIR/jobs/$job/code" &&
		! grep -q "$fake_token" "$work/log" &&
		grep -q 'left out by .amlignore' "$work/log"
}

t_editing_an_ignored_file_reuses_the_snapshot() {
	echo 'more debug' >>"$ws/debug.log"
	echo 'new model' >"$ws/outputs/model.bin"
	printf '[core]\n' >>"$ws/.git/config"
	gh model-ci INPUT_JOB=jobs/snap.yml INPUT_WAIT=false
	expect "$(rc)" 0 && grep -q 'reused (unchanged)' "$work/log" || return 1
	echo 'print("changed")' >"$ws/src/train.py"
	run_id=$((run_id + 1)) # another run: this one would follow the job above
	gh model-ci INPUT_JOB=jobs/snap.yml INPUT_WAIT=false
	expect "$(rc)" 0 && grep -q 'code snapshot .* uploaded' "$work/log"
}

t_gitignore_decides_when_there_is_no_amlignore() {
	rm -f "$ws/.amlignore"
	printf '/.cloud/\n/datasets/\n/environments/\n/jobs/\nsecrets/\noutputs/\n*.log\ndata/\n' >"$ws/.gitignore"
	gh model-ci INPUT_JOB=jobs/snap.yml
	expect "$(rc)" 0 &&
		expect "$(snapshot_files)" ".gitignore src/.amlignore src/lib/util.py src/train.py " &&
		grep -q 'left out by .gitignore' "$work/log"
}

t_job_input_naming_a_folder_exits_2() {
	gh model-ci INPUT_JOB=jobs
	expect "$(rc)" 2 && grep -q '^::error title=model-ci%3A input error::.*jobs is a folder, not a regular file' "$work/log"
}

t_job_input_naming_a_fifo_exits_2_without_hanging() {
	mkfifo "$ws/jobs/pipe.yml"
	gh model-ci INPUT_JOB=jobs/pipe.yml
	local ok=0
	expect "$(rc)" 2 && grep -q '^::error title=model-ci%3A input error::.*pipe.yml is a FIFO, not a regular file' "$work/log" || ok=1
	rm -f "$ws/jobs/pipe.yml"
	return $ok
}

# ---- found by the hostile review after the containment rules ----

# token_reached_azure: whether the token is in any blob or job the sandbox holds.
token_reached_azure() { grep -rqa "$fake_token" "$SANDBOX_DIR" --exclude=env; }

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
	local ok=0
	expect "$(rc)" 2 &&
		grep -q '^::error title=model-ci%3A input error::.*fan/a: a symbolic link to a folder' "$work/log" &&
		expect "$(azure_holds)" "$before" || ok=1
	rm -rf "$ws/fan"
	return $ok
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

run_id=700
for t in $(grep -o '^t_[a-z0-9_]*' "$0"); do
	# A workflow run of its own each: a run of the same attempt would
	# follow the job the one before submitted instead of submitting.
	run_id=$((run_id + 10)) # room for the runs a test makes itself
	if out=$($t 2>&1); then pass "${t#t_}"; else fail "${t#t_}" "$(printf '%s' "$out" | tail -n 8)"; fi
done
summary_line
