"""Export to an AgentOps backend: API key -> bearer token, then OTLP/HTTP protobuf.

The token exchange runs on its own daemon thread. ``export`` (called on the export worker, never
the caller's thread) waits for the token, so spans stay in the processor's bounded queue until it
is ready. A 401 or an expiring token triggers one refresh; a rejected key gives one warning and
no further attempts. The key never appears in a log message.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
import time
from collections.abc import Sequence

import requests
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_log = logging.getLogger("agentops_otel.export")

DEFAULT_API_ENDPOINT = "https://api.agentops.ai"
DEFAULT_EXPORTER_ENDPOINT = "https://otlp.agentops.ai"
_AUTH_PATH = "/v3/auth/token"
_TRACES_PATH = "/v1/traces"
_REFRESH_BEFORE_S = 300.0  # renew this long before the token's ``exp``
_MIN_REFRESH_INTERVAL_S = 30.0  # at most one 401-triggered refresh per interval
_MAX_BACKOFF_S = 60.0

_PENDING, _READY, _REJECTED, _STOPPED = "pending", "ready", "rejected", "stopped"


def _jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying it (the backend verifies)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except Exception:  # noqa: BLE001
        return None


def _traces_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(_TRACES_PATH) else endpoint + _TRACES_PATH


class AgentOpsBackendExporter(SpanExporter):
    """OTLP/HTTP protobuf exporter authenticated with a bearer token obtained from the API key."""

    def __init__(
        self,
        api_key: str,
        *,
        api_endpoint: str | None = None,
        exporter_endpoint: str | None = None,
        timeout_s: float = 10.0,
        token_wait_s: float = 30.0,
    ) -> None:
        self._api_key = api_key
        self.auth_url = (api_endpoint or DEFAULT_API_ENDPOINT).rstrip("/") + _AUTH_PATH
        self.traces_url = _traces_url(exporter_endpoint or DEFAULT_EXPORTER_ENDPOINT)
        self._timeout = timeout_s
        self._token_wait = token_wait_s
        self._cond = threading.Condition()
        self._state = _PENDING
        self._token: str | None = None
        self._forced_refresh_at = float("-inf")
        self._refresh_at: float | None = None
        self.project_id: str | None = None
        self._session = requests.Session()
        self._auth_thread = threading.Thread(
            target=self._auth_loop, name="agentops-otel-auth", daemon=True
        )
        self._auth_thread.start()

    def __repr__(self) -> str:  # never show the key
        return f"AgentOpsBackendExporter(traces_url={self.traces_url!r}, state={self._state!r})"

    # --- token ---------------------------------------------------------------------------------
    def _auth_loop(self) -> None:
        backoff, warned = 1.0, False
        while True:
            with self._cond:
                while self._state == _READY and not self._due():
                    wait = None if self._refresh_at is None else self._refresh_at - time.time()
                    self._cond.wait(wait)
                if self._state in (_STOPPED, _REJECTED):
                    return
            status, body = self._request_token()
            if status == 200 and isinstance(body, dict) and body.get("token"):
                self._set_token(str(body["token"]), body.get("project_id"))
                backoff, warned = 1.0, False
                continue
            if status in (400, 401, 403):
                _log.warning(
                    "agentops-otel: the AgentOps backend at %s rejected the API key (HTTP %s); "
                    "spans for it are dropped. Check AGENTOPS_API_KEY.",
                    self.auth_url,
                    status,
                )
                self._set_state(_REJECTED)
                return
            if not warned:
                warned = True
                _log.warning(
                    "agentops-otel: cannot get a token from %s (%s); retrying in the background",
                    self.auth_url,
                    status or "no connection",
                )
            with self._cond:
                if self._state == _STOPPED:
                    return
                self._cond.wait(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def _due(self) -> bool:
        return self._refresh_at is not None and time.time() >= self._refresh_at

    def _request_token(self) -> tuple[int | None, object]:
        try:
            response = self._session.post(
                self.auth_url, json={"api_key": self._api_key}, timeout=self._timeout
            )
        except requests.RequestException as exc:
            _log.debug("agentops-otel: token request failed: %s", type(exc).__name__)
            return None, None
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    def _set_token(self, token: str, project_id: object) -> None:
        expiry = _jwt_expiry(token)
        with self._cond:
            if self._state == _STOPPED:
                return
            self._token, self._state = token, _READY
            self._refresh_at = None if expiry is None else expiry - _REFRESH_BEFORE_S
            self.project_id = str(project_id) if project_id else None
            self._cond.notify_all()

    def _set_state(self, state: str) -> None:
        with self._cond:
            self._state = state
            self._cond.notify_all()

    def _await_token(self) -> str | None:
        deadline = time.monotonic() + self._token_wait
        with self._cond:
            while self._state == _PENDING:  # a token due for renewal stays usable till then
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._token if self._state == _READY else None

    def _invalidate(self, token: str) -> bool:
        """Ask for a new token after a 401; ``False`` if that would be a refresh storm."""
        with self._cond:
            if self._state != _READY or self._token != token:
                return self._state == _READY
            if time.monotonic() - self._forced_refresh_at < _MIN_REFRESH_INTERVAL_S:
                return False
            self._forced_refresh_at = time.monotonic()
            self._state = _PENDING
            self._cond.notify_all()
            return True

    # --- export --------------------------------------------------------------------------------
    def _post(self, body: bytes, token: str) -> int | None:
        try:
            response = self._session.post(
                self.traces_url,
                data=body,
                timeout=self._timeout,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/x-protobuf",
                    "Content-Encoding": "gzip",
                },
            )
        except requests.RequestException as exc:
            _log.debug("agentops-otel: backend export failed: %s", type(exc).__name__)
            return None
        return response.status_code

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        token = self._await_token()
        if token is None:
            return SpanExportResult.FAILURE
        body = gzip.compress(encode_spans(spans).SerializeToString(), compresslevel=5)
        status = self._post(body, token)
        if status == 401 and self._invalidate(token):
            token = self._await_token()
            status = self._post(body, token) if token is not None else None
        if status is not None and 200 <= status < 300:
            return SpanExportResult.SUCCESS
        _log.debug("agentops-otel: backend answered %s", status)
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._set_state(_STOPPED)
        self._session.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
