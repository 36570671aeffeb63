"""The google-genai instrumentor against the real SDK and the project's fake server."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from google.genai.models import AsyncModels, Models
from opentelemetry.trace import SpanKind, StatusCode

from agentops_google_genai import GoogleGenAIInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing.instrumentor_checks import (
    check_chaining_theirs_over_ours,
    check_counted_once_when_nested,
    only_llm,
    output_parts,
)
from agentops_otel.testing.spans import SpanCapture

FLASH = "gemini-2.5-flash"  # a thinking model: the fake reports thoughts apart from candidates
FLASH_2 = "gemini-2.0-flash"
EMBED = "gemini-embedding-001"
PROMPT = "Please describe the weather in Paris for a walk along the Seine this afternoon."
# USD per million tokens: input, output, cache read (the bundled table's Gemini API prices).
RATES = {FLASH: (0.3, 2.5, 0.03), FLASH_2: (0.1, 0.4, 0.025)}
WEATHER_TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Current weather for a city",
            parameters=types.Schema(
                type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]
            ),
        )
    ]
)
HAS_RESPONSE_ID = "response_id" in types.GenerateContentResponse.model_fields
HAS_EMBED_USAGE = "usage_metadata" in types.EmbedContentResponse.model_fields


def assert_usage(span: Any, usage: dict[str, int]) -> None:
    attrs = span.attributes
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == usage["input_tokens"]
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage["output_tokens"]
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == usage["cache_read_tokens"]
    assert attrs.get(A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 0) == usage["reasoning_tokens"]
    assert attrs[A.COST_USD] > 0


def assert_ok(
    span: Any, server: Any, model: str = FLASH, provider: str = "gcp.gemini", stream: bool = False
) -> None:
    attrs = span.attributes
    assert span.name == f"generate_content {model}"
    assert span.kind == SpanKind.CLIENT
    assert span.status.status_code != StatusCode.ERROR
    assert attrs[A.GEN_AI_OPERATION_NAME] == "generate_content"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == provider
    assert attrs[A.GEN_AI_REQUEST_MODEL] == model
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == model
    assert attrs[A.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[A.SERVER_PORT] == server.port
    request = server.requests[-1]
    if HAS_RESPONSE_ID:
        assert attrs[A.GEN_AI_RESPONSE_ID] == request["response_id"]
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("STOP",)
    assert_usage(span, request["usage"])
    assert (A.GEN_AI_REQUEST_STREAM in attrs) is stream
    assert (A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attrs) is stream


def input_messages(span: Any) -> list[dict[str, Any]]:
    return json.loads(span.attributes[A.GEN_AI_INPUT_MESSAGES])


# -- plain calls -------------------------------------------------------------------------------
def test_generate_content_records_request_response_usage_and_content(capture, client, server):
    config = types.GenerateContentConfig(
        system_instruction="You are terse.",
        temperature=0.2,
        top_p=0.9,
        top_k=5,
        max_output_tokens=100,
        stop_sequences=["END"],
        seed=7,
    )
    response = client.models.generate_content(model=FLASH, contents=PROMPT, config=config)
    span = only_llm(capture)
    assert_ok(span, server)
    attrs = span.attributes
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attrs[A.GEN_AI_REQUEST_TOP_P] == 0.9
    assert attrs[A.GEN_AI_REQUEST_TOP_K] == 5
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 100
    assert attrs[A.GEN_AI_REQUEST_SEED] == 7
    assert attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert json.loads(attrs[A.GEN_AI_SYSTEM_INSTRUCTIONS]) == [
        {"type": "text", "content": "You are terse."}
    ]
    assert input_messages(span) == [
        {"role": "user", "parts": [{"type": "text", "content": PROMPT}]}
    ]
    assert output_parts(span) == [{"type": "text", "content": response.text}]
    assert json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES])[0]["finish_reason"] == "stop"
    assert server.requests[-1]["path"].endswith(f"/models/{FLASH}:generateContent")  # v1 or v1beta


@pytest.mark.parametrize("model", [FLASH, FLASH_2])
def test_usage_in_the_otel_convention_and_cost(capture, client, server, model):
    """Gemini counts thoughts apart from the candidates and cached tokens inside the prompt:
    output includes the thoughts, input includes the cache, each token is charged once."""
    response = client.models.generate_content(model=model, contents=PROMPT)
    span = only_llm(capture)
    usage = server.requests[-1]["usage"]
    wire = response.usage_metadata
    assert wire.prompt_token_count == usage["input_tokens"]
    assert wire.candidates_token_count + (usage["reasoning_tokens"]) == usage["output_tokens"]
    assert (usage["reasoning_tokens"] > 0) is (model == FLASH)
    assert usage["cache_read_tokens"] > 0
    assert_usage(span, usage)
    p_in, p_out, p_read = RATES[model]
    total, read, out = usage["input_tokens"], usage["cache_read_tokens"], usage["output_tokens"]
    expected = ((total - read) * p_in + read * p_read + out * p_out) / 1e6
    assert span.attributes[A.COST_USD] == pytest.approx(expected)


def test_content_off_records_no_content_but_usage(capture, client, server, no_content):
    config = types.GenerateContentConfig(system_instruction="Terse.", tools=[WEATHER_TOOL])
    client.models.generate_content(model=FLASH, contents=PROMPT, config=config)
    span = only_llm(capture)
    assert_usage(span, server.requests[-1]["usage"])
    for key in (
        A.GEN_AI_INPUT_MESSAGES,
        A.GEN_AI_OUTPUT_MESSAGES,
        A.GEN_AI_SYSTEM_INSTRUCTIONS,
        A.GEN_AI_TOOL_DEFINITIONS,
    ):
        assert key not in span.attributes


def test_vertex_ai_project_mode(capture, vertex, server):
    vertex.models.generate_content(model=FLASH_2, contents=PROMPT)
    assert_ok(only_llm(capture), server, FLASH_2, provider="gcp.vertex_ai")
    request = server.requests[-1]
    assert request["path"] == (
        "/v1beta1/projects/test-project/locations/us-central1/"
        f"publishers/google/models/{FLASH_2}:generateContent"
    )
    assert request["headers"]["authorization"] == "Bearer test-token"


def test_vertex_ai_express_mode(capture, server):
    express = genai.Client(vertexai=True, api_key="test-key", http_options={"base_url": server.url})
    express.models.generate_content(model=f"publishers/google/models/{FLASH_2}", contents=PROMPT)
    assert_ok(only_llm(capture), server, FLASH_2, provider="gcp.vertex_ai")
    assert "/publishers/google/models/" in server.requests[-1]["path"]


def test_models_prefix_is_not_part_of_the_model(capture, client, server):
    client.models.generate_content(model=f"models/{FLASH}", contents=PROMPT)
    assert_ok(only_llm(capture), server)


async def test_async_generate_content(capture, client, server):
    response = await client.aio.models.generate_content(model=FLASH, contents=PROMPT)
    span = only_llm(capture)
    assert_ok(span, server)
    assert output_parts(span)[0]["content"] == response.text


def test_count_tokens_is_left_alone(capture, client, server):
    with pytest.raises(errors.ClientError):  # the fake has no countTokens: a 404, and no span
        client.models.count_tokens(model=FLASH, contents=PROMPT)
    assert capture.of_kind(A.KIND_LLM) == []


# -- tools ----------------------------------------------------------------------------------------
def test_function_call_and_result(capture, client, server):
    config = types.GenerateContentConfig(tools=[WEATHER_TOOL])
    first = client.models.generate_content(model=FLASH_2, contents=PROMPT, config=config)
    call = first.function_calls[0]
    assert call.name == "get_weather" and call.args == {"city": "test"}
    contents = [
        types.Content(role="user", parts=[types.Part(text=PROMPT)]),
        first.candidates[0].content,
        types.Content(
            role="user",
            parts=[
                types.Part.from_function_response(name="get_weather", response={"result": "sunny"})
            ],
        ),
    ]
    second = client.models.generate_content(model=FLASH_2, contents=contents, config=config)
    assert "sunny" in second.text
    spans = capture.of_kind(A.KIND_LLM)
    assert len(spans) == 2
    definitions = json.loads(spans[0].attributes[A.GEN_AI_TOOL_DEFINITIONS])
    assert definitions[0]["name"] == "get_weather" and definitions[0]["type"] == "function"
    assert definitions[0]["parameters"]["properties"]["city"]["type"] == "STRING"
    messages = json.loads(spans[0].attributes[A.GEN_AI_OUTPUT_MESSAGES])
    assert messages[0]["finish_reason"] == "tool_call"
    assert messages[0]["parts"] == [
        {"type": "tool_call", "id": None, "name": "get_weather", "arguments": {"city": "test"}}
    ]
    history = input_messages(spans[1])
    assert [m["role"] for m in history] == ["user", "assistant", "tool"]
    assert history[1]["parts"][0]["type"] == "tool_call"
    assert history[2]["parts"] == [
        {"type": "tool_call_response", "id": "get_weather", "response": {"result": "sunny"}}
    ]
    for span, request in zip(spans, server.requests[-2:], strict=True):
        assert_usage(span, request["usage"])


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


get_weather.__annotations__ = {"city": str, "return": str}  # old SDKs read real types only


def test_automatic_function_calling_is_one_span_per_request(capture, client, server):
    server.clear()
    config = types.GenerateContentConfig(tools=[get_weather])
    response = client.models.generate_content(model=FLASH, contents=PROMPT, config=config)
    assert "sunny in test" in response.text
    spans = capture.of_kind(A.KIND_LLM)
    assert len(spans) == len(server.requests) == 2
    for span, request in zip(spans, server.requests, strict=True):
        assert_usage(span, request["usage"])
    assert json.loads(spans[0].attributes[A.GEN_AI_TOOL_DEFINITIONS]) == [
        {"type": "function", "name": "get_weather", "description": "Current weather for a city."}
    ]


def test_chat_turns(capture, client, server):
    server.clear()
    chat = client.chats.create(model=FLASH)
    chat.send_message(PROMPT)
    chat.send_message("And tomorrow?")
    spans = capture.of_kind(A.KIND_LLM)
    assert len(spans) == len(server.requests) == 2
    assert [m["role"] for m in input_messages(spans[1])] == ["user", "assistant", "user"]
    for span, request in zip(spans, server.requests, strict=True):
        assert_usage(span, request["usage"])


async def test_async_chat_stream(capture, client, server):
    chat = client.aio.chats.create(model=FLASH)
    text = "".join([chunk.text async for chunk in await chat.send_message_stream(PROMPT)])
    span = only_llm(capture)
    assert_ok(span, server, stream=True)
    assert output_parts(span) == [{"type": "text", "content": text}]


# -- streams --------------------------------------------------------------------------------------
def test_stream_exhausted(capture, client, server):
    chunks = list(client.models.generate_content_stream(model=FLASH, contents=PROMPT))
    assert len(chunks) > 3
    span = only_llm(capture)
    assert_ok(span, server, stream=True)
    assert output_parts(span) == [{"type": "text", "content": "".join(c.text for c in chunks)}]


def test_streamed_function_call(capture, client, server):
    config = types.GenerateContentConfig(tools=[WEATHER_TOOL])
    list(client.models.generate_content_stream(model=FLASH_2, contents=PROMPT, config=config))
    span = only_llm(capture)
    assert output_parts(span)[0]["type"] == "tool_call"
    assert_usage(span, server.requests[-1]["usage"])


def test_stream_closed_early(capture, client):
    stream = client.models.generate_content_stream(model=FLASH, contents=PROMPT)
    next(stream)
    assert capture.of_kind(A.KIND_LLM) == []  # still open
    stream.close()
    gc.collect()
    span = only_llm(capture)
    assert span.status.status_code != StatusCode.ERROR
    assert A.GEN_AI_USAGE_OUTPUT_TOKENS not in span.attributes  # usage comes on the last chunk


def test_stream_abandoned(capture, client):
    stream = client.models.generate_content_stream(model=FLASH, contents=PROMPT)
    next(stream)
    del stream
    gc.collect()
    span = only_llm(capture)
    assert span.attributes[A.STREAM_ABANDONED] is True


async def test_async_stream(capture, client, server):
    stream = await client.aio.models.generate_content_stream(model=FLASH, contents=PROMPT)
    chunks = [chunk async for chunk in stream]
    span = only_llm(capture)
    assert_ok(span, server, stream=True)
    assert output_parts(span) == [{"type": "text", "content": "".join(c.text for c in chunks)}]


async def test_async_stream_closed_early(capture, client):
    stream = await client.aio.models.generate_content_stream(model=FLASH, contents=PROMPT)
    async for _ in stream:
        break
    await stream.aclose()
    gc.collect()
    for _ in range(3):  # the event loop closes the SDK's inner async generators
        await asyncio.sleep(0)
    span = only_llm(capture)
    assert span.status.status_code != StatusCode.ERROR


# -- embeddings -----------------------------------------------------------------------------------
def test_embed_content(capture, client, server):
    response = client.models.embed_content(model=EMBED, contents=["first text", "second one"])
    assert len(response.embeddings) == 2
    span = only_llm(capture)
    assert span.name == f"embeddings {EMBED}"
    assert span.attributes[A.GEN_AI_OPERATION_NAME] == "embeddings"
    assert A.GEN_AI_INPUT_MESSAGES not in span.attributes
    if HAS_EMBED_USAGE:  # older SDKs drop the Gemini API's usage for embeddings
        assert (
            span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS]
            == (server.requests[-1]["usage"]["input_tokens"])
        )
        assert span.attributes[A.COST_USD] > 0


async def test_async_vertex_predict_embeddings(capture, vertex, server):
    config = types.EmbedContentConfig(output_dimensionality=8)
    await vertex.aio.models.embed_content(
        model="text-embedding-005", contents=["a b c d e f"], config=config
    )
    span = only_llm(capture)
    assert server.requests[-1]["path"].endswith("text-embedding-005:predict")
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "gcp.vertex_ai"
    assert span.attributes[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 8
    assert (
        span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS]
        == (server.requests[-1]["usage"]["input_tokens"])
    )


# -- errors ---------------------------------------------------------------------------------------
@pytest.fixture
def made_errors(monkeypatch) -> list[BaseException]:
    """Every APIError the SDK makes, to check the caller gets that very object."""
    made: list[BaseException] = []
    original = errors.APIError.__init__

    def record(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(errors.APIError, "__init__", record)
    return made


@pytest.mark.parametrize(
    ("model", "error_class"),
    [("gemini-error-429", errors.ClientError), ("gemini-error-500", errors.ServerError)],
)
def test_http_errors_pass_through_unchanged(capture, client, made_errors, model, error_class):
    with pytest.raises(error_class) as caught:
        client.models.generate_content(model=model, contents=PROMPT)
    assert caught.value is made_errors[-1]
    span = only_llm(capture)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == error_class.__qualname__
    assert A.COST_USD not in span.attributes


async def test_async_stream_error_passes_through_unchanged(capture, client, made_errors):
    with pytest.raises(errors.ClientError) as caught:
        stream = await client.aio.models.generate_content_stream(
            model="gemini-error-429", contents=PROMPT
        )
        async for _ in stream:  # newer SDKs send the request on the first iteration
            pass
    assert caught.value is made_errors[-1]
    assert only_llm(capture).status.status_code == StatusCode.ERROR


def _outcome(fn: Any) -> tuple[Any, str]:
    try:
        return "ok", repr([c.text for c in fn()])
    except Exception as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize(
    "model", ["gemini-error-429", "gemini-malformed-sse", "gemini-reset-mid-stream"]
)
def test_stream_faults_behave_as_the_sdk(capture, client, model):
    def run() -> Any:
        return list(client.models.generate_content_stream(model=model, contents=PROMPT))

    GoogleGenAIInstrumentor().uninstrument()
    expected = _outcome(run)
    GoogleGenAIInstrumentor().instrument(tracer_provider=capture.provider)
    assert _outcome(run) == expected
    assert expected[0] != "ok"
    span = only_llm(capture)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == expected[0].__qualname__


def test_no_usage(capture, client):
    client.models.generate_content(model="gemini-2.5-flash-no-usage", contents=PROMPT)
    span = only_llm(capture)
    assert span.status.status_code != StatusCode.ERROR
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert A.COST_USD not in span.attributes


# -- uninstrument, chaining, nesting --------------------------------------------------------------
_TARGETS = [
    (Models, "_generate_content"),
    (Models, "_generate_content_stream"),
    (Models, "embed_content"),
    (AsyncModels, "_generate_content"),
    (AsyncModels, "_generate_content_stream"),
    (AsyncModels, "embed_content"),
]


def _originals() -> list[Any]:
    return [cls.__dict__[name] for cls, name in _TARGETS]


def test_uninstrument_restores_the_originals(server, client):
    before = _originals()
    cap = SpanCapture()
    GoogleGenAIInstrumentor().instrument(tracer_provider=cap.provider)
    assert all(a is not b for a, b in zip(before, _originals(), strict=True))
    GoogleGenAIInstrumentor().uninstrument()
    assert all(a is b for a, b in zip(before, _originals(), strict=True))
    client.models.generate_content(model=FLASH, contents=PROMPT)
    list(client.models.generate_content_stream(model=FLASH, contents=PROMPT))
    assert cap.spans == []


def test_chaining_theirs_over_ours(server, client):
    check_chaining_theirs_over_ours(
        GoogleGenAIInstrumentor(),
        Models,
        "_generate_content",
        lambda: client.models.generate_content(model=FLASH, contents=PROMPT),
    )


def test_nested_under_another_llm_span_is_counted_once(capture, client):
    check_counted_once_when_nested(
        capture, lambda: client.models.generate_content(model=FLASH, contents=PROMPT)
    )
