"""How a span's attributes are stored, and the step that finishes a stored span.

The content attributes (prompts, completions, tool payloads: most of a span's bytes) live in
``spans.content``, the others as JSON in ``spans.attributes``, where SQL reads them
(``json_extract``); readers get them back joined. A span is written with its content as JSON
text; *finishing* it compresses the content (a BLOB from then on) and adds its words to the
full-text index. Spans are finished in rowid order, and ``text_indexed`` holds the last
finished rowid: everything above it is the unfinished tail, which search reads directly
. The writer finishes at once, or later (the writer process, when idle).
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from typing import Any

from agentops_otel import semconv as A
from agentops_otel.store._search import SEARCHED_KEYS, index_text, search_text, unindex_text

# the searched keys but the names, which SQL filters read
CONTENT_KEYS = tuple(k for k in SEARCHED_KEYS if k not in (A.SESSION_NAME, A.AGENT_NAME))
FINISHED_DDL = "CREATE TABLE IF NOT EXISTS text_indexed (last_rowid INTEGER NOT NULL)"

dumps = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":")).encode


def split(attrs: dict[str, Any]) -> tuple[str, str | None]:
    """``attrs`` as a span is written: the JSON of the others, the JSON of the content ones
    (``None`` when there are none)."""
    content = {k: attrs[k] for k in CONTENT_KEYS if k in attrs}
    if not content:
        return dumps(attrs), None
    return dumps({k: v for k, v in attrs.items() if k not in content}), dumps(content)


def compressed(content: str) -> bytes:
    """The stored form of a finished span's content."""
    return zlib.compress(content.encode(), 1)


def joined(attributes: str, content: str | bytes | None) -> dict[str, Any]:
    """The attributes of a stored span, content included (text or compressed)."""
    attrs = json.loads(attributes)
    if content:
        attrs.update(
            json.loads(zlib.decompress(content) if isinstance(content, bytes) else content)
        )
    return attrs


def stored_text(attributes: str, events: str, content: str | bytes | None) -> str:
    """The searchable text of a stored span (what it is indexed with)."""
    return search_text(joined(attributes, content), json.loads(events))


def finished_upto(conn: sqlite3.Connection) -> int:
    """The last finished rowid (0 in a file without the table: nothing finished)."""
    try:
        row = conn.execute("SELECT last_rowid FROM text_indexed").fetchone()
    except sqlite3.OperationalError:  # a file of version 4 or older
        return 0
    return row[0] if row else 0


def finish(conn: sqlite3.Connection, limit: int) -> int:
    """Finish up to ``limit`` spans of the tail, oldest first; how many."""
    last = finished_upto(conn)
    rows = conn.execute(
        "SELECT rowid, attributes, events, content FROM spans WHERE rowid > ? "
        "ORDER BY rowid LIMIT ?",
        (last, limit),
    ).fetchall()
    if not rows:
        return 0
    texts, packed = [], []
    for rowid, attributes, events, content in rows:
        texts.append((rowid, stored_text(attributes, events, content)))
        if isinstance(content, str):
            packed.append((compressed(content), rowid))
    index_text(conn, texts)
    conn.executemany("UPDATE spans SET content = ? WHERE rowid = ?", packed)
    conn.execute("DELETE FROM text_indexed")
    conn.execute("INSERT INTO text_indexed (last_rowid) VALUES (?)", (rows[-1][0],))
    return len(rows)


def pending(conn: sqlite3.Connection) -> int:
    """How many rowids the unfinished tail spans (an upper bound on its spans)."""
    (top,) = conn.execute("SELECT MAX(rowid) FROM spans").fetchone()
    return max((top or 0) - finished_upto(conn), 0)


def unindex_spans(conn: sqlite3.Connection, where: str, params: Any = ()) -> None:
    """Take the finished spans ``where`` selects out of the full-text index (before deleting
    them): their text, recomputed from the stored attributes, says which words to remove."""
    rows = conn.cursor().execute(
        f"SELECT rowid, attributes, events, content FROM spans WHERE ({where}) AND rowid <= ?",
        (*params, finished_upto(conn)),
    )  # streamed: a large delete never sits in memory
    unindex_text(conn, ((r[0], stored_text(*r[1:])) for r in rows))


def after_delete(conn: sqlite3.Connection) -> None:
    """After spans were deleted: the last finished rowid at most the largest one left, so a
    span written later (SQLite gives it the largest rowid + 1) is in the tail."""
    conn.execute(
        "UPDATE text_indexed SET last_rowid = "
        "MIN(last_rowid, COALESCE((SELECT MAX(rowid) FROM spans), 0))"
    )
