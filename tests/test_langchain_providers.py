"""LangChain chat models of the second-wave providers (``langchain-google-genai``,
``langchain-aws`` Converse and InvokeModel, ``langchain-ollama``, ``langchain-groq``) under
``init()``, which also activates our instrumentors of the SDKs beneath them (google-genai, boto3,
ollama, groq): each model
request is one LLM span, LangChain's (the SDK's instrumentor stands down inside it), and the
session's totals equal the fake server's log.

The same app calls each SDK once directly too, so the provider instrumentors are shown to be
active: their absence under LangChain is their standing down, not their absence.

Runs in the ``langchain-latest`` environment (listed in ``instrumentors/langchain/test-envs``),
which has these packages.
"""

from __future__ import annotations

import pytest

from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.provider_runs import run_with_init

_APP = """
import asyncio
import boto3
import groq
import ollama
from google import genai
from langchain_aws import ChatBedrock, ChatBedrockConverse
from langchain_google_genai import ChatGoogleGenerativeAI
from langchain_groq import ChatGroq
from langchain_ollama import ChatOllama

URL = {url!r}
ASK = "Weather in Paris today?"
bedrock = boto3.client(
    "bedrock-runtime", region_name="us-east-1", endpoint_url=URL, aws_access_key_id="AKIATEST",
    aws_secret_access_key="SECRET-never-recorded",
)
models = [
    ChatGoogleGenerativeAI(model="gemini-2.5-flash", google_api_key="k", base_url=URL),
    ChatBedrockConverse(model="us.anthropic.claude-3-5-haiku-20241022-v1:0", client=bedrock),
    ChatBedrock(model_id="anthropic.claude-3-5-haiku-20241022-v1:0", client=bedrock),
    ChatOllama(model="llama3.2", base_url=URL),
    ChatGroq(model="llama-3.1-8b-instant", api_key="k", base_url=URL, max_retries=0),
]
for model in models:
    model.invoke(ASK)
    for _ in model.stream(ASK):
        pass
    asyncio.run(model.ainvoke(ASK))
# each SDK once on its own: its instrumentor's span
gemini = genai.Client(api_key="k", http_options={{"base_url": URL}})  # kept: closed when freed
gemini.models.generate_content(model="gemini-2.5-flash", contents=ASK)
bedrock.converse(
    modelId="us.anthropic.claude-3-5-haiku-20241022-v1:0",
    messages=[{{"role": "user", "content": [{{"text": ASK}}]}}],
)
ollama.Client(host=URL).chat(model="llama3.2", messages=[{{"role": "user", "content": ASK}}])
groq.Groq(api_key="k", base_url=URL, max_retries=0).chat.completions.create(
    model="llama-3.1-8b-instant", messages=[{{"role": "user", "content": ASK}}]
)
"""
# gen_ai.provider.name of LangChain's spans, in request order (3 requests per model)
LANGCHAIN = ["gcp.gemini"] * 3 + ["aws.bedrock"] * 6 + ["ollama"] * 3 + ["groq"] * 3
DIRECT = [
    ("agentops_google_genai", "gcp.gemini"),
    ("agentops_bedrock", "aws.bedrock"),
    ("agentops_ollama", "ollama"),
    ("agentops_groq", "groq"),
]


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer() as fake:
        yield fake


def test_langchain_chat_models_count_each_request_once_under_init(server) -> None:
    spans = run_with_init(_APP.format(url=server.url))
    requests = server.requests
    assert len(requests) == len(LANGCHAIN) + len(DIRECT)
    llms = [s for s in spans if s["attrs"].get(A.SPAN_KIND) == A.KIND_LLM]
    found = [(s["scope"], s["attrs"][A.GEN_AI_PROVIDER_NAME]) for s in llms]
    assert found == [("agentops_langchain", p) for p in LANGCHAIN] + DIRECT, found
    assert not any(s["attrs"].get(A.LLM_DUPLICATE) for s in spans)
    for span, request in zip(llms, requests, strict=True):
        attrs, usage = span["attrs"], request["usage"]
        assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == usage["input_tokens"], span["name"]
        assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage["output_tokens"], span["name"]
        local = attrs[A.GEN_AI_PROVIDER_NAME] == "ollama"
        assert attrs[A.COST_SOURCE] == "local" if local else attrs[A.COST_USD] > 0, attrs
    session = spans[-1]["attrs"]
    total = server.total_usage()
    assert session[A.LLM_CALLS] == len(requests)
    assert session[A.TOTAL_INPUT_TOKENS] == total["input_tokens"]
    assert session[A.TOTAL_OUTPUT_TOKENS] == total["output_tokens"]
    assert session[A.TOTAL_COST_USD] == pytest.approx(sum(s["attrs"][A.COST_USD] for s in llms))
