#!/usr/bin/env bash
# `make demo`: the whole flow on the local Azure sandbox. Starts a private
# sandbox (Azurite + the emulator), runs the workflows against it with the
# repository's own examples, prints their summaries, and stops the sandbox.
set -euo pipefail
mlops=$(realpath "${1:-build/mlops}")
cd "$(dirname "$0")/.."

export SANDBOX_DIR=${SANDBOX_DIR:-$PWD/build/demo-sandbox}
sandbox/sandbox.sh start >/dev/null
trap 'sandbox/sandbox.sh stop >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$SANDBOX_DIR/env"
echo "Local Azure sandbox up: subscription $AZURE_SUBSCRIPTION_ID, resource group $AZURE_RESOURCE_GROUP"
echo

"$mlops" --help
echo
for wf in $("$mlops" --list); do
	echo "=== $wf"
	"$mlops" "$wf" --help | sed -n '3p'
done
echo
echo "The workflows do not call Azure yet (see README, Status); the sandbox they will run against is up and answered above."
