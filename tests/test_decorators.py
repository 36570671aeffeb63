"""Decorators: names, kinds, nesting, identity, content, and the context left exactly as found."""

from __future__ import annotations

import asyncio
import gc
import json

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import agentops_otel as ao
from agentops_otel import semconv as A


def test_kinds_names_and_otel_kind(spans):
    @ao.workflow
    def pipeline():
        return classify() + reply()

    @ao.agent(name="classifier", role="triage")
    def classify():
        return lookup("x")

    @ao.operation(name="respond")
    def reply():
        return step()

    @ao.task
    def step():
        return "t"

    @ao.tool(name="lookup")
    def lookup(q):
        return q.upper()

    with ao.session("kinds", tags=["a", "b"]):
        assert pipeline() == "Xt"

    expected = {
        "session kinds": "session",
        "invoke_workflow pipeline": "workflow",
        "invoke_agent classifier": "agent",
        "operation respond": "operation",
        "task step": "task",
        "execute_tool lookup": "tool",
    }
    for name, kind in expected.items():
        span = spans.one(name)
        assert span.attributes[A.SPAN_KIND] == kind
        assert span.kind is SpanKind.INTERNAL
    agent = spans.one("invoke_agent classifier")
    assert agent.attributes[A.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert spans.one("session kinds").attributes[A.SESSION_TAGS] == ("a", "b")


def test_parentage_and_identity_inherited(spans):
    @ao.agent(name="writer", role="author")
    def writer():
        return draft()

    @ao.operation
    def draft():
        return search("q")

    @ao.tool
    def search(q):
        return [q]

    with ao.session("ids") as handle:
        writer()

    session = spans.one("session ids")
    agent = spans.one("invoke_agent writer")
    op = spans.one("operation draft")
    tool = spans.one("execute_tool search")
    assert spans.parent_id(agent) == session.context.span_id
    assert spans.parent_id(op) == agent.context.span_id
    assert spans.parent_id(tool) == op.context.span_id
    assert len({s.context.trace_id for s in (session, agent, op, tool)}) == 1
    for span in (agent, op, tool):
        assert span.attributes[A.SESSION_ID] == handle.id
        assert span.attributes[A.AGENT_NAME] == "writer"
        assert span.attributes[A.AGENT_ROLE] == "author"
    assert tool.attributes[A.OPERATION_NAME] == "draft"
    assert A.AGENT_NAME not in session.attributes


def test_nested_agent_does_not_inherit_outer_role(spans):
    @ao.agent(name="boss", role="manager")
    def boss():
        return worker()

    @ao.agent(name="worker")
    def worker():
        return 1

    boss()
    inner = spans.one("invoke_agent worker")
    assert inner.attributes[A.AGENT_NAME] == "worker"
    assert A.AGENT_ROLE not in inner.attributes


def test_tool_arguments_and_result_recorded_as_json(spans):
    @ao.tool
    def add(a, b, *, scale=1):
        return {"sum": (a + b) * scale}

    add(1, 2, scale=3)
    span = spans.one("execute_tool add")
    assert json.loads(span.attributes[A.GEN_AI_TOOL_CALL_ARGUMENTS]) == {
        "args": [1, 2],
        "kwargs": {"scale": 3},
    }
    assert json.loads(span.attributes[A.GEN_AI_TOOL_CALL_RESULT]) == {"sum": 9}


def test_content_switch_off_records_no_inputs(spans, settings):
    settings(capture_content=False)

    @ao.operation
    def secret(x):
        return x

    secret("password")
    span = spans.one("operation secret")
    assert A.INPUT not in span.attributes and A.OUTPUT not in span.attributes


def test_huge_and_odd_inputs_are_bounded_and_valid_json(spans, settings):
    settings(max_content_chars=100)

    class Weird:
        def __repr__(self):
            raise RuntimeError("no repr for you")

    @ao.operation
    def take(big, weird, nested):
        return "x" * 10_000

    take("y" * 1_000_000, Weird(), {"a": [{"b": {"c": list(range(1000))}}]})
    span = spans.one("operation take")
    data = json.loads(span.attributes[A.INPUT])
    assert len(data[0]) < 200 and "truncated" in data[0]
    assert len(span.attributes[A.OUTPUT]) < 200
    json.loads(span.attributes[A.OUTPUT])


def test_redaction_hook_sees_content(spans, settings):
    settings(redact=lambda key, value: "[redacted]" if key == A.INPUT else value)

    @ao.operation
    def login(password):
        return "ok"

    login("hunter2")
    span = spans.one("operation login")
    assert span.attributes[A.INPUT] == '"[redacted]"'
    assert "hunter2" not in json.dumps(dict(span.attributes))


def test_user_exception_passes_through_same_object(spans):
    error = ValueError("boom")

    @ao.agent
    def failing():
        raise error

    with pytest.raises(ValueError) as caught:
        failing()
    assert caught.value is error
    span = spans.one("invoke_agent failing")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == "ValueError"
    assert any(e.name == "exception" for e in span.events)


def test_bare_and_called_forms_on_async(spans):
    @ao.operation
    async def bare():
        await asyncio.sleep(0)
        return 1

    @ao.operation(name="called")
    async def called():
        return 2

    assert asyncio.run(bare()) == 1
    assert asyncio.run(called()) == 2
    assert spans.one("operation bare") and spans.one("operation called")


def _context_snapshot():
    return otel_context.get_current()


def test_context_restored_after_return_and_raise():
    @ao.operation
    def ok():
        assert trace.get_current_span().is_recording()
        return 1

    @ao.operation
    def bad():
        raise KeyError("x")

    before = _context_snapshot()
    ok()
    assert _context_snapshot() is before
    with pytest.raises(KeyError):
        bad()
    assert _context_snapshot() is before


def test_generator_runs_in_span_and_restores_context_between_steps(spans):
    seen = []

    @ao.operation
    def produce():
        for i in range(3):
            seen.append(trace.get_current_span().get_span_context().span_id)
            yield i

    before = _context_snapshot()
    gen = produce()
    for _ in gen:
        assert _context_snapshot() is before
    span = spans.one("operation produce")
    assert set(seen) == {span.context.span_id}


def test_generator_closed_early_ends_span(spans):
    @ao.task
    def produce():
        yield from range(10)

    before = _context_snapshot()
    gen = produce()
    next(gen)
    gen.close()
    assert _context_snapshot() is before
    assert spans.one("task produce").end_time is not None


def test_generator_abandoned_ends_span(spans):
    @ao.task
    def produce():
        yield from range(10)

    gen = produce()
    next(gen)
    del gen
    gc.collect()
    assert spans.one("task produce").end_time is not None


def test_generator_return_value_and_throw(spans):
    @ao.operation
    def echo():
        received = yield "first"
        try:
            yield received
        except KeyError:
            yield "caught"
        return "done"

    gen = echo()
    assert next(gen) == "first"
    assert gen.send("hello") == "hello"
    assert gen.throw(KeyError("k")) == "caught"
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done"
    assert spans.one("operation echo").attributes[A.OUTPUT] == '"done"'


def test_async_generator_early_close_and_context(spans):
    @ao.operation
    async def stream():
        for i in range(5):
            await asyncio.sleep(0)
            yield i

    async def main():
        before = _context_snapshot()
        agen = stream()
        got = [await agen.__anext__(), await agen.__anext__()]
        assert _context_snapshot() is before
        await agen.aclose()
        assert _context_snapshot() is before
        return got

    assert asyncio.run(main()) == [0, 1]
    assert spans.one("operation stream").end_time is not None


def test_agent_class_one_span_per_outside_call(spans):
    @ao.agent(role="researcher")
    class Researcher:
        def __init__(self, topic):
            self.topic = topic

        def run(self):
            return self.search() + self.search()

        def search(self):
            return [self.topic]

        async def arun(self):
            return self.search()

    first, second = Researcher("a"), Researcher("b")
    assert first.run() == ["a", "a"]
    second.search()
    assert asyncio.run(first.arun()) == ["a"]
    agent_spans = spans.named("invoke_agent Researcher")
    assert len(agent_spans) == 3  # run, second.search, arun: self-calls open none
    ids = [s.attributes[A.AGENT_ID] for s in agent_spans]
    assert ids[0] == ids[2] != ids[1]
    assert all(s.attributes[A.AGENT_ROLE] == "researcher" for s in agent_spans)


def test_agent_class_nested_instances_each_get_a_span(spans):
    @ao.agent
    class Leaf:
        def work(self):
            return 1

    @ao.agent
    class Boss:
        def __init__(self):
            self.leaf = Leaf()

        def work(self):
            return self.leaf.work()

    Boss().work()
    boss, leaf = spans.one("invoke_agent Boss"), spans.one("invoke_agent Leaf")
    assert spans.parent_id(leaf) == boss.context.span_id
