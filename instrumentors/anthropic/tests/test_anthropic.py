"""The Anthropic instrumentor against the real SDK and the project's fake server."""

from __future__ import annotations

import gc
import json
import os
import re
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from typing import Any

import anthropic
import pytest
import wrapt
from anthropic.resources.beta.messages import AsyncMessages as BetaAsyncMessages
from anthropic.resources.beta.messages import Messages as BetaMessages
from anthropic.resources.messages import AsyncMessages, Messages
from opentelemetry.trace import SpanKind, StatusCode

from agentops_anthropic import AnthropicInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing.spans import SpanCapture

SONNET = "claude-sonnet-4-5"
HAIKU = "claude-3-5-haiku-20241022"
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
# Long enough for non-zero cache read (T // 4) and cache write (T // 8) counts at the fake server.
PROMPT = "Please describe the weather in Paris for a walk along the Seine this afternoon, briefly."
USER = [{"role": "user", "content": PROMPT}]
TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather for a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
# Features of newer SDKs; the suite also runs against anthropic 0.40 (the oldest supported).
HAS_PARSE = hasattr(Messages, "parse")
HAS_BETA_STREAM = hasattr(BetaMessages, "stream")
SDK_HAS_SPANS = hasattr(anthropic._base_client, "start_api_call_span")  # anthropic 2.x
# USD per million tokens: input, output, cache read, cache write (Anthropic's list prices).
RATES = {SONNET: (3.0, 15.0, 0.3, 3.75), HAIKU: (0.8, 4.0, 0.08, 1.0)}


def only_llm(cap: SpanCapture) -> Any:
    spans = cap.of_kind(A.KIND_LLM)
    assert len(spans) == 1, [s.name for s in cap.spans]
    return spans[0]


