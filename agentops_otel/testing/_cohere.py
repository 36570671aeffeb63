"""Cohere v2 endpoints of the fake LLM server: ``/v2/chat`` (plain and SSE), ``/v2/embed``,
``/v2/rerank``.

Usage: chat reports ``usage.billed_units`` (the logged counts: input ``T``, output ``O``),
``usage.tokens`` (what the model processed: Cohere's prompt template adds
``TEMPLATE_TOKENS`` to the input) and ``usage.cached_tokens`` (``T // 4``, logged as cache
read); embed reports ``meta.billed_units.input_tokens``; rerank bills search units only (no
token usage logged). Streams: ``message-start``, ``content-start`` / ``content-delta`` (one word
each) / ``content-end`` or ``tool-plan-delta`` and ``tool-call-start`` / ``tool-call-delta``
(arguments in three pieces) / ``tool-call-end``, then ``message-end`` with the finish reason
and usage. Errors are ``{"message": "..."}``.
"""

from __future__ import annotations

import json
from typing import Any

from agentops_otel.testing import _openai
from agentops_otel.testing._common import (
    Context,
    Conversation,
    Result,
    input_tokens,
    normalized_usage,
    output_tokens,
    split_arguments,
    split_text,
    sse_event,
)

TEMPLATE_TOKENS = 7
_API_VERSION = {"version": "2"}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Cohere's error shape."""
    return {"message": message or f"fake error-{status}"}


def _text(content: Any) -> str:
    """Text of a v2 message content: a string, or text / document parts."""
    if isinstance(content, str):
        return content
    parts = []
    for part in content or ():
        if isinstance(part, dict):
            document = part.get("document")
            data = document.get("data") if isinstance(document, dict) else None
            parts.append(part.get("text") or (json.dumps(data) if data is not None else ""))
    return "".join(parts)


def _conversation(body: dict[str, Any]) -> Conversation:
    """Cohere v2 chat messages read as OpenAI's (content to text, tool choice lower-cased)."""
    messages = [
        {**m, "content": _text(m.get("content"))}
        for m in body.get("messages") or []
        if isinstance(m, dict)
    ]
    choice = body.get("tool_choice")
    return _openai._chat_conversation(
        {
            "model": body.get("model"),
            "messages": messages,
            "tools": body.get("tools"),
            "tool_choice": choice.lower() if isinstance(choice, str) else None,
        }
    )


def chat(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /v2/chat``, plain or streamed."""
    conv = _conversation(body)
    decision = _openai._decide_with_format(conv, ctx, body.get("response_format"), None)
    message: dict[str, Any] = {"role": "assistant"}
    if decision.tool_name:
        message["tool_plan"] = f"I will call {decision.tool_name}."
        message["tool_calls"] = [
            {
                "id": ctx.new_id("call_"),
                "type": "function",
                "function": {"name": decision.tool_name, "arguments": decision.tool_arguments},
            }
        ]
        finish = "TOOL_CALL"
    else:
        message["content"] = [{"type": "text", "text": decision.text}]
        finish = "COMPLETE"
    response: dict[str, Any] = {"id": ctx.new_id(""), "finish_reason": finish, "message": message}
    usage = None
    if ctx.report_usage:
        total_in, out = input_tokens(conv), output_tokens(decision.output_text)
        response["usage"] = {
            "billed_units": {"input_tokens": total_in, "output_tokens": out},
            "tokens": {"input_tokens": total_in + TEMPLATE_TOKENS, "output_tokens": out},
            "cached_tokens": total_in // 4,
        }
        usage = normalized_usage(total_in, out, total_in // 4, 0, 0)
    result = Result(usage=usage, response_id=response["id"])
    if body.get("stream"):
        result.events = _events(response)
    else:
        result.body = response
    return result


def _events(response: dict[str, Any]) -> list[tuple[str | None, str]]:
    events: list[tuple[str | None, str]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(sse_event({"type": kind, **fields}, kind))

    message = response["message"]
    emit(
        "message-start",
        id=response["id"],
        delta={
            "message": {
                "role": "assistant",
                "content": [],
                "tool_plan": "",
                "tool_calls": [],
                "citations": [],
            }
        },
    )
    if message.get("tool_calls"):
        emit("tool-plan-delta", delta={"message": {"tool_plan": message["tool_plan"]}})
        for index, call in enumerate(message["tool_calls"]):
            first = {**call, "function": {**call["function"], "arguments": ""}}
            emit("tool-call-start", index=index, delta={"message": {"tool_calls": first}})
            for piece in split_arguments(call["function"]["arguments"]):
                emit(
                    "tool-call-delta",
                    index=index,
                    delta={"message": {"tool_calls": {"function": {"arguments": piece}}}},
                )
            emit("tool-call-end", index=index)
    else:
        emit("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}})
        for piece in split_text(message["content"][0]["text"]):
            emit("content-delta", index=0, delta={"message": {"content": {"text": piece}}})
        emit("content-end", index=0)
    end: dict[str, Any] = {"finish_reason": response["finish_reason"]}
    if "usage" in response:
        end["usage"] = response["usage"]
    emit("message-end", delta=end)
    return events


def embed(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /v2/embed``: float vectors for ``texts`` (or the text of ``inputs``)."""
    texts = [str(t) for t in body.get("texts") or []]
    for item in body.get("inputs") or []:
        texts.append(_text((item or {}).get("content")))
    dimensions = int(body.get("output_dimension") or 8)
    vectors = [_openai._vector(t, dimensions) for t in texts]
    types = body.get("embedding_types") or ["float"]
    out: dict[str, Any] = {
        "id": ctx.new_id(""),
        "response_type": "embeddings_by_type",
        "embeddings": {kind: vectors for kind in types if kind == "float"},
        "texts": texts,
        "meta": {"api_version": _API_VERSION},
    }
    if not ctx.report_usage:
        return Result(body=out, response_id=out["id"])
    total_in = input_tokens(Conversation(model=str(body.get("model") or ""), texts=texts))
    out["meta"]["billed_units"] = {"input_tokens": total_in}
    return Result(body=out, usage=normalized_usage(total_in, 0, 0, 0, 0), response_id=out["id"])


def rerank(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /v2/rerank``: documents ordered by the words they share with the query."""
    query = set(str(body.get("query") or "").lower().split())
    documents = [d if isinstance(d, str) else json.dumps(d) for d in body.get("documents") or []]
    scores = [len(query & set(d.lower().split())) / (1 + len(query)) for d in documents]
    order = sorted(range(len(documents)), key=lambda i: (-scores[i], i))
    top_n = body.get("top_n")
    if isinstance(top_n, int):
        order = order[:top_n]
    out: dict[str, Any] = {
        "id": ctx.new_id(""),
        "results": [{"index": i, "relevance_score": scores[i]} for i in order],
        "meta": {"api_version": _API_VERSION, "billed_units": {"search_units": 1}},
    }
    return Result(body=out, response_id=out["id"])
