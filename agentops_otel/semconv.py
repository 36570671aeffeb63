"""The span model's names: every attribute, event, metric and kind value we emit or read.

Public and stable: instrumentors, exporters and readers import their names from here (``from
agentops_otel import semconv``). The module imports nothing, so it is cheap and safe to load from
anywhere (the benchmarks load it by path).

GenAI names follow the OpenTelemetry GenAI semantic conventions (Development status) as packaged
in opentelemetry-semantic-conventions 0.66b2; the incubating constants there are marked
deprecated aliases, so we keep our own. Names we only *read* (older keys, other vendors'
conventions) are grouped at the end and never emitted: the ingest normalizer
(:mod:`agentops_otel.store._normalize`) maps them onto the names above before anything is summed.

Renames: when a release of the conventions renames a key we emit, the new name becomes the
emitted constant, the old one moves to the read-only group, and both are read for at least one
minor release of ours (as happened to ``gen_ai.system`` → ``gen_ai.provider.name``).
"""

# --- GenAI semantic conventions -------------------------------------------------------------
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_OUTPUT_TYPE = "gen_ai.output.type"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"

GEN_AI_AGENT_ID = "gen_ai.agent.id"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_AGENT_DESCRIPTION = "gen_ai.agent.description"
GEN_AI_WORKFLOW_NAME = "gen_ai.workflow.name"

GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K = "gen_ai.request.top_k"
GEN_AI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED = "gen_ai.request.seed"
GEN_AI_REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
GEN_AI_REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"

GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"

GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
# Cache writes: the packaged registry (0.66b2) names them ``cache_creation``; the GenAI utility
# library and some emitters say ``cache_write`` (in no published registry). We emit the
# registry's name and read both; if the registry adopts ``cache_write``, the two swap roles.
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"  # read only
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"

GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"

GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_DESCRIPTION = "gen_ai.tool.description"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"

SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"

# gen_ai.operation.name values
OP_CHAT = "chat"
OP_TEXT_COMPLETION = "text_completion"
OP_GENERATE_CONTENT = "generate_content"
OP_EMBEDDINGS = "embeddings"
OP_INVOKE_AGENT = "invoke_agent"
OP_INVOKE_WORKFLOW = "invoke_workflow"
OP_EXECUTE_TOOL = "execute_tool"
OP_RERANK = "rerank"  # not in the GenAI conventions: a reranking model request (Cohere)
OP_RETRIEVAL = "retrieval"

# --- Metrics --------------------------------------------------------------------------------
METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"
METRIC_COST = "agentops.cost.usd"
METRIC_DROPPED_SPANS = "agentops.export.dropped_spans"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"
TOKEN_USAGE_BUCKETS = tuple(4**i for i in range(14))  # 1 … 67108864
DURATION_BUCKETS = tuple(0.01 * 2**i for i in range(14))  # 0.01 … 81.92 s

# --- Model Context Protocol (OTel GenAI MCP conventions) -----------------------------------
MCP_METHOD_NAME = "mcp.method.name"
MCP_SESSION_ID = "mcp.session.id"
MCP_PROTOCOL_VERSION = "mcp.protocol.version"
MCP_RESOURCE_URI = "mcp.resource.uri"
GEN_AI_PROMPT_NAME = "gen_ai.prompt.name"
JSONRPC_REQUEST_ID = "jsonrpc.request.id"
RPC_RESPONSE_STATUS_CODE = "rpc.response.status_code"
NETWORK_TRANSPORT = "network.transport"
NETWORK_PROTOCOL_NAME = "network.protocol.name"
METRIC_MCP_CLIENT_DURATION = "mcp.client.operation.duration"
METRIC_MCP_SERVER_DURATION = "mcp.server.operation.duration"
MCP_TOOL_ERROR = "tool_error"  # error.type of a tools/call whose result says isError

# --- agentops.* -----------------------------------------------------------------------------
SPAN_KIND = "agentops.span.kind"
SESSION_ID = "agentops.session.id"
SESSION_NAME = "agentops.session.name"
SESSION_TAGS = "agentops.session.tags"
SESSION_END_STATE = "agentops.session.end_state"
SESSION_END_REASON = "agentops.session.end_reason"
AGENT_NAME = "agentops.agent.name"
AGENT_ROLE = "agentops.agent.role"
AGENT_ID = "agentops.agent.id"
OPERATION_NAME = "agentops.operation.name"
# On a retrieval or query operation span: how many documents (nodes) it retrieved.
RETRIEVAL_DOCUMENTS = "agentops.retrieval.documents"

INPUT = "agentops.input"
OUTPUT = "agentops.output"

COST_USD = "agentops.cost.usd"
COST_INPUT_USD = "agentops.cost.input_usd"
COST_OUTPUT_USD = "agentops.cost.output_usd"
COST_SOURCE = "agentops.cost.source"
COST_UNKNOWN_MODEL = "agentops.cost.unknown_model"

