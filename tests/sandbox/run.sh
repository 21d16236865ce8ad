#!/usr/bin/env bash
# Runs build/sandbox-tests (Criterion tests of the real clients against the
# local Azure sandbox) with a private sandbox started for the run.
#   tests/sandbox/run.sh [BINARY [CRITERION ARGS...]]
#   e.g. tests/sandbox/run.sh build/sandbox-tests --filter 'aml_job_sandbox/*'

set -u
cd "$(dirname "$0")/../.."
bin=${1:-build/sandbox-tests}
shift || true
export SANDBOX_DIR
SANDBOX_DIR=$(mktemp -d /tmp/mlops-sandbox-tests.XXXXXX)
sandbox/sandbox.sh start >/dev/null || { echo "sandbox did not start"; echo "0 passed, 1 failed"; exit 1; }
trap 'sandbox/sandbox.sh stop >/dev/null 2>&1; rm -rf "$SANDBOX_DIR"' EXIT
# shellcheck disable=SC1091
. "$SANDBOX_DIR/env"
# The tests choose their own host behaviour; the sandbox's GitHub-shaped
# variables are for workflow runs.
unset GITHUB_ACTIONS
log=$(mktemp)
"$bin" --jobs 1 "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# Criterion's synthesis, restated as the plain line the test runners add up.
line=$(grep -Eo 'Tested: [0-9]+ \| Passing: [0-9]+ \| Failing: [0-9]+ \| Crashing: [0-9]+' "$log" | tail -n 1)
rm -f "$log"
if [ -z "$line" ]; then echo "0 passed, 1 failed"; exit 1; fi
read -r p f c <<<"$(sed -E 's/Tested: [0-9]+ \| Passing: ([0-9]+) \| Failing: ([0-9]+) \| Crashing: ([0-9]+)/\1 \2 \3/' <<<"$line")"
echo "$p passed, $((f + c)) failed"
[ "$rc" -eq 0 ] && [ $((f + c)) -eq 0 ]
