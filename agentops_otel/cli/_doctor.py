"""``agentops-otel doctor``: what this installation would trace, where spans would go, and why.

Plain text (no rich), so it works on any install and can be pasted into an issue.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from agentops_otel import _config, _coverage

_SECRET = ("api_key", "otlp_headers")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _settings_with_problems() -> tuple[_config.Settings, list[str]]:
    """The environment's settings, and the warnings reading them gave (bad variables)."""
    handler = _Collect()
    logger = logging.getLogger(_config.__name__)
    logger.addHandler(handler)
    try:
        _config._warned.clear()  # report every bad variable, even one already warned about
        return _config.from_env(), handler.messages
    finally:
        logger.removeHandler(handler)


def _library_lines() -> list[str]:
    lines = []
    for lib in _coverage.libraries():
        if lib.version is None:
            lines.append(f"  -  {lib.name}: not installed")
        elif lib.instrumentor_version is None:
            lines.append(
                f"  X  {lib.name} {lib.version}: NOT traced, its instrumentor is "
                f"missing: pip install {lib.instrumentor}"
            )
        elif not lib.in_range:
            lines.append(
                f"  !  {lib.name} {lib.version}: outside the tested range "
                f"({lib.tested}); {lib.instrumentor} stays off"
            )
        else:
            lines.append(
                f"  ok {lib.name} {lib.version}: traced by {lib.instrumentor} "
                f"{lib.instrumentor_version} (tested {lib.tested})"
            )
    return lines


def _source(settings: _config.Settings, name: str) -> str:
    return settings.sources.get(name, "default")


def _destination_lines(settings: _config.Settings) -> list[str]:
    from agentops_otel.export import local_store_enabled
    from agentops_otel.export._otlp import otlp_configured, otlp_protocol
    from agentops_otel.store import default_path

    lines = []
    path = default_path(settings.store_path)
    if local_store_enabled(settings):
        why = (
            _source(settings, "local_store")
            if settings.local_store is not None
            else "default: no other destination is configured"
        )
        lines.append(f"  local store: on ({why})")
    else:
        lines.append(
            f"  local store: off ({_source(settings, 'local_store')}: another "
            "destination is configured)"
            if settings.local_store is None
            else f"  local store: off ({_source(settings, 'local_store')})"
        )
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) if path.exists() else 0
    lines.append(
        f"    path {path} ({_bytes(size) if path.exists() else 'not created yet'}; "
        f"from {_source(settings, 'store_path')})"
    )
    if otlp_configured(settings):
        endpoint = settings.otlp_endpoint or next(
            os.environ[v] for v in _config.BY_NAME["otlp_endpoint"].otel if os.environ.get(v)
        )
        lines.append(
            f"  OTLP: {otlp_protocol(settings)} to {endpoint} "
            f"(from {_source(settings, 'otlp_endpoint')})"
        )
    else:
        lines.append("  OTLP: off (set OTEL_EXPORTER_OTLP_ENDPOINT)")
    if settings.api_key:
        lines.append(f"  AgentOps backend: on (API key from {_source(settings, 'api_key')})")
    else:
        lines.append("  AgentOps backend: off (set AGENTOPS_API_KEY)")
    return lines


def _bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _setting_lines(settings: _config.Settings) -> list[str]:
    lines = []
    for option in _config.OPTIONS:
        source = settings.sources.get(option.name)
        if source is None:
            continue
        value = (
            getattr(settings, option.name)
            if hasattr(settings, option.name)
            else settings.extra.get(option.name)
        )
        shown = "(hidden)" if option.name in _SECRET else repr(value)
        if value is None and source.startswith("OTEL_"):
            shown = f"{os.environ.get(source, '')!r} (read by the exporter)"
        lines.append(f"  {option.name} = {shown}  from {source}")
    return lines or ["  every setting at its default"]


def report() -> str:
    """The whole report."""
    try:
        ours = version("agentops-otel-distro")
    except PackageNotFoundError:
        ours = "(not installed as a distribution)"
    settings, problems = _settings_with_problems()
    sections = [
        [f"agentops-otel-distro {ours} on Python {platform.python_version()} ({sys.executable})"],
        ["Libraries we instrument:", *_library_lines()],
        ["Destinations (without init() arguments):", *_destination_lines(settings)],
        [
            "Settings not at their default, and where each came from "
            "(init() arguments win over these):",
            *_setting_lines(settings),
        ],
    ]
    if problems:
        sections.append(["Problems:", *(f"  {p}" for p in problems)])
    return "\n\n".join("\n".join(section) for section in sections)
