"""``json.loads`` for large request bodies that lets other threads run while it parses.

``json.loads`` holds the GIL for the whole document (0.6 s for a 46 MB OTLP/JSON export), so
the pages served beside an ingest would wait that long. Here the outer containers are walked in
Python and only the values below :data:`OUTER_LEVELS` are handed to the C decoder, one at a
time (for OTLP: one span each), so the interpreter can switch threads between them. The result
is the same as ``json.loads``; too deep a document raises ``RecursionError`` the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

OUTER_LEVELS = 6  # OTLP: request, resourceSpans, resource, scopeSpans, scope, spans
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
# the pattern matches the empty string too, so a match is never None
_space: Callable[[str, int], re.Match[str]] = _SPACE.match  # type: ignore[assignment]


def loads(body: bytes | str) -> Any:
    """Parse ``body`` (UTF-8, -16 or -32 bytes, or text) like ``json.loads``."""
    text = (
        body.decode(json.detect_encoding(body), "surrogatepass")
        if isinstance(body, bytes)
        else body
    )
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM", text, 0)
    value, end = _value(text, _space(text, 0).end(), 0)
    end = _space(text, end).end()
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _value(text: str, at: int, depth: int) -> tuple[Any, int]:
    opener = text[at : at + 1]
    if depth >= OUTER_LEVELS or opener not in ("{", "["):
        return _DECODER.raw_decode(text, at)
    closer = "}" if opener == "{" else "]"
    items: Any = {} if opener == "{" else []
    at = _space(text, at + 1).end()
    if text[at : at + 1] == closer:
        return items, at + 1
    while True:
        if opener == "{":
            if text[at : at + 1] != '"':
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, at
                )
            key, at = _DECODER.raw_decode(text, at)
            at = _space(text, at).end()
            if text[at : at + 1] != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", text, at)
            value, at = _value(text, _space(text, at + 1).end(), depth + 1)
            items[key] = value
        else:
            value, at = _value(text, at, depth + 1)
            items.append(value)
        at = _space(text, at).end()
        sep = text[at : at + 1]
        if sep == closer:
            return items, at + 1
        if sep != ",":
            raise json.JSONDecodeError(f"Expecting ',' delimiter or {closer!r}", text, at)
        at = _space(text, at + 1).end()
