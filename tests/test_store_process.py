"""The local store written by a writer process: nothing lost while it keeps up, drops counted,
a dead writer or a broken store contained, and the default ``init()`` storing through it."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanContext, TraceFlags

from agentops_otel import semconv as A
from agentops_otel.export import BoundedExportProcessor
from agentops_otel.store import Store
from agentops_otel.store._process import ProcessStoreExporter
from conftest import run_python


def _llm_attrs(i: int) -> dict[str, object]:
    return {
        A.SPAN_KIND: A.KIND_LLM,
        A.SESSION_ID: "s-proc",
        A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
        A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        A.GEN_AI_USAGE_INPUT_TOKENS: 10,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: 2,
        A.GEN_AI_INPUT_MESSAGES: json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": f"refund ticket {i}"}]}]
        ),
    }


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM spans").fetchone()[0]


def _pipeline(path: Path, queue: int = 4096) -> tuple[TracerProvider, BoundedExportProcessor]:
    provider = TracerProvider(shutdown_on_exit=False)
    processor = BoundedExportProcessor(
        ProcessStoreExporter(path), name="local-store", max_queue_size=queue
    )
    provider.add_span_processor(processor)
    return provider, processor


def test_nothing_lost_while_the_writer_keeps_up(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    provider, processor = _pipeline(path)
    tracer = provider.get_tracer("t")
    for i in range(3000):
        tracer.start_span("chat gpt-4o-mini", attributes=_llm_attrs(i)).end()
        if i % 500 == 0:
            time.sleep(0.01)  # a steady app, not one burst
    assert provider.force_flush(60_000)
    assert _count(path) == 3000
    assert processor.dropped == 0
    with Store.open(path) as store:
        (session,) = store.list_sessions()
        assert session.llm_calls == 3000 and session.input_tokens == 30_000
        assert [s.id for s in store.list_sessions(q="ticket 2999")] == ["s-proc"]
    provider.shutdown()


def test_drops_are_counted_when_the_queue_overflows(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    provider, processor = _pipeline(path, queue=64)
    tracer = provider.get_tracer("t")
    for i in range(5000):  # one burst, far faster than any store
        tracer.start_span("chat gpt-4o-mini", attributes=_llm_attrs(i)).end()
    assert provider.force_flush(60_000)
    provider.shutdown()
    stored = _count(path)
    assert processor.dropped > 0
    assert stored + processor.dropped == 5000


def test_a_killed_writer_costs_only_spans_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "traces.db"
    provider, processor = _pipeline(path)
    tracer = provider.get_tracer("t")
    tracer.start_span("first", attributes=_llm_attrs(0)).end()
    assert provider.force_flush(30_000)
    assert _count(path) == 1
    exporter = processor.exporter
    assert isinstance(exporter, ProcessStoreExporter)
    child = exporter._process
    assert child is not None
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    caplog.set_level(logging.WARNING, logger="agentops_otel")
    began = time.monotonic()
    for i in range(1, 301):
        tracer.start_span("after", attributes=_llm_attrs(i)).end()
        if i % 100 == 0:
            assert provider.force_flush(30_000)
    assert time.monotonic() - began < 10  # nothing waits on the dead writer
    assert processor.dropped == 300
    assert _count(path) == 1
    disabled = [r for r in caplog.records if "local store disabled" in r.getMessage()]
    assert len(disabled) == 1 and "exited" in disabled[0].getMessage()
    provider.shutdown()


def test_a_broken_store_is_reported_once_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "traces.db"
    path.write_bytes(b"this is not a database" * 100)
    exporter = ProcessStoreExporter(path)
    span = ReadableSpan(
        "x", SpanContext(1, 2, False, TraceFlags(1)), attributes={}, start_time=1, end_time=2
    )
    caplog.set_level(logging.WARNING, logger="agentops_otel")
    assert exporter.export([span]) is SpanExportResult.FAILURE
    assert exporter.export([span]) is SpanExportResult.FAILURE
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "local store disabled" in warning and "corrupt" in warning
    exporter.shutdown()


def test_values_marshal_cannot_carry_are_stored_as_text(tmp_path: Path) -> None:
    class Odd:
        def __str__(self) -> str:
            return "odd value"

    path = tmp_path / "traces.db"
    exporter = ProcessStoreExporter(path)
    span = ReadableSpan(
        "odd",
        SpanContext(5, 6, False, TraceFlags(1)),
        attributes={"x.odd": Odd(), "x.list": [1, Odd()], A.SESSION_ID: "odd"},
        resource=Resource({"service.name": "svc"}),
        start_time=1,
        end_time=2,
    )
    assert exporter.export([span]) is SpanExportResult.SUCCESS
    exporter.shutdown()
    with Store.open(path) as store:
        (row,) = store.session_spans("odd")
    assert row.attributes["x.odd"] == "odd value"
    assert row.attributes["x.list"] == [1, "odd value"]
    assert row.service == "svc"


def test_default_init_stores_through_the_writer_process(tmp_path: Path) -> None:
    result = run_python(
        """
        import agentops_otel
        from agentops_otel import semconv as A
        agentops_otel.init(instrument=False, session_name="proc")
        from opentelemetry import trace
        tracer = trace.get_tracer("t")
        for i in range(200):
            with tracer.start_as_current_span("chat m", attributes={A.SPAN_KIND: A.KIND_LLM}):
                pass
        print(type(agentops_otel._runtime._state.export_processors[0].exporter).__name__)
        """,
        env={"AGENTOPS_OTEL_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ProcessStoreExporter"]
    with Store.open(tmp_path) as store:
        (session,) = store.list_sessions()
        assert session.name == "proc" and session.span_count == 201
        assert session.end_state == "Indeterminate"


def test_a_forked_child_starts_its_own_writer(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    exporter = ProcessStoreExporter(path)

    def span(n: int) -> ReadableSpan:
        return ReadableSpan(
            f"s{n}",
            SpanContext(n, n, False, TraceFlags(1)),
            attributes={A.SESSION_ID: "fork"},
            start_time=time.time_ns() + n,
            end_time=time.time_ns() + n + 1,
        )

    assert exporter.export([span(1)]) is SpanExportResult.SUCCESS
    parent_writer = exporter._process
    pid = os.fork()
    if pid == 0:  # the forked app: its own writer, never the parent's socket
        ok = exporter.export([span(2)]) is SpanExportResult.SUCCESS
        ok = ok and exporter._process is not parent_writer
        exporter.shutdown()
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert exporter.export([span(3)]) is SpanExportResult.SUCCESS
    assert exporter._process is parent_writer
    exporter.shutdown()
    with Store.open(path) as store:
        assert sorted(s.name for s in store.session_spans("fork")) == ["s1", "s2", "s3"]


def test_a_writer_that_cannot_start_leaves_the_store_to_the_export_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentops_otel.store import _process

    monkeypatch.setattr(_process, "_CHILD", "import sys; sys.exit(3)  # {paths} {module}")
    path = tmp_path / "traces.db"
    provider, processor = _pipeline(path)
    tracer = provider.get_tracer("t")
    for i in range(50):
        tracer.start_span("chat gpt-4o-mini", attributes=_llm_attrs(i)).end()
    assert provider.force_flush(30_000)
    assert _count(path) == 50 and processor.dropped == 0
    provider.shutdown()
