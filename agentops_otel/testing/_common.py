"""Provider-neutral parts of the fake LLM server: conversation, reply choice, usage, faults."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_ERROR_RE = re.compile(r"error-(400|401|404|429|500|503)")
_SLOW_RE = re.compile(r"slow-(\d+)")


@dataclass
class Conversation:
    """A request reduced to what the fake needs, whatever the provider's wire shape."""

    model: str
    texts: list[str] = field(default_factory=list)  # every piece of text, for the input count
    last_user_text: str = ""
    tool_results: list[str] = field(default_factory=list)  # results after the last user text
    tools: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, JSON schema)
    tools_json: str = ""  # compact JSON of the tool definitions as sent
    forced_tool: str | None = None  # tool_choice naming a tool
    tools_disabled: bool = False  # tool_choice "none"

    def add_tools(self, raw_tools: Any, specs: list[tuple[str, dict[str, Any]]]) -> None:
        """Record the offered tools (``specs``) and the JSON that counts towards input tokens."""
        if raw_tools:
            self.tools_json = json.dumps(raw_tools, separators=(",", ":"))
        self.tools = specs


@dataclass
class Decision:
    """What the assistant says: a text reply or one tool call (``tool_name`` set)."""

    text: str = ""
    tool_name: str | None = None
    tool_arguments: str = ""

    @property
    def output_text(self) -> str:
        """The text that output tokens are counted from."""
        return self.tool_arguments if self.tool_name else self.text


@dataclass(frozen=True)
class Faults:
    """Fault triggers parsed from a model name (see the fake_llm module docstring)."""

    error_status: int | None = None
    no_usage: bool = False
    malformed_sse: bool = False
    reset_mid_stream: bool = False
    delay_ms: int = 0

    @classmethod
    def from_model(cls, model: str) -> Faults:
        error = _ERROR_RE.search(model)
        slow = _SLOW_RE.search(model)
        return cls(
            error_status=int(error.group(1)) if error else None,
            no_usage="no-usage" in model,
            malformed_sse="malformed-sse" in model,
            reset_mid_stream="reset-mid-stream" in model,
            delay_ms=int(slow.group(1)) if slow else 0,
        )


@dataclass
class Context:
    """Per-request settings the provider modules need from the server."""

    rules: list[tuple[str, str]]
    report_usage: bool
    new_id: Callable[[str], str]  # prefix -> unique, deterministic id within one server
    params: dict[str, str] = field(default_factory=dict)  # a pattern route's path parameters


@dataclass
class Result:
    """A provider's answer: a JSON body, or SSE events as (event name or None, JSON data)."""

    body: dict[str, Any] | None = None
    events: list[tuple[str | None, str]] | None = None
    usage: dict[str, int] | None = None
    response_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    # A stream in another framing than SSE: (content type, encoder of one event to bytes).
    framing: tuple[str, Callable[[str | None, str], bytes]] | None = None


def sse_event(data: dict[str, Any], event: str | None = None) -> tuple[str | None, str]:
    """One server-sent event; ``event`` names it (Anthropic and Responses streams do)."""
    return event, json.dumps(data, separators=(",", ":"))


def text_of(content: Any) -> str:
    """Text of a message content: a string, or the ``text`` of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text") or "" if isinstance(part, dict) else str(part) for part in content
        )
    return str(content)


def decide(conv: Conversation, rules: list[tuple[str, str]]) -> Decision:
    """Choose the reply: tool call first, then a scripted rule, a tool echo, or the default."""
    if conv.tools and not conv.tools_disabled and not conv.tool_results:
        name, schema = conv.tools[0]
        if conv.forced_tool:
            name, schema = next(
                (spec for spec in conv.tools if spec[0] == conv.forced_tool), (name, schema)
            )
        args = json.dumps(example_for_schema(schema or {}), separators=(",", ":"))
        return Decision(tool_name=name, tool_arguments=args)
    for contains, reply in rules:
        if contains in conv.last_user_text:
            return Decision(text=reply)
    if conv.tool_results:
        return Decision(text="The tool returned: " + "; ".join(conv.tool_results))
    return Decision(text=f"Fake reply from {conv.model}: {conv.last_user_text[:60]}")


def input_tokens(conv: Conversation) -> int:
    """Total input tokens: (characters of all text + tool definitions JSON) // 4, at least 1."""
    chars = sum(len(text) for text in conv.texts) + len(conv.tools_json)
    return max(1, chars // 4)


def output_tokens(text: str) -> int:
    """Output tokens for one reply text (or tool-call arguments): len // 4, at least 1."""
    return max(1, len(text) // 4)


def reasoning_tokens(model: str, output: int) -> int:
    """Half the output for reasoning models (o1/o3/o4/gpt-5 prefixes), else 0."""
    return output // 2 if model.startswith(_REASONING_PREFIXES) else 0


def normalized_usage(
    total_input: int, output: int, cache_read: int, cache_write: int, reasoning: int
) -> dict[str, int]:
    """The provider-neutral usage recorded in the request log."""
    return {
        "input_tokens": total_input,
        "output_tokens": output,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
    }


def as_json_text(text: str, schema: dict[str, Any] | None) -> str:
    """Make a reply valid JSON: a JSON rule reply as is, else a schema example or ``{"reply"}``."""
    try:
        json.loads(text)
        return text
    except ValueError:
        pass
    value = example_for_schema(schema) if schema else {"reply": text}
    return json.dumps(value, separators=(",", ":"))


_STRING_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00",
    "email": "test@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-0000-0000-000000000000",
}
_SCALARS: dict[str, Any] = {"integer": 1, "number": 1, "boolean": True, "null": None}


def example_for_schema(
    schema: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0
) -> Any:
    """A placeholder value matching a JSON schema (string "test", numbers 1, arrays empty)."""
    root = root if root is not None else schema
    if not isinstance(schema, dict) or depth > 12:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for key in ref[2:].split("/"):
            target = target.get(key, {}) if isinstance(target, dict) else {}
        return example_for_schema({**target, "$ref": None}, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key) or [] if o.get("type") != "null"]
        if options:
            return example_for_schema(options[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        kind = "object"
    if kind == "string":
        return _STRING_FORMATS.get(schema.get("format", ""), "test")
    if kind == "array":
        return []
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: example_for_schema(sub, root, depth + 1) for name, sub in props.items()}
    return _SCALARS.get(kind or "null")


def split_text(text: str) -> list[str]:
    """Stream pieces of a reply: one word (with its leading space) per piece."""
    return re.findall(r"\s*\S+\s*$|\s*\S+", text) or [text]


def split_arguments(arguments: str) -> list[str]:
    """Tool-call arguments cut into three pieces, so they arrive over several deltas."""
    size = max(1, -(-len(arguments) // 3))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]
