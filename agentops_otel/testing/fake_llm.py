"""A fake OpenAI- and Anthropic-compatible LLM server for tests, benchmarks and the demo.

Stdlib only. Listens on 127.0.0.1 (a free port by default) in a daemon thread::

    with FakeLLMServer() as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
        anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="sk-test")

Command line: ``python -m agentops_otel.testing.fake_llm --port 8999`` (serves until Ctrl-C).

Endpoints: ``POST /v1/chat/completions``, ``/v1/embeddings``, ``/v1/responses`` (OpenAI),
``POST /v1/messages``, ``/v1/messages/count_tokens`` (Anthropic), ``GET /v1/models``.
``stream: true`` answers with server-sent events, as the real APIs do. More providers, each
described in its module: Groq ``/openai/v1/...`` and Mistral ``/mistral/v1/...``
(``_openai_compat``), Ollama ``/api/chat|generate|embed`` with NDJSON streams (``_ollama``),
Cohere v2 ``/v2/chat|embed|rerank`` (``_cohere``). Pattern routes (path
parameters in ``ctx.params``): Gemini's ``/{version}/.../models/{model}:generateContent`` and
friends, Gemini API and Vertex AI paths (``_gemini.py``); Bedrock Runtime's
``/model/{model}/converse[-stream]`` and ``/invoke[-with-response-stream]``, streamed in the binary
``application/vnd.amazon.eventstream`` framing (``_bedrock.py``). There the model comes from the
path, and the faults below apply to it as well.

Replies (deterministic):

1. Tools offered, ``tool_choice`` not "none", and no tool result after the last user message:
   ONE call to the first tool (or the one ``tool_choice`` names), arguments built from its
   JSON schema (string "test", integer/number 1, boolean true, enum/const first value,
   array [], object with properties filled recursively or {}). finish_reason ``tool_calls`` /
   stop_reason ``tool_use`` / a ``function_call`` output item. (An Anthropic user turn that
   carries ``tool_result`` blocks continues the loop; it is not a "last user message".)
2. A rule added with ``add_rule(contains, reply)`` whose substring is in the last user text.
3. Tool results present: ``"The tool returned: " + "; ".join(results)``.
4. Otherwise ``f"Fake reply from {model}: {last_user_text[:60]}"``.

With ``response_format`` (chat) / ``text.format`` (Responses) json_object or json_schema, a reply
that is not JSON already becomes a schema example (json_schema) or ``{"reply": text}``.
``n`` choices carry the same reply. Streams send one word per delta and tool-call arguments
in three pieces.

Usage (non-zero, computable from the request):

- ``T = max(1, chars // 4)``: chars counts all message text (string contents, ``text`` of content
  parts, tool-call arguments and tool-result contents, system/instructions) plus the compact JSON
  (``separators=(",", ":")``) of the ``tools`` list as sent.
- Output ``O = max(1, len(reply text or tool-call arguments) // 4)`` per choice, times ``n``.
- Cached (cache read) ``T // 4``. OpenAI chat ``prompt_tokens = T`` with
  ``prompt_tokens_details.cached_tokens``; Responses ``input_tokens = T`` with
  ``input_tokens_details.cached_tokens``.
- Anthropic: ``cache_read_input_tokens = T // 4``, ``cache_creation_input_tokens = T // 8`` and
  ``input_tokens = T - read - creation`` (excludes both, as the real API does). In streams,
  message_start carries the input counts with ``output_tokens: 1`` and message_delta the final
  counts.
- Reasoning ``O // 2`` for models starting with o1/o3/o4/gpt-5, else 0 (a subset of ``O``).
- Embeddings: ``prompt_tokens = total_tokens = T`` over the input strings.
- Chat streams report usage only when ``stream_options.include_usage`` is true (final chunk with
  ``choices: []``).

Faults, triggered when the model name contains:
``error-400|401|404|429|500|503`` (provider-shaped error body with that status; 429/5xx carry
``retry-after-ms: 10`` so SDK retries are quick), ``no-usage`` (valid response without usage;
anthropic's ``messages.stream()`` helper itself cannot accumulate such a stream, raw
``create(stream=True)`` can), ``malformed-sse`` (streams: a non-JSON data line after the first
good event), ``reset-mid-stream`` (two good events, or half a plain body, then the connection is
shut down), ``slow-<ms>`` (sleep before answering). Every response carries ``x-request-id`` and
``request-id`` headers (the SDKs expose them as ``_request_id``).

Request log: ``server.requests`` is a copy of one dict per request with ``method``, ``path``,
``model``, ``stream``, ``body``, ``headers`` (lower-case names), ``status``, ``request_id``,
``response_id`` and ``usage`` — ``{"input_tokens" (T, including cache read and creation),
"output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"}`` as reported,
or None (errors, ``no-usage``, streams without usage, interrupted streams, non-model endpoints).
``FakeLLMServer(log_requests=False)`` keeps no log, for long benchmark runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from agentops_otel.testing import (
    _anthropic,
    _bedrock,
    _cohere,
    _gemini,
    _ollama,
    _openai,
    _openai_compat,
)
from agentops_otel.testing._common import Context, Faults, Result

_log = logging.getLogger(__name__)

_Endpoint = Callable[[dict[str, Any], Context], Result]
_ROUTES: dict[tuple[str, str], tuple[str, _Endpoint]] = {
    ("POST", "/v1/chat/completions"): ("openai", _openai.chat_completions),
    ("POST", "/v1/embeddings"): ("openai", _openai.embeddings),
    ("POST", "/v1/responses"): ("openai", _openai.responses),
    ("GET", "/v1/models"): ("openai", _openai.models),
    ("POST", "/v1/messages"): ("anthropic", _anthropic.messages),
    ("POST", "/v1/messages/count_tokens"): ("anthropic", _anthropic.count_tokens),
    ("POST", "/openai/v1/chat/completions"): ("openai", _openai_compat.groq_chat),
    ("POST", "/openai/v1/embeddings"): ("openai", _openai.embeddings),
    ("POST", "/mistral/v1/chat/completions"): ("openai", _openai_compat.mistral_chat),
    ("POST", "/mistral/v1/embeddings"): ("openai", _openai_compat.mistral_embeddings),
    ("POST", "/api/chat"): ("ollama", _ollama.chat),
    ("POST", "/api/generate"): ("ollama", _ollama.generate),
    ("POST", "/api/embed"): ("ollama", _ollama.embed),
    ("POST", "/v2/chat"): ("cohere", _cohere.chat),
    ("POST", "/v2/embed"): ("cohere", _cohere.embed),
    ("POST", "/v2/rerank"): ("cohere", _cohere.rerank),
}
# Routes with path parameters (``(?P<model>...)``), tried in order after the exact routes;
# the endpoint reads the parameters from ``ctx.params``.
_PATTERN_ROUTES = [
    (method, re.compile(pattern), flavour, endpoint)
    for method, pattern, flavour, endpoint in (*_gemini.ROUTES, *_bedrock.ROUTES)
]
_ERROR_BODIES = {
    "openai": _openai.error_body,
    "anthropic": _anthropic.error_body,
    "gemini": _gemini.error_body,
    "bedrock": _bedrock.error_body,
    "ollama": _ollama.error_body,
    "cohere": _cohere.error_body,
}
_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, fake: FakeLLMServer, port: int) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are routine here; stay quiet."""

    def close_connections(self) -> None:
        """Shut idle keep-alive connections so a stopped server really stops answering."""
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    timeout = 120  # idle keep-alive connections end eventually

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """No request logs on stderr."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path.rstrip("/")
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        body_dict = body if isinstance(body, dict) else {}
        route, params = _route(method, path)
        model = str(body_dict.get("model") or params.get("model") or "")
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "model": model,
            "stream": bool(body_dict.get("stream")),
            "body": body,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "status": 200,
            "request_id": fake._new_id("req_"),
            "response_id": None,
            "usage": None,
        }
        flavour = route[0] if route else ("anthropic" if "/messages" in path else "openai")
        if route is None:
            self._error(entry, flavour, 404, f"Unknown endpoint {method} {path} (fake server).")
            return
        if not isinstance(body, dict):
            self._error(entry, flavour, 400, "Request body is not a JSON object.")
            return
        faults = Faults.from_model(model)
        if faults.delay_ms:
            time.sleep(faults.delay_ms / 1000)
        if faults.error_status:
            self._error(entry, flavour, faults.error_status)
            return
        ctx = Context(
            rules=fake._rules_snapshot(),
            report_usage=not faults.no_usage,
            new_id=fake._new_id,
            params=params,
        )
        try:
            result = route[1](body, ctx)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake: answer 500, say why
            _log.exception("fake LLM server failed on %s", path)
            self._error(entry, flavour, 500, f"Fake server bug: {exc!r}")
            return
        interrupted = faults.reset_mid_stream or (faults.malformed_sse and result.events)
        entry["usage"] = None if interrupted else result.usage
        entry["response_id"] = result.response_id
        entry["stream"] = entry["stream"] or result.events is not None
        fake._record(entry)
        try:
            if result.events is not None:
                self._send_stream(entry["request_id"], result, faults)
            else:
                self._send_json(entry["request_id"], 200, result.body or {}, faults, result.headers)
        except OSError:  # the client went away
            self.close_connection = True

    def _error(self, entry: dict[str, Any], flavour: str, status: int, msg: str = "") -> None:
        entry["status"] = status
        self.server.fake._record(entry)
        body = _ERROR_BODIES[flavour](status, msg or None)
        if flavour == "anthropic":
            body["request_id"] = entry["request_id"]
        self._send_json(entry["request_id"], status, body, Faults())

    def _headers(
        self, status: int, request_id: str, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("x-request-id", request_id)
        self.send_header("request-id", request_id)
        if status == 429 or status >= 500:
            self.send_header("retry-after-ms", "10")
        for name, value in (extra or {}).items():
            self.send_header(name, value)

    def _send_json(
        self,
        request_id: str,
        status: int,
        body: dict[str, Any],
        faults: Faults,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        self._headers(status, request_id, "application/json", headers)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if faults.reset_mid_stream:
            self.wfile.write(data[: len(data) // 2])
            self._abort()
            return
        self.wfile.write(data)

    def _send_stream(self, request_id: str, result: Result, faults: Faults) -> None:
        events = result.events or []
        content_type, encode = result.framing or ("text/event-stream; charset=utf-8", _sse)
        self._headers(200, request_id, content_type, result.headers)
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for index, (event, data) in enumerate(events):
            if faults.reset_mid_stream and index == 2:
                self._abort()
                return
            self._chunk(encode(event, data))
            if faults.malformed_sse and index == 0 and len(events) > 1:
                self._chunk(encode(events[1][0], '{"type": "malformed", "oops": '))
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, payload: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))

    def _abort(self) -> None:
        """End the TCP connection without finishing the body."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _sse(event: str | None, data: str) -> bytes:
    """One server-sent event."""
    return ((f"event: {event}\n" if event else "") + f"data: {data}\n\n").encode()


