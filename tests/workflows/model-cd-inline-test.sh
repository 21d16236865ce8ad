#!/usr/bin/env bash
# Model-CD with an inline environment end to end: the deployment YAML
# gives `environment: {image, conda_file}` instead of an azureml: reference.
# Model-CD registers it, named after the model and versioned by its content
# hash, then deploys on it; a re-run reuses that version, a changed conda
# file registers another. Setup as tests/workflows/model-cd-test.sh: a
# private sandbox, Workspace-CD, Environment-CD, Model-CT train and register.
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
. "$repo/tests/workflows/lib.sh"
. "$repo/tests/workflows/model-ci-lib.sh"

training_sandbox model-cd-inline
. "$repo/tests/workflows/model-cd-lib.sh"
# The deployment YAML with the inference environment written inline, its
# conda file next to it.
cp "$repo/environments/inference/conda.yml" "$work/ws/deployments/conda.yml"
sed -e 's|^environment: .*|environment:\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest\n  conda_file: conda.yml|' \
	"$repo/deployments/online.yml" >"$work/ws/deployments/inline.yml"

env=$model-deploy-env
# shellcheck disable=SC2046
inline_step() { gh model-cd $(cd_args "$1") INPUT_DEPLOYMENT=deployments/inline.yml "${@:2}"; }
env_versions() { state "sorted(w.get('environments', {}).get('$env', {}).get('versions', {}))"; }
# deployed_env: the environment id of the deployment serving all traffic.
deployed_env() {
	state "[d['properties']['environmentId'] for n, d in ws['onlineEndpoints']['$endpoint']['deployments'].items() if ws['onlineEndpoints']['$endpoint']['properties']['traffic'].get(n) == 100][0]"
}
# provisioned: the provisioningState ARM gives for the deployment serving all traffic.
provisioned() {
	local name
	name=$(state "[n for n, p in ws['onlineEndpoints']['$endpoint']['properties']['traffic'].items() if p == 100][0]")
	PYTHONPATH="$repo/sandbox" python3 -c "
import sys
from tests.helpers import call, token, ws_url
r = call('GET', ws_url('/onlineEndpoints/%s/deployments/%s' % (sys.argv[1], sys.argv[2])), token=token())
print(r.json()['properties']['provisioningState'] if r.status == 200 else r.status)" $endpoint "$name"
}

t_setup_trains_and_registers_a_model() {
	gh workspace-cd
	expect "$(rc)" 0 || return 1
	gh environment-cd
	expect "$(rc)" 0 || return 1
	expect "$(train_and_register jobs/train.yml)" 1
}

t_an_inline_environment_is_registered_and_deployed() {
	local v
	inline_step evaluate INPUT_MODEL-VERSION=1
	expect "$(rc)" 0 && expect "$(output deploy)" true || return 1
	expect "$(env_versions)" "[]" || return 1
	inline_step deploy
	expect "$(rc)" 0 && logs "environment $env: registered version" || return 1
	v=$(state "list(w['environments']['$env']['versions'])[0]")
	[[ "$v" =~ ^[0-9a-f]{12}$ ]] || { echo "version '$v' is not 12 hex digits"; return 1; }
	expect "$(env_versions)" "['$v']" &&
		expect "$(state "w['environments']['$env']['versions']['$v']['tags']['contentHash'][:12]")" "$v" &&
		expect "$(state "w['environments']['$env']['versions']['$v']['condaFile'] == open('$work/ws/deployments/conda.yml').read()")" True &&
		expect "$(provisioned)" Succeeded &&
		[[ "$(deployed_env)" == */environments/$env/versions/$v ]] ||
		{ echo "deployed on '$(deployed_env)'"; return 1; }
}

t_a_rerun_reuses_it_and_a_change_registers_another() {
	local before after
	before=$(env_versions)
	inline_step deploy INPUT_MODEL-VERSION=1
	expect "$(rc)" 0 && logs "reused (the same content is registered)" &&
		expect "$(env_versions)" "$before" || return 1
	printf '  - pyyaml\n' >>"$work/ws/deployments/conda.yml"
	inline_step deploy INPUT_MODEL-VERSION=1 GITHUB_SHA=9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c
	expect "$(rc)" 0 && logs "environment $env: registered version" || return 1
	after=$(state "len(w['environments']['$env']['versions'])")
	expect "$after" 2 && expect "$(provisioned)" Succeeded
}

run_runs 500
