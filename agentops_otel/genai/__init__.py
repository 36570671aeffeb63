"""The shared GenAI span helper every provider and framework instrumentor uses.

One model request is one :class:`LLMCall`: :func:`start_llm_call` opens the CLIENT span with the
sampling-relevant attributes at creation (or returns ``None`` when another LLM span is already
active, so a request seen by two instrumentors is counted once), the instrumentor runs the SDK
call inside ``with call:``, then records the response and usage and calls :meth:`LLMCall.end`,
which prices the call before the span ends. Streams are wrapped with :meth:`LLMCall.wrap_stream`.
Every method contains its own errors; only the user's exceptions and our deliberate
``BudgetExceededError`` / ``LoopDetectedError`` ever leave this module.
"""

from __future__ import annotations

import functools
import marshal
import time
from collections.abc import Iterable, Mapping
from contextvars import Token
from typing import Any, Literal, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from agentops_otel import _config, _content, accounting
from agentops_otel import semconv as A
from agentops_otel._ledger import (
    ACTIVE_LLM_KEY,
    LEDGER,
    SELF_SETTLED,
    Account,
    inherited_identity,
)
from agentops_otel.errors import BudgetExceededError, LoopDetectedError
from agentops_otel.genai import _metrics
from agentops_otel.genai._contain import contain

__all__ = [
    "LLMCall",
    "StreamAccumulator",
    "capture_content",
    "contain",
    "error_type",
    "record_duration",
    "start_llm_call",
]


def capture_content() -> bool:
    """Whether prompts and completions are recorded (``capture_content`` / env switches)."""
    return _config.current().capture_content


def record_duration(
    name: str, seconds: float, attributes: dict[str, Any], tracer: Tracer | None = None
) -> None:
    """Record one measurement of the duration histogram ``name`` (in seconds) off the caller's
    thread, like the GenAI metrics (``mcp.client.operation.duration``…): on the meter provider
    the instrumentor of ``tracer`` was given, else the global one."""
    target = _metrics.instruments_for(tracer) if tracer is not None else _metrics.GLOBAL
    _metrics.record_duration(name, seconds, attributes, target)


def error_type(exc: BaseException) -> str:
    return type(exc).__qualname__ or "_OTHER"


class StreamAccumulator(Protocol):
    """What an instrumentor hands :meth:`LLMCall.wrap_stream` to collect a streamed response."""

    def add(self, chunk: Any) -> None: ...

    def finish(self, call: LLMCall) -> None: ...


def start_llm_call(
    tracer: Tracer,
    *,
    operation: str,
    provider: str,
    model: str | None,
    server_address: str | None = None,
    server_port: int | None = None,
    attributes: Mapping[str, Any] | None = None,
    fingerprint: Any = None,
) -> LLMCall | None:
    """Open the LLM span for one model request, or return ``None`` to let the call run bare.

    ``None`` means: instrumentation is suppressed, or an LLM span is already active in this
    context (a framework's own call wraps the provider SDK's). ``fingerprint`` (anything with a
    stable ``repr``: provider, model and messages) feeds loop detection. Raises
    ``BudgetExceededError`` / ``LoopDetectedError`` when the session asked to refuse calls.
    """
    try:
        if not is_instrumentation_enabled():
            return None
        ctx = otel_context.get_current()
        if ctx.get(ACTIVE_LLM_KEY):
            return None
        settings = _config.current()
        current = trace.get_current_span(ctx)
        parent = LEDGER.node_of(current)
        if parent is None or parent.chain[-1].span is not current:
            _mark_foreign_llm_span(current)  # (our aggregating spans are never LLM spans)
        session = parent.session if parent is not None else None
        if (
            session is not None
            and session.budget_exceeded
            and settings.on_budget_exceeded == "raise"
        ):
            raise BudgetExceededError(
                session.session_id or "", session.totals.cost_usd, session.limit_usd or 0.0
            )
        attrs: dict[str, Any] = {
            A.SPAN_KIND: A.KIND_LLM,
            A.GEN_AI_OPERATION_NAME: operation,
            A.GEN_AI_PROVIDER_NAME: provider,
        }
        if model:
            attrs[A.GEN_AI_REQUEST_MODEL] = model
        if server_address:
            attrs[A.SERVER_ADDRESS] = server_address
            if server_port:
                attrs[A.SERVER_PORT] = server_port
        if attributes:
            for key, value in attributes.items():
                if value is not None:
                    attrs[key] = value
        # identity at creation: one attribute batch, and nothing left for the processor to add
        attrs.update(inherited_identity(current, attrs, parent))
        looping = 0
        threshold = settings.loop_threshold
        if session is not None and fingerprint is not None and threshold:
            count = LEDGER.note_request(session, _fingerprint(fingerprint), threshold)
            if count >= threshold:
                looping = count
                attrs[A.LOOP_DETECTED] = True
                attrs[A.LOOP_COUNT] = count
        name = f"{operation} {model}" if model else operation
        token = SELF_SETTLED.set(True)
        try:
            span = tracer.start_span(name, context=ctx, kind=SpanKind.CLIENT, attributes=attrs)
        finally:
            SELF_SETTLED.reset(token)
        call = LLMCall(span, operation, provider, model)
        call._instruments = _metrics.instruments_for(tracer)
        agent = attrs.get(A.AGENT_NAME)  # a metric dimension (a key of a cache: a string)
        call._agent = agent if isinstance(agent, str) else None
        if parent is not None and span.is_recording():
            call._accounts = parent.chain
            call._session = session
        if looping and session is not None and settings.on_loop == "raise":
            error = LoopDetectedError(session.session_id or "", looping)
            call.fail(error)
            call.end()
            raise error
        return call
    except (BudgetExceededError, LoopDetectedError):
        raise
    except Exception:  # noqa: BLE001
        contain("starting an LLM span")
        return None


