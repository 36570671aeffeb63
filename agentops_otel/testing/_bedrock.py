"""Bedrock-compatible endpoints of the fake LLM server (placeholder)."""

from __future__ import annotations

from typing import Any


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    return {"message": message or "Fake error."}


ROUTES: list[Any] = []
