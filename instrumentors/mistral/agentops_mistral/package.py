"""The mistral versions this instrumentor supports."""

_instruments = ("mistralai >= 1.2, < 4",)
