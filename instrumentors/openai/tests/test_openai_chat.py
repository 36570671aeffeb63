"""Chat completions: create / parse, sync and async, plain and with_raw_response."""

from __future__ import annotations

import json

import openai
import pydantic
import pytest
from _openai_helpers import TOOLS, USER, assert_usage, messages, one_llm_span

from agentops_otel import pricing
from agentops_otel import semconv as A


def test_chat_create_records_request_response_usage_and_cost(client, server, capture):
    result = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=USER,
        temperature=0.3,
        top_p=0.9,
        max_tokens=50,
        stop=["END"],
        seed=7,
        frequency_penalty=0.1,
        presence_penalty=0.2,
    )
    span = one_llm_span(capture)
    attrs = span.attributes
    assert span.name == "chat gpt-4o-mini"
    assert attrs[A.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert attrs[A.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[A.SERVER_PORT] == server.port
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert attrs[A.GEN_AI_REQUEST_TOP_P] == 0.9
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert list(attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES]) == ["END"]
    assert attrs[A.GEN_AI_REQUEST_SEED] == 7
    assert attrs[A.GEN_AI_REQUEST_FREQUENCY_PENALTY] == 0.1
    assert attrs[A.GEN_AI_REQUEST_PRESENCE_PENALTY] == 0.2
    assert A.GEN_AI_REQUEST_CHOICE_COUNT not in attrs
    assert attrs[A.GEN_AI_RESPONSE_ID] == result.id
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == result.model
    assert list(attrs[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]
    assert_usage(span, server.requests[-1]["usage"])
    assert attrs[A.COST_USD] > 0


def test_cost_of_gpt_4o_mini_is_price_times_usage(client, server, capture):
    long_prompt = [{"role": "user", "content": "tell me about the sea " * 40}]
    client.chat.completions.create(model="gpt-4o-mini", messages=long_prompt)
    span = one_llm_span(capture)
    usage = server.requests[-1]["usage"]
    assert usage["cache_read_tokens"] > 0  # the hand computation below exercises cache pricing
    uncached = usage["input_tokens"] - usage["cache_read_tokens"]
    by_hand = (
        uncached * 0.15 + usage["cache_read_tokens"] * 0.075 + usage["output_tokens"] * 0.60
    ) / 1e6
    priced = pricing.cost_for(
        "openai",
        "gpt-4o-mini",
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        cache_read_tokens=usage["cache_read_tokens"],
    )
    assert priced is not None and priced.total_usd == pytest.approx(by_hand)
    assert span.attributes[A.COST_USD] == pytest.approx(by_hand)


def test_choice_count_and_output_type(client, capture):
    client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, n=2, response_format={"type": "json_object"}
    )
    attrs = one_llm_span(capture).attributes
    assert attrs[A.GEN_AI_REQUEST_CHOICE_COUNT] == 2
    assert attrs[A.GEN_AI_OUTPUT_TYPE] == "json"
    assert list(attrs[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop", "stop"]


def test_content_captured_with_system_tools_and_tool_results(client, capture, content_on):
    conversation = [
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": "Use tools."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    client.chat.completions.create(model="gpt-4o-mini", messages=conversation, tools=TOOLS)
    span = one_llm_span(capture)
    sent = messages(span, A.GEN_AI_INPUT_MESSAGES)
    assert [m["role"] for m in sent] == ["system", "developer", "user", "assistant", "tool"]
    assert sent[2]["parts"] == [
        {"type": "text", "content": "Weather?"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/a.png"},
    ]
    assert sent[3]["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    assert sent[4]["parts"] == [{"type": "tool_call_response", "id": "call_1", "response": "sunny"}]
    assert json.loads(span.attributes[A.GEN_AI_TOOL_DEFINITIONS]) == TOOLS
    out = messages(span)
    assert out == [
        {
            "role": "assistant",
            "finish_reason": "stop",
            "parts": [{"type": "text", "content": "The tool returned: sunny"}],
        }
    ]


def test_tool_call_response_recorded(client, capture, content_on):
    result = client.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=TOOLS)
    tool_call = result.choices[0].message.tool_calls[0]
    span = one_llm_span(capture)
    assert list(span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["tool_calls"]
    assert messages(span)[0]["parts"] == [
        {
            "type": "tool_call",
            "id": tool_call.id,
            "name": "get_weather",
            "arguments": json.loads(tool_call.function.arguments),
        }
    ]


def test_content_off_records_no_content(client, server, capture, content_off):
    client.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=TOOLS)
    span = one_llm_span(capture)
    for key in (
        A.GEN_AI_INPUT_MESSAGES,
        A.GEN_AI_OUTPUT_MESSAGES,
        A.GEN_AI_TOOL_DEFINITIONS,
        A.GEN_AI_SYSTEM_INSTRUCTIONS,
    ):
        assert key not in span.attributes
    assert_usage(span, server.requests[-1]["usage"])


async def test_async_chat_create(aclient, server, capture):
    result = await aclient.chat.completions.create(
        model="gpt-4o-mini", messages=USER, max_completion_tokens=40
    )
    span = one_llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == result.id
    assert span.attributes[A.GEN_AI_REQUEST_MAX_TOKENS] == 40
    assert_usage(span, server.requests[-1]["usage"])


class Answer(pydantic.BaseModel):
    reply: str


def test_parse_with_pydantic_format(client, server, capture, content_on):
    result = client.chat.completions.parse(
        model="gpt-4o-mini", messages=USER, response_format=Answer
    )
    assert isinstance(result.choices[0].message.parsed, Answer)
    span = one_llm_span(capture)
    assert span.attributes[A.GEN_AI_OUTPUT_TYPE] == "json"
    assert_usage(span, server.requests[-1]["usage"])
    assert (
        json.loads(messages(span)[0]["parts"][0]["content"])
        == result.choices[0].message.parsed.model_dump()
    )


async def test_async_parse(aclient, server, capture):
    result = await aclient.chat.completions.parse(
        model="gpt-4o-mini", messages=USER, response_format=Answer
    )
    assert isinstance(result.choices[0].message.parsed, Answer)
    assert_usage(one_llm_span(capture), server.requests[-1]["usage"])


def test_with_raw_response_records_from_the_parsed_body(client, server, capture):
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
    span = one_llm_span(capture)  # ended before the user parsed anything
    body = raw.parse()
    assert raw.parse() is body  # the SDK's own cache: nothing consumed from the user
    assert raw.headers.get("x-request-id") == server.requests[-1]["request_id"]
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == body.id
    assert_usage(span, server.requests[-1]["usage"])


def test_with_raw_response_stream(client, server, capture, content_on):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=USER,
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    assert capture.of_kind(A.KIND_LLM) == []
    chunks = list(raw.parse())
    assert chunks and raw.parse() is not None
    span = one_llm_span(capture)
    assert_usage(span, server.requests[-1]["usage"])
    assert messages(span)[0]["parts"][0]["type"] == "tool_call"


async def test_async_with_raw_response(aclient, server, capture):
    raw = await aclient.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=USER
    )
    body = raw.parse()
    span = one_llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == body.id
    assert_usage(span, server.requests[-1]["usage"])


async def test_async_with_raw_response_stream(aclient, server, capture):
    raw = await aclient.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    async for _ in raw.parse():
        pass
    assert_usage(one_llm_span(capture), server.requests[-1]["usage"])


def test_azure_client_is_named_azure(server, instrumented, capture):
    azure = openai.AzureOpenAI(
        base_url=server.openai_base_url, api_key="sk-test", api_version="2024-10-21", max_retries=0
    )
    with pytest.raises(openai.APIStatusError):  # the fake serves no Azure deployment paths
        azure.chat.completions.create(model="gpt-4o-mini", messages=USER)
    span = one_llm_span(capture)
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"


def test_with_streaming_response_records_on_parse(client, server, capture):
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=USER
    ) as response:
        assert isinstance(response, openai._response.APIResponse)
        body = response.parse()
        assert capture.of_kind(A.KIND_LLM) == []  # open until the response is closed
    span = one_llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == body.id
    assert_usage(span, server.requests[-1]["usage"])


def test_with_streaming_response_unparsed_ends_at_exit(client, capture):
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=USER
    ) as response:
        assert b"choices" in response.read()
    assert A.GEN_AI_RESPONSE_ID not in one_llm_span(capture).attributes


def test_with_streaming_response_stream(client, server, capture):
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}
    ) as response:
        next(iter(response.parse()))
    span = one_llm_span(capture)  # closed with the response, the stream half read
    assert A.GEN_AI_RESPONSE_ID in span.attributes
    capture.clear()
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}
    ) as response:
        for _ in response.parse():
            pass
    assert_usage(one_llm_span(capture), server.requests[-1]["usage"])


async def test_async_with_streaming_response(aclient, server, capture):
    async with aclient.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=USER
    ) as response:
        body = await response.parse()
    span = one_llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == body.id
    assert_usage(span, server.requests[-1]["usage"])
