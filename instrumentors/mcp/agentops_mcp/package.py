"""The mcp versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("mcp >= 1.8, < 2",)
