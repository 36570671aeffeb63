"""Which of the installed libraries our instrumentors cover (``agentops-otel doctor``), and one
warning for a covered library whose instrumentor is missing."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from agentops_otel._catalog import INSTRUMENTED

_log = logging.getLogger(__name__)
_warned: set[str] = set()


@dataclass(frozen=True)
class Library:
    """A library we cover, as installed here."""

    name: str
    version: str | None  # None: not installed
    instrumentor: str  # our distribution for it
    instrumentor_version: str | None  # None: not installed
    tested: str  # the requirement its tests cover, e.g. "openai >= 2.0, < 4"

    @property
    def in_range(self) -> bool:
        """The installed version lies in the tested range."""
        from packaging.requirements import Requirement

        return self.version is not None and Requirement(self.tested).specifier.contains(
            self.version, prereleases=True
        )


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def libraries() -> list[Library]:
    """Every library we cover, installed or not."""
    return [
        Library(name, _version(name), dist, _version(dist), tested)
        for name, (dist, tested) in sorted(INSTRUMENTED.items())
    ]


def warn_uncovered() -> None:
    """Log one warning per installed library we cover whose instrumentor is not installed."""
    for lib in libraries():
        if lib.version is not None and lib.instrumentor_version is None and lib.name not in _warned:
            _warned.add(lib.name)
            _log.warning(
                "agentops-otel: %s %s is installed but its instrumentor is not, so its "
                "calls are not traced: pip install %s",
                lib.name,
                lib.version,
                lib.instrumentor,
            )


def warn_uncovered_in_background() -> None:
    """:func:`warn_uncovered` off the caller's thread (it reads package metadata from disk)."""
    threading.Thread(target=_quietly, name="agentops-otel-coverage", daemon=True).start()


def _quietly() -> None:
    try:
        warn_uncovered()
    except Exception:  # noqa: BLE001 - a diagnostic must never break the app
        _log.debug("agentops-otel: coverage check failed", exc_info=True)
