"""OTLP exporter from settings and the standard ``OTEL_EXPORTER_OTLP_*`` variables.

Endpoint, protocol, headers, compression and timeout come from ``init()`` when given
(``otlp_endpoint``, ``otlp_protocol``, ``otlp_headers``, ``otlp_compression``, ``otlp_timeout_s``);
otherwise the SDK exporters read the ``OTEL_EXPORTER_OTLP_(TRACES_)*`` variables themselves.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter

from agentops_otel._config import Settings

_log = logging.getLogger("agentops_otel.export")

_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROTOCOL_VARS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
HTTP_PROTOBUF, GRPC = "http/protobuf", "grpc"


def otlp_configured(settings: Settings) -> bool:
    """True when ``init()`` or the environment names an OTLP endpoint."""
    return bool(settings.otlp_endpoint or any(os.environ.get(v) for v in _ENDPOINT_VARS))


def otlp_protocol(settings: Settings) -> str:
    """``grpc`` or ``http/protobuf`` (the default; ``http/json`` falls back to it, warning)."""
    chosen = settings.otlp_protocol or next(
        (os.environ[v] for v in _PROTOCOL_VARS if os.environ.get(v)), HTTP_PROTOBUF
    )
    chosen = chosen.strip().lower()
    if chosen == GRPC:
        return GRPC
    if chosen != HTTP_PROTOBUF:
        _log.warning("agentops-otel: OTLP protocol %r unsupported; using http/protobuf", chosen)
    return HTTP_PROTOBUF


def _http_traces_url(endpoint: str) -> str:
    """``init(otlp_endpoint=...)`` is a base URL like ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


def build_otlp_exporter(settings: Settings) -> SpanExporter | None:
    """The OTLP span exporter the settings ask for, or ``None`` if none is configured."""
    if not otlp_configured(settings):
        return None
    # ``init(otlp_compression="gzip", otlp_timeout_s=5)`` arrive as extra options.
    compression = settings.extra.get("otlp_compression")
    timeout = settings.extra.get("otlp_timeout_s")
    if otlp_protocol(settings) == GRPC:
        import grpc
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        grpc_compression = {
            "gzip": grpc.Compression.Gzip,
            "none": grpc.Compression.NoCompression,
            "deflate": grpc.Compression.Deflate,
        }.get((compression or "").lower())
        return GrpcExporter(
            endpoint=settings.otlp_endpoint,
            headers=settings.otlp_headers,
            timeout=timeout,
            compression=grpc_compression,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter(
        endpoint=_http_traces_url(settings.otlp_endpoint) if settings.otlp_endpoint else None,
        headers=settings.otlp_headers,
        timeout=timeout,
        compression=Compression(compression.lower()) if compression else None,
    )


def _metrics_configured(settings: Settings) -> bool:
    """Metrics go where the general or the metrics endpoint points (not a traces-only one)."""
    return bool(
        settings.otlp_endpoint
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    )


def build_otlp_meter_provider(settings: Settings) -> Any:
    """An SDK ``MeterProvider`` exporting our metrics (token usage, duration, cost, dropped
    spans) over OTLP every 30 s, or ``None`` when no OTLP endpoint is configured."""
    if not _metrics_configured(settings):
        return None
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    if otlp_protocol(settings) == GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    else:  # the other class of the same name: both take endpoint and headers
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
            OTLPMetricExporter,
        )
    endpoint = settings.otlp_endpoint
    if endpoint and otlp_protocol(settings) != GRPC:
        endpoint = endpoint.rstrip("/").removesuffix("/v1/traces") + "/v1/metrics"
    exporter = OTLPMetricExporter(endpoint=endpoint, headers=settings.otlp_headers)
    return MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(exporter)],
        resource=Resource.create({SERVICE_NAME: settings.service_name}),
        shutdown_on_exit=False,
    )
