#!/usr/bin/env bash
# The step behind action.yml: installs a pinned mlops-gate into its own virtual environment, runs it,
# and turns its reports into the step's outputs, summary and annotations.
#
# Every input arrives as an INPUT_* environment variable set by the action's `env:` block, so no input
# is ever pasted into shell code. Values are checked before anything is installed: a value that starts
# with `-` (it would be read as a flag) or spans lines is rejected with exit code 2.
#
# Exit code: the gate's (0 passed, 1 blocked, 2 usage error, 3 could not evaluate), except that with
# soft-fail 1 and 3 become 0 (the `verdict` output still says fail/error). Bad inputs and usage errors
# (2) are never softened: a gate that cannot run as configured must be noticed.
#
# The working directory is the checkout, which a pull request controls: Python never runs with it on
# sys.path. `python -m X` and `python -c` put the working directory first on sys.path, so a folder
# `mlops_gate/`, `pip/`, `venv/`, `ensurepip/` or `json/` in the change would run in place of the real
# module, with the step's credentials. Every interpreter runs isolated (`-I`: neither the working directory
# nor PYTHON* variables on sys.path), and the virtual environment is created and filled from a folder
# outside the checkout.
#
# For tests: MLOPS_GATE_SKIP_INSTALL=1 runs `$MLOPS_GATE_PYTHON -I -m mlops_gate` (default python3)
# instead of creating a virtual environment.
set -euo pipefail
shopt -s inherit_errexit

readonly MAX_ANNOTATIONS=10        # GitHub shows at most 10 annotations of each level per step
readonly MAX_SUMMARY_BYTES=1048576 # GitHub rejects a step summary over 1 MiB

gh_escape() { # workflow-command data escaping
  local s=${1//%/%25}
  s=${s//$'\r'/%0D}
  s=${s//$'\n'/%0A}
  printf '%s' "$s"
}

fail_input() { # to stderr: it is called inside $(...); the runner reads workflow commands there too
  echo "::error title=mlops-gate action::$(gh_escape "$1")" >&2
  # the outputs and the summary say so too: a rejected input is a gate that could not run
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'verdict=error\nreport-json=\nsarif-file=\nfailed-count=0\nexit-code=2\n' >> "$GITHUB_OUTPUT"
  fi
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '## mlops-gate: could not run (exit code 2)\n\n%s\n' "$1" >> "$GITHUB_STEP_SUMMARY"
  fi
  exit 2
}

# ---- read and validate the inputs -----------------------------------------------------------------
input() { # input NAME -> the INPUT_* value for an input named NAME (dashes as in action.yml)
  local var value
  var="INPUT_$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')"
  value="${!var-}"
  case "$value" in
    -*) fail_input "input '$1' must not start with '-' (got '$value'): it would be read as a flag; give the value itself" ;;
    *$'\n'* | *$'\r'*) fail_input "input '$1' must be a single line" ;;
  esac
  printf '%s' "$value"
}

bool_input() { # bool_input NAME DEFAULT -> true|false
  local value
  value=$(input "$1")
  case "${value:-$2}" in
    true | True | TRUE) echo true ;;
    false | False | FALSE) echo false ;;
    *) fail_input "input '$1' must be true or false (got '$value')" ;;
  esac
}

one_of() { # one_of NAME VALUE ALLOWED... (an empty VALUE is allowed)
  local name=$1 value=$2 allowed
  shift 2
  [ -z "$value" ] && return 0
  for allowed in "$@"; do [ "$value" = "$allowed" ] && return 0; done
  fail_input "input '$name' must be one of: $* (got '$value')"
}

version=$(input version)
command=$(input command)
command=${command:-check}
release=$(input release)
workdir=$(input working-directory)
workdir=${workdir:-.}
fail_on=$(input fail-on)
sarif=$(input sarif)
soft_fail=$(bool_input soft-fail false)
annotations=$(bool_input annotations true)
summary=$(bool_input summary true)

one_of command "$command" check audit
if [ -n "$version" ] && [[ "$version" =~ ^[0-9][0-9A-Za-z.+!]*$ ]]; then
  fail_input "input 'version' ($version) would install mlops-gate by bare name from a package index: pin the action's ref instead (uses: OWNER/mlops-gate@<tag or SHA>), or give a pip requirement with a URL (mlops-gate @ git+https://...@<SHA>)"
