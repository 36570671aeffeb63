"""Ollama endpoints of the fake LLM server: ``/api/chat``, ``/api/generate``, ``/api/embed``.

Streams are newline-delimited JSON (one object per line, the last with ``done: true``), as the
real server sends them. Usage: ``prompt_eval_count`` (input) and ``eval_count`` (output) on
the final object; Ollama reports no cache or reasoning counts. Tool calls carry their
arguments as a JSON object and arrive whole in one streamed message. Errors are
``{"error": "..."}``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from agentops_otel.testing import _openai
from agentops_otel.testing._common import (
    Context,
    Conversation,
    Decision,
    Result,
    as_json_text,
    decide,
    input_tokens,
    normalized_usage,
    output_tokens,
    split_text,
)

_TIMINGS = {
    "total_duration": 1_000_000,
    "load_duration": 100_000,
    "prompt_eval_duration": 200_000,
    "eval_duration": 700_000,
}


def _ndjson_line(_event: str | None, data: str) -> bytes:
    return (data + "\n").encode()


NDJSON = ("application/x-ndjson", _ndjson_line)  # Ollama streams JSON lines, not SSE


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Ollama's error shape."""
    return {"error": message or f"fake error-{status}"}


def _json_arguments(messages: list[Any]) -> list[Any]:
    """Messages with tool-call arguments as JSON text, the form OpenAI's reader counts."""
    out = []
    for message in messages:
        if isinstance(message, dict) and message.get("tool_calls"):
            calls = [
                {
                    **call,
                    "function": {
                        **call.get("function", {}),
                        "arguments": json.dumps(
                            call.get("function", {}).get("arguments") or {}, separators=(",", ":")
                        ),
                    },
                }
                for call in message["tool_calls"]
            ]
            message = {**message, "tool_calls": calls}
        out.append(message)
    return out


def _decision(conv: Conversation, ctx: Context, fmt: Any) -> Decision:
    decision = decide(conv, ctx.rules)
    if fmt and not decision.tool_name:
        decision.text = as_json_text(decision.text, fmt if isinstance(fmt, dict) else None)
    return decision


def _final(
    model: str, conv: Conversation, decision: Decision, ctx: Context
) -> tuple[dict[str, Any], dict[str, int] | None]:
    """The fields of the last object (``done: true``) and the usage for the log."""
    done = {"model": model, "created_at": _now(), "done": True, "done_reason": "stop", **_TIMINGS}
    if not ctx.report_usage:
        return done, None
    total_in, out = input_tokens(conv), output_tokens(decision.output_text)
    done.update(prompt_eval_count=total_in, eval_count=out)
    return done, normalized_usage(total_in, out, 0, 0, 0)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def _answer(body: dict[str, Any], ctx: Context, conv: Conversation, field: str) -> Result:
    """A chat (``field="message"``) or generate (``field="response"``) answer."""
    model = conv.model
    decision = _decision(conv, ctx, body.get("format"))
    final, usage = _final(model, conv, decision, ctx)
    if field == "message":
        message: dict[str, Any] = {"role": "assistant", "content": decision.text}
        if decision.tool_name:
            message["tool_calls"] = [
                {
                    "function": {
                        "name": decision.tool_name,
                        "arguments": json.loads(decision.tool_arguments),
                    }
                }
            ]
        whole: Any = message
        pieces: list[Any] = (
            [message]
            if decision.tool_name
            else [{"role": "assistant", "content": p} for p in split_text(decision.text)]
        )
        last: Any = {"role": "assistant", "content": ""}
    else:
        whole, pieces, last = decision.text, split_text(decision.text), ""
        final["context"] = [1, 2, 3]
    if not body.get("stream", True):
        return Result(body={**final, field: whole}, usage=usage)
    lines = [
        {"model": model, "created_at": _now(), field: piece, "done": False} for piece in pieces
    ]
    lines.append({**final, field: last})
    return Result(events=[(None, json.dumps(line)) for line in lines], usage=usage, framing=NDJSON)


def chat(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /api/chat``, plain or streamed (NDJSON)."""
    messages = _json_arguments(list(body.get("messages") or []))
    conv = _openai._chat_conversation({**body, "messages": messages})
    return _answer(body, ctx, conv, "message")


def generate(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /api/generate``, plain or streamed (NDJSON)."""
    prompt = str(body.get("prompt") or "")
    texts = [str(body["system"])] if body.get("system") else []
    conv = Conversation(
        model=str(body.get("model") or ""), texts=[*texts, prompt], last_user_text=prompt
    )
    return _answer(body, ctx, conv, "response")


def embed(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /api/embed``: one vector per input string."""
    raw = body.get("input")
    texts = [str(x) for x in raw] if isinstance(raw, list) else [str(raw or "")]
    dimensions = int(body.get("dimensions") or 8)
    model = str(body.get("model") or "")
    out: dict[str, Any] = {
        "model": model,
        "embeddings": [_openai._vector(t, dimensions) for t in texts],
        "total_duration": 1_000_000,
        "load_duration": 100_000,
    }
    if not ctx.report_usage:
        return Result(body=out)
    total_in = input_tokens(Conversation(model=model, texts=texts))
    out["prompt_eval_count"] = total_in
    return Result(body=out, usage=normalized_usage(total_in, 0, 0, 0, 0))
