"""The Groq instrumentor against the real ``groq`` SDK and the fake server's Groq route."""

from __future__ import annotations

import groq
import pytest
from groq.resources.chat.completions import AsyncCompletions, Completions
from opentelemetry.trace import StatusCode

from agentops_groq import GroqInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing import provider_runs as R

MODEL = "llama-3.3-70b-versatile"
USER, TOOLS = R.WEATHER_QUESTION, R.WEATHER_TOOLS


def test_chat(client, server, capture):
    result = client.chat.completions.create(
        model=MODEL, messages=USER, temperature=0.2, max_tokens=50, stop=["END"], seed=7
    )
    span = R.one_llm_span(capture)
    attrs = span.attributes
    assert span.name == f"chat {MODEL}"
    assert (attrs[A.GEN_AI_OPERATION_NAME], attrs[A.GEN_AI_PROVIDER_NAME]) == ("chat", "groq")
    assert (attrs[A.SERVER_ADDRESS], attrs[A.SERVER_PORT]) == ("127.0.0.1", server.port)
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 50 and attrs[A.GEN_AI_REQUEST_SEED] == 7
    assert list(attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES]) == ["END"]
    assert attrs[A.GEN_AI_RESPONSE_ID] == result.id
    assert list(attrs[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]
    (entry,) = server.requests
    R.assert_usage(attrs, entry["usage"])
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] > 0  # Groq reports cached tokens
    assert attrs[A.COST_USD] > 0 and attrs[A.COST_SOURCE].startswith("agentops-otel/")
    assert R.span_json(span, A.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": USER[0]["content"]}]}
    ]
    assert R.span_json(span)[0]["parts"] == [
        {"type": "text", "content": result.choices[0].message.content}
    ]


def test_with_raw_response(client, server, capture):
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=USER)
    completion = raw.parse()
    span = R.one_llm_span(capture)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == completion.id
    R.assert_usage(span.attributes, server.requests[-1]["usage"])


async def test_async_chat(aclient, server, capture):
    await aclient.chat.completions.create(model=MODEL, messages=USER)
    span = R.one_llm_span(capture)
    R.assert_usage(span.attributes, server.requests[-1]["usage"])
    assert span.attributes[A.COST_USD] > 0


def test_content_off_records_no_messages(client, capture, no_content):
    client.chat.completions.create(model=MODEL, messages=USER, tools=TOOLS)
    attrs = R.one_llm_span(capture).attributes
    for key in (A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES, A.GEN_AI_TOOL_DEFINITIONS):
        assert key not in attrs
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] > 0


def test_tool_call_and_result(client, server, capture):
    first = client.chat.completions.create(model=MODEL, messages=USER, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    followup = [
        *USER,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = client.chat.completions.create(model=MODEL, messages=followup, tools=TOOLS)
    assert second.choices[0].message.content == "The tool returned: sunny"
    ask, answer = capture.of_kind(A.KIND_LLM)
    assert list(ask.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["tool_calls"]
    assert R.span_json(ask)[0]["parts"] == [
        {"type": "tool_call", "id": call.id, "name": "get_weather", "arguments": {"city": "test"}}
    ]
    R.assert_tool_round_trip(ask, answer, call.id, server)


def test_stream_usage_from_x_groq(client, server, capture):
    stream = client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    span = R.assert_streamed_reply(capture, server, text)
    assert "stream_options" not in server.requests[-1]["body"]
    assert span.attributes[A.COST_USD] > 0


async def test_async_stream_with_tools(aclient, server, capture):
    stream = await aclient.chat.completions.create(
        model=MODEL, messages=USER, tools=TOOLS, stream=True
    )
    async for _ in stream:
        pass
    span = R.one_llm_span(capture)
    assert list(span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["tool_calls"]
    assert R.span_json(span)[0]["parts"][0]["name"] == "get_weather"
    R.assert_usage(span.attributes, server.requests[-1]["usage"])


def test_early_close_ends_the_span_once(client, capture):
    R.check_early_close(
        capture, client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    )


def test_with_block_exit_ends_the_span(client, capture):
    with client.chat.completions.create(model=MODEL, messages=USER, stream=True) as stream:
        next(iter(stream))
    assert R.one_llm_span(capture).status.status_code is StatusCode.UNSET


def test_abandoned_stream_ends_on_garbage_collection(client, capture):
    R.check_abandoned(
        capture, lambda: client.chat.completions.create(model=MODEL, messages=USER, stream=True)
    )


@pytest.mark.parametrize(
    "model,error", [("error-429", groq.RateLimitError), ("error-500", groq.InternalServerError)]
)
def test_error_passes_the_same_exception_through(client, capture, model, error):
    with R.exceptions_below(GroqInstrumentor(), capture.provider, Completions, "create") as seen:
        with pytest.raises(error) as info:
            client.chat.completions.create(model=model, messages=USER)
    assert seen == [info.value] and seen[0] is info.value
    R.assert_error(R.one_llm_span(capture), info.value)


async def test_async_error(aclient, capture):
    with pytest.raises(groq.RateLimitError) as info:
        await aclient.chat.completions.create(model="error-429", messages=USER)
    R.assert_error(R.one_llm_span(capture), info.value)


def test_response_without_usage(client, capture):
    result = client.chat.completions.create(model="no-usage", messages=USER)
    assert result.usage is None
    R.assert_no_usage(capture)


@pytest.mark.parametrize("model", ["malformed-sse", "reset-mid-stream"])
def test_broken_stream_records_the_sdk_error(client, capture, model):
    R.check_broken_stream(
        capture, client.chat.completions.create(model=model, messages=USER, stream=True)
    )


def test_totals_equal_the_server_log(client, server, capture):
    with capture.session():
        client.chat.completions.create(model=MODEL, messages=USER)
        list(client.chat.completions.create(model=MODEL, messages=USER, stream=True))
        client.chat.completions.create(model=MODEL, messages=USER, tools=TOOLS)
    (session,) = capture.of_kind(A.KIND_SESSION)
    R.assert_session_totals(session.attributes, server, 3)


def test_uninstrument_restores_the_sdk(server, capture):
    before = (Completions.__dict__["create"], AsyncCompletions.__dict__["create"])
    GroqInstrumentor().instrument(tracer_provider=capture.provider)
    assert Completions.__dict__["create"] is not before[0]
    GroqInstrumentor().uninstrument()
    assert (Completions.__dict__["create"], AsyncCompletions.__dict__["create"]) == before
    groq.Groq(base_url=server.url, api_key="k").chat.completions.create(model=MODEL, messages=USER)
    assert capture.spans == []


_APP = f"""
import groq
client = groq.Groq(base_url=URL, api_key="gsk-test", max_retries=0)
client.chat.completions.create(model={MODEL!r}, messages={USER!r})
list(client.chat.completions.create(model={MODEL!r}, messages={USER!r}, stream=True))
"""


def test_init_instruments_groq(server):
    R.check_init_run(
        _APP.replace("URL", repr(server.url)), server, module="groq", scope="agentops_groq", calls=2
    )


def test_opentelemetry_instrument_traces_groq(server, tmp_path):
    R.check_opentelemetry_instrument_run(
        _APP.replace("URL", repr(server.url)), server, tmp_path, calls=2
    )