fi
one_of fail-on "$fail_on" critical high medium low info
platform=$(input platform)
one_of platform "$platform" github gitlab azure
if [ "$command" = audit ] && [ -z "$release" ]; then
  fail_input "input 'release' is required with command: audit (the tag to audit, e.g. \${{ github.ref_name }})"
fi
if [ "$command" = check ] && [ -n "$release" ]; then
  fail_input "input 'release' only applies to command: audit"
fi
[ -d "$workdir" ] || fail_input "input 'working-directory': no directory '$workdir'"

args=("$command")
[ -n "$release" ] && args+=(--release "$release")
args+=(--repo "$workdir")
add() { # add FLAG INPUT-NAME: pass the input's value when it is set
  local value
  value=$(input "$2")
  if [ -n "$value" ]; then args+=("$1" "$value"); fi
}
add --policy policy
add --platform platform
add --repository repository
add --branch branch
add --commit commit
add --model model
add --image image
add --prometheus-url prometheus-url
add --alertmanager-url alertmanager-url
add --api-url api-url
add --fail-on fail-on
add --only only
add --skip skip
add --facts-in facts-in
add --policy-ref policy-ref
extra_args=${INPUT_EXTRA_ARGS-} # more options, split on blanks (never globbed): flags by design, one line
case "$extra_args" in *$'\n'* | *$'\r'*) fail_input "input 'extra-args' must be a single line" ;; esac
if [ "$command" = audit ]; then
  add --evidence evidence
  add --sign-key sign-key
elif [ -n "$(input evidence)$(input sign-key)" ]; then
  fail_input "inputs 'evidence' and 'sign-key' only apply to command: audit"
fi

# ---- credentials: only through the environment -----------------------------------------------------
# admin-token (a token with Administration: read) wins: classic branch protection needs it.
if [ -n "${INPUT_ADMIN_TOKEN:-}" ]; then
  export GITHUB_TOKEN="$INPUT_ADMIN_TOKEN"
elif [ -n "${INPUT_TOKEN:-}" ]; then
  export GITHUB_TOKEN="$INPUT_TOKEN"
fi
unset INPUT_TOKEN INPUT_ADMIN_TOKEN

# ---- install --------------------------------------------------------------------------------------
tmp_root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
out=$(mktemp -d "$tmp_root/mlops-gate.XXXXXX")
if [ "${MLOPS_GATE_SKIP_INSTALL:-}" = 1 ]; then
  py="${MLOPS_GATE_PYTHON:-python3}"
else
  if [ -z "$version" ]; then
    # The action's own source, pinned by the ref in `uses: OWNER/mlops-gate@REF`; its dependencies from the
    # hash-locked requirements/gate.txt and the tool without build isolation, as the Dockerfile does.
    [ -n "${GITHUB_ACTION_PATH:-}" ] || fail_input "input 'version' is empty and GITHUB_ACTION_PATH is not set"
    echo "::group::install mlops-gate (the action's source, locked dependencies)"
    (cd "$tmp_root" && python3 -I -m venv "$tmp_root/mlops-gate-venv")
    (cd "$tmp_root" && "$tmp_root/mlops-gate-venv/bin/python" -I -m pip install --quiet --disable-pip-version-check \
      --require-hashes --only-binary :all: -r "$GITHUB_ACTION_PATH/requirements/gate.txt")
    (cd "$tmp_root" && "$tmp_root/mlops-gate-venv/bin/python" -I -m pip install --quiet --disable-pip-version-check \
      --no-deps --no-build-isolation "$GITHUB_ACTION_PATH")
  else
    requirement="$version" # a pip requirement, e.g. "mlops-gate @ git+https://github.com/OWNER/mlops-gate@SHA"
    echo "::group::install mlops-gate ($requirement)"
    # from outside the checkout, isolated: neither venv, ensurepip nor pip can be shadowed by the change
    (cd "$tmp_root" && python3 -I -m venv "$tmp_root/mlops-gate-venv")
    (cd "$tmp_root" && "$tmp_root/mlops-gate-venv/bin/python" -I -m pip install --quiet --disable-pip-version-check "$requirement")
  fi
  echo "::endgroup::"
  py="$tmp_root/mlops-gate-venv/bin/python"
