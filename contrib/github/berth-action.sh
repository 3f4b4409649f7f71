#!/usr/bin/env bash
# The steps of action.yml, in the environment GitHub Actions gives a
# composite step (GITHUB_*, RUNNER_TEMP) and the action's inputs
# (INPUT_*). Tested by contrib/integrations_test.go with a fake GitHub.
set -euo pipefail

log() { echo "berth-action: $*" >&2; }
fail() { echo "::error title=berth action::$*"; exit 2; }

: "${GITHUB_WORKSPACE:=$PWD}" "${RUNNER_TEMP:=${TMPDIR:-/tmp}}" "${GITHUB_API_URL:=https://api.github.com}"
cd "$GITHUB_WORKSPACE"

# 1. Install berth.
bin="$RUNNER_TEMP/berth-bin"
mkdir -p "$bin"
case "${INPUT_INSTALL:-source}" in
source)
	log "building berth from ${BERTH_ACTION_PATH:?} (go install ./cmd/berth)"
	(cd "$BERTH_ACTION_PATH" && GOBIN="$bin" go install ./cmd/berth) || fail "go install ./cmd/berth failed"
	;;
release)
	[[ -n ${INPUT_VERSION:-} ]] || fail 'install "release" needs the input version (a release tag)'
	os=$(uname -s | tr '[:upper:]' '[:lower:]')
	case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
	url=${INPUT_RELEASE_URL//\{version\}/$INPUT_VERSION}
	url=${url//\{os\}/$os}
	url=${url//\{arch\}/$arch}
	log "downloading $url"
	curl -fsSL --retry 3 "$url" | tar -xz -C "$bin" berth || fail "download $url failed"
	;;
none) bin=$(dirname "$(command -v berth || fail 'install "none" but no berth on the PATH')") ;;
*) fail "unknown install \"$INPUT_INSTALL\" (source, release or none)" ;;
esac
export PATH="$bin:$PATH"
[[ -n ${GITHUB_PATH:-} ]] && echo "$bin" >>"$GITHUB_PATH"
berth version >&2 || true

# 2. Lint, as annotations on the changed lines. The exit code is the
# step's, after the comment: a broken pull request still gets its plan.
read -r -a lint_args <<<"${INPUT_LINT_ARGS:-}"
status=0
berth lint -o github "${lint_args[@]}" "${INPUT_PATH:-.}" || status=$?
[[ -n ${GITHUB_OUTPUT:-} ]] && echo "lint-exit-code=$status" >>"$GITHUB_OUTPUT"

# 3. The plan as a pull-request comment, updated in place on each push.
if [[ ${INPUT_PLAN_COMMENT:-false} == true ]]; then
	if [[ ${GITHUB_EVENT_NAME:-} != pull_request && ${GITHUB_EVENT_NAME:-} != pull_request_target ]]; then
		log "plan-comment: not a pull request (${GITHUB_EVENT_NAME:-no event}); skipped"
	else
		command -v jq >/dev/null || fail "plan-comment needs jq"
		pr=$(jq -r '.pull_request.number // empty' "${GITHUB_EVENT_PATH:?}")
		[[ -n $pr ]] || fail "no pull request number in $GITHUB_EVENT_PATH"
		marker='<!-- berth plan -->'
		if plan=$(berth plan --base "${INPUT_BASE:-origin/main}" -o markdown "${INPUT_PATH:-.}" 2>&1); then
			[[ -n ${GITHUB_OUTPUT:-} ]] && echo "plan-changes=$(grep -m1 -o 'Plan: [^*]*' <<<"$plan" || true)" >>"$GITHUB_OUTPUT"
		else
			plan=$'### berth plan failed\n\n```\n'"$plan"$'\n```'
		fi
		body=$(jq -n --arg b "$marker"$'\n'"$plan" '{body: $b}')
		api="$GITHUB_API_URL/repos/${GITHUB_REPOSITORY:?}/issues"
		auth=(-H "Authorization: Bearer ${INPUT_GITHUB_TOKEN:?}" -H "Accept: application/vnd.github+json")
		id=$(curl -fsS "${auth[@]}" "$api/$pr/comments?per_page=100" |
			jq -r --arg m "$marker" '[.[] | select(.body | startswith($m))][0].id // empty') || fail "list the comments of #$pr"
		if [[ -n $id ]]; then
			curl -fsS -o /dev/null -X PATCH "${auth[@]}" "$api/comments/$id" -d "$body" || fail "update comment $id"
			log "plan comment $id on #$pr updated"
		else
			curl -fsS -o /dev/null -X POST "${auth[@]}" "$api/$pr/comments" -d "$body" || fail "comment on #$pr"
			log "plan comment posted on #$pr"
		fi
		[[ -n ${GITHUB_STEP_SUMMARY:-} ]] && echo "$plan" >>"$GITHUB_STEP_SUMMARY"
	fi
fi
exit "$status"
