"""What a store reader returns, and the small interface every store's reader offers (the local
SQLite store, and ClickHouse written by the OpenTelemetry Collector): the CLI and the dashboard
only use this."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from agentops_otel.store._db import StoreError

_log = logging.getLogger("agentops_otel.store")
_skipped: set[str] = set()


def skip_value(key: str, value: object) -> None:
    """Note a stored value that cannot be read as its key's type (it is left out): one debug
    log per key, however many rows carry such values."""
    if key not in _skipped:
        _skipped.add(key)
        _log.debug("agentops-otel: skipped unreadable values of %s (first: %.80r)", key, value)


def string_tags(items: Iterable[object]) -> tuple[str, ...]:
    """A session's tags: the strings of a stored list (other items are skipped)."""
    tags = []
    for item in items:
        if isinstance(item, str):
            tags.append(item)
        else:
            skip_value("agentops.session.tags", item)
    return tuple(tags)


@dataclass(frozen=True)
class SessionRow:
    """One session with totals maintained at ingest; ``end_ns`` is ``None`` while it runs."""

    id: str
    name: str | None
    tags: tuple[str, ...]
    service: str | None
    trace_id: str | None
    start_ns: int | None
    end_ns: int | None
    end_state: str | None
    end_reason: str | None
    cost_usd: float
    input_tokens: int
    output_tokens: int
    llm_calls: int
    errors: int
    span_count: int
    loop_detected: bool
    budget_exceeded: bool

    @property
    def running(self) -> bool:
        return self.end_ns is None

    @property
    def duration_ms(self) -> float | None:
        if self.end_ns is None or self.start_ns is None:
            return None
        return (self.end_ns - self.start_ns) / 1e6


@dataclass(frozen=True)
class SpanRow:
    """One stored span; ``attributes`` and ``events`` are decoded from JSON."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    session_id: str | None
    name: str
    kind: str | None
    agentops_kind: str | None
    start_ns: int
    end_ns: int | None
    status_code: str | None
    status_message: str | None
    model: str | None
    provider: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    cost_source: str | None
    service: str | None
    scope: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_ms(self) -> float | None:
        return None if self.end_ns is None else (self.end_ns - self.start_ns) / 1e6


@dataclass(frozen=True)
class UsageRow:
    """LLM usage in one time bucket for one model or agent."""

    bucket_ns: int
    key: str
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    unpriced: int


@dataclass(frozen=True)
class RateRow:
    """Sessions started in one time bucket, and how many went wrong in each way."""

    bucket_ns: int
    sessions: int
    with_errors: int
    loops: int
    over_budget: int


def pick_session(prefix: str, starting_with: Callable[[str], list[str]]) -> str:
    """The one session id that ``prefix`` names (git-like): the id itself, or the only id among
    ``starting_with(prefix)`` (a few ids in order); :class:`StoreError` if none or several."""
    prefix = prefix.strip()
    if not prefix:
        raise StoreError("empty session id")
    ids = starting_with(prefix)
    if prefix in ids:
        return prefix
    if not ids:
        raise StoreError(f"no session matches {prefix!r}")
    if len(ids) > 1:
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        raise StoreError(f"session id {prefix!r} is ambiguous: {shown}")
    return ids[0]


class StoreReader(Protocol):
    """The queries behind the CLI and the dashboard; each store answers them with the same rows
    and the same numbers. Raises :class:`~agentops_otel.store.StoreError` on a broken store."""

    location: str  # shown to the user: a file path, or a URL without its password

    def list_sessions(
        self,
        limit: int = 50,
        tag: str | None = None,
        end_state: str | None = None,
        since: datetime | float | None = None,
        *,
        until: datetime | float | None = None,
        model: str | None = None,
        agent: str | None = None,
        min_cost: float | None = None,
        before: tuple[int, str] | None = None,
        q: str | None = None,
    ) -> list[SessionRow]: ...

    def change_marker(self, session_id: str | None = None) -> int: ...

    def resolve_session(self, prefix: str) -> str: ...

    def get_session(self, session_id: str) -> SessionRow | None: ...

    def session_spans(self, session_id: str) -> list[SpanRow]: ...

    def get_span(self, session_id: str, span_id: str) -> SpanRow | None: ...

    def usage_over_time(
        self, since: datetime | float, bucket_seconds: int, by: str
    ) -> list[UsageRow]: ...

    def session_rates(self, since: datetime | float, bucket_seconds: int) -> list[RateRow]: ...

    def close(self) -> None: ...

    def __enter__(self) -> StoreReader: ...

    def __exit__(self, *exc: object) -> None: ...
