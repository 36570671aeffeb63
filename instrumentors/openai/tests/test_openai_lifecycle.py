"""Errors, bad input, parentage, loops, uninstrumenting and chaining with other wrappers."""

from __future__ import annotations

import openai
import pytest
import wrapt
from _openai_helpers import USER, assert_error, assert_no_usage, one_llm_span
from openai.resources.chat.completions import AsyncCompletions, Completions
from openai.resources.embeddings import Embeddings
from openai.resources.responses import Responses
from opentelemetry.trace import StatusCode

from agentops_openai import OpenAIInstrumentor
from agentops_otel import semconv as A

_ORIGINALS = {
    (cls, name): cls.__dict__[name]
    for cls, name in (
        (Completions, "create"),
        (AsyncCompletions, "create"),
        (Completions, "parse"),
        (Completions, "stream"),
        (Embeddings, "create"),
        (Responses, "create"),
        (Responses, "stream"),
    )
}


@pytest.mark.parametrize(
    "model,error", [("error-429", openai.RateLimitError), ("error-500", openai.InternalServerError)]
)
def test_error_passes_the_same_exception_through(server, capture, model, error):
    seen = []

    def below_ours(wrapped, instance, args, kwargs):
        try:
            return wrapped(*args, **kwargs)
        except Exception as exc:
            seen.append(exc)
            raise

    wrapt.wrap_function_wrapper(Completions, "create", below_ours)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    try:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
        with pytest.raises(error) as info:
            client.chat.completions.create(model=model, messages=USER)
    finally:
        instrumentor.uninstrument()
        Completions.create = _ORIGINALS[(Completions, "create")]
    assert seen == [info.value] and seen[0] is info.value
    span = one_llm_span(capture)
    assert_error(span, info.value)
    assert span.events[0].name == "exception"
    assert_no_usage(span)


async def test_async_error(aclient, capture):
    with pytest.raises(openai.RateLimitError) as info:
        await aclient.chat.completions.create(model="error-429", messages=USER)
    assert_error(one_llm_span(capture), info.value)


def test_response_without_usage(client, capture):
    result = client.chat.completions.create(model="no-usage", messages=USER)
    assert result.usage is None
    span = one_llm_span(capture)
    assert span.status.status_code is StatusCode.UNSET
    assert_no_usage(span)


def test_connection_reset_on_plain_call(client, capture):
    with pytest.raises(openai.APIConnectionError) as info:
        client.chat.completions.create(model="reset-mid-stream", messages=USER)
    assert_error(one_llm_span(capture), info.value)


def test_llm_span_is_a_child_of_the_current_span(client, capture):
    tracer = capture.provider.get_tracer("test")
    with tracer.start_as_current_span("parent") as parent:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        client.embeddings.create(model="text-embedding-3-small", input="x")
    (parent_span,) = capture.named("parent")
    children = capture.children_of(parent_span)
    assert sorted(s.name for s in children) == [
        "chat gpt-4o-mini",
        "embeddings text-embedding-3-small",
    ]
    for child in children:
        assert child.context.trace_id == parent.get_span_context().trace_id


def test_no_second_llm_span_inside_an_active_llm_call(client, capture):
    """A framework that already opened an LLM span (LiteLLM, CrewAI) is not counted twice."""
    from agentops_otel.genai import start_llm_call

    tracer = capture.provider.get_tracer("framework")
    outer = start_llm_call(tracer, operation="chat", provider="openai", model="gpt-4o-mini")
    with outer:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    outer.end()
    assert len(capture.of_kind(A.KIND_LLM)) == 1


def test_repeated_identical_requests_are_flagged_as_a_loop(client, capture):
    tracer = capture.provider.get_tracer("test")
    with tracer.start_as_current_span(
        "session", attributes={A.SPAN_KIND: A.KIND_SESSION, A.SESSION_ID: "s1"}
    ):
        for _ in range(3):
            client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "something else"}]
        )
    flags = [s.attributes.get(A.LOOP_DETECTED) for s in capture.of_kind(A.KIND_LLM)]
    assert flags == [None, None, True, None]


def test_uninstrument_restores_the_originals(server, capture):
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    assert isinstance(Completions.__dict__["create"], wrapt.FunctionWrapper)
    instrumentor.uninstrument()
    for (cls, name), original in _ORIGINALS.items():
        assert cls.__dict__[name] is original, (cls, name)
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert capture.spans == []


def _counting_wrapper(calls):
    def theirs(wrapped, instance, args, kwargs):
        calls.append(kwargs.get("model"))
        return wrapped(*args, **kwargs)

    return theirs


def test_theirs_over_ours_survives_our_uninstrument(server, capture):
    calls: list[str] = []
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    wrapt.wrap_function_wrapper(Completions, "create", _counting_wrapper(calls))
    try:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        assert calls == ["gpt-4o-mini"] and len(capture.of_kind(A.KIND_LLM)) == 1
        instrumentor.uninstrument()
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        assert calls == ["gpt-4o-mini", "gpt-4o-mini"]
        assert len(capture.of_kind(A.KIND_LLM)) == 1  # ours passes through now
    finally:
        instrumentor.uninstrument()
        Completions.create = _ORIGINALS[(Completions, "create")]


def test_ours_over_theirs_leaves_theirs_in_place(server, capture):
    calls: list[str] = []
    wrapt.wrap_function_wrapper(Completions, "create", _counting_wrapper(calls))
    theirs = Completions.__dict__["create"]
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    try:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        assert calls == ["gpt-4o-mini"] and len(capture.of_kind(A.KIND_LLM)) == 1
        instrumentor.uninstrument()
        assert Completions.__dict__["create"] is theirs
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        assert calls == ["gpt-4o-mini", "gpt-4o-mini"]
        assert len(capture.of_kind(A.KIND_LLM)) == 1
    finally:
        instrumentor.uninstrument()
        Completions.create = _ORIGINALS[(Completions, "create")]


def test_instrumenting_twice_keeps_one_span_per_call(client, capture):
    OpenAIInstrumentor().instrument(tracer_provider=capture.provider)  # a no-op: singleton
    client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert len(capture.of_kind(A.KIND_LLM)) == 1
