"""The fake LLM server's second-wave wire formats over plain HTTP: Groq, Mistral, Ollama (NDJSON)
and Cohere v2 (SSE). The provider SDKs themselves drive these routes in each instrumentor's
tests; here the framing, the usage on the wire against the request log, and the faults."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from agentops_otel.testing import FakeLLMServer
from agentops_otel.testing._cohere import TEMPLATE_TOKENS

USER = [{"role": "user", "content": "What is the weather in Paris today?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


@pytest.fixture
def http(server: FakeLLMServer) -> Any:
    server.clear()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def _sse(response: httpx.Response) -> list[tuple[str | None, str]]:
    """(event name, data) of every server-sent event."""
    events = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines.get("event"), lines["data"]))
    return events


def test_groq_streams_usage_under_x_groq(http, server):
    response = http.post(
        "/openai/v1/chat/completions",
        json={"model": "llama-3.3-70b-versatile", "messages": USER, "stream": True},
    )
    events = _sse(response)
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert all("usage" not in c for c in chunks)
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    usage = server.requests[-1]["usage"]
    assert last["x_groq"]["usage"]["prompt_tokens"] == usage["input_tokens"]
    assert last["x_groq"]["usage"]["completion_tokens"] == usage["output_tokens"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "Fake reply from llama-3.3-70b-versatile: " + USER[0]["content"]


def test_mistral_sends_whole_tool_calls_and_plain_usage(http, server):
    body = {"model": "mistral-small-latest", "messages": USER, "tools": TOOLS}
    plain = http.post("/mistral/v1/chat/completions", json=body).json()
    assert set(plain["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert server.requests[-1]["usage"]["cache_read_tokens"] == 0
    events = _sse(http.post("/mistral/v1/chat/completions", json={**body, "stream": True}))
    chunks = [json.loads(data) for _, data in events[:-1]]
    calls = [
        c["choices"][0]["delta"]["tool_calls"]
        for c in chunks
        if c["choices"][0]["delta"].get("tool_calls")
    ]
    assert len(calls) == 1 and calls[0][0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0][0]["function"]["arguments"]) == {"city": "test"}
    assert chunks[-1]["usage"]["prompt_tokens"] == server.requests[-1]["usage"]["input_tokens"]
    embedding = http.post(
        "/mistral/v1/embeddings", json={"model": "mistral-embed", "input": ["a b c d"]}
    ).json()
    assert embedding["id"] and embedding["usage"]["completion_tokens"] == 0


def test_ollama_streams_ndjson_with_counts_on_the_last_line(http, server):
    response = http.post("/api/chat", json={"model": "llama3.2", "messages": USER, "stream": True})
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    usage = server.requests[-1]["usage"]
    assert (lines[-1]["prompt_eval_count"], lines[-1]["eval_count"]) == (
        usage["input_tokens"],
        usage["output_tokens"],
    )
    assert "prompt_eval_count" not in lines[0]


def test_ollama_generate_embed_and_tool_calls(http, server):
    generated = http.post(
        "/api/generate",
        json={"model": "m", "prompt": "Say hi", "system": "Be brief.", "stream": False},
    )
    assert generated.json()["response"] == "Fake reply from m: Say hi"
    assert generated.json()["prompt_eval_count"] == server.requests[-1]["usage"]["input_tokens"]
    embedded = http.post("/api/embed", json={"model": "m", "input": ["a", "b"]}).json()
    assert len(embedded["embeddings"]) == 2 and len(embedded["embeddings"][0]) == 8
    chat = http.post(
        "/api/chat", json={"model": "m", "messages": USER, "tools": TOOLS, "stream": False}
    ).json()
    assert chat["message"]["tool_calls"] == [
        {"function": {"name": "get_weather", "arguments": {"city": "test"}}}
    ]


def test_cohere_chat_stream_events(http, server):
    response = http.post(
        "/v2/chat",
        json={"model": "command-a-03-2025", "messages": USER, "tools": TOOLS, "stream": True},
    )
    events = _sse(response)
    names = [name for name, _ in events]
    assert names == [
        "message-start",
        "tool-plan-delta",
        "tool-call-start",
        "tool-call-delta",
        "tool-call-delta",
        "tool-call-delta",
        "tool-call-end",
        "message-end",
    ]
    assert all(json.loads(data)["type"] == name for name, data in events)
    end = json.loads(events[-1][1])["delta"]
    usage = server.requests[-1]["usage"]
    assert end["finish_reason"] == "TOOL_CALL"
    assert end["usage"]["billed_units"] == {
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
    }
    assert end["usage"]["tokens"]["input_tokens"] == usage["input_tokens"] + TEMPLATE_TOKENS
    assert end["usage"]["cached_tokens"] == usage["cache_read_tokens"] > 0


def test_cohere_embed_and_rerank(http, server):
    embedded = http.post(
        "/v2/embed",
        json={
            "model": "embed-v4.0",
            "texts": ["a b c d e"],
            "input_type": "search_document",
            "embedding_types": ["float"],
        },
    ).json()
    assert (
        embedded["meta"]["billed_units"]["input_tokens"]
        == (server.requests[-1]["usage"]["input_tokens"])
    )
    ranked = http.post(
        "/v2/rerank",
        json={
            "model": "rerank-v3.5",
            "query": "paris weather",
            "documents": ["cats", "weather in paris"],
            "top_n": 1,
        },
    ).json()
    assert [r["index"] for r in ranked["results"]] == [1]
    assert server.requests[-1]["usage"] is None  # search units, not tokens


@pytest.mark.parametrize(
    "path,body_key",
    [
        ("/api/chat", "error"),
        ("/v2/chat", "message"),
        ("/openai/v1/chat/completions", "error"),
        ("/mistral/v1/chat/completions", "error"),
    ],
)
@pytest.mark.parametrize("status", [429, 500])
def test_error_statuses_in_each_flavour(http, server, path, body_key, status):
    response = http.post(path, json={"model": f"x-error-{status}", "messages": USER})
    assert response.status_code == status and body_key in response.json()
    assert server.requests[-1]["status"] == status and server.requests[-1]["usage"] is None


@pytest.mark.parametrize(
    "path,usage_key",
    [
        ("/api/chat", "prompt_eval_count"),
        ("/v2/chat", "usage"),
        ("/mistral/v1/chat/completions", "usage"),
    ],
)
def test_no_usage(http, server, path, usage_key):
    plain = http.post(path, json={"model": "no-usage", "messages": USER, "stream": False})
    assert usage_key not in plain.json() and server.requests[-1]["usage"] is None
    streamed = http.post(path, json={"model": "no-usage", "messages": USER, "stream": True})
    assert f'"{usage_key}"' not in streamed.text and server.requests[-1]["usage"] is None
    with_usage = http.post(path, json={"model": "m", "messages": USER, "stream": True})
    assert f'"{usage_key}"' in with_usage.text  # the control


@pytest.mark.parametrize("path", ["/api/chat", "/v2/chat", "/openai/v1/chat/completions"])
def test_malformed_and_reset_streams(http, server, path):
    malformed = http.post(path, json={"model": "malformed-sse", "messages": USER, "stream": True})
    assert '{"type": "malformed", "oops": ' in malformed.text
    assert server.requests[-1]["usage"] is None
    with pytest.raises(httpx.HTTPError):
        http.post(path, json={"model": "reset-mid-stream", "messages": USER, "stream": True})
    assert server.requests[-1]["usage"] is None
