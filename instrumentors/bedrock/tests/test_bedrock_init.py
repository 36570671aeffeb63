"""Zero-code paths: ``agentops_otel.init()`` and ``opentelemetry-instrument`` find the instrumentor
by its entry point; a fresh interpreter makes Bedrock calls (dummy credentials, endpoint on
127.0.0.1) and the totals match the server's log."""

from __future__ import annotations

from pathlib import Path

from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.zero_code import (
    assert_init_totals,
    assert_store_totals,
    run_under_init,
    run_under_opentelemetry_instrument,
)

_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_SESSION_TOKEN": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_CALLS = """
import json
import boto3
client = boto3.client("bedrock-runtime", endpoint_url={url!r})
messages = [{{"role": "user", "content": [{{"text": "What is the weather in Paris today?"}}]}}]
client.converse(modelId="us.anthropic.claude-sonnet-4-5-20250929-v1:0", messages=messages)
list(client.converse_stream(modelId="amazon.nova-lite-v1:0", messages=messages)["stream"])
body = json.dumps({{"prompt": "Weather in Rome?", "max_gen_len": 50}})
client.invoke_model(modelId="meta.llama3-1-8b-instruct-v1:0", body=body)["body"].read()
body = json.dumps({{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                   "messages": [{{"role": "user", "content": "Streamed hello."}}]}})
stream = client.invoke_model_with_response_stream(
    modelId="anthropic.claude-3-haiku-20240307-v1:0", body=body)["body"]
list(stream)
"""


def test_init_instruments_bedrock(server: FakeLLMServer) -> None:
    server.clear()
    spans = run_under_init(_CALLS.format(url=server.url), modules=("botocore",), env=_ENV)
    assert_init_totals(spans, server, "aws.bedrock", calls=4)


def test_opentelemetry_instrument(server: FakeLLMServer, tmp_path: Path) -> None:
    server.clear()
    session = run_under_opentelemetry_instrument(_CALLS.format(url=server.url), tmp_path, env=_ENV)
    assert_store_totals(session, server, calls=4)
