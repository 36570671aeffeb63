"""The groq versions this instrumentor supports."""

_instruments = ("groq >= 0.20, < 2",)
