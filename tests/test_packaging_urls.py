"""Every distribution (the distro and each instrumentor) names the same project URLs in its
metadata (``scripts/build_dists.py`` checks the built wheels; this checks the sources, fast)."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from build_dists import URL_LABELS  # noqa: E402

sys.path.remove(str(ROOT / "scripts"))


def _urls(pyproject: Path) -> dict[str, str]:
    return tomllib.loads(pyproject.read_text())["project"].get("urls", {})


def test_every_distribution_has_the_projects_urls() -> None:
    core = _urls(ROOT / "pyproject.toml")
    assert sorted(core) == sorted(URL_LABELS)
    assert all(
        url.startswith("https://github.com/agentops-otel/agentops-otel") for url in core.values()
    )
    instrumentors = sorted(ROOT.glob("instrumentors/*/pyproject.toml"))
    assert len(instrumentors) >= 20
    assert {p.parent.name: _urls(p) for p in instrumentors} == {
        p.parent.name: core for p in instrumentors
    }
