#!/usr/bin/env bash
# `make demo`: the whole flow on the local Azure sandbox. Starts a private
# sandbox (Azurite + the emulator), then runs Workspace-CD, Environment-CI,
# Environment-CD, Model-CI, Model-CT (a weak baseline, then the example
# job: each trained, then registered) and Model-CD (the baseline deployed
# first, then the better model rolled out in steps under live traffic)
# from a terminal over the repository's own .cloud/, datasets/,
# environments/, jobs/ and deployments/, printing each one's summary and
# outputs; then the story's end: every version and its stage, the
# endpoint's traffic, a scoring request answered by the real scoring
# script, the model's stage history.
# Nothing in the repository is changed (the baseline job is a copy in the
# sandbox's folder); the sandbox is stopped at the end.
set -euo pipefail
mlops=$(realpath "${1:-build/mlops}")
cd "$(dirname "$0")/.."

export SANDBOX_DIR=${SANDBOX_DIR:-$PWD/build/demo-sandbox}
sandbox/sandbox.sh stop >/dev/null 2>&1 || true
sandbox/sandbox.sh start >/dev/null
traffic_pid=
# shellcheck disable=SC2317 # run by the trap
finish() {
	[ -z "$traffic_pid" ] || kill "$traffic_pid" 2>/dev/null || true
	sandbox/sandbox.sh stop >/dev/null 2>&1 || true
}
trap finish EXIT
# shellcheck disable=SC1091
. "$SANDBOX_DIR/env"
unset GITHUB_ACTIONS # a terminal run: outputs as JSON, summaries to files
summaries=$SANDBOX_DIR/summaries
mkdir -p "$summaries"

echo "Local Azure sandbox: subscription $AZURE_SUBSCRIPTION_ID, resource group $AZURE_RESOURCE_GROUP"
# A metrics "minute" of one second, so that Model-CD's short bakes are judged.
curl -s -X POST -d '{"metrics_grain_seconds": 1}' "$SANDBOX_CONTROL_URL/config" >/dev/null

# step_as NAME WORKFLOW [--INPUT VALUE]...: one workflow run from the
# current folder; its summary in $summaries/NAME.md, its outputs (JSON) in
# $summaries/NAME.json, both printed.
step_as() {
	local name=$1 wf=$2
	shift 2
	echo
	echo "================================================================ $name"
	# The secret goes in the environment, not on a command line others can read.
	INPUT_CREDS=$AZURE_CREDENTIALS "$mlops" "$wf" --resource-group "$AZURE_RESOURCE_GROUP" \
		--workspace-name "$AZURE_ML_WORKSPACE" --summary "$summaries/$name.md" "$@" \
		>"$summaries/$name.json"
	echo "---- summary"
	cat "$summaries/$name.md"
	echo "---- outputs"
	cat "$summaries/$name.json"
}
step() { step_as "$1" "$@"; }
# output NAME KEY: one output of run NAME.
output() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$summaries/$1.json" "$2"
}
heading() {
	echo
	echo "################################################################ $*"
}
# state EXPR: a Python expression over the sandbox's state (the ML workspace
# is `ws`, its assets `w`), printed.
state() {
	curl -s "$SANDBOX_CONTROL_URL/state" | python3 -c "
import json, sys
s = json.load(sys.stdin)
ws = s['azureml']['$AZURE_RESOURCE_GROUP/$AZURE_ML_WORKSPACE']
w = ws['assets']
$1"
}

step workspace-cd --what-if true
step workspace-cd
step environment-ci
step environment-cd
step environment-ci
step model-ci --artifacts "$SANDBOX_DIR/artifacts"

model=churn-classifier
endpoint=churn-endpoint
# train_and_register NAME JOB: Model-CT's two stages over JOB, from the
# current folder; NAME names their summaries.
train_and_register() {
	step_as "$1-train" model-ct --stage train --job "$2" --artifacts "$SANDBOX_DIR/artifacts"
	step_as "$1-register" model-ct --stage register --job-name "$(output "$1-train" job-name)" \
		--model-name $model
}
heading "Model-CT: a weak baseline (1 epoch, learning rate 0.001), then the example job"
# The baseline is a copy of jobs/train.yml in a workspace of its own, so
# the repository stays as it is.
baseline=$SANDBOX_DIR/baseline
rm -rf "$baseline" && mkdir -p "$baseline/jobs"
cp -r environments training "$baseline/"
sed -e 's/epochs: 30/epochs: 1/' -e 's/learning_rate: 0.1/learning_rate: 0.001/' \
	jobs/train.yml >"$baseline/jobs/baseline.yml"
