#!/usr/bin/env bash
# A hostile pull request: the repository's files try to make Workspace-CD and
# Environment-CD read files from outside the repository (the runner's) and
# put them into Azure. Each case builds a scratch copy of the repository with
# one attack, runs the real binary as the runner runs a container action
# against a private sandbox, and checks that the run is refused with exit 2,
# that the annotation names the file, line and field, that the runner file's
# text is nowhere in the log, and that nothing reached Azure: no request that
# changes anything, no asset, no deployment and no blob (docs/security.md).
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"

sandbox_up hostile
sbx_settings='{"lro_step_seconds": 0.2}'

# The runner's own files, outside the repository: what an attacker is after.
secret=runner-secret-7f3a9c1e
mkdir -p "$work/runner/dataset" "$work/runner/docker" "$work/runner/env"
printf 'root:$6$%s:19000:0:99999:7:::\n' "$secret" >"$work/runner/shadow"
printf 'name: stolen\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - %s\n' "$secret" \
	>"$work/runner/conda.yml"
printf 'name: stolen\nversion: 1\ntype: uri_file\npath: shadow\n' >"$work/runner/dataset/data.yml"
cp "$work/runner/shadow" "$work/runner/dataset/shadow"
printf 'FROM ubuntu:22.04\nCOPY . /\n' >"$work/runner/docker/Dockerfile"
cp "$work/runner/shadow" "$work/runner/docker/shadow"
printf 'name: stolen-env\nversion: "1"\nimage: ubuntu:22.04\nconda_file: conda.yml\n' \
	>"$work/runner/env/environment.yml"
cp "$work/runner/conda.yml" "$work/runner/env/conda.yml"

# A fresh checkout of the repository's examples, and a fresh sandbox.
fresh_workspace() {
	rm -rf "$work/ws" && mkdir -p "$work/ws"
	cp -r "$repo/.cloud" "$repo/datasets" "$repo/environments" "$work/ws/"
	curl -s -X POST "$SANDBOX_CONTROL_URL/reset" >/dev/null
	curl -s -X POST -d "$sbx_settings" "$SANDBOX_CONTROL_URL/config" >/dev/null
	blobs >"$work/blobs-before"
}

# gh WORKFLOW [NAME=VALUE...]: one step as the runner runs it (see workflows-test.sh).
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

# has PATTERN: the log holds a line matching the extended regex.
has() { grep -Eq -- "$1" "$work/log" || { echo "no line matching: $1"; tail -n 20 "$work/log"; return 1; }; }

# Every blob in every container of every sandbox storage account, one "account/container/name" a line.
blobs() {
	PYTHONPATH="$repo/sandbox" python3 - "$SANDBOX_DIR/config.json" <<'PY'
import json, sys
from azsandbox.blob import BlobClient
c = json.load(open(sys.argv[1]))
client = BlobClient(c["ports"]["azurite"], c["ca_cert"], c["storage_accounts"])
for account in sorted(c["storage_accounts"]):
    for container in client.list_containers(account):
        for name, _ in client.list_blobs(account, container):
            print("%s/%s/%s" % (account, container, name))
PY
}

