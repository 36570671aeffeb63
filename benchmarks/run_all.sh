#!/usr/bin/env bash
# Every benchmark in one go, results in benchmarks/results/*.txt (and *.json).
#   bash benchmarks/run_all.sh            # sets the peer environments up first if missing
# Runs one benchmark at a time (they would disturb each other); about 20 minutes on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY=.venv/bin/python
OUT=benchmarks/results
mkdir -p "$OUT"
for peer in ours openai-v2 openlit openinference openllmetry agentops; do
    [ -x ".venvs/bench-$peer/bin/python" ] || bash benchmarks/setup-peers.sh "$peer"
done
run() {  # name, command...
    local name="$1"
    shift
    echo "=== $name: $*"
    "$@" | tee "$OUT/$name.txt"
}
run peers "$PY" benchmarks/bench_peers.py
run core "$PY" benchmarks/bench_core.py
run processor "$PY" benchmarks/bench_processor.py
run content "$PY" benchmarks/bench_content.py
run destination "$PY" benchmarks/bench_destination.py
run store "$PY" benchmarks/bench_store.py
run export "$PY" benchmarks/bench_export.py --repeats 5
