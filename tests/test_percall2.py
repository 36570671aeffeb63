"""What this round's per-call shortcuts must keep (issue 19 item 2): loop fingerprints of equal
requests are equal however the request was built, the cached metric dimensions follow each
call's agent and error, and content JSON made by the C encoder reads as ``json.dumps`` does.
The real openai SDK and our instrumentor against the project's fake LLM server."""

from __future__ import annotations

import json
from types import SimpleNamespace

import openai
import pytest
from opentelemetry import trace

import agentops_otel as ao
from agentops_openai import OpenAIInstrumentor
from agentops_otel import _content
from agentops_otel import semconv as A
from agentops_otel.genai import _fingerprint
from agentops_otel.testing import FakeLLMServer
from conftest import METRICS

MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    """An openai client on the fake server, with our instrumentor on for this module."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=trace.get_tracer_provider())
    try:
        yield openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
    finally:
        instrumentor.uninstrument()


def _fresh(text: str) -> str:
    """An equal string that is a different object (not interned, not shared)."""
    return "".join(list(text))


# -- loop fingerprints ---------------------------------------------------------------------------
def test_equal_requests_have_one_fingerprint_however_they_were_built():
    shared = "What is the weather?"
    # one string object used twice, against two equal strings made apart: equal requests
    one = (
        "openai",
        MODEL,
        [{"role": "user", "content": shared}, {"role": "user", "content": shared}],
    )
    two = (
        "openai",
        MODEL,
        [{"role": "user", "content": _fresh(shared)}, {"role": "user", "content": _fresh(shared)}],
    )
    assert _fingerprint(one) == _fingerprint(two)
    other = ("openai", MODEL, [{"role": "user", "content": shared + "!"}])
    assert _fingerprint(other) != _fingerprint(one)
    # a bool and an int are different requests, as their reprs are
    assert _fingerprint(("openai", MODEL, [1])) != _fingerprint(("openai", MODEL, [True]))


def test_requests_of_objects_are_fingerprinted_by_their_repr():
    class Message:
        def __init__(self, text: str) -> None:
            self.text = text

        def __repr__(self) -> str:
            return f"Message({self.text!r})"

    a = ("openai", MODEL, [Message("hi"), {"role": "user"}])
    b = ("openai", MODEL, [Message(_fresh("hi")), {"role": "user"}])
    assert _fingerprint(a) == _fingerprint(b)
    assert _fingerprint(a) != _fingerprint(("openai", MODEL, [Message("ho"), {"role": "user"}]))


def test_a_long_conversation_is_fingerprinted_by_its_length_and_ends():
    def conversation(middle: str, last: str) -> tuple:
        turns = [{"role": "user", "content": f"turn {i}"} for i in range(20)]
        turns[10]["content"] = middle
        turns[-1]["content"] = last
        return ("openai", MODEL, turns)

    base = _fingerprint(conversation("m", "end"))
    assert _fingerprint(conversation("another middle", "end")) == base  # bounded cost
    assert _fingerprint(conversation("m", "another end")) != base


def test_a_loop_of_requests_built_afresh_each_time_is_detected(spans, client):
    with ao.session("fresh loop"):
        for _ in range(3):
            client.chat.completions.create(
                model=_fresh(MODEL), messages=[{"role": "user", "content": _fresh("again?")}]
            )
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "new"}])
    llms = sorted(spans.of_kind("llm"), key=lambda s: s.start_time)
    assert [s.attributes.get(A.LOOP_COUNT) for s in llms] == [None, None, 3, None]
    assert spans.one("session fresh loop").attributes[A.LOOP_DETECTED] is True


# -- metric dimensions, cached per combination ---------------------------------------------------
def _points(name: str) -> list:
    data = METRICS.get_metrics_data()
    return [
        point
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def test_each_call_is_measured_with_its_own_agent_and_error(client):
    def ask(model: str = MODEL) -> None:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])

    ao.agent(name="percall2-first")(ask)()
    ao.agent(name="percall2-second")(ask)()
    failing = f"{MODEL}-error-500"  # the fake server answers 500
    with pytest.raises(openai.InternalServerError):
        ao.agent(name="percall2-first")(ask)(failing)
    ao.flush()
    costs = {
        p.attributes.get(A.GEN_AI_AGENT_NAME): p
        for p in _points(A.METRIC_COST)
        if str(p.attributes.get(A.GEN_AI_AGENT_NAME, "")).startswith("percall2-")
    }
    assert set(costs) == {"percall2-first", "percall2-second"}
    assert all(p.attributes[A.GEN_AI_REQUEST_MODEL] == MODEL for p in costs.values())
    failed = [
        p
        for p in _points(A.METRIC_OPERATION_DURATION)
        if p.attributes.get(A.GEN_AI_REQUEST_MODEL) == failing
    ]
    assert len(failed) == 1 and failed[0].count >= 1
    assert failed[0].attributes[A.ERROR_TYPE] == "InternalServerError"


# -- content JSON --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "plain",
        'ünïcode "quoted"\n',
        [1, 2.5, None, True, {"nested": ["é", {"k": float("inf")}]}],
        {"role": "user", "parts": [{"type": "text", "content": "x" * 50}]},
        {1: "int key"},
    ],
)
def test_content_json_reads_as_json_dumps(value):
    assert _content._strict(value) == json.dumps(value, ensure_ascii=False)
    assert _content._lenient(value) == json.dumps(value, ensure_ascii=False, default=str)


def test_content_json_keeps_what_plain_json_cannot_hold():
    with pytest.raises(TypeError):
        _content._strict([SimpleNamespace(a=1)])
    assert _content._lenient([SimpleNamespace(a=1)]) == '["namespace(a=1)"]'
    looped: list = [{"role": "user", "content": "hi"}]
    looped.append(looped)  # a list that contains itself is rendered, not dropped
    rendered = json.loads(_content.messages_json(looped, A.GEN_AI_INPUT_MESSAGES))
    assert rendered[0] == {"role": "user", "content": "hi"}
    assert len(rendered) == 2


def test_an_agent_name_that_is_not_a_string_does_not_cost_the_call_its_price(spans):
    from agentops_otel.genai import start_llm_call

    tracer = trace.get_tracer("percall2")
    with ao.session("odd agent"):
        call = start_llm_call(
            tracer,
            operation=A.OP_CHAT,
            provider="openai",
            model=MODEL,
            attributes={A.AGENT_NAME: ["not", "a", "string"]},
        )
        assert call is not None
        with call:
            call.set_usage(10, 5)
        call.end()
    (llm,) = spans.of_kind("llm")
    assert llm.attributes[A.AGENT_NAME] == ("not", "a", "string")
    assert llm.attributes[A.COST_USD] > 0
    assert spans.one("session odd agent").attributes[A.TOTAL_INPUT_TOKENS] == 10
