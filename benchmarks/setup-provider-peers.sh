#!/usr/bin/env bash
# Environments for benchmarks/bench_providers.py, one per instrumentation (uv):
#   bench-providers-ours        agentops-otel + our google-genai and Bedrock instrumentors
#   bench-gemini-official       opentelemetry-instrumentation-google-genai (the official one)
#   bench-bedrock-openllmetry   OpenLLMetry's opentelemetry-instrumentation-bedrock
# Every environment gets the same SDKs, so the uninstrumented call is the same code everywhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# google-genai 2.34.0: the official instrumentor supports "google-genai>=1.32.0,<3"
SDKS="google-genai==2.34.0 boto3==1.44.8 opentelemetry-sdk"
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
for pair in "bench-providers-ours:-e . -e instrumentors/google_genai -e instrumentors/bedrock" \
            "bench-gemini-official:opentelemetry-instrumentation-google-genai==1.3b0" \
            "bench-bedrock-openllmetry:opentelemetry-instrumentation-bedrock==0.62.4"; do
    venv=".venvs/${pair%%:*}"
    [ -x "$venv/bin/python" ] || uv venv --quiet --python 3.11 "$venv"
    # shellcheck disable=SC2086  # word splitting of the requirement list is intended
    uv pip install --quiet --python "$venv/bin/python" ${pair#*:} $SDKS
    "$venv/bin/python" -m compileall -q -j 0 "$venv/lib" >/dev/null 2>&1 || true
    echo "$venv ready"
done
