#!/usr/bin/env bash
# Development entry point: `bash scripts/dev.sh setup | demo | example NAME | test [-j N] [ENV...] | envs | lint`.
#   setup  create .venv (the core, its dev tools, openai + anthropic and their instrumentors)
#   demo   set up if needed, then run `agentops-otel demo` (offline: a fake LLM server on
#          127.0.0.1) into a scratch store (.demo-store/) unless --store or AGENTOPS_OTEL_HOME say
#          otherwise
#   example NAME  build the environment examples/NAME.py needs (once), then run it (examples/README.md)
#   test   build every test environment and run its tests, N at a time (default: DEV_JOBS or
#          nproc): `main` (.venv: ruff + tests/), `core-py310`/`core-py313` (the core's tests on
#          those Pythons) and each name in a folder's `test-envs` file; with ENV names, only those.
#          Progress lines `[n/N] env: ...`; logs in .test-results/<env>.log (scripts/testenvs.py)
#   envs   list the environments
# uv comes from a project-local tool venv (.tools/, pip-installed from PyPI), never the system's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"

ensure_uv() {
    export UV="${UV:-$ROOT/.tools/bin/uv}"
    if [ ! -x "$UV" ]; then
        echo "=== installing uv into .tools/"
        "$PY" -m venv .tools
        .tools/bin/pip install --quiet --disable-pip-version-check uv
    fi
}

envs() { ensure_uv; "$PY" scripts/testenvs.py "$@"; }

main_env() { envs build main; }

cmd_demo() {
    main_env
    local arg
    for arg in "$@"; do
        case "$arg" in --store|--store=*) exec .venv/bin/agentops-otel demo "$@" ;; esac
    done
    if [ -z "${AGENTOPS_OTEL_HOME:-}" ]; then
        export AGENTOPS_OTEL_HOME="$ROOT/.demo-store"
        echo "=== scratch store: $AGENTOPS_OTEL_HOME (set AGENTOPS_OTEL_HOME or --store to keep it elsewhere)"
    fi
    exec .venv/bin/agentops-otel demo "$@"
}

cmd_example() {
    local name="${1:-}" env=main py=.venv/bin/python
    case "$name" in
        email_agent|node_app) ;;
        crewai_crew) env=crewai-latest ;;
        langgraph_agent) env=langchain-latest ;;
        *) echo "usage: bash scripts/dev.sh example email_agent|crewai_crew|langgraph_agent|node_app" >&2; exit 2 ;;
    esac
    envs build "$env"
    [ "$env" = main ] || py=".venvs/$env/bin/python"
    exec "$py" "examples/$name.py"
}

case "${1:-}" in
    setup) main_env ;;
    demo) shift; cmd_demo "$@" ;;
    example) shift; cmd_example "$@" ;;
    test) shift; envs test "$@" ;;
    envs) envs list ;;
    lint) main_env; .venv/bin/ruff check --no-cache . && .venv/bin/ruff format --check --no-cache . && .venv/bin/mypy ;;
    *) echo "usage: bash scripts/dev.sh setup | demo | example NAME | test [-j N] [ENV...] | envs | lint" >&2; exit 2 ;;
esac
