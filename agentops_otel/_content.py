"""Bounded, JSON-safe rendering of prompts, completions and function arguments.

Content is captured by default and always kept valid JSON: long strings are cut with a marker,
deep or huge structures are summarised, and the redaction hook sees every value before it is kept.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from agentops_otel import _config

_MAX_DEPTH = 8
_MAX_ITEMS = 200
_MAX_MESSAGES = 64  # of a conversation, the most recent kept
_REDACTION_FAILED = '"[redaction failed]"'


def json_encoder(
    default: Callable[[Any], Any], separators: tuple[str, str] = (", ", ": ")
) -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=False, default=default, separators=separators)``,
    made once: ``dumps`` with options builds an encoder per call, and so does
    ``JSONEncoder.encode`` (a microsecond each); CPython's C encoder is made here once and
    called directly. It keeps no record of the containers it is in (that record is what cannot
    be shared between threads), so a value that contains itself raises ``RecursionError``
    instead of ``ValueError``."""
    if c_make_encoder is None:  # an interpreter without the C encoder
        encoder = json.JSONEncoder(ensure_ascii=False, default=default, separators=separators)
        return encoder.encode
    item, key = separators
    encode = c_make_encoder(None, default, encode_basestring, None, key, item, False, False, True)
    return lambda value: "".join(encode(value, 0))


_strict = json_encoder(json.JSONEncoder().default)  # raises TypeError for what JSON cannot hold
_lenient = json_encoder(str)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated {len(text) - limit} chars]"


def _repr(value: Any, limit: int) -> str:
    try:
        return _cut(repr(value), limit)
    except Exception:  # noqa: BLE001 - a user's __repr__ may raise
        return f"<{type(value).__name__}>"


def _plain(value: Any, limit: int, depth: int = 0) -> Any:
    """A JSON-serialisable copy of ``value`` with every string cut to ``limit`` characters."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return _cut(value, limit)
    if depth >= _MAX_DEPTH:
        return _repr(value, limit)
    if isinstance(value, dict):
        out = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= _MAX_ITEMS:
                out["…"] = f"{len(value) - _MAX_ITEMS} more keys"
                break
            out[str(k)] = _plain(v, limit, depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        out_list = [_plain(v, limit, depth + 1) for v in items[:_MAX_ITEMS]]
        if len(items) > _MAX_ITEMS:
            out_list.append(f"… {len(items) - _MAX_ITEMS} more items")
        return out_list
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    dump = getattr(value, "model_dump", None)  # pydantic v2 models
    if callable(dump):
        try:
            return _plain(dump(mode="json", exclude_none=True), limit, depth + 1)
        except Exception:  # noqa: BLE001 - a user's model may refuse to dump
            pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        try:
            return _plain(dataclasses.asdict(value), limit, depth + 1)
        except Exception:  # noqa: BLE001
            pass
    return _repr(value, limit)


def to_json(value: Any, key: str = "", limit: int | None = None) -> str:
    """Render ``value`` as bounded JSON after the redaction hook (never raises).

    If the hook itself fails, nothing of the value is kept: a marker is recorded instead.
    """
    settings = _config.current()
    limit = limit or settings.max_content_chars
    if settings.redact is not None:
        try:
            value = settings.redact(key, value)
        except Exception:  # noqa: BLE001 - a failing hook must not leak what it should hide
            return _REDACTION_FAILED
    try:
        return _lenient(_plain(value, limit))
    except Exception:  # noqa: BLE001 - content is best effort, never the user's problem
        return json.dumps(_repr(value, limit))


class Converted(Sequence):
    """``items`` seen through ``convert``, one at a time, when read.

    :func:`messages_json` reads a long conversation newest first and stops at its budget, so
    the messages it leaves out are never converted.
    """

    __slots__ = ("_convert", "_items")

    def __init__(self, items: Iterable[Any], convert: Callable[[Any], Any]) -> None:
        self._items = items if isinstance(items, (list, tuple)) else list(items)
        self._convert = convert

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._convert(item) for item in self._items[index]]
        return self._convert(self._items[index])


def messages_json(messages: Iterable[Any], key: str, limit: int | None = None) -> str:
    """Render a conversation, keeping the most recent messages within a total budget.

    Each string is cut to ``limit``; once the total passes 4×``limit`` characters or 64
    messages, older messages are replaced by one marker, so the cost of capture stays bounded
    as a conversation grows.
    """
    settings = _config.current()
    limit = limit or settings.max_content_chars
    budget = 4 * limit
    try:
        items = messages if isinstance(messages, Sequence) else list(messages)
        if settings.redact is None and len(items) <= _MAX_MESSAGES:  # usual: one dumps
            plain_items = items[:] if isinstance(items, Converted) else items
            try:  # plain JSON no longer than one string's limit: nothing to cut or convert
                text = _strict(plain_items)
                if len(text) <= limit:
                    return text
            except (TypeError, ValueError, RecursionError):
                pass
            plain_items = [_plain(message, limit) for message in plain_items]
            text = _lenient(plain_items)
            if len(text) <= budget:
                return text
        kept: list[Any] = []
        texts: list[str] = []
        used = 0
        for message in reversed(items):
            plain = _plain(message, limit)
            text = _lenient(plain)
            used += len(text)
            if kept and (used > budget or len(kept) >= _MAX_MESSAGES):
                plain = {
                    "role": "system",
                    "parts": [
                        {
                            "type": "text",
                            "content": f"[{len(items) - len(kept)} earlier messages omitted]",
                        }
                    ],
                }
                kept.append(plain)
                texts.append(json.dumps(plain))
                break
            kept.append(plain)
            texts.append(text)
    except Exception:  # noqa: BLE001
        return "[]"
    if settings.redact is None:
        return "[" + ", ".join(reversed(texts)) + "]"
    kept.reverse()
    try:
        return _lenient(settings.redact(key, kept))
    except Exception:  # noqa: BLE001 - a failing hook must not leak what it should hide
        return _REDACTION_FAILED
