# For the Model-CD workflow tests, after tests/workflows/lib.sh,
# model-ci-lib.sh and training_sandbox: the model and endpoint every
# script uses, the example deployment folder in the workspace, and what
# the scripts ask of a step and of the sandbox's state.

model=churn-classifier
endpoint=churn-endpoint
cp -r "$repo/deployments" "$work/ws/"

# logs PATTERN, in_summary PATTERN: the step's log or summary holds it.
logs() { grep -q -- "$1" "$work/log" || { echo "no '$1' in the log:"; tail -n 15 "$work/log"; return 1; }; }
in_summary() { grep -q -- "$1" "$work/summary" || { echo "no '$1' in the summary:"; cat "$work/summary"; return 1; }; }
# stages: "VERSION=STAGE ..." of every version, "-" for no stage tag.
stages() { state "' '.join(v + '=' + d['tags'].get('stage', '-') for v, d in sorted(w['models']['$model']['versions'].items()))"; }

# cd_step STAGE [NAME=VALUE...]: one Model-CD step on the model and
# endpoint, deciding on test_loss (lower is better), with short bakes;
# later NAME=VALUE win. cd_args STAGE: those defaults.
cd_args() {
	echo INPUT_STAGE="$1" INPUT_MODEL-NAME=$model INPUT_ENDPOINT-NAME=$endpoint \
		INPUT_METRIC=test_loss INPUT_DIRECTION=minimize GITHUB_ACTOR=octocat \
		INPUT_BAKE-MINUTES=0.05 INPUT_TIMEOUT-MINUTES=5 ASAN_OPTIONS=detect_leaks=0
}
# shellcheck disable=SC2046 # the defaults are words without spaces
cd_step() { gh model-cd $(cd_args "$1") "${@:2}"; }

# train_and_register JOB: Model-CT's two stages; prints the new version.
train_and_register() {
	gh model-ct INPUT_JOB="$1"
	[ "$(rc)" = 0 ] || { tail -n 20 "$work/log"; return 1; }
	gh model-ct INPUT_STAGE=register INPUT_MODEL-NAME=$model INPUT_JOB-NAME="$(output job-name)"
	[ "$(rc)" = 0 ] || { tail -n 20 "$work/log"; return 1; }
	output model-version
}
