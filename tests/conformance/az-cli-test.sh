#!/usr/bin/env bash
# The official Azure CLI (Debian's azure-cli package), a client nobody here
# wrote, against a private local sandbox: if the sandbox is kinder than Azure,
# or poorer, this is where it shows. The CLI reaches it only through its
# standard mechanisms (HTTPS_PROXY + REQUESTS_CA_BUNDLE from the sandbox's
# env, production host names, `az cloud` AzureCloud) with its own isolated
# AZURE_CONFIG_DIR and HOME. Covered: login (secret and certificate), group
# show, deployment validate / what-if / create with --template-file (the
# relaxed JSON the CLI sends inline) and show, deployment operations,
# resource and provider GETs, storage blob upload / list / download, and
# `az rest` GETs of the Azure ML assets the workflows create, at served
# api-versions, and an online endpoint scored, then its metrics listed by
# `az monitor metrics list`. Installs azure-cli from Debian's archive when it is missing.
#   tests/conformance/az-cli-test.sh [build/mlops]
set -u
mlops=$(realpath "${1:-build/mlops}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"
started=$(date +%s)

# ---- setup -----------------------------------------------------------------------

ensure_az() {
	command -v az >/dev/null 2>&1 && return 0
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
			echo "azure-cli is not installed, and installing it needs root"
			return 1
		fi
		sudo="sudo -n"
	fi
	echo "az-cli-test: installing azure-cli from Debian's archive" >&2
	# a sandbox's proxy (left in the caller's shell) does not reach the archive
	case "${HTTPS_PROXY:-}${https_proxy:-}" in *127.0.0.1*) unset HTTPS_PROXY https_proxy ;; esac
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get install -y -q --no-install-recommends azure-cli >/dev/null 2>&1 || {
		$sudo apt-get update -q >/dev/null &&
			$sudo apt-get install -y -q --no-install-recommends azure-cli >/dev/null
	} || { echo "apt-get could not install azure-cli"; return 1; }
	command -v az >/dev/null 2>&1
}

if ! why=$(ensure_az 2>&1); then
	fail "azure-cli is installed" "$why"
	summary_line
	exit 1
fi

export SANDBOX_DIR
SANDBOX_DIR=$(mktemp -d /tmp/mlops-azcli.XXXXXX)
work=$(mktemp -d /tmp/mlops-azcli-work.XXXXXX)
trap '"$repo/sandbox/sandbox.sh" stop >/dev/null 2>&1; rm -rf "$SANDBOX_DIR" "$work"' EXIT
if ! "$repo/sandbox/sandbox.sh" start >/dev/null; then
	fail "the sandbox starts"
	summary_line
	exit 1
fi
# shellcheck disable=SC1091
. "$SANDBOX_DIR/env"
# Deployments walk in 0.1 s steps; the CLI polls after Retry-After (1 s).
curl -s -X POST -d '{"lro_step_seconds": 0.1}' "$SANDBOX_CONTROL_URL/config" >/dev/null
mkdir -p "$work/home" "$work/az" "$work/az-cert" "$work/files"

# az ARGS...: the CLI as a user runs it, in its own config dir and HOME; stdout
# in $work/out, stderr in $work/err, the exit status returned.
az() {
	HOME="$work/home" AZURE_CONFIG_DIR="${config_dir:-$work/az}" PYTHONDONTWRITEBYTECODE=1 \
		AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_SURVEY_MESSAGE=false AZURE_CORE_NO_COLOR=true \
		AZURE_CORE_ONLY_SHOW_ERRORS=true command az "$@" >"$work/out" 2>"$work/err"
}
out() { cat "$work/out"; }
expect() { [ "$1" = "$2" ] || { echo "expected '$2', got '$1'"; tail -n 15 "$work/err"; return 1; }; }
ok() { "$@" || { echo "az $* failed:"; tail -n 15 "$work/err"; return 1; }; }

sub=$AZURE_SUBSCRIPTION_ID rg=$AZURE_RESOURCE_GROUP ws=$AZURE_ML_WORKSPACE
ml="https://management.azure.com/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.MachineLearningServices/workspaces/$ws"

