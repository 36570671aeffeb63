"""Time ranges as people type them: ``30m``, ``2h``, ``7d``, ``1w`` ago, or an ISO date."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> datetime:
    """The moment ``text`` names; :class:`ValueError` with a message fit to show a user."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", text.strip())
    if match:
        return datetime.now() - timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a duration like 30m, 2h, 7d or a date like 2025-06-01"
        ) from None
    if when.astimezone() > datetime.now().astimezone():
        raise ValueError(f"{text!r} is in the future")
    return when
