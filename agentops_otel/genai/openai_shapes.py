"""Converters from OpenAI-shaped requests and responses to the GenAI message form, and usage.

Shared by the OpenAI instrumentor and by anything that sees OpenAI-shaped data (LiteLLM's
``ModelResponse`` / ``ModelResponseStream``). Every function accepts pydantic objects and plain
dicts alike, tolerates missing fields, and never mutates its argument. The message converters
are only worth calling when content capture is on; the usage, finish-reason and stream
accumulator helpers are cheap and always used.

GenAI message form: ``{"role": "user", "parts": [{"type": "text", "content": "…"}]}``; tool
calls are ``{"type": "tool_call", "id", "name", "arguments"}``, tool results
``{"type": "tool_call_response", "id", "response"}``; output messages carry ``finish_reason``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from agentops_otel._content import Converted

__all__ = [
    "ChatStreamAccumulator",
    "ResponsesStreamAccumulator",
    "chat_finish_reasons",
    "chat_input_messages",
    "chat_output_messages",
    "content_parts",
    "field",
    "record_chat_completion",
    "record_response",
    "record_usage",
    "responses_finish_reason",
    "responses_input_messages",
    "responses_output_messages",
    "usage_counts",
]


_class_has: dict[tuple[type, str], bool] = {}  # does the class define this (property, slot)?


def field(obj: Any, name: str) -> Any:
    """``obj[name]`` for a dict, ``obj.name`` otherwise; ``None`` when absent.

    Fields of pydantic models are read from ``__dict__`` (and their extras) first: asking a
    pydantic model for a missing attribute raises inside ``__getattr__``, which costs
    microseconds, and usage objects are asked for fields they often lack.
    """
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    values = getattr(obj, "__dict__", None)
    if values is not None:
        if name in values:
            return values[name]
        extra = getattr(obj, "__pydantic_extra__", None)
        if extra and name in extra:
            return extra[name]
        cls = type(obj)
        known = _class_has.get((cls, name))
        if known is None:  # once per class and name: pydantic's metaclass makes misses slow
            known = _class_has[(cls, name)] = hasattr(cls, name)
        if not known:
            return None
    return getattr(obj, name, None)


_EMPTY: dict[str, Any] = {}
_MISSING = object()


def _values(obj: Any) -> Any:
    """What :func:`_read` reads first: a dict itself, or a model's ``__dict__``."""
    return obj if type(obj) is dict else getattr(obj, "__dict__", _EMPTY)


def _read(values: Any, obj: Any, name: str) -> Any:
    """``name`` from ``values`` (a dict or a model's ``__dict__``), else via :func:`field`."""
    if name in values:
        return values[name]
    return field(obj, name)


def _arguments(raw: Any) -> Any:
    """Tool-call arguments as JSON when they parse as JSON, else as sent."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _data_url_part(url: str, modality: str) -> dict[str, Any]:
    """A ``data:`` URL as a blob part; any other URL as a uri part."""
    if url.startswith("data:") and "," in url:
        header, _, data = url[5:].partition(",")
        return {
            "type": "blob",
            "modality": modality,
            "mime_type": header.split(";")[0] or None,
            "content": data,
        }
    return {"type": "uri", "modality": modality, "uri": url}


def _part(part: Any) -> dict[str, Any]:
    """One OpenAI content part (chat or Responses API) as a GenAI part."""
    if isinstance(part, str):
        return {"type": "text", "content": part}
    kind = field(part, "type")
    if kind in ("text", "input_text", "output_text"):
        return {"type": "text", "content": field(part, "text") or ""}
    if kind == "refusal":
        return {"type": "text", "content": field(part, "refusal") or ""}
    if kind == "image_url":
        image = field(part, "image_url")
        url = image if isinstance(image, str) else field(image, "url")
        return _data_url_part(url or "", "image")
    if kind == "input_image":
        url = field(part, "image_url")
        if url:
            return _data_url_part(url, "image")
        return {"type": "file", "modality": "image", "file_id": field(part, "file_id")}
    if kind == "input_audio":
        audio = field(part, "input_audio") or part
        fmt = field(audio, "format")
        return {
            "type": "blob",
            "modality": "audio",
            "mime_type": f"audio/{fmt}" if fmt else None,
            "content": field(audio, "data"),
        }
    if kind in ("file", "input_file"):
        spec = field(part, "file") or part
        file_id = field(spec, "file_id")
        if file_id:
            return {"type": "file", "file_id": file_id, "filename": field(spec, "filename")}
        return {
            "type": "blob",
            "filename": field(spec, "filename"),
            "content": field(spec, "file_data"),
        }
    plain = dict(part) if isinstance(part, dict) else _dump(part)
    plain["type"] = kind or "unknown"
    return plain


def _dump(obj: Any) -> dict[str, Any]:
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        try:
            return dump(exclude_none=True)
        except Exception:  # noqa: BLE001 - a foreign model may refuse
            pass
    return {"value": repr(obj)}


def content_parts(content: Any) -> list[dict[str, Any]]:
    """Message ``content`` (a string, a list of parts, or ``None``) as GenAI parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, (list, tuple)):
        return [_part(p) for p in content]
    return [_part(content)]


