"""Bedrock request and response bodies → usage, finish reasons and GenAI message forms.

Converse (and Amazon Nova's InvokeModel body, which has the same shape) use content blocks keyed
by kind (``{"text": …}``, ``{"toolUse": …}``, ``{"toolResult": …}``); Anthropic's InvokeModel body
is the Messages API (``{"type": "text", …}`` blocks); the other vendors take a prompt string.
"""

from __future__ import annotations

import json
from typing import Any

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "stop": "stop",
    "complete": "stop",
    "finish": "stop",
    "max_tokens": "length",
    "length": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_call",
    "tool_calls": "tool_call",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
# Request parameters under each vendor's name (top level, ``inferenceConfig`` or
# ``textGenerationConfig``) → our attribute key.
PARAMETERS = {
    "max_tokens": "max_tokens",
    "maxTokens": "max_tokens",
    "max_gen_len": "max_tokens",
    "maxTokenCount": "max_tokens",
    "max_new_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "topP": "top_p",
    "p": "top_p",
    "top_k": "top_k",
    "topK": "top_k",
    "k": "top_k",
    "stop_sequences": "stop",
    "stopSequences": "stop",
    "stop": "stop",
}
_NESTED = ("inferenceConfig", "textGenerationConfig", "additionalModelRequestFields")


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _total(*counts: Any) -> int | None:
    known = [c for c in map(_count, counts) if c is not None]
    return sum(known) if known else None


def parameters(body: dict[str, Any]) -> dict[str, Any]:
    """The request parameters, by our names, wherever the vendor's format keeps them."""
    found: dict[str, Any] = {}
    for source in (body, *(body.get(k) for k in _NESTED)):
        if isinstance(source, dict):
            for key, name in PARAMETERS.items():
                if source.get(key) is not None:
                    found.setdefault(name, source[key])
    return found


def usage(raw: dict[str, Any]) -> tuple[int | None, int | None, int | None, int | None] | None:
    """(input with cache, output, cache read, cache write) from any vendor's usage keys.

    Anthropic and Converse report input without cache reads and writes; the convention's input
    includes them.
    """
    if "input_tokens" in raw or "output_tokens" in raw:  # Anthropic
        read, write = raw.get("cache_read_input_tokens"), raw.get("cache_creation_input_tokens")
        return (
            _total(raw.get("input_tokens"), read, write),
            _count(raw.get("output_tokens")),
            _count(read),
            _count(write),
        )
    if "inputTokens" in raw or "outputTokens" in raw:  # Converse, Nova
        read = raw.get("cacheReadInputTokens", raw.get("cacheReadInputTokenCount"))
        write = raw.get("cacheWriteInputTokens", raw.get("cacheWriteInputTokenCount"))
        inp, out, total = (
            _count(raw.get(k)) for k in ("inputTokens", "outputTokens", "totalTokens")
        )
        if read is None and write is None and inp is not None and out is not None and total:
            # botocore releases before the cache fields drop them; the total still has them
            # (a total of 0 leaves the input as it is)
            inp = max(inp, total - out)
        return _total(inp, read, write), out, _count(read), _count(write)
    if "prompt_tokens" in raw:  # Mistral's chat format
        return _count(raw["prompt_tokens"]), _count(raw.get("completion_tokens")), None, None
    if "prompt_token_count" in raw or "generation_token_count" in raw:  # Llama
        return (
            _count(raw.get("prompt_token_count")),
            _count(raw.get("generation_token_count")),
            None,
            None,
        )
    if "inputTextTokenCount" in raw:  # Titan
        output = raw.get("totalOutputTextTokenCount")
        if output is None:
            output = _total(
                *(r.get("tokenCount") for r in raw.get("results") or () if isinstance(r, dict))
            )
        return _count(raw["inputTextTokenCount"]), _count(output), None, None
    if "inputTokenCount" in raw:  # amazon-bedrock-invocationMetrics
        return _count(raw["inputTokenCount"]), _count(raw.get("outputTokenCount")), None, None
    return None


def body_usage(body: dict[str, Any]) -> tuple[int | None, ...] | None:
    nested = body.get("usage")
    return usage(nested if isinstance(nested, dict) else body)


def finish_reason(body: dict[str, Any]) -> str | None:
    """The stop reason as the model gave it, whichever key its format uses."""
    for key in ("stopReason", "stop_reason", "finish_reason", "completionReason"):
        if isinstance(body.get(key), str):
            return body[key]
    for key in ("outputs", "results", "generations"):
        items = body.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return finish_reason(items[0])
    return None


