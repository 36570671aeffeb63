"""The autogen-agentchat versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("autogen-agentchat >= 0.7, < 0.8",)
