#!/bin/sh
# The rules that keep src/cmd a thin layer over the domain (src/mlops):
#   1. src/cmd reaches Azure only through the domain (src/mlops) or through
#      cmd/session.c, which opens the clients: no other file of src/cmd
#      calls an aml_*, arm_* (ARM deployments are arm_deployment_*), mlflow_*
#      or blob_* function.
#   2. No function in src/cmd is longer than MAX_LINES lines, counted from
#      the line of its opening brace to the line of its closing brace (the
#      kernel style puts both in column 0).
# Comments and string literals are left out before looking for calls.
#
#   scripts/check-layers.sh           check; exit 1 and name each breach
#   scripts/check-layers.sh --longest N   list the N longest functions of src/cmd
set -u
cd "$(dirname "$0")/.." || exit 1
MAX_LINES=60
dir=src/cmd

# Prints FILE:LINE:TEXT of every line of code (comments and strings blanked).
code_lines() {
	awk '
	FNR == 1 { comment = 0 }
	{
		line = $0; out = ""; i = 1; n = length(line)
		while (i <= n) {
			c = substr(line, i, 1); two = substr(line, i, 2)
			if (comment) {
				if (two == "*/") { comment = 0; i += 2 } else i++
				continue
			}
			if (two == "/*") { comment = 1; i += 2; continue }
			if (two == "//") break
			if (c == "\"" || c == "'\''") {
				q = c; out = out q; i++
				while (i <= n && substr(line, i, 1) != q) {
					if (substr(line, i, 1) == "\\") i++
					i++
				}
				out = out q; i++
				continue
			}
			out = out c; i++
		}
		print FILENAME ":" FNR ":" out
	}' "$@"
}

# Prints "LENGTH FILE:LINE NAME" for every function of the files given.
function_lengths() {
	awk '
	FNR == 1 { open = 0; head = "" }
	/^\{/ && !open { open = FNR }
	/^\}/ && open {
		name = head; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
		print FNR - open + 1, FILENAME ":" open, name
		open = 0
	}
	# The declarator: the last line outside a body that starts in column 0.
	!open && /^[A-Za-z_]/ { head = $0 }' "$@"
}

if [ "${1:-}" = "--longest" ]; then
	function_lengths "$dir"/*.c | sort -rn | head -n "${2:-10}"
	exit 0
fi

status=0
calls=$(code_lines $(ls "$dir"/*.c "$dir"/*.h | grep -v '/session\.c$') |
	grep -E '(^|[^A-Za-z0-9_.>])(aml|arm|mlflow|blob)_[A-Za-z0-9_]*[[:space:]]*\(')
if [ -n "$calls" ]; then
	echo "src/cmd calls Azure clients directly (go through src/mlops or cmd/session.c):"
	printf '%s\n' "$calls" | sed 's/^/  /'
	status=1
fi
long=$(function_lengths "$dir"/*.c | awk -v max="$MAX_LINES" '$1 > max')
if [ -n "$long" ]; then
	echo "functions in src/cmd longer than $MAX_LINES lines (length, where, name):"
	printf '%s\n' "$long" | sed 's/^/  /'
	status=1
fi
[ "$status" -eq 0 ] && echo "layers: src/cmd keeps to its rules"
exit "$status"
