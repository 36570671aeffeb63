"""The LangChain callback handler that turns runs into agentops spans.

Every callback manager carries one :class:`AgentOpsCallbackHandler` (see ``__init__``), so it sees
each chain, graph, node, tool and model run with its ``run_id`` and ``parent_run_id``. What becomes
a span (the rest is passed through; its children hang on the nearest traced ancestor):

- a run that enters a named agent — ``lc_agent_name`` metadata (``langchain.agents.create_agent``)
  or ``agentops.agent.name`` metadata set by the user — or a classic ``AgentExecutor``: an agent
  span; ``agentops.agent.role`` metadata gives its role;
- any other top-level run: a workflow span (``invoke_workflow {name}``);
- a LangGraph node (``langgraph_node`` metadata naming the run, tagged ``graph:step:N``): a task
  span (``task {node}``); a graph run inside another run is materialised as a nested workflow
  span when its first node starts;
- the first model call beneath no agent promotes its nearest graph node to an agent named after
  the node — LangGraph's "a node that calls a model is an agent" — except that a node called
  ``agent`` or ``model`` (the prebuilt ReAct agent's) promotes its graph when the graph has a name;
- tools: tool spans (``execute_tool {name}``) with arguments and result;
- chat models and LLMs: LLM spans through :func:`agentops_otel.genai.start_llm_call`, usage from the
  ``LLMResult``;
- everything else (``RunnableSequence``, prompts, parsers, lambdas, LangGraph's hidden runs):
  no span.

Spans are parented explicitly through the run map. Each span is also made current in the context
the callback runs in (the handler runs inline, so that is the context of the work beneath it), so
spans made by code that is not LangChain — the openai SDK, our decorators — nest under it, and a
provider instrumentor sees the active LLM call and stands down: one model request, one LLM span.
A context is detached only where it is current; contexts left behind out of order are unwound
as soon as they surface again.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Tracer

from agentops_langchain import _convert as C
from agentops_otel import semconv as A
from agentops_otel import spans as S
from agentops_otel.errors import BudgetExceededError, LoopDetectedError
from agentops_otel.genai import LLMCall, capture_content, start_llm_call

_log = logging.getLogger(__name__)
_MAX_RUNS = 10_000  # open runs kept; the oldest is forgotten beyond that
_MAX_PENDING = 1_000  # contexts waiting to be detached where they were attached
_HIDDEN_TAG = "langsmith:hidden"
_STEP_TAG = "graph:step:"
_DEFAULT_GRAPH_NAME = "LangGraph"
_AGENT_NODES = frozenset({"agent", "model"})  # the model node of LangGraph/LangChain agents
_NOT_ERRORS = frozenset({"GraphBubbleUp", "GeneratorExit"})  # LangGraph control flow, closing
_BASE_KEY = otel_context.create_key("agentops-langchain-before-llm")  # in our LLM contexts
_warned: set[str] = set()

F = TypeVar("F", bound=Callable[..., Any])


def _contained(method: F) -> F:
    """Contain our errors (logged once); let budget and loop refusals reach the caller."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (BudgetExceededError, LoopDetectedError):
            raise
        except Exception:  # noqa: BLE001
            level = logging.DEBUG if method.__name__ in _warned else logging.WARNING
            _warned.add(method.__name__)
            _log.log(level, "agentops-otel: LangChain %s failed", method.__name__, exc_info=True)
            return None

    return wrapper  # type: ignore[return-value]  # functools.wraps: method's own signature


class _Run:
    """One LangChain run: its span (``None`` when passed through) and what nesting needs."""

    __slots__ = (
        "call",
        "ctx",
        "kind",
        "marker",
        "name",
        "node",
        "parent",
        "span",
        "start_ns",
        "streamed",
        "token",
    )

    def __init__(self, name: str, parent: _Run | None, marker: Any = None) -> None:
        self.name = name
        self.parent = parent
        self.marker = marker  # the agent name in effect (metadata), to spot entering an agent
        self.kind: str | None = None
        self.span: Span | None = None
        self.node = False
        self.call: LLMCall | None = None
        self.ctx: Any = None
        self.token: Any = None
        self.start_ns = 0
        self.streamed = False


