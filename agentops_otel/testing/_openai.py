"""OpenAI-compatible endpoints of the fake LLM server: chat completions, embeddings, responses."""

from __future__ import annotations

import base64
import hashlib
import struct
import time
from typing import Any

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
    reasoning_tokens,
    split_arguments,
    split_text,
    sse_event,
    text_of,
)

_ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_value", "Invalid request (fake error-400)."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided (fake)."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist (fake)."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached (fake error-429)."),
    500: ("server_error", None, "The server had an error (fake error-500)."),
    503: ("server_error", "service_unavailable", "The engine is overloaded (fake error-503)."),
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape for ``status``."""
    kind, code, default = _ERROR_TYPES.get(status, ("invalid_request_error", None, "Error."))
    return {"error": {"message": message or default, "type": kind, "param": None, "code": code}}


def _usage(
    conv: Conversation, outputs: list[str], details_names: tuple[str, str, str, str]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Wire usage (field names per API) and the normalized usage for the log."""
    input_name, output_name, input_details, output_details = details_names
    total_in = input_tokens(conv)
    out = sum(output_tokens(text) for text in outputs)
    cached = total_in // 4
    reasoning = reasoning_tokens(conv.model, out)
    wire = {
        input_name: total_in,
        output_name: out,
        "total_tokens": total_in + out,
        input_details: {"cached_tokens": cached},
        output_details: {"reasoning_tokens": reasoning},
    }
    return wire, normalized_usage(total_in, out, cached, 0, reasoning)


_CHAT_USAGE = (
    "prompt_tokens",
    "completion_tokens",
    "prompt_tokens_details",
    "completion_tokens_details",
)
_RESPONSES_USAGE = (
    "input_tokens",
    "output_tokens",
    "input_tokens_details",
    "output_tokens_details",
)


def _decide_with_format(
    conv: Conversation, ctx: Context, fmt: dict[str, Any] | None, schema: dict[str, Any] | None
) -> Decision:
    decision = decide(conv, ctx.rules)
    if not decision.tool_name and fmt and fmt.get("type") in ("json_object", "json_schema"):
        decision.text = as_json_text(decision.text, schema)
    return decision


# --- chat completions ------------------------------------------------------------------------


