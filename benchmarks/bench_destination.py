"""A dead, slow or failing destination must not change the app's call latency or exit time.

    .venv/bin/python benchmarks/bench_destination.py [--calls 1500] [--rounds 3]

For each destination — a live local OTLP/HTTP receiver, a closed port, a receiver that takes
10 s per request, one answering 500, one resetting the connection — a fresh app process calls
``agentops_otel.init(otlp_endpoint=...)`` (the local store beside it, as ``init()`` has it when
asked for both; ``--no-store`` leaves it out) and makes ``--calls`` chat completions over the
mock transport, timing each call (wall time); it then returns from main and the driver times
how long the interpreter takes to exit (bound: exit_timeout_s, 2 s by default), also for the
same app uninstrumented, whose exit time is the baseline the bound sits on. Receivers run in
their own processes. Rounds interleave the destinations; p50/p99 are medians over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
FAULTS = {"live": "None", "slow (10 s per request)": "slow", "500": "500", "reset": "reset"}

_RECEIVER = r"""
import sys, time
from agentops_otel.testing.otlp_receiver import RESET, OtlpReceiver
mode = sys.argv[1]
def fault(handler):
    if mode == "slow":
        time.sleep(10)
        return None
    if mode == "500":
        return 500
    if mode == "reset":
        return RESET
    return None
with OtlpReceiver(fault=fault) as rcv:
    print(rcv.url, flush=True)
    sys.stdin.read()
"""

_APP = r"""
import sys, time
sys.path.insert(0, {bench!r})
import _mock_openai as m
if {url!r}:
    import agentops_otel
    agentops_otel.init(otlp_endpoint={url!r}, local_store={store})
c = m.client()
for _ in range(50):
    m.plain(c)
lat = []
for _ in range({calls}):
    t = time.perf_counter()
    m.plain(c)
    lat.append((time.perf_counter() - t) * 1e6)
lat.sort()
print(lat[len(lat) // 2], lat[int(len(lat) * 0.99)], flush=True)
"""


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _app(url: str, calls: int, store: bool = True) -> tuple[float, float, float]:
    """(p50 us, p99 us, exit ms) of one app process."""
    env = {**os.environ, "AGENTOPS_OTEL_HOME": tempfile.mkdtemp(prefix="agentops-bench-")}
    code = _APP.format(bench=str(HERE), url=url, calls=calls, store=store)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    p50, p99 = map(float, proc.stdout.readline().split())
    done = time.perf_counter()
    proc.wait(timeout=60)
    return p50, p99, (time.perf_counter() - done) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-store", action="store_true", help="OTLP only, no local store")
    args = parser.parse_args()
    receivers, urls = [], {}
    for name, mode in FAULTS.items():
        proc = subprocess.Popen(
            [sys.executable, "-c", _RECEIVER, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        urls[name] = proc.stdout.readline().strip()
        receivers.append(proc)
    urls["dead (closed port)"] = _dead_url()
    urls["uninstrumented"] = ""
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in urls}
    try:
        for _ in range(args.rounds):
            for name, url in urls.items():
                samples[name].append(_app(url, args.calls, not args.no_store))
    finally:
        for proc in receivers:
            proc.kill()
            proc.wait()
    result = {}
    print(
        f"Call latency by destination (wall us, {args.calls} calls per process, medians of "
        f"{args.rounds} rounds; local store {'off' if args.no_store else 'on'}) and exit time "
        "after main returns: median, spread, and over the uninstrumented app's (bound 2 s)"
    )
    print(
        f"  {'destination':26} {'p50 us':>8} {'p99 us':>8} {'exit ms':>8} {'spread':>11} "
        f"{'over':>6}"
    )
    base = statistics.median(r[2] for r in samples["uninstrumented"])
    for name, rows in samples.items():
        p50, p99, ex = (statistics.median(r[i] for r in rows) for i in range(3))
        spread = f"{min(r[2] for r in rows):.0f}-{max(r[2] for r in rows):.0f}"
        result[name] = {"p50_us": p50, "p99_us": p99, "exit_ms": ex, "exit_over_ms": ex - base}
        print(f"  {name:26} {p50:8.0f} {p99:8.0f} {ex:8.0f} {spread:>11} {ex - base:+6.0f}")
    live = result["live"]
    for name, r in result.items():
        if name in ("live", "uninstrumented"):
            continue
        d50 = r["p50_us"] / live["p50_us"] - 1
        d99 = r["p99_us"] / live["p99_us"] - 1
        print(f"  {name}: p50 {d50:+.1%}, p99 {d99:+.1%} vs live; exit {r['exit_ms']:.0f} ms")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "destination.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
