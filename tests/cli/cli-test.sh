#!/usr/bin/env bash
# The real binary, run as the GitHub runner, Azure Pipelines and a terminal
# would: argv[0] dispatch, help, exit codes, file commands and annotations.
set -u
mlops=$(realpath "${1:-build/mlops}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A runner-shaped environment: only what the runner would pass.
gh_env() {
	: > "$work/output" && : > "$work/summary"
	env -i PATH=/usr/bin:/bin HOME="$work" GITHUB_ACTIONS=true CI=true \
		GITHUB_OUTPUT="$work/output" GITHUB_STEP_SUMMARY="$work/summary" \
		GITHUB_WORKSPACE="$work" GITHUB_REPOSITORY=org/repo GITHUB_SHA=abc123 "$@"
}

t_help_lists_every_workflow() {
	out=$("$mlops" --help) || return 1
	for wf in workspace-cd environment-ci environment-cd model-ci model-ct model-cd; do
		grep -q "$wf" <<<"$out" || { echo "missing $wf"; return 1; }
	done
}

t_workflow_help_lists_inputs_and_outputs() {
	out=$("$mlops" model-cd --help) || return 1
	grep -q -- '--model-name (required)' <<<"$out" && grep -q 'scoring-uri' <<<"$out"
}

t_argv0_dispatch() {
	ln -sf "$mlops" "$work/environment-ci"
	out=$("$work/environment-ci" --help) && grep -q 'usage: mlops environment-ci' <<<"$out"
}

t_version_and_list() {
	"$mlops" version | grep -q "^mlops $(cat "$here/../../VERSION")$" &&
		[ "$("$mlops" --list | wc -l)" -eq 6 ]
}

t_unknown_workflow_is_a_usage_error() {
	"$mlops" no-such-flow >/dev/null 2>&1
	[ $? -eq 2 ]
}

t_missing_required_input_under_github() {
	gh_env INPUT_WORKSPACE-NAME=ws "$mlops" model-cd >"$work/stdout" 2>&1
	rc=$?
	[ $rc -eq 2 ] || { echo "exit $rc"; return 1; }
	grep -q '^::error title=model-cd%3A input error::Input required and not supplied: resource-group$' "$work/stdout" ||
		{ cat "$work/stdout"; return 1; }
	grep -q 'Input required and not supplied: resource-group' "$work/summary" &&
		grep -q '^## Model CD$' "$work/summary"
}

t_secret_inputs_are_masked_before_anything_prints() {
	gh_env INPUT_CLIENT-SECRET=very-secret-value "INPUT_RESOURCE-GROUP=rg very-secret-value" \
		"$mlops" environment-ci >"$work/stdout" 2>&1
	head -n 1 "$work/stdout" | grep -q '^::add-mask::very-secret-value$' &&
		[ "$(grep -c very-secret-value "$work/stdout")" -eq 1 ] &&
		! grep -q very-secret-value "$work/summary"
}

t_bad_boolean_names_the_input() {
	gh_env INPUT_RESOURCE-GROUP=rg INPUT_WORKSPACE-NAME=ws INPUT_WHAT-IF=yes \
		"$mlops" workspace-cd >"$work/stdout" 2>&1
	[ $? -eq 2 ] && grep -q '::error .*what-if' "$work/stdout"
}

t_terminal_flags_and_summary_file() {
	"$mlops" model-ci --resource-group rg --workspace-name ws --summary "$work/term.md" \
		>"$work/stdout" 2>"$work/stderr"
	rc=$?
	# Not built yet: fails after reading every input; stdout stays JSON.
	[ $rc -ne 0 ] && [ "$(cat "$work/stdout")" = "{}" ] && grep -q '^## Model CI' "$work/term.md"
}

t_summary_path_that_is_a_folder_is_an_annotated_error() {
	mkdir -p "$work/sumdir"
	"$mlops" model-cd --summary "$work/sumdir" >"$work/stdout" 2>"$work/stderr"
	rc=$?
	[ $rc -eq 2 ] || { echo "terminal: exit $rc"; return 1; }
	grep -q "^error: model-cd: input error: --summary $work/sumdir is a folder" "$work/stderr" ||
		{ cat "$work/stderr"; return 1; }
	gh_env GITHUB_STEP_SUMMARY="$work/sumdir" "$mlops" model-cd >"$work/stdout" 2>&1
	rc=$?
	[ $rc -eq 1 ] || { echo "github: exit $rc"; return 1; }
	grep -q "^::error title=model-cd%3A io error::GITHUB_STEP_SUMMARY ($work/sumdir) is a folder" \
		"$work/stdout" || { cat "$work/stdout"; return 1; }
}

t_terminal_unknown_flag() {
	"$mlops" model-ci --no-such x >/dev/null 2>"$work/stderr"
	[ $? -eq 2 ] && grep -q 'unknown input --no-such' "$work/stderr"
}

t_pipelines_logging_commands() {
	env -i PATH=/usr/bin:/bin TF_BUILD=True AGENT_TEMPDIRECTORY="$work" \
		"$mlops" model-cd >"$work/stdout" 2>&1
	[ $? -eq 2 ] && grep -q '^##vso\[task.logissue type=error\]model-cd: input error: Input required and not supplied: resource-group$' "$work/stdout" &&
		grep -q '^##vso\[task.uploadsummary\]' "$work/stdout"
}

# Outside text (here an input's value, quoted back in the error) carries no
# command marker to the agent or the runner (docs/workflow-commands.md).
t_outside_text_in_an_error_forms_no_command() {
	local evil=$'yes ##vso[task.complete result=Failed]\r##[error]x\r::error::forged'
	env -i PATH=/usr/bin:/bin TF_BUILD=True AGENT_TEMPDIRECTORY="$work" INPUT_RESOURCE_GROUP=rg \
		INPUT_WORKSPACE_NAME=ws "INPUT_WHAT_IF=$evil" "$mlops" workspace-cd >"$work/stdout" 2>&1
	[ $? -eq 2 ] || return 1
	# Every line (CR ends one too) holds a marker only at its start, and one.
	tr '\r' '\n' <"$work/stdout" | awk '{ n = gsub(/##vso|##\[/, "&"); if (n > 1 || (n == 1 && $0 !~ /^##(vso)?\[/)) bad = 1 }
		END { exit bad }' || { cat -A "$work/stdout"; return 1; }
	grep -q 'yes \*\*vso\[task.complete result=Failed\]%0D\*\*\[error\]x%0D::error::forged' "$work/stdout" ||
		{ cat -A "$work/stdout"; return 1; }
	gh_env INPUT_RESOURCE-GROUP=rg INPUT_WORKSPACE-NAME=ws "INPUT_WHAT-IF=$evil" \
		"$mlops" workspace-cd >"$work/stdout" 2>&1
	[ $? -eq 2 ] || return 1
	[ "$(tr '\r' '\n' <"$work/stdout" | grep -c '::error')" -eq 1 ] || { cat -A "$work/stdout"; return 1; }
}

for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
	if out=$($t 2>&1); then pass "${t#t_}"; else fail "${t#t_}" "$(printf '%s' "$out" | tail -n 5)"; fi
done
summary_line
