"""The openai versions this instrumentor supports."""

_instruments = ("openai >= 2.0, < 4",)
