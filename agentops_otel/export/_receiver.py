"""A tiny OTLP/HTTP protobuf receiver on loopback, decoding what it gets into plain dicts.

Used by the tests (with fault injection through ``fault``), the export benchmark, and as the
decoding half of a future ``agentops-otel serve``.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

RESET = -1  # a ``fault`` hook returning this resets the connection without answering
Fault = Callable[[BaseHTTPRequestHandler], "int | None"]
Route = Callable[[BaseHTTPRequestHandler, bytes], "tuple[int, Any]"]


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as the Python value the SDK was given."""
    which = value.WhichOneof("value")
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return None if which is None else getattr(value, which)


def decode_request(body: bytes) -> list[dict[str, Any]]:
    """Flatten an ``ExportTraceServiceRequest`` into one dict per span."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: any_value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    {
                        "name": span.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex() or None,
                        "kind": span.kind,
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "status_code": span.status.code,
                        "attributes": {kv.key: any_value(kv.value) for kv in span.attributes},
                        "events": [e.name for e in span.events],
                        "resource": resource,
                        "scope": scope_spans.scope.name,
                    }
                )
    return spans


class OtlpReceiver:
    """Threaded HTTP server on 127.0.0.1 accepting ``POST /v1/traces`` (protobuf, gzip/deflate).

    ``fault(handler)`` runs before each traces request: return a status to answer with it (the
    spans are not kept), :data:`RESET` to reset the connection, or ``None`` to accept. ``routes``
    maps other paths to ``(handler, body) -> (status, json_body)``.
    """

    def __init__(
        self, *, port: int = 0, fault: Fault | None = None, routes: dict[str, Route] | None = None
    ) -> None:
        self.fault = fault
        self.routes = dict(routes or {})
        self.spans: list[dict[str, Any]] = []
        self.requests: list[dict[str, str]] = []  # lower-cased headers of each traces request
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                receiver._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` spans have arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.spans) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        path = handler.path.split("?")[0]
        if path in self.routes:
            status, payload = self.routes[path](handler, body)
            self._reply(handler, status, json.dumps(payload).encode(), "application/json")
            return
        if not path.endswith("/v1/traces"):
            self._reply(handler, 404, b"", "text/plain")
            return
        status = self.fault(handler) if self.fault else None
        if status == RESET:
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            handler.close_connection = True
            return
        if status is not None:
            self._reply(handler, status, b"", "text/plain")
            return
        encoding = (handler.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        spans = decode_request(body)
        with self._cond:
            self.requests.append({k.lower(): v for k, v in handler.headers.items()})
            self.spans.extend(spans)
            self._cond.notify_all()
        self._reply(
            handler, 200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"
        )

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
