"""Prices of the second-wave providers' models as their SDKs name them: Gemini (Gemini API and
Vertex AI) and Bedrock ids with inference-profile prefixes and version suffixes. Expected figures
are the providers' list prices (USD per million tokens) as bundled in prices.json."""

from __future__ import annotations

import pytest

from agentops_otel.pricing import cost_for

M = 1_000_000


def per_mtok(provider: str, model: str) -> tuple[float, float]:
    """Prices per million tokens, from a call small enough for the base context tier."""
    cost = cost_for(provider, model, input_tokens=1000, output_tokens=1000)
    assert cost is not None, (provider, model)
    return round(cost.input_usd * 1000, 6), round(cost.output_usd * 1000, 6)


@pytest.mark.parametrize("provider", ["gcp.gemini", "gcp.vertex_ai"])
@pytest.mark.parametrize(
    ("model", "prices"),
    [
        ("gemini-2.5-flash", (0.3, 2.5)),
        ("models/gemini-2.5-flash", (0.3, 2.5)),
        ("gemini-2.0-flash", (0.1, 0.4)),
        ("gemini-2.5-pro", (1.25, 10)),
        ("gemini-embedding-001", (0.15, 0)),
    ],
)
def test_gemini_models(provider, model, prices):
    assert per_mtok(provider, model) == prices


@pytest.mark.parametrize(
    ("model", "prices"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", (0.25, 1.25)),
        ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", (3, 15)),
        ("apac.anthropic.claude-3-5-sonnet-20240620-v1:0", (3, 15)),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", (3, 15)),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", (3.3, 16.5)),
        ("meta.llama3-1-8b-instruct-v1:0", (0.22, 0.22)),
        ("us.meta.llama3-2-11b-instruct-v1:0", (0.16, 0.16)),
        ("amazon.nova-lite-v1:0", (0.06, 0.24)),
        ("us.amazon.nova-pro-v1:0", (0.8, 3.2)),
        ("amazon.titan-text-express-v1", (0.2, 0.6)),
        ("amazon.titan-embed-text-v2:0", (0.02, 0)),
        ("cohere.command-r-v1:0", (0.15, 0.6)),
        ("mistral.mistral-large-2402-v1:0", (4, 12)),
        ("mistral.mistral-7b-instruct-v0:2", (0.15, 0.2)),
        # Added by scripts/update_prices.py (SUPPLEMENT_MODELS): genai-prices lacks them.
        ("cohere.embed-english-v3", (0.1, 0)),
        ("us.cohere.embed-v4:0", (0.12, 0)),
        ("cohere.command-text-v14", (1.5, 2)),
    ],
)
def test_bedrock_ids_and_inference_profiles(model, prices):
    assert per_mtok("aws.bedrock", model) == prices


def test_bedrock_cache_read_and_write_charged_once():
    """Input includes cache reads and writes; each is charged at its own price."""
    cost = cost_for(
        "aws.bedrock",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        input_tokens=1000,
        output_tokens=100,
        cache_read_tokens=400,
        cache_write_tokens=200,
    )
    assert cost is not None
    assert cost.input_usd == pytest.approx((400 * 3.3 + 400 * 0.33 + 200 * 4.125) / M)
    assert cost.output_usd == pytest.approx(100 * 16.5 / M)