class _Fingerprint:
    """A model request for loop detection: rendered only if a session asks for it."""

    __slots__ = ("messages", "model", "provider")

    def __init__(self, provider: str, model: str | None, messages: Any) -> None:
        self.provider, self.model, self.messages = provider, model, messages

    def __repr__(self) -> str:
        rendered = [
            (getattr(m, "type", None), getattr(m, "content", m), getattr(m, "tool_calls", None))
            for m in self.messages or ()
        ]
        return repr((self.provider, self.model, rendered))


def _traced(run: _Run | None) -> _Run | None:
    """The nearest run at or above ``run`` that has a span."""
    while run is not None and run.span is None:
        run = run.parent
    return run


def _context_of(run: _Run | None) -> Context | None:
    """A context in which ``run``'s span is current (None: no run, or no span)."""
    return trace.set_span_in_context(run.span) if run is not None and run.span is not None else None


def _is_error(error: BaseException) -> bool:
    return not any(cls.__name__ in _NOT_ERRORS for cls in type(error).__mro__)


def _reset(token: Any) -> bool:
    """Detach ``token`` if it belongs to the current ``contextvars`` context; quietly."""
    try:
        if isinstance(token, contextvars.Token):
            token.var.reset(token)
        else:
            otel_context.detach(token)
        return True
    except (ValueError, RuntimeError):
        return False


