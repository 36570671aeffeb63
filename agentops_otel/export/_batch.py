"""A small batch span processor that never blocks the caller and never loses spans silently.

Why not the SDK's ``BatchSpanProcessor``: its shutdown waits for the exporter's retries (7-30 s
against a dead endpoint) and it reports drops without a count. Here the caller only appends to a
bounded deque; one daemon thread per destination exports; every lost span is counted (queue full,
failed export, left at exit), reported once as a warning and as the metric
``agentops.export.dropped_spans``; ``shutdown``/``force_flush`` wait at most the exit bound.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from opentelemetry import metrics
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agentops_otel.semconv import METRIC_DROPPED_SPANS, TRACER_NAME

_log = logging.getLogger("agentops_otel.export")

REASON_QUEUE_FULL = "queue_full"
REASON_EXPORT_FAILED = "export_failed"
REASON_SHUTDOWN = "shutdown"
MAX_BATCH = 512  # spans per export, unless a destination asks for fewer
EXIT_RESERVE_S = 0.5  # of the exit bound: for closing exporters and the interpreter exit


_YIELD_S = 0.0002  # the caller's pause when the local store's worker falls behind
_YIELD_EVERY = 32  # queued spans between two pauses


def exit_wait(timeout_s: float, *, local: bool = True) -> float:
    """How long exit waits for a destination within the exit bound ``timeout_s``.

    A local one (the store: its writer process may still be starting) gets the bound less a
    reserve, so closing the exporters and the interpreter's own exit fit in it. A network one
    gets half the bound: a healthy collector takes a final batch in milliseconds, and a dead or
    stuck one must not use the reserve a loaded machine needs to tear the interpreter down.
    """
    timeout_s = max(0.0, timeout_s)
    if not local:
        return timeout_s / 2
    return timeout_s - min(EXIT_RESERVE_S, timeout_s / 4)


class ShutdownGroup:
    """One exit deadline shared by several processors.

    ``TracerProvider.shutdown`` calls its processors one after another; the first call here starts
    every member draining at once, so the total wait stays within one bound, not one per
    destination.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = max(0.0, timeout_s)
        self._members: list[weakref.ref[BoundedExportProcessor]] = []
        self._started = False
        self._lock = threading.Lock()

    def add(self, processor: BoundedExportProcessor) -> None:
        self._members.append(weakref.ref(processor))

    def begin(self) -> None:
        """Start the shutdown of every member at once (the first call only), each with the
        deadline :func:`exit_wait` gives its kind of destination."""
        with self._lock:
            if self._started:
                return
            self._started = True
            now = time.monotonic()
            for ref in self._members:
                member = ref()
                if member is not None:
                    member._signal_stop(now + exit_wait(self.timeout_s, local=member.local))


