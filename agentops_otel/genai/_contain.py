"""Failures inside instrumentation: logged (once per place at warning level), never raised."""

from __future__ import annotations

import logging

_log = logging.getLogger("agentops_otel.genai")
_warned: set[str] = set()


def contain(what: str) -> None:
    """Log a failure inside instrumentation (call from an ``except`` block): the first time
    per place at warning level, then at debug. The user's call goes on."""
    level = logging.DEBUG if what in _warned else logging.WARNING
    _warned.add(what)
    _log.log(
        level, "agentops-otel: %s failed; the call proceeds uninstrumented", what, exc_info=True
    )