class AgentOpsCallbackHandler(BaseCallbackHandler):
    """Turns LangChain / LangGraph runs into agentops spans (module docstring has the rules)."""

    run_inline = True  # async managers call us in the caller's task, not in an executor
    raise_error = True  # only budget / loop refusals ever leave our methods

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self.enabled = True
        self._tracer = tracer
        self._runs: dict[UUID, _Run] = {}
        self._pending: dict[int, _Run] = {}
        self._lock = threading.Lock()

    # Events we do not trace are not even dispatched to us.
    @property
    def ignore_retry(self) -> bool:
        return True

    @property
    def ignore_retriever(self) -> bool:
        return True

    @property
    def ignore_custom_event(self) -> bool:
        return True

    # -- chains, graphs, nodes, agents ---------------------------------------------------------
    @_contained
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.enabled:
            return
        self._unwind()  # stale contexts must not parent what starts now
        parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
        md = metadata or {}
        name = _run_name(serialized, kwargs, "chain")
        marker = md.get(A.AGENT_NAME) or md.get("lc_agent_name")
        run = _Run(name, parent, marker)
        tags = tags or []
        attrs: dict[str, Any] = {}
        if _HIDDEN_TAG in tags:
            pass
        elif marker and (parent is None or parent.marker != marker):
            run.kind, run.name = A.KIND_AGENT, str(marker)
            attrs[A.AGENT_ROLE] = md.get(A.AGENT_ROLE)
        elif name == "AgentExecutor":
            run.kind = A.KIND_AGENT
        elif parent is None:
            run.kind = A.KIND_WORKFLOW
        elif md.get("langgraph_node") == name and any(t.startswith(_STEP_TAG) for t in tags):
            run.kind, run.node = A.KIND_TASK, True
            self._materialize(parent)
        if run.kind is None:
            run.start_ns = time.time_ns()
            self._store(run_id, run)
            return
        self._open(run_id, run, run.kind, inputs, attrs)

    @_contained
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, outputs, None)

    @_contained
    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, None, error)

    # -- tools ----------------------------------------------------------------------------------
    @_contained
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: Any = None,
        **kwargs: Any,
    ) -> None:
        if not self.enabled:
            return
        self._unwind()  # stale contexts must not parent what starts now
        parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
        run = _Run(_run_name(serialized, kwargs, "tool"), parent, parent.marker if parent else None)
        attrs = {
            A.GEN_AI_TOOL_CALL_ID: kwargs.get("tool_call_id"),
            A.GEN_AI_TOOL_DESCRIPTION: (serialized or {}).get("description"),
        }
        self._open(run_id, run, A.KIND_TOOL, inputs if inputs is not None else input_str, attrs)

    @_contained
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        call_id = getattr(output, "tool_call_id", None)  # older LangChain: only on the result
        if call_id:
            run = self._runs.get(run_id)
            if run is not None and run.span is not None:
                run.span.set_attribute(A.GEN_AI_TOOL_CALL_ID, str(call_id))
        self._close(run_id, getattr(output, "content", output), None)

    @_contained
    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, None, error)

    # -- models ---------------------------------------------------------------------------------
    @_contained
    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start_model(
            A.OP_CHAT,
            serialized,
            messages[0] if messages else [],
            run_id,
            parent_run_id,
            metadata,
            kwargs,
        )

    @_contained
    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start_model(
            A.OP_TEXT_COMPLETION, serialized, prompts, run_id, parent_run_id, metadata, kwargs
        )

    @_contained
    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None and run.call is not None:
            run.call.chunk_received()
            if not run.streamed:  # invocation_params say stream=False for .stream() callers
                run.streamed = True
                run.call.set_attributes({A.GEN_AI_REQUEST_STREAM: True})

    @_contained
    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._pop(run_id)
        if run is None or run.call is None:
            return
        call = run.call
        try:
            tokens = C.usage(response)
            if tokens is not None:
                call.set_usage(
                    *tokens[:2], cache_read=tokens[2], cache_write=tokens[3], reasoning=tokens[4]
                )
            response_id, response_model, reasons = C.response_info(response)
            call.set_response(response_id=response_id, model=response_model, finish_reasons=reasons)
            if capture_content():
                call.set_output(C.output_messages(response))
        finally:
            self._detach(run)
            call.end()

    @_contained
    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._pop(run_id)
        if run is None or run.call is None:
            return
        if _is_error(error):
            run.call.fail(error)
        self._detach(run)
        run.call.end()

    # -- internals ------------------------------------------------------------------------------
    def _start_model(
        self,
        operation: str,
        serialized: Any,
        messages: Any,
        run_id: UUID,
        parent_run_id: UUID | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> None:
        if not self.enabled:
            return
        self._unwind()
        parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
        if parent is not None and parent.kind == A.KIND_LLM:
            return  # a model inside a model run: that request is already counted
        above = _traced(parent)
        if above is not None:
            self._promote(above)
        md = metadata or {}
        params = kwargs.get("invocation_params") or {}
        provider = C.provider(md, serialized)
        model = C.model(md, params)
        # start_llm_call parents on (and budgets by) the current span: make it the run's parent,
        # over the context before any sibling model run of a batch made its own LLM call active.
        current = otel_context.get_current()
        base = cast("Context", otel_context.get_value(_BASE_KEY, current) or current)
        if (
            above is not None
            and above.span is not None
            and trace.get_current_span(base) is not above.span
        ):
            base = trace.set_span_in_context(above.span, base)
        token = otel_context.attach(base) if base is not current else None
        try:
            call = start_llm_call(
                self._tracer,
                operation=operation,
                provider=provider,
                model=model,
                attributes=C.request_attributes(md, params, serialized),
                fingerprint=_Fingerprint(provider, model, messages),
            )
            if call is None:
                return
            with call:  # the context the SDK call must run in: this span, LLM call active
                ctx = otel_context.set_value(_BASE_KEY, base)
        finally:
            if token is not None:
                otel_context.detach(token)
        if capture_content():
            call.set_input(C.input_messages(messages), tools=params.get("tools"))
        run = _Run(model or operation, parent)
        run.kind, run.span, run.call = A.KIND_LLM, call.span, call
        self._store(run_id, run)
        self._attach(run, ctx)

    def _open(self, run_id: UUID, run: _Run, kind: str, inputs: Any, attrs: dict[str, Any]) -> None:
        """Start the run's ``kind`` span under its nearest traced ancestor and make it current."""
        span = S.start_span(
            self._tracer,
            kind,
            run.name,
            attributes=attrs,
            context=_context_of(_traced(run.parent)),
            role=attrs.get(A.AGENT_ROLE),
        )
        run.kind, run.span = kind, span
        S.record_input(span, kind, inputs)
        self._store(run_id, run)
        self._attach(run, trace.set_span_in_context(span))

    def _close(self, run_id: UUID, outputs: Any, error: BaseException | None) -> None:
        run = self._pop(run_id)
        if run is None or run.span is None or run.kind is None:  # a run with a span has a kind
            return
        self._detach(run)
        if error is None:
            S.record_output(run.span, run.kind, outputs)
        S.end_span(run.span, error if error is not None and _is_error(error) else None)

    def _materialize(self, graph: _Run | None) -> None:
        """Give a passed-through graph run its workflow span, now that a node shows it is one."""
        if graph is None or graph.span is not None or not graph.start_ns:
            return
        graph.kind = A.KIND_WORKFLOW
        span_name, attrs = S.describe(A.KIND_WORKFLOW, graph.name)
        graph.span = self._tracer.start_span(
            span_name,
            attributes=attrs,
            start_time=graph.start_ns,
            context=_context_of(_traced(graph.parent)),
        )

    def _promote(self, above: _Run) -> None:
        """A model call beneath no agent: make the graph node that made it an agent."""
        node = None
        run: _Run | None = above
        while run is not None:
            if run.kind == A.KIND_AGENT:
                return
            if node is None and run.node and run.span is not None:
                node = run
            run = run.parent
        if node is None:
            return
        target = node
        if node.name in _AGENT_NODES:
            graph = _traced(node.parent)
            if (
                graph is not None
                and graph.name != _DEFAULT_GRAPH_NAME
                and graph.kind in (A.KIND_WORKFLOW, A.KIND_TASK)
            ):
                target = graph
        span_name, attrs = S.describe(A.KIND_AGENT, target.name)
        if target.span is None:  # both candidates have spans
            return
        target.span.update_name(span_name)
        target.span.set_attributes(attrs)
        target.kind = A.KIND_AGENT
        identity = {A.AGENT_NAME: attrs[A.AGENT_NAME], A.AGENT_ID: attrs[A.AGENT_ID]}
        run = above
        while run is not None and run is not target:  # open spans already below the agent
            if run.span is not None:
                run.span.set_attributes(identity)
            run = run.parent

    # run map and contexts
    def _store(self, run_id: UUID, run: _Run) -> None:
        with self._lock:
            runs = self._runs
            runs[run_id] = run
            if len(runs) > _MAX_RUNS:
                runs.pop(next(iter(runs)))

    def _pop(self, run_id: UUID) -> _Run | None:
        with self._lock:
            return self._runs.pop(run_id, None)

    def _attach(self, run: _Run, ctx: Any) -> None:
        self._unwind()
        run.ctx = ctx
        run.token = otel_context.attach(ctx)

    def _detach(self, run: _Run) -> None:
        """Detach the run's context where it is current; elsewhere leave it for _unwind."""
        if run.token is None:
            return
        self._unwind()
        if otel_context.get_current() is run.ctx and _reset(run.token):
            run.token = None
            self._unwind()
            return
        with self._lock:
            pending = self._pending
            pending[id(run.ctx)] = run
            if len(pending) > _MAX_PENDING:
                pending.pop(next(iter(pending)))

    def _unwind(self) -> None:
        """Detach contexts of ended runs left current here (ended out of order, or elsewhere)."""
        pending = self._pending
        while pending:
            current = otel_context.get_current()
            with self._lock:
                run = pending.get(id(current))
                if run is None or run.ctx is not current:
                    return
                del pending[id(current)]
            if not _reset(run.token):
                return
            run.token = None


def _run_name(serialized: Any, kwargs: dict[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if not name and isinstance(serialized, dict):
        name = serialized.get("name")
        if not name:
            ids = serialized.get("id")
            name = ids[-1] if isinstance(ids, list) and ids else None
    return str(name) if name else default
