"""Sessions, end states, roll-ups, and context carried across threads, executors and asyncio."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import agentops_otel as ao
from agentops_otel import semconv as A


def test_session_end_states_reason_and_tags(spans):
    ok = ao.start_session("ok", tags=["nightly"])
    ok.end("Success")
    bad = ao.start_session("bad")
    bad.end("Fail", reason="model refused")
    odd = ao.start_session("odd")
    odd.end("Whatever")
    ok.end("Fail")  # ending twice does nothing

    assert spans.one("session ok").attributes[A.SESSION_END_STATE] == "Success"
    assert spans.one("session ok").attributes[A.SESSION_TAGS] == ("nightly",)
    failed = spans.one("session bad")
    assert failed.attributes[A.SESSION_END_STATE] == "Fail"
    assert failed.attributes[A.SESSION_END_REASON] == "model refused"
    assert failed.status.status_code is StatusCode.ERROR
    assert spans.one("session odd").attributes[A.SESSION_END_STATE] == "Indeterminate"


def test_session_decorator_fail_on_exception_same_object(spans):
    error = RuntimeError("agent crashed")

    @ao.session
    def job():
        raise error

    with pytest.raises(RuntimeError) as caught:
        job()
    assert caught.value is error
    span = spans.one("session job")
    assert span.attributes[A.SESSION_END_STATE] == "Fail"


def test_session_decorator_async_and_called(spans):
    @ao.session(name="nightly-run", tags=["t"])
    async def job():
        return await asyncio.sleep(0, result=5)

    assert asyncio.run(job()) == 5
    assert spans.one("session nightly-run").attributes[A.SESSION_END_STATE] == "Success"


def test_nested_session_is_a_new_trace_root(spans):
    with ao.session("outer"):
        with ao.session("inner"):
            pass
    outer, inner = spans.one("session outer"), spans.one("session inner")
    assert inner.parent is None and outer.parent is None
    assert inner.context.trace_id != outer.context.trace_id
    assert inner.attributes[A.SESSION_ID] != outer.attributes[A.SESSION_ID]


def test_end_session_ends_the_current_one(spans):
    with ao.session("current"):
        ao.end_session("Indeterminate", reason="stopped early")
    span = spans.one("session current")
    assert span.attributes[A.SESSION_END_STATE] == "Indeterminate"


def _trace_of(spans, name):
    span = spans.one(name)
    return span.context.trace_id, span.parent.span_id if span.parent else None


def test_threads_and_executors_stay_in_session(spans):
    @ao.tool
    def in_thread(label):
        return label

    @ao.agent
    def fan_out():
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(in_thread, ["pool-a", "pool-b"]))
            pool.submit(in_thread, "submitted").result()
        worker = threading.Thread(target=in_thread, args=("thread",))
        worker.start()
        worker.join()

    with ao.session("threads") as handle:
        fan_out()
    agent = spans.one("invoke_agent fan_out")
    tools = spans.named("execute_tool in_thread")
    assert len(tools) == 4
    for tool in tools:
        assert tool.context.trace_id == agent.context.trace_id
        assert tool.parent.span_id == agent.context.span_id
        assert tool.attributes[A.SESSION_ID] == handle.id
        assert tool.attributes[A.AGENT_NAME] == "fan_out"


def test_asyncio_gather_and_tasks_stay_in_session(spans):
    @ao.tool
    async def fetch(i):
        await asyncio.sleep(0)
        return i

    @ao.agent
    async def gatherer():
        await asyncio.gather(fetch(1), fetch(2))
        await asyncio.create_task(fetch(3))

    async def main():
        with ao.session("async") as handle:
            await gatherer()
        return handle

    handle = asyncio.run(main())
    agent = spans.one("invoke_agent gatherer")
    tools = spans.named("execute_tool fetch")
    assert len(tools) == 3
    assert all(t.parent.span_id == agent.context.span_id for t in tools)
    assert all(t.attributes[A.SESSION_ID] == handle.id for t in tools)


def test_thousand_concurrent_asyncio_sessions_never_mix(spans):
    @ao.agent
    async def worker(n):
        await asyncio.sleep(0)
        await step(n)
        return trace.get_current_span().get_span_context().trace_id

    @ao.operation
    async def step(n):
        await asyncio.sleep(0)

    async def one(n):
        with ao.session(f"s{n}") as handle:
            await worker(n)
        return handle.id

    async def main():
        return await asyncio.gather(*(one(n) for n in range(1000)))

    ids = asyncio.run(main())
    assert len(set(ids)) == 1000
    sessions = {s.attributes[A.SESSION_ID]: s for s in spans.of_kind("session")}
    assert set(sessions) == set(ids)
    for span in spans.of_kind("agent") + spans.of_kind("operation"):
        owner = sessions[span.attributes[A.SESSION_ID]]
        assert span.context.trace_id == owner.context.trace_id


def test_concurrent_sessions_in_threads_never_mix(spans):
    @ao.operation
    def work(n):
        return n

    def one(n):
        with ao.session(f"thread-{n}") as handle:
            work(n)
        return handle.id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(one, range(50)))
    sessions = {s.attributes[A.SESSION_ID]: s for s in spans.of_kind("session")}
    ops = spans.named("operation work")
    assert len(ops) == 50 and set(ids) <= set(sessions)
    for op in ops:
        assert op.context.trace_id == sessions[op.attributes[A.SESSION_ID]].context.trace_id


def test_identity_and_rollups_reach_spans_parented_by_a_placeholder(spans):
    """Frameworks (AutoGen's runtime) pass a NonRecordingSpan copy of the parent's context."""
    tracer = trace.get_tracer("framework")

    @ao.agent(name="host")
    def host():
        placeholder = trace.NonRecordingSpan(trace.get_current_span().get_span_context())
        with tracer.start_as_current_span(
            "framework-step", context=trace.set_span_in_context(placeholder)
        ):
            pass

    with ao.session("placeholder") as handle:
        host()
    step = spans.one("framework-step")
    assert step.attributes[A.SESSION_ID] == handle.id
    assert step.attributes[A.AGENT_NAME] == "host"
