#!/usr/bin/env bash
# Everything after the unit tests, each part its own script with its own
# "N passed, M failed" line; this one adds them up into the last line. The
# sandbox-backed parts run two at a time (start_part below).
#   tests/cli/cli-test.sh            the binary under GitHub, Pipelines, terminal
#   action-validator                 every action.yml against the schema
#   sandbox/sandbox.sh test          the local Azure sandbox's own tests
#   tests/sandbox/run.sh             the C clients against a live sandbox
#   tests/workflows/workflows-test.sh the workflows, run as the runner runs them, on a sandbox
#   tests/workflows/hostile-repo-test.sh  a hostile repository's data and environments
#   tests/workflows/model-ci-test.sh  Model-CI: real training jobs on a sandbox
#   tests/workflows/model-ct-test.sh  Model-CT: train, then register with lineage
#   tests/workflows/model-cd-test.sh  Model-CD: evaluate, roll out, breach, rollback, crash
#   tests/workflows/model-cd-inline-test.sh  Model-CD on an inline environment, registered by content
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

# tally NAME LOG: adds the part's "N passed, M failed" line to the totals.
tally() {
	local name=$1 log=$2 line p f s
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
}

# run_part NAME COMMAND...: one part, its output as it comes.
run_part() {
	local name=$1 log
	shift
	log=$(mktemp)
	echo "== $name"
	"$@" 2>&1 | tee "$log"
	tally "$name" "$log"
	rm -f "$log"
}

# The parts that start a sandbox of their own (its own ports and folders)
# run $MLOPS_TEST_LANES at a time, default 2: their jobs mostly wait, so
# two share the machine's cores without starving a timed step. Each
# part's output is printed whole, in the order they were started, once
# all have ended.
lanes=${MLOPS_TEST_LANES:-2}
lane_names=() lane_logs=()

# start_part NAME COMMAND...: the part in a lane, once one is free.
start_part() {
	local name=$1 log
	shift
	while [ "$(jobs -rp | wc -l)" -ge "$lanes" ]; do wait -n; done
	log=$(mktemp)
	echo "-- started: $name"
	"$@" >"$log" 2>&1 </dev/null &
	lane_names+=("$name") lane_logs+=("$log")
}

finish_parts() {
	local i
	wait
	for i in "${!lane_names[@]}"; do
		echo "== ${lane_names[$i]}"
		cat "${lane_logs[$i]}"
		tally "${lane_names[$i]}" "${lane_logs[$i]}"
		rm -f "${lane_logs[$i]}"
	done
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
# Longest first, so the lanes end close together.
start_part "model-ci against the sandbox" tests/workflows/model-ci-test.sh "$mlops"
start_part "model-ci re-runs and long jobs" tests/workflows/rerun-test.sh "$mlops"
start_part "model-ct against the sandbox" tests/workflows/model-ct-test.sh "$mlops"
start_part "model-cd against the sandbox" tests/workflows/model-cd-test.sh "$mlops"
start_part "model-cd with an evaluation job" tests/workflows/model-cd-evaljob-test.sh "$mlops"
start_part "model-cd on an inline environment" tests/workflows/model-cd-inline-test.sh "$mlops"
start_part "workflows against the sandbox" tests/workflows/workflows-test.sh "$mlops"
start_part "the Azure CLI against the sandbox" tests/conformance/az-cli-test.sh "$mlops"
start_part "sandbox" sandbox/sandbox.sh test
start_part "clients against the sandbox" tests/sandbox/run.sh "$(dirname "$mlops")/sandbox-tests"
start_part "model-ci on pipeline jobs" tests/workflows/pipeline-test.sh "$mlops"
start_part "model-ci on a hostile repository" tests/workflows/hostile-code-test.sh "$mlops"
start_part "hostile repository against the sandbox" tests/workflows/hostile-repo-test.sh "$mlops"
start_part "distributed jobs against the sandbox" tests/workflows/jobs-test.sh "$mlops"
finish_parts
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
