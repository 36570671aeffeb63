"""Foreign conventions mapped onto our span model at ingest, before anything is stored or summed.

Other instrumentations describe the same things with other keys: OpenTelemetry GenAI (current and
older), OpenInference (Python, JS), the Vercel AI SDK (``ai.*`` spans of v4–v6; v7's
``@ai-sdk/otel`` speaks current GenAI), OpenLLMetry / Traceloop (Python, JS) and Pydantic AI /
Logfire. :func:`normalize` returns a span's attributes with our keys added (``agentops.span.kind``,
usage, model, provider, session, agent, tool, content); the original keys are kept and nothing
already set is overwritten. Our own spans (with ``agentops.span.kind``) come back as they are, and
a span in no known convention stays a plain span.

Values are copied raw: a negative, non-numeric or absurd token count reaches the accounting rule
as it was sent, so that it is flagged (``agentops.usage.invalid``) instead of silently fixed.

The mapping is data (the tables below, in priority order) so that a SQL reader can build the same
choice (``coalesce`` / ``multiIf``) from it. What each convention means by its counts:

- OTel GenAI: ``gen_ai.usage.input_tokens`` includes cache reads and writes; older
  ``gen_ai.usage.prompt_tokens`` / ``completion_tokens`` (OpenLLMetry, Vercel v4) likewise.
- OpenInference: ``llm.token_count.prompt`` is the provider's prompt count for OpenAI (includes
  cached); ``prompt_details.cache_read`` / ``cache_write`` are subsets of it.
- Vercel AI SDK v6 (LanguageModelV3): ``ai.usage.inputTokens`` is the total, with
  ``ai.usage.inputTokenDetails.*`` as parts (seen with ai 6.0.333 + @ai-sdk/openai 3). v5
  (LanguageModelV2) with ``@ai-sdk/anthropic`` 2.x reports Anthropic's ``input_tokens`` (cache
  excluded; read from its source) with the read part as ``ai.usage.cachedInputTokens`` and the
  write part only in ``ai.response.providerMetadata``: there the total is the sum of the three.
- OpenLLMetry: ``gen_ai.usage.input_tokens`` (or ``prompt_tokens``) is the total;
  its cache keys are ``gen_ai.usage.cache_read_input_tokens`` / ``cache_creation_input_tokens``.
- Pydantic AI: current GenAI keys; the agent run span repeats the run's usage (never summed:
  it is an agent span).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agentops_otel import semconv as A

_log = logging.getLogger("agentops_otel.store")

# --- which kind a span is: the first key present decides -------------------------------------
VERCEL_OPERATION_ID = "ai.operationId"
KIND_RULES: tuple[tuple[str, Mapping[str, str]], ...] = (
    (
        "openinference.span.kind",
        {
            "LLM": A.KIND_LLM,
            "EMBEDDING": A.KIND_LLM,
            "AGENT": A.KIND_AGENT,
            "TOOL": A.KIND_TOOL,
            "CHAIN": A.KIND_OPERATION,
            "RETRIEVER": A.KIND_TASK,
            "RERANKER": A.KIND_TASK,
            "GUARDRAIL": A.KIND_TASK,
            "EVALUATOR": A.KIND_TASK,
            "PROMPT": A.KIND_TASK,
        },
    ),
    (
        "traceloop.span.kind",
        {
            "workflow": A.KIND_WORKFLOW,
            "task": A.KIND_TASK,
            "agent": A.KIND_AGENT,
            "tool": A.KIND_TOOL,
        },
    ),
    (
        VERCEL_OPERATION_ID,
        {
            "ai.generateText.doGenerate": A.KIND_LLM,
            "ai.streamText.doStream": A.KIND_LLM,
            "ai.generateObject.doGenerate": A.KIND_LLM,
            "ai.streamObject.doStream": A.KIND_LLM,
            "ai.embed.doEmbed": A.KIND_LLM,
            "ai.embedMany.doEmbed": A.KIND_LLM,
            "ai.toolCall": A.KIND_TOOL,
            # the outer calls repeat their steps' usage: operations, never counted
            "ai.generateText": A.KIND_OPERATION,
            "ai.streamText": A.KIND_OPERATION,
            "ai.generateObject": A.KIND_OPERATION,
            "ai.streamObject": A.KIND_OPERATION,
            "ai.embed": A.KIND_OPERATION,
            "ai.embedMany": A.KIND_OPERATION,
        },
    ),
    (
        A.GEN_AI_OPERATION_NAME,
        {
            A.OP_CHAT: A.KIND_LLM,
            A.OP_TEXT_COMPLETION: A.KIND_LLM,
            A.OP_GENERATE_CONTENT: A.KIND_LLM,
            A.OP_EMBEDDINGS: A.KIND_LLM,
            A.OP_INVOKE_AGENT: A.KIND_AGENT,
            "create_agent": A.KIND_OPERATION,
            A.OP_EXECUTE_TOOL: A.KIND_TOOL,
            A.OP_INVOKE_WORKFLOW: A.KIND_WORKFLOW,
        },
    ),
    (
        "llm.request.type",
        {  # OpenLLMetry's model spans
            "chat": A.KIND_LLM,
            "completion": A.KIND_LLM,
            "embedding": A.KIND_LLM,
        },
    ),
)
# Without any of those: a span with one of these keys is that kind (Pydantic AI's older
# ``agent run`` / ``running tool`` spans).
PRESENCE_RULES: tuple[tuple[str, str], ...] = (
    (A.GEN_AI_TOOL_NAME, A.KIND_TOOL),
    ("agent_name", A.KIND_AGENT),
)
# Unknown Vercel operations ending so are model calls, other ``ai.*`` operations are operations.
VERCEL_MODEL_CALL_SUFFIXES = (".doGenerate", ".doStream", ".doEmbed")

# --- our key <- foreign keys, in priority order (ours first: a value already there wins) ---------
# On every span.
IDENTITY_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        A.SESSION_ID,
        (
            A.SESSION_ID,
            A.GEN_AI_CONVERSATION_ID,
            "session.id",
            "traceloop.association.properties.session_id",
            "ai.telemetry.metadata.sessionId",
        ),
    ),
    (A.AGENT_NAME, (A.AGENT_NAME, A.GEN_AI_AGENT_NAME, "agent.name", "agent_name")),
)
SESSION_KEYS = dict(IDENTITY_KEYS)[A.SESSION_ID]
# On model calls only: an outer span's repeated totals must never become a call's usage.
LLM_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        A.GEN_AI_REQUEST_MODEL,
        (
            A.GEN_AI_REQUEST_MODEL,
            "llm.request.model_name",
            "llm.model_name",
            "ai.model.id",
            "llm.request.model",
        ),
    ),
    (
        A.GEN_AI_RESPONSE_MODEL,
        (
            A.GEN_AI_RESPONSE_MODEL,
            "llm.response.model_name",
            "ai.response.model",
            "llm.response.model",
        ),
    ),
    (
        A.GEN_AI_USAGE_INPUT_TOKENS,
        (
            A.GEN_AI_USAGE_INPUT_TOKENS,
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
            "ai.usage.inputTokens",
            "ai.usage.promptTokens",
            "llm.usage.prompt_tokens",
        ),
    ),
    (
        A.GEN_AI_USAGE_OUTPUT_TOKENS,
        (
            A.GEN_AI_USAGE_OUTPUT_TOKENS,
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
            "ai.usage.outputTokens",
            "ai.usage.completionTokens",
            "llm.usage.completion_tokens",
        ),
    ),
    (
        A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        (
            A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
            "ai.usage.inputTokenDetails.cacheReadTokens",
            "ai.usage.cachedInputTokens",
        ),
    ),
    (
        A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
        (
            A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
            A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
            "gen_ai.usage.cache_creation_input_tokens",
            "llm.token_count.prompt_details.cache_write",
            "ai.usage.inputTokenDetails.cacheWriteTokens",
        ),
    ),
    (
        A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        (
            A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
            "llm.token_count.completion_details.reasoning",
            "ai.usage.outputTokenDetails.reasoningTokens",
            "ai.usage.reasoningTokens",
            "gen_ai.usage.reasoning_tokens",
            "llm.usage.reasoning_tokens",
        ),
    ),
)
# The provider; Vercel's values (``openai.chat``) keep the part before the dot.
PROVIDER_KEYS = (
    A.GEN_AI_PROVIDER_NAME,
    "gen_ai.system",
    "llm.provider",
    "llm.system",
    "ai.model.provider",
)
# Per kind: the name keys (tool name on tools, agent name on agents).
KIND_KEYS: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    A.KIND_TOOL: (
        (
            A.GEN_AI_TOOL_NAME,
            (A.GEN_AI_TOOL_NAME, "tool.name", "ai.toolCall.name", "traceloop.entity.name"),
        ),
        (
            A.GEN_AI_TOOL_CALL_ID,
            (A.GEN_AI_TOOL_CALL_ID, "ai.toolCall.id", "tool.id", "tool_call.id"),
        ),
        (
            A.GEN_AI_TOOL_CALL_ARGUMENTS,
            (
                A.GEN_AI_TOOL_CALL_ARGUMENTS,
                "ai.toolCall.args",
                "ai.toolCall.input",
                "tool_arguments",
            ),
        ),
        (
            A.GEN_AI_TOOL_CALL_RESULT,
            (
                A.GEN_AI_TOOL_CALL_RESULT,
                "ai.toolCall.result",
                "ai.toolCall.output",
                "tool_response",
            ),
        ),
    ),
    A.KIND_AGENT: (
        (
            A.AGENT_NAME,
            (
                A.AGENT_NAME,
                A.GEN_AI_AGENT_NAME,
                "agent.name",
                "agent_name",
                "traceloop.entity.name",
            ),
        ),
    ),
    A.KIND_WORKFLOW: (
        (
            A.OPERATION_NAME,
            (
                A.OPERATION_NAME,
                "traceloop.entity.name",
                "traceloop.workflow.name",
                A.GEN_AI_WORKFLOW_NAME,
            ),
        ),
    ),
    A.KIND_TASK: ((A.OPERATION_NAME, (A.OPERATION_NAME, "traceloop.entity.name")),),
    A.KIND_OPERATION: (
        (
            A.OPERATION_NAME,
            (
                A.OPERATION_NAME,
                "traceloop.entity.name",
                "ai.telemetry.functionId",
                VERCEL_OPERATION_ID,
            ),
        ),
    ),
}
# Without a name key, an agent or tool is named by its span (OpenInference's decorators).
NAMED_BY_SPAN_NAME = {A.KIND_AGENT: A.AGENT_NAME, A.KIND_TOOL: A.GEN_AI_TOOL_NAME}
# Free-form input / output of a step (agents, tools, chains).
IO_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (A.INPUT, (A.INPUT, "input.value", "traceloop.entity.input", "ai.prompt")),
    (
        A.OUTPUT,
        (A.OUTPUT, "output.value", "traceloop.entity.output", "ai.response.text", "final_result"),
    ),
)
# Indexed messages (``<prefix>.<i>.<field>``) and the fields that hold role and text.
INDEXED_MESSAGES: tuple[tuple[str, str, str, str], ...] = (
    # our key, prefix, role field, content field
    (A.GEN_AI_INPUT_MESSAGES, "llm.input_messages.", "message.role", "message.content"),
    (A.GEN_AI_OUTPUT_MESSAGES, "llm.output_messages.", "message.role", "message.content"),
    (A.GEN_AI_INPUT_MESSAGES, "gen_ai.prompt.", "role", "content"),
    (A.GEN_AI_OUTPUT_MESSAGES, "gen_ai.completion.", "role", "content"),
)
MESSAGE_PREFIXES = tuple(prefix for _, prefix, _, _ in INDEXED_MESSAGES)
MAX_MESSAGES = 1000  # indexed messages read per span
DUPLICATE = (True, "true", "1")  # agentops.llm.duplicate values (OTLP may send text)
# (``json.dumps(..., default=str)`` would build a new encoder for every call)
_dumps = json.JSONEncoder(default=str).encode


def _first(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def kind_of(attrs: Mapping[str, Any]) -> str | None:
    """Our span kind for a span in any known convention; ``None`` for a plain span."""
    own = attrs.get(A.SPAN_KIND)
    if own is not None:
        return own
    for key, kinds in KIND_RULES:
        value = attrs.get(key)
        if value is None:
            continue
        kind = kinds.get(value) if isinstance(value, str) else None
        if (
            kind is None
            and key == VERCEL_OPERATION_ID
            and isinstance(value, str)
            and value.startswith("ai.")
        ):
            kind = A.KIND_LLM if value.endswith(VERCEL_MODEL_CALL_SUFFIXES) else A.KIND_OPERATION
        if kind is not None:
            return kind
    for key, kind in PRESENCE_RULES:
        if attrs.get(key) is not None:
            return kind
    return None


class _Keys:
    """One of the key tables above, with the set of every key it reads: a span carries few of
    them, so only the rows with a key present are looked at."""

    def __init__(self, table: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        self.table = table
        self.sources = frozenset(key for _, keys in table for key in keys)


_IDENTITY, _LLM, _IO = _Keys(IDENTITY_KEYS), _Keys(LLM_KEYS), _Keys(IO_KEYS)
_BY_KIND = {kind: _Keys(table) for kind, table in KIND_KEYS.items()}
_NO_KEYS = _Keys(())


def _copy(out: dict[str, Any], attrs: Mapping[str, Any], keys: _Keys) -> None:
    present = keys.sources.intersection(attrs)
    if not present:
        return
    for ours, sources in keys.table:
        if not present.isdisjoint(sources) and out.get(ours) is None:
            value = _first(attrs, sources)
            if value is not None:
                out[ours] = value


def _provider(attrs: Mapping[str, Any]) -> str | None:
    value = _first(attrs, PROVIDER_KEYS)
    if not isinstance(value, str):
        return None
    if VERCEL_OPERATION_ID in attrs:  # ``openai.chat``: provider and API (not ``aws.bedrock``)
        value = value.split(".", 1)[0]
    return value.lower()


def _text(value: Any) -> Any:
    return value if isinstance(value, str) else _dumps(value)


def _indexed(
    attrs: Mapping[str, Any], keys: list[str], prefix: str, role_field: str, content_field: str
) -> list[dict[str, Any]]:
    """``keys`` (``prefix.<i>.<field>``) as GenAI messages (role and text parts), in index
    order."""
    found: dict[int, dict[str, Any]] = {}
    fields = {role_field: "role", content_field: "content"}
    start = len(prefix)
    for key in keys:
        index, _, field = key[start:].partition(".")
        part = fields.get(field)
        # (``isdecimal``: what ``int`` reads; the length: a 5,000-digit index would raise)
        if part is not None and index.isdecimal() and len(index) < 8 and int(index) < MAX_MESSAGES:
            found.setdefault(int(index), {})[part] = attrs[key]
    return [
        {
            "role": m.get("role") or "user",
            "parts": [{"type": "text", "content": _text(m["content"])}] if "content" in m else [],
        }
        for _, m in sorted(found.items())
    ]


def _vercel_messages(out: dict[str, Any], attrs: Mapping[str, Any]) -> None:
    """Vercel's ``ai.prompt.messages`` (JSON) and ``ai.response.text`` as GenAI messages."""
    raw = attrs.get("ai.prompt.messages")
    if out.get(A.GEN_AI_INPUT_MESSAGES) is None and isinstance(raw, str):
        messages = json.loads(raw)
        if isinstance(messages, list):
            out[A.GEN_AI_INPUT_MESSAGES] = json.dumps(
                [_vercel_message(m) for m in messages if isinstance(m, Mapping)]
            )
    text = attrs.get("ai.response.text")
    if out.get(A.GEN_AI_OUTPUT_MESSAGES) is None and isinstance(text, str):
        out[A.GEN_AI_OUTPUT_MESSAGES] = json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": text}]}]
        )


