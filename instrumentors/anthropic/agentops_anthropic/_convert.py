"""Anthropic request and response shapes → GenAI semantic-convention forms.

Only called when content capture is on. Blocks arrive as the user wrote them (dicts) or as the
SDK's pydantic models (an assistant turn passed back as ``response.content``), so every read goes
through :func:`get`.
"""

from __future__ import annotations

from typing import Any

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
}


def get(obj: Any, name: str) -> Any:
    """``obj[name]`` for a dict, ``obj.name`` for a model; ``None`` when absent."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def finish_reason(stop_reason: Any) -> str:
    """The GenAI output-message finish reason for an Anthropic ``stop_reason``."""
    if not isinstance(stop_reason, str):
        return "error" if stop_reason is not None else "stop"
    return _FINISH_REASONS.get(stop_reason, stop_reason)


def part(block: Any) -> dict[str, Any]:
    """One content block as a GenAI message part."""
    kind = get(block, "type")
    if kind == "text":
        return {"type": "text", "content": get(block, "text")}
    if kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
        return {
            "type": "tool_call",
            "id": get(block, "id"),
            "name": get(block, "name"),
            "arguments": get(block, "input"),
        }
    if kind == "tool_result" or (isinstance(kind, str) and kind.endswith("_tool_result")):
        return {
            "type": "tool_call_response",
            "id": get(block, "tool_use_id"),
            "response": _result_content(get(block, "content")),
        }
    if kind == "thinking":
        return {"type": "reasoning", "content": get(block, "thinking")}
    if kind in ("image", "document"):
        return _media(kind, get(block, "source"))
    return {"type": kind if isinstance(kind, str) else "unknown"}


def _result_content(content: Any) -> Any:
    """A tool result's content: its text when it is text blocks, else the blocks' parts."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        parts = [part(block) for block in content]
        if all(p["type"] == "text" for p in parts):
            return "".join(str(p["content"] or "") for p in parts)
        return parts
    return content


def _media(kind: str, source: Any) -> dict[str, Any]:
    modality = "image" if kind == "image" else "document"
    source_type = get(source, "type")
    if source_type == "base64":
        return {
            "type": "blob",
            "modality": modality,
            "mime_type": get(source, "media_type"),
            "content": get(source, "data"),
        }
    if source_type == "url":
        return {"type": "uri", "modality": modality, "uri": get(source, "url")}
    if source_type == "text":
        return {"type": "text", "content": get(source, "data")}
    return {"type": kind}


def parts(content: Any) -> list[dict[str, Any]]:
    """A message ``content`` (a string or a list of blocks) as GenAI parts.

    Other iterables are left alone: reading a generator here would take it from the SDK.
    """
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, (list, tuple)):
        return [part(block) for block in content]
    return []


def input_messages(messages: Any) -> list[dict[str, Any]] | None:
    """The messages in GenAI form; ``None`` for a one-shot iterable the SDK still has to read."""
    if not isinstance(messages, (list, tuple)):
        return None
    return [{"role": get(m, "role"), "parts": parts(get(m, "content"))} for m in messages]


def system_instructions(system: Any) -> list[dict[str, Any]] | None:
    """``system`` (a string or text blocks) as a list of parts, the GenAI form."""
    if system is None or not isinstance(system, (str, list, tuple)):
        return None
    return parts(system)


def tool_definitions(tools: Any) -> list[dict[str, Any]] | None:
    """Tool definitions in the GenAI form; server tools keep their Anthropic type."""
    if not isinstance(tools, (list, tuple)):
        return None
    out = []
    for tool in tools:
        kind = get(tool, "type")
        if kind in (None, "custom"):
            out.append(
                {
                    "type": "function",
                    "name": get(tool, "name"),
                    "description": get(tool, "description"),
                    "parameters": get(tool, "input_schema"),
                }
            )
        else:
            out.append({"type": kind, "name": get(tool, "name")})
    return out


def output_messages(content: Any, stop_reason: Any) -> list[dict[str, Any]]:
    return [
        {"role": "assistant", "parts": parts(content), "finish_reason": finish_reason(stop_reason)}
    ]
