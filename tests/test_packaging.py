"""The distro's packaging: one install brings every instrumentor of ours, in step with the tree."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def test_distro_lists_every_instrumentor_in_the_tree() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/sync_distro.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_installed_distro_requires_each_instrumentor_and_offers_its_library_as_extra() -> None:
    requires = [Requirement(r) for r in distribution("agentops-otel-distro").requires or []]
    plain = {r.name for r in requires if r.marker is None}
    extras = {(r.name, tuple(r.extras), str(r.marker)) for r in requires if r.marker is not None}
    folders = sorted(p.parent.name for p in ROOT.glob("instrumentors/*/pyproject.toml"))
    assert folders
    for folder in folders:
        extra = folder.replace("_", "-")
        dist = "agentops-otel-instrumentation-" + extra
        assert dist in plain
        assert (dist, ("instruments",), f'extra == "{extra}"') in extras
    assert "rich" in plain  # the CLI works on a plain install
