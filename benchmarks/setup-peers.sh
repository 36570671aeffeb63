#!/usr/bin/env bash
# Create the benchmark environments under .venvs/bench-<peer>, one per instrumentation, because
# the peers conflict with each other. Every environment gets the same openai SDK (2.54.0: openlit
# requires openai<3) so the uninstrumented call is the same code everywhere.
#   bash benchmarks/setup-peers.sh            # all environments
#   bash benchmarks/setup-peers.sh ours openlit   # only these
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OPENAI="openai==2.54.0"
SDK="opentelemetry-sdk"

requirements() {
    case "$1" in
        ours) echo "-e . -e instrumentors/openai $OPENAI" ;;
        # 2.4b0 fails to import with opentelemetry-util-genai >= 1.2b0 (no upper bound declared)
        openai-v2) echo "opentelemetry-instrumentation-openai-v2==2.4b0 opentelemetry-util-genai==1.1b0 $SDK $OPENAI" ;;
        openlit) echo "openlit $OPENAI" ;;
        openinference) echo "openinference-instrumentation-openai $SDK $OPENAI" ;;
        openllmetry) echo "opentelemetry-instrumentation-openai $SDK $OPENAI" ;;
        # agentops 0.4.21 exports nothing with opentelemetry-exporter-otlp-proto-http 1.45
        agentops) echo "agentops==0.4.21 opentelemetry-exporter-otlp-proto-http==1.44.* $OPENAI" ;;
        *) echo "unknown peer: $1" >&2; return 1 ;;
    esac
}

PEERS=("$@")
[ ${#PEERS[@]} -gt 0 ] || PEERS=(ours openai-v2 openlit openinference openllmetry agentops)
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
for peer in "${PEERS[@]}"; do
    venv=".venvs/bench-$peer"
    reqs="$(requirements "$peer")"
    [ -x "$venv/bin/python" ] || uv venv --quiet --python 3.11 "$venv"
    # shellcheck disable=SC2086  # word splitting of the requirement list is intended
    uv pip install --quiet --python "$venv/bin/python" $reqs
    # compile bytecode now so no benchmark pays for it
    "$venv/bin/python" -m compileall -q -j 0 "$venv/lib" >/dev/null 2>&1 || true
    echo "bench-$peer: $("$venv/bin/python" -c 'import openai; print("openai", openai.__version__)')"
done