fi

report_json="$out/report.json"
args+=(--output "json=$report_json")
[ "$summary" = true ] && args+=(--output "markdown=$out/summary.md")
[ "$annotations" = true ] && args+=(--output "github=$out/annotations.txt")
[ -n "$sarif" ] && args+=(--output "sarif=$sarif")

# ---- run ------------------------------------------------------------------------------------------
if [ -n "$extra_args" ]; then
  set -f
  # shellcheck disable=SC2206
  args+=($extra_args)
  set +f
fi
echo "mlops-gate ${args[*]}"
rc=0
# -I: the checkout is not on sys.path; stderr kept to turn a usage or policy error into an annotation
"$py" -I -m mlops_gate "${args[@]}" 2> "$out/stderr.txt" || rc=$?
cat "$out/stderr.txt" >&2
problem=""
if [ "$rc" -eq 2 ]; then
  problem=$(grep -m1 'error' "$out/stderr.txt" || echo "exit code $rc")
  echo "::error title=mlops-gate::$(gh_escape "could not run: $problem")"
fi

# ---- outputs --------------------------------------------------------------------------------------
verdict=error
failed_count=0
if [ -s "$report_json" ]; then
  read -r verdict failed_count < <("$py" -I -c '
import json, sys
report = json.load(open(sys.argv[1], encoding="utf-8"))
print(report["verdict"], report["summary"]["failed"])
' "$report_json")
else
  report_json=""
fi
[ -n "$sarif" ] && [ ! -f "$sarif" ] && sarif=""

if [ "$annotations" = true ] && [ -f "$out/annotations.txt" ]; then
  # At most MAX_ANNOTATIONS per level (file paths are already relative to the working directory);
  # when there are more, the last one shown says how many were left out.
  awk -v max="$MAX_ANNOTATIONS" '
    function level(line) { sub(/^::/, "", line); sub(/[ :].*/, "", line); return line }
    /^::(error|warning|notice)[ :]/ {
      lv = level($0); n[lv]++
      if (n[lv] < max) print
      else held[lv] = (n[lv] == max ? $0 : "")
      next
    }
    { print }
    END {
      for (lv in n) {
        if (n[lv] == max) print held[lv]
        else if (n[lv] > max)
          printf "::%s title=mlops-gate::%d more %s annotation(s) not shown (GitHub shows %d per step): see the step summary or the JSON report\n", lv, n[lv] - max + 1, lv, max
      }
    }' "$out/annotations.txt"
fi

if [ "$summary" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  if [ -f "$out/summary.md" ]; then
    size=$(wc -c < "$out/summary.md")
    if [ "$size" -lt "$MAX_SUMMARY_BYTES" ]; then
      cat "$out/summary.md" >> "$GITHUB_STEP_SUMMARY"
    else
      printf '## mlops-gate: %s\n\nThe report (%s bytes) is over the 1 MiB step-summary limit: see the %s output.\n' \
        "$verdict" "$size" "\`report-json\`" >> "$GITHUB_STEP_SUMMARY"
    fi
  else
    printf '## mlops-gate: could not run (exit code %s)\n\n%s\n' "$rc" "${problem:-See the step log.}" >> "$GITHUB_STEP_SUMMARY"
  fi
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "verdict=$verdict"
    echo "report-json=$report_json"
    echo "sarif-file=$sarif"
    echo "failed-count=$failed_count"
    echo "exit-code=$rc"
  } >> "$GITHUB_OUTPUT"
fi

if [ "$soft_fail" = true ] && { [ "$rc" -eq 1 ] || [ "$rc" -eq 3 ]; }; then
  echo "mlops-gate: verdict $verdict (exit code $rc); soft-fail is set, so this step passes"
  if [ "$summary" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '\n> soft-fail: the gate did not block this run (exit code %s).\n' "$rc" >> "$GITHUB_STEP_SUMMARY"
  fi
  exit 0
fi
exit "$rc"
