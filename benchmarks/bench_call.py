"""Our per-call CPU in isolation: the openai instrumentor's wrapper around a pre-parsed response.

No HTTP, no SDK parsing: the wrapped ``create`` returns a ``ChatCompletion`` (or an iterator over
22 ``ChatCompletionChunk`` objects) built once, so what is left is our own code on the caller's
thread plus the SDK span. Set-up as ``bench_peers.py --setup tracer`` with ``ours``: the app
installs an SDK ``TracerProvider`` (SimpleSpanProcessor to a dropping exporter), then
``agentops_otel.init(instrument=["openai"], local_store=False)`` joins it and starts a session.
Modes, interleaved round by round:

  uninstrumented     the pre-parsed response alone
  bare span          inside one CLIENT span with 8 attributes at start and 2 at the end
  ours, content off / on   the instrumentor's wrapper (content capture switched per mode)

Each batch ends by recording the queued metrics (``_metrics.drain()``), so the work handed to the
metrics thread is counted. Two clocks: ``thread`` is the caller's thread only (``thread_time``),
``process`` every thread of the process. Overhead = mode - uninstrumented, median of the rounds.

Compare two versions of the code in alternate processes with ``--json`` and a ``PYTHONPATH``
that puts the other checkout (and its ``instrumentors/openai``) first.

Run: .venv/bin/python benchmarks/bench_call.py [--calls 2000] [--rounds 8] [--stream-calls 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import _mock_openai as m
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import agentops_otel
from agentops_otel import _config
from agentops_otel.genai import _metrics

_KWARGS: dict[str, Any] = {
    "model": m.MODEL,
    "messages": m.MESSAGES,
    "temperature": 0.2,
    "max_tokens": 64,
}
_STREAM_KWARGS: dict[str, Any] = {
    **_KWARGS,
    "stream": True,
    "stream_options": {"include_usage": True},
}


def _parsed() -> tuple[ChatCompletion, list[ChatCompletionChunk]]:
    """The mock transport's completion and its 22 chunks, parsed once by the SDK's models."""
    completion = ChatCompletion.model_validate_json(m._COMPLETION)
    chunks = [
        ChatCompletionChunk.model_validate_json(line[6:])
        for line in m._STREAM_BODY.decode().split("\n\n")
        if line.startswith("data: {")
    ]
    assert len(chunks) == m.STREAM_CHUNKS
    return completion, chunks


def _modes(
    client: openai.OpenAI, bare_tracer: Any, streamed: bool
) -> dict[str, tuple[Callable[[], None], bool | None]]:
    """name -> (one call, content capture or None for a mode without our wrapper)."""
    completion, chunks = _parsed()
    wrapper = type(client.chat.completions).create._self_wrapper  # our sync wrapper
    instance = client.chat.completions
    kwargs = _STREAM_KWARGS if streamed else _KWARGS

    if streamed:

        def create(**_: Any) -> Any:
            return iter(chunks)

        def plain() -> None:
            for _ in create(**kwargs):
                pass

        def ours() -> None:
            for _ in wrapper(create, instance, (), kwargs):
                pass

    else:

        def create(**_: Any) -> Any:
            return completion

        def plain() -> None:
            create(**kwargs)

        def ours() -> None:
            wrapper(create, instance, (), kwargs)

    bare = m.bare(bare_tracer, lambda _: plain())
    return {
        "uninstrumented": (plain, None),
        "bare span": (lambda: bare(client), None),
        "ours, content off": (ours, False),
        "ours, content on": (ours, True),
    }


def _batch(run: Callable[[], None], calls: int) -> tuple[float, float]:
    """(caller's thread, whole process) CPU µs per call, metrics queued by the batch recorded."""
    gc.collect()
    start_thread, start_process = time.thread_time(), time.process_time()
    for _ in range(calls):
        run()
    _metrics.drain()
    return (
        (time.thread_time() - start_thread) / calls * 1e6,
        (time.process_time() - start_process) / calls * 1e6,
    )


def measure(client: openai.OpenAI, bare_tracer: Any, streamed: bool, calls: int, rounds: int):
    """{mode: {"thread": median µs, "process": median µs, "spread": (min, max) thread µs}}."""
    settings = _config.current()
    modes = _modes(client, bare_tracer, streamed)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in modes}
    for round_ in range(rounds + 1):  # round 0 warms up
        for name, (run, content) in modes.items():
            if content is not None:
                _config.install(dataclasses.replace(settings, capture_content=content))
            try:
                value = _batch(run, calls)
            finally:
                _config.install(settings)
            if round_:
                samples[name].append(value)
    return {
        name: {
            "thread": statistics.median(v[0] for v in values),
            "process": statistics.median(v[1] for v in values),
            "spread": (min(v[0] for v in values), max(v[0] for v in values)),
        }
        for name, values in samples.items()
    }


def _report(title: str, result: dict[str, Any]) -> None:
    base = result["uninstrumented"]
    print(f"\n{title}")
    print(f"  {'mode':<20}{'thread µs':>11}{'overhead':>10}{'(min..max)':>18}{'process':>10}")
    for name, row in result.items():
        low, high = (x - base["thread"] for x in row["spread"])
        print(
            f"  {name:<20}{row['thread']:>11.1f}{row['thread'] - base['thread']:>+10.1f}"
            f"{f'({low:+.1f}..{high:+.1f})':>18}{row['process'] - base['process']:>+10.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--stream-calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--only", choices=("plain", "stream"), help="one of the two tables")
    parser.add_argument("--json", action="store_true", help="print one JSON line, no tables")
    args = parser.parse_args()

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(m.DropExporter()))
    trace.set_tracer_provider(provider)
    bare_provider = TracerProvider()
    bare_provider.add_span_processor(SimpleSpanProcessor(m.DropExporter()))
    agentops_otel.init(instrument=["openai"], local_store=False, capture_content=False)
    client = m.client()
    results: dict[str, Any] = {}
    bare_tracer = bare_provider.get_tracer("bench")
    if args.only != "stream":
        results["plain"] = measure(client, bare_tracer, False, args.calls, args.rounds)
    if args.only != "plain":
        results["stream"] = measure(client, bare_tracer, True, args.stream_calls, args.rounds)
    if args.json:
        print(json.dumps({"code": agentops_otel.__file__, "results": results}))
        return
    print(f"code: {agentops_otel.__file__}", file=sys.stderr)
    for key, title in (("plain", "non-streamed"), ("stream", "streamed, 22 chunks")):
        if key in results:
            _report(title, results[key])


if __name__ == "__main__":
    main()
