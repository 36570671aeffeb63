"""The Mistral instrumentor against the real ``mistralai`` SDK and the fake server's Mistral
route (``server.mistral_base_url``)."""

from __future__ import annotations

import inspect

import pytest
from opentelemetry.trace import StatusCode

from agentops_mistral import MistralInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing import provider_runs as R

try:  # mistralai 2.x and later
    from mistralai.client.chat import Chat
    from mistralai.client.embeddings import Embeddings
except ImportError:  # 1.x
    from mistralai.chat import Chat
    from mistralai.embeddings import Embeddings

MODEL = "mistral-small-latest"
USER, TOOLS = R.WEATHER_QUESTION, R.WEATHER_TOOLS


def test_complete(client, server, capture):
    result = client.chat.complete(
        model=MODEL, messages=USER, temperature=0.2, max_tokens=50, random_seed=7, stop=["END"]
    )
    span = R.one_llm_span(capture)
    attrs = span.attributes
    assert span.name == f"chat {MODEL}"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "mistral_ai"
    assert (attrs[A.SERVER_ADDRESS], attrs[A.SERVER_PORT]) == ("127.0.0.1", server.port)
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2 and attrs[A.GEN_AI_REQUEST_SEED] == 7
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 50 and attrs[A.GEN_AI_REQUEST_STREAM] is False
    assert list(attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES]) == ["END"]
    assert attrs[A.GEN_AI_RESPONSE_ID] == result.id
    assert list(attrs[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]
    (entry,) = server.requests
    R.assert_usage(attrs, entry["usage"])
    assert attrs[A.COST_USD] > 0 and attrs[A.COST_SOURCE].startswith("agentops-otel/")
    R.assert_question_recorded(span)
    assert R.span_json(span)[0]["parts"] == [
        {"type": "text", "content": result.choices[0].message.content}
    ]


async def test_complete_async(client, server, capture):
    await client.chat.complete_async(model=MODEL, messages=USER)
    span = R.one_llm_span(capture)
    R.assert_usage(span.attributes, server.requests[-1]["usage"])
    assert span.attributes[A.COST_USD] > 0


def test_embeddings(client, server, capture):
    result = client.embeddings.create(model="mistral-embed", inputs=["one text", "another"])
    span = R.one_llm_span(capture)
    assert span.name == "embeddings mistral-embed"
    assert span.attributes[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(result.data[0].embedding)
    R.assert_usage(span.attributes, server.requests[-1]["usage"])
    assert span.attributes[A.COST_USD] > 0


async def test_embeddings_async(client, server, capture):
    await client.embeddings.create_async(model="mistral-embed", inputs="one text")
    R.assert_usage(R.one_llm_span(capture).attributes, server.requests[-1]["usage"])


def test_tool_call_and_result(client, server, capture):
    first = client.chat.complete(model=MODEL, messages=USER, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    followup = [
        *USER,
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "name": "get_weather", "content": "sunny"},
    ]
    second = client.chat.complete(model=MODEL, messages=followup, tools=TOOLS)
    assert second.choices[0].message.content == "The tool returned: sunny"
    ask, answer = capture.of_kind(A.KIND_LLM)
    assert list(ask.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["tool_calls"]
    assert R.span_json(ask)[0]["parts"][-1] == {
        "type": "tool_call",
        "id": call.id,
        "name": "get_weather",
        "arguments": {"city": "test"},
    }
    R.assert_tool_round_trip(ask, answer, call.id, server)


def test_content_off_records_no_messages(client, capture, no_content):
    client.chat.complete(model=MODEL, messages=USER, tools=TOOLS)
    attrs = R.one_llm_span(capture).attributes
    for key in (A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES, A.GEN_AI_TOOL_DEFINITIONS):
        assert key not in attrs
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] > 0


def test_stream(client, server, capture):
    text = "".join(
        event.data.choices[0].delta.content or ""
        for event in client.chat.stream(model=MODEL, messages=USER)
    )
    span = R.assert_streamed_reply(capture, server, text)
    assert span.attributes[A.COST_USD] > 0


async def test_stream_async_with_tools(client, server, capture):
    stream = await client.chat.stream_async(model=MODEL, messages=USER, tools=TOOLS)
    async for _ in stream:
        pass
    span = R.one_llm_span(capture)
    assert list(span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["tool_calls"]
    assert R.span_json(span)[0]["parts"][-1]["name"] == "get_weather"
    R.assert_usage(span.attributes, server.requests[-1]["usage"])


def test_early_close_ends_the_span_once(client, capture):
    R.check_early_close(capture, client.chat.stream(model=MODEL, messages=USER))


async def test_async_early_close(client, capture):
    stream = await client.chat.stream_async(model=MODEL, messages=USER)
    await stream.__anext__()
    # 1.x hands out an async generator (aclose), later releases an EventStreamAsync (close)
    await (stream.aclose() if inspect.isasyncgen(stream.__wrapped__) else stream.close())
    span = R.one_llm_span(capture)
    assert span.status.status_code is StatusCode.UNSET and A.STREAM_ABANDONED not in span.attributes


def test_abandoned_stream_ends_on_garbage_collection(client, capture):
    R.check_abandoned(capture, lambda: client.chat.stream(model=MODEL, messages=USER))


@pytest.mark.parametrize("model", ["error-429", "error-500"])
def test_error_passes_the_same_exception_through(client, capture, model):
    with R.exceptions_below(MistralInstrumentor(), capture.provider, Chat, "complete") as seen:
        with pytest.raises(Exception) as info:
            client.chat.complete(model=model, messages=USER)
    assert type(info.value).__name__ == "SDKError" and seen == [info.value]
    R.assert_error(R.one_llm_span(capture), info.value)


async def test_async_stream_error(client, capture):
    with pytest.raises(Exception) as info:
        await client.chat.stream_async(model="error-429", messages=USER)
    assert type(info.value).__name__ == "SDKError"
    R.assert_error(R.one_llm_span(capture), info.value)


def test_stream_without_usage(client, capture):
    list(client.chat.stream(model="no-usage", messages=USER))
    R.assert_no_usage(capture)


@pytest.mark.parametrize("model", ["malformed-sse", "reset-mid-stream"])
def test_broken_stream_records_the_sdk_error(client, capture, model):
    R.check_broken_stream(capture, client.chat.stream(model=model, messages=USER))


def test_totals_equal_the_server_log(client, server, capture):
    with capture.session():
        client.chat.complete(model=MODEL, messages=USER)
        list(client.chat.stream(model=MODEL, messages=USER))
        client.embeddings.create(model="mistral-embed", inputs=["text"])
    (session,) = capture.of_kind(A.KIND_SESSION)
    R.assert_session_totals(session.attributes, server, 3)


def test_uninstrument_restores_the_sdk(client, server, capture):
    methods = [(Chat, m) for m in ("complete", "complete_async", "stream", "stream_async")]
    methods += [(Embeddings, "create"), (Embeddings, "create_async")]
    during = [cls.__dict__[m] for cls, m in methods]
    MistralInstrumentor().uninstrument()
    after = [cls.__dict__[m] for cls, m in methods]
    assert all(a is not b for a, b in zip(during, after, strict=True))
    assert all(not hasattr(f, "__wrapped__") for f in after)
    client.chat.complete(model=MODEL, messages=USER)
    assert capture.spans == []


_APP = f"""
try:
    from mistralai.client import Mistral
except ImportError:
    from mistralai import Mistral
client = Mistral(api_key="mistral-test", server_url=URL)
client.chat.complete(model={MODEL!r}, messages={USER!r})
list(client.chat.stream(model={MODEL!r}, messages={USER!r}))
"""


def _app(server):
    return _APP.replace("URL", repr(server.mistral_base_url))


def test_init_instruments_mistral(server):
    R.check_init_run(_app(server), server, module="mistralai", scope="agentops_mistral", calls=2)


def test_opentelemetry_instrument_traces_mistral(server, tmp_path):
    R.check_opentelemetry_instrument_run(_app(server), server, tmp_path, calls=2)
