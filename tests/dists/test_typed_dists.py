"""Every package of ours installed from the wheels carries its type information (PEP 561)."""

from __future__ import annotations

import importlib.util
from importlib.metadata import entry_points
from pathlib import Path


def test_the_core_and_every_instrumentor_ship_py_typed() -> None:
    packages = {"agentops_otel"} | {
        ep.module.split(".")[0]
        for ep in entry_points(group="opentelemetry_instrumentor")
        if ep.name.startswith("agentops_")
    }
    assert len(packages) > 10, packages  # the distro installs every instrumentor of ours
    untyped = []
    for name in sorted(packages):
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations, name
        folder = Path(next(iter(spec.submodule_search_locations)))
        assert "site-packages" in folder.parts, folder  # from the wheel, not the checkout
        if not (folder / "py.typed").is_file():
            untyped.append(name)
    assert untyped == []
