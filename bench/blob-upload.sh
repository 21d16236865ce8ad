#!/usr/bin/env bash
# Upload benchmark: a 1 GiB file to the sandbox's Azurite through the blob
# client (bench/blob_upload.c over build/libmlops.a) and with `curl -T` (one
# Put Blob), the same path for both: the sandbox's HTTPS proxy, the
# production host name, SAS auth. Alternating rounds; prints each time, the
# medians, the throughput ratio client/curl and the client's peak RSS.
#
#   bench/blob-upload.sh [rounds (3)] [size MiB (1024)]
#
# Uses the sandbox whose environment is loaded, or starts a private one.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
mib=${2:-1024}

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
make -s build/libmlops.a
mkdir -p build/bench
PKGS="libcurl libcjson yaml-0.1 libarchive openssl"
cc -std=c17 -D_GNU_SOURCE -O2 -g -Isrc bench/blob_upload.c build/libmlops.a \
	$(pkg-config --libs $PKGS) -lpthread -lm -o build/bench/blob_upload

work=$(mktemp -d /tmp/blob-bench.XXXXXX)
started=
cleanup() {
	rm -rf "$work"
	if [ -n "$started" ]; then sandbox/sandbox.sh stop >/dev/null 2>&1 || true; rm -rf "$SANDBOX_DIR"; fi
}
trap cleanup EXIT
if [ -z "${SANDBOX_CONTROL_URL:-}" ]; then
	export SANDBOX_DIR; SANDBOX_DIR=$(mktemp -d /tmp/blob-bench-sbx.XXXXXX)
	sandbox/sandbox.sh start >/dev/null
	started=1
	# shellcheck disable=SC1091
	. "$SANDBOX_DIR/env"
fi

account=$SANDBOX_STORAGE_ACCOUNT
container=azureml-blobstore-3f6c2a1e-9b8d-4e7f-a0b1-c2d3e4f5a6b7
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["storage_accounts"][sys.argv[2]])' \
	"$SANDBOX_DIR/config.json" "$account")
# A container service SAS (2021-08-06), as startPendingUpload hands out.
st=$(date -u -d '-5 min' +%Y-%m-%dT%H:%M:%SZ)
se=$(date -u -d '+2 hour' +%Y-%m-%dT%H:%M:%SZ)
sig=$(printf 'racwdl\n%s\n%s\n/blob/%s/%s\n\n\nhttps\n2021-08-06\nc\n\n\n\n\n\n\n' "$st" "$se" "$account" "$container" |
	openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf %s "$key" | base64 -d | od -An -v -tx1 | tr -d ' \n')" -binary |
	base64 -w0)
enc() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
sas="sv=2021-08-06&spr=https&st=$(enc "$st")&se=$(enc "$se")&sr=c&sp=racwdl&sig=$(enc "$sig")"
base="https://$account.blob.core.windows.net/$container"

file=$work/upload.bin
head -c $((mib * 1024 * 1024)) /dev/urandom >"$file"
bytes=$(stat -c %s "$file")
cat "$file" >/dev/null # both start from the page cache

now() { date +%s.%N; }
client_times=() curl_times=() rss=()
for r in $(seq "$rounds"); do
	t0=$(now)
	/usr/bin/time -v -o "$work/time.txt" build/bench/blob_upload "$base?$sas" "bench/client-$r.bin" "$file"
	t1=$(now)
	client_times+=("$(echo "$t1 - $t0" | bc)")
	rss+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")")

	t0=$(now)
	code=$(curl -sS -o /dev/null -w '%{http_code}' -T "$file" -H 'x-ms-blob-type: BlockBlob' \
		-H 'x-ms-version: 2024-11-04' "$base/bench/curl-$r.bin?$sas")
	t1=$(now)
	[ "$code" = 201 ] || { echo "curl upload answered $code"; exit 1; }
	curl_times+=("$(echo "$t1 - $t0" | bc)")
	echo "round $r: client ${client_times[-1]} s (peak RSS ${rss[-1]} KiB), curl -T ${curl_times[-1]} s"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mc=$(median "${client_times[@]}")
mu=$(median "${curl_times[@]}")
peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -n 1)
awk -v b="$bytes" -v c="$mc" -v u="$mu" -v p="$peak" 'BEGIN {
	printf "file %.0f MiB; median client %.2f s (%.1f MiB/s), curl -T %.2f s (%.1f MiB/s)\n", b/1048576, c, b/1048576/c, u, b/1048576/u
	printf "throughput ratio client/curl: %.2f (target >= 1.0)\n", u / c
	printf "client peak RSS: %.1f MiB (target <= 32 MiB)\n", p / 1024
}'