def _mark_foreign_llm_span(span: Any) -> None:
    """Another vendor's LLM span around ours describes the same request: flag it as such."""
    attrs = getattr(span, "attributes", None)
    if (
        attrs
        and A.SPAN_KIND not in attrs
        and span.is_recording()
        and attrs.get(A.GEN_AI_OPERATION_NAME) in A.INFERENCE_OPERATIONS
    ):
        span.set_attribute(A.LLM_DUPLICATE, True)


class LLMCall:
    """The span of one model request and what is known about it so far."""

    __slots__ = (
        "_accounts",
        "_agent",
        "_ended",
        "_error",
        "_first_chunk_at",
        "_instruments",
        "_model",
        "_operation",
        "_pending",
        "_provider",
        "_response_model",
        "_session",
        "_start",
        "_token",
        "_usage",
        "span",
    )

    def __init__(self, span: Any, operation: str, provider: str, model: str | None) -> None:
        self.span = span
        self._operation = operation
        self._provider = provider
        self._model = model
        self._response_model: str | None = None
        self._usage: tuple[int, int, int, int, int] | None = None
        self._start = time.perf_counter()
        self._first_chunk_at: float | None = None
        self._token: Token[Context] | None = None
        self._ended = False
        self._error: str | None = None
        # content, response, usage and cost: set in one attribute batch at end()
        self._pending: dict[str, Any] = {}
        # the open ancestors' accounts this call adds to, and their session
        self._accounts: tuple[Account, ...] = ()
        self._session: Account | None = None
        self._instruments = _metrics.GLOBAL  # where its metrics are recorded
        self._agent: Any = None  # the agent name it was started under (a cost metric dimension)

    # -- running the SDK call ---------------------------------------------------------------
    def __enter__(self) -> LLMCall:
        try:
            ctx = trace.set_span_in_context(self.span)
            self._token = otel_context.attach(otel_context.set_value(ACTIVE_LLM_KEY, True, ctx))
        except Exception:  # noqa: BLE001
            contain("activating an LLM span")
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if self._token is not None:
            try:
                otel_context.detach(self._token)
            except Exception:  # noqa: BLE001
                pass
            self._token = None
        if exc is not None:
            self.fail(exc)
            self.end()
        return False

    # -- recording --------------------------------------------------------------------------
    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Set the non-``None`` attributes (request parameters and the like)."""
        try:
            self.span.set_attributes({k: v for k, v in attributes.items() if v is not None})
        except Exception:  # noqa: BLE001
            contain("recording LLM attributes")

    def set_input(
        self, messages: Iterable[Any] | None = None, *, system: Any = None, tools: Any = None
    ) -> None:
        """Record the prompt (when content capture is on); messages in GenAI message form."""
        if not _config.current().capture_content:
            return
        try:  # rendered now (the caller may change its list later), set on the span at end()
            pending = self._pending
            if messages is not None:
                key = A.GEN_AI_INPUT_MESSAGES
                pending[key] = _content.messages_json(messages, key)
            if system is not None:
                key = A.GEN_AI_SYSTEM_INSTRUCTIONS
                pending[key] = _content.to_json(system, key)
            if tools:
                key = A.GEN_AI_TOOL_DEFINITIONS
                pending[key] = _content.to_json(tools, key)
        except Exception:  # noqa: BLE001
            contain("recording LLM input")

    def set_output(self, messages: Iterable[Any]) -> None:
        """Record the completion (when content capture is on), in GenAI message form."""
        if not _config.current().capture_content:
            return
        try:
            key = A.GEN_AI_OUTPUT_MESSAGES
            self._pending[key] = _content.messages_json(messages, key)
        except Exception:  # noqa: BLE001
            contain("recording LLM output")

    def set_response(
        self,
        *,
        response_id: str | None = None,
        model: str | None = None,
        finish_reasons: Iterable[str] | None = None,
    ) -> None:
        try:
            pending = self._pending
            if response_id:
                pending[A.GEN_AI_RESPONSE_ID] = str(response_id)
            if model:
                self._response_model = pending[A.GEN_AI_RESPONSE_MODEL] = str(model)
            if finish_reasons:
                pending[A.GEN_AI_RESPONSE_FINISH_REASONS] = tuple(
                    [str(r) for r in finish_reasons if r]
                )
        except Exception:  # noqa: BLE001
            contain("recording the LLM response")

    def set_usage(
        self,
        input_tokens: Any = None,
        output_tokens: Any = None,
        *,
        cache_read: Any = None,
        cache_write: Any = None,
        reasoning: Any = None,
    ) -> None:
        """Record usage in the OTel convention: input includes cache reads and writes,
        output includes reasoning. Non-integer values are ignored."""
        try:
            values = (
                _int(input_tokens),
                _int(output_tokens),
                _int(cache_read),
                _int(cache_write),
                _int(reasoning),
            )
            pending = self._pending
            for key, value in zip(_USAGE_KEYS, values):  # noqa: B905 - both of five
                if value is not None:
                    pending[key] = value
            inp, out, read, write, thought = values
            if inp is not None or out is not None:
                self._usage = (inp or 0, out or 0, read or 0, write or 0, thought or 0)
        except Exception:  # noqa: BLE001
            contain("recording LLM usage")

    def fail(self, exc: BaseException) -> None:
        """Record ``exc`` on the span (status ERROR, ``error.type``); the caller re-raises it."""
        try:
            self._error = error_type(exc)
            self.span.set_attribute(A.ERROR_TYPE, self._error)
            self.span.record_exception(exc)
            self.span.set_status(Status(StatusCode.ERROR, str(exc)[:500]))
        except Exception:  # noqa: BLE001
            contain("recording an LLM error")

    def chunk_received(self) -> None:
        """Note a streamed chunk; the first one sets time to first chunk."""
        if self._first_chunk_at is None:
            self._first_chunk_at = now = time.perf_counter()
            self._pending[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = now - self._start

    def end(self) -> None:
        """Price the call, record metrics and end the span; later calls do nothing."""
        if self._ended:
            return
        self._ended = True
        try:
            self._price_and_measure()
        except Exception:  # noqa: BLE001
            contain("pricing an LLM call")
        try:
            if self._pending:
                self.span.set_attributes(self._pending)
            self._settle()
            self.span.end()
        except Exception:  # noqa: BLE001
            contain("ending an LLM span")

    def _settle(self) -> None:
        """Add this call to its open ancestors' accounts (the processor skips our LLM spans)."""
        if not self._accounts:
            return
        failed = self._error is not None or _failed(self.span)
        # what the span will carry, read by the one rule every store and viewer reads it by
        call = accounting.model_call(self._pending, failed, reprice=False)
        LEDGER.add_to(self._accounts, self._session, call)

    def _price_and_measure(self) -> None:
        usage = self._usage
        dimensions = _dimensions(
            self._operation,
            self._provider,
            self._model,
            self._response_model,
            self._error,
            self._agent,
        )
        duration = time.perf_counter() - self._start
        if usage is None:
            _metrics.record(self._instruments, duration, dimensions)
            return
        cost = _pricing().cost_for(
            self._provider,
            self._model,
            input_tokens=usage[0],
            output_tokens=usage[1],
            cache_read_tokens=usage[2],
            cache_write_tokens=usage[3],
            reasoning_tokens=usage[4],
            response_model=self._response_model,
        )
        pending = self._pending
        if cost is None:
            pending[A.COST_UNKNOWN_MODEL] = True
            _metrics.record(self._instruments, duration, dimensions, usage[0], usage[1])
            return
        pending[A.COST_USD] = cost.total_usd
        pending[A.COST_INPUT_USD] = cost.input_usd
        pending[A.COST_OUTPUT_USD] = cost.output_usd
        pending[A.COST_SOURCE] = cost.source
        _metrics.record(
            self._instruments,
            duration,
            dimensions,
            usage[0],
            usage[1],
            cost.total_usd,
        )

    # -- streams ----------------------------------------------------------------------------
    def wrap_stream(
        self, stream: Any, accumulator: StreamAccumulator, asynchronous: bool | None = None
    ) -> Any:
        """Return ``stream`` behind a proxy that feeds ``accumulator`` and ends the span once:
        on exhaustion, ``close()``/``aclose()``, context-manager exit, an error mid-stream or
        abandonment. ``asynchronous`` chooses the proxy for streams iterable both ways."""
        from agentops_otel.genai._stream import wrap

        try:
            return wrap(stream, self, accumulator, asynchronous)
        except Exception:  # noqa: BLE001
            contain("wrapping a stream")
            self.end()
            return stream


