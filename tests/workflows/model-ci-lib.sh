# For the Model-CI workflow tests, after tests/workflows/lib.sh and
# training_sandbox: the step as the runner runs it, job YAMLs beside the
# shipped one, a step in the background and waiting for its job to run.

# gh_cmd WORKFLOW [NAME=VALUE...]: one step as the runner runs it (lib.sh's
# gh_runner; gh runs it with stdout+stderr in $work/log).
gh_cmd() { gh_runner "$@"; }

# job_yaml NAME: a job YAML beside the shipped one (jobs/NAME.yml, from
# stdin), on the same code folder.
job_yaml() { cat >"$work/ws/jobs/$1.yml"; }
# bg WORKFLOW [NAME=VALUE...]: the step in the background; its pid in $bg_pid.
bg() {
	(gh_cmd "$@") >"$work/log" 2>&1 &
	bg_pid=$!
}
# wait_running [PATTERN]: waits until the background step has a job-name
# output and its log a line matching PATTERN (default: Running); the job's
# name in $job.
wait_running() {
	local i
	job=""
	for i in $(seq 1 150); do
		job=$(output job-name)
		[ -n "$job" ] && grep -q "${1:-Running}" "$work/log" && return 0
		sleep 0.2
	done
	echo "the job did not start running"; tail -n 20 "$work/log"; return 1
}
# slow_job [COMMAND [NAME]]: jobs/NAME.yml (default slow) running COMMAND
# (default: five minutes of sleep).
slow_job() {
	job_yaml "${2:-slow}" <<YML
type: command
code: ../training
command: ${1:-sleep 300}
environment: azureml:train-env:1
YML
}
