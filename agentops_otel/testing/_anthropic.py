"""Anthropic-compatible endpoints of the fake LLM server: messages and count_tokens."""

from __future__ import annotations

import json
from typing import Any

from agentops_otel.testing._common import (
    Context,
    Conversation,
    Result,
    decide,
    input_tokens,
    normalized_usage,
    output_tokens,
    split_arguments,
    split_text,
    sse_event,
    text_of,
)

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Anthropic's error shape for ``status``."""
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message or f"Fake {kind}."}}


def _block_text(block: Any) -> str:
    if not isinstance(block, dict):
        return str(block)
    if block.get("type") == "tool_use":
        return json.dumps(block.get("input") or {}, separators=(",", ":"))
    if block.get("type") == "tool_result":
        content = block.get("content")
        return content if isinstance(content, str) else text_of(content)
    return block.get("text") or ""


def _conversation(body: dict[str, Any]) -> Conversation:
    conv = Conversation(model=str(body.get("model") or ""))
    conv.texts.append(text_of(body.get("system")))
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]

    def blocks(message: dict[str, Any]) -> list[Any]:
        content = message.get("content")
        return [{"type": "text", "text": content}] if isinstance(content, str) else content or []

    def has_result(message: dict[str, Any]) -> bool:
        return any(isinstance(b, dict) and b.get("type") == "tool_result" for b in blocks(message))

    # A user turn carrying tool results continues the tool loop; it is not a new question.
    last_user = max(
        (i for i, m in enumerate(messages) if m.get("role") == "user" and not has_result(m)),
        default=-1,
    )
    for i, message in enumerate(messages):
        for block in blocks(message):
            text = _block_text(block)
            conv.texts.append(text)
            if isinstance(block, dict) and block.get("type") == "tool_result" and i > last_user:
                conv.tool_results.append(text)
        if i == last_user:
            conv.last_user_text = "".join(
                _block_text(b)
                for b in blocks(message)
                if isinstance(b, dict) and b.get("type") == "text"
            )
    tools = body.get("tools") or []
    specs = [
        (t.get("name", ""), t.get("input_schema") or {})
        for t in tools
        if isinstance(t, dict) and t.get("type") in (None, "custom")
    ]
    conv.add_tools(tools, specs)
    choice = body.get("tool_choice") or {}
    conv.tools_disabled = choice.get("type") == "none"
    if choice.get("type") == "tool":
        conv.forced_tool = choice.get("name")
    return conv


def count_tokens(body: dict[str, Any], _ctx: Context) -> Result:
    """``POST /v1/messages/count_tokens``: the total input token count of the request."""
    return Result(body={"input_tokens": input_tokens(_conversation(body))})


def messages(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /v1/messages``: one text or one ``tool_use`` block, plain or streamed."""
    conv = _conversation(body)
    decision = decide(conv, ctx.rules)
    total_in = input_tokens(conv)
    out = output_tokens(decision.output_text)
    cache_read, cache_write = total_in // 4, total_in // 8
    wire_usage = {
        # Like the real API, input_tokens excludes cache reads and cache writes.
        "input_tokens": total_in - cache_read - cache_write,
        "output_tokens": out,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_write,
            "ephemeral_1h_input_tokens": 0,
        },
        "service_tier": "standard",
    }
    usage = (
        normalized_usage(total_in, out, cache_read, cache_write, 0) if ctx.report_usage else None
    )
    if decision.tool_name:
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": ctx.new_id("toolu_"),
            "name": decision.tool_name,
            "input": json.loads(decision.tool_arguments),
        }
    else:
        block = {"type": "text", "text": decision.text}
    message: dict[str, Any] = {
        "id": ctx.new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": conv.model,
        "content": [block],
        "stop_reason": "tool_use" if decision.tool_name else "end_turn",
        "stop_sequence": None,
    }
    if ctx.report_usage:
        message["usage"] = wire_usage
    if not body.get("stream"):
        return Result(body=message, usage=usage, response_id=message["id"])

    events = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(sse_event({"type": kind, **fields}, kind))

    start = {**message, "content": [], "stop_reason": None}
    if ctx.report_usage:
        start["usage"] = {**wire_usage, "output_tokens": 1}
    emit("message_start", message=start)
    if decision.tool_name:
        emit("content_block_start", index=0, content_block={**block, "input": {}})
        emit("ping")
        for piece in split_arguments(decision.tool_arguments):
            emit(
                "content_block_delta",
                index=0,
                delta={"type": "input_json_delta", "partial_json": piece},
            )
    else:
        emit("content_block_start", index=0, content_block={"type": "text", "text": ""})
        emit("ping")
        for piece in split_text(decision.text):
            emit("content_block_delta", index=0, delta={"type": "text_delta", "text": piece})
    emit("content_block_stop", index=0)
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    final_usage = {k: v for k, v in wire_usage.items() if k != "service_tier"}
    emit("message_delta", delta=delta, **({"usage": final_usage} if ctx.report_usage else {}))
    emit("message_stop")
    return Result(events=events, usage=usage, response_id=message["id"])
