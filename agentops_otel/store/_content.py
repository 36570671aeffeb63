"""How a span's attributes are stored, and when it is finished (compressed and indexed).

The content attributes (prompts, completions, tool payloads: most of a span's bytes) are kept
compressed (zlib of their JSON) in ``spans.content``, the others as JSON in
``spans.attributes``, where SQL reads them (``json_extract``); readers get them back joined.

Spans are finished in rowid order: content compressed, words indexed. ``text_indexed`` holds
the last finished rowid; the spans above it are the unfinished tail, which search reads from
the rows. The writer finishes each batch in its transaction, or leaves that for later (the
writer process, when idle): then a span's content waits as JSON text in ``span_pending``
(rewriting the span row with a smaller value would leave its pages part empty; a span row
that grows is rebalanced).
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Mapping
from typing import Any

from agentops_otel import semconv as A
from agentops_otel._content import json_encoder
from agentops_otel.store._search import SEARCHED_KEYS, index_text, search_text, unindex_text

# the searched keys but the names, which SQL filters read
CONTENT_KEYS = tuple(k for k in SEARCHED_KEYS if k not in (A.SESSION_NAME, A.AGENT_NAME))
FINISHED_DDL = (
    "CREATE TABLE IF NOT EXISTS text_indexed (last_rowid INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS span_pending (rowid INTEGER PRIMARY KEY, content TEXT NOT NULL)"
)
# a span's stored content, pending or not (readers select it as ``content``)
CONTENT_SQL = (
    "COALESCE(spans.content, (SELECT p.content FROM span_pending AS p WHERE p.rowid = spans.rowid))"
)


dumps = json_encoder(str, (",", ":"))  # the stored form: compact, made once


def split(attrs: Mapping[str, Any]) -> tuple[str, str | None]:
    """``attrs`` as stored: the JSON of the others, the JSON of the content ones (``None``
    when there are none; :func:`compressed` before it goes into ``spans.content``)."""
    content = {k: attrs[k] for k in CONTENT_KEYS if k in attrs}
    if not content:
        return dumps(attrs), None
    others = dict(attrs)  # a C copy less the few content keys: 5x a comprehension over all
    for key in content:
        del others[key]
    return dumps(others), dumps(content)


def compressed(content: str | None) -> bytes | None:
    return None if content is None else zlib.compress(content.encode(), 1)


def joined(attributes: str, content: str | bytes | None) -> dict[str, Any]:
    """The attributes of a stored span, content included (compressed or pending)."""
    attrs = json.loads(attributes)
    if content:
        attrs.update(json.loads(zlib.decompress(content) if type(content) is bytes else content))
    return attrs


def stored_text(attributes: str, events: str, content: str | bytes | None) -> str:
    """The searchable text of a stored span (what it is indexed with)."""
    return search_text(joined(attributes, content), json.loads(events))


def finished_upto(conn: sqlite3.Connection) -> int:
    """The last indexed rowid (0 in a file without the table: nothing indexed)."""
    try:
        row = conn.execute("SELECT last_rowid FROM text_indexed").fetchone()
    except sqlite3.OperationalError:  # a file of version 4 or older
        return 0
    return row[0] if row else 0


def last_rowid(conn: sqlite3.Connection) -> int:
    """The largest rowid in ``spans`` (0 when empty)."""
    (top,) = conn.execute("SELECT MAX(rowid) FROM spans").fetchone()
    return top or 0


def waiting(conn: sqlite3.Connection) -> int:
    """How many spans wait to be finished (at most: rowids may have gaps)."""
    return last_rowid(conn) - finished_upto(conn)


def _indexed(conn: sqlite3.Connection, texts: list[tuple[int, str]]) -> None:
    index_text(conn, texts)
    conn.execute("DELETE FROM text_indexed")
    conn.execute("INSERT INTO text_indexed (last_rowid) VALUES (?)", (texts[-1][0],))


def finish(conn: sqlite3.Connection, limit: int) -> int:
    """Finish up to ``limit`` spans of the tail, oldest first (read from the rows); how many."""
    rows = conn.execute(
        "SELECT spans.rowid, attributes, events, spans.content, p.content FROM spans "
        "LEFT JOIN span_pending AS p ON p.rowid = spans.rowid WHERE spans.rowid > ? "
        "ORDER BY spans.rowid LIMIT ?",
        (finished_upto(conn), limit),
    ).fetchall()
    if not rows:
        return 0
    texts, packed = [], []
    for rowid, attributes, events, content, waiting in rows:
        texts.append((rowid, stored_text(attributes, events, content or waiting)))
        if waiting is not None and content is None:
            packed.append((compressed(waiting), rowid))
    conn.executemany("UPDATE spans SET content = ? WHERE rowid = ?", packed)
    conn.execute("DELETE FROM span_pending WHERE rowid <= ?", (rows[-1][0],))
    _indexed(conn, texts)
    return len(rows)


def finish_all(conn: sqlite3.Connection, chunk: int = 2048) -> None:
    """Finish the whole tail, ``chunk`` spans at a time (a large tail never sits in memory)."""
    while finish(conn, chunk):
        pass


def finish_written(conn: sqlite3.Connection, texts: list[tuple[int, str]], before: int) -> None:
    """Index the spans just written (``(rowid, text)`` in rowid order, above ``before``, the
    largest rowid before them): from ``texts`` when no older span waits, else the tail."""
    if finished_upto(conn) != before:
        finish_all(conn)
    elif texts:
        _indexed(conn, texts)


def unindex_spans(conn: sqlite3.Connection, where: str, params: Any = ()) -> None:
    """Take the spans ``where`` selects out of the full-text index and ``span_pending``
    (before deleting them): the text of a finished one, recomputed from the stored
    attributes, says which words to remove."""
    rows = conn.cursor().execute(
        f"SELECT rowid, attributes, events, content FROM spans WHERE ({where}) AND rowid <= ?",
        (*params, finished_upto(conn)),
    )  # streamed: a large delete never sits in memory
    unindex_text(conn, ((r[0], stored_text(*r[1:])) for r in rows))
    conn.execute(
        f"DELETE FROM span_pending WHERE rowid IN (SELECT rowid FROM spans WHERE {where})", params
    )


def after_delete(conn: sqlite3.Connection) -> None:
    """After spans were deleted: the last indexed rowid at most the largest one left, so a
    span written later (SQLite gives it the largest rowid + 1) is in the tail."""
    conn.execute(
        "UPDATE text_indexed SET last_rowid = "
        "MIN(last_rowid, COALESCE((SELECT MAX(rowid) FROM spans), 0))"
    )
