"""The exit bound's shares: the local store may wait longer than a network destination.

A stuck network destination is cut at half the bound, so a loaded machine keeps the rest for
tearing the interpreter down; the local store (its writer process may still be starting) keeps
the bound less the reserve. The margins here are 0.75 s either way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agentops_otel._config import Settings
from agentops_otel.export import BoundedExportProcessor, ShutdownGroup, build_span_processors
from agentops_otel.export._batch import exit_wait

BOUND_S = 4.0  # local store: waits 3.5 s; network: 2.0 s
N = 20


class _Sluggish(SpanExporter):
    """A destination that takes ``takes_s`` for each batch, then keeps it."""

    def __init__(self, takes_s: float) -> None:
        self.takes_s = takes_s
        self.kept: list[ReadableSpan] = []
        self.closed = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.closed.wait(self.takes_s):
            return SpanExportResult.FAILURE
        self.kept.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.closed.set()


def _shut_down(*destinations: tuple[_Sluggish, bool]) -> tuple[list[BoundedExportProcessor], float]:
    """End ``N`` spans through one processor per destination, shut down, time it."""
    group = ShutdownGroup(BOUND_S)
    processors = [
        BoundedExportProcessor(exporter, name=str(i), group=group, schedule_delay_s=60, local=local)
        for i, (exporter, local) in enumerate(destinations)
    ]
    provider = TracerProvider(shutdown_on_exit=False)
    for processor in processors:
        provider.add_span_processor(processor)
    tracer = provider.get_tracer("exit-share")
    for _ in range(N):
        tracer.start_span("op").end()
    began = time.monotonic()
    provider.shutdown()  # one processor after another, within the one bound
    return processors, time.monotonic() - began


def _cut(processor: BoundedExportProcessor) -> bool:
    return processor.lost == {"queue_full": 0, "export_failed": 0, "shutdown": N}


def test_a_stuck_network_destination_is_cut_at_half_the_bound() -> None:
    stuck = _Sluggish(takes_s=30)
    (processor,), elapsed = _shut_down((stuck, False))
    assert stuck.kept == [] and _cut(processor)
    assert stuck.closed.is_set()  # its export was told to give up
    assert elapsed < exit_wait(BOUND_S, local=False) + 0.75


def test_the_local_store_outwaits_a_stuck_network_destination() -> None:
    """2.75 s is past a network destination's share and within the store's."""
    stuck, local = _Sluggish(takes_s=30), _Sluggish(takes_s=2.75)
    (network_processor, local_processor), elapsed = _shut_down((stuck, False), (local, True))
    assert len(local.kept) == N and local_processor.dropped == 0
    assert stuck.kept == [] and _cut(network_processor)
    assert elapsed < exit_wait(BOUND_S) + 0.5


def test_the_store_is_the_local_destination(tmp_path) -> None:
    processors = build_span_processors(
        Settings(local_store=True, otlp_endpoint="http://127.0.0.1:9", store_path=str(tmp_path))
    )
    assert [(p.name, p.local) for p in processors] == [("local-store", True), ("otlp", False)]
    for processor in processors:
        processor.shutdown()


def test_the_shares_of_a_bound() -> None:
    assert exit_wait(2.0) == 1.5 and exit_wait(2.0, local=False) == 1.0
    assert exit_wait(1.0) == 0.75 and exit_wait(1.0, local=False) == 0.5
    assert exit_wait(-1.0) == exit_wait(-1.0, local=False) == 0.0
