"""Our failures stay ours: the user's call proceeds with its own result or exception."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace

import agentops_otel as ao
from agentops_otel import semconv as A


def test_failing_redaction_hook_keeps_nothing_and_breaks_nothing(spans, settings):
    def broken(key, value):
        raise RuntimeError("hook bug")

    settings(redact=broken)

    @ao.tool
    def lookup(secret):
        return f"found {secret}"

    assert lookup("s3cr3t") == "found s3cr3t"
    span = spans.one("execute_tool lookup")
    assert span.attributes[A.GEN_AI_TOOL_CALL_ARGUMENTS] == '"[redaction failed]"'
    assert "s3cr3t" not in str(dict(span.attributes))


def test_unserialisable_results_are_recorded_safely(spans):
    class Hostile:
        def __repr__(self):
            raise ValueError("nope")

        def model_dump(self, **kwargs):
            raise TypeError("not a model")

    @ao.operation
    def make():
        return Hostile()

    assert isinstance(make(), Hostile)
    assert spans.one("operation make").attributes[A.OUTPUT] == '"<Hostile>"'


def test_span_under_a_remote_or_non_recording_parent(spans):
    parent = trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=0x1234,
            span_id=0x5678,
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    )

    @ao.agent
    def child():
        return 7

    with trace.use_span(parent):
        assert child() == 7
    span = spans.one("invoke_agent child")
    assert span.context.trace_id == 0x1234


def test_base_exceptions_pass_through_unchanged(spans):
    @ao.operation
    def interrupted():
        raise KeyboardInterrupt

    @ao.operation
    async def cancelled():
        raise asyncio.CancelledError

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled())
    assert spans.one("operation interrupted").attributes[A.ERROR_TYPE] == "KeyboardInterrupt"


def test_decorating_odd_callables_does_not_break_them(spans):
    class Callable:
        def __call__(self, x):
            return x + 1

    wrapped = ao.task(Callable())
    assert wrapped(1) == 2
    assert ao.tool(len)([1, 2]) == 2
    assert len(spans.of_kind("tool")) == 1