def _tool_call_part(tool_call: Any) -> dict[str, Any]:
    function = field(tool_call, "function") or field(tool_call, "custom") or tool_call
    args = field(function, "arguments")
    if args is None:
        args = field(function, "input")
    return {
        "type": "tool_call",
        "id": field(tool_call, "id"),
        "name": field(function, "name"),
        "arguments": _arguments(args),
    }


def _chat_message(message: Any) -> dict[str, Any]:
    values = _values(message)  # a dict, or a model's fields: read without a call each
    role = _read(values, message, "role") or "user"
    content = _read(values, message, "content")
    if role in ("tool", "function"):
        call_id = _read(values, message, "tool_call_id") or _read(values, message, "name")
        if isinstance(content, (list, tuple)):
            content = "".join(
                p.get("content", "") for p in content_parts(content) if p.get("type") == "text"
            )
        return {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": call_id, "response": content}],
        }
    if type(content) is str and values is message and values.keys() <= _TEXT_ONLY:
        # the usual request message: a dict of role and text
        return {"role": role, "parts": [{"type": "text", "content": content}]}
    parts = content_parts(content)
    refusal = _read(values, message, "refusal")
    if refusal:
        parts.append({"type": "text", "content": refusal})
    for tool_call in _read(values, message, "tool_calls") or ():
        parts.append(_tool_call_part(tool_call))
    function_call = _read(values, message, "function_call")
    if function_call:
        parts.append(
            {
                "type": "tool_call",
                "id": None,
                "name": field(function_call, "name"),
                "arguments": _arguments(field(function_call, "arguments")),
            }
        )
    out: dict[str, Any] = {"role": role, "parts": parts}
    name = _read(values, message, "name")
    if name:
        out["name"] = name
    return out


_TEXT_ONLY = frozenset(("role", "content"))


def chat_input_messages(messages: Iterable[Any] | None) -> Sequence[dict[str, Any]]:
    """Chat Completions request ``messages`` as GenAI input messages.

    System and developer messages stay in the list with their own role (in Chat Completions they
    are part of the conversation); ``role="tool"`` results become ``tool_call_response`` parts
    and assistant ``tool_calls`` become ``tool_call`` parts with their arguments parsed as JSON.
    """
    if not messages:
        return []
    return Converted(messages, _chat_message)  # converted as read: long histories stay cheap


def chat_output_messages(choices: Iterable[Any] | None) -> list[dict[str, Any]]:
    """Response ``choices`` as GenAI output messages, each with its ``finish_reason``."""
    out = []
    for choice in choices or ():
        message = _chat_message(field(choice, "message") or {"role": "assistant"})
        if message["role"] == "user":
            message["role"] = "assistant"
        message["finish_reason"] = field(choice, "finish_reason") or ""
        out.append(message)
    return out


def chat_finish_reasons(choices: Iterable[Any] | None) -> list[str]:
    """The ``finish_reason`` of every choice that has one."""
    return [reason for choice in choices or () if (reason := field(choice, "finish_reason"))]


