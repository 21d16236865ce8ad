#!/usr/bin/env bash
# `make demo`: the whole flow on the local Azure sandbox. Starts a private
# sandbox (Azurite + the emulator), then runs Workspace-CD, Environment-CI,
# Environment-CD, Model-CI and Model-CT (train, then register) from a terminal over the repository's own
# .cloud/, datasets/, environments/ and jobs/, printing each one's summary
# and outputs.
# Nothing in the repository is changed; the sandbox is stopped at the end.
set -euo pipefail
mlops=$(realpath "${1:-build/mlops}")
cd "$(dirname "$0")/.."

export SANDBOX_DIR=${SANDBOX_DIR:-$PWD/build/demo-sandbox}
sandbox/sandbox.sh stop >/dev/null 2>&1 || true
sandbox/sandbox.sh start >/dev/null
trap 'sandbox/sandbox.sh stop >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$SANDBOX_DIR/env"
unset GITHUB_ACTIONS # a terminal run: outputs as JSON, summaries to files
summaries=$SANDBOX_DIR/summaries
mkdir -p "$summaries"

echo "Local Azure sandbox: subscription $AZURE_SUBSCRIPTION_ID, resource group $AZURE_RESOURCE_GROUP"
step() {
	local wf=$1
	shift
	echo
	echo "================================================================ $wf"
	# The secret goes in the environment, not on a command line others can read.
	INPUT_CREDS=$AZURE_CREDENTIALS "$mlops" "$wf" --resource-group "$AZURE_RESOURCE_GROUP" \
		--workspace-name "$AZURE_ML_WORKSPACE" --summary "$summaries/$wf.md" "$@" \
		>"$summaries/$wf.json"
	echo "---- summary"
	cat "$summaries/$wf.md"
	echo "---- outputs"
	cat "$summaries/$wf.json"
}

step workspace-cd --what-if true
step workspace-cd
step environment-ci
step environment-cd
step environment-ci
step model-ci --artifacts "$SANDBOX_DIR/artifacts"
step model-ct --stage train --artifacts "$SANDBOX_DIR/artifacts"
job=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job-name"])' "$summaries/model-ct.json")
cp "$summaries/model-ct.md" "$summaries/model-ct-train.md"
step model-ct --stage register --job-name "$job" --model-name churn-classifier
echo
echo "---- the registered model, as the workspace has it"
curl -s "$SANDBOX_CONTROL_URL/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
for ws in s["azureml"].values():
    for version, v in ws["assets"].get("models", {}).get("churn-classifier", {}).get("versions", {}).items():
        print("churn-classifier:%s  jobName=%s  modelUri=%s" % (version, v.get("jobName"), v.get("modelUri")))
        for k, t in sorted((v.get("tags") or {}).items()):
            print("    %s = %s" % (k, t))'
echo
echo "Done: the workspace, its datasets, environments, a trained model's run and its registered model are in the sandbox;"
echo "summaries in $summaries, the training logs in $SANDBOX_DIR/artifacts."