def assert_usage(span: Any, usage: dict[str, int]) -> None:
    attrs = span.attributes
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == usage["input_tokens"]
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage["output_tokens"]
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == usage["cache_read_tokens"]
    assert attrs[A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == usage["cache_write_tokens"]
    assert usage["cache_read_tokens"] > 0 and usage["cache_write_tokens"] > 0
    assert attrs[A.COST_USD] > 0


def assert_ok(span: Any, server: Any, model: str = SONNET, stream: bool = False) -> None:
    attrs = span.attributes
    assert span.name == f"chat {model}"
    assert span.kind == SpanKind.CLIENT
    assert span.status.status_code != StatusCode.ERROR
    assert attrs[A.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == model
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == model
    assert attrs[A.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[A.SERVER_PORT] == server.port
    request = server.requests[-1]
    assert attrs[A.GEN_AI_RESPONSE_ID] == request["response_id"]
    assert_usage(span, request["usage"])
    assert (A.GEN_AI_REQUEST_STREAM in attrs) is stream
    assert (A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attrs) is stream


def output_parts(span: Any) -> list[dict[str, Any]]:
    messages = json.loads(span.attributes[A.GEN_AI_OUTPUT_MESSAGES])
    assert len(messages) == 1 and messages[0]["role"] == "assistant"
    return messages[0]["parts"]


def _masked(result: Any) -> str:
    return re.sub(r"(msg|toolu)_fake\w+", "ID", repr(result))


def outcome(fn: Any) -> tuple[Any, str]:
    """What the caller saw: the result (ids masked, they differ per request) or the exception."""
    try:
        return "ok", _masked(fn())
    except Exception as exc:
        return type(exc), str(exc)


@contextmanager
def uninstrumented(cap: SpanCapture):
    AnthropicInstrumentor().uninstrument()
    try:
        yield
    finally:
        AnthropicInstrumentor().instrument(tracer_provider=cap.provider)


class _Recording:
    """Keeps every status error the SDK makes, to check the user gets that very object."""

    made: list[BaseException]

    def _make_status_error(self, *args: Any, **kwargs: Any) -> Any:
        error = super()._make_status_error(*args, **kwargs)  # type: ignore[misc]
        self.made.append(error)
        return error


class RecordingClient(_Recording, anthropic.Anthropic):
    pass


class AsyncRecordingClient(_Recording, anthropic.AsyncAnthropic):
    pass


# -- plain calls -------------------------------------------------------------------------------
def test_create_records_request_response_usage_and_content(capture, client, server):
    message = client.messages.create(
        model=SONNET,
        max_tokens=100,
        system="You are terse.",
        messages=USER,
        stop_sequences=["END"],
        extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 5},
    )
    span = only_llm(capture)
    assert_ok(span, server)
    attrs = span.attributes
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 100
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attrs[A.GEN_AI_REQUEST_TOP_P] == 0.9
    assert attrs[A.GEN_AI_REQUEST_TOP_K] == 5
    assert attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert json.loads(attrs[A.GEN_AI_SYSTEM_INSTRUCTIONS]) == [
        {"type": "text", "content": "You are terse."}
    ]
    assert json.loads(attrs[A.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": PROMPT}]}
    ]
    assert output_parts(span) == [{"type": "text", "content": message.content[0].text}]
    assert json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES])[0]["finish_reason"] == "stop"


def test_content_off_records_no_content_but_usage(capture, client, server, no_content):
    client.messages.create(
        model=SONNET, max_tokens=100, system="Terse.", messages=USER, tools=TOOLS
    )
    span = only_llm(capture)
    assert_ok(span, server)
    for key in (
        A.GEN_AI_INPUT_MESSAGES,
        A.GEN_AI_OUTPUT_MESSAGES,
        A.GEN_AI_SYSTEM_INSTRUCTIONS,
        A.GEN_AI_TOOL_DEFINITIONS,
    ):
        assert key not in span.attributes


@pytest.mark.parametrize("model", [SONNET, HAIKU])
def test_cost_counts_cache_read_and_write_once(capture, client, server, model):
    client.messages.create(model=model, max_tokens=100, messages=USER)
    span = only_llm(capture)
    usage = server.requests[-1]["usage"]
    total, out = usage["input_tokens"], usage["output_tokens"]
    read, write = usage["cache_read_tokens"], usage["cache_write_tokens"]
    wire = server.requests[-1]  # the wire's input_tokens excluded both cache counts
    assert read > 0 and write > 0 and wire["usage"]["input_tokens"] == total
    p_in, p_out, p_read, p_write = RATES[model]
    expected = ((total - read - write) * p_in + read * p_read + write * p_write + out * p_out) / 1e6
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == total
    assert span.attributes[A.COST_USD] == pytest.approx(expected)
    assert span.attributes[A.COST_INPUT_USD] == pytest.approx(expected - out * p_out / 1e6)


async def test_async_create(capture, aclient, server):
    message = await aclient.messages.create(model=SONNET, max_tokens=100, messages=USER)
    span = only_llm(capture)
    assert_ok(span, server)
    assert output_parts(span)[0]["content"] == message.content[0].text


def test_provider_name_follows_the_client(capture, server):
    """Bedrock and Vertex clients share these resources; the SDK names their provider."""

    class BedrockLike(anthropic.Anthropic):
        _gen_ai_provider_name = "aws.bedrock"

    client = BedrockLike(base_url=server.anthropic_base_url, api_key="k", max_retries=0)
    client.messages.create(model=SONNET, max_tokens=10, messages=USER)
    assert only_llm(capture).attributes[A.GEN_AI_PROVIDER_NAME] == "aws.bedrock"


def test_with_raw_response(capture, client, server):
    raw = client.messages.with_raw_response.create(model=SONNET, max_tokens=100, messages=USER)
    assert raw.parse().content
    assert_ok(only_llm(capture), server)


@pytest.mark.skipif(not HAS_PARSE, reason="messages.parse is newer than this SDK")
def test_parse(capture, client, server):
    parsed = client.messages.parse(model=SONNET, max_tokens=100, messages=USER)
    assert parsed.content
    assert_ok(only_llm(capture), server)


@pytest.mark.skipif(not HAS_BETA_STREAM, reason="beta.messages.stream is newer than this SDK")
def test_beta_messages(capture, client, server):
    client.beta.messages.create(model=SONNET, max_tokens=100, messages=USER)
    with client.beta.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
        text = "".join(stream.text_stream)
    assert text
    first, second = capture.of_kind(A.KIND_LLM)
    assert_usage(first, server.requests[-2]["usage"])
    assert second.name == f"chat {HAIKU}"
    assert_usage(second, server.requests[-1]["usage"])


def test_one_shot_iterables_are_left_to_the_sdk(capture, client, server):
    """Messages, content and tools given as generators reach the server whole."""
    content = ({"type": "text", "text": PROMPT} for _ in range(1))
    messages = (m for m in [{"role": "user", "content": content}])
    client.messages.create(
        model=SONNET, max_tokens=100, messages=messages, tools=(t for t in TOOLS)
    )
    body = server.requests[-1]["body"]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}]
    assert body["tools"] == TOOLS
    assert_ok(only_llm(capture), server)


