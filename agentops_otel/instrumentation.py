"""Patching helpers shared by our instrumentors: wrap methods so they chain with other vendors.

:class:`PatchingInstrumentor` is the base every instrumentor of ours derives from.

``Patches.wrap`` puts a wrapt wrapper on ``module.Class.method``; ``Patches.restore`` puts the
original back when ours is still the outermost wrapper, and otherwise switches ours to a
pass-through, so a wrapper another vendor put over ours keeps working.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Collection
from typing import Any

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.trace import Tracer

_log = logging.getLogger(__name__)

Wrapper = Callable[[Callable[..., Any], Any, tuple, dict], Any]


class _Switchable:
    """Calls ``wrapper`` while on; plain pass-through once switched off."""

    __slots__ = ("on", "wrapper")

    def __init__(self, wrapper: Wrapper) -> None:
        self.wrapper = wrapper
        self.on = True

    def __call__(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict
    ) -> Any:
        if self.on:
            return self.wrapper(wrapped, instance, args, kwargs)
        return wrapped(*args, **kwargs)


class Patches:
    """The wrappers one instrumentor installed, so it can take them all back."""

    def __init__(self) -> None:
        self._applied: list[tuple[Any, str, Any, _Switchable]] = []
        self._active = True  # False once restored: deferred wraps are not made any more

    def wrap(self, module: str, path: str, wrapper: Wrapper, *, deferred: bool = False) -> bool:
        """Wrap ``module:path`` (``"Class.method"`` or ``"function"``); False if it is missing.

        A missing target (a library upgrade moved it) is logged at debug level and skipped.
        ``deferred``: a module the program has not imported yet is not imported here; the wrap
        is made when it is (True is returned at once), unless :meth:`restore` came first.
        """
        if deferred and module not in sys.modules:
            wrapt.register_post_import_hook(
                lambda _module: self._active and self.wrap(module, path, wrapper), module
            )
            return True
        try:
            owner: Any = importlib.import_module(module)
            *parents, name = path.split(".")
            for part in parents:
                owner = getattr(owner, part)
            original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: %s.%s not found; not instrumented", module, path)
            return False
        switch = _Switchable(wrapper)
        wrapt.wrap_function_wrapper(owner, name, switch)
        self._applied.append((owner, name, original, switch))
        return True

    def restore(self) -> None:
        """Undo every wrap, newest first."""
        self._active = False
        while self._applied:
            owner, name, original, switch = self._applied.pop()
            switch.on = False
            current = (
                owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
            )
            if isinstance(current, wrapt.FunctionWrapper) and current._self_wrapper is switch:
                setattr(owner, name, original)


def call_in_context(ctx: Context, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with ``ctx`` as the current context, restoring the caller's afterwards:
    how work handed to another thread keeps the session and parent it was started in."""
    token = otel_context.attach(ctx)
    try:
        return fn(*args, **kwargs)
    finally:
        otel_context.detach(token)


class PatchingInstrumentor(BaseInstrumentor):
    """Base of our instrumentors: a tracer from ``instrument(tracer_provider=...)`` (whose
    metrics go to ``meter_provider=...`` when given), the patches made by :meth:`_apply` taken
    back by ``uninstrument()``.

    Subclasses set ``_dependencies`` (their ``_instruments`` version ranges) and
    ``target_modules`` (the module whose first import applies them under ``init()``).
    ``BaseInstrumentor`` is a singleton per class, so per-instrumentation state lives here.
    """

    _dependencies: Collection[str] = ()
    target_modules: tuple[str, ...] = ()
    _patches: Patches | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return self._dependencies

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> None:
        module = type(self).__module__
        tracer = trace.get_tracer(
            module,
            getattr(sys.modules.get(module), "__version__", None),
            tracer_provider=kwargs.get("tracer_provider"),
        )
        meter_provider = kwargs.get("meter_provider")
        if meter_provider is not None:
            from agentops_otel.genai import _metrics

            _metrics.bind(tracer, meter_provider)
        self._patches = Patches()
        self._apply(self._patches, tracer)

    def _uninstrument(self, **kwargs: Any) -> None:
        patches, self._patches = self._patches, None
        if patches is not None:
            patches.restore()


Target = tuple[str, str, Wrapper]  # (module, "Class.method" or "function", wrapper)


class TargetsInstrumentor(PatchingInstrumentor):
    """A :class:`PatchingInstrumentor` whose patches are a list: ``targets(tracer)`` returns
    ``(module, path, wrapper)`` triples; a target a library release lacks is skipped (debug)."""

    def targets(self, tracer: Tracer) -> list[Target]:
        raise NotImplementedError

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        for module, path, wrapper in self.targets(tracer):
            patches.wrap(module, path, wrapper)


def one_line(value: Any, limit: int) -> str:
    """``value`` as one whitespace-collapsed line of at most ``limit`` characters ("" for
    None): names, roles and descriptions taken from framework objects."""
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_arg(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    """A wrapped call's argument by keyword ``name``, else by position ``index`` (None)."""
    return kwargs[name] if name in kwargs else (args[index] if len(args) > index else None)
