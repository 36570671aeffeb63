"""What the per-call fast paths must keep: a loop's final count on its session, identity taken
from a parent whose attributes grew, and OpenAI messages converted alike on every path. The
real openai SDK and our instrumentor against the project's fake LLM server."""

from __future__ import annotations

import json
from types import SimpleNamespace

import openai
import pytest
from opentelemetry import trace

import agentops_otel as ao
from agentops_openai import OpenAIInstrumentor
from agentops_otel import semconv as A
from agentops_otel.genai import openai_shapes as S
from agentops_otel.testing import FakeLLMServer

MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def client():
    """An openai client on the fake server, with our instrumentor on for this module."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=trace.get_tracer_provider())
    try:
        with FakeLLMServer() as server:
            yield openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
    finally:
        instrumentor.uninstrument()


def _ask(client, text):
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}])


def test_a_loop_that_goes_on_ends_with_its_last_count_on_the_session(spans, client):
    with ao.session("long loop"):
        for _ in range(5):
            _ask(client, "again?")
    llms = sorted(spans.of_kind("llm"), key=lambda s: s.start_time)
    assert [s.attributes.get(A.LOOP_COUNT) for s in llms] == [None, None, 3, 4, 5]
    session = spans.one("session long loop")
    assert session.attributes[A.LOOP_DETECTED] is True
    assert session.attributes[A.LOOP_COUNT] == 5
    events = [e for e in session.events if e.name == A.EVENT_LOOP_DETECTED]
    assert [e.attributes[A.LOOP_COUNT] for e in events] == [3]


def test_identity_added_to_a_parent_after_a_call_reaches_the_next_call(spans, client):
    with ao.session("grown parent"):
        with trace.get_tracer("test").start_as_current_span("step") as step:
            _ask(client, "first")
            step.set_attribute(A.AGENT_NAME, "late-named")
            _ask(client, "second")
    first, second = sorted(spans.of_kind("llm"), key=lambda s: s.start_time)
    assert A.AGENT_NAME not in first.attributes
    assert second.attributes[A.AGENT_NAME] == "late-named"
    assert first.attributes[A.SESSION_NAME] == second.attributes[A.SESSION_NAME] == "grown parent"


def test_input_and_output_messages_are_on_the_span(spans, client):
    client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi", "name": "ann"},
        ],
    )
    (llm,) = spans.of_kind("llm")
    assert json.loads(llm.attributes[A.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Hi"}], "name": "ann"},
    ]
    (output,) = json.loads(llm.attributes[A.GEN_AI_OUTPUT_MESSAGES])
    assert output["role"] == "assistant" and output["parts"][0]["type"] == "text"
    assert output["finish_reason"]


class _Slotted:
    """A message object without ``__dict__``: read through its attributes."""

    __slots__ = ("content", "role", "tool_calls")

    def __init__(self) -> None:
        self.role = "assistant"
        self.content = "calling"
        self.tool_calls = [
            SimpleNamespace(
                id="c1", function=SimpleNamespace(name="f", arguments='{"x": 1}'), type="function"
            )
        ]


@pytest.mark.parametrize(
    "message",
    [
        {
            "role": "assistant",
            "content": "calling",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
            ],
        },
        _Slotted(),
    ],
    ids=["dict", "object-without-dict"],
)
def test_text_with_tool_calls_keeps_the_tool_calls(message):
    (converted,) = S.chat_input_messages([message])[:]
    assert converted["parts"] == [
        {"type": "text", "content": "calling"},
        {"type": "tool_call", "id": "c1", "name": "f", "arguments": {"x": 1}},
    ]