def _vercel_message(message: Mapping[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str):
        parts = [{"type": "text", "content": content}]
    else:
        parts = [
            {"type": "text", "content": p["text"]}
            if isinstance(p, Mapping) and p.get("type") == "text"
            else {"type": "other", "content": _text(p)}
            for p in content or ()
        ]
    return {"role": message.get("role") or "user", "parts": parts}


def _excludes_cache(attrs: Mapping[str, Any], provider: str | None) -> bool:
    """Vercel v5 with Anthropic: input tokens leave the cache read out (see module doc)."""
    return (
        provider == "anthropic"
        and VERCEL_OPERATION_ID in attrs
        and "ai.usage.cachedInputTokens" in attrs
        and "ai.usage.inputTokenDetails.noCacheTokens" not in attrs
    )


def _anthropic_v5_total(out: dict[str, Any], attrs: Mapping[str, Any]) -> None:
    """Vercel v5 + Anthropic: input = ``inputTokens`` + cache read + the cache write found only
    in ``ai.response.providerMetadata`` (``anthropic.cacheCreationInputTokens``)."""
    base, read = out.get(A.GEN_AI_USAGE_INPUT_TOKENS), attrs["ai.usage.cachedInputTokens"]
    try:
        metadata = _json(attrs.get("ai.response.providerMetadata"))
    except ValueError:
        metadata = None
    anthropic = metadata.get("anthropic") if isinstance(metadata, Mapping) else None
    write = anthropic.get("cacheCreationInputTokens") if isinstance(anthropic, Mapping) else None
    write = write if type(write) is int and write >= 0 else 0
    if type(base) is int and type(read) is int and base >= 0 and read >= 0:
        out[A.GEN_AI_USAGE_INPUT_TOKENS] = base + read + write
        if write:
            out.setdefault(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, write)


def _llm(out: dict[str, Any], attrs: Mapping[str, Any]) -> None:
    _copy(out, attrs, _LLM)
    provider = out.get(A.GEN_AI_PROVIDER_NAME)
    if provider is None:
        provider = _provider(attrs)
        if provider is not None:
            out[A.GEN_AI_PROVIDER_NAME] = provider
    if _excludes_cache(attrs, provider):
        _anthropic_v5_total(out, attrs)
    try:
        _messages(out, attrs)
    except Exception:  # noqa: BLE001 (content that cannot be read stays in its own keys)
        _log.debug("agentops-otel: could not map a span's messages", exc_info=True)


def _messages(out: dict[str, Any], attrs: Mapping[str, Any]) -> None:
    keys = [k for k in attrs if k.startswith(MESSAGE_PREFIXES)]  # one pass over the keys
    for ours, prefix, role, content in INDEXED_MESSAGES if keys else ():
        mine = [k for k in keys if k.startswith(prefix)]
        if mine and out.get(ours) is None:
            messages = _indexed(attrs, mine, prefix, role, content)
            if messages:
                out[ours] = _dumps(messages)
    if VERCEL_OPERATION_ID in attrs:
        _vercel_messages(out, attrs)


def _map(attrs: Mapping[str, Any], kind: str | None, name: str | None) -> dict[str, Any]:
    out = dict(attrs)
    _copy(out, attrs, _IDENTITY)
    if kind is None:
        return out
    if kind == A.KIND_LLM:
        _llm(out, attrs)
        if attrs.get(A.LLM_DUPLICATE) not in DUPLICATE:  # a copy of our call stays kindless
            out[A.SPAN_KIND] = kind
        return out
    out[A.SPAN_KIND] = kind
    _copy(out, attrs, _BY_KIND.get(kind, _NO_KEYS))
    _copy(out, attrs, _IO)
    named = NAMED_BY_SPAN_NAME.get(kind)
    if named is not None and out.get(named) is None and name:
        out[named] = name
    return out


def normalize(attrs: Mapping[str, Any], name: str | None = None) -> Mapping[str, Any]:
    """``attrs`` (of a span called ``name``) with our span model's keys added from any known
    foreign convention.

    Our own spans (``agentops.span.kind`` set) are returned as they are (the same object), and so
    are MCP spans (``mcp.method.name``): their ``execute_tool`` describes a tool call that the
    caller's own tool span (a framework's, or the MCP client's on the server side) already counts,
    and our MCP instrumentor sets the kind itself where the span is the one to count.
    Never raises: a span whose attributes cannot be read comes back unchanged."""
    if A.SPAN_KIND in attrs or A.MCP_METHOD_NAME in attrs:
        return attrs
    try:
        return _map(attrs, kind_of(attrs), name)
    except Exception:  # noqa: BLE001 (a bad attribute never stops a span from being stored)
        _log.debug("agentops-otel: could not normalize a span", exc_info=True)
        return attrs


# --- content sent as log events (the official GenAI instrumentations' event mode) -------------
# Older event names: one event per message, the message in the body; the role is in the name.
MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
# Newer: one event per call carrying the GenAI content attributes themselves.
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
CONTENT_KEYS = (A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES, A.GEN_AI_SYSTEM_INSTRUCTIONS)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value[:1] in ("{", "[") else value


def _event_message(role: str, body: Any) -> dict[str, Any]:
    body = _json(body)
    body = body if isinstance(body, Mapping) else {"content": body}
    parts: list[dict[str, Any]] = []
    if body.get("content") is not None:
        parts.append({"type": "text", "content": _text(body["content"])})
    for call in body.get("tool_calls") or ():
        if isinstance(call, Mapping):
            function = call.get("function") or {}
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            )
    if role == "tool" and body.get("id") is not None:
        parts = [{"type": "tool_call_response", "id": body["id"], "response": body.get("content")}]
    return {"role": body.get("role") or role, "parts": parts}


