#!/usr/bin/env python3
"""Regenerate agentops_otel/pricing/prices.json from the installed ``genai-prices`` package.

This is the explicit, offline update action for the bundled price table: it reads the data that
``genai-prices`` (MIT) ships inside its wheel and never touches the network. genai-prices is a
build-time tool only, never a runtime dependency of agentops-otel.

    uv pip install -p .venv/bin/python -U genai-prices
    .venv/bin/python scripts/update_prices.py            # writes the table, prints a summary
    .venv/bin/python scripts/update_prices.py --check    # exit 1 if the committed table is stale

Prices are resolved as of the run date: dated price changes already in force apply, time-of-day
windows (DeepSeek peak/off-peak) resolve to the price in force for most of the day, and batch /
priority / fast variants are left out (spans don't say which was used).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import sys
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from genai_prices import types as gp
from genai_prices.data import providers as gp_providers

PRICING_DIR = Path(__file__).resolve().parent.parent / "agentops_otel" / "pricing"
TABLE_PATH = PRICING_DIR / "prices.json"
VERSION_PATH = PRICING_DIR / "_version.py"

# genai-prices provider id -> extra names it is known by: OTel `gen_ai.provider.name` values,
# LiteLLM / OpenRouter model prefixes and common spellings. Order = global search order:
# first-party providers before resellers, so an unqualified model gets its maker's price.
PROVIDERS: dict[str, list[str]] = {
    "openai": ["openai", "openai_chat", "text-completion-openai"],
    "anthropic": ["anthropic"],
    "google": [
        "google",
        "gemini",
        "gcp.gen_ai",
        "gcp.gemini",
        "gcp.vertex_ai",
        "vertex_ai",
        "vertex_ai_beta",
        "vertexai",
        "vertex",
        "google_genai",
        "google-genai",
        "google_vertexai",
    ],
    "mistral": ["mistral", "mistral_ai", "mistralai"],
    "deepseek": ["deepseek"],
    "x-ai": ["x-ai", "x_ai", "xai"],
    "cohere": ["cohere", "cohere_chat"],
    "moonshotai": ["moonshotai", "moonshot"],
    "perplexity": ["perplexity"],
    "groq": ["groq"],
    "cerebras": ["cerebras"],
    "together": ["together", "together_ai", "togetherai"],
    "fireworks": ["fireworks", "fireworks_ai", "fireworks-ai"],
    "aws": ["aws", "aws.bedrock", "bedrock", "bedrock_converse", "amazon", "aws_bedrock"],
    "azure": ["azure", "azure.ai.openai", "azure.ai.inference", "azure_ai", "azure_openai"],
}

# Our column -> genai-prices price key (USD per million tokens).
COLUMNS = {
    "input": "input_mtok",
    "output": "output_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
}

# Long-context tiers genai-prices does not model: Anthropic bills Claude Sonnet 4 requests over
# 200K input tokens (1M-context beta) at $6 in / $22.50 out / $0.60 cache read / $7.50 cache write
# per MTok, the same long-context rates genai-prices already carries for Sonnet 4.5.
SUPPLEMENT_TIERS: dict[tuple[str, str], list[dict[str, float | int]]] = {
    ("anthropic", "claude-sonnet-4-0"): [
        {"above": 200_000, "input": 6, "output": 22.5, "cache_read": 0.6, "cache_write": 7.5},
    ],
}

# Current models that genai-prices does not list, at the providers' list prices (USD per MTok).
# Appended after genai-prices' own models of the provider, so its entry wins once it has one.
SUPPLEMENT_MODELS: dict[str, list[dict[str, Any]]] = {
    "cohere": [
        {
            "id": "embed-v3.0",
            "match": {"regex": r"^embed-(english|multilingual)(-light)?-v3\.0$"},
            "input": 0.1,
        },
    ],
    "mistral": [
        {
            "id": "devstral-medium",
            "match": {"starts_with": "devstral-medium"},
            "input": 0.4,
            "output": 2,
        },
    ],
    # Bedrock list prices: Cohere on Bedrock (embeddings and the legacy Command text models),
    # matched anywhere in the id so inference-profile prefixes ("us.cohere.embed-v4:0") match too.
    "aws": [
        {
            "id": "cohere.embed-english-v3",
            "match": {"contains": "cohere.embed-english-v3"},
            "input": 0.1,
            "output": 0,
        },
        {
            "id": "cohere.embed-multilingual-v3",
            "match": {"contains": "cohere.embed-multilingual-v3"},
            "input": 0.1,
            "output": 0,
        },
        {
            "id": "cohere.embed-v4",
            "match": {"contains": "cohere.embed-v4"},
            "input": 0.12,
            "output": 0,
        },
        {
            "id": "cohere.command-text-v14",
            "match": {"contains": "cohere.command-text-v14"},
            "input": 1.5,
            "output": 2,
        },
        {
            "id": "cohere.command-light-text-v14",
            "match": {"contains": "cohere.command-light-text-v14"},
            "input": 0.3,
            "output": 0.6,
        },
    ],
}


def _clause(match: Any) -> dict[str, Any]:
    """genai-prices match logic -> our JSON form (strings lowercased, as genai-prices compares)."""
    if isinstance(match, gp.ClauseOr):
        return {"or": [_clause(c) for c in match.or_]}
    if isinstance(match, gp.ClauseAnd):
        return {"and": [_clause(c) for c in match.and_]}
    if isinstance(match, gp.ClauseRegex):
        return {"regex": match.regex}
    for cls, key in (
        (gp.ClauseEquals, "equals"),
        (gp.ClauseStartsWith, "starts_with"),
        (gp.ClauseEndsWith, "ends_with"),
        (gp.ClauseContains, "contains"),
    ):
        if isinstance(match, cls):
            return {key: getattr(match, key).lower()}
    raise TypeError(f"unsupported match clause {match!r}")


def _standard_price(model: gp.ModelInfo, day: dt.date) -> gp.ModelPrice:
    """The price in force for most of `day` (resolves dated changes and time-of-day windows)."""
    if isinstance(model.prices, gp.ModelPrice):
        return model.prices
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    slots = [model.get_prices(start + dt.timedelta(minutes=30 * i)) for i in range(48)]
    counts = collections.Counter(repr(p) for p in slots)
    best = counts.most_common(1)[0][0]
    return next(p for p in slots if repr(p) == best)


def _number(value: Decimal) -> float | int:
    f = float(value)
    return int(f) if f.is_integer() else f


def _price_at(value: Decimal | gp.TieredPrices | None, input_tokens: int) -> Decimal | None:
    if not isinstance(value, gp.TieredPrices):
        return value
    price = value.base
    for tier in value.tiers:
        if input_tokens > tier.start:
            price = tier.price
    return price


def _model_entry(provider_id: str, model: gp.ModelInfo, day: dt.date) -> dict[str, Any] | None:
    price = _standard_price(model, day)
    raw = {col: getattr(price, key, None) for col, key in COLUMNS.items()}
    if raw["input"] is None and raw["output"] is None:
        return None  # priced per request, character, page or audio hour: not a token model
    entry: dict[str, Any] = {"provider": provider_id, "id": model.id, "match": _clause(model.match)}
    for col, value in raw.items():
        base = _price_at(value, 0)
        if base is not None:
            entry[col] = _number(base)
    starts = sorted(
        {t.start for v in raw.values() if isinstance(v, gp.TieredPrices) for t in v.tiers}
    )
    tiers = []
    for start in starts:
        tier: dict[str, Any] = {"above": start}
        for col, value in raw.items():
            at = _price_at(value, start + 1)
            if at is not None:
                tier[col] = _number(at)
        tiers.append(tier)
    tiers = tiers or SUPPLEMENT_TIERS.get((provider_id, model.id), [])
    if tiers:
        entry["tiers"] = tiers
    return entry


def build(day: dt.date) -> dict[str, Any]:
    """The whole table as a JSON-ready dict."""
    by_id = {p.id: p for p in gp_providers}
    missing = [pid for pid in PROVIDERS if pid not in by_id]
    if missing:
        raise SystemExit(f"genai-prices has no provider(s) {missing}; update PROVIDERS")
    providers, models = [], []
    for pid, names in PROVIDERS.items():
        src = by_id[pid]
        providers.append(
            {
                "id": pid,
                "names": sorted({pid, *names}),
                "match": _clause(src.model_match) if src.model_match else None,
                "fallbacks": [f for f in (src.fallback_model_providers or []) if f in PROVIDERS],
            }
        )
        models.extend(e for m in src.models if (e := _model_entry(pid, m, day)) is not None)
        models.extend({"provider": pid, **e} for e in SUPPLEMENT_MODELS.get(pid, ()))
    return {
        "version": day.isoformat(),
        "generated_from": f"genai-prices {version('genai-prices')} (MIT license)",
        "units": "USD per million tokens; tiers apply to the whole request when input tokens "
        "exceed 'above'",
        "providers": providers,
        "models": models,
    }


def render(table: dict[str, Any]) -> str:
    """JSON with one provider / model per line, so updates diff readably."""

    def dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(", ", ": "), ensure_ascii=False)

    head = {k: v for k, v in table.items() if k not in ("providers", "models")}
    lines = ["{"]
    lines += [f"  {dumps(k)}: {dumps(v)}," for k, v in head.items()]
    for key in ("providers", "models"):
        rows = table[key]
        lines.append(f'  "{key}": [')
        lines += [f"    {dumps(r)}{',' if i < len(rows) - 1 else ''}" for i, r in enumerate(rows)]
        lines.append("  ]," if key == "providers" else "  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_version(day: dt.date) -> str:
    return (
        '"""Version of the bundled price table (generated by scripts/update_prices.py)."""\n\n'
        f'TABLE_VERSION = "{day.isoformat()}"\n'
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=dt.datetime.now(dt.UTC).date(),
        help="resolve dated prices as of this day (default: today, UTC)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="don't write; exit 1 if the committed table differs (prices only)",
    )
    args = parser.parse_args(argv)

    table = build(args.date)
    if args.check:
        current = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
        stale = current["models"] != table["models"] or current["providers"] != table["providers"]
        print("price table is stale" if stale else "price table is up to date")
        return 1 if stale else 0

    TABLE_PATH.write_text(render(table), encoding="utf-8")
    VERSION_PATH.write_text(render_version(args.date), encoding="utf-8")
    per_provider = collections.Counter(m["provider"] for m in table["models"])
    print(
        f"wrote {TABLE_PATH} ({TABLE_PATH.stat().st_size:,} bytes, version {table['version']}, "
        f"{table['generated_from']})"
    )
    print(", ".join(f"{p}: {n}" for p, n in per_provider.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
