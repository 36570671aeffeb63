"""Per-call overhead of OpenAI instrumentations side by side, each in its own environment.

    bash benchmarks/setup-peers.sh        # once: .venvs/bench-<peer>, all on openai 2.54.0
    python benchmarks/bench_peers.py [--calls 100] [--inner 2] [--rounds 10] [--setup tracer]
                                     [--procs 1]

One worker process per (instrumentation, content mode) runs benchmarks/_peer_worker.py in its
environment; this driver asks them in turn, in a new random order every round, so that drift on
a shared machine hits every peer alike. Each worker measures, in its own process and
interleaved, the uninstrumented call, the call inside a bare OTel span (8 attributes) and the
instrumented call, in CPU microseconds per call of the whole process (our background threads
included: a batch ends once the work handed to them is done) with its child processes (the local
store's writer), of the app process alone, and in wall time; overhead = mode -
uninstrumented, and the ratio is the instrumentation's overhead over the bare span's of the same
process and round. Reported: medians over the rounds (round 0 is a discarded warm-up; with
``--procs N`` the rounds of a row's N worker processes are pooled), the spread (min-max over the
rounds) of the overhead and of the uninstrumented call. ``ours`` is
``init(local_store=False)``; ``ours-default`` is ``init()`` as users get it (local store on,
every installed instrumentor). ``--setup tracer``: the app installs only a TracerProvider;
``all`` (default): tracer, meter and logger providers. Needs only the standard library.
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
    ("ours-default", "off"),
    ("ours-default", "on"),
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
    "ours": "agentops-otel (ours), no local store",
    "ours-default": "agentops-otel (ours), `init()`",
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

    def __init__(self, peer: str, content: str, setup: str, copy: int = 0) -> None:
        env = "ours" if peer.startswith("ours") else peer
        python = ROOT / ".venvs" / f"bench-{env}" / "bin" / "python"
        command = [str(python), str(HERE / "_peer_worker.py"), "--peer", peer]
        name = f"{peer}-{content}" + (f"-{copy}" if copy else "")
        self.start(peer, content, [*command, "--content", content, "--setup", setup], name)

    def start(self, peer: str, content: str, command: list[str], name: str = "") -> None:
        """Start ``command`` (logging to ``results/worker-<name>.log``) and wait until ready."""
        self.peer, self.content = peer, content
        log = open(HERE / "results" / f"worker-{name or f'{peer}-{content}'}.log", "w")
        self.proc = subprocess.Popen(
            command,
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


def interleave(
    workers: list[Worker], rounds: int, calls: int, inner: int
) -> dict[Worker, list[dict[str, Any]]]:
    """Each worker's results of ``rounds`` rounds, every round asking each worker once in a new
    random order (round 0 warms every worker up and is discarded); closes the workers."""
    samples: dict[Worker, list[dict[str, Any]]] = {w: [] for w in workers}
    rng = random.Random(0)
    for round_ in range(rounds + 1):
        order = list(workers)
        rng.shuffle(order)
        for w in order:
            result = w.run(calls, inner)
            if round_:
                samples[w].append(result)
        print(f"round {round_}/{rounds} done", file=sys.stderr, flush=True)
    for w in workers:
        w.close()
    return samples


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for scenario in SCENARIOS:
        rows = [r[scenario] for r in rounds]
        base = [r["uninstrumented"]["us"] for r in rows]
        bare = [r["bare"]["us"] - r["uninstrumented"]["us"] for r in rows]
        over = [r["peer"]["us"] - r["uninstrumented"]["us"] for r in rows]
        wall = [r["peer"]["wall_us"] - r["uninstrumented"]["wall_us"] for r in rows]
        app = [r["peer"]["app_us"] - r["uninstrumented"]["app_us"] for r in rows]
        out[scenario] = {
            "uninstrumented_us": statistics.median(base),
            "uninstrumented_spread_us": [min(base), max(base)],
            "wall_overhead_us": statistics.median(wall),
            "bare_overhead_us": statistics.median(bare),
            "overhead_us": statistics.median(over),
            "app_overhead_us": statistics.median(app),
            "x_bare": statistics.median(o / b for o, b in zip(over, bare, strict=True)),
            "overhead_spread_us": [min(over), max(over)],
            "spans_per_call": rows[-1]["peer"]["spans_per_call"],
            "rounds": len(rows),
        }
    return out


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _targets(res: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    """Issue #19: each of ours below every peer at the same content setting (CPU overhead; for
    ``init()`` also with the app process's CPU alone, the store's writer process left out, as
    issue 19 item 1 counts it), and content off at most 1.5x (non-streamed) / 2x (streamed) the
    bare span's overhead."""
    lines = []
    for scenario, limit in (("plain", 1.5), ("stream", 2.0)):
        for (mine, content), ours in res.items():
            if not mine.startswith("ours"):
                continue
            a = ours[scenario]["overhead_us"]
            a_app = ours[scenario]["app_overhead_us"]
            if content == "off":
                x = ours[scenario]["x_bare"]
                lines.append(
                    f"{SCENARIOS[scenario]}: {mine} content off {x:.2f}x the bare span "
                    f"(target <= {limit}x): {_verdict(x <= limit)}"
                )
            for (peer, peer_content), r in res.items():
                if peer.startswith("ours") or peer_content != content:
                    continue
                b = r[scenario]["overhead_us"]
                lines.append(
                    f"{SCENARIOS[scenario]}: {mine} (content {content}) {a:.0f} us vs "
                    f"{peer} {b:.0f} us: {'below' if a < b else 'NOT below'}"
                )
                if a_app != a:
                    lines.append(
                        f"{SCENARIOS[scenario]}: {mine} (content {content}), app process only, "
                        f"{a_app:.0f} us vs {peer} {b:.0f} us: "
                        f"{'below' if a_app < b else 'NOT below'}"
                    )
    return lines