class BoundedExportProcessor(SpanProcessor):
    """Queue ended spans (bounded, drop-and-count) and export them in batches on a daemon thread."""

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        name: str,
        max_queue_size: int = 2048,
        max_batch_size: int = MAX_BATCH,
        schedule_delay_s: float = 0.5,
        exit_timeout_s: float = 2.0,
        group: ShutdownGroup | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        local: bool = False,
    ) -> None:
        self.exporter = exporter
        self.name = name
        self.local = local  # on this machine (the store): the longer exit wait, see exit_wait
        self._cap = max(1, max_queue_size)
        self._batch = max(1, min(max_batch_size, self._cap // 2))  # wake before it is full
        self._delay = schedule_delay_s
        self._group = group or ShutdownGroup(exit_timeout_s)
        self._group.add(self)
        self._queue: deque[ReadableSpan] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._flush_waiters: list[threading.Event] = []
        self._stop_deadline: float | None = None
        self._closed = False
        self._exporter_closed = False
        self._queue_full = 0  # counted on the caller's thread, reported by the worker
        self._reported_full = 0
        self.lost: dict[str, int] = {
            REASON_QUEUE_FULL: 0,
            REASON_EXPORT_FAILED: 0,
            REASON_SHUTDOWN: 0,
        }
        self._in_flight = 0
        self._abandoned = False  # set when shutdown gave up waiting for the worker
        self._warned = False
        self._final_reported = False
        meter = metrics.get_meter(TRACER_NAME, meter_provider=meter_provider)
        self._dropped_counter = meter.create_counter(
            METRIC_DROPPED_SPANS, unit="{span}", description="Spans lost before export"
        )
        self._start_worker()
        if hasattr(os, "register_at_fork"):
            ref = weakref.WeakMethod(self._after_fork)
            os.register_at_fork(after_in_child=lambda: (m := ref()) and m())

    # --- caller side: constant time, no I/O -------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if self._closed or not span.context.trace_flags.sampled:
            return
        queue = self._queue
        if len(queue) >= self._cap:
            with self._lock:
                self._queue_full += 1
            return
        queue.append(span)
        queued = len(queue)
        if queued >= self._batch:
            if not self._wake.is_set():
                self._wake.set()
            elif self.local and queued % _YIELD_EVERY == 0:
                # A batch still waits: the worker may be waiting for the interpreter lock,
                # which CPython does not hand over while this thread keeps letting it go
                # briefly itself (a short syscall per call); a pause lets it in.
                time.sleep(_YIELD_S)

    @property
    def dropped(self) -> int:
        """Spans lost so far for any reason (queue full, failed export, left at exit)."""
        with self._lock:
            pending_full = self._queue_full - self._reported_full
        return sum(self.lost.values()) + pending_full

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export what is queued now; wait at most ``timeout_millis`` and the exit bound."""
        if self._closed or not self._worker.is_alive():
            return not self._queue
        done = threading.Event()
        with self._lock:
            self._flush_waiters.append(done)
        self._wake.set()
        return done.wait(min(timeout_millis / 1000.0, self._group.timeout_s))

    def shutdown(self) -> None:
        """Drain until the group's deadline, then count what is left and close the exporter."""
        self._group.begin()
        deadline = self._stop_deadline or time.monotonic()
        self._worker.join(max(0.0, deadline - time.monotonic()))
        if self._worker.is_alive():
            # Still inside an export: count what is left, abort the exporter's retries and
            # abandon the daemon thread.
            with self._lock:
                self._abandoned = True
            self._count(REASON_SHUTDOWN, self._in_flight + len(self._queue))
            self._queue.clear()
            self._close_exporter()
        self._report_final()

    # --- worker side --------------------------------------------------------------------------
    def _signal_stop(self, deadline: float) -> None:
        self._closed = True
        self._stop_deadline = deadline
        self._wake.set()

    def _start_worker(self) -> None:
        self._worker = threading.Thread(
            target=self._run, name=f"agentops-otel-export-{self.name}", daemon=True
        )
        self._worker.start()

    def _after_fork(self) -> None:
        self._queue.clear()
        self._lock = threading.Lock()
        self._flush_waiters = []
        self._wake = threading.Event()
        if not self._closed:
            self._start_worker()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._delay)
            self._wake.clear()
            with self._lock:
                waiters, self._flush_waiters = self._flush_waiters, []
            self._drain()
            self._report_progress()
            for waiter in waiters:
                waiter.set()
            if self._stop_deadline is not None:
                with self._lock:
                    if self._abandoned:
                        return
                    left = len(self._queue)
                    self._queue.clear()
                self._count(REASON_SHUTDOWN, left)
                self._close_exporter()
                return

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            deadline = self._stop_deadline
            if deadline is not None and time.monotonic() >= deadline:
                return
            batch = [queue.popleft() for _ in range(min(len(queue), self._batch))]
            self._export(batch)

    def _export(self, batch: Sequence[ReadableSpan]) -> None:
        self._in_flight = len(batch)
        try:
            ok = self.exporter.export(batch) is SpanExportResult.SUCCESS
        except Exception:  # noqa: BLE001 (an exporter bug must not kill the worker)
            _log.debug("agentops-otel: exporter %s raised", self.name, exc_info=True)
            ok = False
        self._in_flight = 0
        if not ok and not self._abandoned:  # once abandoned, shutdown counted this batch
            self._count(REASON_EXPORT_FAILED, len(batch))

    def _count(self, reason: str, n: int) -> None:
        if n <= 0:
            return
        self.lost[reason] += n
        try:
            self._dropped_counter.add(n, {"destination": self.name, "reason": reason})
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: dropped-span metric failed", exc_info=True)
        if not self._warned:
            self._warned = True
            _log.warning(
                "agentops-otel: destination %r is losing spans (%s); the count goes to the "
                "metric %s and a total is reported at exit",
                self.name,
                reason.replace("_", " "),
                METRIC_DROPPED_SPANS,
            )

    def _report_progress(self) -> None:
        with self._lock:
            delta = self._queue_full - self._reported_full
            self._reported_full = self._queue_full
        self._count(REASON_QUEUE_FULL, delta)

    def _report_final(self) -> None:
        self._report_progress()
        total = sum(self.lost.values())
        if total and not self._final_reported:
            self._final_reported = True
            detail = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in self.lost.items() if v)
            _log.warning(
                "agentops-otel: destination %r lost %d spans (%s)", self.name, total, detail
            )

    def _close_exporter(self) -> None:
        with self._lock:
            if self._exporter_closed:
                return
            self._exporter_closed = True
        try:
            self.exporter.shutdown()
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: exporter %s shutdown failed", self.name, exc_info=True)


def run_within(actions: Iterable[Callable[[], object]], timeout_s: float) -> bool:
    """Run ``actions`` at once, each on its own daemon thread (an error is logged, not raised);
    return ``True`` if all finished within ``timeout_s`` together. One stuck action cannot hold
    the others or the caller past the bound."""
    threads = []
    for action in actions:
        thread = threading.Thread(
            target=_quietly, args=(action,), name="agentops-otel-shutdown", daemon=True
        )
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + max(0.0, timeout_s)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


def shutdown_within(processors: Iterable[SpanProcessor], timeout_s: float) -> bool:
    """Shut several processors down in parallel; return ``True`` if all finished in time."""
    return run_within([p.shutdown for p in processors], timeout_s)


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: flush/shutdown failed", exc_info=True)
