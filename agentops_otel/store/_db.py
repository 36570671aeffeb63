"""Where the local store lives, how it is opened, and its schema (one place for all three)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from agentops_otel import semconv as A
from agentops_otel.accounting import NO_AGENT, NO_MODEL
from agentops_otel.store._content import CONTENT_KEYS, FINISHED_DDL, compressed, finish_all, split
from agentops_otel.store._search import INDEX_DDL

# 2: full-text index (span_text), hourly usage roll-up (usage_hourly)
# 3: session errors counted once, where they happened (agentops_otel.accounting)
# 4: usage_hourly.unpriced counted by accounting.unpriced (not every call with no cost)
# 5: a word index without a copy of the text; content attributes compressed (spans.content)
SCHEMA_VERSION = 5
FILE_NAME = "traces.db"
APP_DIR = "agentops-otel"


class StoreError(Exception):
    """The local store is missing, unreadable, corrupt or from a newer version."""


def default_path(home: str | os.PathLike[str] | None = None) -> Path:
    """The store file: ``home`` (a directory or a ``.db`` file), else ``$AGENTOPS_OTEL_HOME``,
    else ``$XDG_DATA_HOME/agentops-otel``, else ``~/.local/share/agentops-otel``.

    Never the working directory: a relative ``home`` is made absolute against the user's home.
    """
    chosen = home or os.environ.get("AGENTOPS_OTEL_HOME")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_absolute():
            path = Path.home() / path
        if path.suffix in (".db", ".sqlite", ".sqlite3") and not path.is_dir():
            return path
        return path / FILE_NAME
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / APP_DIR / FILE_NAME


_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    name TEXT,
    tags TEXT,                      -- JSON list
    service TEXT,
    trace_id TEXT,
    start_ns INTEGER,
    end_ns INTEGER,                 -- NULL while the session runs
    end_state TEXT,
    end_reason TEXT,
    cost_usd REAL NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    llm_calls INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    span_count INTEGER NOT NULL DEFAULT 0,
    loop_detected INTEGER NOT NULL DEFAULT 0,
    budget_exceeded INTEGER NOT NULL DEFAULT 0,
    updated_ns INTEGER
);
CREATE INDEX IF NOT EXISTS sessions_start_id ON sessions (start_ns, id);
CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated_ns);
-- A trace's agentops session, for spans of that trace written by another process (an MCP
-- server's spans join the session of the client that called it).
CREATE INDEX IF NOT EXISTS sessions_trace ON sessions (trace_id);
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    session_id TEXT,
    name TEXT NOT NULL,
    kind TEXT,                      -- OTel span kind: INTERNAL, CLIENT, ...
    agentops_kind TEXT,             -- session/agent/workflow/operation/task/tool/llm
    start_ns INTEGER NOT NULL,
    end_ns INTEGER,
    status_code TEXT,               -- UNSET / OK / ERROR
    status_message TEXT,
    model TEXT,
    provider TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cost_usd REAL,
    cost_source TEXT,
    service TEXT,
    scope TEXT,
    attributes TEXT NOT NULL,       -- JSON object, but the content keys (in content)
    events TEXT NOT NULL,           -- JSON list of {name, time_ns, attributes}
    content BLOB,                   -- zlib of the JSON object of the content keys, if any
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_session ON spans (session_id, start_ns);
CREATE INDEX IF NOT EXISTS spans_kind_start ON spans (agentops_kind, start_ns);
-- (span_text, the word index of prompts, completions and tool payloads: INDEX_DDL, below)
-- LLM usage per hour (start time) x model x agent, kept at ingest for the overview.
CREATE TABLE IF NOT EXISTS usage_hourly (
    hour_ns INTEGER NOT NULL,
    model TEXT NOT NULL,
    agent TEXT NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    unpriced INTEGER NOT NULL DEFAULT 0,  -- calls with no price (not counted as $0)
    PRIMARY KEY (hour_ns, model, agent)
);
"""
_DDL += f"{INDEX_DDL};\n{FINISHED_DDL};"