# A template as people write them for ARM: comments, a multi-line string, a
# secure output. It deploys a storage account and a second workspace.
cat >"$work/files/main.json" <<'EOF'
{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  // The workspace to create, and a secret that must never come back.
  "parameters": {
    "workspaceName": { "type": "string" },
    "adminSecret": { "type": "securestring", "defaultValue": "never-shown-0451" }
  },
  /* The storage account's name comes
     from the resource group's id. */
  "variables": {
    "storageName": "[toLower(concat('st', uniqueString(resourceGroup().id)))]"
  },
  "resources": [
    {
      "type": "Microsoft.Storage/storageAccounts",
      "apiVersion": "2023-05-01",
      "name": "[variables('storageName')]",
      "location": "[resourceGroup().location]",
      "sku": { "name": "Standard_LRS" },
      "kind": "StorageV2",
      "tags": { "purpose": "az-cli-conformance" },
      "properties": {}
    },
    {
      "type": "Microsoft.MachineLearningServices/workspaces",
      "apiVersion": "2024-04-01",
      "name": "[parameters('workspaceName')]",
      "location": "[resourceGroup().location]",
      "identity": { "type": "SystemAssigned" },
      "dependsOn": [ "[resourceId('Microsoft.Storage/storageAccounts', variables('storageName'))]" ],
      "properties": {
        "storageAccount": "[resourceId('Microsoft.Storage/storageAccounts', variables('storageName'))]",
        "description": "Deployed by the Azure CLI
conformance test"
      }
    }
  ],
  "outputs": {
    "storageName": { "type": "string", "value": "[variables('storageName')]" },
    "secret": { "type": "securestring", "value": "[parameters('adminSecret')]" }
  }
}
EOF
deploy_args=(-g "$rg" --template-file "$work/files/main.json" --parameters workspaceName=ws-conform)

# ---- the cases, in order: later ones use what earlier ones made ---------------------

t_cloud_is_azure_cloud() {
	ok az cloud show --query "[name, endpoints.resourceManager, endpoints.activeDirectory]" -o tsv &&
		expect "$(out | tr '\n' ' ')" "AzureCloud https://management.azure.com/ https://login.microsoftonline.com "
}

t_login_service_principal_with_secret() {
	ok az login --service-principal -u "$AZURE_CLIENT_ID" -p "$AZURE_CLIENT_SECRET" --tenant "$AZURE_TENANT_ID" -o none &&
		ok az account show --query "[id, tenantId, user.type, state]" -o tsv &&
		expect "$(out | tr '\n' ' ')" "$sub $AZURE_TENANT_ID servicePrincipal Enabled "
}

t_login_service_principal_with_certificate() {
	config_dir=$work/az-cert
	ok az login --service-principal -u "$SANDBOX_CERT_CLIENT_ID" -p "$AZURE_CLIENT_CERTIFICATE_PATH" \
		--tenant "$AZURE_TENANT_ID" -o none &&
		ok az group show -n "$rg" --query name -o tsv &&
		expect "$(out)" "$rg"
}

t_group_show() {
	ok az group show -n "$rg" --query "[name, location, properties.provisioningState]" -o tsv &&
		expect "$(out | tr '\n' ' ')" "$rg eastus Succeeded "
}

t_deployment_validate_template_file() {
	ok az deployment group validate -n conform "${deploy_args[@]}" \
		--query "[properties.provisioningState, length(properties.validatedResources)]" -o tsv &&
		expect "$(out | tr '\n' ' ')" "Succeeded 2 " &&
		# the repository's own workspace template, with its parameters file
		ok az deployment group validate -n workspace -g "$rg" --template-file "$repo/.cloud/workspace.json" \
			--parameters "@$repo/.cloud/workspace.parameters.json" --query properties.provisioningState -o tsv &&
		expect "$(out)" Succeeded
}

t_deployment_what_if_template_file() {
	ok az deployment group what-if -n conform "${deploy_args[@]}" --no-pretty-print \
		--query "changes[].[changeType, resourceId]" -o tsv &&
		expect "$(awk '{print $1}' "$work/out" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "Create=2 "
}

t_deployment_create_template_file() {
	ok az deployment group create -n conform "${deploy_args[@]}" --query properties.provisioningState -o tsv &&
		expect "$(out)" Succeeded
}

t_deployment_show_outputs_and_duration() {
	ok az deployment group show -g "$rg" -n conform --query properties -o json &&
		cp "$work/out" "$work/show1.json" &&
		sleep 1.5 &&
		ok az deployment group show -g "$rg" -n conform --query properties -o json &&
		python3 - "$work/show1.json" "$work/out" <<'PY'
import json, re, sys
first, again = (json.load(open(p)) for p in sys.argv[1:])
assert first["provisioningState"] == "Succeeded", first["provisioningState"]
out = first["outputs"]
assert out["storageName"]["type"] == "String" and out["storageName"]["value"].startswith("st"), out
assert out["secret"] == {"type": "SecureString"}, out["secret"]
assert first["parameters"]["adminSecret"] == {"type": "SecureString"}, first["parameters"]
assert "never-shown" not in json.dumps(first), "a secure value came back"
# the deployment's own time (4 steps of 0.1 s), not the CLI's polling (>= 1 s)
m = re.fullmatch(r"PT([\d.]+)S", first["duration"])
assert m and float(m.group(1)) < 0.9, first["duration"]
assert (again["duration"], again["timestamp"]) == (first["duration"], first["timestamp"]), (first["duration"], again["duration"])
PY
}

