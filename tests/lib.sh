# Shared by the shell test scripts: a tiny harness that counts results and
# ends with the plain "N passed, M failed" line.
passed=0
failed=0
skipped=0

pass() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; [ -z "${2:-}" ] || printf '     %s\n' "$2"; }
skip() { skipped=$((skipped + 1)); printf 'skip %s (%s)\n' "$1" "$2"; }

# check NAME COMMAND...: passes when the command exits 0.
check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(printf '%s' "$out" | tail -n 5)"; fi
}

summary_line() {
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
}
