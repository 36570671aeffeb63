"""Where traces are kept and read back.

The embedded local store: SQLite at a per-user path, written off the caller's thread
(:class:`StoreSpanExporter`, used by ``agentops_otel.export``) and read by :class:`Store`.
For a team: ClickHouse written by an OpenTelemetry Collector, read by ``ClickHouseStore`` (the
``clickhouse`` extra). Both readers answer the same :class:`StoreReader` queries.
"""

from __future__ import annotations

from pathlib import Path

from agentops_otel.store._db import SCHEMA_VERSION, StoreError, default_path
from agentops_otel.store._reader import Store
from agentops_otel.store._rows import RateRow, SessionRow, SpanRow, StoreReader, UsageRow
from agentops_otel.store._writer import DEFAULT_RETENTION_DAYS, StoreSpanExporter, StoreWriter

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "SCHEMA_VERSION",
    "RateRow",
    "SessionRow",
    "SpanRow",
    "Store",
    "StoreError",
    "StoreReader",
    "StoreSpanExporter",
    "StoreWriter",
    "UsageRow",
    "default_path",
    "is_clickhouse",
    "open_reader",
]


def is_clickhouse(location: str | None) -> bool:
    """Whether a ``--store`` value names ClickHouse (a ``clickhouse://``, ``http(s)://`` or
    ``chdb://`` URL) rather than a local store file or directory."""
    from urllib.parse import urlsplit

    from agentops_otel.store._clickhouse import SCHEMES

    return bool(location) and urlsplit(str(location)).scheme.lower() in SCHEMES


def open_reader(
    location: str | Path | None = None, *, database: str | None = None, table: str | None = None
) -> StoreReader:
    """The reader for ``location``: ClickHouse for a URL (``database``/``table`` when the URL
    does not name them), else the local store file (default: the per-user store)."""
    if location is not None and is_clickhouse(str(location)):
        from agentops_otel.store._clickhouse import ClickHouseStore

        return ClickHouseStore.open(str(location), database, table)
    return Store.open(location)