def record_chat_completion(call: Any, completion: Any, content: bool) -> None:
    """Record a complete (non-streamed) Chat Completions response on an ``LLMCall``: id,
    model, finish reasons, usage and, with ``content``, the output messages."""
    values = _values(completion)
    choices = _read(values, completion, "choices")
    call.set_response(
        response_id=_read(values, completion, "id"),
        model=_read(values, completion, "model"),
        finish_reasons=chat_finish_reasons(choices),
    )
    record_usage(call, _read(values, completion, "usage"))
    if content:
        call.set_output(chat_output_messages(choices))


# -- usage ------------------------------------------------------------------------------------
def usage_counts(usage: Any) -> tuple[Any, Any, Any, Any, Any] | None:
    """``(input, output, cache_read, cache_write, reasoning)`` from an OpenAI-shaped usage.

    Reads Chat Completions / embeddings usage (``prompt_tokens``, ``completion_tokens``,
    ``prompt_tokens_details.cached_tokens``, ``completion_tokens_details.reasoning_tokens``) and
    Responses API usage (``input_tokens``, ``output_tokens``, ``input_tokens_details`` /
    ``output_tokens_details``). OpenAI's totals already include cached and reasoning tokens, as
    the OTel convention wants. Cache writes are read where OpenAI-compatible proxies report them
    (``cache_creation_input_tokens`` or ``prompt_tokens_details.cache_creation_tokens``). Values
    are passed on as found (the span helper drops non-integers); ``None`` when there is no usage.
    """
    if usage is None:
        return None
    values = _values(usage)
    inp = _read(values, usage, "prompt_tokens")
    if inp is not None:
        out = _read(values, usage, "completion_tokens")
        in_details = _read(values, usage, "prompt_tokens_details")
        out_details = _read(values, usage, "completion_tokens_details")
    else:
        inp = _read(values, usage, "input_tokens")
        out = _read(values, usage, "output_tokens")
        if inp is None and out is None:
            return None
        in_details = _read(values, usage, "input_tokens_details")
        out_details = _read(values, usage, "output_tokens_details")
    cache_read = field(in_details, "cached_tokens") if in_details is not None else None
    cache_write = _read(values, usage, "cache_creation_input_tokens")
    if cache_write is None and in_details is not None:
        cache_write = field(in_details, "cache_creation_tokens")
    reasoning = field(out_details, "reasoning_tokens") if out_details is not None else None
    return inp, out, cache_read, cache_write, reasoning


def record_usage(call: Any, usage: Any) -> None:
    """Set an OpenAI-shaped ``usage`` on an ``LLMCall`` (nothing when there is none).

    Zero cache and reasoning counts are left out (absent means none): every span attribute
    costs time on the caller's thread.
    """
    counts = usage_counts(usage)
    if counts is not None:
        call.set_usage(
            counts[0],
            counts[1],
            cache_read=counts[2] or None,
            cache_write=counts[3] or None,
            reasoning=counts[4] or None,
        )


# -- Responses API ----------------------------------------------------------------------------
def responses_input_messages(input_: Any) -> list[dict[str, Any]]:
    """Responses API ``input`` (a string or a list of items) as GenAI input messages.

    Message items keep their role; ``function_call`` items become assistant ``tool_call`` parts,
    ``function_call_output`` items tool ``tool_call_response`` parts; other items (reasoning,
    built-in tool calls) are kept under their own part type. ``instructions`` are not part of
    this: record them as system instructions.
    """
    if input_ is None:
        return []
    if isinstance(input_, str):
        return [{"role": "user", "parts": [{"type": "text", "content": input_}]}]
    out: list[dict[str, Any]] = []
    for item in input_:
        kind = field(item, "type")
        if kind == "function_call":
            part = {
                "type": "tool_call",
                "id": field(item, "call_id"),
                "name": field(item, "name"),
                "arguments": _arguments(field(item, "arguments")),
            }
            out.append({"role": "assistant", "parts": [part]})
        elif kind in ("function_call_output", "custom_tool_call_output"):
            output = field(item, "output")
            out.append(
                {
                    "role": "tool",
                    "parts": [
                        {
                            "type": "tool_call_response",
                            "id": field(item, "call_id"),
                            "response": output
                            if isinstance(output, str)
                            else content_parts(output),
                        }
                    ],
                }
            )
        elif kind in (None, "message") or field(item, "role") is not None:
            out.append(
                {
                    "role": field(item, "role") or "user",
                    "parts": content_parts(field(item, "content")),
                }
            )
        else:
            out.append({"role": "assistant", "parts": [_part(item)]})
    return out


