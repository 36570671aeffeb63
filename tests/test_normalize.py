"""The ingest normalizer: each foreign convention's keys mapped onto our span model, our own spans
untouched, bad values left raw for the accounting rule to flag, and nothing that raises.
(The real instrumentations, end to end through ``serve``, are in ``tests/ingest/``.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.store._normalize import content_from_events, kind_of, normalize
from agentops_otel.store._writer import StoreSpanExporter

IN, OUT = A.GEN_AI_USAGE_INPUT_TOKENS, A.GEN_AI_USAGE_OUTPUT_TOKENS
READ, WRITE = A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
REASONING = A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS

# (convention, span name, attributes as sent, what normalizing must add)
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "otel-genai-old",
        "chat gpt-4o",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.prompt_tokens": 100,
            "gen_ai.usage.completion_tokens": 20,
            "gen_ai.usage.cache_write.input_tokens": 7,
            "gen_ai.conversation.id": "conv-1",
        },
        {
            A.SPAN_KIND: "llm",
            A.GEN_AI_PROVIDER_NAME: "openai",
            IN: 100,
            OUT: 20,
            WRITE: 7,
            A.SESSION_ID: "conv-1",
        },
    ),
    (
        "otel-genai-agent",
        "invoke_agent planner",
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "planner",
            "gen_ai.usage.input_tokens": 500,
        },
        {A.SPAN_KIND: "agent", A.AGENT_NAME: "planner"},
    ),
    (
        "otel-genai-tool",
        "execute_tool search",
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"},
        {A.SPAN_KIND: "tool"},
    ),
    (
        "openinference-llm",
        "ChatCompletion",
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o",
            "llm.provider": "openai",
            "llm.token_count.prompt": 100,
            "llm.token_count.completion": 20,
            "llm.token_count.prompt_details.cache_read": 40,
            "llm.token_count.prompt_details.cache_write": 5,
            "llm.token_count.completion_details.reasoning": 8,
            "session.id": "s-1",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": "second",
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "first",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "answer",
        },
        {
            A.SPAN_KIND: "llm",
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_PROVIDER_NAME: "openai",
            IN: 100,
            OUT: 20,
            READ: 40,
            WRITE: 5,
            REASONING: 8,
            A.SESSION_ID: "s-1",
            A.GEN_AI_INPUT_MESSAGES: json.dumps(
                [
                    {"role": "system", "parts": [{"type": "text", "content": "first"}]},
                    {"role": "user", "parts": [{"type": "text", "content": "second"}]},
                ]
            ),
            A.GEN_AI_OUTPUT_MESSAGES: json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "answer"}]}]
            ),
        },
    ),
    (
        "openinference-agent",
        "researcher",
        {"openinference.span.kind": "AGENT", "input.value": "question", "output.value": "answer"},
        {A.SPAN_KIND: "agent", A.AGENT_NAME: "researcher", A.INPUT: "question", A.OUTPUT: "answer"},
    ),
    (
        "openinference-chain",
        "plan",
        {"openinference.span.kind": "CHAIN"},
        {A.SPAN_KIND: "operation"},
    ),
    (
        "openinference-retriever",
        "retrieve",
        {"openinference.span.kind": "RETRIEVER"},
        {A.SPAN_KIND: "task"},
    ),
    (
        "openinference-embedding",
        "embed",
        {"openinference.span.kind": "EMBEDDING", "llm.token_count.prompt": 9},
        {A.SPAN_KIND: "llm", IN: 9},
    ),
    (
        "vercel-v6-outer",
        "ai.generateText",
        {
            "ai.operationId": "ai.generateText",
            "ai.usage.inputTokens": 147,
            "ai.usage.outputTokens": 11,
            "ai.model.id": "gpt-4o",
            "ai.telemetry.functionId": "f",
        },
        {A.SPAN_KIND: "operation", A.OPERATION_NAME: "f"},
    ),
    (
        "vercel-v6-call",
        "ai.generateText.doGenerate",
        {
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.model.id": "gpt-4o",
            "ai.model.provider": "openai.chat",
            "gen_ai.system": "openai.chat",
            "ai.usage.inputTokens": 70,
            "ai.usage.outputTokens": 3,
            "ai.usage.inputTokenDetails.cacheReadTokens": 17,
            "ai.usage.inputTokenDetails.noCacheTokens": 53,
            "ai.prompt.messages": json.dumps(
                [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
            ),
            "ai.response.text": "hello",
        },
        {
            A.SPAN_KIND: "llm",
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_PROVIDER_NAME: "openai",
            IN: 70,
            OUT: 3,
            READ: 17,
            A.GEN_AI_INPUT_MESSAGES: json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
            ),
            A.GEN_AI_OUTPUT_MESSAGES: json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}]
            ),
        },
    ),
    (
        "vercel-v4-stream",
        "ai.streamText.doStream",
        {
            "ai.operationId": "ai.streamText.doStream",
            "ai.model.id": "gpt-4o",
            "ai.usage.promptTokens": 12,
            "ai.usage.completionTokens": 4,
        },
        {A.SPAN_KIND: "llm", IN: 12, OUT: 4},
    ),
    (
        "vercel-v5-anthropic",
        "ai.generateText.doGenerate",
        {
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.model.provider": "anthropic.messages",
            "ai.model.id": "claude-sonnet-4",
            "ai.usage.inputTokens": 30,
            "ai.usage.cachedInputTokens": 70,
            "ai.usage.outputTokens": 5,
            "ai.response.providerMetadata": '{"anthropic":{"cacheCreationInputTokens":20}}',
        },
        {A.SPAN_KIND: "llm", A.GEN_AI_PROVIDER_NAME: "anthropic", IN: 120, READ: 70, WRITE: 20},
    ),
    (
        "vercel-unknown-call",
        "ai.rerank.doRerank",
        {"ai.operationId": "ai.future.doGenerate"},
        {A.SPAN_KIND: "llm"},
    ),
    (
        "vercel-tool",
        "ai.toolCall",
        {
            "ai.operationId": "ai.toolCall",
            "ai.toolCall.name": "weather",
            "ai.toolCall.id": "c1",
            "ai.toolCall.args": "{}",
            "ai.toolCall.result": "sunny",
        },
        {
            A.SPAN_KIND: "tool",
            A.GEN_AI_TOOL_NAME: "weather",
            A.GEN_AI_TOOL_CALL_ID: "c1",
            A.GEN_AI_TOOL_CALL_ARGUMENTS: "{}",
            A.GEN_AI_TOOL_CALL_RESULT: "sunny",
        },
    ),
    (
        "traceloop-workflow",
        "flow.workflow",
        {
            "traceloop.span.kind": "workflow",
            "traceloop.entity.name": "flow",
            "traceloop.entity.input": "{}",
        },
        {A.SPAN_KIND: "workflow", A.OPERATION_NAME: "flow", A.INPUT: "{}"},
    ),
    (
        "traceloop-agent",
        "a.agent",
        {"traceloop.span.kind": "agent", "traceloop.entity.name": "writer"},
        {A.SPAN_KIND: "agent", A.AGENT_NAME: "writer"},
    ),
    (
        "traceloop-task",
        "t.task",
        {"traceloop.span.kind": "task", "traceloop.entity.name": "summarize"},
        {A.SPAN_KIND: "task", A.OPERATION_NAME: "summarize"},
    ),
    (
        "openllmetry-llm",
        "openai.chat",
        {
            "llm.request.type": "chat",
            "gen_ai.system": "OpenAI",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.prompt_tokens": 10,
            "gen_ai.usage.completion_tokens": 2,
            "gen_ai.usage.cache_read_input_tokens": 4,
            "gen_ai.usage.cache_creation_input_tokens": 3,
            "gen_ai.agent.name": "writer",
            "traceloop.association.properties.session_id": "tl-1",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "hi",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "yo",
        },
        {
            A.SPAN_KIND: "llm",
            A.GEN_AI_PROVIDER_NAME: "openai",
            IN: 10,
            OUT: 2,
            READ: 4,
            WRITE: 3,
            A.AGENT_NAME: "writer",
            A.SESSION_ID: "tl-1",
            A.GEN_AI_INPUT_MESSAGES: json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
            ),
        },
    ),
    (
        "pydantic-ai-agent-run",
        "agent run",
        {"agent_name": "support", "logfire.msg": "x"},
        {A.SPAN_KIND: "agent", A.AGENT_NAME: "support"},
    ),
    (
        "pydantic-ai-tool",
        "running tool",
        {"gen_ai.tool.name": "lookup", "tool_arguments": "{}", "tool_response": "42"},
        {A.SPAN_KIND: "tool", A.GEN_AI_TOOL_CALL_ARGUMENTS: "{}", A.GEN_AI_TOOL_CALL_RESULT: "42"},
    ),
]


@pytest.mark.parametrize(
    ("convention", "name", "attrs", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_convention_is_mapped(convention, name, attrs, expected):
    out = normalize(attrs, name)
    assert {k: out.get(k) for k in expected} == expected
    assert {k: out[k] for k in attrs} == attrs  # originals kept


def test_outer_operations_get_no_usage():
    """A wrapper's repeated totals never become a call's usage (Vercel's outer spans)."""
    out = normalize(
        {
            "ai.operationId": "ai.streamText",
            "ai.usage.inputTokens": 5,
            "gen_ai.usage.prompt_tokens": 5,
        }
    )
    assert IN not in out and out[A.SPAN_KIND] == "operation"


def test_our_own_spans_pass_through_as_the_same_object():
    attrs = {A.SPAN_KIND: "llm", "llm.token_count.prompt": 5, "openinference.span.kind": "TOOL"}
    assert normalize(attrs) is attrs


def test_values_already_in_our_keys_win():
    out = normalize(
        {
            "gen_ai.operation.name": "chat",
            IN: 10,
            "gen_ai.usage.prompt_tokens": 99,
            A.SESSION_ID: "ours",
            "gen_ai.conversation.id": "theirs",
        }
    )
    assert (out[IN], out[A.SESSION_ID]) == (10, "ours")


def test_a_span_in_no_convention_stays_plain():
    attrs = {"http.method": "GET", "gen_ai.operation.name": "unknown-op"}
    assert kind_of(attrs) is None
    assert normalize(attrs, "GET /") == attrs


def test_duplicate_of_our_call_gets_no_kind():
    out = normalize(
        {"gen_ai.operation.name": "chat", A.LLM_DUPLICATE: True, "gen_ai.usage.prompt_tokens": 3}
    )
    assert A.SPAN_KIND not in out and out[IN] == 3


class _Exploding(dict):
    def get(self, key, default=None):
        raise RuntimeError("bad attribute")


def test_never_raises():
    attrs = _Exploding({"openinference.span.kind": "LLM"})
    assert normalize(attrs) is attrs
    bad_content = {
        "ai.operationId": "ai.generateText.doGenerate",
        "ai.usage.inputTokens": 3,
        "ai.prompt.messages": "[not json",
        "ai.response.text": 7,
    }
    out = normalize(bad_content)
    assert (out[A.SPAN_KIND], out[IN]) == ("llm", 3)
    assert content_from_events([{"name": "gen_ai.choice", "attributes": {"body": "{bad"}}]) == {}


def test_content_from_legacy_message_events():
    events = [
        {
            "name": "gen_ai.system.message",
            "attributes": {"body": json.dumps({"content": "be nice"})},
        },
        {"name": "gen_ai.user.message", "attributes": {"body": json.dumps({"content": "hi"})}},
        {
            "name": "gen_ai.choice",
            "attributes": {
                "body": json.dumps(
                    {
                        "index": 0,
                        "finish_reason": "tool_calls",
                        "message": {
                            "role": "assistant",
                            "tool_calls": [
                                {"id": "c1", "function": {"name": "f", "arguments": "{}"}}
                            ],
                        },
                    }
                )
            },
        },
    ]
    out = content_from_events(events)
    assert json.loads(out[A.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "system", "parts": [{"type": "text", "content": "be nice"}]},
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
    ]
    assert json.loads(out[A.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": "{}"}],
        }
    ]


# --- bad input: stored, flagged, never summed ---------------------------------------------
BAD = [
    ("negative", {"llm.token_count.prompt": -5, "llm.token_count.completion": 3}),
    ("string", {"llm.token_count.prompt": "lots", "llm.token_count.completion": 3}),
    ("absurd", {"llm.token_count.prompt": 10**15, "llm.token_count.completion": 3}),
    ("fraction", {"gen_ai.usage.prompt_tokens": 2.5, "gen_ai.usage.completion_tokens": 3}),
]


@pytest.mark.parametrize(("case", "usage"), BAD, ids=[b[0] for b in BAD])
def test_bad_usage_is_kept_raw_then_flagged_and_not_summed(tmp_path: Path, case, usage):
    raw = next(iter(usage.values()))
    foreign = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o",
        "llm.provider": "openai",
        "session.id": "bad",
        **usage,
    }
    assert normalize(foreign)[IN] == raw  # not fixed: left for the accounting rule
    provider = TracerProvider(resource=Resource({"service.name": "bad-input"}))
    provider.add_span_processor(SimpleSpanProcessor(StoreSpanExporter(tmp_path / "traces.db")))
    tracer = provider.get_tracer("foreign")
    with tracer.start_as_current_span(
        "agent", attributes={"openinference.span.kind": "AGENT", "session.id": "bad"}
    ):
        tracer.start_span("bad call", attributes=foreign).end()
        tracer.start_span(
            "good call",
            attributes={
                **foreign,
                "llm.token_count.prompt": 100,
                "llm.token_count.completion": 10,
                "gen_ai.usage.prompt_tokens": 100,
                "gen_ai.usage.completion_tokens": 10,
            },
        ).end()
    provider.shutdown()
    with Store.open(tmp_path / "traces.db") as store:
        session = store.get_session("bad")
        spans = {s.name: s for s in store.session_spans("bad")}
    assert session is not None
    assert (session.llm_calls, session.input_tokens, session.output_tokens) == (2, 100, 10)
    bad = spans["bad call"]
    assert bad.agentops_kind == "llm" and bad.attributes[A.USAGE_INVALID]
    assert bad.attributes[IN] == raw
