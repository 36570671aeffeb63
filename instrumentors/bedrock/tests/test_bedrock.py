"""The Bedrock instrumentor against real boto3 / botocore and the project's fake server."""

from __future__ import annotations

import gc
import json
from typing import Any

import botocore.client
import botocore.exceptions
import pytest
from _bedrock_helpers import SECRET_KEY, SESSION_TOKEN, make_client
from opentelemetry.trace import SpanKind, StatusCode

from agentops_bedrock import BedrockInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing.instrumentor_checks import (
    check_chaining_theirs_over_ours,
    check_counted_once_when_nested,
    only_llm,
    output_parts,
)
from agentops_otel.testing.spans import SpanCapture

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # a cross-region inference profile
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
NOVA = "amazon.nova-lite-v1:0"
PROMPT = "Please describe the weather in Paris for a walk along the Seine this afternoon."
MESSAGES = [{"role": "user", "content": [{"text": PROMPT}]}]
TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    }
                },
            }
        }
    ]
}
# USD per million tokens: input, output, cache read, cache write (the bundled table's prices).
RATES = {SONNET: (3.3, 16.5, 0.33, 4.125), NOVA: (0.06, 0.24, 0.015, 0.06)}
# InvokeModel: one body per vendor format, the operation it is, and where its text is.
ANTHROPIC_BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 100,
    "top_k": 5,
    "system": "Be brief.",
    "messages": [{"role": "user", "content": PROMPT}],
}
INVOKE = [
    (HAIKU, ANTHROPIC_BODY, "chat"),
    ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", ANTHROPIC_BODY, "chat"),
    (
        "meta.llama3-1-8b-instruct-v1:0",
        {"prompt": PROMPT, "max_gen_len": 64, "temperature": 0.5, "top_p": 0.9},
        "text_completion",
    ),
    ("us.meta.llama3-2-11b-instruct-v1:0", {"prompt": PROMPT}, "text_completion"),
    (
        "amazon.nova-micro-v1:0",
        {
            "messages": MESSAGES,
            "system": [{"text": "Be brief."}],
            "inferenceConfig": {"max_new_tokens": 64},
        },
        "chat",
    ),
    (
        "amazon.titan-text-express-v1",
        {"inputText": PROMPT, "textGenerationConfig": {"maxTokenCount": 64}},
        "text_completion",
    ),
    ("cohere.command-r-v1:0", {"message": PROMPT, "max_tokens": 64, "p": 0.5}, "text_completion"),
    (
        "mistral.mistral-large-2402-v1:0",
        {"prompt": f"<s>[INST] {PROMPT} [/INST]", "max_tokens": 64, "stop": ["END"]},
        "text_completion",
    ),
]
EMBED = [
    ("amazon.titan-embed-text-v2:0", {"inputText": PROMPT}),
    ("cohere.embed-english-v3", {"texts": [PROMPT, "short"], "input_type": "search_query"}),
]