TOTAL_COST_USD = "agentops.cost.total_usd"
TOTAL_INPUT_TOKENS = "agentops.usage.total_input_tokens"
TOTAL_OUTPUT_TOKENS = "agentops.usage.total_output_tokens"
LLM_CALLS = "agentops.llm.calls"
ERRORS = "agentops.errors"
# On an LLM span whose usage could not be read (negative, non-numeric or absurd counts): the
# names of the offending keys. Such a call is stored as it came and never summed into totals.
USAGE_INVALID = "agentops.usage.invalid"

LOOP_DETECTED = "agentops.loop.detected"
LOOP_COUNT = "agentops.loop.count"
BUDGET_EXCEEDED = "agentops.budget.exceeded"
BUDGET_LIMIT_USD = "agentops.budget.limit_usd"
EVENT_BUDGET_EXCEEDED = "agentops.budget.exceeded"
EVENT_LOOP_DETECTED = "agentops.loop.detected"

# agentops.span.kind values
KIND_SESSION = "session"
KIND_AGENT = "agent"
KIND_WORKFLOW = "workflow"
KIND_OPERATION = "operation"
KIND_TASK = "task"
KIND_TOOL = "tool"
KIND_LLM = "llm"
AGGREGATING_KINDS = frozenset(
    {KIND_SESSION, KIND_AGENT, KIND_WORKFLOW, KIND_OPERATION, KIND_TASK, KIND_TOOL}
)

# Identity copied from the enclosing context onto every span beneath it.
IDENTITY_KEYS = (SESSION_ID, SESSION_NAME, AGENT_NAME, AGENT_ROLE, AGENT_ID, OPERATION_NAME)

TRACER_NAME = "agentops_otel"
STREAM_ABANDONED = "agentops.stream.abandoned"
# On another vendor's LLM span that describes a request one of ours already counts.
LLM_DUPLICATE = "agentops.llm.duplicate"
INFERENCE_OPERATIONS = frozenset({OP_CHAT, OP_TEXT_COMPLETION, OP_GENERATE_CONTENT, OP_EMBEDDINGS})

# Agent frameworks: handoffs between agents (a span event on the handing-off agent's span) and
# guardrail results (openai-agents).
EVENT_HANDOFF = "agentops.handoff"
HANDOFF_FROM_AGENT = "agentops.handoff.from_agent"
HANDOFF_TO_AGENT = "agentops.handoff.to_agent"
GUARDRAIL_TRIGGERED = "agentops.guardrail.triggered"

# --- Read, never emitted ---------------------------------------------------------------------
# Older GenAI names that other instrumentations still send (the normalizer maps them).
GEN_AI_SYSTEM = "gen_ai.system"  # before gen_ai.provider.name
GEN_AI_USAGE_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"

# --- Declared value types -------------------------------------------------------------------
# The OTLP type of each non-string key we emit. Stores that keep values as text (the ClickHouse
# exporter's Map mode) read a value back as its key's declared type, never by its look: a cost
# of "0" is the double 0.0. Keys not listed are strings.
INT_KEYS = frozenset(
    {
        GEN_AI_USAGE_INPUT_TOKENS,
        GEN_AI_USAGE_OUTPUT_TOKENS,
        GEN_AI_REQUEST_MAX_TOKENS,
        GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
        GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
        GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        GEN_AI_REQUEST_SEED,
        GEN_AI_REQUEST_CHOICE_COUNT,
        GEN_AI_REQUEST_TOP_K,
        TOTAL_INPUT_TOKENS,
        TOTAL_OUTPUT_TOKENS,
        LLM_CALLS,
        ERRORS,
        LOOP_COUNT,
        SERVER_PORT,
        GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
        RETRIEVAL_DOCUMENTS,
    }
)
FLOAT_KEYS = frozenset(
    {
        COST_USD,
        COST_INPUT_USD,
        COST_OUTPUT_USD,
        TOTAL_COST_USD,
        BUDGET_LIMIT_USD,
        GEN_AI_REQUEST_TEMPERATURE,
        GEN_AI_REQUEST_TOP_P,
        GEN_AI_REQUEST_FREQUENCY_PENALTY,
        GEN_AI_REQUEST_PRESENCE_PENALTY,
        GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
    }
)
BOOL_KEYS = frozenset(
    {
        LOOP_DETECTED,
        BUDGET_EXCEEDED,
        LLM_DUPLICATE,
        COST_UNKNOWN_MODEL,
        GEN_AI_REQUEST_STREAM,
        STREAM_ABANDONED,
        GUARDRAIL_TRIGGERED,
    }
)
LIST_KEYS = frozenset(
    {
        SESSION_TAGS,
        USAGE_INVALID,
        GEN_AI_RESPONSE_FINISH_REASONS,
        GEN_AI_REQUEST_STOP_SEQUENCES,
        GEN_AI_REQUEST_ENCODING_FORMATS,
    }
)