_USAGE_KEYS = (
    A.GEN_AI_USAGE_INPUT_TOKENS,
    A.GEN_AI_USAGE_OUTPUT_TOKENS,
    A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
)


_LONG = 8  # a message list longer than this is fingerprinted by its length and ends


def _fingerprint(request: Any) -> int:
    """A hash of a request for loop detection, at a cost bounded in the conversation's length:
    a long message list is represented by its length, first two and last six messages. Plain
    data (dicts, lists, strings, numbers) is hashed from its ``marshal`` form (version 2: no
    back-references, so equal requests give equal bytes), anything else from its ``repr``."""
    if type(request) is tuple and any(map(_is_long, request)):
        request = tuple((len(p), p[:2], p[-6:]) if _is_long(p) else p for p in request)
    try:
        return hash(marshal.dumps(request, 2))
    except ValueError:  # objects marshal does not know (SDK models, custom classes)
        return hash(repr(request))


def _is_long(part: Any) -> bool:
    return isinstance(part, (list, tuple)) and len(part) > _LONG


_pricing_module: Any = None


def _pricing() -> Any:
    """:mod:`agentops_otel.pricing`, imported at the first priced call (keeps imports light)."""
    global _pricing_module
    if _pricing_module is None:
        from agentops_otel import pricing

        _pricing_module = pricing
    return _pricing_module


