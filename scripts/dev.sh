#!/usr/bin/env bash
# Development entry point: `bash scripts/dev.sh setup | demo | test [ENV...] | lint`.
#   setup  create .venv (the core, its dev tools, openai + anthropic and their instrumentors)
#   demo   set up if needed, then run `agentops-otel demo` (offline: a fake LLM server on 127.0.0.1)
#   test   set up, lint, run tests/ in .venv, then the tests of every folder with a `test-envs`
#          file (instrumentors/<lib>/, tests/coexistence/) in each environment it names (one
#          line: `<env-name> <requirement>...`); with ENV names, only those (`main` is .venv)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
RESULTS="$ROOT/.test-results"

ensure_uv() {
    if ! command -v uv >/dev/null 2>&1; then
        "$PY" -m pip install --quiet --disable-pip-version-check uv
    fi
}

main_env() {
    ensure_uv
    if [ ! -x .venv/bin/python ]; then
        uv venv --quiet --python 3.11 .venv
    fi
    uv pip install --quiet --python .venv/bin/python -e ".[dev,dev-clickhouse,cli,grpc]" \
        -e instrumentors/openai -e instrumentors/anthropic "openai>=3" anthropic
}

# Create .venvs/<name> for the folder $1: the core, the openai instrumentor, the folder's own
# instrumentor (when it is one) and the requirements.
folder_env() {
    local dir="$1" name="$2"
    shift 2
    local venv=".venvs/$name"
    ensure_uv
    [ -x "$venv/bin/python" ] || uv venv --quiet --python 3.11 "$venv"
    local editable=(-e ".[dev]" -e instrumentors/openai)
    if [ "$(dirname "$dir")" = "instrumentors" ] && [ "$dir" != "instrumentors/openai" ]; then
        editable+=(-e "$dir")
    fi
    uv pip install --quiet --python "$venv/bin/python" "${editable[@]}" "$@"
}

# The browser tests drive Debian's chromium (never a downloaded browser); install it once as
# root when missing. Without it those tests fail with a message saying so.
ensure_chromium() {
    [ -x /usr/bin/chromium ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "=== installing chromium (apt-get) for the dashboard's browser tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
            >/dev/null || echo "!!! apt-get install chromium failed; browser tests will fail"
    else
        echo "!!! /usr/bin/chromium missing and apt-get unavailable (or not root); browser tests will fail"
    fi
}

run_pytest() {
    local name="$1" python="$2"
    shift 2
    local xml="$RESULTS/$name.xml" n=2
    while [ -e "$xml" ]; do xml="$RESULTS/$name.$n.xml"; n=$((n + 1)); done  # env shared by folders
    echo "=== [$name] pytest $*"
    "$python" -m pytest -q -p no:cacheprovider --junitxml="$xml" "$@"
}

selected() {  # is environment $1 selected by the command-line filter?
    [ ${#FILTER[@]} -eq 0 ] && return 0
    local f
    for f in "${FILTER[@]}"; do [ "$f" = "$1" ] && return 0; done
    return 1
}

summarize() {
    "$PY" - "$RESULTS" <<'PYEOF'
import sys, pathlib, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.xml")):
    for suite in ET.parse(path).getroot().iter("testsuite"):
        tests, fail = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        print(f"  {path.stem}: {tests - fail - skip} passed, {fail} failed, {skip} skipped")
        passed += tests - fail - skip; failed += fail; skipped += skip
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PYEOF
}

cmd_test() {
    FILTER=("$@")
    rm -rf "$RESULTS" && mkdir -p "$RESULTS"
    local status=0
    if selected main; then
        main_env
        ensure_chromium
        echo "=== ruff"
        .venv/bin/ruff check --no-cache . || status=1
        run_pytest main .venv/bin/python tests --ignore=tests/coexistence || status=1
    fi
    local envfile dir tests name reqs
    for envfile in instrumentors/*/test-envs tests/*/test-envs; do
        [ -f "$envfile" ] || continue
        dir="$(dirname "$envfile")"
        tests="$dir"
        [ -d "$dir/tests" ] && tests="$dir/tests"
        while read -r name reqs; do
            { [ -z "$name" ] || [ "${name:0:1}" = "#" ]; } && continue
            selected "$name" || continue
            # shellcheck disable=SC2086 # requirements are space-separated by design
            if folder_env "$dir" "$name" $reqs </dev/null; then
                run_pytest "$name" ".venvs/$name/bin/python" "$tests" </dev/null || status=1
            else
                echo "!!! [$name] environment could not be created"; status=1
            fi
        done < "$envfile"
    done
    echo "=== summary"
    summarize
    return $status
}

case "${1:-}" in
    setup) main_env ;;
    demo) main_env; shift; exec .venv/bin/agentops-otel demo "$@" ;;
    test) shift; cmd_test "$@" ;;
    lint) main_env; .venv/bin/ruff check --no-cache . ;;
    *) echo "usage: bash scripts/dev.sh setup | demo | test [ENV...] | lint" >&2; exit 2 ;;
esac
