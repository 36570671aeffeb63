"""``opentelemetry-instrument`` support: our distro and configurator (both ``agentops_otel``).

The configurator runs ``init()`` (destinations from the ``OTEL_*`` / ``AGENTOPS_*`` variables, our
processor, a session). The distro then loads instrumentors with one policy: where one of our
instrumentors covers a library, another vendor's instrumentor for the same library is skipped
(logged at info), so each model request gives one span and cost counts once. Set
``AGENTOPS_ALLOW_OTHER_INSTRUMENTORS=true`` to load them all anyway; their spans then carry
``agentops.llm.duplicate`` and are never priced or counted.
"""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro
from opentelemetry.sdk._configuration import _BaseConfigurator

from agentops_otel import _config

_log = logging.getLogger(__name__)


def _libraries(instrumentor: Any) -> set[str]:
    """Distribution names an instrumentor targets, from ``instrumentation_dependencies()``."""
    from packaging.requirements import Requirement

    names = set()
    for spec in instrumentor.instrumentation_dependencies():
        try:
            names.add(Requirement(spec).name.lower().replace("_", "-"))
        except Exception:  # noqa: BLE001
            continue
    return names


class AgentOpsDistro(BaseDistro):
    """Loads our instrumentors lazily and stands other vendors' down for the same libraries."""

    def __init__(self) -> None:
        self._ours: set[str] | None = None

    def _configure(self, **kwargs: Any) -> None:
        # Nothing to set: the configurator reads the environment as init() does.
        pass

    def _covered(self) -> set[str]:
        if self._ours is None:
            self._ours = set()
            for ep in entry_points(group="opentelemetry_instrumentor"):
                if ep.name.startswith("agentops_"):
                    try:
                        self._ours |= _libraries(ep.load()())
                    except Exception:  # noqa: BLE001
                        continue
        return self._ours

    def load_instrumentor(self, entry_point: EntryPoint, **kwargs: Any) -> None:
        from agentops_otel import _runtime

        instrumentor = entry_point.load()()
        if entry_point.name.startswith("agentops_"):
            _runtime.activate(instrumentor)
            return
        allow = _config._env_bool("AGENTOPS_ALLOW_OTHER_INSTRUMENTORS")
        overlap = _libraries(instrumentor) & self._covered()
        if overlap and not allow:
            _log.info(
                "agentops-otel: skipping instrumentor %r for %s (ours covers it)",
                entry_point.name,
                ", ".join(sorted(overlap)),
            )
            return
        instrumentor.instrument(**kwargs)


class AgentOpsConfigurator(_BaseConfigurator):
    """SDK set-up for ``opentelemetry-instrument``: our ``init()``; the distro instruments."""

    def _configure(self, **kwargs: Any) -> None:
        from agentops_otel import _runtime

        _runtime.init(instrument=False)  # does nothing under OTEL_SDK_DISABLED=true
