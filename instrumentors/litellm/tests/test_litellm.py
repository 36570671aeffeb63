"""LiteLLM instrumentor: real litellm against the project's fake LLM server, spans asserted."""

from __future__ import annotations

import gc
import importlib
import json
import os
import subprocess
import sys
import textwrap

import litellm
import pytest
import wrapt
from litellm import completion as completion_bound_before_instrumenting
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from agentops_litellm import LiteLLMInstrumentor
from agentops_otel import semconv as A

PROMPT = [{"role": "user", "content": "Tell me about the weather in a long sentence " * 4}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
_DISPATCH = "litellm.chat_completions.dispatch"
# Every patched attribute, as litellm had it before any test instrumented it.
ORIGINALS = {
    (module, name): getattr(importlib.import_module(module), name)
    for module, name in [
        ("litellm", "completion"),
        ("litellm", "acompletion"),
        ("litellm", "embedding"),
        ("litellm", "aembedding"),
        ("litellm", "responses"),
        ("litellm", "aresponses"),
        ("litellm.main", "completion"),
        ("litellm.main", "acompletion"),
        ("litellm.main", "embedding"),
        ("litellm.main", "aembedding"),
        ("litellm.responses.main", "responses"),
        ("litellm.responses.main", "aresponses"),
        (_DISPATCH, "_PYTHON_COMPLETION"),
        (_DISPATCH, "_PYTHON_ACOMPLETION"),
    ]
}


def openai_args(server, model="openai/gpt-4o-mini", **extra):
    return {
        "model": model,
        "api_base": server.openai_base_url,
        "api_key": "sk-test",
        "num_retries": 0,
        **extra,
    }


def anthropic_args(server, model="anthropic/claude-sonnet-4-5", **extra):
    return {
        "model": model,
        "api_base": server.anthropic_base_url,
        "api_key": "sk-test",
        "num_retries": 0,
        **extra,
    }


def only_llm_span(capture):
    spans = capture.of_kind(A.KIND_LLM)
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def usage_of(span):
    """The span's usage in the fake server's request-log shape."""
    a = span.attributes
    return {
        "input_tokens": a.get(A.GEN_AI_USAGE_INPUT_TOKENS),
        "output_tokens": a.get(A.GEN_AI_USAGE_OUTPUT_TOKENS),
        "cache_read_tokens": a.get(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0),
        "cache_write_tokens": a.get(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, 0),
        "reasoning_tokens": a.get(A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 0),
    }


def messages(span, key):
    return json.loads(span.attributes[key])


def assert_priced(span):
    assert span.attributes[A.COST_USD] > 0
    assert A.COST_UNKNOWN_MODEL not in span.attributes


def assert_no_usage(span):
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert A.GEN_AI_USAGE_OUTPUT_TOKENS not in span.attributes
    assert A.COST_USD not in span.attributes


def assert_failed(span, exc):
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == type(exc).__qualname__


# -- chat completions ------------------------------------------------------------------------
def test_completion_openai_span(capture, fake):
    response = litellm.completion(
        messages=PROMPT,
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        seed=7,
        stop="END",
        **openai_args(fake),
    )
    span = only_llm_span(capture)
    assert span.name == "chat openai/gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    a = span.attributes
    assert a[A.GEN_AI_OPERATION_NAME] == "chat"
    assert a[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert a[A.GEN_AI_REQUEST_MODEL] == "openai/gpt-4o-mini"
    assert a[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini"
    assert a[A.GEN_AI_RESPONSE_ID] == response.id
    assert a[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert a[A.SERVER_ADDRESS] == "127.0.0.1"
    assert a[A.SERVER_PORT] == fake.port
    assert a[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert a[A.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert a[A.GEN_AI_REQUEST_TOP_P] == 0.9
    assert a[A.GEN_AI_REQUEST_SEED] == 7
    assert a[A.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert A.GEN_AI_REQUEST_STREAM not in a
    usage = fake.requests[-1]["usage"]
    assert usage["cache_read_tokens"] > 0
    assert usage_of(span) == usage
    assert_priced(span)
    assert messages(span, A.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": PROMPT[0]["content"]}]}
    ]
    assert messages(span, A.GEN_AI_OUTPUT_MESSAGES) == [
        {
            "role": "assistant",
            "finish_reason": "stop",
            "parts": [{"type": "text", "content": response.choices[0].message.content}],
        }
    ]


def test_completion_anthropic_usage_includes_cache(capture, fake):
    response = litellm.completion(messages=PROMPT, **anthropic_args(fake))
    span = only_llm_span(capture)
    a = span.attributes
    assert a[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert a[A.GEN_AI_REQUEST_MODEL] == "anthropic/claude-sonnet-4-5"
    assert a[A.GEN_AI_RESPONSE_MODEL] == response.model
    usage = fake.requests[-1]["usage"]
    assert usage["cache_read_tokens"] > 0 and usage["cache_write_tokens"] > 0
    assert usage_of(span) == usage  # input includes cache reads and writes
    assert_priced(span)


def test_model_without_prefix_and_custom_provider(capture, fake):
    litellm.completion(messages=PROMPT, **openai_args(fake, model="gpt-4o-mini"))
    litellm.completion(
        messages=PROMPT, custom_llm_provider="openai", **openai_args(fake, model="my-private-model")
    )
    first, second = capture.of_kind(A.KIND_LLM)
    assert first.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert first.attributes[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert second.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert second.attributes[A.GEN_AI_REQUEST_MODEL] == "my-private-model"
    assert second.attributes[A.COST_UNKNOWN_MODEL] is True


def test_tool_call_round_trip(capture, fake):
    first = litellm.completion(messages=PROMPT, tools=TOOLS, **openai_args(fake))
    call = first.choices[0].message.tool_calls[0]
    follow_up = [
        *PROMPT,
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = litellm.completion(messages=follow_up, tools=TOOLS, **openai_args(fake))
    span1, span2 = capture.of_kind(A.KIND_LLM)
    assert span1.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert messages(span1, A.GEN_AI_OUTPUT_MESSAGES)[0]["parts"] == [
        {"type": "tool_call", "id": call.id, "name": "get_weather", "arguments": {"city": "test"}}
    ]
    assert json.loads(span1.attributes[A.GEN_AI_TOOL_DEFINITIONS]) == TOOLS
    inputs = messages(span2, A.GEN_AI_INPUT_MESSAGES)
    assert inputs[1]["parts"][0]["type"] == "tool_call"
    assert inputs[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": call.id, "response": "sunny"}],
    }
    assert second.choices[0].message.content == "The tool returned: sunny"
    for span, request in zip((span1, span2), fake.requests, strict=True):
        assert usage_of(span) == request["usage"]


def test_anthropic_tool_call(capture, fake):
    response = litellm.completion(messages=PROMPT, tools=TOOLS, **anthropic_args(fake))
    span = only_llm_span(capture)
    call = response.choices[0].message.tool_calls[0]
    assert span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert messages(span, A.GEN_AI_OUTPUT_MESSAGES)[0]["parts"][-1] == {
        "type": "tool_call",
        "id": call.id,
        "name": "get_weather",
        "arguments": {"city": "test"},
    }
    assert usage_of(span) == fake.requests[-1]["usage"]


def test_content_off_records_no_messages(capture, fake, no_content):
    litellm.completion(messages=PROMPT, tools=TOOLS, **openai_args(fake))
    span = only_llm_span(capture)
    for key in (A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES, A.GEN_AI_TOOL_DEFINITIONS):
        assert key not in span.attributes
    assert usage_of(span) == fake.requests[-1]["usage"]


def test_span_is_child_of_current_span(capture, fake):
    tracer = capture.provider.get_tracer("test")
    with tracer.start_as_current_span("agent step") as parent:
        litellm.completion(messages=PROMPT, **openai_args(fake))
    span = only_llm_span(capture)
    assert span.parent.span_id == parent.get_span_context().span_id
    assert trace.get_current_span() is trace.INVALID_SPAN


async def test_acompletion_one_span(capture, fake):
    response = await litellm.acompletion(messages=PROMPT, **openai_args(fake))
    span = only_llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == response.id
    assert usage_of(span) == fake.requests[-1]["usage"]
    assert len(fake.requests) == 1


def test_completion_with_acompletion_flag_is_one_span(capture, fake):
    import asyncio

    response = asyncio.run(
        litellm.completion(messages=PROMPT, acompletion=True, **openai_args(fake))
    )
    span = only_llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == response.id


def test_every_entry_point_gives_one_span(capture, fake):
    litellm.completion(messages=PROMPT, **openai_args(fake))
    litellm.main.completion(messages=PROMPT, **openai_args(fake))
    completion_bound_before_instrumenting(messages=PROMPT, **openai_args(fake))
    spans = capture.of_kind(A.KIND_LLM)
    assert len(spans) == len(fake.requests) == 3
    for span, request in zip(spans, fake.requests, strict=True):
        assert usage_of(span) == request["usage"]


# -- streams -----------------------------------------------------------------------------------
def test_stream_with_usage(capture, fake):
    stream = litellm.completion(
        messages=PROMPT, stream=True, stream_options={"include_usage": True}, **openai_args(fake)
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    span = only_llm_span(capture)
    a = span.attributes
    assert a[A.GEN_AI_REQUEST_STREAM] is True
    assert a[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    assert a[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini"
    assert a[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert usage_of(span) == fake.requests[-1]["usage"]
    assert_priced(span)
    out = messages(span, A.GEN_AI_OUTPUT_MESSAGES)
    assert out == [
        {"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": text}]}
    ]


def test_stream_without_include_usage_records_none(capture, fake):
    for _ in litellm.completion(messages=PROMPT, stream=True, **openai_args(fake)):
        pass
    span = only_llm_span(capture)
    assert fake.requests[-1]["usage"] is None
    assert_no_usage(span)  # litellm's own estimate is not provider usage
    assert span.status.status_code is StatusCode.UNSET


def test_anthropic_stream_usage_without_include_usage(capture, fake):
    chunks = list(litellm.completion(messages=PROMPT, stream=True, **anthropic_args(fake)))
    assert all(getattr(c, "usage", None) is None for c in chunks)  # the user saw none
    span = only_llm_span(capture)
    assert usage_of(span) == fake.requests[-1]["usage"]
    assert_priced(span)


def test_stream_tool_call_deltas(capture, fake):
    for args in (openai_args(fake), anthropic_args(fake)):
        for _ in litellm.completion(
            messages=PROMPT,
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
            **args,
        ):
            pass
    for span, request in zip(capture.of_kind(A.KIND_LLM), fake.requests, strict=True):
        assert span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
        part = messages(span, A.GEN_AI_OUTPUT_MESSAGES)[0]["parts"][-1]
        assert (part["type"], part["name"], part["arguments"]) == (
            "tool_call",
            "get_weather",
            {"city": "test"},
        )
        assert usage_of(span) == request["usage"]


def test_stream_no_usage_model_has_no_usage(capture, fake):
    stream = litellm.completion(
        messages=PROMPT,
        stream=True,
        stream_options={"include_usage": True},
        **openai_args(fake, model="openai/gpt-4o-mini-no-usage"),
    )
    chunks = list(stream)
    assert any(getattr(c, "usage", None) is not None for c in chunks)  # litellm's estimate
    span = only_llm_span(capture)
    assert fake.requests[-1]["usage"] is None
    assert_no_usage(span)


def test_stream_close_early_ends_span_once(capture, fake):
    stream = litellm.completion(messages=PROMPT, stream=True, **openai_args(fake))
    next(stream)
    assert capture.of_kind(A.KIND_LLM) == []
    stream.close()
    span = only_llm_span(capture)
    assert span.status.status_code is StatusCode.UNSET
    stream.close()
    del stream
    gc.collect()
    assert len(capture.of_kind(A.KIND_LLM)) == 1


def test_stream_context_manager(capture, fake):
    with litellm.completion(messages=PROMPT, stream=True, **openai_args(fake)) as stream:
        next(stream)
    only_llm_span(capture)


def test_stream_abandoned(capture, fake):
    stream = litellm.completion(messages=PROMPT, stream=True, **openai_args(fake))
    next(stream)
    del stream
    gc.collect()
    span = only_llm_span(capture)
    assert span.attributes[A.STREAM_ABANDONED] is True


@pytest.mark.parametrize("fault", ["reset-mid-stream", "malformed-sse"])
def test_stream_broken_mid_way(capture, fake, fault):
    stream = litellm.completion(
        messages=PROMPT, stream=True, **openai_args(fake, model=f"openai/gpt-4o-mini-{fault}")
    )
    with pytest.raises(Exception) as info:
        for _ in stream:
            pass
    assert isinstance(info.value, litellm.exceptions.MidStreamFallbackError)
    span = only_llm_span(capture)
    assert_failed(span, info.value)


async def test_async_stream_with_usage(capture, fake):
    stream = await litellm.acompletion(
        messages=PROMPT, stream=True, stream_options={"include_usage": True}, **openai_args(fake)
    )
    async for _ in stream:
        pass
    span = only_llm_span(capture)
    assert usage_of(span) == fake.requests[-1]["usage"]
    assert messages(span, A.GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["type"] == "text"


async def test_async_anthropic_stream(capture, fake):
    stream = await litellm.acompletion(messages=PROMPT, stream=True, **anthropic_args(fake))
    async for _ in stream:
        pass
    span = only_llm_span(capture)
    assert usage_of(span) == fake.requests[-1]["usage"]


async def test_async_stream_aclose_and_context_manager(capture, fake):
    stream = await litellm.acompletion(messages=PROMPT, stream=True, **openai_args(fake))
    await stream.__anext__()
    await stream.aclose()
    assert len(capture.of_kind(A.KIND_LLM)) == 1
    async with await litellm.acompletion(
        messages=PROMPT, stream=True, **openai_args(fake)
    ) as stream:
        await stream.__anext__()
    assert len(capture.of_kind(A.KIND_LLM)) == 2


async def test_async_stream_broken_mid_way(capture, fake):
    stream = await litellm.acompletion(
        messages=PROMPT, stream=True, **openai_args(fake, model="openai/x-reset-mid-stream")
    )
    with pytest.raises(Exception) as info:
        async for _ in stream:
            pass
    assert_failed(only_llm_span(capture), info.value)


# -- errors and bad responses -------------------------------------------------------------------
def _spy_below_us():
    """A wrapper under ours on litellm's dispatch target: sees litellm's own exception."""
    seen: list[BaseException] = []

    def spy(wrapped, instance, args, kwargs):
        try:
            return wrapped(*args, **kwargs)
        except Exception as exc:
            seen.append(exc)
            raise

    dispatch = importlib.import_module(_DISPATCH)
    wrapt.wrap_function_wrapper(dispatch, "_PYTHON_COMPLETION", spy)
    return dispatch, seen


@pytest.mark.parametrize(
    "model,exc_type",
    [
        ("openai/gpt-4o-mini-error-429", "RateLimitError"),
        ("openai/gpt-4o-mini-error-500", "InternalServerError"),
        ("openai/gpt-4o-mini-error-400", "BadRequestError"),
    ],
)
def test_error_is_litellms_own_exception(capture, fake, model, exc_type):
    dispatch, seen = _spy_below_us()
    ours = dispatch._PYTHON_COMPLETION.__wrapped__
    try:
        with pytest.raises(Exception) as info:
            litellm.completion(messages=PROMPT, **openai_args(fake, model=model))
    finally:
        dispatch._PYTHON_COMPLETION = ours
    assert info.value is seen[0]
    assert type(info.value) is getattr(litellm, exc_type)
    span = only_llm_span(capture)
    assert_failed(span, info.value)
    assert span.events[0].name == "exception"
    assert_no_usage(span)


def test_anthropic_error(capture, fake):
    with pytest.raises(litellm.RateLimitError) as info:
        litellm.completion(messages=PROMPT, **anthropic_args(fake, model="anthropic/x-error-429"))
    assert_failed(only_llm_span(capture), info.value)


async def test_async_error(capture, fake):
    with pytest.raises(litellm.RateLimitError) as info:
        await litellm.acompletion(
            messages=PROMPT, **openai_args(fake, model="openai/gpt-4o-mini-error-429")
        )
    assert_failed(only_llm_span(capture), info.value)


def test_response_without_usage(capture, fake):
    response = litellm.completion(
        messages=PROMPT, **openai_args(fake, model="openai/gpt-4o-mini-no-usage")
    )
    assert response.usage.prompt_tokens == 0  # litellm fills zeros in
    span = only_llm_span(capture)
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert_no_usage(span)


def test_connection_reset_before_response(capture, fake):
    with pytest.raises(Exception) as info:
        litellm.completion(
            messages=PROMPT, **openai_args(fake, model="openai/gpt-4o-mini-reset-mid-stream")
        )
    assert type(info.value) is litellm.InternalServerError  # litellm's mapping of the reset
    assert_failed(only_llm_span(capture), info.value)


# -- embeddings ---------------------------------------------------------------------------------
def test_embedding(capture, fake):
    response = litellm.embedding(
        input=["first text here", "second text"],
        dimensions=8,
        encoding_format="float",
        **openai_args(fake, model="openai/text-embedding-3-small"),
    )
    span = only_llm_span(capture)
    a = span.attributes
    assert span.name == "embeddings openai/text-embedding-3-small"
    assert a[A.GEN_AI_OPERATION_NAME] == "embeddings"
    assert a[A.GEN_AI_RESPONSE_MODEL] == response.model
    assert a[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 8
    assert a[A.GEN_AI_REQUEST_ENCODING_FORMATS] == ("float",)
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == fake.requests[-1]["usage"]["input_tokens"]
    assert_priced(span)


async def test_aembedding(capture, fake):
    await litellm.aembedding(
        input=["async text"], **openai_args(fake, model="openai/text-embedding-3-small")
    )
    span = only_llm_span(capture)
    assert (
        span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == fake.requests[-1]["usage"]["input_tokens"]
    )


def test_embedding_error(capture, fake):
    with pytest.raises(litellm.RateLimitError) as info:
        litellm.embedding(input=["x"], **openai_args(fake, model="openai/emb-error-429"))
    assert_failed(only_llm_span(capture), info.value)


# -- Responses API ------------------------------------------------------------------------------
def test_responses(capture, fake):
    response = litellm.responses(
        input="Say hello to the world",
        instructions="Be brief",
        max_output_tokens=40,
        **openai_args(fake),
    )
    span = only_llm_span(capture)
    a = span.attributes
    assert span.name == "chat openai/gpt-4o-mini"
    assert a[A.GEN_AI_RESPONSE_ID] == response.id
    assert a[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini"
    assert a[A.GEN_AI_REQUEST_MAX_TOKENS] == 40
    assert a[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert usage_of(span) == fake.requests[-1]["usage"]
    assert json.loads(a[A.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "Be brief"}]
    assert messages(span, A.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello to the world"}]}
    ]
    assert messages(span, A.GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["content"] == (
        response.output[0].content[0].text
    )
    assert_priced(span)


def test_responses_function_call(capture, fake):
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather",
            "parameters": TOOLS[0]["function"]["parameters"],
        }
    ]
    litellm.responses(input="Weather in Paris?", tools=tools, **openai_args(fake))
    span = only_llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    part = messages(span, A.GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]
    assert (part["type"], part["name"], part["arguments"]) == (
        "tool_call",
        "get_weather",
        {"city": "test"},
    )


def test_responses_stream(capture, fake):
    stream = litellm.responses(input="Stream a greeting", stream=True, **openai_args(fake))
    events = [event.type for event in stream]
    assert events[-1] == "response.completed"
    span = only_llm_span(capture)
    assert span.attributes[A.GEN_AI_REQUEST_STREAM] is True
    assert A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in span.attributes
    assert usage_of(span) == fake.requests[-1]["usage"]


async def test_aresponses_and_stream(capture, fake):
    await litellm.aresponses(input="Async hello", **openai_args(fake))
    stream = await litellm.aresponses(input="Async stream", stream=True, **openai_args(fake))
    async for _ in stream:
        pass
    spans = capture.of_kind(A.KIND_LLM)
    assert len(spans) == len(fake.requests) == 2
    for span, request in zip(spans, fake.requests, strict=True):
        assert usage_of(span) == request["usage"]


def test_responses_error(capture, fake):
    with pytest.raises(litellm.RateLimitError) as info:
        litellm.responses(input="x", **openai_args(fake, model="openai/r-error-429"))
    assert_failed(only_llm_span(capture), info.value)


# -- install, uninstall, chaining ---------------------------------------------------------------
def _current(module, name):
    return getattr(importlib.import_module(module), name)


def test_uninstrument_restores_originals(fake):
    from agentops_otel.testing.spans import SpanCapture

    spans = SpanCapture()
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    assert all(_current(*key) is not original for key, original in ORIGINALS.items())
    instrumentor.uninstrument()
    assert all(_current(*key) is original for key, original in ORIGINALS.items())
    litellm.completion(messages=PROMPT, **openai_args(fake))
    litellm.embedding(input=["x"], **openai_args(fake, model="openai/text-embedding-3-small"))
    assert spans.spans == []


def _their_wrapper(calls):
    def theirs(wrapped, instance, args, kwargs):
        calls.append(kwargs.get("model"))
        return wrapped(*args, **kwargs)

    return theirs


def _both_run_then_theirs_alone(instrumentor, spans, calls, fake):
    """One call goes through both wrappers; after our uninstrument, theirs alone."""
    try:
        litellm.completion(messages=PROMPT, **openai_args(fake))
        assert len(spans.of_kind(A.KIND_LLM)) == 1 and len(calls) == 1
        instrumentor.uninstrument()
        litellm.completion(messages=PROMPT, **openai_args(fake))
        assert len(spans.of_kind(A.KIND_LLM)) == 1 and len(calls) == 2
    finally:
        instrumentor.uninstrument()
        litellm.completion = ORIGINALS[("litellm", "completion")]


def test_their_wrapper_over_ours_survives_our_uninstrument(fake):
    from agentops_otel.testing.spans import SpanCapture

    spans, calls = SpanCapture(), []
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    wrapt.wrap_function_wrapper(litellm, "completion", _their_wrapper(calls))
    _both_run_then_theirs_alone(instrumentor, spans, calls, fake)


def test_ours_over_theirs_leaves_theirs_on_uninstrument(fake):
    from agentops_otel.testing.spans import SpanCapture

    spans, calls = SpanCapture(), []
    wrapt.wrap_function_wrapper(litellm, "completion", _their_wrapper(calls))
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    _both_run_then_theirs_alone(instrumentor, spans, calls, fake)


def test_instrument_before_import_patches_on_import(server):
    """``instrument()`` does not import litellm; importing it later installs the patches, so
    even ``from litellm import completion`` after instrumenting is reached."""
    script = textwrap.dedent(f"""
        import json, os, sys
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        from agentops_otel.testing.spans import SpanCapture
        from agentops_litellm import LiteLLMInstrumentor
        capture = SpanCapture()
        LiteLLMInstrumentor().instrument(tracer_provider=capture.provider)
        imported_early = "litellm" in sys.modules
        from litellm import completion
        completion(model="openai/gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}],
                   api_base="{server.openai_base_url}", api_key="sk-test", num_retries=0)
        print(json.dumps({{"imported_early": imported_early,
                           "spans": [s.name for s in capture.spans]}}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"imported_early": False, "spans": ["chat openai/gpt-4o-mini"]}


# -- together with the openai SDK instrumentor ---------------------------------------------------
def test_with_openai_instrumentor_one_llm_span_per_request(fake):
    """litellm's openai embeddings go through ``Embeddings.create`` (with ``encoding_format``), so
    the openai instrumentor sees them too; with both installed each request is one LLM span."""
    import asyncio

    from agentops_openai import OpenAIInstrumentor
    from agentops_otel.testing.spans import SpanCapture

    spans = SpanCapture()
    openai_instrumentor, ours = OpenAIInstrumentor(), LiteLLMInstrumentor()
    # A key no other test used: litellm caches openai clients, and a client whose
    # ``with_raw_response`` was built before the openai instrumentor ran bypasses it.
    embed = {
        **openai_args(fake, model="openai/text-embedding-3-small", encoding_format="float"),
        "api_key": "sk-test-dedupe",
    }
    openai_instrumentor.instrument(tracer_provider=spans.provider)
    try:
        litellm.embedding(input=["seen by the openai SDK"], **embed)
        assert [s.instrumentation_scope.name for s in spans.of_kind(A.KIND_LLM)] == [
            "agentops_openai"
        ]  # without ours, the openai instrumentor records it
        spans.clear()
        fake.clear()
        ours.instrument(tracer_provider=spans.provider)
        litellm.embedding(input=["one span please"], **embed)
        asyncio.run(litellm.aembedding(input=["async too"], **embed))
        litellm.completion(messages=PROMPT, **openai_args(fake))
        for _ in litellm.completion(
            messages=PROMPT,
            stream=True,
            stream_options={"include_usage": True},
            **openai_args(fake),
        ):
            pass
        litellm.responses(input="hello", **openai_args(fake))
    finally:
        ours.uninstrument()
        openai_instrumentor.uninstrument()
    llm = spans.of_kind(A.KIND_LLM)
    assert len(llm) == len(fake.requests) == 5
    for span, request in zip(llm, fake.requests, strict=True):
        assert span.instrumentation_scope.name == "agentops_litellm"
        assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == request["usage"]["input_tokens"]
        assert span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == request["usage"]["output_tokens"]
