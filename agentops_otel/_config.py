"""Settings: ``init()`` arguments first, then ``AGENTOPS_*`` variables, then standard ``OTEL_*``."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _env_bool(name: str) -> bool | None:
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def sdk_disabled() -> bool:
    """``OTEL_SDK_DISABLED=true``: ``init()`` (like the OpenTelemetry SDK) sets nothing up."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def otlp_metrics_wanted() -> bool:
    """False when ``OTEL_METRICS_EXPORTER`` is set without ``otlp`` (``none``, ``console``)."""
    names = {n.strip().lower() for n in os.environ.get("OTEL_METRICS_EXPORTER", "").split(",")}
    names.discard("")
    return not names or ("otlp" in names and "none" not in names)


def _env_float(name: str) -> float | None:
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return None


def _content_from_env() -> bool:
    ours = _env_bool("AGENTOPS_CAPTURE_CONTENT")
    if ours is not None:
        return ours
    otel = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower()
    if otel in ("no_content", "false", "0"):
        return False
    return True  # the product is for debugging prompts: on unless switched off


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Read through :func:`current`; replaced whole by ``init()``."""

    api_key: str | None = None
    endpoint: str | None = None
    exporter_endpoint: str | None = None
    service_name: str = "agentops-app"
    instrument: bool | Sequence[str] = True
    capture_content: bool = True
    max_content_chars: int = 16_384
    redact: Callable[[Any], Any] | None = None
    tags: tuple[str, ...] = ()
    auto_start_session: bool = True
    session_name: str = "default"
    max_cost_usd: float | None = None
    on_budget_exceeded: str = "warn"  # "warn" | "raise"
    loop_threshold: int = 3
    on_loop: str = "warn"  # "warn" | "raise"
    exit_timeout_s: float = 2.0
    local_store: bool | None = None  # None: on when no other destination is configured
    otlp_endpoint: str | None = None  # else OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
    otlp_protocol: str | None = None  # "http/protobuf" | "grpc"; else OTEL_EXPORTER_OTLP_PROTOCOL
    otlp_headers: dict[str, str] | None = None
    exporters: tuple[Any, ...] = ()  # extra SpanExporter instances from the caller
    max_queue_size: int = 2048
    store_path: str | None = None
    retention_days: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def from_env() -> Settings:
    """Settings from the environment alone (what instrumentors see without ``init()``)."""
    env = os.environ
    tags = tuple(t.strip() for t in env.get("AGENTOPS_TAGS", "").split(",") if t.strip())
    instrument: bool | Sequence[str] = True
    if env.get("AGENTOPS_INSTRUMENT"):
        flag = _env_bool("AGENTOPS_INSTRUMENT")
        instrument = flag if flag is not None else tuple(
            n.strip() for n in env["AGENTOPS_INSTRUMENT"].split(",") if n.strip()
        )
    return Settings(
        api_key=env.get("AGENTOPS_API_KEY") or None,
        endpoint=env.get("AGENTOPS_API_ENDPOINT") or None,
        exporter_endpoint=env.get("AGENTOPS_EXPORTER_ENDPOINT") or None,
        service_name=env.get("OTEL_SERVICE_NAME") or "agentops-app",
        instrument=instrument,
        capture_content=_content_from_env(),
        max_content_chars=int(_env_float("AGENTOPS_MAX_CONTENT_CHARS") or 16_384),
        tags=tags,
        auto_start_session=_env_bool("AGENTOPS_AUTO_START_SESSION") is not False,
        session_name=env.get("AGENTOPS_SESSION_NAME") or "default",
        max_cost_usd=_env_float("AGENTOPS_MAX_COST_USD"),
        on_budget_exceeded=env.get("AGENTOPS_ON_BUDGET_EXCEEDED", "warn").lower(),
        loop_threshold=int(_env_float("AGENTOPS_LOOP_THRESHOLD") or 3),
        on_loop=env.get("AGENTOPS_ON_LOOP", "warn").lower(),
        exit_timeout_s=_env_float("AGENTOPS_EXIT_TIMEOUT") or 2.0,
        local_store=_env_bool("AGENTOPS_LOCAL_STORE"),
        store_path=env.get("AGENTOPS_OTEL_HOME") or None,
        retention_days=_env_float("AGENTOPS_RETENTION_DAYS"),
    )


def resolve(**overrides: Any) -> Settings:
    """Environment settings with the non-``None`` keyword arguments laid over them."""
    base = from_env()
    known = {f for f in Settings.__dataclass_fields__}
    chosen = {k: v for k, v in overrides.items() if v is not None and k in known}
    extra = {k: v for k, v in overrides.items() if v is not None and k not in known}
    if "tags" in chosen:
        chosen["tags"] = tuple(chosen["tags"])
    return replace(base, **chosen, extra={**base.extra, **extra})


_current: Settings | None = None


def current() -> Settings:
    """The settings in force: those of the last ``init()``, else the environment's."""
    global _current
    if _current is None:
        _current = from_env()
    return _current


def install(settings: Settings) -> None:
    global _current
    _current = settings
