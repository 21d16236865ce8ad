#!/usr/bin/env bash
# Model-CD's stage evaluate with an evaluation job, end to end: the real
# binary against a private local sandbox that trains two models for real
# (Model-CT) and runs jobs/evaluate-models.yml (training/compare_models.py)
# on both registered versions' files. The job's metrics and its McNemar
# p-value decide; a failed job, or one that does not log the metric, means
# the challenger cannot win, in words; a re-run of the attempt follows the
# job it submitted.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"
. "$repo/tests/workflows/model-ci-lib.sh"

training_sandbox model-cd-evaljob
. "$repo/tests/workflows/model-cd-lib.sh"

# evaluate [NAME=VALUE...]: stage evaluate by the evaluation job on test_loss.
evaluate() {
	gh model-cd INPUT_STAGE=evaluate INPUT_MODEL-NAME=$model INPUT_METRIC=test_loss INPUT_DIRECTION=minimize \
		INPUT_EVALUATION-JOB=jobs/evaluate-models.yml INPUT_TIMEOUT-MINUTES=5 \
		GITHUB_ACTOR=octocat ASAN_OPTIONS=detect_leaks=0 "$@"
}
# decision EXPR: a Python expression over the decision output `d`.
decision() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$(output decision)"; }
# eval_jobs: how many jobs of the workspace ran compare_models.py.
eval_jobs() { state "sum(1 for j in jobs.values() if 'compare_models.py' in j['properties']['command'])"; }

t_setup_a_weak_model_in_production_and_a_strong_challenger() {
	gh workspace-cd
	expect "$(rc)" 0 || return 1
	gh environment-cd
	expect "$(rc)" 0 || return 1
	# Untrained (no epoch): it answers "churns" for every customer, so the
	# McNemar test on the held-out rows tells the two apart.
	sed -e 's/epochs: 30/epochs: 0/' "$work/ws/jobs/train.yml" >"$work/ws/jobs/weak.yml"
	expect "$(train_and_register jobs/weak.yml)" 1 && expect "$(train_and_register jobs/train.yml)" 2 ||
		return 1
	# The first version to production: no champion, so no evaluation job.
	evaluate INPUT_MODEL-VERSION=1
	expect "$(rc)" 0 && expect "$(output deploy)" true && logs 'first deployment' &&
		expect "$(eval_jobs)" 0 || return 1
	gh model-cd INPUT_STAGE=deploy INPUT_MODEL-NAME=$model INPUT_ENDPOINT-NAME=$endpoint \
		INPUT_ROLLOUT=direct INPUT_TIMEOUT-MINUTES=5 ASAN_OPTIONS=detect_leaks=0
	expect "$(rc)" 0 && expect "$(stages)" "1=production 2=-"
}

t_bad_inputs_exit_2_before_anything() {
	gh model-cd INPUT_STAGE=evaluate INPUT_MODEL-NAME=$model INPUT_METRIC=auc INPUT_MAX-P-VALUE=0.05
	expect "$(rc)" 2 && logs 'Input max-p-value: needs evaluation-job' || return 1
	evaluate INPUT_MAX-P-VALUE=2
	expect "$(rc)" 2 && logs "Input max-p-value: '2' is not a number between 0 and 1" || return 1
	# The job may not declare the models' inputs: they are Model-CD's.
	sed 's/^inputs:/inputs:\n  champion_model:\n    type: uri_folder\n    path: azureml:churn:1/' \
		"$work/ws/jobs/evaluate-models.yml" >"$work/ws/jobs/declares.yml"
	evaluate INPUT_EVALUATION-JOB=jobs/declares.yml
	expect "$(rc)" 2 && logs 'input champion_model is Model-CD' && expect "$(eval_jobs)" 0 || return 1
	evaluate INPUT_EVALUATION-JOB=../etc/passwd
	expect "$(rc)" 2 && expect "$(eval_jobs)" 0 && expect "$(stages)" "1=production 2=-"
}

t_the_challenger_wins_by_the_jobs_metrics_and_p_value() {
	evaluate INPUT_MAX-P-VALUE=0.05
	expect "$(rc)" 0 && expect "$(output deploy)" true && expect "$(stages)" "1=production 2=staged" &&
		expect "$(eval_jobs)" 1 && logs 'p-value .* <= max-p-value 0.05' &&
		logs 'McNemar on 200 held-out rows' &&
		in_summary 'Evaluation job .*: Completed, p-value' || return 1
	# Both models were the job's inputs, as the versions' files.
	expect "$(state "sorted(k for j in jobs.values() if 'compare_models.py' in j['properties']['command'] for k in j['properties']['inputs'])")" \
		"['challenger_model', 'champion_model', 'evaluation_data']" || return 1
	expect "$(decision "d['winner'], d['evaluation_job']['status'], d['champion']['version'], d['challenger']['version']")" \
		"challenger Completed 1 2" || return 1
	# The values are those the job's MLflow run logged.
	local job
	job=$(decision "d['evaluation_job']['name']")
	expect "$(decision "d['champion']['value'], d['challenger']['value']")" \
		"$(state "' '.join(str(next(m['value'] for k, r in s['mlflow']['runs'].items() if k.endswith('/$job') for m in r['data']['metrics'] if m['key'] == n)) for n in ('champion_test_loss', 'challenger_test_loss'))")" || return 1
	# A re-run of the attempt follows the job it submitted.
	evaluate INPUT_MAX-P-VALUE=0.05
	expect "$(rc)" 0 && expect "$(output deploy)" true && expect "$(eval_jobs)" 1 &&
		logs 'already submitted by this run attempt' && expect "$(decision "d['evaluation_job']['name']")" "$job"
}

t_a_challenger_the_job_finds_not_significant_loses() {
	evaluate INPUT_MAX-P-VALUE=0
	expect "$(rc)" 0 && expect "$(output deploy)" false && logs 'not significant' &&
		logs '::warning title=no deployment' &&
		expect "$(decision "d['winner']")" champion
}

t_a_challenger_worse_by_the_jobs_metric_loses() {
	evaluate INPUT_METRIC=test_loss INPUT_DIRECTION=maximize
	expect "$(rc)" 0 && expect "$(output deploy)" false && logs 'is worse than champion 1 test_loss' &&
		expect "$(decision "d['winner']")" champion
}

t_a_metric_the_job_does_not_log_means_no_win() {
	evaluate INPUT_METRIC=f1
	expect "$(rc)" 0 && expect "$(output deploy)" false &&
		logs 'challenger 2 has no f1 value (evaluation job .* did not log challenger_f1): it cannot win'
}

t_a_failed_evaluation_job_means_no_win() {
	sed 's/python compare_models.py/python compare_models.py --champion no-such-folder/' \
		"$work/ws/jobs/evaluate-models.yml" >"$work/ws/jobs/broken.yml"
	evaluate INPUT_EVALUATION-JOB=jobs/broken.yml
	expect "$(rc)" 0 && expect "$(output deploy)" false &&
		logs 'challenger 2 has no test_loss value (evaluation job .* ended Failed' &&
		logs 'it cannot win; champion 1 stays' &&
		expect "$(decision "d['evaluation_job']['status']")" Failed || return 1
	# Forced, it is promoted anyway, and the record says the job failed.
	evaluate INPUT_EVALUATION-JOB=jobs/broken.yml INPUT_FORCE=true
	expect "$(rc)" 0 && expect "$(output deploy)" true && expect "$(decision "d['forced']")" True
}

run_runs 500
