"""Pricing of the second-wave providers: Mistral, Cohere and Groq models from the bundled table,
and local models (Ollama) at $0 with source "local"."""

from __future__ import annotations

import pytest

from agentops_otel import pricing
from agentops_otel.pricing import LOCAL_SOURCE, TABLE_VERSION, cost_for, set_price

M = 1_000_000


@pytest.mark.parametrize(
    "provider,model,in_price,out_price",
    [
        ("mistral_ai", "mistral-large-latest", 2.0, 6.0),
        ("mistral_ai", "mistral-medium-latest", 1.5, 7.5),
        ("mistral_ai", "mistral-small-latest", 0.15, 0.6),
        ("mistral_ai", "magistral-medium-latest", 2.0, 5.0),
        ("mistral_ai", "codestral-latest", 0.3, 0.9),
        ("mistral_ai", "devstral-medium-2507", 0.4, 2.0),  # supplement to genai-prices
        ("mistral_ai", "mistral-embed", 0.1, 0.1),
        ("cohere", "command-a-03-2025", 2.5, 10.0),
        ("cohere", "command-r-plus-08-2024", 2.5, 10.0),
        ("cohere", "command-r7b-12-2024", 0.0375, 0.15),
        ("cohere", "embed-v4.0", 0.12, 0.0),
        ("cohere", "embed-english-v3.0", 0.1, 0.0),  # supplement to genai-prices
        ("cohere", "embed-multilingual-light-v3.0", 0.1, 0.0),
        ("groq", "llama-3.3-70b-versatile", 0.59, 0.79),
        ("groq", "llama-3.1-8b-instant", 0.05, 0.08),
        ("groq", "meta-llama/llama-4-scout-17b-16e-instruct", 0.11, 0.34),
        ("groq", "moonshotai/kimi-k2-instruct-0905", 1.0, 3.0),
        ("groq", "qwen/qwen3-32b", 0.29, 0.59),
        ("groq", "openai/gpt-oss-120b", 0.15, 0.6),
    ],
)
def test_current_models_are_priced(provider, model, in_price, out_price):
    cost = cost_for(provider, model, input_tokens=M, output_tokens=M)
    assert cost is not None and cost.source == f"agentops-otel/{TABLE_VERSION}"
    assert (cost.input_usd, cost.output_usd) == pytest.approx((in_price, out_price))


@pytest.mark.parametrize(
    "model", ["llama3.2", "mistral", "llama-3.3-70b-versatile", "gpt-oss:20b", "made-up-model"]
)
def test_ollama_models_are_local_and_free(model):
    """Even a name the table prices elsewhere (Groq's llama, Mistral's mistral) is free here."""
    cost = cost_for("ollama", model, input_tokens=1_000, output_tokens=500, cache_read_tokens=100)
    assert cost is not None
    assert (cost.total_usd, cost.input_usd, cost.output_usd) == (0.0, 0.0, 0.0)
    assert cost.source == LOCAL_SOURCE == "local"


def test_the_same_model_elsewhere_is_not_local():
    cost = cost_for("groq", "llama-3.3-70b-versatile", input_tokens=1_000, output_tokens=500)
    assert cost is not None and cost.total_usd > 0 and cost.source != LOCAL_SOURCE
    assert cost_for(None, "made-up-model", input_tokens=1, output_tokens=1) is None


def test_local_rule_holds_after_a_user_price():
    set_price("llama3.2", input_per_mtok=1, output_per_mtok=1)
    try:
        assert cost_for("ollama", "llama3.2", input_tokens=10, output_tokens=10).total_usd == 0.0
        assert cost_for(None, "llama3.2", input_tokens=10, output_tokens=10).total_usd > 0
    finally:
        pricing._reset()
