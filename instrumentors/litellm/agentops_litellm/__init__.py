"""OpenTelemetry instrumentation for LiteLLM: ``completion``, ``acompletion``, ``embedding``,
``aembedding``, ``responses`` and ``aresponses`` (streams included) as GenAI LLM spans.

``LiteLLMInstrumentor().instrument(tracer_provider=...)`` does not import litellm (a multi-second
import): the patches go in when the application imports it, or at once if it already has.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import wrapt
from opentelemetry.trace import Tracer

from agentops_litellm.package import _instruments
from agentops_litellm.version import __version__
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["LiteLLMInstrumentor", "__version__"]

_pending: Callable[[Any], None] | None = None
_hook_registered = False


def _on_import(module: Any) -> None:
    global _pending
    apply, _pending = _pending, None
    if apply is not None:
        apply(module)


def _when_imported(apply: Callable[[Any], None] | None) -> None:
    """Run ``apply(litellm)`` now if litellm is imported, else right after its import.

    ``None`` cancels a pending application. wrapt keeps post-import hooks for good, so one hook is
    registered per process and reads ``_pending``.
    """
    global _pending, _hook_registered
    _pending = apply
    if apply is None:
        return
    if not _hook_registered:
        _hook_registered = True
        wrapt.register_post_import_hook(_on_import, "litellm")  # fires now if already imported
    elif "litellm" in sys.modules:
        _on_import(sys.modules["litellm"])


class LiteLLMInstrumentor(PatchingInstrumentor):
    """Instruments litellm's public entry points (see the package README for what is reached)."""

    _dependencies = _instruments
    target_modules = ("litellm",)  # init() instruments when litellm is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        from agentops_litellm import _wrappers

        _when_imported(lambda litellm: _wrappers.patch(patches, tracer, litellm))

    def _uninstrument(self, **kwargs: Any) -> None:
        _when_imported(None)
        super()._uninstrument(**kwargs)