(cd "$baseline" && train_and_register model-ct-baseline jobs/baseline.yml)
train_and_register model-ct jobs/train.yml

heading "Model-CD: the baseline (version 1) goes to production first"
# cd_step STAGE-N [--INPUT VALUE]...: Model-CD's stage STAGE on the
# model and endpoint, its summary named model-cd-STAGE-N.
cd_step() {
	step_as "model-cd-$1" model-cd --stage "${1%-*}" --model-name $model --endpoint-name $endpoint \
		--metric test_loss --direction minimize --bake-minutes 0.05 --timeout-minutes 5 "${@:2}"
}
# decision NAME: run NAME's decision output, in words.
decision() {
	python3 - "$summaries/model-cd-$1.json" <<'PY'
import json, sys
out = json.load(open(sys.argv[1]))
d = json.loads(out["decision"])
p = d["policy"]
side = lambda who: "%s version %s (%s %.4f)" % (who, d[who]["version"], p["metric"], d[who]["value"])
print("---- the decision")
print("policy: %s, %s, by at least %s" % (p["metric"], p["direction"], p["min_delta"]))
if d["champion"] is None:
    print("no champion in production yet: %s wins, a first deployment" % side("challenger"))
else:
    print("%s against %s: delta %.4f" % (side("champion"), side("challenger"), d["delta"]))
    print("the %s wins%s" % (d["winner"], " (forced by %s)" % d["actor"] if d["forced"] else ""))
print("why: %s" % d["reason"])
print("deploy: %s" % out["deploy"])
PY
}
# Live traffic from here on: a caller of the endpoint scoring a request
# every 0.05 s (from the moment the endpoint exists), so that each traffic
# step is judged on requests the new deployment really served.
answers=$summaries/answers
: >"$answers"
python3 tests/workflows/traffic.py $endpoint deployments/smoke-request.json "$answers" 0.05 &
traffic_pid=$!
cd_step evaluate-1 --model-version 1
decision evaluate-1
cd_step deploy-1

heading "Model-CD: the example job's model (version 2) challenges it, then rolls out in steps"
cd_step evaluate-2
decision evaluate-2
cd_step deploy-2
kill "$traffic_pid" 2>/dev/null || true
wait "$traffic_pid" 2>/dev/null || true
traffic_pid=
echo "---- the live traffic's answers, by deployment and HTTP status"
# 424: the endpoint existed, but no deployment received traffic yet.
sort "$answers" | uniq -c | sed 's/ - 424$/ (no deployment) 424/'

heading "Every version of $model and its stage"
state "
print('%-8s %-10s %-10s %s' % ('version', 'test_loss', 'stage', 'job'))
for v, d in sorted(w['models']['$model']['versions'].items(), key=lambda i: int(i[0])):
    t = d.get('tags') or {}
    print('%-8s %-10s %-10s %s' % (v, t.get('metric.test_loss', '-'), t.get('stage', '-'), d.get('jobName')))"

heading "The endpoint's traffic"
state "
e = ws['onlineEndpoints']['$endpoint']
print('endpoint $endpoint, scoring URI $(output model-cd-deploy-2 scoring-uri)')
for name, share in sorted(e['properties'].get('traffic', {}).items()):
    tags = e['deployments'][name].get('tags') or {}
    print('  %-32s %3d%%  model version %s' % (name, share, tags.get('modelVersion', '-')))"

heading "A scoring request, answered by deployments/score.py"
# As a caller does: the endpoint's key (ARM listKeys), then the scoring URI.
python3 - deployments/smoke-request.json <<'PY'
import json, sys
sys.path.insert(0, "tests/workflows")
from traffic import call, key_and_uri
body = open(sys.argv[1], "rb").read()
key, uri = key_and_uri("churn-endpoint")
r = call("POST", uri, raw=body, headers={"Content-Type": "application/json", "Authorization": "Bearer " + key})
print("POST %s" % uri)
print(body.decode().strip())
print("---- HTTP %d from deployment %s" % (r.status, r.header("azureml-model-deployment")))
print(json.dumps(r.json(), indent=2))
PY

step_as model-cd-history model-cd --stage history --model-name $model
echo
echo
echo "Done: the workspace, its datasets and environments, two trained and registered models and the better"
echo "one in production behind $endpoint (the other kept at 0% for a rollback), in the sandbox (now stopped);"
echo "summaries in $summaries, the training logs in $SANDBOX_DIR/artifacts."