def genai_finish_reason(reason: str | None) -> str:
    if reason is None:
        return "stop"
    return _FINISH_REASONS.get(reason.lower(), reason.lower())


# -- content --------------------------------------------------------------------------------------
def _part(block: Any) -> dict[str, Any]:
    """A Converse / Nova block or an Anthropic block as a GenAI part."""
    if isinstance(block, str):
        return {"type": "text", "content": block}
    if not isinstance(block, dict):
        return {"type": "unknown"}
    kind = block.get("type")
    if "text" in block and kind in (None, "text"):
        return {"type": "text", "content": block["text"]}
    if "toolUse" in block:
        use = block["toolUse"]
        return {
            "type": "tool_call",
            "id": use.get("toolUseId"),
            "name": use.get("name"),
            "arguments": use.get("input"),
        }
    if kind == "tool_use":
        return {
            "type": "tool_call",
            "id": block.get("id"),
            "name": block.get("name"),
            "arguments": block.get("input"),
        }
    if "toolResult" in block:
        result = block["toolResult"]
        return {
            "type": "tool_call_response",
            "id": result.get("toolUseId"),
            "response": [_result_part(p) for p in result.get("content") or ()],
        }
    if kind == "tool_result":
        return {
            "type": "tool_call_response",
            "id": block.get("tool_use_id"),
            "response": block.get("content"),
        }
    if "reasoningContent" in block or kind == "thinking":
        text = (block.get("reasoningContent") or {}).get("reasoningText", {}).get("text")
        return {"type": "reasoning", "content": block.get("thinking", text)}
    return {"type": kind or next(iter(block), "unknown")}


def _result_part(part: Any) -> Any:
    if isinstance(part, dict) and "text" in part:
        return part["text"]
    if isinstance(part, dict) and "json" in part:
        return part["json"]
    return part


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, (list, tuple)):
        return [_part(b) for b in content]
    return [_part(content)] if content is not None else []


def messages(raw: Any) -> list[dict[str, Any]] | None:
    if not isinstance(raw, (list, tuple)):
        return None
    out = []
    for message in raw:
        if isinstance(message, dict):
            parts = _parts(message.get("content"))
            role = message.get("role")
            if parts and all(p["type"] == "tool_call_response" for p in parts):
                role = "tool"
            out.append({"role": role, "parts": parts})
    return out


def request_content(body: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(input messages, system instructions, tool definitions) of a Converse request or any
    InvokeModel body."""
    if "messages" in body:
        system = body.get("system")
        return messages(body["messages"]), _parts(system) if system else None, tools(body)
    prompt = body.get("prompt", body.get("inputText", body.get("message")))
    if prompt is None:
        return None, None, None
    system = body.get("preamble")
    return (
        [{"role": "user", "parts": [{"type": "text", "content": prompt}]}],
        _parts(system) if system else None,
        None,
    )


def tools(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Converse's ``toolConfig.tools[].toolSpec`` or Anthropic's ``tools``."""
    specs = (body.get("toolConfig") or {}).get("tools") or body.get("tools")
    if not isinstance(specs, list):
        return None
    out = []
    for spec in specs:
        if not isinstance(spec, dict):
            continue
        tool = spec.get("toolSpec", spec)
        schema = tool.get("inputSchema", tool.get("input_schema"))
        if isinstance(schema, dict) and "json" in schema:
            schema = schema["json"]
        out.append(
            {
                "type": "function",
                "name": tool.get("name"),
                "description": tool.get("description"),
                "parameters": schema,
            }
        )
    return out or None


def response_content(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The assistant's parts in any InvokeModel / Converse response body."""
    message = (body.get("output") or {}).get("message")
    if isinstance(message, dict):  # Converse, Nova
        return _parts(message.get("content"))
    if isinstance(body.get("content"), list):  # Anthropic
        return _parts(body["content"])
    for key in ("generation", "text", "completion", "outputText"):
        if isinstance(body.get(key), str):
            return [{"type": "text", "content": body[key]}]
    for key, text_key in (("outputs", "text"), ("results", "outputText"), ("generations", "text")):
        items = body.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return [{"type": "text", "content": items[0].get(text_key)}]
    return []


def output_messages(parts: list[dict[str, Any]], reason: str | None) -> list[dict[str, Any]]:
    return [{"role": "assistant", "parts": parts, "finish_reason": genai_finish_reason(reason)}]


def load_body(body: Any) -> dict[str, Any] | None:
    """An InvokeModel request body (bytes, str or a dict); ``None`` for a file-like body, which
    is the SDK's to read."""
    if isinstance(body, dict):
        return body
    if isinstance(body, (bytes, bytearray, str)):
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None
