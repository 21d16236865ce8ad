#!/bin/bash
# Runs the container image's filesystem (make rootfs) the way a GitHub runner
# and act run a Docker container action, without a docker engine:
#
#   tests/container/rootfs-test.sh [ROOTFS]        (default build/rootfs; as root)
#
# Each run gets a fresh copy of ROOTFS as its root (a container's writable
# layer), its own mount and PID namespaces (unshare --mount --pid --fork), the
# bind mounts docker would make (the runner's /github/* dirs, or act's
# workspace at a host path and /var/run/act), /proc, a small /dev, the
# injected /etc/hosts and /etc/resolv.conf, then chroot + workdir
# (unshare --root --wd) and `env -i` with only the variables the runner or act
# would pass. Every mount lives in a namespace that dies with its run, and the
# EXIT trap unmounts anything left under the scratch dir anyway.
#
# Two layouts:
#   runner  workdir /github/workspace; /github/{workspace,file_commands,home,
#           workflow,runner_temp} mounted; GITHUB_OUTPUT=/github/file_commands/
#           set_output_<guid> ...; HOME=/github/home
#   act     workspace mounted at its host path /home/runner/work/<repo>/<repo>
#           (also the workdir and GITHUB_WORKSPACE); /var/run/act/workflow/
#           {outputcmd.txt,SUMMARY.md,envs.txt,statecmd.txt,pathcmd.txt}; no
#           HOME; RUNNER_TEMP=/tmp; ACT=true. After an act run the root must
#           hold nothing new: nothing may write to a hard-coded /github path.
#
# Cases are functions named case_*; add one per behaviour and call it from
# main at the end. case_zip runs the program's zip writer, linked against the
# static libraries, in the empty root and opens its archive with Python's
# zipfile (a UTF-8 name included). case_sandbox runs environment-ci,
# workspace-cd (what-if, then for real), environment-cd and model-ci
# successfully, in both layouts, against a private sandbox (sandbox/sandbox.sh,
# stopped by the EXIT trap): TLS through its HTTPS_PROXY with its CA mounted
# into the root; Model-CI's job really runs and its log artifact is fetched
# back from the sandbox's results service and unzipped; then model-ci once
# more from a terminal (--artifacts); skipped if the sandbox cannot start.
# Last line: "N passed, M failed" (", K skipped" when a case could not run).
# Exit: 0 all passed, 1 a failure, 77 skipped (not root, no unshare/chroot).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROOTFS=${1:-$REPO/build/rootfs}

