"""Test helpers shipped with agentops-otel: a fake OpenAI/Anthropic-compatible LLM server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentops_otel.testing.fake_llm import FakeLLMServer

__all__ = ["FakeLLMServer"]


def __getattr__(name: str) -> Any:
    # Lazy, so `python -m agentops_otel.testing.fake_llm` does not import the module twice.
    if name == "FakeLLMServer":
        from agentops_otel.testing.fake_llm import FakeLLMServer

        return FakeLLMServer
    raise AttributeError(name)
