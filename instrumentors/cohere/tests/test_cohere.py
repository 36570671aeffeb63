"""The Cohere instrumentor against the real ``cohere`` SDK's v2 client and the fake server's
Cohere v2 routes (``/v2/chat`` with SSE, ``/v2/embed``, ``/v2/rerank``)."""

from __future__ import annotations

import contextlib

import cohere
import pytest
from cohere.v2.client import AsyncV2Client, V2Client
from opentelemetry.trace import StatusCode

from agentops_cohere import CohereInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing import _cohere
from agentops_otel.testing import provider_runs as R

MODEL = "command-a-03-2025"
USER, TOOLS = R.WEATHER_QUESTION, R.WEATHER_TOOLS


def test_chat(client, server, capture):
    result = client.chat(
        model=MODEL,
        messages=USER,
        temperature=0.2,
        p=0.9,
        k=5,
        max_tokens=50,
        seed=7,
        stop_sequences=["END"],
    )
    span = R.one_llm_span(capture)
    attrs = span.attributes
    assert span.name == f"chat {MODEL}"
    assert (attrs[A.GEN_AI_OPERATION_NAME], attrs[A.GEN_AI_PROVIDER_NAME]) == ("chat", "cohere")
    assert (attrs[A.SERVER_ADDRESS], attrs[A.SERVER_PORT]) == ("127.0.0.1", server.port)
    assert (attrs[A.GEN_AI_REQUEST_TOP_P], attrs[A.GEN_AI_REQUEST_TOP_K]) == (0.9, 5)
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 50 and attrs[A.GEN_AI_REQUEST_SEED] == 7
    assert list(attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES]) == ["END"]
    assert attrs[A.GEN_AI_RESPONSE_ID] == result.id
    assert list(attrs[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["COMPLETE"]
    (entry,) = server.requests
    R.assert_usage(attrs, entry["usage"])  # billed units, not the template-inflated tokens
    assert result.usage.tokens.input_tokens == entry["usage"]["input_tokens"] + (
        _cohere.TEMPLATE_TOKENS
    )
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] > 0
    assert attrs[A.COST_USD] > 0 and attrs[A.COST_SOURCE].startswith("agentops-otel/")
    R.assert_question_recorded(span)
    assert R.span_json(span) == [
        {
            "role": "assistant",
            "finish_reason": "stop",
            "parts": [{"type": "text", "content": result.message.content[0].text}],
        }
    ]


async def test_async_chat(aclient, server, capture):
    await aclient.chat(model=MODEL, messages=USER)
    span = R.one_llm_span(capture)
    R.assert_usage(span.attributes, server.requests[-1]["usage"])
    assert span.attributes[A.COST_USD] > 0


def test_tool_call_and_result(client, server, capture):
    first = client.chat(model=MODEL, messages=USER, tools=TOOLS)
    call = first.message.tool_calls[0]
    followup = [
        *USER,
        {"role": "assistant", "tool_plan": first.message.tool_plan, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = client.chat(model=MODEL, messages=followup, tools=TOOLS)
    assert second.message.content[0].text == "The tool returned: sunny"
    ask, answer = capture.of_kind(A.KIND_LLM)
    assert list(ask.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["TOOL_CALL"]
    assert R.span_json(ask) == [
        {
            "role": "assistant",
            "finish_reason": "tool_call",
            "parts": [
                {"type": "reasoning", "content": first.message.tool_plan},
                {
                    "type": "tool_call",
                    "id": call.id,
                    "name": "get_weather",
                    "arguments": {"city": "test"},
                },
            ],
        }
    ]
    R.assert_tool_round_trip(ask, answer, call.id, server)


def test_content_off_records_no_messages(client, capture, no_content):
    client.chat(model=MODEL, messages=USER, tools=TOOLS)
    list(client.chat_stream(model=MODEL, messages=USER))
    for span in capture.of_kind(A.KIND_LLM):
        for key in (A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES, A.GEN_AI_TOOL_DEFINITIONS):
            assert key not in span.attributes
        assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] > 0


def test_chat_stream(client, server, capture):
    events = list(client.chat_stream(model=MODEL, messages=USER))
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    span = R.assert_streamed_reply(capture, server, text)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == events[0].id
    assert span.attributes[A.COST_USD] > 0


async def test_async_chat_stream_with_tools(aclient, server, capture):
    async for _ in aclient.chat_stream(model=MODEL, messages=USER, tools=TOOLS):
        pass
    span = R.one_llm_span(capture)
    assert list(span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ["TOOL_CALL"]
    parts = R.span_json(span)[0]["parts"]
    assert parts[0]["type"] == "reasoning"
    assert parts[1] == {
        "type": "tool_call",
        "id": parts[1]["id"],
        "name": "get_weather",
        "arguments": {"city": "test"},
    }  # joined from three deltas
    R.assert_usage(span.attributes, server.requests[-1]["usage"])


def test_embed(client, server, capture):
    result = client.embed(
        model="embed-v4.0",
        texts=["first", "second"],
        input_type="search_document",
        embedding_types=["float"],
    )
    span = R.one_llm_span(capture)
    assert span.name == "embeddings embed-v4.0"
    assert list(span.attributes[A.GEN_AI_REQUEST_ENCODING_FORMATS]) == ["float"]
    assert span.attributes[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(result.embeddings.float_[0])
    R.assert_usage(span.attributes, server.requests[-1]["usage"])
    assert span.attributes[A.COST_USD] > 0


async def test_async_embed_and_rerank(aclient, server, capture):
    await aclient.embed(
        model="embed-english-v3.0",
        texts=["x y"],
        input_type="search_query",
        embedding_types=["float"],
    )
    result = await aclient.rerank(
        model="rerank-v3.5", query="paris weather", documents=["weather in paris", "cats"], top_n=1
    )
    embed, rerank = capture.of_kind(A.KIND_LLM)
    R.assert_usage(embed.attributes, server.requests[0]["usage"])
    assert embed.attributes[A.COST_USD] > 0  # embed v3 is priced too
    assert rerank.name == "rerank rerank-v3.5"
    assert rerank.attributes[A.GEN_AI_OPERATION_NAME] == A.OP_RERANK
    assert rerank.attributes[A.GEN_AI_RESPONSE_ID] == result.id
    R.assert_usage(rerank.attributes, None)  # billed in search units
    assert A.COST_UNKNOWN_MODEL not in rerank.attributes


# cohere < 5.16 wraps each yield in a bare ``except: pass``: its generator swallows
# GeneratorExit, so closing it early raises RuntimeError from the SDK itself.
_OLD_SDK_CLOSE = RuntimeError


def test_early_close_ends_the_span_once(client, capture):
    stream = client.chat_stream(model=MODEL, messages=USER)

    def close() -> None:
        with contextlib.suppress(_OLD_SDK_CLOSE):
            stream.close()

    R.check_early_close(capture, stream, close)


async def test_async_early_close(aclient, capture):
    stream = aclient.chat_stream(model=MODEL, messages=USER)
    await stream.__anext__()
    with contextlib.suppress(_OLD_SDK_CLOSE):
        await stream.aclose()
    assert R.one_llm_span(capture).status.status_code is StatusCode.UNSET


def test_abandoned_stream_ends_on_garbage_collection(client, capture):
    R.check_abandoned(capture, lambda: client.chat_stream(model=MODEL, messages=USER))


@pytest.mark.parametrize(
    "model,error",
    [("error-429", cohere.TooManyRequestsError), ("error-500", cohere.InternalServerError)],
)
def test_error_passes_the_same_exception_through(server, instrumented, capture, model, error):
    with R.exceptions_below(CohereInstrumentor(), capture.provider, V2Client, "chat") as seen:
        # a client made now: the SDK binds its chat method when the client is created
        client = cohere.ClientV2(api_key="co-test", base_url=server.url)
        with pytest.raises(error) as info:
            client.chat(model=model, messages=USER)
    assert seen == [info.value]
    R.assert_error(R.one_llm_span(capture), info.value)


async def test_stream_error(aclient, capture):
    with pytest.raises(cohere.TooManyRequestsError) as info:
        async for _ in aclient.chat_stream(model="error-429", messages=USER):
            pass
    R.assert_error(R.one_llm_span(capture), info.value)


def test_response_without_usage(client, capture):
    client.chat(model="no-usage", messages=USER)
    list(client.chat_stream(model="no-usage", messages=USER))
    assert len(capture.of_kind(A.KIND_LLM)) == 2
    R.assert_no_usage(capture)


def test_reset_mid_stream_records_the_sdk_error(client, capture):
    R.check_broken_stream(capture, client.chat_stream(model="reset-mid-stream", messages=USER))


def test_malformed_event_is_skipped_by_the_sdk(client, server, capture):
    """The SDK skips an event that is not JSON and reads on: the span completes normally."""
    events = list(client.chat_stream(model="malformed-sse", messages=USER))
    span = R.one_llm_span(capture)
    assert events[-1].type == "message-end"
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] > 0  # message-end arrived after all


def test_totals_equal_the_server_log(client, server, capture):
    with capture.session():
        client.chat(model=MODEL, messages=USER)
        list(client.chat_stream(model=MODEL, messages=USER, tools=TOOLS))
        client.embed(
            model="embed-v4.0",
            texts=["text"],
            input_type="search_document",
            embedding_types=["float"],
        )
        client.rerank(model="rerank-v3.5", query="q", documents=["a", "b"])
    (session,) = capture.of_kind(A.KIND_SESSION)
    R.assert_session_totals(session.attributes, server, 4)


def test_uninstrument_restores_the_sdk(client, capture):
    methods = [
        (cls, m)
        for cls in (V2Client, AsyncV2Client)
        for m in ("chat", "chat_stream", "embed", "rerank")
    ]
    CohereInstrumentor().uninstrument()
    assert all(not hasattr(cls.__dict__[m], "__wrapped__") for cls, m in methods)
    client.chat(model=MODEL, messages=USER)
    list(client.chat_stream(model=MODEL, messages=USER))
    assert capture.spans == []


_APP = f"""
import cohere
client = cohere.ClientV2(api_key="co-test", base_url=URL)
client.chat(model={MODEL!r}, messages={USER!r})
list(client.chat_stream(model={MODEL!r}, messages={USER!r}))
client.embed(model="embed-v4.0", texts=["text"], input_type="search_document",
             embedding_types=["float"])
"""


def test_init_instruments_cohere(server):
    R.check_init_run(
        _APP.replace("URL", repr(server.url)),
        server,
        module="cohere",
        scope="agentops_cohere",
        calls=3,
    )


def test_opentelemetry_instrument_traces_cohere(server, tmp_path):
    R.check_opentelemetry_instrument_run(
        _APP.replace("URL", repr(server.url)), server, tmp_path, calls=3
    )
