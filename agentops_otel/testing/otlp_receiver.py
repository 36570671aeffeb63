"""A tiny OTLP/HTTP protobuf receiver on loopback for tests and benchmarks: it keeps what it gets
as plain dicts (decoded by the one codec, :mod:`agentops_otel._otlp_codec`) and injects faults
(an error status, a reset connection) through ``fault``."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import ReadableSpan

from agentops_otel._otlp_codec import decode_protobuf, decompress

RESET = -1  # a ``fault`` hook returning this resets the connection without answering
Fault = Callable[[BaseHTTPRequestHandler], "int | None"]
Route = Callable[[BaseHTTPRequestHandler, bytes], "tuple[int, Any]"]


def span_dict(span: ReadableSpan) -> dict[str, Any]:
    """A decoded span as the flat dict tests assert on (ids in hex, kind and status code as
    OTLP numbers, event names)."""
    context, parent = span.get_span_context(), span.parent
    assert context is not None  # the codec gives every span its context
    return {
        "name": span.name,
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "parent_span_id": format(parent.span_id, "016x") if parent else None,
        "kind": span.kind.value + 1,
        "start_ns": span.start_time,
        "end_ns": span.end_time or 0,
        "status_code": span.status.status_code.value,
        "attributes": dict(span.attributes or {}),
        "events": [e.name for e in span.events],
        "resource": dict(span.resource.attributes),
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else "",
    }


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
        fault = self.fault(handler) if self.fault else None
        if fault == RESET:
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            handler.close_connection = True
            return
        if fault is not None:
            self._reply(handler, fault, b"", "text/plain")
            return
        body = decompress(body, handler.headers.get("Content-Encoding"))
        spans = [span_dict(span) for span in decode_protobuf(body)]
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