def _has_cache_counts() -> bool:
    """botocore releases before prompt caching drop Converse's cache counts."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return "cacheReadInputTokens" in model.shape_for("TokenUsage").members


CACHE_COUNTS = _has_cache_counts()


def assert_usage(span: Any, usage: dict[str, int], cache: bool = True) -> None:
    """``cache=False``: Converse on an old botocore, whose parser drops the cache counts (the
    input total still holds them)."""
    attrs = span.attributes
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == usage["input_tokens"]
    assert attrs.get(A.GEN_AI_USAGE_OUTPUT_TOKENS, 0) == usage["output_tokens"]
    if cache:
        assert attrs.get(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0) == usage["cache_read_tokens"]
        assert (
            attrs.get(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, 0)
            == (usage["cache_write_tokens"])
        )
    assert attrs[A.COST_USD] > 0
    assert A.COST_UNKNOWN_MODEL not in attrs


def assert_ok(
    span: Any,
    server: Any,
    model: str,
    operation: str = "chat",
    stream: bool = False,
    converse: bool = False,
) -> None:
    attrs = span.attributes
    assert span.name == f"{operation} {model}"
    assert span.kind == SpanKind.CLIENT
    assert span.status.status_code != StatusCode.ERROR
    assert attrs[A.GEN_AI_OPERATION_NAME] == operation
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == model
    assert attrs[A.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[A.SERVER_PORT] == server.port
    assert_usage(span, server.requests[-1]["usage"], cache=CACHE_COUNTS or not converse)
    assert (A.GEN_AI_REQUEST_STREAM in attrs) is stream
    assert (A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attrs) is stream


# -- Converse -------------------------------------------------------------------------------------
def test_converse_records_request_response_usage_and_content(capture, client, server):
    response = client.converse(
        modelId=SONNET,
        messages=MESSAGES,
        system=[{"text": "You are terse."}],
        inferenceConfig={
            "maxTokens": 100,
            "temperature": 0.2,
            "topP": 0.9,
            "stopSequences": ["END"],
        },
    )
    span = only_llm(capture)
    assert_ok(span, server, SONNET, converse=True)
    attrs = span.attributes
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 100
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attrs[A.GEN_AI_REQUEST_TOP_P] == 0.9
    assert attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert json.loads(attrs[A.GEN_AI_SYSTEM_INSTRUCTIONS]) == [
        {"type": "text", "content": "You are terse."}
    ]
    assert json.loads(attrs[A.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": PROMPT}]}
    ]
    text = response["output"]["message"]["content"][0]["text"]
    assert output_parts(span) == [{"type": "text", "content": text}]
    assert server.requests[-1]["path"] == f"/model/{SONNET.replace(':', '%3A')}/converse"


@pytest.mark.parametrize("model", [SONNET, NOVA])
def test_converse_input_includes_cache_and_each_token_is_charged_once(
    capture, client, server, model
):
    response = client.converse(modelId=model, messages=MESSAGES)
    usage = server.requests[-1]["usage"]
    wire = response["usage"]
    read, write = usage["cache_read_tokens"], usage["cache_write_tokens"]
    assert read > 0 and write > 0
    assert wire["inputTokens"] + read + write == usage["input_tokens"]  # Bedrock's excludes both
    span = only_llm(capture)
    assert_usage(span, usage, cache=CACHE_COUNTS)
    if not CACHE_COUNTS:  # all input is charged at the uncached price
        read = write = 0
    p_in, p_out, p_read, p_write = RATES[model]
    expected = (
        (usage["input_tokens"] - read - write) * p_in
        + read * p_read
        + write * p_write
        + usage["output_tokens"] * p_out
    ) / 1e6
    assert span.attributes[A.COST_USD] == pytest.approx(expected)


def test_content_off_records_no_content_but_usage(capture, client, server, no_content):
    client.converse(
        modelId=SONNET, messages=MESSAGES, system=[{"text": "Terse."}], toolConfig=TOOLS
    )
    span = only_llm(capture)
    assert_usage(span, server.requests[-1]["usage"], cache=CACHE_COUNTS)
    for key in (
        A.GEN_AI_INPUT_MESSAGES,
        A.GEN_AI_OUTPUT_MESSAGES,
        A.GEN_AI_SYSTEM_INSTRUCTIONS,
        A.GEN_AI_TOOL_DEFINITIONS,
    ):
        assert key not in span.attributes


def test_converse_tool_use_round_trip(capture, client, server):
    first = client.converse(modelId=SONNET, messages=MESSAGES, toolConfig=TOOLS)
    assert first["stopReason"] == "tool_use"
    use = first["output"]["message"]["content"][0]["toolUse"]
    history = [
        *MESSAGES,
        first["output"]["message"],
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": use["toolUseId"], "content": [{"text": "sunny"}]}}
            ],
        },
    ]
    second = client.converse(modelId=SONNET, messages=history, toolConfig=TOOLS)
    assert "sunny" in second["output"]["message"]["content"][0]["text"]
    spans = capture.of_kind(A.KIND_LLM)
    assert len(spans) == 2
    definitions = json.loads(spans[0].attributes[A.GEN_AI_TOOL_DEFINITIONS])
    assert definitions == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": TOOLS["tools"][0]["toolSpec"]["inputSchema"]["json"],
        }
    ]
    out = json.loads(spans[0].attributes[A.GEN_AI_OUTPUT_MESSAGES])[0]
    assert out["finish_reason"] == "tool_call"
    assert out["parts"] == [
        {
            "type": "tool_call",
            "id": use["toolUseId"],
            "name": "get_weather",
            "arguments": {"city": "test"},
        }
    ]
    sent = json.loads(spans[1].attributes[A.GEN_AI_INPUT_MESSAGES])
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[2]["parts"] == [
        {"type": "tool_call_response", "id": use["toolUseId"], "response": ["sunny"]}
    ]
    for span, request in zip(spans, server.requests[-2:], strict=True):
        assert_usage(span, request["usage"], cache=CACHE_COUNTS)


# -- ConverseStream -------------------------------------------------------------------------------
def test_converse_stream_exhausted(capture, client, server):
    events = list(client.converse_stream(modelId=SONNET, messages=MESSAGES)["stream"])
    text = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    )
    span = only_llm(capture)
    assert_ok(span, server, SONNET, stream=True, converse=True)
    assert span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert output_parts(span) == [{"type": "text", "content": text}]


def test_converse_stream_tool_use(capture, client, server):
    list(client.converse_stream(modelId=NOVA, messages=MESSAGES, toolConfig=TOOLS)["stream"])
    span = only_llm(capture)
    assert_ok(span, server, NOVA, stream=True, converse=True)
    (part,) = output_parts(span)
    assert part["type"] == "tool_call" and part["arguments"] == {"city": "test"}
    assert part["id"].startswith("tooluse_") and part["name"] == "get_weather"


def test_converse_stream_closed_early(capture, client):
    stream = client.converse_stream(modelId=SONNET, messages=MESSAGES)["stream"]
    next(iter(stream))
    assert capture.of_kind(A.KIND_LLM) == []
    stream.close()
    span = only_llm(capture)
    assert span.status.status_code != StatusCode.ERROR
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes  # usage comes in the last event


def test_converse_stream_abandoned(capture, client):
    response = client.converse_stream(modelId=SONNET, messages=MESSAGES)
    next(iter(response["stream"]))
    del response
    gc.collect()
    assert only_llm(capture).attributes[A.STREAM_ABANDONED] is True


# -- InvokeModel ----------------------------------------------------------------------------------
def _invoke(client: Any, model: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.invoke_model(
        modelId=model,
        body=json.dumps(body),
        contentType="application/json",
        accept="application/json",
    )
    return json.loads(response["body"].read())


@pytest.mark.parametrize(("model", "body", "operation"), INVOKE, ids=[m for m, _, _ in INVOKE])
def test_invoke_model_per_body_format(capture, client, server, model, body, operation):
    BedrockInstrumentor().uninstrument()
    plain = _invoke(client, model, body)
    BedrockInstrumentor().instrument(tracer_provider=capture.provider)
    traced = _invoke(client, model, body)  # the caller still reads the whole body
    mask = json.dumps(plain).replace("fake", "").split("msg_")[0]
    assert json.dumps(traced).replace("fake", "").split("msg_")[0][:40] == mask[:40]
    span = only_llm(capture)
    assert_ok(span, server, model, operation)
    parts = output_parts(span)
    assert parts[0]["type"] == "text" and "Fake reply" in parts[0]["content"]
    assert json.loads(span.attributes[A.GEN_AI_INPUT_MESSAGES])[0]["role"] == "user"
    assert span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS]


def test_invoke_model_request_parameters(capture, client):
    _invoke(client, INVOKE[2][0], INVOKE[2][1])
    attrs = only_llm(capture).attributes
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 64
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    assert attrs[A.GEN_AI_REQUEST_TOP_P] == 0.9


@pytest.mark.parametrize(("model", "body"), EMBED, ids=[m for m, _ in EMBED])
def test_invoke_model_embeddings(capture, client, server, model, body):
    _invoke(client, model, body)
    span = only_llm(capture)
    assert_ok(span, server, model, "embeddings")
    assert A.GEN_AI_OUTPUT_MESSAGES not in span.attributes


def test_usage_from_headers_when_the_body_has_none(capture, client, server):
    """Cohere's body carries no counts; Bedrock's headers do."""
    body = _invoke(client, "cohere.command-r-v1:0", {"message": PROMPT})
    assert "usage" not in body and "prompt_token_count" not in body
    assert_usage(only_llm(capture), server.requests[-1]["usage"])


def test_anthropic_invoke_model_counts_cache(capture, client, server):
    _invoke(client, HAIKU, ANTHROPIC_BODY)
    span = only_llm(capture)
    usage = server.requests[-1]["usage"]
    assert usage["cache_read_tokens"] > 0
    assert_usage(span, usage)
    assert span.attributes[A.GEN_AI_RESPONSE_ID] == server.requests[-1]["response_id"]
    assert span.attributes[A.GEN_AI_REQUEST_TOP_K] == 5


# -- InvokeModelWithResponseStream ----------------------------------------------------------------
@pytest.mark.parametrize(("model", "body", "operation"), INVOKE, ids=[m for m, _, _ in INVOKE])
def test_invoke_stream_per_body_format(capture, client, server, model, body, operation):
    response = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert chunks
    span = only_llm(capture)
    assert_ok(span, server, model, operation, stream=True)
    (part,) = output_parts(span)
    assert part["type"] == "text" and part["content"].startswith("Fake reply from")


def test_invoke_stream_closed_early(capture, client):
    response = client.invoke_model_with_response_stream(
        modelId=HAIKU, body=json.dumps(ANTHROPIC_BODY)
    )
    next(iter(response["body"]))
    response["body"].close()
    assert only_llm(capture).status.status_code != StatusCode.ERROR


# -- errors, faults, secrets ----------------------------------------------------------------------
@pytest.fixture
def made_errors(monkeypatch) -> list[BaseException]:
    """Every ClientError botocore makes, to check the caller gets that very object."""
    made: list[BaseException] = []
    original = botocore.exceptions.ClientError.__init__

    def record(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(botocore.exceptions.ClientError, "__init__", record)
    return made


@pytest.mark.parametrize(
    ("model", "code"),
    [
        ("anthropic.claude-error-429", "ThrottlingException"),
        ("anthropic.claude-error-500", "InternalServerException"),
    ],
)
@pytest.mark.parametrize("operation", ["converse", "converse_stream"])
def test_errors_pass_through_unchanged(capture, client, made_errors, model, code, operation):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        getattr(client, operation)(modelId=model, messages=MESSAGES)
    assert caught.value is made_errors[-1]
    assert caught.value.response["Error"]["Code"] == code
    span = only_llm(capture)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == code
    assert A.COST_USD not in span.attributes


def _outcome(fn: Any) -> tuple[Any, Any]:
    try:
        return "ok", len(fn())
    except Exception as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize(
    "model", ["anthropic.claude-malformed-sse", "anthropic.claude-reset-mid-stream"]
)
def test_stream_faults_behave_as_the_sdk(capture, client, model):
    def run() -> Any:
        return list(client.converse_stream(modelId=model, messages=MESSAGES)["stream"])

    BedrockInstrumentor().uninstrument()
    expected = _outcome(run)
    BedrockInstrumentor().instrument(tracer_provider=capture.provider)
    assert _outcome(run) == expected
    span = only_llm(capture)
    if expected[0] == "ok":  # botocore hands a malformed event on as {"message": ...}
        assert span.status.status_code != StatusCode.ERROR
    else:
        assert span.status.status_code == StatusCode.ERROR
        assert span.attributes[A.ERROR_TYPE] == expected[0].__qualname__


def test_reset_mid_body_of_invoke_model(capture, client):
    with pytest.raises(Exception) as caught:
        _invoke(client, "meta.llama-reset-mid-stream", {"prompt": PROMPT})
    span = only_llm(capture)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == type(caught.value).__qualname__


def test_no_usage(capture, client):
    _invoke(client, "cohere.command-r-no-usage", {"message": PROMPT})
    span = only_llm(capture)
    assert span.status.status_code != StatusCode.ERROR
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert A.COST_USD not in span.attributes


def test_no_credential_signature_or_token_recorded(capture, client, server):
    client.converse(modelId=SONNET, messages=MESSAGES)
    _invoke(client, HAIKU, ANTHROPIC_BODY)
    list(client.converse_stream(modelId=SONNET, messages=MESSAGES)["stream"])
    headers = server.requests[-1]["headers"]
    assert headers["x-amz-security-token"] == SESSION_TOKEN  # the request did carry them
    assert "Signature=" in headers["authorization"]
    recorded = json.dumps([dict(s.attributes) for s in capture.spans])
    for secret in (SECRET_KEY, SESSION_TOKEN, "AKIATEST", "Signature", "AWS4-HMAC"):
        assert secret not in recorded


def test_other_services_and_operations_are_untouched(capture, server):
    s3 = make_client(server, "s3")
    with pytest.raises(botocore.exceptions.ClientError):
        s3.list_buckets()  # the fake has no S3: a 404
    runtime = make_client(server)
    with pytest.raises(botocore.exceptions.ClientError):
        runtime.apply_guardrail(
            guardrailIdentifier="g",
            guardrailVersion="1",
            source="INPUT",
            content=[{"text": {"text": "hi"}}],
        )
    assert capture.spans == []


def test_pricing_of_bedrock_ids_and_inference_profiles(capture, client):
    models = [m for m, _, _ in INVOKE] + [
        SONNET,
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "apac.amazon.nova-pro-v1:0",
        EMBED[0][0],
        EMBED[1][0],
    ]
    for model in models:
        client.converse(modelId=model, messages=MESSAGES)
    spans = capture.of_kind(A.KIND_LLM)
    assert len(spans) == len(models)
    unpriced = [s.name for s in spans if not s.attributes.get(A.COST_USD)]
    assert unpriced == []


# -- uninstrument, chaining, nesting --------------------------------------------------------------
def test_uninstrument_restores_the_original(server, client):
    before = botocore.client.BaseClient.__dict__["_make_api_call"]
    cap = SpanCapture()
    BedrockInstrumentor().instrument(tracer_provider=cap.provider)
    assert botocore.client.BaseClient.__dict__["_make_api_call"] is not before
    BedrockInstrumentor().uninstrument()
    assert botocore.client.BaseClient.__dict__["_make_api_call"] is before
    client.converse(modelId=SONNET, messages=MESSAGES)
    assert cap.spans == []


def test_chaining_theirs_over_ours(server, client):
    check_chaining_theirs_over_ours(
        BedrockInstrumentor(),
        botocore.client.BaseClient,
        "_make_api_call",
        lambda: client.converse(modelId=SONNET, messages=MESSAGES),
    )


def test_nested_under_another_llm_span_is_counted_once(capture, client):
    check_counted_once_when_nested(
        capture, lambda: client.converse(modelId=SONNET, messages=MESSAGES)
    )
