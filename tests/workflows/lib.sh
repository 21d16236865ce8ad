# Shared by the workflow tests (tests/workflows/*.sh), after tests/lib.sh:
# running one step as the runner runs it and reading back what it left.
# The script defines gh_cmd WORKFLOW [NAME=VALUE...] (its runner-shaped
# environment) and $work; the sandbox's env is loaded.

# sandbox_up NAME: a private sandbox for this script on free ports and a
# scratch folder $work, both removed at exit; the sandbox's environment is
# loaded. A sandbox that does not start is one failure, and the end.
sandbox_up() {
	export SANDBOX_DIR
	SANDBOX_DIR=$(mktemp -d "/tmp/mlops-$1.XXXXXX")
	"$repo/sandbox/sandbox.sh" start >/dev/null || { echo "sandbox did not start"; echo "0 passed, 1 failed"; exit 1; }
	work=$(mktemp -d "/tmp/mlops-$1-ws.XXXXXX")
	trap '"$repo/sandbox/sandbox.sh" stop >/dev/null 2>&1; rm -rf "$SANDBOX_DIR" "$work"' EXIT
	# shellcheck disable=SC1091
	. "$SANDBOX_DIR/env"
}

# gh WORKFLOW [NAME=VALUE...]: one step; stdout+stderr in $work/log, the
# exit code in $work/rc.
gh() {
	(gh_cmd "$@") >"$work/log" 2>&1
	echo $? >"$work/rc"
}
rc() { cat "$work/rc"; }
# output NAME: a step output, read from the heredoc blocks of GITHUB_OUTPUT.
output() {
	awk -v n="$1" 'index($0, n "<<") == 1 { d = substr($0, length(n) + 3); on = 1; v = ""; first = 1; next }
		on && $0 == d { print v; on = 0; next }
		on { v = first ? $0 : v "\n" $0; first = 0 }' "$work/output"
}
# state EXPR: a Python expression over the sandbox state `s` (the ML
# workspace is `ws`, its assets `w`, its jobs `jobs`).
state() {
	curl -s "$SANDBOX_CONTROL_URL/state" | python3 -c "
import json, sys
s = json.load(sys.stdin)
ws = s['azureml']['$AZURE_RESOURCE_GROUP/$AZURE_ML_WORKSPACE']
w = ws['assets']
jobs = ws.get('jobs', {})
print($1)"
}
expect() { [ "$1" = "$2" ] || { echo "expected '$2', got '$1'"; tail -n 20 "$work/log"; return 1; }; }
# fault JSON: adds a rule to the sandbox's fault script; prints its id.
fault() {
	curl -s -X POST -d "$1" "$SANDBOX_CONTROL_URL/faults" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["faults"][0]["id"])'
}
# applied ID: how many times rule ID was applied (while it is in the script).
applied() {
	curl -s "$SANDBOX_CONTROL_URL/faults" |
		python3 -c 'import json,sys; print(sum(r["applied"] for r in json.load(sys.stdin)["faults"] if r["id"] == int(sys.argv[1])))' "$1"
}
