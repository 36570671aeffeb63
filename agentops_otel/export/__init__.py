"""Export to every configured destination at once, each on its own background thread.

``build_span_processors(settings)`` returns one :class:`BoundedExportProcessor` per destination:
OTLP (``OTEL_EXPORTER_OTLP_*`` or ``init`` arguments), the AgentOps backend (API key), each extra
exporter from ``settings.exporters``, and the local store (on by default when nothing else is
configured). They share one exit deadline (``settings.exit_timeout_s``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.trace.export import SpanExporter

from agentops_otel._config import Settings
from agentops_otel.export._batch import (
    MAX_BATCH,
    BoundedExportProcessor,
    ShutdownGroup,
    exit_wait,
    shutdown_within,
)
from agentops_otel.export._otlp import build_otlp_exporter, otlp_configured

_log = logging.getLogger("agentops_otel.export")
LOCAL_STORE = "local-store"  # the store's destination name
# Spans per hand-off to the store's writer process: the app's peak memory holds one batch a few
# times over (records, their marshal form), so a batch of 512 cost a busy app ~4 MB of RSS
LOCAL_BATCH = 128

__all__ = [
    "BoundedExportProcessor",
    "ShutdownGroup",
    "build_otlp_exporter",
    "build_span_processors",
    "exit_wait",
    "local_store_enabled",
    "shutdown_within",
]


def local_store_enabled(settings: Settings) -> bool:
    """``settings.local_store``, or when unset: on only if no other destination is configured."""
    if settings.local_store is not None:
        return settings.local_store
    return not (otlp_configured(settings) or settings.api_key or settings.exporters)


def _store_exporter(settings: Settings) -> SpanExporter:
    """The local store, written by a process of its own where one can be started (the app
    only hands spans over), else on the export thread."""
    from agentops_otel.store import StoreSpanExporter, default_path
    from agentops_otel.store._process import ProcessStoreExporter, can_spawn

    path = default_path(settings.store_path)
    if can_spawn():
        return ProcessStoreExporter(path, settings.retention_days)
    return StoreSpanExporter(path, settings.retention_days)


def _backend_exporter(settings: Settings) -> SpanExporter:
    from agentops_otel.export._backend import AgentOpsBackendExporter  # requests: only if used

    return AgentOpsBackendExporter(
        settings.api_key or "",
        api_endpoint=settings.endpoint,
        exporter_endpoint=settings.exporter_endpoint,
    )


def _exporters(settings: Settings) -> list[tuple[str, SpanExporter]]:
    factories: list[tuple[str, Callable[[Settings], SpanExporter | None]]] = []
    if local_store_enabled(settings):
        factories.append((LOCAL_STORE, _store_exporter))
    factories.append(("otlp", build_otlp_exporter))
    if settings.api_key:
        factories.append(("agentops", _backend_exporter))
    chosen = []
    for name, factory in factories:
        try:
            exporter = factory(settings)
        except Exception as exc:  # noqa: BLE001 (one bad destination must not cost the others)
            _log.warning("agentops-otel: %s export disabled: %s", name, exc)
            continue
        if exporter is not None:
            chosen.append((name, exporter))
    chosen.extend((type(e).__name__, e) for e in settings.exporters)
    return chosen


def build_span_processors(
    settings: Settings, *, meter_provider: MeterProvider | None = None
) -> list[BoundedExportProcessor]:
    """One export processor per configured destination; add them after our enriching processor.

    A destination that cannot be built (a missing optional package, a bad setting) is skipped
    with a warning; the others still work.
    """
    exporters = _exporters(settings)
    group = ShutdownGroup(settings.exit_timeout_s)
    return [
        BoundedExportProcessor(
            exporter,
            name=name,
            max_queue_size=settings.max_queue_size,
            exit_timeout_s=settings.exit_timeout_s,
            group=group,
            meter_provider=meter_provider,
            local=name == LOCAL_STORE,
            max_batch_size=LOCAL_BATCH if name == LOCAL_STORE else MAX_BATCH,
        )
        for name, exporter in exporters
    ]
