"""AG2 classic (ag2 0.x, ``import autogen``): conversations, replies, tools and group chats.

- ``ConversableAgent.initiate_chat`` / ``a_initiate_chat`` → workflow span
  ``invoke_workflow {sender} -> {recipient}`` (the conversation; every turn happens beneath it);
- ``generate_reply`` / ``a_generate_reply`` → agent span ``invoke_agent {agent name}`` per reply,
  role and ``gen_ai.agent.description`` = the agent's ``description`` (AG2's one-line statement of
  what the agent does; it defaults to the system message);
- ``execute_function`` / ``a_execute_function`` → tool span ``execute_tool {function name}``;
  a failure AG2 turns into an ``"Error: …"`` result marks the span ERROR;
- ``GroupChatManager.run_chat`` / ``a_run_chat`` → workflow span ``invoke_workflow {manager}``.
  AG2 registers these as reply functions when a manager is built, so managers built before
  ``instrument()`` keep the unwrapped function (their replies still get agent spans).

Model calls are counted once, on the provider side: ``OpenAIWrapper.create`` is not traced;
it calls the provider SDK (openai, anthropic, …) whose instrumentor's LLM span nests under the
agent span that asked for the reply, with usage and cost. A cached reply (``cache_seed``)
sends no request and so has no LLM span and no cost.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.trace import Span, Tracer

from agentops_ag2._spans import (
    SpanSpec,
    arg,
    async_wrapper,
    mark_failed,
    sync_wrapper,
)
from agentops_otel import semconv as A
from agentops_otel.genai import capture_content
from agentops_otel.instrumentation import Patches
from agentops_otel.spans import record_output

_AGENT = "autogen.agentchat.conversable_agent"
_GROUPCHAT = "autogen.agentchat.groupchat"
_MAX_ROLE_CHARS = 300


def _name(agent: Any) -> str:
    return str(getattr(agent, "name", None) or type(agent).__name__)


def _conversation(instance: Any, args: tuple, kwargs: dict) -> SpanSpec:
    recipient = arg(args, kwargs, 0, "recipient")
    name = f"{_name(instance)} -> {_name(recipient)}" if recipient is not None else _name(instance)
    return SpanSpec(A.KIND_WORKFLOW, name, input=arg(args, kwargs, 7, "message"))


def _conversation_done(span: Span, result: Any) -> None:
    chat_id = getattr(result, "chat_id", None)
    if chat_id is not None:
        span.set_attribute(A.GEN_AI_CONVERSATION_ID, str(chat_id))
    record_output(span, A.KIND_WORKFLOW, getattr(result, "summary", None))


def _reply(instance: Any, args: tuple, kwargs: dict) -> SpanSpec:
    description = getattr(instance, "description", None)
    role = description[:_MAX_ROLE_CHARS] if isinstance(description, str) and description else None
    trigger = None
    if capture_content():
        messages = arg(args, kwargs, 0, "messages")
        if messages is None:
            sender = arg(args, kwargs, 1, "sender")
            messages = getattr(instance, "chat_messages", {}).get(sender)
        trigger = messages[-1] if messages else None
    return SpanSpec(
        A.KIND_AGENT,
        _name(instance),
        role=role,
        attributes={A.GEN_AI_AGENT_DESCRIPTION: role},
        input=trigger,
    )


def _reply_done(span: Span, result: Any) -> None:
    record_output(span, A.KIND_AGENT, result)


def _tool(instance: Any, args: tuple, kwargs: dict) -> SpanSpec:
    func_call = arg(args, kwargs, 0, "func_call") or {}
    name = str(func_call.get("name") or "function")
    arguments = func_call.get("arguments")
    if capture_content() and isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            pass
    call_id = arg(args, kwargs, 1, "call_id")
    return SpanSpec(A.KIND_TOOL, name, attributes={A.GEN_AI_TOOL_CALL_ID: call_id}, input=arguments)


def _tool_done(span: Span, result: Any) -> None:
    ok, reply = result
    content = reply.get("content") if isinstance(reply, dict) else None
    if not ok:
        mark_failed(span, "ToolError", str(content))
    record_output(span, A.KIND_TOOL, content)


def _group_chat(instance: Any, args: tuple, kwargs: dict) -> SpanSpec:
    return SpanSpec(A.KIND_WORKFLOW, _name(instance))


# (module, class, method, describe, finish); each method also has an ``a_`` async twin.
_TARGETS = (
    (_AGENT, "ConversableAgent", "initiate_chat", _conversation, _conversation_done),
    (_AGENT, "ConversableAgent", "generate_reply", _reply, _reply_done),
    (_AGENT, "ConversableAgent", "execute_function", _tool, _tool_done),
    (_GROUPCHAT, "GroupChatManager", "run_chat", _group_chat, None),
)


def instrument(tracer: Tracer, patches: Patches) -> None:
    """Wrap AG2 classic's conversation, reply, tool and group-chat methods."""
    for module, cls, method, describe, finish in _TARGETS:
        patches.wrap(module, f"{cls}.{method}", sync_wrapper(tracer, describe, finish))
        patches.wrap(module, f"{cls}.a_{method}", async_wrapper(tracer, describe, finish))
