"""Full-text search: what a span's searchable text is and its index rows (the writer, the log
attacher, the schema migration; the ClickHouse reader searches the same keys), and the search
box's small language, shared by the SQLite and the ClickHouse readers: words (each a
case-insensitive substring), ``"a phrase"`` (one substring, spaces included), ``word*`` (a
prefix: matched as a substring, like every word) and ``OR`` between alternatives. Everything
else is text to find, never syntax of the database's own query language."""

from __future__ import annotations

import json
import re
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
    A.SESSION_NAME,
    A.AGENT_NAME,
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


_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


def parse_search(q: str) -> list[list[str]]:
    """``q`` as alternatives (``OR``), each a list of terms that must all match.

    ``OR`` is an operator only between two terms; alone, first or last it is a word. A
    trailing ``*`` is dropped (``dupl*`` finds "duplicate"); ``*`` alone is a character to
    find. Empty phrases are ignored; a query of nothing else is searched for as it is."""
    tokens: list[tuple[str, bool]] = []  # (text, quoted)
    for match in _TOKEN.finditer(q):
        if match.group(1) is not None:
            if match.group(1).strip():
                tokens.append((match.group(1), True))
        else:
            word = match.group(2)
            tokens.append((word[:-1] if len(word) > 1 and word.endswith("*") else word, False))
    groups: list[list[str]] = [[]]
    for i, (text, quoted) in enumerate(tokens):
        operator = not quoted and text == "OR" and 0 < i < len(tokens) - 1
        if operator and groups[-1]:
            groups.append([])
        elif not operator:
            groups[-1].append(text)
    return [group for group in groups if group] or [[q.strip()]]
