"""LiteLLM routed to the second-wave providers (Gemini, Bedrock Converse and InvokeModel, Ollama,
Mistral, Groq) under ``init()``, which also activates our instrumentors of the provider SDKs
installed beside it (google-genai, boto3, ollama, openai): each model request is one CLIENT span,
litellm's, priced for its provider, and the session's totals equal the fake server's log.

litellm speaks to these providers over its own HTTP client, so a provider instrumentor never sees
the request; these tests hold that (a second span, or a second count, would fail them).
"""

from __future__ import annotations

import pytest

from agentops_otel import semconv as A
from agentops_otel.testing.provider_runs import run_with_init

_AWS = (
    "aws_access_key_id='AKIATEST', aws_secret_access_key='SECRET-never-recorded', "
    "aws_region_name='us-east-1', aws_bedrock_runtime_endpoint=URL"
)
_CLAUDE = "anthropic.claude-3-5-haiku-20241022-v1:0"


def _at(path: str) -> str:
    return f"api_base=URL + {path!r}, api_key='k'"


# (route, model, litellm's other arguments, streamed too); the span's provider: PROVIDERS[route]
ROUTES = [
    ("gemini", "gemini/gemini-2.5-flash", _at("/v1beta"), True),
    ("bedrock-converse", f"bedrock/converse/us.{_CLAUDE}", _AWS, True),
    ("bedrock-invoke", f"bedrock/invoke/{_CLAUDE}", _AWS, False),
    ("ollama", "ollama_chat/llama3.2", "api_base=URL", True),
    ("mistral", "mistral/mistral-small-latest", _at("/mistral/v1"), True),
    ("groq", "groq/llama-3.1-8b-instant", _at("/openai/v1"), False),
]
PROVIDERS = {
    "gemini": "gcp.gemini",
    "bedrock-converse": "aws.bedrock",
    "bedrock-invoke": "aws.bedrock",
    "ollama": "ollama",
    "mistral": "mistral_ai",
    "groq": "groq",
}

_APP = """
import asyncio, os
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import litellm
URL = {url!r}
ASK = [{{"role": "user", "content": "Weather in Paris today?"}}]
for route, stream, kwargs in [{calls}]:
    if route == "async":
        asyncio.run(litellm.acompletion(messages=ASK, num_retries=0, **kwargs))
        continue
    reply = litellm.completion(messages=ASK, num_retries=0, stream=stream, **kwargs)
    if stream:
        for _ in reply:
            pass
"""


def _app(url: str) -> tuple[str, list[str]]:
    """The app's code and the route of each model request it makes, in order."""
    calls, order = [], []
    for route, model, kwargs, streamed in ROUTES:
        for stream in (False, True) if streamed else (False,):
            calls.append(f"({route!r}, {stream}, dict(model={model!r}, {kwargs}))")
            order.append(route)
    calls.append(f"('async', False, dict(model={ROUTES[0][1]!r}, {ROUTES[0][2]}))")  # Gemini
    order.append("gemini")
    return _APP.format(url=url, calls=", ".join(calls)), order


def test_each_routed_request_is_one_priced_litellm_span_under_init(server) -> None:
    server.clear()
    code, order = _app(server.url)
    spans = run_with_init(code)
    requests = [r for r in server.requests if r["path"] != "/api/show"]  # litellm's model info
    assert len(requests) == len(order)
    llms = [s for s in spans if s["attrs"].get(A.SPAN_KIND) == A.KIND_LLM]
    assert len(llms) == len(order), [(s["name"], s["scope"]) for s in spans]
    assert {s["scope"] for s in llms} == {"agentops_litellm"}
    assert [s["attrs"][A.GEN_AI_PROVIDER_NAME] for s in llms] == [PROVIDERS[r] for r in order]
    for span, request in zip(llms, requests, strict=True):
        attrs = span["attrs"]
        usage = request["usage"]
        assert (attrs[A.GEN_AI_USAGE_INPUT_TOKENS], attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS]) == (
            usage["input_tokens"],
            usage["output_tokens"],
        ), (span["name"], attrs, usage)
        local = attrs[A.GEN_AI_PROVIDER_NAME] == "ollama"
        assert attrs[A.COST_SOURCE] == "local" if local else attrs[A.COST_USD] > 0, attrs
    assert not any(s["attrs"].get(A.LLM_DUPLICATE) for s in spans)
    session = spans[-1]["attrs"]
    assert session[A.LLM_CALLS] == len(order)
    assert session[A.TOTAL_INPUT_TOKENS] == sum(r["usage"]["input_tokens"] for r in requests)
    assert session[A.TOTAL_COST_USD] == pytest.approx(sum(s["attrs"][A.COST_USD] for s in llms))
