"""The AgentOps-backend exporter against a local fake of the auth and OTLP endpoints."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentops_otel import semconv as A
from agentops_otel._config import Settings
from agentops_otel.export import build_span_processors
from agentops_otel.export._backend import AgentOpsBackendExporter
from agentops_otel.testing.otlp_receiver import OtlpReceiver

API_KEY = "sk-agentops-SECRET-1234567890"


def _jwt(name: str, expires_in: float = 30 * 86_400) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part({'sub': name, 'exp': time.time() + expires_in})}.sig"


class FakeBackend:
    """Auth endpoint issuing tokens from ``issue`` and a traces endpoint accepting ``valid``."""

    def __init__(self, issue: Callable[[int], tuple[int, dict]], delay_s: float = 0.0) -> None:
        self.auth_bodies: list[dict] = []
        self.valid: set[str] = set()
        self.unauthorized = 0
        self._issue, self._delay = issue, delay_s
        self.receiver = OtlpReceiver(fault=self._check, routes={"/v3/auth/token": self._auth})

    def _auth(self, handler, body: bytes) -> tuple[int, dict]:
        time.sleep(self._delay)
        self.auth_bodies.append(json.loads(body))
        status, payload = self._issue(len(self.auth_bodies))
        if status == 200:
            self.valid.add(payload["token"])
        return status, payload

    def _check(self, handler) -> int | None:
        token = (handler.headers.get("Authorization") or "").removeprefix("Bearer ")
        if token not in self.valid:
            self.unauthorized += 1
            return 401
        return None

    def __enter__(self) -> FakeBackend:
        self.receiver.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.receiver.__exit__()


def _ok(tokens: list[str]) -> Callable[[int], tuple[int, dict]]:
    return lambda n: (200, {"token": tokens[min(n, len(tokens)) - 1], "project_id": "proj-1"})


def _provider(url: str) -> tuple[TracerProvider, list]:
    processors = build_span_processors(
        Settings(api_key=API_KEY, endpoint=url, exporter_endpoint=url, exit_timeout_s=2.0)
    )
    provider = TracerProvider(shutdown_on_exit=False)
    for processor in processors:
        provider.add_span_processor(processor)
    return provider, processors


def _end_spans(provider: TracerProvider, n: int, prefix: str = "llm") -> None:
    tracer = provider.get_tracer("backend-test")
    for i in range(n):
        with tracer.start_as_current_span(
            f"{prefix} {i}",
            attributes={A.SPAN_KIND: A.KIND_LLM, A.COST_USD: 0.5, A.SESSION_ID: "s1"},
        ):
            pass


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_spans_wait_for_the_token_then_arrive_with_bearer_auth() -> None:
    token = _jwt("t1")
    with FakeBackend(_ok([token]), delay_s=0.5) as backend:
        provider, processors = _provider(backend.receiver.url)
        assert [p.name for p in processors] == ["agentops"]  # no local store by default
        _end_spans(provider, 5)  # before the token exists
        assert provider.force_flush(10_000)
        assert backend.receiver.wait_for(5)
        provider.shutdown()
    assert backend.auth_bodies == [{"api_key": API_KEY}]
    assert backend.unauthorized == 0  # nothing was sent before the token
    assert {r["authorization"] for r in backend.receiver.requests} == {f"Bearer {token}"}
    assert backend.receiver.requests[0]["content-type"] == "application/x-protobuf"
    assert backend.receiver.spans[0]["attributes"][A.COST_USD] == 0.5
    assert processors[0].dropped == 0


def test_401_triggers_one_refresh_and_the_batch_is_resent() -> None:
    first, second = _jwt("t1"), _jwt("t2")
    with FakeBackend(_ok([first, second])) as backend:
        exporter = AgentOpsBackendExporter(
            API_KEY, api_endpoint=backend.receiver.url, exporter_endpoint=backend.receiver.url
        )
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        _end_spans(provider, 1, "before")
        assert backend.receiver.wait_for(1)
        backend.valid.discard(first)  # the backend revokes the first token
        _end_spans(provider, 1, "after")
        assert backend.receiver.wait_for(2)
        provider.shutdown()
    assert len(backend.auth_bodies) == 2 and backend.unauthorized == 1
    assert [r["authorization"] for r in backend.receiver.requests] == [
        f"Bearer {first}",
        f"Bearer {second}",
    ]
    assert [s["name"] for s in backend.receiver.spans] == ["before 0", "after 0"]


def test_token_is_renewed_before_it_expires() -> None:
    first, second = _jwt("t1", expires_in=301), _jwt("t2")  # renewal due in about 1 s
    with FakeBackend(_ok([first, second])) as backend:
        provider, _ = _provider(backend.receiver.url)
        _end_spans(provider, 1, "early")
        provider.force_flush(10_000)
        assert _wait(lambda: len(backend.auth_bodies) == 2)
        _end_spans(provider, 1, "late")
        provider.force_flush(10_000)
        assert backend.receiver.wait_for(2)
        provider.shutdown()
    assert [r["authorization"] for r in backend.receiver.requests] == [
        f"Bearer {first}",
        f"Bearer {second}",
    ]


def test_auth_outage_holds_spans_until_a_token_arrives() -> None:
    token = _jwt("t1")
    answers = {1: (503, {}), 2: (200, {"token": token})}
    with FakeBackend(lambda n: answers.get(n, (200, {"token": token}))) as backend:
        provider, processors = _provider(backend.receiver.url)
        _end_spans(provider, 4)
        assert backend.receiver.wait_for(4, timeout=15)
        provider.shutdown()
    assert len(backend.auth_bodies) == 2 and processors[0].dropped == 0


def test_rejected_key_warns_once_and_never_retries(caplog) -> None:
    with caplog.at_level(logging.DEBUG), FakeBackend(lambda n: (401, {"error": "bad key"})) as b:
        provider, processors = _provider(b.receiver.url)
        for _ in range(3):
            _end_spans(provider, 10)
            provider.force_flush(5_000)
        time.sleep(1.5)  # long enough for a retry loop to show itself
        _end_spans(provider, 10)
        provider.shutdown()
    assert len(b.auth_bodies) == 1  # no retry storm
    assert b.receiver.requests == [] and b.unauthorized == 0
    rejected = [r for r in caplog.records if "rejected the API key" in r.getMessage()]
    assert len(rejected) == 1 and rejected[0].levelno == logging.WARNING
    assert processors[0].dropped == 40
    assert not any(API_KEY in r.getMessage() for r in caplog.records)
    assert API_KEY not in repr(processors[0].exporter)


@pytest.mark.parametrize("endpoint", ["http://h:1", "http://h:1/", "http://h:1/v1/traces"])
def test_traces_url_from_endpoint(endpoint: str) -> None:
    exporter = AgentOpsBackendExporter(
        API_KEY, api_endpoint="http://127.0.0.1:1", exporter_endpoint=endpoint
    )
    assert exporter.traces_url == "http://h:1/v1/traces"
    assert exporter.auth_url == "http://127.0.0.1:1/v3/auth/token"
    exporter.shutdown()
