#!/usr/bin/env bash
# Model-CI end to end: the real binary, run the way the GitHub runner runs
# a container action, against a private local sandbox that really runs the
# submitted command jobs; the sandbox's state is read back after each run.
# Workspace-CD and Environment-CD run first, so the churn data asset and
# train-env exist as the shipped jobs/train.yml expects.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"
. "$repo/tests/workflows/model-ci-lib.sh"

training_sandbox model-ci

# chart_of KEY: the Mermaid chart of metric KEY in the summary.
chart_of() {
	awk -v t="    title \"$1\"" '/^```mermaid$/ { c = ""; on = 1; next }
		on && /^```$/ { if (index(c "\n", "\n" t "\n")) printf "%s\n", c; on = 0; next }
		on { c = c "\n" $0 }' "$work/summary" | sed '1{/^$/d}'
}

t_setup_registers_the_data_and_the_environment() {
	gh workspace-cd
	expect "$(rc)" 0 || return 1
	gh environment-cd
	expect "$(rc)" 0 && expect "$(state "sorted(w['environments']['train-env']['versions'])")" "['1']"
}

t_training_job_completes_with_metrics_logs_and_artifact() {
	gh model-ci
	local job
	job=$(output job-name)
	expect "$(rc)" 0 && expect "$(output status)" Completed &&
		[ -n "$job" ] &&
		python3 -c "import json,sys; m=json.loads(sys.argv[1]); assert 0.5 < m['accuracy'] <= 1 and 'auc' in m and 'loss' in m, m" "$(output metrics)" &&
		grep -q '^::group::Job .* log$' "$work/log" &&
		grep -q '^epoch 30/30 loss' "$work/log" &&
		grep -q '^test accuracy' "$work/log" &&
		grep -q "Job \`$job\`: \*\*Completed\*\*" "$work/summary" &&
		grep -q '| accuracy |' "$work/summary" && grep -q '| learning_rate | 0.1 |' "$work/summary" &&
		expect "$(state "jobs['$job']['properties']['tags']['commit']")" 3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c &&
		expect "$(state "jobs['$job']['properties']['experimentName']")" mlops-example &&
		expect "$(state "len(w['codes']['training']['versions'])")" 1 &&
		state "[n for r in s['artifacts'].values() for n in r]" | grep -q "training-logs-$job" &&
		grep -q "training-logs-$job" "$work/summary" &&
		python3 -c "import json,sys; p=json.loads(sys.argv[1]); assert p['learning_rate'] == '0.1' and p['epochs'] == '30', p" "$(output params)" &&
		expect "$(output model-uri)" "azureml://jobs/$job/outputs/model" &&
		expect "$(output gate)" none && ! grep -q 'Metric gate' "$work/summary" &&
		[ -n "$(output artifact-id)" ] &&
		grep -q "/artifacts/$(output artifact-id))" "$work/summary" &&
		chart_of loss | grep -q '^    line \[0\.[0-9]*\(, [0-9.]*\)\{29\}\]$' &&
		chart_of loss | grep -q '^    x-axis "step" \["0", "1", .*"29"\]$'
}

# pr_run TOKEN [NAME=VALUE...]: model-ci as a pull_request run of PR 7 with
# input github-token TOKEN.
pr_run() {
	local token=$1
	shift
	printf '{"pull_request": {"number": 7}}\n' >"$work/event.json"
	gh model-ci GITHUB_EVENT_NAME=pull_request GITHUB_EVENT_PATH="$work/event.json" \
		GITHUB_REF=refs/pull/7/merge GITHUB_API_URL="$GITHUB_API_URL" GITHUB_REPOSITORY="$GITHUB_REPOSITORY" \
		GITHUB_WORKFLOW_REF=org/mlops-example/.github/workflows/model-ci.yml@refs/pull/7/merge \
		INPUT_GITHUB-TOKEN="$token" INPUT_METRIC-THRESHOLDS='auc>=0.5' "$@"
}
# comments EXPR: a Python expression over the pull request's comments `c`.
comments() { curl -s "$SANDBOX_CONTROL_URL/state" | python3 -c "
import json, sys
c = [x for x in json.load(sys.stdin)['issue_comments'] if x['issue'] == 7]
print($1)"; }

t_a_pull_request_gets_one_model_report_updated_on_every_run() {
	local first body
	pr_run "$SANDBOX_GITHUB_TOKEN"
	first=$(output job-name)
	body=$(comments "c[0]['body'] if c else ''")
	expect "$(rc)" 0 && expect "$(comments 'len(c)')" 1 &&
		grep -q '^<!-- mlops:model-report:' <<<"$body" &&
		grep -q "$first" <<<"$body" && grep -q '| auc |' <<<"$body" &&
		grep -q 'Metric gate: passed' <<<"$body" && grep -q '^xychart-beta' <<<"$body" &&
		grep -qxF "::add-mask::$SANDBOX_GITHUB_TOKEN" "$work/log" &&
		! grep -v '^::add-mask::' "$work/log" "$work/summary" "$work/output" |
			grep -qF "$SANDBOX_GITHUB_TOKEN" || return 1
	# The next push: a new run, a new job, the same comment updated.
	run_id=$((run_id + 500))
	pr_run "$SANDBOX_GITHUB_TOKEN"
	body=$(comments "c[0]['body'] if c else ''")
	expect "$(rc)" 0 && [ "$(output job-name)" != "$first" ] &&
		expect "$(comments 'len(c)')" 1 &&
		grep -q "$(output job-name)" <<<"$body" && ! grep -q "$first" <<<"$body" &&
		expect "$(comments "c[0]['updated_at'] > c[0]['created_at']")" True
}

t_a_token_that_cannot_comment_is_a_warning_naming_the_permission() {
	pr_run "$SANDBOX_GITHUB_READONLY_TOKEN"
	expect "$(rc)" 0 && expect "$(output status)" Completed &&
		grep -q '^::warning.*pull-requests: write' "$work/log" &&
		! grep -v '^::add-mask::' "$work/log" | grep -qF "$SANDBOX_GITHUB_READONLY_TOKEN"
}

t_unchanged_code_reuses_its_snapshot() {
	gh model-ci INPUT_WAIT=false
	expect "$(rc)" 0 && grep -q 'reused (unchanged)' "$work/log" &&
		expect "$(state "len(w['codes']['training']['versions'])")" 1
}

t_failing_job_exits_1_with_its_error() {
	job_yaml fail <<'YML'
type: command
code: ../training
command: echo "::set-output name=x::y" && echo boom >&2 && exit 3
environment: azureml:train-env@latest
YML
	gh model-ci INPUT_JOB=jobs/fail.yml
	expect "$(rc)" 1 && expect "$(output status)" Failed &&
		grep -q '^::error title=model-ci%3A failed::job .* ended Failed' "$work/log" &&
		grep -B1 '^::set-output name=x::y$' "$work/log" | grep -q '^::stop-commands::' &&
		grep -q '^boom$' "$work/log" &&
		grep -q '\*\*Failed\*\*' "$work/summary"
}

t_timeout_cancels_the_job() {
	job_yaml slow <<'YML'
type: command
code: ../training
command: sleep 300
environment: azureml:train-env:1
YML
	# One minute is the smallest timeout the input takes.
	gh model-ci INPUT_JOB=jobs/slow.yml INPUT_TIMEOUT-MINUTES=1
	local job
	job=$(output job-name)
	expect "$(rc)" 1 && grep -q 'timeout error' "$work/log" &&
		expect "$(state "jobs['$job']['status']")" Canceled
}

t_sigterm_cancels_the_job_then_exits() {
	job_yaml slow <<'YML'
type: command
code: ../training
command: sleep 300
environment: azureml:train-env:1
YML
	(gh_cmd model-ci INPUT_JOB=jobs/slow.yml) >"$work/log" 2>&1 &
	local pid=$! job="" i
	for i in $(seq 1 100); do
		job=$(output job-name)
		[ -n "$job" ] && grep -q 'Running' "$work/log" && break
		sleep 0.2
	done
	kill -TERM "$pid"
	wait "$pid"
	local code=$?
	[ -n "$job" ] && [ "$code" -ne 0 ] && grep -q 'SIGTERM' "$work/log" &&
		expect "$(state "jobs['$job']['status']")" Canceled
}

t_rerun_of_the_same_attempt_follows_its_job_instead_of_training_again() {
	slow_job "sleep 4; echo trained once"
	bg model-ci INPUT_JOB=jobs/slow.yml
	wait_running || return 1
	kill -KILL "$bg_pid"
	wait "$bg_pid" 2>/dev/null
	local first=$job
	gh model-ci INPUT_JOB=jobs/slow.yml
	expect "$(rc)" 0 && expect "$(output status)" Completed && expect "$(output job-name)" "$first" &&
		grep -q "already submitted by this run attempt" "$work/log" &&
		grep -q '^trained once$' "$work/log" &&
		expect "$(state "len([j for j in jobs.values() if j['properties']['tags'].get('run_id') == '$run_id'])")" 1 &&
		expect "$(state "jobs['$first']['properties']['tags']['run_attempt']")" 1
}

# The step ran to its end (job, artifact) and is run again in the same
# attempt: it follows the same job and finds its artifact, training nothing.
t_a_rerun_after_the_whole_step_changes_nothing() {
	slow_job "echo trained once"
	gh model-ci INPUT_JOB=jobs/slow.yml
	local first
	first=$(output job-name)
	expect "$(rc)" 0 || return 1
	gh model-ci INPUT_JOB=jobs/slow.yml
	expect "$(rc)" 0 && expect "$(output job-name)" "$first" &&
		grep -q "already submitted by this run attempt" "$work/log" &&
		grep -q "artifact training-logs-$first was uploaded by the first run of this attempt" "$work/log" &&
		expect "$(state "len([j for j in jobs.values() if j['properties']['tags'].get('run_id') == '$run_id'])")" 1 &&
		expect "$(state "sum(1 for r in s['artifacts'].values() for n in r if n == 'training-logs-$first')")" 1
}

t_a_new_attempt_trains_anew() {
	slow_job "echo trained"
	gh model-ci INPUT_JOB=jobs/slow.yml
	expect "$(rc)" 0 || return 1
	local first
	first=$(output job-name)
	gh model-ci INPUT_JOB=jobs/slow.yml GITHUB_RUN_ATTEMPT=2
	expect "$(rc)" 0 && [ "$(output job-name)" != "$first" ] &&
		expect "$(state "sorted(j['properties']['tags']['run_attempt'] for j in jobs.values() if j['properties']['tags'].get('run_id') == '$run_id')")" "['1', '2']"
}

# More than the HTTP client's own retries last (about 20 s at most): only
# a follower that rides out the outage ends well.
t_thirty_seconds_of_503_on_the_status_poll_are_ridden_out() {
	slow_job "sleep 45; echo survived"
	bg model-ci INPUT_JOB=jobs/slow.yml
	wait_running || return 1
	local id n
	id=$(fault "{\"kind\": \"status\", \"status\": 503, \"method\": \"GET\", \"host\": \"management.azure.com\", \"path\": \"/jobs/$job\$\", \"count\": 0}")
	sleep 30
	n=$(applied "$id")
	curl -s -X DELETE "$SANDBOX_CONTROL_URL/faults/$id" >/dev/null
	wait "$bg_pid"
	echo $? >"$work/rc"
	expect "$(rc)" 0 && expect "$(output status)" Completed && grep -q '^survived$' "$work/log" &&
		grep -q 'status cannot be read' "$work/log" && [ "$n" -ge 5 ]
}

t_an_expired_token_on_the_status_poll_is_not_the_end() {
	slow_job "sleep 3; echo still here"
	bg model-ci INPUT_JOB=jobs/slow.yml
	wait_running || return 1
	fault "{\"kind\": \"expired_token\", \"method\": \"GET\", \"host\": \"management.azure.com\", \"path\": \"/jobs/$job\$\", \"count\": 1}" >/dev/null
	wait "$bg_pid"
	echo $? >"$work/rc"
	expect "$(rc)" 0 && expect "$(output status)" Completed && grep -q '^still here$' "$work/log"
}

t_a_status_poll_that_is_refused_cancels_the_job() {
	slow_job
	bg model-ci INPUT_JOB=jobs/slow.yml
	wait_running || return 1
	fault "{\"kind\": \"status\", \"status\": 400, \"code\": \"UserError\", \"method\": \"GET\", \"host\": \"management.azure.com\", \"path\": \"/jobs/$job\$\", \"count\": 0}" >/dev/null
	wait "$bg_pid"
	local code=$?
	curl -s -X DELETE "$SANDBOX_CONTROL_URL/faults" >/dev/null
	expect "$code" 1 && expect "$(state "jobs['$job']['status']")" Canceled
}

# The runner kills a step 10 s after its first signal: the cancel call is
# bounded even when it hangs.
t_sigterm_exits_in_time_when_the_cancel_hangs() {
	slow_job
	bg model-ci INPUT_JOB=jobs/slow.yml
	wait_running || return 1
	local id start end code
	id=$(fault "{\"kind\": \"delay\", \"seconds\": 60, \"method\": \"POST\", \"path\": \"/jobs/$job/cancel\", \"count\": 0}")
	start=$(date +%s)
	kill -TERM "$bg_pid"
	wait "$bg_pid"
	code=$?
	end=$(date +%s)
	local n
	n=$(applied "$id")
	curl -s -X DELETE "$SANDBOX_CONTROL_URL/faults" >/dev/null
	[ "$code" -ne 0 ] && [ $((end - start)) -lt 9 ] && grep -q 'SIGTERM' "$work/log" &&
		[ "$n" -ge 1 ] || { echo "exit $code after $((end - start)) s"; tail -n 5 "$work/log"; return 1; }
}

t_a_second_signal_exits_at_once() {
	slow_job
	bg model-ci INPUT_JOB=jobs/slow.yml
	wait_running || return 1
	local start end code
	fault "{\"kind\": \"delay\", \"seconds\": 60, \"method\": \"POST\", \"path\": \"/jobs/$job/cancel\", \"count\": 0}" >/dev/null
	kill -INT "$bg_pid"
	sleep 1
	start=$(date +%s)
	kill -TERM "$bg_pid"
	wait "$bg_pid"
	code=$?
	end=$(date +%s)
	curl -s -X DELETE "$SANDBOX_CONTROL_URL/faults" >/dev/null
	[ "$code" -ne 0 ] && [ $((end - start)) -le 1 ] && grep -q 'stopping at once' "$work/log" ||
		{ echo "exit $code after $((end - start)) s"; tail -n 5 "$work/log"; return 1; }
}

t_logs_not_uploaded_fail_the_step() {
	slow_job "echo trained"
	fault '{"kind": "status", "status": 403, "host": "results-receiver.actions.githubusercontent.com", "count": 0}' >/dev/null
	gh model-ci INPUT_JOB=jobs/slow.yml
	curl -s -X DELETE "$SANDBOX_CONTROL_URL/faults" >/dev/null
	expect "$(rc)" 1 && expect "$(output status)" Completed &&
		grep -q '^::error.*job logs not uploaded as artifact training-logs-' "$work/log"
}

t_a_bad_log_artifact_name_is_refused_before_submitting() {
	local before
	before=$(state "len(jobs)")
	gh model-ci INPUT_LOG-ARTIFACT='logs:of/run'
	expect "$(rc)" 2 && grep -q '^::error.*Input log-artifact' "$work/log" &&
		expect "$(state "len(jobs)")" "$before"
}

t_malformed_job_yaml_exits_2_and_submits_nothing() {
	local before
	before=$(state "len(jobs)")
	job_yaml bad <<'YML'
type: command
code: ../training
command: python train.py --data ${{inputs.data}}
environment: azureml:train-env:1
inputs:
  data:
    type: uri_folder
    path: azureml:churn:1
    colour: blue
YML
	gh model-ci INPUT_JOB=jobs/bad.yml
	expect "$(rc)" 2 &&
		grep -q "^::error file=jobs/bad.yml,line=9,col=[0-9]*,title=model-ci%3A input error::.*field 'inputs.data.colour': unknown" "$work/log" &&
		expect "$(state "len(jobs)")" "$before"
}

t_missing_environment_is_an_input_error() {
	job_yaml noenv <<'YML'
type: command
command: echo hi
environment: azureml:no-such-env:3
YML
	gh model-ci INPUT_JOB=jobs/noenv.yml
	expect "$(rc)" 2 && grep -q '^::error file=jobs/noenv.yml,line=3,.*no-such-env:3 is not registered' "$work/log"
}

# ---- what the job prints reaches the host as text, never as a command ----

# A job whose log holds what the runner or the agent would obey: a command
# after a bare CR, mid-line and indented ##vso[ commands, a NUL before one.
hostile_log_job() {
	job_yaml hostile <<'YML'
type: command
code: ../training
command: |
  printf 'progress\r::error::forged-by-job\n'
  printf 'x ##vso[task.setvariable variable=pwned]1\n'
  printf '  ##vso[task.complete result=Failed;]forged-by-job\n'
  printf 'nul\000::warning::forged-by-job after a NUL\n'
  printf 'end of the hostile log\n'
environment: azureml:train-env:1
YML
}

# commands_in HOST FILE: the lines of FILE the host would obey that carry
# the job's forged text, read as the host reads them (docs/workflow-commands.md:
# lines end at CR and LF; the runner trims white space and honours a
# stop-commands fence; the agent finds ##vso[ anywhere in a line).
commands_in() {
	python3 - "$1" "$2" <<'PY'
import re, sys
host, path = sys.argv[1], sys.argv[2]
text = open(path, 'rb').read().decode('utf-8', 'replace')
fence = None
for line in re.split(r'\r\n|\r|\n', text):
    t = line.strip()
    if host == 'github':
        if fence:
            if t == '::%s::' % fence:
                fence = None
            continue
        m = re.match(r'::stop-commands::(.+)$', t)
        if m:
            fence = m.group(1)
            continue
        obeyed = t.startswith('::') or '##[' in line
    else:
        obeyed = '##vso[' in line.lower() or t.startswith('##[')
    if obeyed and ('forged-by-job' in line or 'pwned' in line):
        print(repr(line))
PY
}

t_a_job_log_forms_no_command_for_the_runner() {
	hostile_log_job
	gh model-ci INPUT_JOB=jobs/hostile.yml
	local forged
	forged=$(commands_in github "$work/log")
	expect "$(rc)" 0 && expect "$forged" "" &&
		grep -q 'end of the hostile log' "$work/log" &&
		grep -q 'nul\\0::warning::forged-by-job after a NUL' "$work/log"
}

# pipe [NAME=VALUE...]: model-ci as an Azure Pipelines container step runs
# it: TF_BUILD, the agent's variables, inputs as INPUT_ variables with
# underscores; everything it prints in $work/log.
pipe() {
	(cd "$work/ws" && exec env -i PATH=/usr/bin:/bin HOME="$work" TF_BUILD=True \
		AGENT_TEMPDIRECTORY="$work/agent-temp" BUILD_SOURCESDIRECTORY="$work/ws" \
		BUILD_REPOSITORY_NAME=org/mlops-example BUILD_BUILDID="$run_id" SYSTEM_JOBATTEMPT=1 \
		BUILD_SOURCEVERSION=3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c SYSTEM_JOBNAME=train \
		HTTPS_PROXY="$HTTPS_PROXY" NO_PROXY="$NO_PROXY" SSL_CERT_FILE="$SSL_CERT_FILE" \
		INPUT_CREDS="$AZURE_CREDENTIALS" INPUT_RESOURCE_GROUP="$AZURE_RESOURCE_GROUP" \
		INPUT_WORKSPACE_NAME="$AZURE_ML_WORKSPACE" "$@" "$mlops" model-ci) >"$work/log" 2>&1
	echo $? >"$work/rc"
}

# The agent uploads an artifact folder after the step, from its own temp
# folder: the folder must be there, and stay there, when the step ends.
t_pipelines_keeps_the_log_folder_for_the_agent_and_defuses_job_output() {
	hostile_log_job
	rm -rf "$work/agent-temp" && mkdir -p "$work/agent-temp"
	pipe INPUT_JOB=jobs/hostile.yml
	local dir forged
	dir=$(sed -n 's/^##vso\[artifact\.upload [^]]*\]//p' "$work/log" | tail -n 1)
	forged=$(commands_in pipelines "$work/log")
	expect "$(rc)" 0 && expect "$forged" "" &&
		case "$dir" in "$work/agent-temp/"*) ;; *) echo "artifact folder '$dir' is not in the agent's temp folder"; false ;; esac &&
		[ -n "$(find "$dir" -name std_log.txt -size +0)" ] &&
		grep -rq 'end of the hostile log' "$dir" &&
		grep -q '^x \*\*vso\[task.setvariable variable=pwned\]1$' "$work/log" &&
		grep -q '^##vso\[task.setvariable variable=job-name;isOutput=true\]' "$work/log"
}

# ---- the metric gate and the summary's bounds ----

t_a_threshold_missed_fails_the_step_naming_metric_value_and_threshold() {
	gh model-ci "INPUT_METRIC-THRESHOLDS=auc>=1.5, loss<100"
	local job
	job=$(output job-name)
	expect "$(rc)" 1 && expect "$(output status)" Completed && expect "$(output gate)" failed &&
		grep -q '^::error title=model-ci%3A failed::metric gate failed (1 of 2 thresholds not met): auc = 0\.[0-9]* is not >= 1\.5$' "$work/log" &&
		grep -q '^### Metric gate: failed$' "$work/summary" &&
		grep -q '^| auc | &gt;= 1\.5 | 0\.[0-9]* | missed |$' "$work/summary" &&
		grep -q '^| loss | &lt; 100 | [0-9.]* | passed |$' "$work/summary" &&
		grep -q "Job \`$job\`: \*\*Completed\*\*" "$work/summary" &&
		state "[n for r in s['artifacts'].values() for n in r]" | grep -q "training-logs-$job" &&
		[ -n "$(output metrics)" ]
}

t_a_gate_met_passes() {
	gh model-ci "INPUT_METRIC-THRESHOLDS=auc>=0
accuracy > 0.5, loss<100"
	expect "$(rc)" 0 && expect "$(output gate)" passed &&
		grep -q '^### Metric gate: passed$' "$work/summary" &&
		expect "$(grep -c '| passed |$' "$work/summary")" 3
}

t_a_metric_not_logged_fails_the_gate() {
	gh model-ci "INPUT_METRIC-THRESHOLDS=f1 score>=0.5"
	expect "$(rc)" 1 && expect "$(output gate)" failed &&
		grep -q '^::error title=model-ci%3A failed::metric gate failed (1 of 1 threshold not met): f1 score was not logged (needs >= 0\.5)$' "$work/log" &&
		grep -q '^| f1 score | &gt;= 0\.5 |  | not logged |$' "$work/summary"
}

t_malformed_thresholds_exit_2_and_submit_nothing() {
	local before
	before=$(state "len(jobs)")
	gh model-ci "INPUT_METRIC-THRESHOLDS=auc>=0.7, loss=>0.5"
	expect "$(rc)" 2 &&
		grep -q "^::error title=model-ci%3A input error::Input metric-thresholds: threshold 'loss=>0.5': unknown operator" "$work/log" &&
		expect "$(state "len(jobs)")" "$before"
}

# A job logging with the sandbox's MLflow client, from a code folder of its own.
steps_job() {
	mkdir -p "$work/ws/steps"
	cat >"$work/ws/steps/log_steps.py"
	job_yaml steps <<'YML'
type: command
code: ../steps
command: python log_steps.py
environment: azureml:train-env:1
YML
}

t_a_value_that_is_not_finite_fails_a_threshold_and_drops_no_other() {
	steps_job <<'PY'
import mlflow
mlflow.start_run()
mlflow.log_metrics({"auc": float("nan"), "accuracy": 0.9, "peak": float("inf")})
for step in range(1, 4):
    mlflow.log_metric("loss", [float("nan"), 0.5, 0.25][step - 1], step=step)
print("logged")
PY
	gh model-ci INPUT_JOB=jobs/steps.yml "INPUT_METRIC-THRESHOLDS=auc>=0.5, accuracy>=0.5"
	expect "$(rc)" 1 && expect "$(output gate)" failed &&
		python3 -c "import json,sys; m=json.loads(sys.argv[1]); assert m == {'auc': 'NaN', 'accuracy': 0.9, 'peak': 'Infinity', 'loss': 0.25}, m" "$(output metrics)" &&
		grep -q '^::error title=model-ci%3A failed::metric gate failed (1 of 2 thresholds not met): auc = NaN is not finite (needs >= 0\.5)$' "$work/log" &&
		grep -q '^| auc | NaN | 0 |$' "$work/summary" &&
		chart_of loss | grep -q '^    line \[0\.5, 0\.25\]$'
}

# Whatever the job logged, the summary stays small: 10,000 steps of a
# metric are drawn as 100 points, hundreds of metrics and long params are
# tables cut short.
t_ten_thousand_steps_and_many_keys_keep_the_summary_small() {
	steps_job <<'PY'
import mlflow
mlflow.start_run()
def batch(metrics=(), params=()):
    mlflow._call("POST", "mlflow/runs/log-batch", {"run_id": mlflow._run_id(),
                 "metrics": list(metrics), "params": list(params)})
for start in range(0, 10000, 1000):
    batch({"key": "loss", "value": 1.0 / (1 + s), "timestamp": 1, "step": s + 1}
          for s in range(start, start + 1000))
for k in range(30):
    batch([{"key": "curve_%02d\"]`<b>" % k, "value": v, "timestamp": 1, "step": v} for v in (1, 2)])
batch({"key": "m%03d" % k, "value": k, "timestamp": 1, "step": 0} for k in range(400))
batch(params=[{"key": "p%03d" % k, "value": "v" * 5000} for k in range(300)])
print("logged")
PY
	gh model-ci INPUT_JOB=jobs/steps.yml
	local size
	size=$(wc -c <"$work/summary")
	expect "$(rc)" 0 && [ "$size" -lt 200000 ] &&
		chart_of loss | grep -q '^    x-axis "step" \["1", .*, "10000"\]$' &&
		expect "$(chart_of loss | sed -n 's/^    line \[\(.*\)\]$/\1/p' | tr ',' '\n' | wc -l)" 100 &&
		grep -q '^10000 values of loss drawn as 100 points' "$work/summary" &&
		expect "$(grep -c '^```mermaid$' "$work/summary")" 20 &&
		grep -q '^    title "curve_00____b_"$' "$work/summary" &&
		grep -q '^| \.\.\. 331 more |  |  |$' "$work/summary" &&
		grep -q '^| \.\.\. 200 more |  |$' "$work/summary" &&
		! grep -q 'Summary truncated' "$work/summary" &&
		! grep -q 'v\{201\}' "$work/summary" ||
		{ echo "summary of $size bytes"; return 1; }
}

run_runs 100
