"""``agentops-otel serve``: the local web dashboard over the local store, and an OTLP/HTTP
endpoint (``POST /v1/traces``) that writes spans from any language into that store; or, for a
team, the same pages read-only over ClickHouse written by an OpenTelemetry Collector.

Needs the ``dashboard`` extra (Starlette, uvicorn, Jinja2); never imported by ``agentops_otel``.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from agentops_otel.dashboard._app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7007

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "create_app", "serve"]


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    store: str | Path | None = None,
    token: str | None = None,
    *,
    database: str | None = None,
    table: str | None = None,
) -> None:
    """Bind ``host:port`` (``port=0`` picks a free one), print the URL, serve until interrupted.
    ``store`` is a local store path or a ClickHouse URL (see :func:`create_app`)."""
    import uvicorn

    app = create_app(store, token, host, database=database, table=table)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections made once the URL is printed wait here for uvicorn
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    url = f"http://{shown}:{sock.getsockname()[1]}"
    board = app.state.dashboard
    print(f"agentops-otel dashboard on {url}  (store: {board.location})", flush=True)
    if board.writer is not None:
        print(f"OTLP/HTTP traces: POST {url}/v1/traces", flush=True)
    if token is None and host not in ("127.0.0.1", "localhost", "::1"):
        print("warning: listening beyond this machine without --token", file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[sock])
    finally:
        if board.writer is not None:
            board.writer.close()
