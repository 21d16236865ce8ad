#!/usr/bin/env bash
# Model-CD end to end: the real binary, run the way the GitHub runner runs
# a container action, against a private local sandbox that trains the
# models for real (Model-CT), runs each deployment's scoring script and
# serves the endpoint's Azure Monitor metrics from the requests it
# answered. Live traffic comes from tests/workflows/traffic.py, a client
# of the endpoint with its key. The tests run in order, as one model's
# life: first deployment, a better challenger rolled out in steps, a worse
# one refused, a forced promotion, a rollback, a breach rolled back, a
# failed provisioning explained, a crash between tag writes repaired, two
# runs at once.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"
. "$repo/tests/workflows/model-ci-lib.sh"

training_sandbox model-cd
. "$repo/tests/workflows/model-cd-lib.sh"
# A metrics "minute" of one second, so a bake of a few seconds is judged.
curl -s -X POST -d '{"metrics_grain_seconds": 1}' "$SANDBOX_CONTROL_URL/config" >/dev/null

sha=3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c
# cd STAGE [NAME=VALUE...]: one Model-CD step on the test's model and endpoint.
# cd_bg STAGE [NAME=VALUE...]: the same in the background, its pid (the
# program's own: gh_runner execs it) in $bg_pid; signals go to it alone,
# never to another test's step running at the same time.
# shellcheck disable=SC2046
cd_bg() { bg model-cd $(cd_args "$1") "${@:2}"; }
# stage_of VERSION: the version's stage tag, or "-".
stage_of() { state "w['models']['$model']['versions']['$1']['tags'].get('stage', '-')"; }
traffic() { state "json.dumps(ws['onlineEndpoints']['$endpoint']['properties'].get('traffic', {}), sort_keys=True)"; }
# deployment_of VERSION: the deployment Model-CD names for it.
deployment_of() { local c=${2:-$sha}; echo "churn-classifier-v$1-${c:0:7}"; }
# valid: at most one staged and one production version.
valid() {
	state "all(sum(1 for d in w['models']['$model']['versions'].values() if d['tags'].get('stage') == s) <= 1 for s in ('staged', 'production'))"
}
# live_traffic: scores in the background until the test ends; answers in $work/answers.
live_traffic() {
	: >"$work/answers"
	python3 "$repo/tests/workflows/traffic.py" $endpoint "$work/ws/deployments/smoke-request.json" \
		"$work/answers" 0.05 >/dev/null 2>&1 &
	traffic_pid=$!
}
stop_traffic() { kill "$traffic_pid" 2>/dev/null; wait "$traffic_pid" 2>/dev/null; }

# delete_deployment NAME: deletes it as a person would with the CLI, and
# waits until it is gone.
delete_deployment() {
	PYTHONPATH="$repo/sandbox" python3 - "$endpoint" "$1" <<'PY'
import sys, time
from tests.helpers import call, token, ws_url
tok, path = token(), "/onlineEndpoints/%s/deployments/%s" % (sys.argv[1], sys.argv[2])
assert call("DELETE", ws_url(path), token=tok).status in (200, 202, 204)
while call("GET", ws_url(path), token=tok).status != 404:
    time.sleep(0.1)
PY
}

t_setup_trains_a_weak_and_a_strong_model() {
	gh workspace-cd
	expect "$(rc)" 0 || return 1
	gh environment-cd
	expect "$(rc)" 0 || return 1
	sed -e 's/epochs: 30/epochs: 1/' -e 's/learning_rate: 0.1/learning_rate: 0.001/' \
		"$work/ws/jobs/train.yml" >"$work/ws/jobs/weak.yml"
	expect "$(train_and_register jobs/weak.yml)" 1 && expect "$(train_and_register jobs/train.yml)" 2
}