def content_from_events(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Our content attributes (``gen_ai.input.messages`` …) from a span's content events."""
    out: dict[str, Any] = {}
    inputs: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    try:
        for event in events:
            name, attrs = event.get("name"), event.get("attributes") or {}
            body = _json(attrs.get("body"))
            if name in MESSAGE_EVENTS:
                inputs.append(_event_message(MESSAGE_EVENTS[name], body))
            elif name == CHOICE_EVENT:
                message = body.get("message") if isinstance(body, Mapping) else None
                outputs.append(_event_message("assistant", message or {}))
            elif name == DETAILS_EVENT:
                for key in CONTENT_KEYS:
                    value = attrs.get(key)
                    if value is not None:
                        out.setdefault(key, _text(value))
    except Exception:  # noqa: BLE001 (unreadable content stays in the events as sent)
        _log.debug("agentops-otel: could not read content events", exc_info=True)
    if inputs:
        out.setdefault(A.GEN_AI_INPUT_MESSAGES, _dumps(inputs))
    if outputs:
        out.setdefault(A.GEN_AI_OUTPUT_MESSAGES, _dumps(outputs))
    return out


# --- the same choices in ClickHouse SQL (the reader of a Collector's traces table) -------------
EMPTY = "''"


def sql_value(attr: Callable[[str], str], ours: str) -> str:
    """A ClickHouse expression for our key ``ours``: its own value, else the first foreign key's
    of the tables above ('' when none). ``attr(key)`` is the expression of one attribute (a
    string, '' when absent). Unlike :func:`normalize`, usage keys are read on every span: the
    reader sums them over model calls only."""
    keys = next((k for o, k in (*IDENTITY_KEYS, *LLM_KEYS) if o == ours), (ours,))
    if ours == A.GEN_AI_PROVIDER_NAME:
        keys = PROVIDER_KEYS
    if len(keys) == 1:
        return attr(keys[0])
    value = f"ifNull(coalesce({', '.join(f'nullIf({attr(k)}, {EMPTY})' for k in keys)}), '')"
    if ours == A.GEN_AI_PROVIDER_NAME:
        own = attr(A.GEN_AI_PROVIDER_NAME)
        split = f"splitByChar('.', {value})[1]"
        value = (
            f"if({own} != '', {own}, lower(if({attr(VERCEL_OPERATION_ID)} != '', "
            f"{split}, {value})))"
        )
    return value


def sql_kind(attr: Callable[[str], str], literal: Callable[[str], str]) -> str:
    """A ClickHouse expression for the span's kind, as :func:`kind_of` decides it ('' for a
    plain span); another vendor's copy of one of our calls (``agentops.llm.duplicate``) has none.
    ``literal(text)`` quotes a string."""
    rules = []
    for key, kinds in KIND_RULES:
        rules.append(
            f"nullIf(transform({attr(key)}, [{', '.join(map(literal, kinds))}], "
            f"[{', '.join(map(literal, kinds.values()))}], ''), '')"
        )
        if key == VERCEL_OPERATION_ID:
            suffixes = " OR ".join(f"endsWith(v, {literal(x)})" for x in VERCEL_MODEL_CALL_SUFFIXES)
            rules.append(
                f"arrayMap(v -> if(startsWith(v, 'ai.'), if({suffixes}, "
                f"'{A.KIND_LLM}', '{A.KIND_OPERATION}'), NULL), [{attr(key)}])[1]"
            )
    rules += [f"if({attr(key)} != '', '{kind}', NULL)" for key, kind in PRESENCE_RULES]
    own, duplicate = attr(A.SPAN_KIND), attr(A.LLM_DUPLICATE)
    # (the arrayMap binds the foreign kind once: these expressions are repeated in big queries)
    return (
        f"if({own} != '', {own}, arrayMap(f -> if(f = '{A.KIND_LLM}' AND {duplicate} IN "
        f"('true', '1'), '', f), [ifNull(coalesce({', '.join(rules)}), '')])[1])"
    )