def _markdown(res: dict[tuple[str, str], dict[str, Any]]) -> str:
    lines = []
    for scenario, title in SCENARIOS.items():
        lines += [
            f"\n{title} (us per call, medians; CPU of the process and its child processes, "
            "of the app process alone, and wall)\n",
            "| instrumentation | content | " + HEADER,
            "|---|---|" + "---:|" * HEADER.count("|"),
        ]
        for (peer, content), r in res.items():
            lines.append("| " + " | ".join([LABELS[peer], content, *cells(r[scenario])]) + " |")
    return "\n".join(lines)


HEADER = (
    "uninstrumented (min-max) | bare span | instrumented (min..max) | app process | wall | "
    "x bare span | spans/call |"
)


def cells(s: dict[str, Any]) -> list[str]:
    """A scenario's ``_summary`` as table cells, the columns of ``HEADER``."""
    lo, hi = s["uninstrumented_spread_us"]
    o_lo, o_hi = s["overhead_spread_us"]
    return [
        f"{s['uninstrumented_us']:.0f} ({lo:.0f}-{hi:.0f})",
        f"+{s['bare_overhead_us']:.0f}",
        f"+{s['overhead_us']:.0f} ({o_lo:+.0f}..{o_hi:+.0f})",
        f"+{s['app_overhead_us']:.0f}",
        f"+{s['wall_overhead_us']:.0f}",
        f"{s['x_bare']:.2f}",
        f"{s['spans_per_call']:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per timed batch")
    parser.add_argument("--inner", type=int, default=2, help="interleaved batches per request")
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds per worker")
    parser.add_argument("--only", nargs="*", help="peer names to run (default: all)")
    parser.add_argument(
        "--procs",
        type=int,
        default=1,
        help="worker processes per instrumentation and content setting, their rounds pooled "
        "(one process's memory layout can move its overhead by 10-20 us)",
    )
    parser.add_argument(
        "--setup",
        choices=["tracer", "all"],
        default="all",
        help="providers the app installs: a TracerProvider only, or tracer + meter + logger",
    )
    args = parser.parse_args()
    (HERE / "results").mkdir(exist_ok=True)
    chosen = [w for w in WORKERS if not args.only or w[0] in args.only]
    workers = []
    for peer, content in chosen:
        for copy in range(args.procs):
            try:
                workers.append(Worker(peer, content, args.setup, copy))
            except Exception as exc:
                print(f"{peer}/{content}: could not start: {exc}", file=sys.stderr)
    samples = interleave(workers, args.rounds, args.calls, args.inner)
    pooled: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for w in workers:
        pooled.setdefault((w.peer, w.content), []).extend(samples[w])
    res = {key: _summary(rounds) for key, rounds in pooled.items()}
    print(
        f"{args.calls} calls x {args.inner} interleaved batches per round, {args.rounds} "
        f"rounds x {args.procs} worker process(es) per row; app providers: {args.setup}; "
        f"machine: {platform.machine()}, "
        f"python {workers[0].info['python']}, "
        f"openai {workers[0].info['openai']}"
    )
    for (peer, content), w in {(w.peer, w.content): w for w in workers}.items():
        print(f"  {peer}/{content}: {w.info['how']}")
    print(_markdown(res))
    print("\nTargets")
    for line in _targets(res):
        print("  " + line)
    out = {
        "args": vars(args),
        "workers": [w.info for w in workers],
        "results": {f"{p}/{c}": r for (p, c), r in res.items()},
    }
    (HERE / "results" / f"peers-{args.setup}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