t_bad_inputs_exit_2_before_anything() {
	cd_step all
	expect "$(rc)" 2 && logs "Input stage: 'all' is not evaluate, deploy, rollback or history" || return 1
	cd_step deploy INPUT_TRAFFIC-STEPS=50,10
	expect "$(rc)" 2 && logs 'traffic-steps' || return 1
	cd_step deploy INPUT_MAX-ERROR-RATE=150%
	expect "$(rc)" 2 && logs "Input max-error-rate: '150%25'" || return 1
	cp "$work/ws/deployments/online.yml" "$work/ws/deployments/bad.yml"
	sed -i 's/^instance_count: 1/instance_count: many/' "$work/ws/deployments/bad.yml"
	cd_step deploy INPUT_DEPLOYMENT=deployments/bad.yml
	expect "$(rc)" 2 && logs 'deployments/bad.yml:[0-9]*:[0-9]*: .*instance_count' || return 1
	cd_step deploy INPUT_SMOKE-REQUEST=../etc/passwd
	expect "$(rc)" 2 && expect "$(state "'$endpoint' in ws.get('onlineEndpoints', {})")" False &&
		expect "$(stages)" "1=- 2=-"
}

t_the_first_model_goes_to_production() {
	cd_step evaluate INPUT_MODEL-VERSION=1
	expect "$(rc)" 0 && expect "$(output deploy)" true && expect "$(stage_of 1)" staged &&
		logs 'first deployment' || return 1
	python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['winner']=='challenger' and d['champion'] is None, d" \
		"$(output decision)" || return 1
	cd_step deploy
	expect "$(rc)" 0 && expect "$(output deployment)" "$(deployment_of 1)" &&
		expect "$(traffic)" "{\"$(deployment_of 1)\": 100}" && expect "$(stages)" "1=production 2=-" &&
		expect "$(state "ws['onlineEndpoints']['$endpoint']['tags']['commit']")" $sha &&
		expect "$(state "ws['onlineEndpoints']['$endpoint']['deployments']['$(deployment_of 1)']['tags']['modelVersion']")" 1 &&
		in_summary 'Smoke test: HTTP 200' || return 1
	# The real scoring script answers a caller.
	live_traffic
	for i in $(seq 150); do
		grep -q "^$(deployment_of 1) 200$" "$work/answers" && break
		sleep 0.1
	done
	stop_traffic
	grep -q "^$(deployment_of 1) 200$" "$work/answers"
}

t_a_better_challenger_rolls_out_in_steps() {
	live_traffic
	cd_step evaluate
	expect "$(rc)" 0 && expect "$(output model-version)" 2 && expect "$(output deploy)" true &&
		expect "$(stages)" "1=production 2=staged" || { stop_traffic; return 1; }
	cd_step deploy INPUT_MAX-LATENCY-MS=5000
	stop_traffic
	expect "$(rc)" 0 && expect "$(output model-version)" 2 &&
		expect "$(output previous-deployment)" "$(deployment_of 1)" &&
		expect "$(traffic)" "{\"$(deployment_of 1)\": 0, \"$(deployment_of 2)\": 100}" &&
		expect "$(stages)" "1=surpassed 2=production" &&
		in_summary '| 3 |.* 100%' && grep -q "^$(deployment_of 2) 200$" "$work/answers" ||
		return 1
	# The steps were judged on requests the new deployment really served.
	grep -E '^\| 1 \|' "$work/summary" | grep -qv '| 0 | 0 | 0 |'
}

t_a_worse_challenger_changes_nothing() {
	cd_step evaluate INPUT_MODEL-VERSION=1
	expect "$(rc)" 0 && expect "$(output deploy)" false && expect "$(stages)" "1=surpassed 2=production" &&
		logs '::warning title=no deployment'
}

t_a_forced_promotion_says_who() {
	cd_step evaluate INPUT_MODEL-VERSION=1 INPUT_FORCE=true
	expect "$(rc)" 0 && expect "$(output deploy)" true && expect "$(stages)" "1=staged 2=production" &&
		python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['forced'] is True and d['actor']=='octocat', d" \
			"$(output decision)"
}

t_rollback_restores_the_previous_deployment() {
	cd_step rollback
	expect "$(rc)" 0 && expect "$(output deployment)" "$(deployment_of 1)" &&
		expect "$(traffic)" "{\"$(deployment_of 1)\": 100, \"$(deployment_of 2)\": 0}" &&
		expect "$(stages)" "1=production 2=surpassed" || return 1
	cd_step history
	expect "$(rc)" 0 && logs 'staged -> production' && logs 'production -> surpassed'
}

