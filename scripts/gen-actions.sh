#!/bin/sh
# Writes every action.yml from the program's own input tables, so the
# tables in src/cmd/ stay the single source of truth:
#   action.yml              any workflow, chosen by the `workflow` input
#   <workflow>/action.yml   one per workflow: uses: OWNER/REPO/<workflow>@v1
set -eu
mlops=${1:-build/mlops}
cd "$(dirname "$0")/.."
"$mlops" --action-yml > action.yml
for wf in $("$mlops" --list); do
	mkdir -p "$wf"
	"$mlops" "$wf" --action-yml > "$wf/action.yml"
done
echo "wrote action.yml and $("$mlops" --list | tr '\n' ' ')action files"
