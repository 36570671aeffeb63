"""Wrappers on ``agents.run.AgentRunner``: they tell the bridge the role of each agent in a run.

The SDK's agent spans carry only the agent's name. Our agent spans also carry a role: the
agent's ``handoff_description`` (how the agent is described to the agents that hand off to it),
collected from the starting agent and every agent reachable through its handoffs, and made
visible to the bridge through a context variable for the duration of the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agentops_openai_agents._bridge import ROLES

_log = logging.getLogger(__name__)
_MAX_AGENTS = 200


def _roles(agent: Any) -> dict[str, str]:
    """``{name: handoff_description}`` for ``agent`` and the agents its handoffs reach."""
    roles: dict[str, str] = {}
    seen: set[int] = set()
    todo = [agent]
    while todo and len(seen) < _MAX_AGENTS:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        name = getattr(current, "name", None)
        role = getattr(current, "handoff_description", None)
        if isinstance(name, str) and isinstance(role, str) and role:
            roles.setdefault(name, role)
        for item in getattr(current, "handoffs", None) or ():
            ref = getattr(item, "_agent_ref", None)  # a Handoff object (openai-agents ≥ 0.3)
            target = ref() if callable(ref) else item
            if target is not None and hasattr(target, "handoffs"):
                todo.append(target)
    return roles


def _run_roles(args: tuple, kwargs: dict) -> dict[str, str] | None:
    """The roles to add for this run, or None when there is nothing to add."""
    try:
        agent = kwargs.get("starting_agent", args[0] if args else None)
        found = _roles(agent)
        if not found:
            return None
        current = ROLES.get()
        return {**current, **found} if current else found
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: reading openai-agents roles failed", exc_info=True)
        return None


def run(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """``AgentRunner.run`` (async; ``run_sync`` goes through it)."""
    roles = _run_roles(args, kwargs)
    if roles is None:
        return wrapped(*args, **kwargs)

    async def with_roles() -> Any:
        token = ROLES.set(roles)
        try:
            return await wrapped(*args, **kwargs)
        finally:
            ROLES.reset(token)

    return with_roles()


def run_streamed(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """``AgentRunner.run_streamed``: the run's task copies the context while ours is set."""
    roles = _run_roles(args, kwargs)
    if roles is None:
        return wrapped(*args, **kwargs)
    token = ROLES.set(roles)
    try:
        return wrapped(*args, **kwargs)
    finally:
        ROLES.reset(token)
