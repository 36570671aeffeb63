"""Build wheels and sdists of every distribution (the distro and each instrumentor) into ``dist/``
and check that they are releasable: one version everywhere, licence, classifiers, Python range,
a readme, the same project URLs (``URL_LABELS``) and instrumentors that require the core's minor
series.

    python3 scripts/build_dists.py            # uses uv from .tools/ (scripts/dev.sh installs it)

Standard library only. Exit status 1 names every problem found.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
CORE = "agentops-otel-distro"
URL_LABELS = ("Homepage", "Source", "Issues", "Changelog")  # [project.urls], the same everywhere


def build(uv: str) -> None:
    shutil.rmtree(DIST, ignore_errors=True)
    subprocess.run(
        [uv, "build", "--quiet", "--all-packages", "--out-dir", str(DIST)], cwd=ROOT, check=True
    )


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def _typed(wheel: Path) -> bool:
    """The wheel ships a ``py.typed`` marker in its package (PEP 561)."""
    with zipfile.ZipFile(wheel) as archive:
        return any(n.count("/") == 1 and n.endswith("/py.typed") for n in archive.namelist())


def project_urls(meta: email.message.Message) -> dict[str, str]:
    """``Project-URL: Label, url`` lines of a wheel's metadata as ``{label: url}``."""
    pairs = (line.split(",", 1) for line in meta.get_all("Project-URL") or [])
    return {label.strip(): url.strip() for label, url in pairs}


def check() -> list[str]:
    """Every problem with the built distributions (empty: releasable)."""
    wheels = sorted(DIST.glob("*.whl"))
    if not wheels:
        return ["no wheels in dist/"]
    metas = {m["Name"]: m for m in map(_metadata, wheels)}
    problems = [
        f"{wheel.name}: no py.typed (type information)" for wheel in wheels if not _typed(wheel)
    ]
    if CORE not in metas:
        problems.append(f"{CORE} was not built")
    version = metas[CORE]["Version"] if CORE in metas else ""
    urls = project_urls(metas[CORE]) if CORE in metas else {}
    for name, meta in sorted(metas.items()):
        if meta["Version"] != version:
            problems.append(f"{name} {meta['Version']}: not the core's version {version}")
        for field in ("Summary", "Requires-Python", "License-Expression", "Classifier"):
            if not meta.get(field):
                problems.append(f"{name}: no {field}")
        missing = [label for label in URL_LABELS if not project_urls(meta).get(label)]
        if missing:
            problems.append(f"{name}: no project URL {', '.join(missing)} ([project.urls])")
        elif project_urls(meta) != urls:
            problems.append(f"{name}: project URLs differ from {CORE}'s")
        if len(meta.get_payload() or "") < 100 or not meta.get("Description-Content-Type"):
            problems.append(f'{name}: no readme (set readme = "README.md")')
        sdist = DIST / f"{name.replace('-', '_')}-{meta['Version']}.tar.gz"
        if not sdist.exists():
            problems.append(f"{name}: no sdist {sdist.name}")
        elif name != CORE:
            with tarfile.open(sdist) as archive:
                if not any(m.name.endswith("/pyproject.toml") for m in archive.getmembers()):
                    problems.append(f"{sdist.name}: no pyproject.toml")
        if name != CORE:
            core_req = [r for r in meta.get_all("Requires-Dist") or [] if r.startswith(CORE)]
            if not core_req or "<" not in core_req[0]:
                problems.append(f"{name}: needs a bounded requirement on {CORE} ({core_req})")
    return problems


def main() -> int:
    uv = os.environ.get("UV") or str(ROOT / ".tools/bin/uv")
    if not Path(uv).exists():
        uv = shutil.which("uv") or ""
    if not uv:
        print("no uv: run bash scripts/dev.sh setup (it installs uv into .tools/)", file=sys.stderr)
        return 1
    build(uv)
    problems = check()
    for problem in problems:
        print(f"!!! {problem}", file=sys.stderr)
    built = sorted(p.name for p in DIST.iterdir())
    print(f"{len(built)} files in dist/: {' '.join(built)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