# -- tools ------------------------------------------------------------------------------------
def test_tool_use_round_trip(capture, client, server):
    first = client.messages.create(model=SONNET, max_tokens=200, messages=USER, tools=TOOLS)
    tool_use = first.content[0]
    assert tool_use.type == "tool_use"
    history = [
        *USER,
        {"role": "assistant", "content": first.content},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny, 21C"}
            ],
        },
    ]
    second = client.messages.create(model=SONNET, max_tokens=200, messages=history, tools=TOOLS)
    call_span, answer_span = capture.of_kind(A.KIND_LLM)
    assert_usage(answer_span, server.requests[-1]["usage"])

    tool_call = {
        "type": "tool_call",
        "id": tool_use.id,
        "name": "get_weather",
        "arguments": {"city": "test"},
    }
    assert call_span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)
    assert output_parts(call_span) == [tool_call]
    assert json.loads(call_span.attributes[A.GEN_AI_OUTPUT_MESSAGES])[0]["finish_reason"] == (
        "tool_call"
    )
    definitions = json.loads(call_span.attributes[A.GEN_AI_TOOL_DEFINITIONS])
    assert definitions == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": TOOLS[0]["input_schema"],
        }
    ]

    inputs = json.loads(answer_span.attributes[A.GEN_AI_INPUT_MESSAGES])
    assert inputs[1] == {"role": "assistant", "parts": [tool_call]}
    assert inputs[2] == {
        "role": "user",
        "parts": [{"type": "tool_call_response", "id": tool_use.id, "response": "sunny, 21C"}],
    }
    assert output_parts(answer_span) == [{"type": "text", "content": second.content[0].text}]
    assert "sunny, 21C" in second.content[0].text


def test_streamed_tool_use_is_a_tool_call(capture, client, server):
    stream = client.messages.create(
        model=SONNET, max_tokens=200, messages=USER, tools=TOOLS, stream=True
    )
    tool_id = next(e.content_block.id for e in stream if e.type == "content_block_start")
    for _ in stream:
        pass
    span = only_llm(capture)
    assert_ok(span, server, stream=True)
    assert output_parts(span) == [
        {"type": "tool_call", "id": tool_id, "name": "get_weather", "arguments": {"city": "test"}}
    ]


# -- create(stream=True) --------------------------------------------------------------------
def test_stream_create_exhausted(capture, client, server):
    stream = client.messages.create(model=SONNET, max_tokens=100, messages=USER, stream=True)
    assert stream.__class__ is anthropic.Stream  # the proxy keeps the SDK's type
    text = "".join(e.delta.text for e in stream if e.type == "content_block_delta")
    span = only_llm(capture)
    assert_ok(span, server, stream=True)
    assert span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert output_parts(span) == [{"type": "text", "content": text}]


def test_stream_create_as_context_manager(capture, client, server):
    with client.messages.create(model=SONNET, max_tokens=100, messages=USER, stream=True) as stream:
        for _ in stream:
            pass
    assert_ok(only_llm(capture), server, stream=True)


def test_stream_create_closed_early(capture, client):
    stream = client.messages.create(model=SONNET, max_tokens=100, messages=USER, stream=True)
    assert next(stream).type == "message_start"
    assert capture.of_kind(A.KIND_LLM) == []
    stream.close()
    span = only_llm(capture)
    assert span.status.status_code != StatusCode.ERROR
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] > 0  # message_start's input counts
    assert A.STREAM_ABANDONED not in span.attributes


