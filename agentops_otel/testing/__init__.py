"""Test helpers shipped with agentops-otel: a fake OpenAI/Anthropic-compatible LLM server."""

from agentops_otel.testing.fake_llm import FakeLLMServer

__all__ = ["FakeLLMServer"]