# Skipping the whole test still prints a result line, for run-integration.sh.
skip() { echo "rootfs-test: SKIP: $*"; echo "0 passed, 0 failed, 1 skipped"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (mount namespaces, chroot)"
for tool in unshare mount umount chroot env; do
	command -v "$tool" >/dev/null 2>&1 || skip "no $tool"
done
UNSHARE=$(command -v unshare)
ENV=$(command -v env)
unshare --mount --pid --fork --propagation private true 2>/dev/null ||
	skip "unshare --mount --pid does not work here (nested container without CAP_SYS_ADMIN?)"
"$UNSHARE" --help 2>&1 | grep -q -- '--wd' || skip "unshare has no --root/--wd (util-linux < 2.36)"
[ -x "$ROOTFS/usr/bin/mlops" ] || { echo "rootfs-test: no $ROOTFS/usr/bin/mlops (run make rootfs)"; exit 1; }

T=$(mktemp -d /tmp/rootfs-test.XXXXXX)
SERVERS_PID=""
SB_DIR="" # the private sandbox's SANDBOX_DIR, once started
cleanup() {
	[ -n "$SERVERS_PID" ] && kill "$SERVERS_PID" 2>/dev/null
	# sandbox.sh stop ends exactly the pids it recorded in $SB_DIR/pids.
	if [ -n "$SB_DIR" ]; then
		SANDBOX_DIR=$SB_DIR "$REPO/sandbox/sandbox.sh" stop >/dev/null 2>&1
		rm -rf "$SB_DIR"
	fi
	# Mounts die with each run's namespace; this catches anything that
	# escaped (deepest first).
	grep -o " $T[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASSED=0
FAILED=0
SKIPPED=0
skip_case() { SKIPPED=$((SKIPPED + 1)); echo "skip - $*"; }
pass() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; [ -n "${RUN_DIR:-}" ] && show_run; }
show_run() {
	sed 's/^/     | /' "$RUN_DIR/stdout" "$RUN_DIR/stderr" 2>/dev/null | head -n 40
}

# --- the two layouts ---------------------------------------------------------

# Host-side state of the current run, set by setup_runner / setup_act.
LAYOUT=""      # runner | act
ROOT=""        # this run's root (a copy of ROOTFS)
WD=""          # working directory inside the container
MOUNTS=()      # "host-path container-path" pairs
CENV=()        # the container's environment, NAME=VALUE
OUTPUT_FILE="" # host paths of the file commands
SUMMARY_FILE=""
OTHER_FILES=() # GITHUB_ENV, GITHUB_STATE, GITHUB_PATH (host paths)
WS_HOST=""     # host path of the mounted workspace
RUN_N=0

GUID() { cat /proc/sys/kernel/random/uuid; }

# A fresh writable root, as docker gives each container.
new_root() {
	RUN_N=$((RUN_N + 1))
	RUN_DIR=$T/run$RUN_N
	ROOT=$RUN_DIR/root
	mkdir -p "$RUN_DIR"
	cp -a "$ROOTFS" "$ROOT"
	# docker's own: /proc, /dev, and /etc/hosts, /etc/resolv.conf, /etc/hostname
	# bind-mounted from files it writes.
	mkdir -p "$ROOT/proc" "$ROOT/dev"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n172.17.0.2\t%s\n127.0.0.1\tmlops-probe.test\n' \
		"$CONTAINER_HOSTNAME" >"$RUN_DIR/hosts"
	echo "$CONTAINER_HOSTNAME" >"$RUN_DIR/hostname"
	MOUNTS=("$RUN_DIR/hosts /etc/hosts" "$RUN_DIR/hostname /etc/hostname")
	[ -f /etc/resolv.conf ] && MOUNTS+=("/etc/resolv.conf /etc/resolv.conf")
}
CONTAINER_HOSTNAME=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')

# The variables both the runner and act pass (github and runner contexts).
common_env() {
	CENV=(
		"PATH=/usr/bin" # the image's ENV
		"HOSTNAME=$CONTAINER_HOSTNAME"
		"GITHUB_ACTIONS=true" "CI=true"
		"GITHUB_REPOSITORY=octo-org/ml-project" "GITHUB_REPOSITORY_OWNER=octo-org"
		"GITHUB_REPOSITORY_ID=123456" "GITHUB_REPOSITORY_OWNER_ID=654321"
		"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567"
		"GITHUB_REF=refs/heads/main" "GITHUB_REF_NAME=main" "GITHUB_REF_TYPE=branch"
		"GITHUB_REF_PROTECTED=false" "GITHUB_BASE_REF=" "GITHUB_HEAD_REF="
		"GITHUB_EVENT_NAME=push" "GITHUB_RUN_ID=987654321" "GITHUB_RUN_NUMBER=7"
		"GITHUB_RUN_ATTEMPT=1" "GITHUB_JOB=mlops" "GITHUB_ACTION=__octo-org_ml-project"
		"GITHUB_ACTOR=octocat" "GITHUB_ACTOR_ID=1" "GITHUB_TRIGGERING_ACTOR=octocat"
		"GITHUB_WORKFLOW=MLOps" "GITHUB_WORKFLOW_REF=octo-org/ml-project/.github/workflows/mlops.yml@refs/heads/main"
		"GITHUB_WORKFLOW_SHA=0123456789abcdef0123456789abcdef01234567"
		"GITHUB_SERVER_URL=https://github.com" "GITHUB_API_URL=https://api.github.com"
		"GITHUB_GRAPHQL_URL=https://api.github.com/graphql" "GITHUB_RETENTION_DAYS=90"
		"RUNNER_OS=Linux" "RUNNER_ARCH=X64" "RUNNER_NAME=GitHub Actions 2"
		"RUNNER_ENVIRONMENT=github-hosted" "RUNNER_TOOL_CACHE=/opt/hostedtoolcache"
	)
}

write_event() {
	cat >"$1" <<-'EOF'
	{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567",
	 "repository":{"full_name":"octo-org/ml-project","default_branch":"main"},
	 "sender":{"login":"octocat"}}
	EOF
}

# The GitHub runner: ContainerActionHandler's mounts and translated paths.
setup_runner() {
	local g h
	LAYOUT=runner
	new_root
	g=$(GUID)
	h=$RUN_DIR/host # the runner's _work/_temp and the workspace
	mkdir -p "$h/_temp/_runner_file_commands" "$h/_temp/_github_home" \
		"$h/_temp/_github_workflow" "$h/work/ml-project/ml-project"
	write_event "$h/_temp/_github_workflow/event.json"
	for f in set_output_$g step_summary_$g set_env_$g save_state_$g add_path_$g; do
		: >"$h/_temp/_runner_file_commands/$f"
	done
	WS_HOST=$h/work/ml-project/ml-project
	OUTPUT_FILE=$h/_temp/_runner_file_commands/set_output_$g
	SUMMARY_FILE=$h/_temp/_runner_file_commands/step_summary_$g
	OTHER_FILES=("$h/_temp/_runner_file_commands/set_env_$g"
		"$h/_temp/_runner_file_commands/save_state_$g"
		"$h/_temp/_runner_file_commands/add_path_$g")
	MOUNTS+=("$h/_temp /github/runner_temp"
		"$h/_temp/_github_home /github/home"
		"$h/_temp/_github_workflow /github/workflow"
		"$h/_temp/_runner_file_commands /github/file_commands"
		"$h/work/ml-project/ml-project /github/workspace")
	WD=/github/workspace
	common_env
	CENV+=("HOME=/github/home"
		"GITHUB_WORKSPACE=/github/workspace"
		"GITHUB_EVENT_PATH=/github/workflow/event.json"
		"GITHUB_OUTPUT=/github/file_commands/set_output_$g"
		"GITHUB_STEP_SUMMARY=/github/file_commands/step_summary_$g"
		"GITHUB_ENV=/github/file_commands/set_env_$g"
		"GITHUB_STATE=/github/file_commands/save_state_$g"
		"GITHUB_PATH=/github/file_commands/add_path_$g"
		"RUNNER_TEMP=/github/runner_temp"
		"RUNNER_WORKSPACE=/home/runner/work/ml-project"
		"ACTIONS_RUNTIME_URL=https://pipelines.actions.githubusercontent.com/abc/"
		"ACTIONS_RUNTIME_TOKEN=not-a-real-token"
		"ACTIONS_RESULTS_URL=https://results-receiver.actions.githubusercontent.com/")
}

# act: the workspace at the host project's absolute path, /var/run/act.
setup_act() {
	local h ws=/home/runner/work/ml-project/ml-project
	LAYOUT=act
	new_root
	h=$RUN_DIR/host
	mkdir -p "$h/project" "$h/act/workflow" "$h/toolcache"
	write_event "$h/act/workflow/event.json"
	for f in outputcmd.txt SUMMARY.md envs.txt statecmd.txt pathcmd.txt; do
		: >"$h/act/workflow/$f"
	done
	WS_HOST=$h/project
	OUTPUT_FILE=$h/act/workflow/outputcmd.txt
	SUMMARY_FILE=$h/act/workflow/SUMMARY.md
	OTHER_FILES=("$h/act/workflow/envs.txt" "$h/act/workflow/statecmd.txt" "$h/act/workflow/pathcmd.txt")
	MOUNTS+=("$h/project $ws" "$h/act /var/run/act" "$h/toolcache /opt/hostedtoolcache")
	WD=$ws
	common_env
	CENV+=("ACT=true"
		"GITHUB_WORKSPACE=$ws"
		"GITHUB_EVENT_PATH=/var/run/act/workflow/event.json"
		"GITHUB_OUTPUT=/var/run/act/workflow/outputcmd.txt"
		"GITHUB_STEP_SUMMARY=/var/run/act/workflow/SUMMARY.md"
		"GITHUB_ENV=/var/run/act/workflow/envs.txt"
		"GITHUB_STATE=/var/run/act/workflow/statecmd.txt"
		"GITHUB_PATH=/var/run/act/workflow/pathcmd.txt"
		"RUNNER_TEMP=/tmp")
}

setup() { "setup_$1"; }

# replace_mount SRC DST: in the current layout's runs, mount SRC at DST
# instead of what MOUNTS had there (e.g. a case's own /etc/resolv.conf).
replace_mount() {
	local m keep=()
	for m in "${MOUNTS[@]}"; do [ "${m#* }" = "$2" ] || keep+=("$m"); done
	MOUNTS=("${keep[@]}" "$1 $2")
}

# --- running -----------------------------------------------------------------

# run EXE [ARGS...] [-- VAR=VALUE...]: runs EXE (a path inside the root) in
# the current layout with CENV plus the extra variables; sets RC and leaves
# stdout/stderr in $RUN_DIR. Mount points are made first (docker makes them
# in the container's layer), then the root is listed so changes can be seen.
RC=0
run() {
	local exe=$1 args=() extra=() m src dst script
	shift
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
	[ "${1:-}" = "--" ] && { shift; extra=("$@"); }
	script='set -e; root=$1; shift'
	for m in "${MOUNTS[@]}"; do
		src=${m% *}
		dst=${m#* }
		if [ -d "$src" ]; then mkdir -p "$ROOT$dst"; else mkdir -p "$(dirname "$ROOT$dst")" && touch "$ROOT$dst"; fi
		script+="; mount --bind $(printf %q "$src") \"\$root\"$(printf %q "$dst")"
	done
	for d in null zero full random urandom; do : >"$ROOT/dev/$d" 2>/dev/null || true; done
	script+='; mount -t proc proc "$root/proc"'
	script+='; for d in null zero full random urandom; do mount --bind /dev/$d "$root/dev/$d"; done'
	script+='; exec "$@"'
	(cd "$ROOT" && find . -xdev | sort) >"$RUN_DIR/before"
	RC=0
	"$UNSHARE" --mount --pid --fork --propagation private \
		bash -c "$script" rootfs-run "$ROOT" \
		"$ENV" -i "${CENV[@]}" "${extra[@]}" \
		"$UNSHARE" --root="$ROOT" --wd="$WD" "$exe" "${args[@]}" \
		>"$RUN_DIR/stdout" 2>"$RUN_DIR/stderr" </dev/null || RC=$?
	(cd "$ROOT" && find . -xdev | sort) >"$RUN_DIR/after"
}

# --- checks ------------------------------------------------------------------

declare -A OUT # the outputs parsed from GITHUB_OUTPUT
PARSE_ERR=""

# The runner's EnvFileKeyValuePairs rules (docs/actions-contract.md 2.1), plus
# act's: LF only, no blank lines, NAME=VALUE or NAME<<DELIM ... DELIM.
parse_file_command() {
	local file=$1 line name delim value eq hd lines=() i=0 n
	OUT=()
	PARSE_ERR=""
	[ -s "$file" ] || return 0
	if grep -q $'\r' "$file"; then PARSE_ERR="CR in $file"; return 1; fi
	if [ "$(tail -c 1 "$file" | od -An -c | tr -d ' ')" != '\n' ]; then
		PARSE_ERR="last line not LF-terminated"; return 1
	fi
	mapfile -t lines <"$file"
	n=${#lines[@]}
	while [ $i -lt $n ]; do
		line=${lines[$i]}
		i=$((i + 1))
		if [ -z "$line" ]; then PARSE_ERR="blank line $i (act rejects it)"; return 1; fi
		eq=${line%%=*}
		hd=${line%%<<*}
		if [[ $line == *"<<"* ]] && { [[ $line != *=* ]] || [ ${#hd} -lt ${#eq} ]; }; then
			name=${line%%<<*}
			delim=${line#*<<}
			[ -n "$name" ] && [ -n "$delim" ] || { PARSE_ERR="empty name or delimiter on line $i"; return 1; }
			value=""
			local first=1 closed=0
			while [ $i -lt $n ]; do
				line=${lines[$i]}
				i=$((i + 1))
				if [ "$line" = "$delim" ]; then closed=1; break; fi
				if [ $first -eq 1 ]; then value=$line; first=0; else value+=$'\n'$line; fi
			done
			[ $closed -eq 1 ] || { PARSE_ERR="matching delimiter not found for $name"; return 1; }
			OUT[$name]=$value
		elif [[ $line == *=* ]]; then
			name=${line%%=*}
			[ -n "$name" ] || { PARSE_ERR="empty name on line $i"; return 1; }
			OUT[$name]=${line#*=}
		else
			PARSE_ERR="line $i is neither NAME=VALUE nor NAME<<DELIM"
			return 1
		fi
	done
}

# The file commands after a run: every one parses; none holds a CR. Leaves
# the outputs in OUT, or the reason in PARSE_ERR.
check_file_commands() {
	local f
	for f in "${OTHER_FILES[@]}"; do
		parse_file_command "$f" || { PARSE_ERR="$(basename "$f"): $PARSE_ERR"; return 1; }
	done
	if grep -q $'\r' "$SUMMARY_FILE"; then PARSE_ERR="step summary has CR"; return 1; fi
	# Last, so OUT holds the outputs.
	parse_file_command "$OUTPUT_FILE" || { PARSE_ERR="GITHUB_OUTPUT: $PARSE_ERR"; return 1; }
}

# After an act run the root's own files are as before: nothing was written
# to a hard-coded path such as /github/... (the runner layout mounts those,
# so only act can catch it).
check_root_unchanged() {
	local diff
	[ "$LAYOUT" = act ] || return 0
	diff=$(comm -3 "$RUN_DIR/before" "$RUN_DIR/after")
	[ -z "$diff" ] || { echo "the root changed: $diff"; return 1; }
}

both() { cat "$RUN_DIR/stdout" "$RUN_DIR/stderr"; }

# --- cases -------------------------------------------------------------------

WORKFLOWS=()
declare -A HELP # each workflow's --help text

case_list() {
	local links
	setup runner
	run /usr/bin/mlops --list
	mapfile -t WORKFLOWS <"$RUN_DIR/stdout"
	links=$(cd "$ROOT/usr/bin" && find . -type l | sed 's|^\./||' | sort)
	if [ $RC -ne 0 ] || [ ${#WORKFLOWS[@]} -eq 0 ]; then
		fail "mlops --list exits 0 and lists workflows (rc=$RC)"
	elif [ "$(printf '%s\n' "${WORKFLOWS[@]}" | sort)" != "$links" ]; then
		fail "one /usr/bin link per workflow in --list (links: $(echo $links))"
	else
		pass "mlops --list: ${WORKFLOWS[*]}; one link each in /usr/bin"
	fi
}

case_help() {
	local wf
	setup runner
	run /usr/bin/mlops --help
	if [ $RC -eq 0 ] && [ -s "$RUN_DIR/stdout" ]; then pass "mlops --help"; else fail "mlops --help (rc=$RC)"; fi
	for wf in "${WORKFLOWS[@]}"; do
		run /usr/bin/mlops "$wf" --help
		HELP[$wf]=$(cat "$RUN_DIR/stdout")
		if [ $RC -eq 0 ] && [ -s "$RUN_DIR/stdout" ]; then pass "mlops $wf --help"; else fail "mlops $wf --help (rc=$RC)"; fi
		run "/usr/bin/$wf" --help
		if [ $RC -eq 0 ] && [ -s "$RUN_DIR/stdout" ]; then pass "$wf --help (link)"; else fail "$wf --help (link) (rc=$RC)"; fi
	done
}

case_version() {
	local want
	want=$(cat "$REPO/VERSION" 2>/dev/null)
	setup runner
	run /usr/bin/mlops version
	if [ $RC -eq 0 ] && grep -qF "$want" "$RUN_DIR/stdout"; then
		pass "mlops version: $(head -n 1 "$RUN_DIR/stdout")"
	else
		fail "mlops version prints $want (rc=$RC)"
	fi
}

# A required input missing, as the runner passes it (declared, so present but
# empty): exit 2, a ::error naming the input, a summary that says so, file
# commands in the runner's format, nothing written elsewhere.
# missing_input LAYOUT WORKFLOW HOW (HOW: arg = mlops WORKFLOW, link = /usr/bin/WORKFLOW)
missing_input() {
	local layout=$1 wf=$2 how=$3 what err name msg
	what="$layout: $([ "$how" = link ] && echo "$wf" || echo "mlops $wf") without required inputs"
	setup "$layout"
	if [ "$how" = link ]; then
		run "/usr/bin/$wf" -- "INPUT_RESOURCE-GROUP=" "INPUT_WORKSPACE-NAME=" "INPUT_AUTH=auto"
	else
		run /usr/bin/mlops "$wf" -- "INPUT_RESOURCE-GROUP=" "INPUT_WORKSPACE-NAME=" "INPUT_AUTH=auto"
	fi
	err=$(both | grep -m 1 '^::error[ :].*Input required and not supplied: ')
	name=$(printf '%s\n' "$err" | sed -n 's/.*Input required and not supplied: \([A-Za-z0-9_.-]*\).*/\1/p')
	if [ $RC -ne 2 ]; then
		fail "$what: exit 2 (got $RC)"
	elif [ -z "$name" ]; then
		fail "$what: a '::error ...Input required and not supplied: NAME' line"
	elif ! grep -qF -- "$name" <<<"${HELP[$wf]:-}"; then
		fail "$what: the missing input '$name' is one of $wf's inputs (--help)"
	elif ! check_file_commands; then
		fail "$what: file commands: $PARSE_ERR"
	elif ! [ -s "$SUMMARY_FILE" ] || ! grep -qF -- "$name" "$SUMMARY_FILE"; then
		fail "$what: the step summary names '$name'"
	elif ! msg=$(check_root_unchanged); then
		fail "$what: $msg"
	else
		pass "$what: exit 2, $err, summary $(wc -c <"$SUMMARY_FILE") bytes, ${#OUT[@]} outputs"
	fi
}

case_missing_input() {
	local layout wf
	for layout in runner act; do
		for wf in "${WORKFLOWS[@]}"; do
			missing_input "$layout" "$wf" arg
			missing_input "$layout" "$wf" link
		done
	done
}

# --- network: the static libcurl and glibc in the image's root ---------------
# The probe (probe.c) is linked the way the release binary is and copied into
# this run's root only (not into ROOTFS).
PROBE=""
build_probe() {
	local prefix=$REPO/build/static-deps/prefix ma
	[ -f "$prefix/lib/libcurl.a" ] || return 1
	ma=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
	PROBE=$T/probe
	PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig:/usr/lib/$ma/pkgconfig:/usr/share/pkgconfig \
		sh -c 'cc -O2 -static -o "$1" "$2" $(pkg-config --static --cflags --libs libcurl)' \
		probe "$PROBE" "$HERE/probe.c" >"$T/probe.log" 2>&1 || { cat "$T/probe.log"; PROBE=""; return 1; }
}

start_servers() {
	local i
	command -v openssl >/dev/null && command -v python3 >/dev/null || return 1
	(
		cd "$T" &&
			openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=rootfs-test CA" \
				-keyout ca.key -out ca.crt &&
			openssl req -newkey rsa:2048 -nodes -subj "/CN=mlops-probe.test" \
				-keyout server.key -out server.csr &&
			printf 'subjectAltName=DNS:mlops-probe.test,DNS:mlops-proxied.test\n' >san.ext &&
			openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
				-days 1 -extfile san.ext -out server.crt
	) >"$T/openssl.log" 2>&1 || return 1
	python3 "$HERE/servers.py" "$T/server.crt" "$T/server.key" "$T/ports" "$T/proxy.log" &
	SERVERS_PID=$!
	for i in $(seq 50); do [ -s "$T/ports" ] && break; sleep 0.1; done
	[ -s "$T/ports" ] || return 1
	read -r HTTPS_PORT PROXY_PORT DNS_ADDR <"$T/ports"
}

with_probe() { cp "$PROBE" "$ROOT/usr/bin/probe"; cp "$T/ca.crt" "$ROOT/tmp/test-ca.crt"; }

case_network() {
	if ! build_probe; then
		skip_case "network cases: no static deps (run make static) or probe link failed"
		return
	fi
	if ! start_servers; then
		skip_case "network cases: need openssl and python3"
		return
	fi
	setup runner
	with_probe
	run /usr/bin/probe cainfo
	if [ $RC -eq 0 ] && [ "$(cat "$RUN_DIR/stdout")" = /etc/ssl/certs/ca-certificates.crt ] &&
		[ -s "$ROOT/etc/ssl/certs/ca-certificates.crt" ]; then
		pass "libcurl's default CA bundle is /etc/ssl/certs/ca-certificates.crt, and the image has it"
	else
		fail "libcurl's default CA bundle (got '$(cat "$RUN_DIR/stdout")')"
	fi

	# Static glibc resolves from the injected /etc/hosts: files and dns are
	# built into libc since 2.34, no NSS module is dlopen'ed.
	run /usr/bin/probe resolve mlops-probe.test
	if [ $RC -eq 0 ] && grep -qx 127.0.0.1 "$RUN_DIR/stdout"; then
		pass "getaddrinfo in the empty root: /etc/hosts name -> 127.0.0.1"
	else fail "getaddrinfo of an /etc/hosts name in the empty root"; fi
	run /usr/bin/probe resolve "$CONTAINER_HOSTNAME"
	if [ $RC -eq 0 ] && grep -qx 172.17.0.2 "$RUN_DIR/stdout"; then
		pass "getaddrinfo: the container's own hostname"
	else fail "getaddrinfo of the container's hostname"; fi

	# TLS: verification is on and uses the default bundle (the test CA is
	# not in it), and CURL_CA_BUNDLE replaces it, as the program does.
	run /usr/bin/probe get "https://mlops-probe.test:$HTTPS_PORT/"
	if [ $RC -ne 0 ] && grep -q '^curl=60 ' "$RUN_DIR/stdout"; then
		pass "TLS to a server the bundle does not trust fails verification (curl 60)"
	else fail "TLS verification against the default bundle"; fi
	run /usr/bin/probe get "https://mlops-probe.test:$HTTPS_PORT/" -- CURL_CA_BUNDLE=/tmp/test-ca.crt
	if [ $RC -eq 0 ] && grep -q '^status=200' "$RUN_DIR/stdout"; then
		pass "HTTPS with CURL_CA_BUNDLE in the empty root: 200"
	else fail "HTTPS with CURL_CA_BUNDLE"; fi

	# HTTPS_PROXY from the environment: a CONNECT tunnel, the name resolved
	# by the proxy (mlops-proxied.test is in no hosts file); NO_PROXY obeyed.
	: >"$T/proxy.log"
	run /usr/bin/probe get "https://mlops-proxied.test:$HTTPS_PORT/" -- \
		CURL_CA_BUNDLE=/tmp/test-ca.crt "HTTPS_PROXY=http://127.0.0.1:$PROXY_PORT"
	if [ $RC -eq 0 ] && grep -q "^CONNECT mlops-proxied.test:$HTTPS_PORT" "$T/proxy.log"; then
		pass "HTTPS_PROXY: CONNECT tunnel through the proxy: 200"
	else fail "HTTPS through HTTPS_PROXY (proxy log: $(cat "$T/proxy.log"))"; fi
	: >"$T/proxy.log"
	run /usr/bin/probe get "https://mlops-probe.test:$HTTPS_PORT/" -- \
		CURL_CA_BUNDLE=/tmp/test-ca.crt "HTTPS_PROXY=http://127.0.0.1:$PROXY_PORT" NO_PROXY=mlops-probe.test
	if [ $RC -eq 0 ] && [ ! -s "$T/proxy.log" ]; then
		pass "NO_PROXY: a listed host bypasses the proxy"
	else fail "NO_PROXY bypass"; fi

	# DNS proper, all on loopback: servers.py's responder, named by a
	# resolv.conf mounted over the injected one in this root only.
	# mlops-dns.test is in no hosts file; other names are NXDOMAIN.
	if [ "$DNS_ADDR" = none ]; then
		skip_case "DNS lookup: port 53 is taken on every loopback address tried"
		return
	fi
	printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$DNS_ADDR" >"$T/resolv.conf"
	setup runner
	with_probe
	replace_mount "$T/resolv.conf" /etc/resolv.conf
	run /usr/bin/probe resolve mlops-dns.test
	if [ $RC -eq 0 ] && [ "$(cat "$RUN_DIR/stdout")" = 127.0.0.9 ]; then
		pass "getaddrinfo via DNS (/etc/resolv.conf) in the empty root: mlops-dns.test -> 127.0.0.9 from $DNS_ADDR:53"
	else fail "DNS lookup in the empty root (nameserver $DNS_ADDR)"; fi
	run /usr/bin/probe resolve mlops-nx.test
	if [ $RC -ne 0 ] && grep -qx 'error=Name or service not known' "$RUN_DIR/stdout"; then
		pass "getaddrinfo via DNS: an NXDOMAIN name fails as unknown"
	else fail "DNS lookup of an NXDOMAIN name"; fi
}

# --- successful runs against the local Azure sandbox -------------------------
# The same image root, now signing in and talking to "Azure": the sandbox's
# CONNECT proxy on loopback (runs share the host's network, as docker's
# default bridge would reach a proxy the job names), TLS verified against the
# sandbox's per-run CA, which is mounted into the root and named by
# SSL_CERT_FILE. HTTPS_PROXY, NO_PROXY and SSL_CERT_FILE are passed the way
# the runner passes a job's env: to the container; nothing else leaks in.
SB_CTL="" SB_PROXY="" SB_NO_PROXY="" SB_CA="" SB_CREDS="" SB_RG="" SB_WS=""
SB_RESULTS="" SB_RUNTIME_URL="" SB_RUNTIME_TOKEN=""
SB_REASON=""
start_sandbox() {
	local i
	command -v python3 >/dev/null || { SB_REASON="no python3"; return 1; }
	command -v curl >/dev/null || { SB_REASON="no curl"; return 1; }
	command -v node >/dev/null || { SB_REASON="no node (the sandbox runs Azurite)"; return 1; }
	SB_DIR=$(mktemp -d /tmp/rootfs-sandbox.XXXXXX)
	if ! SANDBOX_DIR=$SB_DIR "$REPO/sandbox/sandbox.sh" start >"$T/sandbox-start.log" 2>&1; then
		SB_REASON="sandbox/sandbox.sh start failed: $(tail -n 1 "$T/sandbox-start.log")"
		return 1
	fi
	[ -s "$SB_DIR/env" ] || { SB_REASON="sandbox started but wrote no $SB_DIR/env"; return 1; }
	# Sourced in a subshell: the GITHUB_*, ACTIONS_*, AZURE_* it exports stay
	# out of this script (the runs get env -i anyway).
	eval "$(
		. "$SB_DIR/env" >/dev/null 2>&1
		printf 'SB_CTL=%q SB_PROXY=%q SB_NO_PROXY=%q SB_CA=%q SB_CREDS=%q SB_RG=%q SB_WS=%q\n' \
			"${SANDBOX_CONTROL_URL:-}" "${HTTPS_PROXY:-}" "${NO_PROXY:-}" "${SSL_CERT_FILE:-}" \
			"${AZURE_CREDENTIALS:-}" "${AZURE_RESOURCE_GROUP:-}" "${AZURE_ML_WORKSPACE:-}"
		printf 'SB_RESULTS=%q SB_RUNTIME_URL=%q SB_RUNTIME_TOKEN=%q\n' "${ACTIONS_RESULTS_URL:-}" \
			"${ACTIONS_RUNTIME_URL:-}" "${ACTIONS_RUNTIME_TOKEN:-}"
	)"
	for i in SB_CTL SB_PROXY SB_CA SB_CREDS SB_RG SB_WS SB_RESULTS SB_RUNTIME_TOKEN; do
		[ -n "${!i}" ] || { SB_REASON="$SB_DIR/env lacks ${i#SB_}"; return 1; }
	done
	[ -s "$SB_CA" ] || { SB_REASON="no CA file $SB_CA"; return 1; }
	sb_ctl /health | grep -q '"ok": *true' || { SB_REASON="control API $SB_CTL/health does not answer"; return 1; }
}

# sb_ctl PATH [CURL ARGS...]: the control API (plain HTTP on loopback).
sb_ctl() { local p=$1; shift; curl -s --noproxy '*' --max-time 20 "$@" "$SB_CTL$p"; }

# with_sandbox: the repository's .cloud/, datasets/, environments/, jobs/
# and training/ copied into this run's workspace (never touching the repo),
# the sandbox CA mounted into the root; SB_ENV gets the job env and the
# sign-in inputs.
SB_ENV=()
with_sandbox() {
	local ca
	cp -a "$REPO/.cloud" "$REPO/datasets" "$REPO/environments" "$REPO/jobs" "$REPO/training" "$WS_HOST/"
	if [ "$LAYOUT" = runner ]; then
		# In the mounted runner temp (the mount point must exist there).
		ca=/github/runner_temp/sandbox-ca.pem
		: >"$RUN_DIR/host/_temp/sandbox-ca.pem"
	else
		ca=/tmp/sandbox-ca.pem # act's RUNNER_TEMP, in the container's own root
	fi
	MOUNTS+=("$SB_CA $ca")
	SB_ENV=("SSL_CERT_FILE=$ca" "HTTPS_PROXY=$SB_PROXY" "NO_PROXY=$SB_NO_PROXY"
		"INPUT_CREDS=$SB_CREDS" "INPUT_RESOURCE-GROUP=$SB_RG" "INPUT_WORKSPACE-NAME=$SB_WS"
		"INPUT_AUTH=auto")
}

# json_names JSON: the "name" of each element of a JSON list, one a line
# (fails unless JSON is a list).
json_names() {
	python3 -c 'import json, sys
v = json.loads(sys.argv[1])
assert isinstance(v, list)
for e in v: print(e["name"] if isinstance(e, dict) else e)' "$1" 2>/dev/null
}
# has_names JSON NAME...: JSON is a list naming every NAME.
has_names() {
	local names n
	names=$(json_names "$1") || return 1
	shift
	for n in "$@"; do grep -qxF -- "$n" <<<"$names" || return 1; done
}

# sandbox_run LAYOUT WORKFLOW [VAR=VALUE...]: WORKFLOW's link run against
# the sandbox; the common checks (exit 0, file commands parse, act's root
# unchanged) leave a reason in SB_WHY and return 1.
SB_WHY=""
sandbox_run() {
	local layout=$1 wf=$2 msg
	shift 2
	setup "$layout"
	with_sandbox
	run "/usr/bin/$wf" -- "${SB_ENV[@]}" "$@"
	SB_WHY=""
	if [ $RC -ne 0 ]; then
		SB_WHY="exit 0 (got $RC)"
	elif ! check_file_commands; then
		SB_WHY="file commands: $PARSE_ERR"
	elif ! msg=$(check_root_unchanged); then
		SB_WHY=$msg
	fi
	[ -z "$SB_WHY" ]
}

# proxied_hosts: the hosts whose requests the sandbox's proxy served (its
# CONNECT tunnels, TLS terminated with the per-run CA), one a line.
proxied_hosts() {
	sb_ctl /requests | python3 -c 'import json, sys
for h in sorted({r.get("host", "") for r in json.load(sys.stdin)["requests"]}): print(h)' 2>/dev/null
}

# Validation and comparison with the workspace (nothing registered yet).
sandbox_environment_ci() {
	local what="$1: environment-ci against the sandbox (TLS via HTTPS_PROXY, in-root CA)" hosts
	if ! sandbox_run "$1" environment-ci; then
		fail "$what: $SB_WHY"
		return
	fi
	hosts=$(proxied_hosts)
	if ! grep -qx login.microsoftonline.com <<<"$hosts" || ! grep -qx management.azure.com <<<"$hosts"; then
		fail "$what: sign-in and ARM calls went through the sandbox's proxy (it saw: $(echo $hosts))"
	elif [ "${OUT[status]:-}" != ok ]; then
		fail "$what: output status = ok (got '${OUT[status]:-}')"
	elif ! has_names "${OUT[changed]:-}" train-env inference-env; then
		fail "$what: output changed is a JSON list naming train-env and inference-env (got '${OUT[changed]:-}')"
	elif ! grep -qF '## Environment CI' "$SUMMARY_FILE"; then
		fail "$what: the step summary has '## Environment CI'"
	else
		pass "$what: exit 0, status=ok, changed names $(json_names "${OUT[changed]}" | sort | paste -sd, -), summary $(wc -c <"$SUMMARY_FILE") bytes, via proxy: $(echo $hosts)"
	fi
}

# The control: the same run with the image's own bundle instead of the
# sandbox CA fails TLS verification, so the passes above rest on the
# mounted CA (and verification is on).
sandbox_untrusted_ca() {
	local what="$1: environment-ci against the sandbox without its CA"
	setup "$1"
	with_sandbox
	run /usr/bin/environment-ci -- "${SB_ENV[@]}" SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
	if [ $RC -eq 0 ]; then
		fail "$what: fails (got exit 0)"
	elif ! both | grep -q '^::error.*SSL certificate problem'; then
		fail "$what: a ::error naming the certificate problem"
	else
		pass "$what: exit $RC, $(both | grep -m 1 -o 'SSL certificate problem.*')"
	fi
}

# A dry run: validate + what-if of .cloud/*.json, no deployment.
sandbox_workspace_whatif() {
	local what="$1: workspace-cd what-if against the sandbox"
	if ! sandbox_run "$1" workspace-cd INPUT_WHAT-IF=true; then
		fail "$what: $SB_WHY"
	elif [ "$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]) == [])' \
		"${OUT[deployment-names]:-}" 2>/dev/null)" != True ]; then
		fail "$what: output deployment-names = [] (got '${OUT[deployment-names]:-}')"
	elif ! grep -qF 'What-if' "$SUMMARY_FILE"; then
		fail "$what: the step summary mentions What-if"
	else
		pass "$what: exit 0, deployment-names=[], summary: $(grep -m 1 -F 'What-if' "$SUMMARY_FILE")"
	fi
}

# Registration: the outputs say so, and the sandbox holds both versions.
sandbox_environment_cd() {
	local what="$1: environment-cd against the sandbox" held
	if ! sandbox_run "$1" environment-cd; then
		fail "$what: $SB_WHY"
		return
	fi
	held=$(sb_ctl /state | python3 -c 'import json, sys
s = json.load(sys.stdin)
envs = s["azureml"][sys.argv[1] + "/" + sys.argv[2]]["assets"]["environments"]
for name, e in sorted(envs.items()):
    for v in sorted((e.get("versions") or {})): print(name + ":" + v)' "$SB_RG" "$SB_WS" 2>&1)
	if ! has_names "${OUT[registered]:-}" train-env inference-env; then
		fail "$what: output registered lists train-env and inference-env (got '${OUT[registered]:-}')"
	elif ! grep -q '^train-env:' <<<"$held" || ! grep -q '^inference-env:' <<<"$held"; then
		fail "$what: the sandbox's workspace holds both environments (state: $held)"
	else
		pass "$what: exit 0, registered $(json_names "${OUT[registered]}" | sort | paste -sd, -); sandbox holds $(echo $held)"
	fi
}

# --- zips: the static libarchive in the image's root --------------------------
# check_zip ZIP [NAME=TEXT]...: ZIP opens with Python's zipfile, every
# member's CRC checks (testzip), each NAME is a member whose contents hold
# TEXT, and every non-ASCII name carries the UTF-8 flag (bit 11), so it reads
# back as written. Prints what it found; on a failure, why.
check_zip() {
	python3 -c 'import os, sys, zipfile
path, want = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
try:
    z = zipfile.ZipFile(path)
except Exception as e:
    sys.exit("%s is not a zip (%d bytes): %s" % (path, os.path.getsize(path), e))
bad = z.testzip()
if bad is not None:
    sys.exit("member %r fails its CRC" % bad)
infos = {i.filename: i for i in z.infolist()}
for i in infos.values():
    if not i.filename.isascii() and not i.flag_bits & 0x800:
        sys.exit("%r: non-ASCII name without the UTF-8 flag" % i.filename)
for name, text in want.items():
    if name not in infos:
        sys.exit("no member %r (members: %s)" % (name, sorted(infos)))
    if text not in z.read(name).decode("utf-8", "replace"):
        sys.exit("member %r lacks %r" % (name, text))
print("%d bytes, members %s" % (os.path.getsize(path), ", ".join(sorted(infos))))' "$@" 2>&1
}

# scripts/zip-check.c (the program's own core/zip.c) linked against the
# static libraries as the release binary is, run in the image's root: no
# gconv modules, no locale files. A UTF-8 name must come out flagged and
# intact, and the contents whole.
case_zip() {
	local prefix=$REPO/build/static-deps/prefix ma what="zip in the empty root (static libarchive, core/zip.c)" msg
	local u8=$'d\303\251j\303\240/na\303\257ve \342\234\223.txt' # déjà/naïve ✓.txt
	if [ ! -f "$prefix/lib/libarchive.a" ] || [ ! -f "$REPO/build/static/libmlops.a" ] ||
		! command -v python3 >/dev/null; then
		skip_case "$what: no static deps (run make static) or no python3"
		return
	fi
	ma=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
	if ! (cd "$REPO" && PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig:/usr/lib/$ma/pkgconfig:/usr/share/pkgconfig \
		sh -c 'cc -std=c17 -D_GNU_SOURCE -O2 -static -Isrc -o "$1" scripts/zip-check.c \
			build/static/libmlops.a $(pkg-config --static --cflags --libs libarchive libcrypto) -lpthread' \
		zip-check "$T/zip-check") >"$T/zip-check.log" 2>&1; then
		fail "$what: linking scripts/zip-check.c: $(tail -n 3 "$T/zip-check.log")"
		return
	fi
	setup runner
	cp "$T/zip-check" "$ROOT/usr/bin/zip-check"
	mkdir -p "$WS_HOST/tree/logs" "$WS_HOST/tree/empty" "$WS_HOST/tree/${u8%/*}"
	printf 'epoch 30/30 loss 0.1\n' >"$WS_HOST/tree/logs/std_log.txt"
	printf 'utf-8 name\n' >"$WS_HOST/tree/$u8"
	run /usr/bin/zip-check /github/workspace/tree /github/workspace/out.zip
	if [ $RC -ne 0 ]; then
		fail "$what: zip-check exits 0 (got $RC)"
	elif ! msg=$(check_zip "$WS_HOST/out.zip" "$u8=utf-8 name" "logs/std_log.txt=epoch 30/30" "empty/="); then
		fail "$what: $msg"
	else
		pass "$what: $msg"
	fi
}

# fetch_artifact NAME FILE: the finalized artifact NAME of the sandbox's run,
# downloaded as the toolkit downloads one (GetSignedArtifactURL through the
# proxy, then the signed blob URL), into FILE; the reason in FETCH_ERR.
FETCH_ERR=""
fetch_artifact() {
	FETCH_ERR=$(python3 -c 'import base64, json, ssl, sys, urllib.request
name, out, proxy, ca, results, token = sys.argv[1:]
claims = token.split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
scope = [s for s in claims["scp"].split() if s.startswith("Actions.Results:")][0]
run, job = scope.split(":")[1:3]
open_url = urllib.request.build_opener(urllib.request.ProxyHandler({"https": proxy}),
    urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca))).open
req = urllib.request.Request(results.rstrip("/") + "/twirp/github.actions.results.api.v1.ArtifactService/GetSignedArtifactURL",
    data=json.dumps({"workflow_run_backend_id": run, "workflow_job_run_backend_id": job, "name": name}).encode(),
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
try:
    url = json.load(open_url(req, timeout=20))["signed_url"]
except urllib.error.HTTPError as e:
    sys.exit("GetSignedArtifactURL: %d %s" % (e.code, e.read().decode("utf-8", "replace")))
with open(out, "wb") as f:
    f.write(open_url(url, timeout=20).read())' "$1" "$2" "$SB_PROXY" "$SB_CA" "$SB_RESULTS" "$SB_RUNTIME_TOKEN" 2>&1)
}

# Model-CI end to end: Workspace-CD first (it registers the churn data the
# shipped jobs/train.yml reads; train-env is registered by environment_cd,
# which SANDBOX_CASES runs before). The job really runs in the sandbox; its
# logs must come back as artifact training-logs-<job> in the sandbox's
# results service (the runtime token and results URL passed as the runner
# passes them), fetched and opened with Python's zipfile.
SB_ARTIFACT_ENV=()
sandbox_model_ci() {
	local what="$1: model-ci against the sandbox, log artifact included" job art zip msg
	if ! sandbox_run "$1" workspace-cd; then
		fail "$what: workspace-cd first (the churn data): $SB_WHY"
		return
	fi
	SB_ARTIFACT_ENV=("ACTIONS_RESULTS_URL=$SB_RESULTS" "ACTIONS_RUNTIME_URL=$SB_RUNTIME_URL"
		"ACTIONS_RUNTIME_TOKEN=$SB_RUNTIME_TOKEN")
	if ! sandbox_run "$1" model-ci "${SB_ARTIFACT_ENV[@]}"; then
		fail "$what: $SB_WHY"
		return
	fi
	job=${OUT[job-name]:-}
	art=training-logs-$job
	zip=$RUN_DIR/artifact.zip
	if [ "${OUT[status]:-}" != Completed ] || [ -z "$job" ]; then
		fail "$what: outputs status=Completed and a job-name (got '${OUT[status]:-}', '$job')"
	elif both | grep -qE 'job logs not (uploaded|kept)'; then
		fail "$what: the logs uploaded (got: $(both | grep -m 1 -E 'job logs not (uploaded|kept)'))"
	elif ! fetch_artifact "$art" "$zip"; then
		fail "$what: artifact $art in the results service: $FETCH_ERR"
	elif ! msg=$(check_zip "$zip" "user_logs/std_log.txt=test accuracy"); then
		fail "$what: artifact $art: $msg"
	elif ! grep -qF "$art" "$SUMMARY_FILE"; then
		fail "$what: the step summary names artifact $art"
	else
		pass "$what: exit 0, status=Completed, artifact $art: $msg"
	fi
}

# The same from a terminal (no CI host): the artifact is a zip in
# --artifacts DIR (here in the mounted workspace), the outputs one JSON
# object on stdout. Runs after the layouts, on the data and environment
# they registered.
sandbox_model_ci_terminal() {
	local what="terminal: model-ci against the sandbox, --artifacts zip" job zip msg
	setup runner
	with_sandbox
	CENV=("PATH=/usr/bin" "HOSTNAME=$CONTAINER_HOSTNAME" "HOME=/github/home")
	run /usr/bin/mlops model-ci --artifacts /github/workspace/artifacts -- "${SB_ENV[@]}"
	job=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["job-name"])' "$RUN_DIR/stdout" 2>/dev/null)
	zip=$WS_HOST/artifacts/training-logs-$job.zip
	if [ $RC -ne 0 ]; then
		fail "$what: exit 0 (got $RC)"
	elif [ -z "$job" ]; then
		fail "$what: stdout is a JSON object with job-name"
	elif [ ! -s "$zip" ]; then
		fail "$what: a non-empty artifacts/training-logs-$job.zip (artifacts/: $(ls -l "$WS_HOST/artifacts" 2>&1 | tail -n +2))"
	elif ! msg=$(check_zip "$zip" "user_logs/std_log.txt=test accuracy"); then
		fail "$what: $msg"
	else
		pass "$what: exit 0, artifacts/training-logs-$job.zip: $msg"
	fi
}

SANDBOX_CASES=(environment_ci workspace_whatif environment_cd model_ci)
case_sandbox() {
	local layout c
	if ! start_sandbox; then
		for layout in runner act; do
			for c in "${SANDBOX_CASES[@]}"; do
				skip_case "$layout: ${c//_/-} against the sandbox: $SB_REASON"
			done
		done
		skip_case "runner: environment-ci against the sandbox without its CA: $SB_REASON"
		skip_case "terminal: model-ci against the sandbox: $SB_REASON"
		return
	fi
	for layout in runner act; do
		# Each layout starts from a fresh sandbox (nothing registered); jobs
		# and long-running operations step quickly.
		if ! sb_ctl /reset -X POST >/dev/null ||
			! sb_ctl /config -X POST -d '{"lro_step_seconds": 0.2, "job_step_seconds": 0.2}' >/dev/null; then
			fail "$layout: POST $SB_CTL/reset and /config"
			continue
		fi
		for c in "${SANDBOX_CASES[@]}"; do "sandbox_$c" "$layout"; done
	done
	sandbox_model_ci_terminal
	sandbox_untrusted_ca runner
}

# --- main --------------------------------------------------------------------
echo "rootfs-test: $ROOTFS"
case_list
case_help
case_version
case_missing_input
case_network
case_zip
case_sandbox
RUN_DIR=""
if [ "$SKIPPED" -gt 0 ]; then
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
	echo "$PASSED passed, $FAILED failed"
fi
[ "$FAILED" -eq 0 ]