def test_stream_create_abandoned(capture, client):
    stream = client.messages.create(model=SONNET, max_tokens=100, messages=USER, stream=True)
    next(stream)
    del stream
    gc.collect()
    span = only_llm(capture)
    assert span.attributes[A.STREAM_ABANDONED] is True
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] > 0


async def test_async_stream_create(capture, aclient, server):
    stream = await aclient.messages.create(model=SONNET, max_tokens=100, messages=USER, stream=True)
    assert stream.__class__ is anthropic.AsyncStream
    async for _ in stream:
        pass
    assert_ok(only_llm(capture), server, stream=True)


async def test_async_stream_create_closed_early(capture, aclient):
    stream = await aclient.messages.create(model=SONNET, max_tokens=100, messages=USER, stream=True)
    await stream.__anext__()
    await stream.close()
    span = only_llm(capture)
    assert span.status.status_code != StatusCode.ERROR
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert A.STREAM_ABANDONED not in span.attributes


async def test_async_stream_create_abandoned(capture, aclient):
    stream = await aclient.messages.create(model=SONNET, max_tokens=100, messages=USER, stream=True)
    await stream.__anext__()
    del stream
    gc.collect()
    assert only_llm(capture).attributes[A.STREAM_ABANDONED] is True


# -- messages.stream() ----------------------------------------------------------------------
def test_stream_manager_text_stream(capture, client, server):
    sent = len(server.requests)
    manager = client.messages.stream(model=SONNET, max_tokens=100, messages=USER)
    assert capture.spans == [] and len(server.requests) == sent  # no request before enter
    with manager as stream:
        text = "".join(stream.text_stream)
        assert only_llm(capture)  # ended on exhaustion, before the with block closes
    span = only_llm(capture)
    assert_ok(span, server, stream=True)
    assert output_parts(span) == [{"type": "text", "content": text}]


def test_stream_manager_get_final_message(capture, client, server):
    with client.messages.stream(model=HAIKU, max_tokens=100, messages=USER, tools=TOOLS) as stream:
        final = stream.get_final_message()
    span = only_llm(capture)
    assert_ok(span, server, model=HAIKU, stream=True)
    assert final.usage.output_tokens == span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS]
    assert output_parts(span)[0]["arguments"] == final.content[0].input


def test_stream_manager_until_done_without_with(capture, client, server):
    stream = client.messages.stream(model=SONNET, max_tokens=100, messages=USER).__enter__()
    stream.until_done()
    assert_ok(only_llm(capture), server, stream=True)


def test_stream_manager_closed_early(capture, client):
    with client.messages.stream(model=SONNET, max_tokens=100, messages=USER) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    span = only_llm(capture)
    assert span.status.status_code != StatusCode.ERROR
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert A.STREAM_ABANDONED not in span.attributes


def test_stream_manager_abandoned(capture, client):
    stream = client.messages.stream(model=SONNET, max_tokens=100, messages=USER).__enter__()
    next(iter(stream))
    del stream
    gc.collect()
    span = only_llm(capture)
    assert span.attributes[A.STREAM_ABANDONED] is True
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] > 0


def test_stream_manager_user_error_in_body(capture, client):
    error = ValueError("the user's own")
    with pytest.raises(ValueError) as raised:
        with client.messages.stream(model=SONNET, max_tokens=100, messages=USER) as stream:
            next(iter(stream))
            raise error
    assert raised.value is error
    span = only_llm(capture)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == "ValueError"


async def test_async_stream_manager(capture, aclient, server):
    async with aclient.messages.stream(model=SONNET, max_tokens=100, messages=USER) as stream:
        text = "".join([t async for t in stream.text_stream])
    span = only_llm(capture)
    assert_ok(span, server, stream=True)
    assert output_parts(span) == [{"type": "text", "content": text}]

    capture.clear()
    async with aclient.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
        final = await stream.get_final_message()
    span = only_llm(capture)
    assert_ok(span, server, model=HAIKU, stream=True)
    assert output_parts(span)[0]["content"] == final.content[0].text