HOUR_NS = 3_600 * 10**9


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open ``path`` with WAL, ``synchronous=NORMAL`` and a busy timeout; create the schema if
    asked. Raises :class:`StoreError` for a missing (when not creating), corrupt or newer file."""
    if not create and not path.is_file():
        raise StoreError(f"no local store at {path}")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), timeout=5.0, isolation_level=None, check_same_thread=False
        )
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open local store {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        if create:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        _check_or_create(conn, path, create)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"local store {path} is unreadable or corrupt: {exc}") from exc
    except StoreError:
        conn.close()
        raise
    return conn


def _check_or_create(conn: sqlite3.Connection, path: Path, create: bool) -> None:
    if create:
        conn.execute("BEGIN IMMEDIATE")  # several processes may create it at once
        try:
            for statement in filter(str.strip, _DDL.split(";")):
                conn.execute(statement)
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            if row[0] is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] < SCHEMA_VERSION:
                _migrate(conn, row[0])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        raise StoreError(f"{path} is not an agentops-otel store: {exc}") from exc
    version = row[0]
    if version is None or version > SCHEMA_VERSION:
        raise StoreError(
            f"local store {path} has schema version {version}; this agentops-otel reads "
            f"version {SCHEMA_VERSION}"
        )


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring a file written by an older version up to :data:`SCHEMA_VERSION` (the new tables
    exist already; fill them from the stored spans). Runs inside the creating transaction."""
    if version < 2:
        conn.execute("DROP INDEX IF EXISTS sessions_start")
        conn.execute(f"""
            INSERT INTO usage_hourly (hour_ns, model, agent, calls, errors, input_tokens,
                                      output_tokens, cost_usd, unpriced)
            SELECT start_ns / {HOUR_NS} * {HOUR_NS}, COALESCE(model, '{NO_MODEL}'),
                   COALESCE(json_extract(attributes, '$."{A.AGENT_NAME}"'), '{NO_AGENT}'),
                   COUNT(*), SUM(status_code = 'ERROR'), TOTAL(input_tokens),
                   TOTAL(output_tokens), TOTAL(cost_usd), SUM(cost_usd IS NULL)
            FROM spans WHERE agentops_kind = 'llm' GROUP BY 1, 2, 3""")
    if version < 3:
        from agentops_otel.accounting import ERROR_KINDS_SQL as kinds

        conn.execute(f"""
            UPDATE sessions SET errors = MAX(
                (SELECT COUNT(*) FROM spans WHERE spans.session_id = sessions.id
                 AND status_code = 'ERROR' AND agentops_kind IN ({kinds})),
                COALESCE((SELECT CAST(json_extract(attributes, '$."{A.ERRORS}"') AS INTEGER)
                          FROM spans WHERE spans.session_id = sessions.id
                          AND +agentops_kind = '{A.KIND_SESSION}' LIMIT 1), 0))""")
    if version < 4:
        from agentops_otel.accounting import unpriced_sql

        flag = f"""CAST(json_extract(attributes, '$."{A.COST_UNKNOWN_MODEL}"') AS TEXT)"""
        rule = unpriced_sql("cost_usd", "input_tokens", "output_tokens", flag)
        conn.execute(f"""
            UPDATE usage_hourly SET unpriced = COALESCE((
                SELECT SUM({rule}) FROM spans WHERE agentops_kind = 'llm'
                AND start_ns >= usage_hourly.hour_ns AND start_ns < usage_hourly.hour_ns + {HOUR_NS}
                AND COALESCE(model, '{NO_MODEL}') = usage_hourly.model
                AND COALESCE(json_extract(attributes, '$."{A.AGENT_NAME}"'), '{NO_AGENT}')
                    = usage_hourly.agent), unpriced)""")  # an hour whose spans are gone: kept
    if version < 5:
        _rebuild_text(conn)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))


def _rebuild_text(conn: sqlite3.Connection) -> None:
    """Version 5: the word index in place of the trigram one (and its copy of the text), built
    from the stored spans, whose content attributes move to ``spans.content``."""
    conn.execute("DROP TABLE IF EXISTS span_text_rows")
    conn.execute("DROP TABLE IF EXISTS span_text")
    conn.execute(INDEX_DDL)
    conn.execute("DELETE FROM text_indexed")  # nothing finished
    if "content" not in {row[1] for row in conn.execute("PRAGMA table_info(spans)")}:
        conn.execute("ALTER TABLE spans ADD COLUMN content BLOB")
    last = 0
    while True:  # in chunks: a large store never sits in memory
        rows = conn.execute(
            "SELECT rowid, attributes FROM spans WHERE rowid > ? AND content IS NULL "
            "ORDER BY rowid LIMIT 2000",
            (last,),
        ).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        moved = []
        for rowid, attributes in rows:
            attrs = json.loads(attributes)
            if not attrs.keys().isdisjoint(CONTENT_KEYS):
                others, content = split(attrs)
                moved.append((others, compressed(content), rowid))
        conn.executemany("UPDATE spans SET attributes = ?, content = ? WHERE rowid = ?", moved)
    finish_all(conn)  # (the file keeps its size: VACUUM gives the space back)
