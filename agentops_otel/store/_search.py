"""Full-text search of the local store: what a span's searchable text is, and its index rows.

Shared by the writer (each stored span), the log attacher (content sent as logs), the schema
migration (stores written before search) and the ClickHouse reader (the same keys).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from agentops_otel import semconv as A

# What full-text search looks in (on the span and on its events), and how much of it per span:
# a conversation repeats its history in every call, so the first part of each is enough.
SEARCHED_KEYS = (
    A.GEN_AI_INPUT_MESSAGES,
    A.GEN_AI_OUTPUT_MESSAGES,
    A.GEN_AI_SYSTEM_INSTRUCTIONS,
    A.GEN_AI_TOOL_CALL_ARGUMENTS,
    A.GEN_AI_TOOL_CALL_RESULT,
    A.INPUT,
    A.OUTPUT,
)
SEARCH_CHARS = 100_000


def _strings(value: Any, out: list[str]) -> None:
    """The string leaves of a decoded attribute (JSON keys left out: they match everything)."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _strings(item, out)
    elif isinstance(value, (dict, Mapping)):  # dict first: the ABC check is slow
        for item in value.values():
            _strings(item, out)


def search_text(attrs: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> str:
    """The searchable text of a span: the string values inside its prompts, completions,
    system instructions and tool payloads (JSON-encoded or not), cut to SEARCH_CHARS."""
    found: list[str] = []
    for source in (attrs, *(e.get("attributes") or {} for e in events)):
        for key in SEARCHED_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value[:1] in ("[", "{"):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            _strings(value, found)
    return "\n".join(found)[:SEARCH_CHARS]


def index_text(conn: sqlite3.Connection, session_id: str, text: str) -> None:
    """Add one span's searchable text (if any) to the full-text index of its session."""
    if text:
        row = conn.execute(
            "INSERT INTO span_text (text, session_id) VALUES (?, ?)", (text, session_id)
        ).lastrowid
        conn.execute(
            "INSERT INTO span_text_rows (session_id, text_rowid) VALUES (?, ?)", (session_id, row)
        )
