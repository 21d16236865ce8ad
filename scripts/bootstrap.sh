#!/bin/sh
# Installs the Debian packages the development build and the test suite need,
# skipping what is already there, so a fresh Debian machine needs nothing by
# hand. Safe to run again; prints nothing when all is present.
set -eu

packages="build-essential pkg-config libcurl4-openssl-dev libssl-dev
libcjson-dev libyaml-dev libarchive-dev libcriterion-dev python3 openssl
curl ca-certificates zip unzip file util-linux clang libclang-rt-14-dev valgrind"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
# Node.js may come from elsewhere than Debian (its npm then ships inside
# nodejs); ask for Debian's packages only when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0

echo "bootstrap: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