t_deployment_operations() {
	ok az deployment operation group list -g "$rg" -n conform \
		--query "[].[properties.provisioningState, properties.targetResource.resourceType]" -o tsv &&
		expect "$(sort "$work/out" | tr '\t\n' '  ')" "Succeeded Microsoft.MachineLearningServices/workspaces Succeeded Microsoft.Storage/storageAccounts "
}

t_resource_list_and_show() {
	ok az resource list -g "$rg" --query "[?type=='Microsoft.MachineLearningServices/workspaces'].name | sort(@)" -o tsv &&
		expect "$(out | tr '\n' ' ')" "$ws ws-conform " &&
		ok az resource list --resource-type Microsoft.Storage/storageAccounts --query "[].tags.purpose" -o tsv &&
		expect "$(out)" az-cli-conformance &&
		ok az resource list --tag purpose=az-cli-conformance --query "length(@)" &&
		expect "$(out)" 1 &&
		# by id: the CLI reads the provider to pick the api-version
		ok az resource show --ids "/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.MachineLearningServices/workspaces/ws-conform" \
			--query "[name, properties.description, starts_with(properties.mlFlowTrackingUri, 'azureml://eastus.api.azureml.ms/')]" -o tsv &&
		expect "$(out | tr '\n' '|')" "ws-conform|Deployed by the Azure CLI|conformance test|true|"
}

t_provider_show() {
	ok az provider show -n Microsoft.MachineLearningServices \
		--query "[registrationState, contains(resourceTypes[?resourceType=='workspaces'] | [0].apiVersions, '2024-04-01')]" -o tsv &&
		expect "$(out | tr '\n' ' ')" "Registered true "
}

t_storage_blob_upload_list_download() {
	head -c 5242881 /dev/urandom >"$work/files/blob.bin"
	local args=(--account-name "$SANDBOX_STORAGE_ACCOUNT" --auth-mode login)
	ok az storage container create "${args[@]}" -n az-cli-conformance -o none &&
		ok az storage blob upload "${args[@]}" -c az-cli-conformance -n dir/blob.bin -f "$work/files/blob.bin" -o none &&
		ok az storage blob list "${args[@]}" -c az-cli-conformance --prefix dir/ --query "[].[name, properties.contentLength]" -o tsv &&
		expect "$(out | tr '\t\n' '  ')" "dir/blob.bin 5242881 " &&
		ok az storage blob download "${args[@]}" -c az-cli-conformance -n dir/blob.bin -f "$work/files/back.bin" -o none &&
		cmp "$work/files/blob.bin" "$work/files/back.bin"
}

# The product's own workflows make the Azure ML assets that `az rest` reads next.
t_workflows_make_assets() {
	rm -rf "$work/repo" && mkdir -p "$work/repo"
	cp -r "$repo/.cloud" "$repo/datasets" "$repo/environments" "$work/repo/"
	local wf
	for wf in workspace-cd environment-cd; do
		(cd "$work/repo" && env -i PATH=/usr/bin:/bin HOME="$work/home" CI=true GITHUB_ACTIONS=true \
			GITHUB_WORKSPACE="$work/repo" GITHUB_OUTPUT="$work/gh-output" GITHUB_STEP_SUMMARY="$work/gh-summary" \
			GITHUB_SHA=3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c GITHUB_REPOSITORY=org/mlops-example \
			GITHUB_RUN_ID=42 GITHUB_SERVER_URL=https://github.com \
			HTTPS_PROXY="$HTTPS_PROXY" NO_PROXY="$NO_PROXY" SSL_CERT_FILE="$SSL_CERT_FILE" \
			INPUT_CREDS="$AZURE_CREDENTIALS" INPUT_RESOURCE-GROUP="$rg" INPUT_WORKSPACE-NAME="$ws" \
			"$mlops" "$wf") >"$work/wf.log" 2>&1 || { echo "$wf failed:"; tail -n 15 "$work/wf.log"; return 1; }
	done
}

