"""The process-wide runtime: tracer provider attachment, destinations, instrumentors, exit.

``init()`` attaches to whatever tracer provider is in place (see :func:`_attach_provider`),
adds our processor and destinations, activates our instrumentors, and starts a session.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import ProxyTracerProvider

from agentops_otel import _config, _tracer

_log = logging.getLogger(__name__)
_lock = threading.RLock()


class _State:
    provider: Any = None  # the SDK TracerProvider our spans go to
    owned: bool = False  # we created it (and may shut it down)
    export_processors: tuple[Any, ...] = ()
    meter_provider: Any = None  # set by us when OTLP is configured and the app set none
    given_meter_provider: Any = None  # init(meter_provider=...): our instrumentors' metrics
    instrumentors: tuple[Any, ...] = ()
    auto_session: Any = None
    exit_registered = False


_state = _State()


def _attach_provider(settings: _config.Settings) -> None:
    """Proxy global → create and set ours; SDK provider → join it; anything else → private."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    from agentops_otel.processor import AgentOpsSpanProcessor

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider, owned = current, False
    else:
        provider = TracerProvider(
            resource=Resource.create({SERVICE_NAME: settings.service_name}), shutdown_on_exit=False
        )
        owned = True
        if isinstance(current, ProxyTracerProvider):
            trace.set_tracer_provider(provider)
        else:
            _log.warning(
                "agentops-otel: the global tracer provider is %s, not an OpenTelemetry SDK "
                "provider; agentops-otel uses a private provider for its own spans",
                type(current).__name__,
            )
    provider.add_span_processor(AgentOpsSpanProcessor())
    _state.export_processors = tuple(_export_processors(settings))
    for processor in _state.export_processors:
        provider.add_span_processor(processor)
    _state.provider, _state.owned = provider, owned
    _tracer.use(provider)


def _attach_meter_provider(settings: _config.Settings) -> None:
    """Export our metrics over OTLP when OTLP is configured and the app set no meter provider."""
    from opentelemetry import metrics

    from agentops_otel.export._otlp import build_otlp_meter_provider

    if _state.given_meter_provider is not None:
        return  # init(meter_provider=...): our metrics go there
    if not type(metrics.get_meter_provider()).__name__.startswith("_Proxy"):
        return  # the app (or a vendor) configured metrics: our instruments report there
    if not _config.otlp_metrics_wanted():
        return
    try:
        provider = build_otlp_meter_provider(settings)
    except Exception:  # noqa: BLE001
        _log.warning("agentops-otel: OTLP metrics not set up", exc_info=True)
        return
    if provider is not None:
        metrics.set_meter_provider(provider)
        _state.meter_provider = provider


def _export_processors(settings: _config.Settings) -> list[Any]:
    try:
        from agentops_otel.export import build_span_processors
    except ImportError:
        return []
    try:
        return list(build_span_processors(settings, meter_provider=_state.given_meter_provider))
    except Exception:  # noqa: BLE001
        _log.warning("agentops-otel: could not set up export; spans stay local", exc_info=True)
        return []


def _instrument(selection: bool | Sequence[str]) -> None:
    """Activate our ``agentops_*`` instrumentors whose libraries are installed.

    Nothing is imported for a library the program doesn't use: the instrumentor's distribution
    metadata says which library (and versions) it instruments, and the instrumentor itself is
    loaded when that library's package is first imported (at once if it already is).
    """
    if selection is False:
        return
    from importlib.metadata import entry_points

    from opentelemetry.instrumentation.dependencies import get_dist_dependency_conflicts

    wanted = (
        None
        if selection is True
        else {n if n.startswith("agentops_") else f"agentops_{n}" for n in selection}
    )
    for ep in entry_points(group="opentelemetry_instrumentor"):
        if not ep.name.startswith("agentops_") or (wanted is not None and ep.name not in wanted):
            continue
        try:
            if ep.dist is not None and get_dist_dependency_conflicts(ep.dist):
                continue  # the library is not installed (or not in range): skip silently
            package = _library_package(ep.dist)
            if package is None:
                _load(ep)
            else:
                import wrapt

                wrapt.register_post_import_hook(functools.partial(_load, ep), package)
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: instrumentor %s not activated", ep.name, exc_info=True)


def _propagate_into_threads() -> None:
    """Turn on context propagation into threads, taken back by :func:`shutdown`."""
    from agentops_otel._threads import ThreadingInstrumentor

    threads = ThreadingInstrumentor()
    if not threads.is_instrumented_by_opentelemetry:
        threads.instrument()
        _state.instrumentors = (*_state.instrumentors, threads)


def _load(entry_point: Any, _module: Any = None) -> None:
    """Load the instrumentor an entry point names and activate it."""
    try:
        activate(entry_point.load()())
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: instrumentor %s not activated", entry_point.name, exc_info=True)


