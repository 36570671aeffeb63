"""LlamaIndex dispatcher spans and events → agentops spans.

LlamaIndex announces every instrumented method call to the span handlers of its root dispatcher
(``span_enter`` / ``span_exit`` / ``span_drop`` with the call's id ``Class.method-uuid``, its
bound arguments, the instance and the id of the enclosing call) and emits events (LLM start and
end with the response) tagged with the id of the call they happen in. :class:`SpanMapper` maps:

- ``Workflow.run`` of an agent (``FunctionAgent``, ``ReActAgent``, ``CodeActAgent``; an
  ``AgentWorkflow`` with a single agent, which is how 0.12 runs ``FunctionAgent.run``) → agent span;
  of any other workflow (a multi-agent ``AgentWorkflow``, your own) → workflow span;
- ``AgentWorkflow.run_agent_step`` in a multi-agent workflow → agent span of that agent's turn;
  tool calls made after it carry that agent's identity;
- ``BaseTool.call`` / ``acall`` → tool span;
- ``BaseQueryEngine.query`` / ``aquery`` and ``BaseRetriever.retrieve`` / ``aretrieve`` →
  operation spans with the number of retrieved nodes;
- LLM chat / completion start and end events → LLM spans with usage, through the shared GenAI
  helper; while one is open the provider SDK's instrumentor stands down (one request, one span);
- every other call → no span: what happens beneath it hangs on its nearest traced ancestor.

Parents follow LlamaIndex's own call ids, so spans nest correctly across the tasks a workflow
starts. Each traced call (and each untraced call beneath one, such as a workflow step) also makes
its span current in the OTel context while it runs, so spans made by code that is not LlamaIndex
(an embeddings request through the openai SDK, a decorated function inside a tool) nest too.
``Workflow.run`` returns a future and ends in a callback elsewhere, so its span is never made
current: work beneath it is parented through the call ids instead.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, Tracer

from agentops_otel import semconv as A
from agentops_otel import spans as S
from agentops_otel.errors import BudgetExceededError, LoopDetectedError
from agentops_otel.genai import LLMCall, capture_content, contain, start_llm_call
from agentops_otel.genai.openai_shapes import record_usage

_log = logging.getLogger(__name__)
_MAX_RUNS = 10_000  # open calls remembered; the oldest is forgotten beyond that
# Workflow control flow, not failures.
_NOT_ERRORS = frozenset({"WorkflowDone", "GeneratorExit", "CancelledError"})


# (key, module, class): the classes a call's instance is recognised by.
CLASSES = (
    ("workflow", "llama_index.core.workflow", "Workflow"),
    ("agent", "llama_index.core.agent.workflow", "BaseWorkflowAgent"),
    ("agent_workflow", "llama_index.core.agent.workflow", "AgentWorkflow"),
    ("tool", "llama_index.core.tools", "BaseTool"),
    ("query_engine", "llama_index.core.base.base_query_engine", "BaseQueryEngine"),
    ("retriever", "llama_index.core.base.base_retriever", "BaseRetriever"),
    ("llm", "llama_index.core.base.llms.base", "BaseLLM"),
)


class Classes:
    """The LlamaIndex classes calls are recognised by; a class missing from the installed
    release is ``None`` and its calls are not traced (one debug log)."""

    def __init__(self) -> None:
        import importlib

        for key, module, name in CLASSES:
            try:
                value = getattr(importlib.import_module(module), name)
            except Exception:  # noqa: BLE001
                _log.debug("agentops-otel: %s.%s not found; not traced", module, name)
                value = None
            setattr(self, key, value)

    def isa(self, instance: Any, key: str) -> bool:
        cls = getattr(self, key)
        return cls is not None and isinstance(instance, cls)


class _Run:
    """One LlamaIndex call: its span (``None`` when passed through) and its context."""

    __slots__ = ("agent", "ctx", "instance", "kind", "parent", "span", "token")

    def __init__(self, parent: _Run | None) -> None:
        self.parent = parent
        self.kind: str | None = None
        self.span: Span | None = None
        self.ctx: Any = None  # the context attached while the call runs
        self.token: Any = None
        self.agent: dict[str, Any] | None = None  # a workflow's current agent (identity)
        self.instance: Any = None  # the workflow of a run, the LLM of an LLM method call


class _Call:
    """An LLM request: its span and the context it is current in until its end event (which,
    for a stream, comes after the LLM method's own call has returned)."""

    __slots__ = ("call", "ctx")

    def __init__(self, call: LLMCall, ctx: Any) -> None:
        self.call = call
        self.ctx = ctx


def _traced(run: _Run | None) -> _Run | None:
    while run is not None and run.span is None:
        run = run.parent
    return run


def _context_of(run: _Run | None) -> Context | None:
    """A context in which ``run``'s span is current (None: no run, or no span)."""
    return trace.set_span_in_context(run.span) if run is not None and run.span is not None else None


def _text(value: Any) -> str:
    return str(value) if value is not None else ""


def _class_method(id_: str) -> str:
    return id_.split("-", 1)[0]


class SpanMapper:
    """The state behind our span and event handlers (see the module docstring)."""

    def __init__(self, tracer: Tracer, classes: Classes) -> None:
        self.enabled = True
        self._tracer = tracer
        self._classes = classes
        self._runs: dict[str, _Run] = {}
        self._calls: dict[str, _Call] = {}
        self._lock = threading.Lock()

    # -- span handler ---------------------------------------------------------------------
    def enter(self, id_: str, bound_args: Any, instance: Any, parent_id: str | None) -> None:
        if not self.enabled or not is_instrumentation_enabled():
            return
        parent = self._runs.get(parent_id) if parent_id else None
        run = _Run(parent)
        method = _class_method(id_).rsplit(".", 1)[-1]
        arguments = getattr(bound_args, "arguments", None) or {}
        start = self._classify(instance, method, arguments, parent)
        if start is not None:
            span = self._open(run, *start)
            self._store(id_, run)
            if method == "run" and self._classes.isa(instance, "workflow"):
                run.instance = instance  # ends in a callback elsewhere: never made current
            else:
                self._attach(run, trace.set_span_in_context(span))
            return
        self._store(id_, run)
        if self._classes.isa(instance, "llm"):
            run.instance = instance  # its LLM events open the LLM span; nothing to make current
            return
        above = _traced(parent)
        if (
            above is not None
            and above.span is not None
            and trace.get_current_span() is not above.span
        ):
            self._attach(run, trace.set_span_in_context(above.span))

    def exit(self, id_: str, result: Any) -> None:
        run = self._pop(id_)
        if run is None:
            return
        self._detach(run)
        if run.span is not None:
            self._record_result(run, result)
            S.end_span(run.span)

    def drop(self, id_: str, err: BaseException | None) -> None:
        run = self._pop(id_)
        if run is None:
            return
        self._detach(run)
        error = err if err is not None and type(err).__name__ not in _NOT_ERRORS else None
        self._end_call(id_, error)  # an LLM request that failed before its end event
        if run.span is not None:
            S.end_span(run.span, error)

    # -- event handler --------------------------------------------------------------------
    def event(self, event: Any) -> None:
        if not self.enabled:
            return
        name = type(event).__name__
        if name in ("LLMChatStartEvent", "LLMCompletionStartEvent"):
            self._start_call(
                event, A.OP_CHAT if name == "LLMChatStartEvent" else A.OP_TEXT_COMPLETION
            )
        elif name in ("LLMChatEndEvent", "LLMCompletionEndEvent"):
            self._finish_call(event)

    # -- mapping --------------------------------------------------------------------------
    def _classify(
        self, instance: Any, method: str, arguments: dict[str, Any], parent: _Run | None
    ) -> tuple[str, str, dict[str, Any], Any] | None:
        """(kind, name, attributes, input) of a call we trace; None to pass it through."""
        isa = self._classes.isa
        if method == "run" and isa(instance, "workflow"):
            user_msg = (
                arguments.get("user_msg")
                or (arguments.get("kwargs") or {}).get("user_msg")
                or getattr(arguments.get("start_event"), "user_msg", None)
            )
            agent = instance
            if isa(instance, "agent_workflow"):
                agents = getattr(instance, "agents", None) or {}
                agent = next(iter(agents.values())) if len(agents) == 1 else None
            elif not isa(instance, "agent"):
                agent = None
            if agent is not None:
                return (
                    A.KIND_AGENT,
                    _text(getattr(agent, "name", None)) or "Agent",
                    _agent_attributes(agent),
                    user_msg,
                )
            return A.KIND_WORKFLOW, type(instance).__name__, {}, user_msg
        if method == "run_agent_step":  # a step: the workflow is the instance or the run's
            above = _traced(parent)
            workflow = instance if instance is not None else getattr(above, "instance", None)
            if not isa(workflow, "agent_workflow"):
                return None
            name = getattr(arguments.get("ev"), "current_agent_name", None)
            agents = getattr(workflow, "agents", None) or {}
            if name and len(agents) > 1:
                return (
                    A.KIND_AGENT,
                    str(name),
                    _agent_attributes(agents.get(name)),
                    getattr(arguments.get("ev"), "input", None),
                )
            return None
        if method in ("call", "acall") and isa(instance, "tool"):
            above = _traced(parent)
            if above is not None and above.kind == A.KIND_TOOL:
                return None  # acall running call: one tool span
            metadata = getattr(instance, "metadata", None)
            attrs = {A.GEN_AI_TOOL_DESCRIPTION: getattr(metadata, "description", None)}
            attrs.update(self._current_agent(parent))
            inputs = arguments.get("kwargs") or arguments.get("input") or arguments.get("args")
            return (A.KIND_TOOL, _text(getattr(metadata, "name", None)) or "tool", attrs, inputs)
        if method in ("query", "aquery") and isa(instance, "query_engine"):
            return (
                A.KIND_OPERATION,
                f"{type(instance).__name__}.query",
                {},
                _query_text(arguments.get("str_or_query_bundle")),
            )
        if method in ("retrieve", "aretrieve") and isa(instance, "retriever"):
            return (
                A.KIND_OPERATION,
                f"{type(instance).__name__}.retrieve",
                {A.GEN_AI_OPERATION_NAME: A.OP_RETRIEVAL},
                _query_text(arguments.get("str_or_query_bundle")),
            )
        return None

    def _current_agent(self, parent: _Run | None) -> dict[str, Any]:
        """The identity of the agent whose turn led to this call in a multi-agent workflow."""
        run = parent
        while run is not None:
            if run.kind == A.KIND_AGENT:
                return {}  # inside an agent span: the processor copies its identity
            if run.agent is not None:
                return run.agent
            run = run.parent
        return {}

    def _open(self, run: _Run, kind: str, name: str, attrs: dict[str, Any], inputs: Any) -> Span:
        above = _traced(run.parent)
        role = attrs.pop(A.AGENT_ROLE, None)
        span = S.start_span(
            self._tracer, kind, name, attributes=attrs, context=_context_of(above), role=role
        )
        run.kind, run.span = kind, span
        S.record_input(span, kind, inputs)
        if kind == A.KIND_AGENT and above is not None and above.kind == A.KIND_WORKFLOW:
            attributes = getattr(span, "attributes", None) or {}
            above.agent = {
                key: attributes[key] for key in (A.AGENT_NAME, A.AGENT_ID) if key in attributes
            }
        return span

    def _record_result(self, run: _Run, result: Any) -> None:
        span, kind = run.span, run.kind
        if span is None or kind is None:  # _open sets both
            return
        try:
            nodes = getattr(result, "source_nodes", None)
            if nodes is None and isinstance(result, list):
                nodes = result
            if run.kind == A.KIND_OPERATION and isinstance(nodes, list):
                span.set_attribute(A.RETRIEVAL_DOCUMENTS, len(nodes))
            if run.kind == A.KIND_TOOL:
                output = getattr(result, "content", result)
            else:
                output = getattr(result, "response", None)
                if output is None:
                    output = result if nodes is None else [getattr(n, "text", n) for n in nodes]
            S.record_output(
                span, kind, output if isinstance(output, (str, list, dict)) else _text(output)
            )
        except Exception:  # noqa: BLE001
            contain("recording a LlamaIndex result")

    # -- LLM requests ---------------------------------------------------------------------
    def _start_call(self, event: Any, operation: str) -> None:
        span_id = event.span_id or ""
        run = self._runs.get(span_id)
        if run is None or span_id in self._calls:
            return
        model_dict = {**_llm_fields(run.instance), **(getattr(event, "model_dict", None) or {})}
        provider = _provider(model_dict)
        model = model_dict.get("model")
        messages = getattr(event, "messages", None)
        if messages is None:
            messages = [{"role": "user", "content": getattr(event, "prompt", "")}]
        above = _context_of(_traced(run))
        token = otel_context.attach(above) if above is not None else None
        try:
            call = start_llm_call(
                self._tracer,
                operation=operation,
                provider=provider,
                model=model,
                attributes=_request_attributes(model_dict),
                fingerprint=(
                    provider,
                    model,
                    [(_role(m), _text(_field(m, "content"))) for m in messages],
                ),
            )
        except (BudgetExceededError, LoopDetectedError):
            # LlamaIndex swallows what its handlers raise: the provider SDK's instrumentor
            # beneath, which then opens the span, refuses the request instead.
            return
        finally:
            if token is not None:
                otel_context.detach(token)
        if call is None:
            return
        if capture_content():
            call.set_input(_messages(messages))
        call.__enter__()  # current until the end event: the provider SDK's span stands down
        with self._lock:
            self._calls[span_id] = _Call(call, otel_context.get_current())
            if len(self._calls) > _MAX_RUNS:
                self._calls.pop(next(iter(self._calls)))

    def _finish_call(self, event: Any) -> None:
        open_call = self._calls.get(event.span_id or "")
        if open_call is None:
            return
        call = open_call.call
        response = getattr(event, "response", None)
        try:
            raw = getattr(response, "raw", None)
            usage = _field(raw, "usage")
            if usage is None:  # token counts LlamaIndex copied off the response
                usage = getattr(response, "additional_kwargs", None) or None
            record_usage(call, usage)
            call.set_response(response_id=_field(raw, "id"), model=_field(raw, "model"))
            if capture_content() and response is not None:
                message = getattr(response, "message", None)
                call.set_output(
                    _messages([message])
                    if message is not None
                    else [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": _text(response.text)}],
                        }
                    ]
                )
        except Exception:  # noqa: BLE001
            contain("recording a LlamaIndex LLM response")
        self._end_call(event.span_id or "")

    def _end_call(self, span_id: str, error: BaseException | None = None) -> None:
        with self._lock:
            open_call = self._calls.pop(span_id, None)
        if open_call is None:
            return
        call = open_call.call
        if error is not None:
            call.fail(error)
        if otel_context.get_current() is open_call.ctx:
            call.__exit__(None, None, None)
        call.end()

    # -- run map and contexts ---------------------------------------------------------------
    def _store(self, id_: str, run: _Run) -> None:
        with self._lock:
            runs = self._runs
            runs[id_] = run
            if len(runs) > _MAX_RUNS:
                runs.pop(next(iter(runs)))

    def _pop(self, id_: str) -> _Run | None:
        with self._lock:
            return self._runs.pop(id_, None)

    @staticmethod
    def _attach(run: _Run, ctx: Any) -> None:
        run.ctx = ctx
        run.token = otel_context.attach(ctx)

    @staticmethod
    def _detach(run: _Run) -> None:
        """Detach where the call's context is current (it ran in this context)."""
        if run.token is None:
            return
        if otel_context.get_current() is run.ctx:
            otel_context.detach(run.token)
        else:
            _log.debug("agentops-otel: a LlamaIndex call ended outside its context")
        run.token = None