t_rest_gets_ml_assets_at_served_api_versions() {
	ok az rest --method get --url "$ml?api-version=2022-10-01" --query "properties.mlFlowTrackingUri" -o tsv &&
		expect "$(out)" "azureml://eastus.api.azureml.ms/mlflow/v1.0/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.MachineLearningServices/workspaces/$ws" &&
		ok az rest --method get --url "$ml/data/churn/versions/1?api-version=2024-04-01" --query "[name, properties.dataType]" -o tsv &&
		expect "$(out | tr '\n' ' ')" "1 uri_folder " &&
		ok az rest --method get --url "$ml/data/churn?api-version=2023-04-01" --query "properties.latestVersion" -o tsv &&
		expect "$(out)" 1 &&
		ok az rest --method get --url "$ml/environments?api-version=2023-10-01" --query "value[].name | sort(@)" -o tsv &&
		expect "$(out | tr '\n' ' ')" "inference-env train-env " &&
		ok az rest --method get --url "$ml/environments/train-env/versions/1?api-version=2024-10-01" \
			--query "properties.tags.commit" -o tsv &&
		expect "$(out)" 3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c &&
		ok az rest --method get --url "$ml/datastores?api-version=2025-06-01&isDefault=true" --query "value[].name" -o tsv &&
		expect "$(out)" workspaceblobstore
}

# An online endpoint and a deployment made with `az rest` (the request
# bodies of the official examples), scored with the key listKeys gives, then
# read back by `az monitor metrics list`, the CLI's own Azure Monitor client
# (its api-version and query, not ours): the counts Model-CD judges.
t_online_endpoint_scored_then_its_metrics_listed() {
	local ep="$ml/onlineEndpoints/conform-ep" key uri i
	ok az rest --method put --url "$ep?api-version=2025-06-01" --body \
		'{"location": "eastus", "properties": {"authMode": "Key"}}' &&
		ok az rest --method put --url "$ep/deployments/blue?api-version=2025-06-01" --body \
			'{"location": "eastus", "sku": {"name": "Default", "capacity": 1}, "properties": {"endpointComputeType": "Managed", "instanceType": "Standard_DS3_v2"}}' ||
		return 1
	for i in $(seq 100); do
		az rest --method get --url "$ep/deployments/blue?api-version=2025-06-01" \
			--query properties.provisioningState -o tsv && [ "$(out)" = Succeeded ] && break
		sleep 0.2
	done
	ok az rest --method put --url "$ep?api-version=2025-06-01" --body \
		'{"location": "eastus", "properties": {"authMode": "Key", "traffic": {"blue": 100}}}' &&
		ok az rest --method post --url "$ep/listKeys?api-version=2025-06-01" --query primaryKey -o tsv || return 1
	key=$(out)
	ok az rest --method get --url "$ep?api-version=2025-06-01" --query properties.scoringUri -o tsv || return 1
	uri=$(out)
	for i in 1 2 3; do
		curl -s -o /dev/null -w '%{http_code}\n' --proxy "$HTTPS_PROXY" --cacert "$SSL_CERT_FILE" \
			-H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d '{"data": [1]}' "$uri"
	done | sort -u | grep -qx 200 || { echo "scoring did not answer 200"; return 1; }
	ok az monitor metrics list --resource "${ep#https://management.azure.com}" --metric RequestsPerMinute \
		--aggregation Total --interval PT1M --filter "deployment eq 'blue'" \
		--query "sum(value[0].timeseries[].data[].total)" -o tsv &&
		expect "$(out)" 3.0
}

t_rest_refuses_an_api_version_azure_does_not_serve() {
	if az rest --method get --url "$ml/data?api-version=2024-05-01"; then
		echo "api-version 2024-05-01 was accepted"
		return 1
	fi
	grep -q "NoRegisteredProviderFound" "$work/err" || { tail -n 5 "$work/err"; return 1; }
}

# Nothing the CLI asked for went anywhere but the sandbox's production host
# names (its start-up connectivity probe of azure.microsoft.com aside).
t_only_sandbox_hosts_were_asked() {
	local refused
	refused=$(grep 'refused CONNECT' "$SANDBOX_DIR/emulator.log" | grep -v 'CONNECT azure.microsoft.com:443$' || true)
	[ -z "$refused" ] || { echo "$refused"; return 1; }
}

for t in $(grep -o '^t_[a-z0-9_]*' "$0"); do
	if out=$($t 2>&1); then pass "${t#t_}"; else fail "${t#t_}" "$(printf '%s' "$out" | tail -n 8)"; fi
done
echo "az-cli-test: azure-cli $(dpkg-query -W -f='${Version}' azure-cli 2>/dev/null) in $(($(date +%s) - started)) s" >&2
summary_line
