"""Streamed chat completions: usage, tool-call deltas, and the span ending exactly once."""

from __future__ import annotations

import gc
import json

import pytest
from _openai_helpers import TOOLS, USER, assert_error, assert_no_usage, assert_usage, messages
from _openai_helpers import one_llm_span as llm_span
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode

from agentops_otel import semconv as A

WITH_USAGE = {"include_usage": True}


def test_stream_without_include_usage_is_not_forced(client, server, capture, content_on):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "stream_options" not in server.requests[-1]["body"]
    span = llm_span(capture)
    assert span.attributes[A.GEN_AI_REQUEST_STREAM] is True
    assert A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in span.attributes
    assert list(span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]
    assert_no_usage(span)
    assert messages(span) == [
        {"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": text}]}
    ]


def test_stream_with_include_usage(client, server, capture):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options=WITH_USAGE
    )
    ids = {c.id for c in stream}
    span = llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] in ids
    assert_usage(span, server.requests[-1]["usage"])
    assert span.attributes[A.COST_USD] > 0


def test_stream_tool_call_deltas(client, server, capture, content_on):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, tools=TOOLS, stream=True, stream_options=WITH_USAGE
    )
    arguments, call_id = [], None
    for chunk in stream:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or ():
                call_id = delta.id or call_id
                arguments.append(delta.function.arguments or "")
    assert len([a for a in arguments if a]) > 1  # the arguments really arrived in pieces
    span = llm_span(capture)
    assert list(span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["tool_calls"]
    assert messages(span)[0]["parts"] == [
        {
            "type": "tool_call",
            "id": call_id,
            "name": "get_weather",
            "arguments": json.loads("".join(arguments)),
        }
    ]
    assert_usage(span, server.requests[-1]["usage"])


async def test_async_stream(aclient, server, capture, content_on):
    stream = await aclient.chat.completions.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options=WITH_USAGE
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    span = llm_span(capture)
    assert_usage(span, server.requests[-1]["usage"])
    assert messages(span)[0]["parts"] == [{"type": "text", "content": text}]


def _open_stream(client):
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options=WITH_USAGE
    )


def test_span_ends_once_on_exhaustion(client, capture):
    stream = _open_stream(client)
    assert capture.of_kind(A.KIND_LLM) == []
    for _ in stream:
        pass
    stream.close()
    with stream:
        pass
    assert llm_span(capture).status.status_code is StatusCode.UNSET


def test_span_ends_on_early_close(client, capture):
    stream = _open_stream(client)
    next(stream)
    stream.close()
    span = llm_span(capture)
    assert A.STREAM_ABANDONED not in span.attributes
    assert_no_usage(span)


def test_span_ends_on_context_exit(client, capture):
    with _open_stream(client) as stream:
        next(stream)
    llm_span(capture)


def test_span_ends_on_abandonment(client, capture):
    stream = _open_stream(client)
    next(stream)
    del stream
    gc.collect()
    assert llm_span(capture).attributes[A.STREAM_ABANDONED] is True


async def test_async_span_ends_on_early_close(aclient, capture):
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    await stream.__anext__()
    await stream.close()
    llm_span(capture)


def _sdk_error(client, model):
    """What the uninstrumented SDK raises for ``model``'s stream."""
    with suppress_instrumentation(), pytest.raises(Exception) as info:
        for _ in client.chat.completions.create(model=model, messages=USER, stream=True):
            pass
    return info.value


@pytest.mark.parametrize("model", ["malformed-sse", "reset-mid-stream"])
def test_broken_stream_raises_the_sdk_error_and_fails_the_span(client, capture, model):
    expected = _sdk_error(client, model)
    assert capture.spans == []
    with pytest.raises(type(expected)) as info:
        for _ in client.chat.completions.create(model=model, messages=USER, stream=True):
            pass
    assert str(info.value) == str(expected)
    assert_error(llm_span(capture), info.value)


def test_chat_stream_manager_early_exit_ends_the_span(client, capture):
    with client.chat.completions.stream(model="gpt-4o-mini", messages=USER) as stream:
        next(iter(stream))
    llm_span(capture)  # ended at the block's exit, while `stream` is still referenced
    assert stream is not None


def test_chat_stream_manager_records_usage(client, server, capture):
    with client.chat.completions.stream(
        model="gpt-4o-mini", messages=USER, stream_options=WITH_USAGE
    ) as stream:
        final = stream.get_final_completion()
    span = llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == final.id
    assert_usage(span, server.requests[-1]["usage"])


async def test_async_chat_stream_manager_early_exit(aclient, capture):
    async with aclient.chat.completions.stream(model="gpt-4o-mini", messages=USER) as stream:
        async for _ in stream:
            break
    llm_span(capture)
