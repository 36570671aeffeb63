"""Per-call overhead of OpenAI instrumentations side by side, each in its own environment.

    bash benchmarks/setup-peers.sh        # once: .venvs/bench-<peer>, all on openai 2.54.0
    python benchmarks/bench_peers.py [--calls 100] [--inner 2] [--rounds 10]

One worker process per (instrumentation, content mode) runs benchmarks/_peer_worker.py in its
environment; this driver asks them in turn, in a new random order every round, so that drift on
a shared machine hits every peer alike. Each worker measures, in its own process and
interleaved, the uninstrumented call, the call inside a bare OTel span (8 attributes) and the
instrumented call, in CPU microseconds per call; overhead = mode - uninstrumented, and the ratio
is the instrumentation's overhead over the bare span's of the same process and round. Reported:
medians over the rounds (round 0 is a discarded warm-up). Needs only the standard library.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import random
import statistics
import subprocess
import sys
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
WORKERS = [
    ("ours", "off"),
    ("ours", "on"),
    ("openai-v2", "off"),
    ("openai-v2", "on"),
    ("openlit", "off"),
    ("openlit", "on"),
    ("openinference", "off"),
    ("openinference", "on"),
    ("openllmetry", "off"),
    ("openllmetry", "on"),
    ("agentops", "on"),
]
LABELS = {
    "ours": "agentops-otel (ours)",
    "openai-v2": "opentelemetry-instrumentation-openai-v2",
    "openlit": "openlit",
    "openinference": "openinference-instrumentation-openai",
    "openllmetry": "OpenLLMetry opentelemetry-instrumentation-openai",
    "agentops": "agentops 0.4.21",
}
SCENARIOS = {
    "plain": "Non-streamed chat completion",
    "stream": "Streamed chat completion (22 chunks)",
}


class Worker:
    """One peer in its environment, answering ``run`` requests over a pipe."""

    def __init__(self, peer: str, content: str) -> None:
        self.peer, self.content = peer, content
        python = ROOT / ".venvs" / f"bench-{peer}" / "bin" / "python"
        log = open(HERE / "results" / f"worker-{peer}-{content}.log", "w")
        self.proc = subprocess.Popen(
            [str(python), str(HERE / "_peer_worker.py"), "--peer", peer, "--content", content],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=ROOT,
        )
        self.info: dict[str, Any] = self._read()["ready"]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("@@BENCH "):
                return json.loads(line[8:])
        raise RuntimeError(f"{self.peer}/{self.content} exited (see results/worker-*.log)")

    def run(self, calls: int, inner: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {calls} {inner}\n")
        self.proc.stdin.flush()
        return self._read()["result"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for scenario in SCENARIOS:
        rows = [r[scenario] for r in rounds]
        base = [r["uninstrumented"]["us"] for r in rows]
        bare = [r["bare"]["us"] - r["uninstrumented"]["us"] for r in rows]
        over = [r["peer"]["us"] - r["uninstrumented"]["us"] for r in rows]
        out[scenario] = {
            "uninstrumented_us": statistics.median(base),
            "bare_overhead_us": statistics.median(bare),
            "overhead_us": statistics.median(over),
            "x_bare": statistics.median(o / b for o, b in zip(over, bare, strict=True)),
            "overhead_spread_us": [min(over), max(over)],
            "spans_per_call": rows[-1]["peer"]["spans_per_call"],
            "rounds": len(rows),
        }
    return out


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _targets(res: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    lines = []
    for scenario, limit in (("plain", 1.5), ("stream", 2.0)):
        off = res.get(("ours", "off"), {}).get(scenario)
        on = res.get(("ours", "on"), {}).get(scenario)
        v2 = res.get(("openai-v2", "on"), {}).get(scenario)
        if off:
            lines.append(
                f"{SCENARIOS[scenario]}: content off {off['x_bare']:.2f}x the bare span "
                f"(target <= {limit}x): {_verdict(off['x_bare'] <= limit)}"
            )
        if on and v2:
            ratio = on["overhead_us"] / v2["overhead_us"]
            limit_v2, sign = (0.75, "<=") if scenario == "plain" else (1.0, "<")
            ok = ratio <= limit_v2 if scenario == "plain" else ratio < limit_v2
            lines.append(
                f"{SCENARIOS[scenario]}: content on {on['overhead_us']:.0f} us = "
                f"{ratio:.2f}x openai-v2's {v2['overhead_us']:.0f} us "
                f"(target {sign} {limit_v2}x): {_verdict(ok)}"
            )
        for (peer, content), r in sorted(res.items()):
            ours = res.get(("ours", content if peer != "agentops" else "on"))
            if peer == "ours" or not ours:
                continue
            a, b = ours[scenario]["overhead_us"], r[scenario]["overhead_us"]
            lines.append(
                f"{SCENARIOS[scenario]}: ours ({'content ' + content}) {a:.0f} us vs "
                f"{peer} {b:.0f} us: {'below' if a < b else 'NOT below'}"
            )
    return lines


def _markdown(res: dict[tuple[str, str], dict[str, Any]]) -> str:
    lines = []
    for scenario, title in SCENARIOS.items():
        lines += [
            f"\n{title} (CPU us per call, medians)\n",
            "| instrumentation | content | uninstrumented | bare span | instrumented "
            "| x bare span | spans/call |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for (peer, content), r in res.items():
            s = r[scenario]
            lines.append(
                f"| {LABELS[peer]} | {content} | {s['uninstrumented_us']:.0f} | "
                f"+{s['bare_overhead_us']:.0f} | +{s['overhead_us']:.0f} "
                f"| {s['x_bare']:.2f} | {s['spans_per_call']:.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per timed batch")
    parser.add_argument("--inner", type=int, default=2, help="interleaved batches per request")
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds per worker")
    parser.add_argument("--only", nargs="*", help="peer names to run (default: all)")
    args = parser.parse_args()
    (HERE / "results").mkdir(exist_ok=True)
    chosen = [w for w in WORKERS if not args.only or w[0] in args.only]
    workers = []
    for peer, content in chosen:
        try:
            workers.append(Worker(peer, content))
        except Exception as exc:
            print(f"{peer}/{content}: could not start: {exc}", file=sys.stderr)
    samples: dict[Worker, list[dict[str, Any]]] = {w: [] for w in workers}
    rng = random.Random(0)
    for round_ in range(args.rounds + 1):  # round 0 warms every worker up
        order = list(workers)
        rng.shuffle(order)
        for w in order:
            result = w.run(args.calls, args.inner)
            if round_:
                samples[w].append(result)
        print(f"round {round_}/{args.rounds} done", file=sys.stderr, flush=True)
    for w in workers:
        w.close()
    res = {(w.peer, w.content): _summary(samples[w]) for w in workers}
    print(
        f"{args.calls} calls x {args.inner} interleaved batches per round, {args.rounds} "
        f"rounds; machine: {platform.machine()}, python {workers[0].info['python']}, "
        f"openai {workers[0].info['openai']}"
    )
    for w in workers:
        print(f"  {w.peer}/{w.content}: {w.info['how']}")
    print(_markdown(res))
    print("\nTargets")
    for line in _targets(res):
        print("  " + line)
    out = {
        "args": vars(args),
        "workers": [w.info for w in workers],
        "results": {f"{p}/{c}": r for (p, c), r in res.items()},
    }
    (HERE / "results" / "peers.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