def _chat_conversation(body: dict[str, Any]) -> Conversation:
    conv = Conversation(model=str(body.get("model") or ""))
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    for i, message in enumerate(messages):
        text = text_of(message.get("content"))
        conv.texts.append(text)
        for call in message.get("tool_calls") or []:
            conv.texts.append((call.get("function") or {}).get("arguments") or "")
        if message.get("role") in ("tool", "function") and i > last_user:
            conv.tool_results.append(text)
        if i == last_user:
            conv.last_user_text = text
    tools = body.get("tools") or []
    specs = [
        (t["function"].get("name", ""), t["function"].get("parameters") or {})
        for t in tools
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    conv.add_tools(tools, specs)
    choice = body.get("tool_choice")
    conv.tools_disabled = choice == "none"
    if isinstance(choice, dict):
        conv.forced_tool = (choice.get("function") or {}).get("name")
    return conv


def _tool_call(call_id: str, decision: Decision, arguments: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": decision.tool_name, "arguments": arguments},
    }


def chat_completions(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /v1/chat/completions``, plain or streamed."""
    conv = _chat_conversation(body)
    fmt = body.get("response_format") if isinstance(body.get("response_format"), dict) else None
    schema = ((fmt or {}).get("json_schema") or {}).get("schema")
    decision = _decide_with_format(conv, ctx, fmt, schema)
    n = max(1, int(body.get("n") or 1))
    wire_usage, usage = _usage(conv, [decision.output_text] * n, _CHAT_USAGE)
    call_ids = [ctx.new_id("call_") for _ in range(n)] if decision.tool_name else []
    finish = "tool_calls" if decision.tool_name else "stop"
    base: dict[str, Any] = {
        "id": ctx.new_id("chatcmpl-"),
        "created": int(time.time()),
        "model": conv.model,
        "system_fingerprint": "fp_fake",
        "service_tier": "default",
    }
    if not body.get("stream"):
        choices = []
        for i in range(n):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None if decision.tool_name else decision.text,
                "refusal": None,
                "annotations": [],
            }
            if decision.tool_name:
                message["tool_calls"] = [_tool_call(call_ids[i], decision, decision.tool_arguments)]
            choices.append(
                {"index": i, "message": message, "logprobs": None, "finish_reason": finish}
            )
        out = {**base, "object": "chat.completion", "choices": choices}
        if ctx.report_usage:
            out["usage"] = wire_usage
        return Result(body=out, usage=usage if ctx.report_usage else None, response_id=base["id"])

    want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    want_usage = want_usage and ctx.report_usage
    extra = {"usage": None} if want_usage else {}

    def chunk(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> Any:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        data = {**base, "object": "chat.completion.chunk", "choices": [choice], **extra}
        return sse_event(data)

    events = []
    for i in range(n):
        events.append(chunk(i, {"role": "assistant", "content": None if call_ids else ""}))
        if decision.tool_name:
            pieces = split_arguments(decision.tool_arguments)
            first = {**_tool_call(call_ids[i], decision, ""), "index": 0}
            events.append(chunk(i, {"tool_calls": [first]}))
            for piece in pieces:
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                events.append(chunk(i, delta))
        else:
            events.extend(chunk(i, {"content": piece}) for piece in split_text(decision.text))
        events.append(chunk(i, {}, finish))
    if want_usage:
        data = {**base, "object": "chat.completion.chunk", "choices": [], "usage": wire_usage}
        events.append(sse_event(data))
    events.append((None, "[DONE]"))
    return Result(events=events, usage=usage if want_usage else None, response_id=base["id"])


# --- embeddings --------------------------------------------------------------------------------


def _vector(text: str, dimensions: int) -> list[float]:
    """Deterministic unit-range float32 values derived from SHA-256 of the text."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend(b / 127.5 - 1.0 for b in digest)
        counter += 1
    # Round through float32 so the float and base64 encodings carry the same numbers.
    packed = struct.pack(f"<{dimensions}f", *values[:dimensions])
    return list(struct.unpack(f"<{dimensions}f", packed))


def embeddings(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /v1/embeddings``: float or base64 (little-endian float32) vectors."""
    raw = body.get("input")
    items = raw if isinstance(raw, list) and not all(isinstance(x, int) for x in raw) else [raw]
    texts = [x if isinstance(x, str) else " ".join(map(str, x or [])) for x in items]
    dimensions = int(body.get("dimensions") or 8)
    data = []
    for i, text in enumerate(texts):
        vector = _vector(text, dimensions)
        encoded: Any = vector
        if body.get("encoding_format") == "base64":
            encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": encoded})
    conv = Conversation(model=str(body.get("model") or ""), texts=texts)
    total_in = input_tokens(conv)
    out: dict[str, Any] = {"object": "list", "data": data, "model": conv.model}
    if not ctx.report_usage:
        return Result(body=out)
    out["usage"] = {"prompt_tokens": total_in, "total_tokens": total_in}
    return Result(body=out, usage=normalized_usage(total_in, 0, 0, 0, 0))


# --- responses ---------------------------------------------------------------------------------


def _responses_conversation(body: dict[str, Any]) -> Conversation:
    conv = Conversation(model=str(body.get("model") or ""))
    if body.get("instructions"):
        conv.texts.append(str(body["instructions"]))
    raw = body.get("input")
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw or []
    items = [item for item in items if isinstance(item, dict)]
    last_user = max(
        (i for i, it in enumerate(items) if it.get("role") == "user"),
        default=-1,
    )
    for i, item in enumerate(items):
        kind = item.get("type") or "message"
        if kind == "function_call":
            conv.texts.append(item.get("arguments") or "")
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else text_of(output)
            conv.texts.append(text)
            if i > last_user:
                conv.tool_results.append(text)
        else:
            text = text_of(item.get("content"))
            conv.texts.append(text)
            if i == last_user:
                conv.last_user_text = text
    tools = body.get("tools") or []
    specs = [
        (t.get("name", ""), t.get("parameters") or {})
        for t in tools
        if isinstance(t, dict) and t.get("type") == "function"
    ]
    conv.add_tools(tools, specs)
    choice = body.get("tool_choice")
    conv.tools_disabled = choice == "none"
    if isinstance(choice, dict) and choice.get("type") == "function":
        conv.forced_tool = choice.get("name")
    return conv


def responses(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /v1/responses``: one message or one ``function_call`` output item."""
    conv = _responses_conversation(body)
    fmt = (body.get("text") or {}).get("format")
    fmt = fmt if isinstance(fmt, dict) else None
    decision = _decide_with_format(conv, ctx, fmt, (fmt or {}).get("schema"))
    wire_usage, usage = _usage(conv, [decision.output_text], _RESPONSES_USAGE)
    if decision.tool_name:
        item: dict[str, Any] = {
            "type": "function_call",
            "id": ctx.new_id("fc_"),
            "call_id": ctx.new_id("call_"),
            "name": decision.tool_name,
            "arguments": decision.tool_arguments,
            "status": "completed",
        }
    else:
        part = {"type": "output_text", "text": decision.text, "annotations": [], "logprobs": []}
        item = {
            "type": "message",
            "id": ctx.new_id("msg_"),
            "status": "completed",
            "role": "assistant",
            "content": [part],
        }
    response: dict[str, Any] = {
        "id": ctx.new_id("resp_"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": conv.model,
        "output": [item],
        "instructions": body.get("instructions"),
        "tools": body.get("tools") or [],
        "tool_choice": body.get("tool_choice") or "auto",
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "text": body.get("text") or {"format": {"type": "text"}},
        "metadata": body.get("metadata") or {},
        "previous_response_id": body.get("previous_response_id"),
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "max_output_tokens": body.get("max_output_tokens"),
        "error": None,
        "incomplete_details": None,
    }
    if ctx.report_usage:
        response["usage"] = wire_usage
    result = Result(usage=usage if ctx.report_usage else None, response_id=response["id"])
    if body.get("stream"):
        result.events = _responses_events(response, item)
    else:
        result.body = response
    return result


def _responses_events(response: dict[str, Any], item: dict[str, Any]) -> list[Any]:
    """The Responses streaming event sequence for one output item."""
    events: list[Any] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(sse_event({"type": kind, "sequence_number": len(events), **fields}, kind))

    started = {**response, "status": "in_progress", "output": []}
    started.pop("usage", None)
    emit("response.created", response=started)
    emit("response.in_progress", response=started)
    ids = {"item_id": item["id"], "output_index": 0}
    if item["type"] == "function_call":
        emit(
            "response.output_item.added",
            output_index=0,
            item={**item, "arguments": "", "status": "in_progress"},
        )
        for piece in split_arguments(item["arguments"]):
            emit("response.function_call_arguments.delta", **ids, delta=piece)
        emit(
            "response.function_call_arguments.done",
            **ids,
            name=item["name"],
            arguments=item["arguments"],
        )
    else:
        part = item["content"][0]
        empty_part = {**part, "text": ""}
        emit(
            "response.output_item.added",
            output_index=0,
            item={**item, "status": "in_progress", "content": []},
        )
        emit("response.content_part.added", **ids, content_index=0, part=empty_part)
        for piece in split_text(part["text"]):
            emit("response.output_text.delta", **ids, content_index=0, delta=piece, logprobs=[])
        emit("response.output_text.done", **ids, content_index=0, text=part["text"], logprobs=[])
        emit("response.content_part.done", **ids, content_index=0, part=part)
    emit("response.output_item.done", output_index=0, item=item)
    emit("response.completed", response=response)
    return events


def models(_body: dict[str, Any], _ctx: Context) -> Result:
    """``GET /v1/models``: a small fixed list (some frameworks probe it)."""
    names = ("gpt-4o-mini", "gpt-4o", "o3-mini", "text-embedding-3-small")
    data = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
    return Result(body={"object": "list", "data": data})
