"""Foreign conventions read the same from the local store and from every ClickHouse table shape:
the ClickHouse reader's SQL takes its keys from the normalizer's tables, and its span rows are
normalized like the local store's."""

from __future__ import annotations

import pytest
from _dashboard_support import json_span
from _stores import CLICKHOUSE_KINDS, clickhouse_store, decode, sqlite_store

from agentops_otel import semconv as A
from agentops_otel.pricing import cost_for
from agentops_otel.store import open_reader

START = 1_700_000_000_000_000_000


def _sessions() -> tuple[list[dict], dict[str, tuple[int, int, int, float]]]:
    """OTLP/JSON spans of three foreign sessions and what each must add up to: calls, input and
    output tokens, cost."""
    spans = []
    # OpenInference: a session.id, a chain > agent > two LLM calls (one with a negative count)
    oi = "a" * 32
    base = {"session.id": "oi-session"}
    spans += [
        json_span(
            oi,
            1,
            "plan",
            {**base, "openinference.span.kind": "CHAIN"},
            start_ns=START,
            end_ns=START + 10**9,
        ),
        json_span(
            oi,
            2,
            "researcher",
            {**base, "openinference.span.kind": "AGENT"},
            parent=1,
            start_ns=START + 1,
            end_ns=START + 10**9 - 1,
        ),
        json_span(
            oi,
            3,
            "ChatCompletion",
            {
                **base,
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o-mini",
                "llm.provider": "openai",
                "llm.token_count.prompt": 1000,
                "llm.token_count.completion": 100,
                "llm.token_count.prompt_details.cache_read": 400,
            },
            parent=2,
            start_ns=START + 2,
            end_ns=START + 3,
        ),
        json_span(
            oi,
            4,
            "ChatCompletion",
            {
                **base,
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o-mini",
                "llm.provider": "openai",
                "llm.token_count.prompt": -7,
                "llm.token_count.completion": 5,
            },
            parent=2,
            start_ns=START + 4,
            end_ns=START + 5,
        ),
    ]
    # Vercel AI SDK 6: the outer generateText repeats its call's usage
    vc = "b" * 32
    usage = {"ai.usage.inputTokens": 300, "ai.usage.outputTokens": 30}
    spans += [
        json_span(
            vc,
            1,
            "ai.generateText",
            {"ai.operationId": "ai.generateText", **usage, "ai.model.id": "gpt-4o"},
            start_ns=START + 10,
            end_ns=START + 10**9,
        ),
        json_span(
            vc,
            2,
            "ai.generateText.doGenerate",
            {
                "ai.operationId": "ai.generateText.doGenerate",
                "ai.model.id": "gpt-4o",
                "ai.model.provider": "openai.chat",
                "gen_ai.system": "openai.chat",
                **usage,
            },
            parent=1,
            start_ns=START + 11,
            end_ns=START + 12,
        ),
        json_span(
            vc,
            3,
            "ai.toolCall",
            {"ai.operationId": "ai.toolCall", "ai.toolCall.name": "weather"},
            parent=1,
            start_ns=START + 13,
            end_ns=START + 14,
        ),
    ]
    # OpenLLMetry: workflow > agent > an LLM call with the older GenAI keys
    tl = "c" * 32
    spans += [
        json_span(
            tl,
            1,
            "flow.workflow",
            {"traceloop.span.kind": "workflow", "traceloop.entity.name": "flow"},
            start_ns=START + 20,
            end_ns=START + 10**9,
        ),
        json_span(
            tl,
            2,
            "writer.agent",
            {
                "traceloop.span.kind": "agent",
                "traceloop.entity.name": "writer",
                "gen_ai.agent.name": "writer",
            },
            parent=1,
            start_ns=START + 21,
            end_ns=START + 10**9 - 1,
        ),
        json_span(
            tl,
            3,
            "openai.chat",
            {
                "llm.request.type": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.prompt_tokens": 50,
                "gen_ai.usage.completion_tokens": 5,
                "gen_ai.agent.name": "writer",
            },
            parent=2,
            start_ns=START + 22,
            end_ns=START + 23,
        ),
    ]

    def cost(model: str, inp: int, out: int, cache: int = 0) -> float:
        return float(
            cost_for(
                "openai", model, input_tokens=inp, output_tokens=out, cache_read_tokens=cache
            ).total_usd
        )

    expected = {
        "oi-session": (2, 1000, 100, cost("gpt-4o-mini", 1000, 100, 400)),
        vc: (1, 300, 30, cost("gpt-4o", 300, 30)),
        tl: (1, 50, 5, cost("gpt-4o-mini", 50, 5)),
    }
    return spans, expected


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory):
    payload, expected = _sessions()
    spans = decode({"resourceSpans": [{"scopeSpans": [{"spans": payload}]}]})
    path = sqlite_store(tmp_path_factory.mktemp("foreign") / "traces.db", spans)
    return spans, expected, path


@pytest.mark.parametrize("kind", ["sqlite", *sorted(CLICKHOUSE_KINDS)])
def test_foreign_sessions_read_the_same_everywhere(data, kind: str) -> None:
    spans, expected, path = data
    store = open_reader(str(path)) if kind == "sqlite" else clickhouse_store(kind, spans)
    with store:
        found = {s.id: s for s in store.list_sessions(limit=10)}
        assert set(found) == set(expected), kind
        for sid, (calls, inp, out, cost) in expected.items():
            row = found[sid]
            assert (row.llm_calls, row.input_tokens, row.output_tokens) == (calls, inp, out), (
                kind,
                sid,
            )
            assert row.cost_usd == pytest.approx(cost, rel=1e-9), (kind, sid)
            rows = store.session_spans(sid)
            llm = [r for r in rows if r.agentops_kind == A.KIND_LLM]
            assert len(llm) == calls and {r.provider for r in llm} == {"openai"}, (kind, sid)
        kinds = {r.name: r.agentops_kind for r in store.session_spans("oi-session")}
        assert kinds == {"plan": "operation", "researcher": "agent", "ChatCompletion": "llm"}
        bad = [
            r
            for r in store.session_spans("oi-session")
            if r.attributes.get("llm.token_count.prompt") in (-7, "-7")
        ]
        assert bad and bad[0].attributes[A.USAGE_INVALID], kind
        vercel = {r.name: r for r in store.session_spans("b" * 32)}
        assert vercel["ai.generateText"].agentops_kind == "operation"
        assert vercel["ai.toolCall"].attributes[A.GEN_AI_TOOL_NAME] == "weather"
        writer = {r.name: r for r in store.session_spans("c" * 32)}["writer.agent"]
        assert writer.attributes[A.AGENT_NAME] == "writer"