def responses_output_messages(response: Any) -> list[dict[str, Any]]:
    """A Responses API ``Response``'s ``output`` as one GenAI assistant message."""
    parts: list[dict[str, Any]] = []
    for item in field(response, "output") or ():
        kind = field(item, "type")
        if kind == "message":
            parts.extend(content_parts(field(item, "content")))
        elif kind in ("function_call", "custom_tool_call"):
            args = field(item, "arguments")
            parts.append(
                {
                    "type": "tool_call",
                    "id": field(item, "call_id"),
                    "name": field(item, "name"),
                    "arguments": _arguments(args if args is not None else field(item, "input")),
                }
            )
        elif kind == "reasoning":
            summary = [field(s, "text") for s in field(item, "summary") or ()]
            if any(summary):
                parts.append({"type": "reasoning", "content": "\n".join(filter(None, summary))})
        elif kind is not None:
            parts.append(_part(item))
    return [
        {
            "role": "assistant",
            "parts": parts,
            "finish_reason": responses_finish_reason(response) or "",
        }
    ]


def responses_finish_reason(response: Any) -> str | None:
    """A chat-style finish reason for a Responses API ``Response``.

    ``tool_calls`` when it asks for a function call, ``length`` / ``content_filter`` for an
    incomplete response, ``stop`` when completed, else its ``status``.
    """
    status = field(response, "status")
    if status == "incomplete":
        reason = field(field(response, "incomplete_details"), "reason")
        return "length" if reason == "max_output_tokens" else (reason or "incomplete")
    for item in field(response, "output") or ():
        if field(item, "type") in ("function_call", "custom_tool_call"):
            return "tool_calls"
    if status == "completed":
        return "stop"
    return status


# -- streams ----------------------------------------------------------------------------------
class _ToolCallDelta:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []


class _Choice:
    __slots__ = ("refusal", "role", "text", "tool_calls")

    def __init__(self) -> None:
        self.role = "assistant"
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, _ToolCallDelta] = {}


def _add_delta(state: _Choice, delta: Any) -> None:
    """Join one streamed delta into its choice's text, refusal and tool calls."""
    if delta is None:
        return
    values = delta if type(delta) is dict else getattr(delta, "__dict__", _EMPTY)
    # the usual chunk: a model's delta of text alone (its other fields present, all None)
    if (
        values.get("role", _MISSING) is None
        and values.get("refusal", _MISSING) is None
        and values.get("tool_calls", _MISSING) is None
    ):
        text = values.get("content")
        if text:
            state.text.append(text)
        return
    role = _read(values, delta, "role")
    if role:
        state.role = role
    text = _read(values, delta, "content")
    if text:
        state.text.append(text)
    refusal = _read(values, delta, "refusal")
    if refusal:
        state.refusal.append(refusal)
    for tool_delta in _read(values, delta, "tool_calls") or ():
        index = field(tool_delta, "index") or 0
        tool = state.tool_calls.get(index)
        if tool is None:
            tool = state.tool_calls[index] = _ToolCallDelta()
        call_id = field(tool_delta, "id")
        if call_id:
            tool.id = call_id
        function = field(tool_delta, "function")
        if function is not None:
            name = field(function, "name")
            if name:
                tool.name = name
            args = field(function, "arguments")
            if args:
                tool.arguments.append(args)