@functools.lru_cache(maxsize=1024)
def _dimensions(
    operation: str,
    provider: str,
    model: str | None,
    response_model: str | None,
    error: str | None,
    agent: str | None,
) -> _metrics.Dimensions:
    """Metric dimensions of a call, built once per combination: of all its measurements, its
    input and output tokens, and its cost (provider, the model that served it, agent)."""
    base: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: operation, A.GEN_AI_PROVIDER_NAME: provider}
    if model:
        base[A.GEN_AI_REQUEST_MODEL] = model
    if response_model:
        base[A.GEN_AI_RESPONSE_MODEL] = response_model
    if error:
        base[A.ERROR_TYPE] = error
    cost: dict[str, Any] = {A.GEN_AI_PROVIDER_NAME: provider}
    if response_model or model:
        cost[A.GEN_AI_REQUEST_MODEL] = response_model or model
    if agent:
        cost[A.GEN_AI_AGENT_NAME] = agent
    return _metrics.Dimensions(
        base,
        {**base, A.GEN_AI_TOKEN_TYPE: "input"},
        {**base, A.GEN_AI_TOKEN_TYPE: "output"},
        cost,
    )


def _failed(span: Any) -> bool:
    status = getattr(span, "status", None)
    return status is not None and status.status_code is StatusCode.ERROR


def _int(value: Any) -> int | None:
    if type(value) is int:  # the common case first
        return value if value >= 0 else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value >= 0:
        return int(value)
    return None
