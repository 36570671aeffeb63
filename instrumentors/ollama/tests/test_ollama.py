"""The Ollama instrumentor against the real ``ollama`` client and the fake server's NDJSON API."""

from __future__ import annotations

import ollama
import pytest
from ollama._client import AsyncClient, Client
from opentelemetry.trace import StatusCode

from agentops_ollama import OllamaInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing import provider_runs as R

MODEL = "llama3.2"
USER, TOOLS = R.WEATHER_QUESTION, R.WEATHER_TOOLS


def _assert_local_cost(attrs):
    assert attrs[A.COST_USD] == 0.0 and attrs[A.COST_SOURCE] == "local"
    assert A.COST_UNKNOWN_MODEL not in attrs


def test_chat(client, server, capture):
    result = client.chat(
        MODEL,
        USER,
        options={"temperature": 0.3, "num_predict": 40, "top_k": 5, "seed": 3, "stop": ["END"]},
    )
    span = R.one_llm_span(capture)
    attrs = span.attributes
    assert span.name == f"chat {MODEL}"
    assert (attrs[A.GEN_AI_OPERATION_NAME], attrs[A.GEN_AI_PROVIDER_NAME]) == ("chat", "ollama")
    assert (attrs[A.SERVER_ADDRESS], attrs[A.SERVER_PORT]) == ("127.0.0.1", server.port)
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.3 and attrs[A.GEN_AI_REQUEST_TOP_K] == 5
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 40 and attrs[A.GEN_AI_REQUEST_SEED] == 3
    assert list(attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES]) == ["END"]
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == MODEL
    assert list(attrs[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]
    (entry,) = server.requests
    R.assert_usage(attrs, entry["usage"])
    _assert_local_cost(attrs)
    R.assert_question_recorded(span)
    assert R.span_json(span)[0]["parts"] == [{"type": "text", "content": result.message.content}]


async def test_async_chat_and_generate(aclient, server, capture):
    await aclient.chat(model=MODEL, messages=USER)
    result = await aclient.generate(MODEL, "Say hi", system="Be brief.")
    chat, generate = capture.of_kind(A.KIND_LLM)
    assert generate.name == f"text_completion {MODEL}"
    assert R.span_json(generate, A.GEN_AI_SYSTEM_INSTRUCTIONS) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert R.span_json(generate)[0]["parts"] == [{"type": "text", "content": result.response}]
    for span, entry in zip((chat, generate), server.requests, strict=True):
        R.assert_usage(span.attributes, entry["usage"])
        _assert_local_cost(span.attributes)


def test_embed(client, server, capture):
    result = client.embed(MODEL, ["first text", "second text"])
    span = R.one_llm_span(capture)
    assert span.name == f"embeddings {MODEL}"
    assert span.attributes[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(result.embeddings[0])
    R.assert_usage(span.attributes, server.requests[-1]["usage"])
    assert A.GEN_AI_INPUT_MESSAGES not in span.attributes


def test_tool_call_and_result(client, server, capture):
    def get_weather(city: str) -> str:
        """Weather in a city.

        Args:
          city: The city
        """
        return "sunny"

    first = client.chat(MODEL, USER, tools=[get_weather])
    call = first.message.tool_calls[0]
    followup = [
        *USER,
        first.message,
        {"role": "tool", "content": "sunny", "tool_name": call.function.name},
    ]
    second = client.chat(MODEL, followup, tools=TOOLS)
    assert second.message.content == "The tool returned: sunny"
    ask, answer = capture.of_kind(A.KIND_LLM)
    assert R.span_json(ask)[0]["parts"] == [
        {"type": "tool_call", "id": None, "name": "get_weather", "arguments": {"city": "test"}}
    ]
    assert R.span_json(ask, A.GEN_AI_TOOL_DEFINITIONS) == [
        {"type": "function", "function": {"name": "get_weather"}}
    ]
    history = R.span_json(answer, A.GEN_AI_INPUT_MESSAGES)
    assert history[1]["parts"][-1]["name"] == "get_weather"
    assert history[2]["role"] == "tool" and history[2]["parts"][0]["response"] == "sunny"
    for span, entry in zip((ask, answer), server.requests, strict=True):
        R.assert_usage(span.attributes, entry["usage"])


def test_content_off_records_no_messages(client, capture, no_content):
    client.chat(MODEL, USER, tools=TOOLS)
    list(client.generate(MODEL, "hello", stream=True))
    for span in capture.of_kind(A.KIND_LLM):
        for key in (A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES, A.GEN_AI_TOOL_DEFINITIONS):
            assert key not in span.attributes
        assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] > 0


def test_stream_chat(client, server, capture):
    text = "".join(part.message.content for part in client.chat(MODEL, USER, stream=True))
    span = R.assert_streamed_reply(capture, server, text)
    _assert_local_cost(span.attributes)


async def test_async_stream_generate_and_tools(aclient, server, capture):
    text = "".join([p.response async for p in await aclient.generate(MODEL, "hi", stream=True)])
    stream = await aclient.chat(MODEL, USER, tools=TOOLS, stream=True)
    async for _ in stream:
        pass
    generate, chat = capture.of_kind(A.KIND_LLM)
    assert R.span_json(generate)[0]["parts"] == [{"type": "text", "content": text}]
    assert R.span_json(chat)[0]["parts"][0]["name"] == "get_weather"
    for span, entry in zip((generate, chat), server.requests, strict=True):
        R.assert_usage(span.attributes, entry["usage"])


def test_early_close_ends_the_span_once(client, capture):
    R.check_early_close(capture, client.chat(MODEL, USER, stream=True))


async def test_async_early_close(aclient, capture):
    stream = await aclient.chat(MODEL, USER, stream=True)
    await stream.__anext__()
    await stream.aclose()
    assert R.one_llm_span(capture).status.status_code is StatusCode.UNSET


def test_abandoned_stream_ends_on_garbage_collection(client, capture):
    R.check_abandoned(capture, lambda: client.generate(MODEL, "hello there", stream=True))


@pytest.mark.parametrize("model", ["error-429", "error-500"])
def test_error_passes_the_same_exception_through(client, capture, model):
    with R.exceptions_below(OllamaInstrumentor(), capture.provider, Client, "chat") as seen:
        with pytest.raises(ollama.ResponseError) as info:
            client.chat(model, USER)
    assert seen == [info.value] and info.value.status_code == int(model[-3:])
    R.assert_error(R.one_llm_span(capture), info.value)


async def test_stream_error_status(aclient, capture):
    with pytest.raises(ollama.ResponseError) as info:
        async for _ in await aclient.chat("error-500", USER, stream=True):
            pass
    R.assert_error(R.one_llm_span(capture), info.value)


def test_response_without_usage(client, capture):
    client.chat("no-usage", USER)
    R.assert_no_usage(capture)


@pytest.mark.parametrize("model", ["malformed-sse", "reset-mid-stream"])
def test_broken_stream_records_the_sdk_error(client, capture, model):
    R.check_broken_stream(capture, client.chat(model, USER, stream=True))


def test_totals_equal_the_server_log(client, server, capture):
    with capture.session():
        client.chat(MODEL, USER)
        list(client.chat(MODEL, USER, stream=True))
        client.generate(MODEL, "hello")
        client.embed(MODEL, "some text")
    (session,) = capture.of_kind(A.KIND_SESSION)
    R.assert_session_totals(session.attributes, server, 4, priced=False)


def test_uninstrument_restores_the_client(server, capture):
    methods = [(cls, m) for cls in (Client, AsyncClient) for m in ("chat", "generate", "embed")]
    before = [cls.__dict__[m] for cls, m in methods] + [ollama.chat, ollama.embed]
    OllamaInstrumentor().instrument(tracer_provider=capture.provider)
    assert Client.__dict__["chat"] is not before[0] and ollama.chat is not before[-2]
    OllamaInstrumentor().uninstrument()
    assert [cls.__dict__[m] for cls, m in methods] + [ollama.chat, ollama.embed] == before
    ollama.Client(host=server.url).chat(MODEL, USER)
    assert capture.spans == []


_APP = f"""
import ollama
ollama.chat({MODEL!r}, {USER!r})  # the module-level function: the default client
client = ollama.Client()
list(client.chat({MODEL!r}, {USER!r}, stream=True))
client.embed({MODEL!r}, "some text")
"""


def test_init_instruments_ollama(server, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    R.check_init_run(_APP, server, module="ollama", scope="agentops_ollama", calls=3, priced=False)


def test_opentelemetry_instrument_traces_ollama(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    R.check_opentelemetry_instrument_run(_APP, server, tmp_path, calls=3, priced=False)
