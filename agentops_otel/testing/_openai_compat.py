"""OpenAI-compatible providers of the fake LLM server: Groq and Mistral.

Both take OpenAI's chat request and answer OpenAI's ``chat.completion`` body, with their own
streams: usage arrives on the chunk that carries the finish reason, whatever the request said
about ``stream_options`` (Groq puts it under ``x_groq.usage``, Mistral under ``usage``), and a
tool call arrives whole in one delta (Mistral's SDK rejects a delta without a function name).
Mistral reports no cached or reasoning counts (``prompt_tokens`` / ``completion_tokens`` /
``total_tokens`` only). Routes: Groq under ``/openai/v1/...`` (its real path); Mistral under
``/mistral/v1/...`` (a prefix of the fake's own, since Mistral's real paths are OpenAI's: give
the SDK ``server_url=server.mistral_base_url``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentops_otel.testing import _openai
from agentops_otel.testing._common import Context, Result, normalized_usage, split_text, sse_event

_Place = Callable[[dict[str, Any], dict[str, Any]], None]


def _stream(completion: dict[str, Any], place_usage: _Place) -> list[tuple[str | None, str]]:
    """The chunks of a complete ``chat.completion``: role, words or whole tool calls, finish."""
    base = {key: completion[key] for key in ("id", "created", "model")}
    events = []

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "finish_reason": finish}
        return {**base, "object": "chat.completion.chunk", "choices": [choice]}

    for choice in completion["choices"]:
        index, message = choice["index"], choice["message"]
        events.append(chunk(index, {"role": "assistant", "content": ""}))
        if message.get("tool_calls"):
            calls = [{**call, "index": i} for i, call in enumerate(message["tool_calls"])]
            events.append(chunk(index, {"tool_calls": calls}))
        else:
            events.extend(
                chunk(index, {"content": piece}) for piece in split_text(message["content"])
            )
        events.append(chunk(index, {}, choice["finish_reason"]))
    if completion.get("usage"):
        place_usage(events[-1], completion["usage"])
    return [*(sse_event(e) for e in events), (None, "[DONE]")]


def _chat(
    body: dict[str, Any],
    ctx: Context,
    place_usage: _Place,
    usage_wire: Callable[[Result], dict[str, Any]] | None = None,
) -> Result:
    """OpenAI's answer, its usage rewritten by ``usage_wire``, streamed the provider's way."""
    result = _openai.chat_completions({**body, "stream": False}, ctx)
    completion = result.body or {}
    if usage_wire is not None and result.usage is not None:
        completion["usage"] = usage_wire(result)
        result.usage = normalized_usage(
            result.usage["input_tokens"], result.usage["output_tokens"], 0, 0, 0
        )
    if body.get("stream"):
        result.events, result.body = _stream(completion, place_usage), None
    return result


def _groq_usage(chunk: dict[str, Any], usage: dict[str, Any]) -> None:
    chunk["x_groq"] = {"id": "req_fake", "usage": usage}


def _mistral_usage(chunk: dict[str, Any], usage: dict[str, Any]) -> None:
    chunk["usage"] = usage


def _mistral_wire(result: Result) -> dict[str, Any]:
    usage = result.usage or {}
    inp, out = usage["input_tokens"], usage["output_tokens"]
    return {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}


def groq_chat(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /openai/v1/chat/completions`` (Groq)."""
    return _chat(body, ctx, _groq_usage)


def mistral_chat(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /mistral/v1/chat/completions`` (Mistral)."""
    return _chat(body, ctx, _mistral_usage, _mistral_wire)


def mistral_embeddings(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /mistral/v1/embeddings``: OpenAI's, with the ``completion_tokens`` Mistral sends."""
    result = _openai.embeddings(body, ctx)
    out = result.body or {}
    out["id"] = ctx.new_id("emb-")
    if out.get("usage"):
        out["usage"]["completion_tokens"] = 0
    return result