def _agent_attributes(agent: Any) -> dict[str, Any]:
    description = getattr(agent, "description", None)
    return {A.GEN_AI_AGENT_DESCRIPTION: description if isinstance(description, str) else None}


def _llm_fields(llm: Any) -> dict[str, Any]:
    """Model, endpoint and parameters from the LLM instance (newer releases leave them out of
    the event's ``model_dict``)."""
    if llm is None:
        return {}
    fields = {"class_name": type(llm).__name__}
    for key in ("model", "api_base", "temperature", "max_tokens"):
        value = getattr(llm, key, None)
        if value is not None:
            fields[key] = value
    return fields


def _query_text(query: Any) -> Any:
    return getattr(query, "query_str", query)


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _provider(model_dict: dict[str, Any]) -> str:
    name = str(model_dict.get("class_name") or "").lower()
    for provider in ("openai", "anthropic", "mistral", "groq", "cohere", "deepseek"):
        if provider in name:
            return "azure.ai.openai" if "azure" in name else provider
    if "gemini" in name or "google" in name:
        return "gcp.gemini"
    return name.removesuffix("_llm") or "llamaindex"


def _request_attributes(model_dict: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        A.GEN_AI_REQUEST_TEMPERATURE: model_dict.get("temperature"),
        A.GEN_AI_REQUEST_MAX_TOKENS: model_dict.get("max_tokens"),
    }
    base = model_dict.get("api_base")
    if isinstance(base, str) and base:
        parts = urlsplit(base)
        attrs[A.SERVER_ADDRESS] = parts.hostname
        attrs[A.SERVER_PORT] = parts.port
    return {
        k: v
        for k, v in attrs.items()
        if isinstance(v, (str, int, float)) and not isinstance(v, bool)
    }


def _role(message: Any) -> str:
    role = _field(message, "role")
    return str(getattr(role, "value", role) or "user")


def _messages(messages: Any) -> list[dict[str, Any]]:
    """LlamaIndex ``ChatMessage``s in the GenAI message form (text and tool calls)."""
    converted = []
    for message in messages or ():
        parts: list[dict[str, Any]] = []
        content = _field(message, "content")
        if content:
            parts.append({"type": "text", "content": _text(content)})
        extra = _field(message, "additional_kwargs") or {}
        for tool_call in extra.get("tool_calls") or ():
            function = _field(tool_call, "function")
            parts.append(
                {
                    "type": "tool_call",
                    "id": _field(tool_call, "id"),
                    "name": _field(function, "name"),
                    "arguments": _field(function, "arguments"),
                }
            )
        converted.append({"role": _role(message), "parts": parts})
    return converted