class ChatStreamAccumulator:
    """Collects streamed Chat Completions chunks and records them on an ``LLMCall``.

    ``add(chunk)`` keeps id, model, finish reasons and usage (a final usage chunk arrives only
    when the request set ``stream_options.include_usage``); with ``content=True`` it also
    joins text, refusal and tool-call deltas (by choice index and tool-call index).
    ``finish(call)`` records all of it; it is the ``StreamAccumulator`` the span helper expects.
    """

    __slots__ = ("_choices", "_content", "_id", "_model", "_reasons", "_usage")

    def __init__(self, content: bool) -> None:
        self._content = content
        self._id: Any = None
        self._model: Any = None
        self._usage: Any = None
        self._reasons: dict[int, str] = {}
        self._choices: dict[int, _Choice] = {}

    def add(self, chunk: Any) -> None:
        """Take one chunk; with content off that is a few dict reads per chunk."""
        values = chunk if type(chunk) is dict else getattr(chunk, "__dict__", _EMPTY)
        if self._id is None:
            self._id = _read(values, chunk, "id")
            self._model = _read(values, chunk, "model")
        usage = values.get("usage", _MISSING)
        if usage is _MISSING:
            usage = field(chunk, "usage")
        if usage is not None:
            self._usage = usage
        choices = values.get("choices", _MISSING)
        if choices is _MISSING:
            choices = field(chunk, "choices")
        for choice in choices or ():
            fields = choice if type(choice) is dict else getattr(choice, "__dict__", _EMPTY)
            reason = fields.get("finish_reason", _MISSING)
            if reason is _MISSING:
                reason = field(choice, "finish_reason")
            if reason or self._content:
                index = (fields["index"] if "index" in fields else field(choice, "index")) or 0
                if reason:
                    self._reasons[index] = reason
                if self._content:
                    state = self._choices.get(index)
                    if state is None:
                        state = self._choices[index] = _Choice()
                    delta = fields["delta"] if "delta" in fields else field(choice, "delta")
                    _add_delta(state, delta)

    def output_messages(self) -> list[dict[str, Any]]:
        """The streamed choices as GenAI output messages (content capture only)."""
        out = []
        for index, state in sorted(self._choices.items()):
            parts: list[dict[str, Any]] = []
            if state.text:
                parts.append({"type": "text", "content": "".join(state.text)})
            if state.refusal:
                parts.append({"type": "text", "content": "".join(state.refusal)})
            for _, tool in sorted(state.tool_calls.items()):
                parts.append(
                    {
                        "type": "tool_call",
                        "id": tool.id,
                        "name": tool.name,
                        "arguments": _arguments("".join(tool.arguments)),
                    }
                )
            out.append(
                {"role": state.role, "parts": parts, "finish_reason": self._reasons.get(index, "")}
            )
        return out

    def finish(self, call: Any) -> None:
        """Record id, model, finish reasons, usage and (with content) the output messages."""
        reasons = [reason for _, reason in sorted(self._reasons.items())]
        call.set_response(response_id=self._id, model=self._model, finish_reasons=reasons)
        record_usage(call, self._usage)
        if self._content and self._choices:
            call.set_output(self.output_messages())


class ResponsesStreamAccumulator:
    """Collects a streamed Responses API call from its events; records it on an ``LLMCall``.

    Only the terminal events (``response.completed``, ``response.incomplete``,
    ``response.failed``) carry the full ``Response`` with usage; every other event costs one
    type check. Works on raw stream events and on ``ResponseStream`` events alike.
    """

    __slots__ = ("_content", "_response")
    _TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})

    def __init__(self, content: bool) -> None:
        self._content = content
        self._response: Any = None

    def add(self, event: Any) -> None:
        """Keep the ``Response`` of a terminal event."""
        if field(event, "type") in self._TERMINAL:
            self._response = field(event, "response")

    def finish(self, call: Any) -> None:
        """Record id, model, finish reason, usage and (with content) the output message."""
        if self._response is not None:
            record_response(call, self._response, self._content)


def record_response(call: Any, response: Any, content: bool) -> None:
    """Record a complete Responses API ``Response`` on an ``LLMCall``."""
    reason = responses_finish_reason(response)
    call.set_response(
        response_id=field(response, "id"),
        model=field(response, "model"),
        finish_reasons=[reason] if reason else None,
    )
    record_usage(call, field(response, "usage"))
    if content:
        call.set_output(responses_output_messages(response))
