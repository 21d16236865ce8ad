#!/bin/sh
# Curl-only smoke test of a running sandbox (no product code): get a token,
# PUT a model version, list it by tag, upload a blob through a
# startPendingUpload SAS, and create an artifact through the results service.
# Needs the environment `sandbox.sh start` prints (eval it first).
set -eu
: "${HTTPS_PROXY:?run: eval \"\$(sandbox/sandbox.sh start)\"}"
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

echo "smoke: token (client secret)"
tok=$(curl -sSf "https://login.microsoftonline.com/$AZURE_TENANT_ID/oauth2/v2.0/token" \
  -d grant_type=client_credentials -d "client_id=$AZURE_CLIENT_ID" \
  --data-urlencode "client_secret=$AZURE_CLIENT_SECRET" \
  --data-urlencode scope=https://management.azure.com/.default | json 'd["access_token"]')
[ -n "$tok" ] || fail "no token"

W="https://management.azure.com/subscriptions/$AZURE_SUBSCRIPTION_ID/resourceGroups/$AZURE_RESOURCE_GROUP/providers/Microsoft.MachineLearningServices/workspaces/$AZURE_ML_WORKSPACE"
api=api-version=2025-12-01

echo "smoke: PUT model version"
code=$(curl -sS -o "$tmp/model.json" -w '%{http_code}' -X PUT "$W/models/smoke-model/versions/1?$api" \
  -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  -d '{"properties":{"modelType":"custom_model","modelUri":"azureml://jobs/smoke/outputs/artifacts/paths/model/","tags":{"stage":"staged"}}}')
case "$code" in 200|201) ;; *) fail "PUT model version: HTTP $code $(cat "$tmp/model.json")";; esac

echo "smoke: list model versions by tag"
n=$(curl -sSf "$W/models/smoke-model/versions?$api&tags=stage=staged" -H "Authorization: Bearer $tok" \
  | json 'len([v for v in d["value"] if v["properties"]["tags"].get("stage") == "staged"])')
[ "$n" = 1 ] || fail "expected 1 staged version, got $n"

echo "smoke: startPendingUpload + blob upload through the SAS"
sas=$(curl -sSf -X POST "$W/codes/smoke-code/versions/1/startPendingUpload?$api" -H "Authorization: Bearer $tok" \
  -H 'Content-Type: application/json' -d '{"pendingUploadType":"TemporaryBlobReference"}' \
  | json 'd["blobReferenceForConsumption"]["credential"]["sasUri"]')
base=${sas%%\?*}; query=${sas#*\?}
echo 'print("hello from the sandbox")' > "$tmp/train.py"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT "$base/train.py?$query" -H 'x-ms-blob-type: BlockBlob' \
  -H 'x-ms-version: 2021-12-02' --data-binary @"$tmp/train.py")
[ "$code" = 201 ] || fail "Put Blob through SAS: HTTP $code"
got=$(curl -sSf "$base/train.py?$query" -H 'x-ms-version: 2021-12-02')
[ "$got" = 'print("hello from the sandbox")' ] || fail "blob read back differs"

echo "smoke: artifact through the results service"
twirp="${ACTIONS_RESULTS_URL%/}/twirp/github.actions.results.api.v1.ArtifactService"
ids=$(printf '%s' "$ACTIONS_RUNTIME_TOKEN" | cut -d. -f2 | python3 -c '
import base64,json,sys
p=sys.stdin.read().strip(); c=json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))
s=[x for x in c["scp"].split() if x.startswith("Actions.Results:")][0].split(":")
print("\"workflow_run_backend_id\":\"%s\",\"workflow_job_run_backend_id\":\"%s\"" % (s[1], s[2]))')
name="smoke-$(date +%s)"
url=$(curl -sSf -X POST "$twirp/CreateArtifact" -H "Authorization: Bearer $ACTIONS_RUNTIME_TOKEN" \
  -H 'Content-Type: application/json' -d "{$ids,\"name\":\"$name\",\"version\":4}" | json 'd["signed_upload_url"]')
head -c 100000 /dev/urandom > "$tmp/part1"; head -c 5000 /dev/urandom > "$tmp/part2"
b1=$(printf '%06d' 1 | base64); b2=$(printf '%06d' 2 | base64)
for pair in "$b1 part1" "$b2 part2"; do
  set -- $pair
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT "$url&comp=block&blockid=$(printf %s "$1" | sed 's/=/%3D/g')" \
    -H 'x-ms-version: 2021-12-02' --data-binary @"$tmp/$2")
  [ "$code" = 201 ] || fail "Put Block: HTTP $code"
done
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT "$url&comp=blocklist" -H 'x-ms-version: 2021-12-02' \
  -H 'x-ms-blob-content-type: application/zip' \
  --data-binary "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>$b1</Latest><Latest>$b2</Latest></BlockList>")
[ "$code" = 201 ] || fail "Put Block List: HTTP $code"
cat "$tmp/part1" "$tmp/part2" > "$tmp/all"
size=$(wc -c < "$tmp/all" | tr -d ' '); sha=$(sha256sum "$tmp/all" | cut -d' ' -f1)
id=$(curl -sSf -X POST "$twirp/FinalizeArtifact" -H "Authorization: Bearer $ACTIONS_RUNTIME_TOKEN" \
  -H 'Content-Type: application/json' -d "{$ids,\"name\":\"$name\",\"size\":\"$size\",\"hash\":\"sha256:$sha\"}" | json 'd["artifact_id"]')
[ -n "$id" ] || fail "no artifact id"
echo "smoke: ok (artifact $id)"
