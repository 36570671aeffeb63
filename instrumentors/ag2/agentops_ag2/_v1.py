"""AG2 1.x (``import ag2``): agent turns and tool executions through AG2's own middleware.

AG2 1.x has no global middleware registry: middleware is given per agent or per call. We wrap
``Agent._turn_scope`` — the one scope every turn enters (``ask``, ``run``, ``AgentReply.ask``,
the A2A executor; 1.0 to 1.2) — to add a middleware factory (a ``BaseMiddleware`` subclass) to
its ``additional_middleware``; the turn instantiates it like any other. It makes:

- ``on_turn`` → agent span ``invoke_agent {agent name}`` per turn, ``gen_ai.conversation.id`` =
  the stream's id (a conversation continued with ``reply.ask`` keeps its stream, so its turns
  share the id). AG2 1.x agents have no description; the role is the agent's first static
  prompt, bounded, when there is one.
- ``on_tool_execution`` → tool span ``execute_tool {tool name}``; a ``ToolErrorEvent`` (AG2 reports
  a failing tool as a value) marks the span ERROR. An agent used as a tool (``as_tool``) runs its
  own turn beneath the tool span, so delegation nests: agent → tool → agent → LLM.
- ``on_llm_call``: nothing. Model calls are counted once, by the provider instrumentor (openai,
  anthropic, …) whose LLM span nests under the agent span.

Middleware the agent itself carries runs outside ours (AG2 puts agent middleware first); model
calls such middleware makes outside ``call_next`` (compaction) land under the enclosing span.
Our tracer is ``agentops_ag2``, not AG2's own ``opentelemetry.instrumentation.ag2``.
"""

from __future__ import annotations

import json
from typing import Any

from ag2.middleware import BaseMiddleware
from opentelemetry.trace import Span, Tracer

from agentops_ag2._spans import SpanSpec, async_wrapper, contain, mark_failed
from agentops_otel import semconv as A
from agentops_otel.genai import capture_content
from agentops_otel.instrumentation import Patches
from agentops_otel.spans import record_output

_MAX_ROLE_CHARS = 300
# (module, "Class.method") wrapped to add our middleware to every turn.
_TURN_SCOPE = ("ag2.agent", "Agent._turn_scope")


def _text(parts: Any) -> Any:
    """The text of AG2 input/result parts: one string, a list of strings, or None."""
    texts = [getattr(p, "content", None) or getattr(p, "url", None) for p in parts or ()]
    texts = [t for t in texts if isinstance(t, str)]
    if not texts:
        return None
    return texts[0] if len(texts) == 1 else texts


def _role(agent: Any) -> str | None:
    description = getattr(agent, "description", None)
    if isinstance(description, str) and description:
        return description[:_MAX_ROLE_CHARS]
    for prompt in getattr(agent, "_system_prompt", None) or ():
        if isinstance(prompt, str) and prompt:
            return prompt[:_MAX_ROLE_CHARS]
    return None


def _turn(middleware: _Tracing, args: tuple, kwargs: dict) -> SpanSpec:
    event, context = args
    agent = middleware.agent
    stream_id = getattr(getattr(context, "stream", None), "id", None)
    return SpanSpec(
        A.KIND_AGENT,
        str(getattr(agent, "name", None) or type(agent).__name__),
        role=_role(agent),
        attributes={A.GEN_AI_CONVERSATION_ID: None if stream_id is None else str(stream_id)},
        input=_text(getattr(event, "parts", None)) if capture_content() else None,
    )


def _turn_done(span: Span, response: Any) -> None:
    record_output(span, A.KIND_AGENT, getattr(response, "content", None))


def _tool(middleware: _Tracing, args: tuple, kwargs: dict) -> SpanSpec:
    event = args[0]
    arguments = getattr(event, "arguments", None)
    if capture_content() and isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            pass
    return SpanSpec(
        A.KIND_TOOL,
        str(getattr(event, "name", None) or "tool"),
        attributes={A.GEN_AI_TOOL_CALL_ID: getattr(event, "id", None)},
        input=arguments,
    )


def _tool_done(span: Span, result: Any) -> None:
    error = getattr(result, "error", None)
    if isinstance(error, BaseException):
        mark_failed(span, type(error).__qualname__, str(error))
    record_output(span, A.KIND_TOOL, _text(getattr(getattr(result, "result", None), "parts", None)))


class _Tracing(BaseMiddleware):
    """Our middleware for one turn of one agent."""

    def __init__(self, event: Any, context: Any, factory: _Factory) -> None:
        super().__init__(event, context)
        self.agent = factory.agent
        self._hooks = factory.hooks

    async def on_turn(self, call_next: Any, event: Any, context: Any) -> Any:
        return await self._hooks.turn(call_next, self, (event, context), {})

    async def on_tool_execution(self, call_next: Any, event: Any, context: Any) -> Any:
        return await self._hooks.tool(call_next, self, (event, context), {})


class _Hooks:
    """The span wrappers every turn shares, built once per ``instrument()``."""

    def __init__(self, tracer: Tracer) -> None:
        self.turn = async_wrapper(tracer, _turn, _turn_done)
        self.tool = async_wrapper(tracer, _tool, _tool_done)


class _Factory:
    """A ``MiddlewareFactory``: AG2 calls it with each turn's trigger event and context."""

    def __init__(self, hooks: _Hooks, agent: Any) -> None:
        self.hooks = hooks
        self.agent = agent

    def __call__(self, event: Any, context: Any) -> _Tracing:
        return _Tracing(event, context, self)


def _turn_scope_wrapper(hooks: _Hooks) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        try:
            extra = tuple(kwargs.get("additional_middleware", ()))
            kwargs = {**kwargs, "additional_middleware": (_Factory(hooks, instance), *extra)}
        except Exception:  # noqa: BLE001
            contain("adding the tracing middleware")
        return wrapped(*args, **kwargs)

    return wrapper


def instrument(tracer: Tracer, patches: Patches) -> None:
    """Add our middleware to every AG2 1.x agent turn."""
    module, path = _TURN_SCOPE
    patches.wrap(module, path, _turn_scope_wrapper(_Hooks(tracer)))
