"""google-genai request and response shapes → GenAI semantic-convention forms.

The SDK takes many spellings of the same thing (a string, a list of strings, ``Part`` / ``Content``
models, dicts in snake_case), so every read goes through :func:`get`. Content helpers are only
called when content capture is on.
"""

from __future__ import annotations

from typing import Any

_FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
}


def get(obj: Any, name: str) -> Any:
    """``obj[name]`` for a dict (snake_case or camelCase), ``obj.name`` for a model."""
    if isinstance(obj, dict):
        value = obj.get(name)
        if value is None and "_" in name:
            head, *rest = name.split("_")
            value = obj.get(head + "".join(word.title() for word in rest))
        return value
    return getattr(obj, name, None)


def number(value: Any) -> int | float | None:
    """An int or float that is not a bool, else ``None``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


def enum_name(value: Any) -> str | None:
    """``FinishReason.STOP`` / ``"STOP"`` → ``"STOP"``."""
    if value is None:
        return None
    return str(getattr(value, "name", None) or getattr(value, "value", None) or value)


def finish_reason(reason: str | None, has_tool_call: bool) -> str:
    if has_tool_call:
        return "tool_call"
    if reason is None:
        return "stop"
    return _FINISH_REASONS.get(reason, reason.lower())


def _plain(value: Any) -> Any:
    """A pydantic model as a JSON-ready dict; anything else as is."""
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json", exclude_none=True)
    return value


def part(item: Any) -> dict[str, Any]:
    """One ``Part`` (or a plain string) as a GenAI message part."""
    if isinstance(item, str):
        return {"type": "text", "content": item}
    call = get(item, "function_call")
    if call is not None:
        return {
            "type": "tool_call",
            "id": get(call, "id"),
            "name": get(call, "name"),
            "arguments": _plain(get(call, "args")),
        }
    response = get(item, "function_response")
    if response is not None:
        return {
            "type": "tool_call_response",
            "id": get(response, "id") or get(response, "name"),
            "response": _plain(get(response, "response")),
        }
    text = get(item, "text")
    if text is not None:
        return {"type": "reasoning" if get(item, "thought") else "text", "content": text}
    blob = get(item, "inline_data")
    if blob is not None:
        return {"type": "blob", "mime_type": get(blob, "mime_type"), "content": get(blob, "data")}
    uri = get(item, "file_data")
    if uri is not None:
        return {"type": "uri", "mime_type": get(uri, "mime_type"), "uri": get(uri, "file_uri")}
    return {"type": "unknown"}


def _is_content(item: Any) -> bool:
    return get(item, "parts") is not None or (isinstance(item, dict) and "role" in item)


def _message(content: Any) -> dict[str, Any]:
    parts = [part(p) for p in get(content, "parts") or ()]
    role = get(content, "role") or "user"
    if role == "model":
        role = "assistant"
    elif parts and all(p["type"] == "tool_call_response" for p in parts):
        role = "tool"
    return {"role": role, "parts": parts}


def input_messages(contents: Any) -> list[dict[str, Any]] | None:
    """``contents`` in GenAI message form: a list of ``Content`` is a conversation; a string,
    a ``Part`` or a list of them is one user turn (as the SDK reads it)."""
    if contents is None:
        return None
    if not isinstance(contents, (list, tuple)):
        contents = [contents]
    if all(_is_content(item) for item in contents):
        return [_message(item) for item in contents]
    messages: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []
    for item in contents:
        if _is_content(item):
            messages.append(_message(item))
        else:
            loose.append(part(item))
    if loose:
        messages.append({"role": "user", "parts": loose})
    return messages


def system_instructions(system: Any) -> list[dict[str, Any]] | None:
    """``config.system_instruction`` (a string, ``Part``, ``Content`` or a list) as parts."""
    if system is None:
        return None
    if _is_content(system):
        return [part(p) for p in get(system, "parts") or ()]
    items = system if isinstance(system, (list, tuple)) else [system]
    return [part(p) for p in items]


def tool_definitions(tools: Any) -> list[dict[str, Any]] | None:
    """Function declarations and Python callables (automatic function calling) as definitions."""
    if not isinstance(tools, (list, tuple)):
        return None
    out: list[dict[str, Any]] = []
    for tool in tools:
        if callable(tool) and not hasattr(tool, "model_dump"):
            out.append(
                {
                    "type": "function",
                    "name": getattr(tool, "__name__", None),
                    "description": (getattr(tool, "__doc__", None) or "").strip() or None,
                }
            )
            continue
        declarations = get(tool, "function_declarations")
        if not declarations:
            kinds = [k for k, v in (_plain(tool) or {}).items() if v] if tool is not None else []
            out.append({"type": kinds[0] if kinds else "unknown"})
            continue
        for declaration in declarations:
            parameters = get(declaration, "parameters") or get(
                declaration, "parameters_json_schema"
            )
            out.append(
                {
                    "type": "function",
                    "name": get(declaration, "name"),
                    "description": get(declaration, "description"),
                    "parameters": _plain(parameters),
                }
            )
    return out


def output_messages(candidates: Any) -> list[dict[str, Any]]:
    """One assistant message per candidate."""
    out = []
    for candidate in candidates or ():
        content = get(candidate, "content")
        parts = [part(p) for p in get(content, "parts") or ()] if content is not None else []
        has_call = any(p["type"] == "tool_call" for p in parts)
        out.append(
            {
                "role": "assistant",
                "parts": parts,
                "finish_reason": finish_reason(
                    enum_name(get(candidate, "finish_reason")), has_call
                ),
            }
        )
    return out
