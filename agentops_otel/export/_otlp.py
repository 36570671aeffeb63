"""OTLP exporter from settings and the standard ``OTEL_EXPORTER_OTLP_*`` variables.

Endpoint, protocol, headers, compression and timeout come from ``init()`` when given
(``otlp_endpoint``, ``otlp_protocol``, ``otlp_headers``, ``otlp_compression``, ``otlp_timeout_s``);
otherwise the SDK exporters read the ``OTEL_EXPORTER_OTLP_(TRACES_)*`` variables themselves.
"""

from __future__ import annotations

import logging
import os

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

        grpc_compression = {"gzip": grpc.Compression.Gzip, "none": grpc.Compression.NoCompression,
                            "deflate": grpc.Compression.Deflate}.get((compression or "").lower())
        return GrpcExporter(
            endpoint=settings.otlp_endpoint, headers=settings.otlp_headers, timeout=timeout,
            compression=grpc_compression,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter(
        endpoint=_http_traces_url(settings.otlp_endpoint) if settings.otlp_endpoint else None,
        headers=settings.otlp_headers, timeout=timeout,
        compression=Compression(compression.lower()) if compression else None,
    )
