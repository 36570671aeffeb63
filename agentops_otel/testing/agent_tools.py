"""A tool function the framework instrumentors' test agents share.

No ``from __future__ import annotations`` here: some frameworks (ADK 1.x) read a tool's
annotations as types, and smolagents and Agno read its docstring's ``Args``.
"""

FACTS = "otters hold hands"


def lookup_facts(topic: str) -> str:
    """Look up facts about a topic.

    Args:
        topic: The topic to look up.
    """
    return f"facts about {topic}: {FACTS}"
