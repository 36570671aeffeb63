"""agentops-otel instrumentation for AG2, both lines of the ``ag2`` distribution.

- AG2 classic (ag2 0.x, ``import autogen``): conversations, agent replies, tool calls and group
  chats (see :mod:`agentops_ag2._classic`).
- AG2 1.x (``import ag2``): agent turns and tool executions through a middleware added to every
  turn (see :mod:`agentops_ag2._v1`).

Which line is installed is read from the distribution's version; one instrumentor covers both.
Model calls are counted once, by the provider instrumentors (openai, anthropic, …): neither line's
own model layer gets an LLM span, and the provider's LLM span nests under the agent span.

Usage::

    AG2Instrumentor().instrument(tracer_provider=provider)
"""

from __future__ import annotations

import logging
from importlib import metadata

from opentelemetry.trace import Tracer

from agentops_ag2.package import _instruments
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["AG2Instrumentor"]
__version__ = "0.1.0"

_log = logging.getLogger(__name__)


def _installed_line() -> str | None:
    """``"classic"`` for ag2 0.x, ``"v1"`` for 1.x, ``None`` when ag2 is not installed."""
    try:
        version = metadata.version("ag2")
    except metadata.PackageNotFoundError:
        return None
    major = version.split(".", 1)[0]
    return "classic" if major == "0" else "v1"


class AG2Instrumentor(PatchingInstrumentor):
    """``AG2Instrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments

    @property  # computed from the installed ag2 line, over the base's class attribute
    def target_modules(self) -> tuple[str, ...]:  # type: ignore[override]
        """The module whose first import applies us under ``init()`` (never imported early)."""
        return ("ag2",) if _installed_line() == "v1" else ("autogen",)

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        line = _installed_line()
        try:
            if line == "v1":
                from agentops_ag2 import _v1

                _v1.instrument(tracer, patches)
            elif line == "classic":
                from agentops_ag2 import _classic

                _classic.instrument(tracer, patches)
        except Exception:  # noqa: BLE001 - a framework we cannot read stays uninstrumented
            _log.debug("agentops-otel: AG2 (%s) not instrumented", line, exc_info=True)
