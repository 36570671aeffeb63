"""Debian's Chromium for headless browser runs (tests, screenshots): the path and the flags it
needs as root in CI with no network (never ``playwright install``: no browser download)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",  # required as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # without these it keeps trying outside hosts
    "--disable-component-update",
    "--disable-sync",
)
