"""The store writer's per-call fast path: a session's totals are recomputed from its stored
spans only when its session span is stored (before, every batch rescanned the whole session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import set_span_in_context

from agentops_otel import semconv as A
from agentops_otel.store import SessionRow, Store, StoreWriter
from agentops_otel.store._writer import record_of

SESSION = "sess-storecall"


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def _session_and_calls(
    provider: TracerProvider, exporter: InMemorySpanExporter, calls: int, rollup_calls: int
) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """A session span (its roll-ups say ``rollup_calls`` calls of $0.01) and ``calls`` LLM
    spans of $0.01 under it."""
    tracer = provider.get_tracer("agentops_otel")
    root = tracer.start_span(
        "session",
        attributes={
            A.SPAN_KIND: A.KIND_SESSION,
            A.SESSION_ID: SESSION,
            A.LLM_CALLS: rollup_calls,
            A.TOTAL_COST_USD: 0.01 * rollup_calls,
            A.TOTAL_INPUT_TOKENS: 10 * rollup_calls,
            A.TOTAL_OUTPUT_TOKENS: 5 * rollup_calls,
        },
    )
    for _ in range(calls):
        tracer.start_span(
            "chat gpt-4o-mini",
            context=set_span_in_context(root),
            attributes={
                A.SPAN_KIND: A.KIND_LLM,
                A.SESSION_ID: SESSION,
                A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
                A.GEN_AI_USAGE_INPUT_TOKENS: 10,
                A.GEN_AI_USAGE_OUTPUT_TOKENS: 5,
                A.COST_USD: 0.01,
            },
        ).end()
    root.end()
    *llm, session = exporter.get_finished_spans()
    return session, llm


def _recomputes(writer: StoreWriter) -> list[str]:
    """Collects the session recomputes the writer's connection runs from now on."""
    statements: list[str] = []
    writer._connection().set_trace_callback(
        lambda sql: statements.append(sql) if sql.lstrip().startswith("UPDATE sessions") else None
    )
    return statements


def _session_row(tmp_path: Path) -> SessionRow:
    with Store.open(tmp_path / "t.db") as store:
        row = store.get_session(SESSION)
    assert row is not None
    return row


def test_session_span_stored_first_still_caps_later_calls(spans, tmp_path: Path) -> None:
    """The session span (roll-ups of 3 calls) is written before its 3 LLM spans, which come in
    two later batches: the session counts 3 calls, not 6."""
    session, llm = _session_and_calls(*spans, calls=3, rollup_calls=3)
    writer = StoreWriter(tmp_path / "t.db")
    writer.write([session])
    recomputes = _recomputes(writer)
    writer.write(llm[:2])
    writer.write(llm[2:])
    writer.close()
    row = _session_row(tmp_path)
    assert (row.llm_calls, row.input_tokens, row.output_tokens) == (3, 30, 15)
    assert row.cost_usd == pytest.approx(0.03)
    assert len(recomputes) == 2  # once a batch: the session span is stored


def test_calls_before_the_session_span_skip_the_recompute(spans, tmp_path: Path) -> None:
    """LLM spans of a session whose session span has not arrived add up without rescanning
    the session; the session span then raises the totals to its roll-ups."""
    session, llm = _session_and_calls(*spans, calls=4, rollup_calls=5)
    writer = StoreWriter(tmp_path / "t.db")
    writer.write([])
    recomputes = _recomputes(writer)
    for span in llm:
        writer.write([span])
    assert recomputes == []
    running = _session_row(tmp_path)
    assert running.llm_calls == 4 and running.end_ns is None
    writer.write([session])
    writer.close()
    assert len(recomputes) == 1
    row = _session_row(tmp_path)
    assert (row.llm_calls, row.input_tokens, row.output_tokens) == (5, 50, 25)
    assert row.cost_usd == pytest.approx(0.05)


def test_session_span_without_an_end_is_still_recomputed(spans, tmp_path: Path) -> None:
    """A session span that leaves its row without an end (no end time) still has its batch
    recomputed: its roll-ups (3 calls) win over the one call stored."""
    session, llm = _session_and_calls(*spans, calls=1, rollup_calls=3)
    record = record_of(session)
    unended = (*record[:6], None, *record[7:])
    writer = StoreWriter(tmp_path / "t.db")
    writer.write_records([record_of(llm[0]), unended])  # type: ignore[list-item]
    writer.close()
    row = _session_row(tmp_path)
    assert row.end_ns is None
    assert (row.llm_calls, row.input_tokens) == (3, 30)


def test_invalid_usage_is_flagged_in_the_row_not_in_the_record(spans, tmp_path: Path) -> None:
    """Our own spans are stored without copying their attributes; a call with an invalid token
    count is flagged in the stored row while the record handed in stays as it was."""
    provider, exporter = spans
    provider.get_tracer("agentops_openai").start_span(
        "chat",
        attributes={
            A.SPAN_KIND: A.KIND_LLM,
            A.SESSION_ID: SESSION,
            A.GEN_AI_USAGE_INPUT_TOKENS: -5,
        },
    ).end()
    record = record_of(exporter.get_finished_spans()[0])
    writer = StoreWriter(tmp_path / "t.db")
    writer.write_records([record])
    writer.close()
    assert A.USAGE_INVALID not in record[9]
    with Store.open(tmp_path / "t.db") as store:
        (span,) = store.session_spans(SESSION)
    assert span.attributes[A.USAGE_INVALID] == [A.GEN_AI_USAGE_INPUT_TOKENS]
    assert span.input_tokens is None