def _route(method: str, path: str) -> tuple[tuple[str, _Endpoint] | None, dict[str, str]]:
    """The (flavour, endpoint) for a request and the path parameters of a pattern route."""
    route = _ROUTES.get((method, path))
    if route is not None:
        return route, {}
    for want, pattern, flavour, endpoint in _PATTERN_ROUTES:
        match = pattern.match(path) if want == method else None
        if match:
            return (flavour, endpoint), {k: unquote(v) for k, v in match.groupdict().items()}
    return None, {}


class FakeLLMServer:
    """Fake OpenAI/Anthropic server on 127.0.0.1; see the module docstring for its behaviour."""

    def __init__(self, port: int = 0, *, log_requests: bool = True) -> None:
        """``port=0`` picks a free port; ``log_requests=False`` keeps no log (long benchmarks)."""
        self._requested_port = port
        self._log_requests = log_requests
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []
        self._rules: list[tuple[str, str]] = []
        self._seq = 0
        self._port: int | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeLLMServer:
        """Bind and serve in a daemon thread (no-op if already running)."""
        if self._httpd is None:
            self._httpd = _HTTPServer(self, self._requested_port)
            self._port = int(self._httpd.server_address[1])
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"FakeLLMServer:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and open connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port (known once started; kept after stop)."""
        if self._port is None:
            raise RuntimeError("FakeLLMServer was never started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for the openai SDK (``.../v1``)."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for the anthropic SDK (no ``/v1``)."""
        return self.url

    @property
    def mistral_base_url(self) -> str:
        """``server_url`` for the mistralai SDK (the fake serves Mistral under ``/mistral``)."""
        return f"{self.url}/mistral"

    # --- scripting and the request log ------------------------------------------------------
    def add_rule(self, contains: str, reply: str) -> None:
        """Reply with ``reply`` when the last user message contains ``contains`` (first match)."""
        with self._lock:
            self._rules.append((contains, reply))

    def clear_rules(self) -> None:
        """Forget every rule added with :meth:`add_rule`."""
        with self._lock:
            self._rules.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A deep copy of the request log, oldest first."""
        with self._lock:
            return copy.deepcopy(self._log)

    def clear(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._log.clear()

    def total_usage(self) -> dict[str, int]:
        """Sum of the normalized ``usage`` over the logged requests that reported one."""
        totals = dict.fromkeys(_USAGE_KEYS, 0)
        with self._lock:
            for entry in self._log:
                for key in _USAGE_KEYS:
                    totals[key] += (entry["usage"] or {}).get(key, 0)
        return totals

    def _record(self, entry: dict[str, Any]) -> None:
        if not self._log_requests:
            return
        with self._lock:
            self._log.append(entry)

    def _rules_snapshot(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._rules)

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            self._seq += 1
            return f"{prefix}fake{self._seq:06d}"


def main(argv: list[str] | None = None) -> None:
    """Serve until Ctrl-C, printing the base URLs."""
    parser = argparse.ArgumentParser(description="Fake OpenAI/Anthropic server on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8999, help="port (0 picks a free one)")
    args = parser.parse_args(argv)
    server = FakeLLMServer(args.port).start()
    print(f"Fake LLM server on {server.url}")
    print(f"OPENAI_BASE_URL={server.openai_base_url}")
    print(f"ANTHROPIC_BASE_URL={server.anthropic_base_url}", flush=True)
    try:
        while server._thread is not None and server._thread.is_alive():
            server._thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
