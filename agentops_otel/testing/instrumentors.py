"""Checks every framework instrumentor's tests make: ``uninstrument()`` restores the library,
and a target a release moved is skipped with one debug log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import wrapt

from agentops_otel.instrumentation import TargetsInstrumentor
from agentops_otel.testing.spans import SpanCapture


def _raw(owner: Any, name: str) -> Any:
    return owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)


def assert_uninstrument_restores(
    instrumentor: TargetsInstrumentor, capture: SpanCapture, places: list[tuple[Any, str]]
) -> None:
    """Instrument: every ``(owner, attribute)`` of ``places`` is wrapped; uninstrument: every
    one is the original object again."""
    originals = [_raw(owner, name) for owner, name in places]
    instrumentor.instrument(tracer_provider=capture.provider)
    try:
        wrapped = [isinstance(_raw(owner, name), wrapt.FunctionWrapper) for owner, name in places]
        assert all(wrapped), list(zip(places, wrapped, strict=True))
    finally:
        instrumentor.uninstrument()
    assert [_raw(owner, name) for owner, name in places] == originals


@contextmanager
def moved_target(
    instrumentor: TargetsInstrumentor,
    capture: SpanCapture,
    caplog: pytest.LogCaptureFixture,
    old: str,
    new: str,
) -> Iterator[None]:
    """Instrumented for a block as if a release had renamed target ``old`` to ``new``: exactly
    one debug log names the missing target. Uninstrumented after."""
    real = instrumentor.targets
    # a stand-in for this one instrument() call, put back below
    instrumentor.targets = lambda tracer: [  # type: ignore[method-assign]
        (module, path.replace(old, new), wrapper) for module, path, wrapper in real(tracer)
    ]
    try:
        with caplog.at_level(logging.DEBUG, logger="agentops_otel.instrumentation"):
            instrumentor.instrument(tracer_provider=capture.provider)
        records = [r for r in caplog.records if new in r.getMessage()]
        assert len(records) == 1 and records[0].levelno == logging.DEBUG, records
        yield
    finally:
        instrumentor.uninstrument()
        del instrumentor.targets