t_a_breach_at_the_50_percent_step_rolls_back() {
	local v
	v=$(train_and_register jobs/train.yml) && expect "$v" 3 || return 1
	cd_step evaluate INPUT_MODEL-VERSION=3
	expect "$(rc)" 0 && expect "$(stages)" "1=production 2=surpassed 3=staged" || return 1
	# Unhealthy once it serves: the smoke request (the first) passes.
	fault "{\"kind\": \"unhealthy\", \"endpoint\": \"$endpoint\", \"deployment\": \"$(deployment_of 3)\", \"error_share\": 0.6, \"skip\": 1}" >/dev/null
	live_traffic
	cd_step deploy INPUT_TRAFFIC-STEPS=50,100 INPUT_MAX-ERROR-RATE=5%
	stop_traffic
	curl -s -X DELETE "$SANDBOX_CONTROL_URL/faults" >/dev/null
	expect "$(rc)" 1 && expect "$(traffic)" "{\"$(deployment_of 1)\": 100, \"$(deployment_of 2)\": 0}" &&
		expect "$(stages)" "1=production 2=surpassed 3=staged" &&
		logs 'breached at 50%25: 5xx [0-9]* of [0-9]* requests .* > max-error-rate 5%25'
}

t_a_failed_provisioning_is_explained() {
	# Another commit: a deployment of its own (the one of this version and
	# the first commit exists and would be reused).
	local other=9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c
	sed 's/^def init():/def init():\n    raise RuntimeError("the model file is corrupt")/' "$repo/deployments/score.py" \
		>"$work/ws/deployments/score.py"
	cd_step deploy GITHUB_SHA=$other
	cp "$repo/deployments/score.py" "$work/ws/deployments/score.py"
	expect "$(rc)" 1 && expect "$(traffic)" "{\"$(deployment_of 1)\": 100, \"$(deployment_of 2)\": 0}" &&
		expect "$(stages)" "1=production 2=surpassed 3=staged" &&
		in_summary '#### Diagnosis' && in_summary 'the model file is corrupt' &&
		logs '::error file=deployments/online.yml,line=[0-9]*'
}

t_a_crash_between_tag_writes_is_repaired() {
	# Version 3 rolled out (its deployment of the first commit is healthy
	# now); of the two tag writes that follow (version 1 surpassed, then
	# version 3 production) the second waits on the read before it (the
	# first read of version 3, its id, passes), held by the sandbox for
	# 20 s, and the step is killed meanwhile. (A held write would land
	# after the kill, as a lost write does, and change the state later.)
	fault '{"kind": "delay", "seconds": 20, "method": "GET", "path": "/models/churn-classifier/versions/3$", "skip": 1}' >/dev/null
	local i
	cd_bg deploy INPUT_BAKE-MINUTES=0.02
	for i in $(seq 300); do
		grep -q 'deployed: 1 production -> surpassed' "$work/log" 2>/dev/null && break
		sleep 0.1
	done
	sleep 1
	kill -KILL "$bg_pid"
	wait "$bg_pid" 2>/dev/null
	curl -s -X DELETE "$SANDBOX_CONTROL_URL/faults" >/dev/null
	expect "$(stages)" "1=surpassed 2=surpassed 3=staged" && expect "$(valid)" True || return 1
	cd_step evaluate INPUT_MODEL-VERSION=3
	expect "$(rc)" 0 && logs '::notice::.*3' && expect "$(stages)" "1=surpassed 2=surpassed 3=production"
}

