"""The embedded local store: SQLite at a per-user path, written off the caller's thread.

Write side: :class:`StoreSpanExporter` (used by ``agentops_otel.export``).
Read side: :class:`Store`.
"""

from agentops_otel.store._db import SCHEMA_VERSION, StoreError, default_path
from agentops_otel.store._reader import RateRow, SessionRow, SpanRow, Store, UsageRow
from agentops_otel.store._writer import DEFAULT_RETENTION_DAYS, StoreSpanExporter, StoreWriter

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "SCHEMA_VERSION",
    "RateRow",
    "SessionRow",
    "SpanRow",
    "Store",
    "StoreError",
    "StoreSpanExporter",
    "StoreWriter",
    "UsageRow",
    "default_path",
]