async def test_async_stream_manager_closed_early(capture, aclient):
    async with aclient.messages.stream(model=SONNET, max_tokens=100, messages=USER) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                break
    span = only_llm(capture)
    assert span.status.status_code != StatusCode.ERROR
    assert A.STREAM_ABANDONED not in span.attributes


# -- errors and bad input -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "error_class"),
    [("error-429", anthropic.RateLimitError), ("error-500", anthropic.InternalServerError)],
)
def test_http_errors_pass_through_unchanged(capture, server, model, error_class):
    client = RecordingClient(base_url=server.anthropic_base_url, api_key="k", max_retries=0)
    client.made = []
    calls = [
        lambda: client.messages.create(model=model, max_tokens=10, messages=USER),
        lambda: client.messages.create(model=model, max_tokens=10, messages=USER, stream=True),
        lambda: client.messages.stream(model=model, max_tokens=10, messages=USER).__enter__(),
    ]
    for call in calls:
        capture.clear()
        with pytest.raises(error_class) as raised:
            call()
        assert raised.value is client.made[-1]
        span = only_llm(capture)
        assert span.status.status_code == StatusCode.ERROR
        assert span.attributes[A.ERROR_TYPE] == error_class.__qualname__
        assert A.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert len(client.made) == 3


async def test_async_http_error_passes_through_unchanged(capture, server):
    client = AsyncRecordingClient(base_url=server.anthropic_base_url, api_key="k", max_retries=0)
    client.made = []
    with pytest.raises(anthropic.RateLimitError) as raised:
        await client.messages.create(model="error-429", max_tokens=10, messages=USER)
    assert raised.value is client.made[-1]
    with pytest.raises(anthropic.InternalServerError) as raised:
        async with client.messages.stream(model="error-500", max_tokens=10, messages=USER):
            pass
    assert raised.value is client.made[-1]
    spans = capture.of_kind(A.KIND_LLM)
    assert [s.attributes[A.ERROR_TYPE] for s in spans] == ["RateLimitError", "InternalServerError"]


def test_no_usage(capture, client):
    client.messages.create(model="no-usage", max_tokens=10, messages=USER)
    list(client.messages.create(model="no-usage", max_tokens=10, messages=USER, stream=True))
    for span in capture.of_kind(A.KIND_LLM):
        assert span.status.status_code != StatusCode.ERROR
        assert A.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
        assert A.COST_USD not in span.attributes
        assert span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert len(capture.of_kind(A.KIND_LLM)) == 2


FAULT_CALLS = {
    "create-stream": lambda c, m: list(
        c.messages.create(model=m, max_tokens=10, messages=USER, stream=True)
    ),
    "manager": lambda c, m: (
        c.messages.stream(model=m, max_tokens=10, messages=USER).__enter__().get_final_message()
    ),
    "manager-with": lambda c, m: _manager_text(c, m),
    "plain": lambda c, m: c.messages.create(model=m, max_tokens=10, messages=USER),
}


def _manager_text(client: Any, model: str) -> str:
    with client.messages.stream(model=model, max_tokens=10, messages=USER) as stream:
        return "".join(stream.text_stream)


@pytest.mark.parametrize("model", ["malformed-sse", "reset-mid-stream", "no-usage"])
@pytest.mark.parametrize("how", sorted(FAULT_CALLS))
def test_bad_input_behaves_as_the_sdk(capture, client, model, how):
    """The user sees exactly what the bare SDK does; a failure ends our span with an error."""
    call = FAULT_CALLS[how]
    with uninstrumented(capture):
        expected = outcome(lambda: call(client, model))
    capture.clear()
    got = outcome(lambda: call(client, model))
    gc.collect()
    assert got == expected
    span = only_llm(capture)
    if expected[0] == "ok":
        assert span.status.status_code != StatusCode.ERROR
    else:
        assert span.status.status_code == StatusCode.ERROR
        assert span.attributes[A.ERROR_TYPE] == expected[0].__qualname__


async def _async_outcome(fn: Any) -> tuple[Any, str]:
    try:
        return "ok", _masked(await fn())
    except Exception as exc:
        return type(exc), str(exc)


