"""The ag2 versions this instrumentor supports (checked by ``BaseInstrumentor``).

One distribution name, two frameworks: 0.x is AG2 classic (``import autogen``), 1.x is the
rewritten AG2 (``import ag2``); the instrumentor detects which one is installed.
"""

_instruments = ("ag2 >= 0.9, < 2",)