# Nothing reached Azure: no change requested (a token and reads are fine), no
# data asset, environment, code asset or ARM deployment, no new blob, and the
# runner's secret is not in the log.
nothing_sent() {
	local changes
	changes=$(curl -s "$SANDBOX_CONTROL_URL/requests" | python3 -c "
import json, sys
for r in json.load(sys.stdin)['requests']:
    host = r.get('host', '')
    if host.startswith('login.') or r.get('method') in ('GET', 'HEAD'):
        continue
    print(r.get('method'), host, r.get('path'))")
	[ -z "$changes" ] || { echo "requests that change things were sent:"; echo "$changes"; return 1; }
	expect "$(curl -s "$SANDBOX_CONTROL_URL/state" | python3 -c "
import json, sys
s = json.load(sys.stdin)
w = s['azureml']['$AZURE_RESOURCE_GROUP/$AZURE_ML_WORKSPACE']['assets']
print(len(w.get('data', {})), len(w.get('environments', {})), len(w.get('codes', {})),
      len(s['arm'].get('deployments', {})))")" "0 0 0 0" || return 1
	blobs >"$work/blobs-after"
	diff "$work/blobs-before" "$work/blobs-after" >/dev/null ||
		{ echo "blobs were written:"; diff "$work/blobs-before" "$work/blobs-after"; return 1; }
	! grep -q "$secret" "$work/log" "$work/summary" "$work/output" ||
		{ echo "the runner's secret is in the log"; grep "$secret" "$work/log"; return 1; }
}

# ---- Workspace-CD: datasets ----

t_dataset_with_a_link_to_a_runner_file_uploads_nothing() {
	fresh_workspace
	ln -s "$work/runner/shadow" "$work/ws/datasets/churn/data/shadow"
	gh workspace-cd
	expect "$(rc)" 2 &&
		has "^::error file=datasets/churn/data.yml,line=5,col=7,title=workspace-cd%3A input error::.*field 'path': .*data/shadow: a symbolic link to outside the folder" &&
		nothing_sent
}

t_dataset_folder_that_is_a_link_out_uploads_nothing() {
	fresh_workspace
	ln -s "$work/runner/dataset" "$work/ws/datasets/stolen"
	gh workspace-cd
	expect "$(rc)" 2 &&
		has "^::error file=datasets/stolen,title=workspace-cd%3A input error::.*datasets/stolen: a dataset folder that leads outside the workspace" &&
		nothing_sent
}

t_dataset_yaml_that_is_a_link_to_a_runner_file_is_not_read() {
	fresh_workspace
	rm "$work/ws/datasets/churn/data.yml"
	ln -s "$work/runner/shadow" "$work/ws/datasets/churn/data.yml"
	gh workspace-cd
	expect "$(rc)" 2 &&
		has "^::error file=datasets/churn/data.yml,title=workspace-cd%3A input error::.*outside the workspace" &&
		nothing_sent
}

t_dataset_uri_file_that_is_a_link_to_a_runner_file_uploads_nothing() {
	fresh_workspace
	mkdir -p "$work/ws/datasets/notes"
	printf 'name: notes\nversion: 1\ntype: uri_file\npath: notes.txt\n' >"$work/ws/datasets/notes/data.yml"
	ln -s "$work/runner/shadow" "$work/ws/datasets/notes/notes.txt"
	gh workspace-cd
	expect "$(rc)" 2 &&
		has "^::error file=datasets/notes/data.yml,line=4,col=7,title=workspace-cd%3A input error::.*field 'path': 'notes.txt' is outside the dataset's folder" &&
		nothing_sent
}

t_dataset_absolute_path_is_refused_as_absolute() {
	fresh_workspace
	sed -i "s|^path: ./data|path: $work/runner/dataset|" "$work/ws/datasets/churn/data.yml"
	gh workspace-cd
	expect "$(rc)" 2 &&
		has "^::error file=datasets/churn/data.yml,line=5,col=7,title=workspace-cd%3A input error::.*field 'path': '.*' is absolute; it must be relative to the dataset's folder" &&
		nothing_sent
}

t_dataset_link_whose_name_forges_a_command_is_quoted_on_one_line() {
	fresh_workspace
	ln -s "$work/runner/shadow" "$work/ws/datasets/churn/data/evil
::error::x"
	gh workspace-cd
	expect "$(rc)" 2 &&
		has "^::error file=datasets/churn/data.yml,line=5,col=7,title=workspace-cd%3A input error::.*data/evil\\\\n::error::x: a symbolic link to outside the folder" &&
		{ ! grep -q '^::error::x' "$work/log" || { echo "a forged command line:"; cat "$work/log"; return 1; }; } &&
		nothing_sent
}

t_dataset_version_latest_uploads_nothing() {
	fresh_workspace
	sed -i 's|^version: 1$|version: latest|' "$work/ws/datasets/churn/data.yml"
	gh workspace-cd
	expect "$(rc)" 2 &&
		has "^::error file=datasets/churn/data.yml,line=3,col=10,title=workspace-cd%3A input error::.*field 'version': 'latest' is reserved" &&
		nothing_sent
}

t_dataset_git_folder_is_never_uploaded() {
	fresh_workspace
	mkdir -p "$work/ws/datasets/churn/data/.git"
	printf '[http]\n\textraheader = AUTHORIZATION: basic %s\n' "$secret" >"$work/ws/datasets/churn/data/.git/config"
	gh workspace-cd
	expect "$(rc)" 0 || return 1
	blobs >"$work/blobs-after"
	grep -q 'datasets/churn/.*/train.csv$' "$work/blobs-after" ||
		{ echo "the dataset was not uploaded"; cat "$work/blobs-after"; return 1; }
	! grep -q '\.git' "$work/blobs-after" || { echo ".git was uploaded"; grep '\.git' "$work/blobs-after"; return 1; }
}

# ---- Environment-CD: conda files and build contexts ----

t_conda_file_climbing_out_of_the_environment_registers_nothing() {
	fresh_workspace
	cp "$work/runner/conda.yml" "$work/ws/outside.yml"
	sed -i 's|^conda_file: conda.yml|conda_file: ../../outside.yml|' "$work/ws/environments/train/environment.yml"
	gh environment-cd
	expect "$(rc)" 2 &&
		has "^::error file=environments/train/environment.yml,line=8,col=13,title=environment in environments/train is invalid::.*field 'conda_file': '../../outside.yml' must be a file inside the environment folder" &&
		nothing_sent
}

t_conda_file_climbing_out_of_the_repository_registers_nothing() {
	fresh_workspace
	sed -i "s|^conda_file: conda.yml|conda_file: ../../../runner/conda.yml|" "$work/ws/environments/train/environment.yml"
	gh environment-cd
	expect "$(rc)" 2 &&
		has "^::error file=environments/train/environment.yml,line=8,col=13,title=environment in environments/train is invalid::.*field 'conda_file': '../../../runner/conda.yml' must be a file inside" &&
		nothing_sent
}

t_conda_file_that_is_a_link_to_a_runner_file_registers_nothing() {
	fresh_workspace
	rm "$work/ws/environments/train/conda.yml"
	ln -s "$work/runner/conda.yml" "$work/ws/environments/train/conda.yml"
	gh environment-cd
	expect "$(rc)" 2 &&
		has "^::error file=environments/train/environment.yml,line=8,col=13,title=environment in environments/train is invalid::.*field 'conda_file': 'conda.yml' must be a file inside the environment folder" &&
		nothing_sent
}

t_build_context_with_a_link_to_a_runner_file_uploads_nothing() {
	fresh_workspace
	mkdir -p "$work/ws/environments/ctx/docker"
	printf 'name: ctx-env\nversion: "1"\nbuild:\n  path: docker\n' >"$work/ws/environments/ctx/environment.yml"
	printf 'FROM ubuntu:22.04\nCOPY . /\n' >"$work/ws/environments/ctx/docker/Dockerfile"
	ln -s "$work/runner/shadow" "$work/ws/environments/ctx/docker/shadow"
	gh environment-cd
	expect "$(rc)" 2 &&
		has "^::error file=environments/ctx/environment.yml,line=4,col=9,title=environment in environments/ctx is invalid::.*field 'build.path': .*docker/shadow: a symbolic link to outside the folder" &&
		nothing_sent
}

t_build_context_that_is_a_link_out_uploads_nothing() {
	fresh_workspace
	mkdir -p "$work/ws/environments/ctx"
	printf 'name: ctx-env\nversion: "1"\nbuild:\n  path: docker\n' >"$work/ws/environments/ctx/environment.yml"
	ln -s "$work/runner/docker" "$work/ws/environments/ctx/docker"
	gh environment-cd
	expect "$(rc)" 2 &&
		has "^::error file=environments/ctx/environment.yml,line=4,col=9,title=environment in environments/ctx is invalid::.*field 'build.path': 'docker' must be a folder inside" &&
		nothing_sent
}

t_environment_folder_that_is_a_link_out_registers_nothing() {
	fresh_workspace
	ln -s "$work/runner/env" "$work/ws/environments/stolen"
	gh environment-cd
	expect "$(rc)" 2 &&
		has "^::error file=environments/stolen,title=environment in environments/stolen is invalid::.*environments/stolen: an environment folder that leads outside the workspace" &&
		nothing_sent
}

t_environment_version_latest_registers_nothing() {
	fresh_workspace
	sed -i 's|^version: "1"|version: latest|' "$work/ws/environments/train/environment.yml"
	gh environment-cd
	expect "$(rc)" 2 &&
		has "^::error file=environments/train/environment.yml,line=5,col=10,title=environment in environments/train is invalid::.*field 'version': 'latest' is reserved" &&
		nothing_sent
}

for t in $(grep -o '^t_[a-z0-9_]*' "$0"); do
	if out=$($t 2>&1); then pass "${t#t_}"; else fail "${t#t_}" "$(printf '%s' "$out" | tail -n 8)"; fi
done
summary_line
