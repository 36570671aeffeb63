"""Pytest fixtures shared by the core's and the instrumentors' tests.

Import the ones a test package uses into its ``conftest.py``::

    from agentops_otel.testing.fixtures import no_content, server  # noqa: F401

pytest is imported only when a fixture is looked up (pytest loading this module as a plugin, or a
conftest importing one), so the plain helpers here import without it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from agentops_otel import _config
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture


@contextmanager
def settings_changed(**changes: Any) -> Iterator[None]:
    """Run a block with some settings changed (``capture_content=False``…), then restore."""
    before = _config.current()
    _config.install(dataclasses.replace(before, **changes))
    try:
        yield
    finally:
        _config.install(before)


def _server() -> Iterator[FakeLLMServer]:
    """One fake LLM server on 127.0.0.1 per test module."""
    with FakeLLMServer() as fake:
        yield fake


def _capture() -> Iterator[SpanCapture]:
    """A fresh in-memory span capture (provider with our processor) for one test."""
    with SpanCapture() as cap:
        yield cap


def _no_content() -> Iterator[None]:
    """Content capture switched off for one test."""
    with settings_changed(capture_content=False):
        yield


def _settings() -> Iterator[Callable[..., None]]:
    """``settings(**changes)`` changes settings for the rest of one test."""
    before = _config.current()

    def change(**changes: Any) -> None:
        _config.install(dataclasses.replace(_config.current(), **changes))

    yield change
    _config.install(before)


@contextmanager
def instrumenting(capture: SpanCapture, *instrumentors: Any) -> Iterator[None]:
    """Instrument onto ``capture.provider`` for a block, uninstrumenting after (newest first)."""
    done = []
    try:
        for instrumentor in instrumentors:
            instrumentor.instrument(tracer_provider=capture.provider)
            done.append(instrumentor)
        yield
    finally:
        for instrumentor in reversed(done):
            instrumentor.uninstrument()


def instrumented_fixtures(
    instrumentor: Callable[[], Any], *providers: Callable[[], Any]
) -> tuple[Any, Any]:
    """The two fixtures of a framework instrumentor's tests, for its ``conftest.py``::

        providers_instrumented, instrumented = instrumented_fixtures(Mine, OpenAIInstrumentor)

    ``providers_instrumented``: the provider SDK instrumentors (which make the LLM spans) on the
    test's ``capture``; ``instrumented``: those and the framework's, which it yields."""
    import pytest

    @pytest.fixture
    def providers_instrumented(capture: SpanCapture) -> Iterator[None]:
        with instrumenting(capture, *(provider() for provider in providers)):
            yield

    @pytest.fixture
    def instrumented(capture: SpanCapture, providers_instrumented: None) -> Iterator[Any]:
        framework = instrumentor()
        with instrumenting(capture, framework):
            yield framework

    return providers_instrumented, instrumented


# name -> (generator, scope) of the fixtures this module provides as a plugin
_FIXTURES: dict[str, tuple[Callable[..., Any], Literal["module", "function"]]] = {
    "server": (_server, "module"),
    "capture": (_capture, "function"),
    "no_content": (_no_content, "function"),
    "settings": (_settings, "function"),
}


def __getattr__(name: str) -> Any:
    """The fixture ``name``, made (importing pytest) the first time it is looked up."""
    if name not in _FIXTURES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import pytest

    function, scope = _FIXTURES[name]
    fixture = globals()[name] = pytest.fixture(function, scope=scope, name=name)
    return fixture


def __dir__() -> list[str]:
    return sorted({*globals(), *_FIXTURES})
