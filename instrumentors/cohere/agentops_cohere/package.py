"""The cohere versions this instrumentor supports."""

_instruments = ("cohere >= 5.13, < 8",)
