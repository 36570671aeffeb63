"""The ollama versions this instrumentor supports."""

_instruments = ("ollama >= 0.4, < 1",)
