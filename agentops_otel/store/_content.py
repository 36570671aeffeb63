"""How a span's attributes are stored: the content ones (prompts, completions, tool payloads:
most of a span's bytes) compressed in ``spans.content``, the others as JSON in
``spans.attributes``, where SQL reads them (``json_extract``). Readers get them back joined."""

from __future__ import annotations

import json
import sqlite3
import zlib
from typing import Any

from agentops_otel import semconv as A
from agentops_otel.store._search import SEARCHED_KEYS, search_text, unindex_text

# the searched keys but the names, which SQL filters read
CONTENT_KEYS = tuple(k for k in SEARCHED_KEYS if k not in (A.SESSION_NAME, A.AGENT_NAME))

dumps = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":")).encode


def split(attrs: dict[str, Any]) -> tuple[str, bytes | None]:
    """``attrs`` as stored: the JSON of the others, the compressed JSON of the content ones
    (``None`` when there are none)."""
    content = {k: attrs[k] for k in CONTENT_KEYS if k in attrs}
    if not content:
        return dumps(attrs), None
    rest = {k: v for k, v in attrs.items() if k not in content}
    return dumps(rest), zlib.compress(dumps(content).encode(), 1)


def joined(attributes: str, content: bytes | None) -> dict[str, Any]:
    """The attributes of a stored span, content included."""
    attrs = json.loads(attributes)
    if content:
        attrs.update(json.loads(zlib.decompress(content)))
    return attrs


def stored_text(attributes: str, events: str, content: bytes | None) -> str:
    """The searchable text a stored span was indexed with."""
    return search_text(joined(attributes, content), json.loads(events))


def unindex_spans(conn: sqlite3.Connection, where: str, params: Any = ()) -> None:
    """Take the spans ``where`` selects out of the full-text index (before deleting them)."""
    rows = conn.cursor().execute(
        f"SELECT rowid, attributes, events, content FROM spans WHERE {where}", params
    )  # streamed: a large delete never sits in memory
    unindex_text(conn, ((r[0], stored_text(*r[1:])) for r in rows))