async def _async_create_stream(client: Any, model: str) -> Any:
    stream = await client.messages.create(model=model, max_tokens=10, messages=USER, stream=True)
    return [event async for event in stream]


async def _async_manager(client: Any, model: str) -> Any:
    async with client.messages.stream(model=model, max_tokens=10, messages=USER) as stream:
        return await stream.get_final_message()


@pytest.mark.parametrize("model", ["malformed-sse", "reset-mid-stream", "no-usage"])
@pytest.mark.parametrize("call", [_async_create_stream, _async_manager])
async def test_async_bad_input_behaves_as_the_sdk(capture, aclient, model, call):
    with uninstrumented(capture):
        expected = await _async_outcome(lambda: call(aclient, model))
    capture.clear()
    got = await _async_outcome(lambda: call(aclient, model))
    assert got == expected
    span = only_llm(capture)
    if expected[0] == "ok":
        assert span.status.status_code != StatusCode.ERROR
    else:
        assert span.status.status_code == StatusCode.ERROR
        assert span.attributes[A.ERROR_TYPE] == expected[0].__qualname__


# -- the SDK's own span ---------------------------------------------------------------------
_GLOBAL_PROVIDER_SCRIPT = textwrap.dedent("""
    import asyncio, json
    import anthropic
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from agentops_otel.processor import AgentOpsSpanProcessor
    from agentops_otel.testing.fake_llm import FakeLLMServer
    from agentops_anthropic import AnthropicInstrumentor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(AgentOpsSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    user = [{"role": "user", "content": "What is the weather like in Paris today, please?"}]
    model = "claude-sonnet-4-5"

    def scenario(server):
        client = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="k",
                                     max_retries=0)
        client.messages.create(model=model, max_tokens=50, messages=user)
        list(client.messages.create(model=model, max_tokens=50, messages=user, stream=True))
        with client.messages.stream(model=model, max_tokens=50, messages=user) as stream:
            stream.get_final_message()

        async def run_async():
            aclient = anthropic.AsyncAnthropic(base_url=server.anthropic_base_url,
                                               api_key="k", max_retries=0)
            await aclient.messages.create(model=model, max_tokens=50, messages=user)
        asyncio.run(run_async())
        client.messages.count_tokens(model=model, messages=user)

    result = {}
    with FakeLLMServer() as server:
        for mode in ("off", "on"):
            exporter.clear()
            sent = len(server.requests)
            if mode == "on":
                AnthropicInstrumentor().instrument()  # the global provider
            scenario(server)
            result[mode] = {
                "spans": [{"name": s.name, "span_id": format(s.context.span_id, "016x"),
                           "attributes": dict(s.attributes)}
                          for s in exporter.get_finished_spans()],
                "traceparents": [r["headers"].get("traceparent")
                                 for r in server.requests[sent:]],
            }
    print(json.dumps(result))
""")


@pytest.fixture(scope="module")
def global_provider_run() -> dict[str, Any]:
    """The same calls in a fresh process with an SDK provider as the global one: first without
    our instrumentor, then with it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    done = subprocess.run(
        [sys.executable, "-c", _GLOBAL_PROVIDER_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not SDK_HAS_SPANS, reason="the SDK emits spans of its own from 2.x")
def test_sdk_span_replaced_by_ours_on_the_global_provider(global_provider_run):
    result = global_provider_run["on"]
    chat = [s for s in result["spans"] if s["attributes"].get(A.GEN_AI_OPERATION_NAME) == "chat"]
    assert len(chat) == 4, [s["name"] for s in result["spans"]]
    assert all(s["attributes"].get(A.SPAN_KIND) == A.KIND_LLM for s in chat)
    assert all(s["attributes"].get(A.COST_USD, 0) > 0 for s in chat)
    assert all(s["attributes"].get(A.GEN_AI_USAGE_INPUT_TOKENS, 0) > 0 for s in chat)
    assert not [s for s in result["spans"] if s["name"] == "anthropic.messages.create"]
    # The SDK's other spans stay, and its traceparent header now names our span.
    assert [s["name"] for s in result["spans"]].count("anthropic.messages.count_tokens") == 1
    ours = {s["span_id"] for s in chat}
    assert {h.split("-")[2] for h in result["traceparents"][:4]} == ours


@pytest.mark.skipif(not SDK_HAS_SPANS, reason="the SDK emits spans of its own from 2.x")
def test_sdk_emits_its_own_span_when_we_are_not_installed(global_provider_run):
    """The control for the test above: the SDK's span is there to be replaced."""
    result = global_provider_run["off"]
    names = [s["name"] for s in result["spans"]]
    assert names.count("anthropic.messages.create") == 4
    assert not [s for s in result["spans"] if s["attributes"].get(A.SPAN_KIND) == A.KIND_LLM]


