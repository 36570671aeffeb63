"""agentops-otel: observability for AI agents, on OpenTelemetry.

Two lines trace every model call, nested under the session, agent and operation that made it::

    import agentops_otel
    agentops_otel.init()
    ...
    agentops_otel.end_session("Success")

The public API is loaded lazily so that ``import agentops_otel`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AgentOpsSpanProcessor",
    "BudgetExceededError",
    "LoopDetectedError",
    "Session",
    "agent",
    "end_session",
    "flush",
    "init",
    "operation",
    "session",
    "shutdown",
    "start_session",
    "task",
    "tool",
    "workflow",
]

if TYPE_CHECKING:
    from agentops_otel._session import Session, session, start_session
    from agentops_otel.decorators import agent, operation, task, tool, workflow
    from agentops_otel.errors import BudgetExceededError, LoopDetectedError
    from agentops_otel.processor import AgentOpsSpanProcessor

_LAZY = {
    "Session": "agentops_otel._session",
    "session": "agentops_otel._session",
    "start_session": "agentops_otel._session",
    "agent": "agentops_otel.decorators",
    "operation": "agentops_otel.decorators",
    "task": "agentops_otel.decorators",
    "tool": "agentops_otel.decorators",
    "workflow": "agentops_otel.decorators",
    "BudgetExceededError": "agentops_otel.errors",
    "LoopDetectedError": "agentops_otel.errors",
    "AgentOpsSpanProcessor": "agentops_otel.processor",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentops_otel' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def init(
    api_key: str | None = None,
    endpoint: str | None = None,
    *,
    service_name: str | None = None,
    instrument: bool | Sequence[str] | None = None,
    capture_content: bool | None = None,
    tags: Sequence[str] | None = None,
    auto_start_session: bool | None = None,
    max_cost_usd: float | None = None,
    on_budget_exceeded: str | None = None,
    loop_threshold: int | None = None,
    on_loop: str | None = None,
    redact: Callable[[str, Any], Any] | None = None,
    exit_timeout_s: float | None = None,
    **options: Any,
) -> None:
    """Start tracing: attach to the tracer provider, set up destinations, instrument every
    installed library we know, and start a session (unless ``auto_start_session=False``).

    Idempotent and quick: no network or disk I/O on the caller's thread. Arguments win over
    ``AGENTOPS_*`` variables, which win over the standard ``OTEL_*`` ones.
    ``on_budget_exceeded`` / ``on_loop``: ``"warn"`` (default) or ``"raise"``.
    ``redact(key, value)`` sees every captured prompt, completion and argument first.
    Other options: ``otlp_endpoint``, ``otlp_protocol``, ``otlp_headers``, ``otlp_compression``,
    ``otlp_timeout_s``, ``exporters``, ``local_store``, ``store_path``, ``retention_days``,
    ``session_name``, ``max_content_chars``, ``max_queue_size`` (all in the README's table), and
    ``meter_provider`` (an OpenTelemetry ``MeterProvider`` for our metrics; default: the global).

    Raises ``TypeError`` for an unknown keyword (naming the closest valid one) and ``ValueError``
    for a wrong value (saying what is accepted); a bad ``AGENTOPS_*`` variable only warns.
    """
    from agentops_otel import _runtime

    _runtime.init(
        api_key=api_key,
        endpoint=endpoint,
        service_name=service_name,
        instrument=instrument,
        capture_content=capture_content,
        tags=tags,
        auto_start_session=auto_start_session,
        max_cost_usd=max_cost_usd,
        on_budget_exceeded=on_budget_exceeded,
        loop_threshold=loop_threshold,
        on_loop=on_loop,
        redact=redact,
        exit_timeout_s=exit_timeout_s,
        **options,
    )


def end_session(end_state: str = "Success", reason: str | None = None) -> None:
    """End the current session with ``Success``, ``Fail`` or ``Indeterminate``."""
    from agentops_otel import _runtime

    _runtime.end_session(end_state, reason)


def flush(timeout: float | None = None) -> bool:
    """Export what is queued, waiting at most ``timeout`` seconds; True if everything went."""
    from agentops_otel import _runtime

    return _runtime.flush(timeout)


def shutdown(timeout: float | None = None) -> None:
    """End open sessions as ``Indeterminate`` and stop exporting, within the exit bound."""
    from agentops_otel import _runtime

    _runtime.shutdown(timeout)
