"""Embeddings and the Responses API: create (plain and streamed) and responses.stream()."""

from __future__ import annotations

import json

from _openai_helpers import RESPONSES_TOOLS, assert_usage, messages, one_llm_span
from opentelemetry.trace import StatusCode

from agentops_otel import semconv as A


def test_embeddings(client, server, capture):
    result = client.embeddings.create(
        model="text-embedding-3-small", input=["one", "two"], encoding_format="float"
    )
    span = one_llm_span(capture)
    attrs = span.attributes
    assert span.name == "embeddings text-embedding-3-small"
    assert attrs[A.GEN_AI_OPERATION_NAME] == "embeddings"
    assert list(attrs[A.GEN_AI_REQUEST_ENCODING_FORMATS]) == ["float"]
    assert attrs[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(result.data[0].embedding)
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == server.requests[-1]["usage"]["input_tokens"]
    assert A.GEN_AI_INPUT_MESSAGES not in attrs


async def test_async_embeddings_with_dimensions(aclient, server, capture):
    await aclient.embeddings.create(
        model="text-embedding-3-small", input="one", dimensions=4, encoding_format="base64"
    )
    attrs = one_llm_span(capture).attributes
    assert attrs[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 4
    assert list(attrs[A.GEN_AI_REQUEST_ENCODING_FORMATS]) == ["base64"]
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == server.requests[-1]["usage"]["input_tokens"]


def test_responses_create(client, server, capture, content_on):
    result = client.responses.create(
        model="gpt-4o-mini",
        input="Say hi",
        instructions="Be brief.",
        max_output_tokens=30,
        temperature=0.5,
    )
    span = one_llm_span(capture)
    attrs = span.attributes
    assert span.name == "chat gpt-4o-mini"
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 30
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    assert attrs[A.GEN_AI_RESPONSE_ID] == result.id
    assert list(attrs[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]
    assert_usage(span, server.requests[-1]["usage"])
    assert json.loads(attrs[A.GEN_AI_SYSTEM_INSTRUCTIONS]) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert messages(span, A.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hi"}]}
    ]
    assert messages(span)[0]["parts"] == [{"type": "text", "content": result.output_text}]


def test_responses_function_call_and_result(client, server, capture, content_on):
    first = client.responses.create(
        model="gpt-4o-mini", input="Weather in Paris?", tools=RESPONSES_TOOLS
    )
    call = next(item for item in first.output if item.type == "function_call")
    span = one_llm_span(capture)
    assert list(span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["tool_calls"]
    assert messages(span)[0]["parts"] == [
        {
            "type": "tool_call",
            "id": call.call_id,
            "name": "get_weather",
            "arguments": json.loads(call.arguments),
        }
    ]
    capture.clear()
    client.responses.create(
        model="gpt-4o-mini",
        tools=RESPONSES_TOOLS,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
    )
    sent = messages(one_llm_span(capture), A.GEN_AI_INPUT_MESSAGES)
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[2]["parts"] == [
        {"type": "tool_call_response", "id": call.call_id, "response": "sunny"}
    ]


def test_responses_create_stream(client, server, capture, content_on):
    events = list(client.responses.create(model="gpt-4o-mini", input="Say hi", stream=True))
    completed = next(e for e in events if e.type == "response.completed")
    span = one_llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == completed.response.id
    assert_usage(span, server.requests[-1]["usage"])
    assert messages(span)[0]["parts"] == [
        {"type": "text", "content": completed.response.output_text}
    ]


async def test_async_responses_create_and_stream(aclient, server, capture):
    await aclient.responses.create(model="gpt-4o-mini", input="Say hi")
    assert_usage(one_llm_span(capture), server.requests[-1]["usage"])
    capture.clear()
    stream = await aclient.responses.create(model="gpt-4o-mini", input="Say hi", stream=True)
    async for _ in stream:
        pass
    assert_usage(one_llm_span(capture), server.requests[-1]["usage"])


def test_responses_stream_manager(client, server, capture):
    with client.responses.stream(model="gpt-4o-mini", input="Say hi") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    span = one_llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == final.id
    assert_usage(span, server.requests[-1]["usage"])


def test_responses_stream_manager_until_done(client, server, capture):
    with client.responses.stream(model="gpt-4o-mini", input="Say hi") as stream:
        stream.until_done()
    assert_usage(one_llm_span(capture), server.requests[-1]["usage"])


def test_responses_stream_manager_early_exit(client, capture):
    with client.responses.stream(model="gpt-4o-mini", input="Say hi there") as stream:
        next(iter(stream))
    span = one_llm_span(capture)  # ended at exit, though `stream` is still referenced
    assert span.status.status_code is StatusCode.UNSET
    assert stream is not None


async def test_async_responses_stream_manager(aclient, server, capture):
    async with aclient.responses.stream(model="gpt-4o-mini", input="Say hi") as stream:
        async for _ in stream:
            pass
    assert_usage(one_llm_span(capture), server.requests[-1]["usage"])
    capture.clear()
    async with aclient.responses.stream(model="gpt-4o-mini", input="Say hi there") as stream:
        async for _ in stream:
            break
    one_llm_span(capture)
