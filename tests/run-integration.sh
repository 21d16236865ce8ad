#!/usr/bin/env bash
# Everything after the unit tests, each part its own script with its own
# "N passed, M failed" line; this one adds them up into the last line.
#   tests/cli/cli-test.sh            the binary under GitHub, Pipelines, terminal
#   action-validator                 every action.yml against the schema
#   sandbox/sandbox.sh test          the local Azure sandbox's own tests
#   tests/sandbox/run.sh             the C clients against a live sandbox
#   tests/workflows/workflows-test.sh the workflows, run as the runner runs them, on a sandbox
#   tests/workflows/hostile-repo-test.sh  a hostile repository's data and environments
#   tests/workflows/model-ci-test.sh  Model-CI: real training jobs on a sandbox
#   tests/workflows/model-ct-test.sh  Model-CT: train, then register with lineage
#   tests/workflows/rerun-test.sh    Model-CI killed and run again, long jobs, signals
#   tests/workflows/hostile-code-test.sh  Model-CI on a hostile repository's code
#   tests/workflows/jobs-test.sh     distributed command jobs (one process per rank) on a sandbox
#   tests/workflows/pipeline-test.sh  Model-CI on pipeline jobs (jobs/train-pipeline.yml)
#   tests/conformance/az-cli-test.sh the official Azure CLI against a sandbox
#   tests/container/rootfs-test.sh   the static binary in the image's root (as root)
set -u
mlops=${1:-build/mlops}
cd "$(dirname "$0")/.."
total_pass=0 total_fail=0 total_skip=0

run_part() {
	local name=$1 log line p f s
	shift
	log=$(mktemp)
	echo "== $name"
	"$@" 2>&1 | tee "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL $name: no result line"
		total_fail=$((total_fail + 1))
	else
		p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
		f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
		s=$(grep -Eo '[0-9]+ skipped' <<<"$line" | grep -Eo '[0-9]+' || echo 0)
		total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
	fi
	rm -f "$log"
}

validate_actions() {
	local v=tests/tools/node_modules/.bin/action-validator p=0 f=0 file
	if [ ! -x "$v" ]; then
		(cd tests/tools && npm ci --no-audit --no-fund --silent) || { echo "0 passed, 1 failed"; return; }
	fi
	for file in action.yml */action.yml .github/workflows/*.yml; do
		[ -f "$file" ] || continue
		if "$v" "$file" >/dev/null 2>&1; then p=$((p + 1)); echo "ok   $file"
		else f=$((f + 1)); echo "FAIL $file"; "$v" "$file" 2>&1 | head -n 20; fi
	done
	echo "$p passed, $f failed"
}

run_part "command line" tests/cli/cli-test.sh "$mlops"
run_part "action.yml schema" validate_actions
run_part "sandbox" sandbox/sandbox.sh test
run_part "clients against the sandbox" tests/sandbox/run.sh "$(dirname "$mlops")/sandbox-tests"
run_part "workflows against the sandbox" tests/workflows/workflows-test.sh "$mlops"
run_part "hostile repository against the sandbox" tests/workflows/hostile-repo-test.sh "$mlops"
run_part "model-ci against the sandbox" tests/workflows/model-ci-test.sh "$mlops"
run_part "model-ct against the sandbox" tests/workflows/model-ct-test.sh "$mlops"
run_part "model-ci re-runs and long jobs" tests/workflows/rerun-test.sh "$mlops"
run_part "model-ci on a hostile repository" tests/workflows/hostile-code-test.sh "$mlops"
run_part "distributed jobs against the sandbox" tests/workflows/jobs-test.sh "$mlops"
run_part "model-ci on pipeline jobs" tests/workflows/pipeline-test.sh "$mlops"
run_part "the Azure CLI against the sandbox" tests/conformance/az-cli-test.sh "$mlops"
if [ -x tests/container/rootfs-test.sh ] && [ "${MLOPS_SKIP_CONTAINER:-0}" != 1 ]; then
	run_part "container root" bash -c 'make -s rootfs >/dev/null && tests/container/rootfs-test.sh build/rootfs'
fi

echo
if [ "$total_skip" -gt 0 ]; then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi
[ "$total_fail" -eq 0 ]