def _library_package(dist: Any) -> str | None:
    """The package of the library an instrumentor distribution instruments (its ``instruments``
    extra), read from the library's installed file list: ``None`` when unknown or when it is
    imported already (then the instrumentor is loaded at once)."""
    from importlib.metadata import distribution

    from packaging.requirements import Requirement

    requirements = [Requirement(req) for req in dist.requires or () if "instruments" in req]
    names = [
        req.name
        for req in requirements
        if req.marker is not None and req.marker.evaluate({"extra": "instruments"})
    ]
    if len(names) != 1 or names[0].replace("-", "_") in sys.modules:
        return None
    record = distribution(names[0]).read_text("RECORD") or ""
    files = {
        path
        for path in (line.partition(",")[0] for line in record.splitlines())
        if path.endswith(".py") and not path.startswith("..")
    }
    folders = {path.rpartition("/")[0] for path in files}
    common = os.path.commonpath(folders) if folders and "" not in folders else ""
    if f"{common}/__init__.py" not in files:
        return None  # a namespace package (mistralai 2.x): no import hook sees it imported
    return common.replace("/", ".")


def activate(instrumentor: Any) -> None:
    """Instrument now, or when the library named by ``target_modules`` is first imported."""
    modules = getattr(instrumentor, "target_modules", ())
    if modules:
        import wrapt

        wrapt.register_post_import_hook(lambda _module: _apply(instrumentor), modules[0])
    else:
        _apply(instrumentor)


def _apply(instrumentor: Any) -> None:
    try:
        if instrumentor.is_instrumented_by_opentelemetry or _state.provider is None:
            return
        instrumentor.instrument(
            tracer_provider=_state.provider,
            meter_provider=_state.given_meter_provider,
            skip_dep_check=True,
        )
        _state.instrumentors = (*_state.instrumentors, instrumentor)
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: instrumenting failed", exc_info=True)


def init(**kwargs: Any) -> None:
    """See :func:`agentops_otel.init`."""
    from agentops_otel import _session

    meter_provider = kwargs.pop("meter_provider", None)
    settings = _config.resolve(**kwargs)  # a wrong option raises, even on a repeated call
    with _lock:
        if _state.provider is not None:
            _log.debug("agentops-otel: init() called again; keeping the first configuration")
            return
        if _config.sdk_disabled():
            _log.debug("agentops-otel: OTEL_SDK_DISABLED=true; init() sets nothing up")
            return
        _config.install(settings)
        _state.given_meter_provider = meter_provider
        try:
            from agentops_otel import pricing

            pricing.preload()
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: price table not preloaded", exc_info=True)
        _attach_provider(settings)
        _attach_meter_provider(settings)
        _propagate_into_threads()
        _instrument(settings.instrument)
        if settings.instrument:
            from agentops_otel import _coverage

            _coverage.warn_uncovered_in_background()
        if not _state.exit_registered:
            atexit.register(_at_exit)
            _state.exit_registered = True
        if settings.auto_start_session:
            handle = _session.Session(settings.session_name, settings.tags)
            handle.__enter__()
            _state.auto_session = handle


def end_session(end_state: str = "Success", reason: str | None = None) -> None:
    """End the current session (the one ``init()`` started, if no other is current)."""
    from agentops_otel import _session

    handle = _session.current_session() or _state.auto_session
    if handle is None:
        _log.debug("agentops-otel: end_session() with no session running")
        return
    handle.end(end_state, reason)
    if handle is _state.auto_session:
        _state.auto_session = None


def _bounded(*actions: Callable[[], Any], timeout_s: float) -> bool:
    """Run ``actions`` at once on daemon threads; wait at most ``timeout_s`` for all of them
    together. True if all finished."""
    from agentops_otel.export._batch import run_within

    return run_within(actions, timeout_s)


def _drain_metrics() -> None:
    from agentops_otel.genai import _metrics

    try:
        _metrics.drain()
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: recording metrics failed", exc_info=True)


def flush(timeout: float | None = None) -> bool:
    """Send what is queued, waiting at most ``timeout`` seconds (default: the exit bound)."""
    _drain_metrics()
    provider = _state.provider
    if provider is None:
        return True
    limit = _config.current().exit_timeout_s if timeout is None else timeout
    return _bounded(lambda: provider.force_flush(int(limit * 1000)), timeout_s=limit)


def shutdown(timeout: float | None = None) -> None:
    """End open sessions as ``Indeterminate``, flush and stop exporting, within the bound."""
    from agentops_otel import _session

    with _lock:
        for handle in _session.open_sessions():
            handle.end("Indeterminate", "process exit")
        _state.auto_session = None
        provider = _state.provider
        if provider is None:
            return
        limit = _config.current().exit_timeout_s if timeout is None else timeout
        _drain_metrics()
        meter_provider, _state.meter_provider = _state.meter_provider, None
        processors = list(_state.export_processors)
        from agentops_otel.export import exit_wait

        # Spans and metrics drain side by side within the one bound (not one after the other);
        # our metrics go over OTLP, so they get a network destination's share of it.
        jobs = [provider.shutdown if _state.owned else lambda: [p.shutdown() for p in processors]]
        if meter_provider is not None:
            metric_ms = exit_wait(limit, local=False) * 1000
            jobs.append(lambda: meter_provider.shutdown(timeout_millis=metric_ms))
        _bounded(*jobs, timeout_s=exit_wait(limit))
        for instrumentor in _state.instrumentors:
            try:
                instrumentor.uninstrument()
            except Exception:  # noqa: BLE001
                pass
        _state.instrumentors = ()
        _state.provider = None
        _tracer.use(None)
        _state.export_processors = ()
        _state.given_meter_provider = None


def _at_exit() -> None:
    try:
        shutdown()
    except Exception:  # noqa: BLE001
        pass