t_rollback_without_a_kept_deployment_redeploys() {
	delete_deployment "$(deployment_of 1)" && delete_deployment "$(deployment_of 2)" || return 1
	cd_step rollback
	expect "$(rc)" 0 && expect "$(output deployment)" "$(deployment_of 2)" &&
		expect "$(output model-version)" 2 &&
		expect "$(traffic)" "{\"$(deployment_of 2)\": 100, \"$(deployment_of 3)\": 0}" &&
		expect "$(stages)" "1=surpassed 2=production 3=surpassed" && logs 'redeploying version 2' ||
		return 1
	# Again: further back (version 1, redeployed), never forth to 3.
	cd_step rollback
	expect "$(rc)" 0 && expect "$(output model-version)" 1 &&
		expect "$(stages)" "1=production 2=surpassed 3=surpassed" || return 1
	# And once more: nothing older than version 1 is left.
	cd_step rollback
	expect "$(rc)" 1 && logs 'nothing to roll back to' && expect "$(stages)" "1=production 2=surpassed 3=surpassed"
}

t_two_runs_at_once_keep_the_invariant() {
	# Each with a log and outputs of its own; at least one wins, and the
	# end holds the invariant with one of them staged.
	local a b ca cb
	(work=$work/a && mkdir -p "$work" && cp -r "${work%/a}/ws" "$work/" &&
		cd_step evaluate INPUT_MODEL-VERSION=1 INPUT_FORCE=true && exit "$(rc)") &
	a=$!
	(work=$work/b && mkdir -p "$work" && cp -r "${work%/b}/ws" "$work/" &&
		cd_step evaluate INPUT_MODEL-VERSION=2 INPUT_FORCE=true && exit "$(rc)") &
	b=$!
	wait $a
	ca=$?
	wait $b
	cb=$?
	[ "$ca" = 0 ] || [ "$cb" = 0 ] || { echo "both runs failed: $ca $cb"; tail -n 5 "$work/a/log" "$work/b/log"; return 1; }
	expect "$(valid)" True &&
		state "[v for v, d in w['models']['$model']['versions'].items() if d['tags'].get('stage') in ('staged', 'production')]" |
		grep -q "'[12]'"
}

t_a_stop_during_the_bake_puts_the_traffic_back() {
	local before i t0 code
	cd_step evaluate INPUT_MODEL-VERSION=3 INPUT_FORCE=true
	expect "$(rc)" 0 && expect "$(stage_of 3)" staged || return 1
	before=$(traffic)
	cd_bg deploy INPUT_BAKE-MINUTES=0.5
	for i in $(seq 300); do
		grep -q '^baking ' "$work/log" 2>/dev/null && break
		sleep 0.1
	done
	t0=$(date +%s)
	kill -TERM "$bg_pid"
	wait "$bg_pid"
	code=$?
	[ $(($(date +%s) - t0)) -le 5 ] || { echo "the step took more than 5 s to stop"; return 1; }
	expect "$code" 1 && logs 'restoring the traffic as it was' && logs 'cancelled::stopped while the deployment baked' &&
		expect "$(traffic)" "$before" && expect "$(stage_of 3)" staged && expect "$(valid)" True
}

t_an_answer_other_than_expected_fails_the_smoke_test() {
	local before
	before=$(traffic)
	echo '{"predictions": [7, 7]}' >"$work/ws/deployments/expect.json"
	cd_step deploy INPUT_SMOKE-EXPECT=deployments/expect.json
	expect "$(rc)" 1 && logs 'lacks what smoke-expect holds' && expect "$(traffic)" "$before" &&
		expect "$(stage_of 3)" staged
}

t_a_direct_rollout_that_keeps_nothing_behind() {
	echo '{"predictions": [1, 0]}' >"$work/ws/deployments/expect.json"
	cd_step deploy INPUT_ROLLOUT=direct INPUT_KEEP-PREVIOUS=false INPUT_SMOKE-EXPECT=deployments/expect.json
	# The one serving before (version 1's) is deleted; 2's, idle, is left.
	expect "$(rc)" 0 && expect "$(traffic)" "{\"$(deployment_of 2)\": 0, \"$(deployment_of 3)\": 100}" &&
		expect "$(state "'$(deployment_of 1)' in ws['onlineEndpoints']['$endpoint']['deployments']")" False &&
		expect "$(stage_of 3)" production && expect "$(stage_of 1)" surpassed && expect "$(valid)" True
}

run_runs 400