# -- uninstrument and chaining ----------------------------------------------------------------
_CLASSES = (Messages, AsyncMessages, BetaMessages, BetaAsyncMessages)
_METHODS = ("create", "parse", "stream")


def _originals() -> list[Any]:
    import anthropic._base_client as base

    return [c.__dict__.get(m) for c in _CLASSES for m in _METHODS] + [
        getattr(base, "start_api_call_span", None)
    ]


def test_uninstrument_restores_the_originals(server, client):
    before = _originals()
    cap = SpanCapture()
    AnthropicInstrumentor().instrument(tracer_provider=cap.provider)
    during = _originals()
    assert all(a is not b for a, b in zip(before, during, strict=True) if a is not None)
    AnthropicInstrumentor().uninstrument()
    assert all(a is b for a, b in zip(before, _originals(), strict=True))
    client.messages.create(model=SONNET, max_tokens=10, messages=USER)
    with client.messages.stream(model=SONNET, max_tokens=10, messages=USER) as stream:
        stream.get_final_message()
    assert cap.spans == []


def _counting(calls: list[str]) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        calls.append("theirs")
        return wrapped(*args, **kwargs)

    return wrapper


def test_chaining_theirs_over_ours(server, client):
    original = Messages.__dict__["create"]
    cap, calls = SpanCapture(), []
    AnthropicInstrumentor().instrument(tracer_provider=cap.provider)
    try:
        wrapt.wrap_function_wrapper(Messages, "create", _counting(calls))
        client.messages.create(model=SONNET, max_tokens=10, messages=USER)
        assert calls == ["theirs"] and len(cap.of_kind(A.KIND_LLM)) == 1
        AnthropicInstrumentor().uninstrument()
        client.messages.create(model=SONNET, max_tokens=10, messages=USER)
        assert calls == ["theirs", "theirs"] and len(cap.of_kind(A.KIND_LLM)) == 1
    finally:
        AnthropicInstrumentor().uninstrument()
        Messages.create = original


def test_chaining_ours_over_theirs(server, client):
    original = Messages.__dict__["create"]
    cap, calls = SpanCapture(), []
    wrapt.wrap_function_wrapper(Messages, "create", _counting(calls))
    theirs = Messages.__dict__["create"]
    try:
        AnthropicInstrumentor().instrument(tracer_provider=cap.provider)
        client.messages.create(model=SONNET, max_tokens=10, messages=USER)
        assert calls == ["theirs"] and len(cap.of_kind(A.KIND_LLM)) == 1
        AnthropicInstrumentor().uninstrument()
        assert Messages.__dict__["create"] is theirs
        client.messages.create(model=SONNET, max_tokens=10, messages=USER)
        assert calls == ["theirs", "theirs"] and len(cap.of_kind(A.KIND_LLM)) == 1
    finally:
        AnthropicInstrumentor().uninstrument()
        Messages.create = original


def test_nested_under_another_llm_span_is_counted_once(capture, client):
    """A framework's LLM span already current: the SDK call adds no second LLM span."""
    from agentops_otel.genai import start_llm_call

    outer = start_llm_call(
        capture.provider.get_tracer("framework"),
        operation="chat",
        provider="anthropic",
        model=SONNET,
    )
    with outer:
        client.messages.create(model=SONNET, max_tokens=10, messages=USER)
    outer.end()
    assert len(capture.of_kind(A.KIND_LLM)) == 1
