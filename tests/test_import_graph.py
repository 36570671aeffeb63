"""Module boundaries of the core: no import cycles (a lazy import inside a function counts too,
only ``if TYPE_CHECKING:`` blocks are left out), production code never imports the test helpers,
and the test helpers that do not need pytest import without it."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "agentops_otel"


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements anywhere in ``node`` except under ``if TYPE_CHECKING:``."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
        return
    children: Iterable[ast.AST] = ast.iter_child_nodes(node)
    if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
        children = node.orelse
    for child in children:
        yield from _import_nodes(child)


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the package it imports (``from pkg import mod`` names ``mod``)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in modules)
                continue
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each group of modules that import each other."""
    found: list[list[str]] = []
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> None:  # depth first; an edge back into the path closes a cycle
        path.append(node)
        for child in sorted(graph[node]):
            if child in path:
                cycle = [*path[path.index(child) :], child]
                if not any(set(cycle) == set(c) for c in found):
                    found.append(cycle)
            elif child not in done:
                visit(child)
        path.pop()
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node)
    return found


def test_the_core_has_no_import_cycles():
    graph = import_graph()
    assert "agentops_otel.store._writer" in graph["agentops_otel.store._logs"]  # the graph is real
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_cycle_finder_names_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_production_modules_never_import_the_test_helpers():
    # the one exception: `agentops-otel demo` runs its app against the fake LLM server
    allowed = {"agentops_otel.cli._demo": {"agentops_otel.testing.fake_llm"}}
    leaks = {
        module: sorted(t for t in targets - allowed.get(module, set()) if ".testing" in t)
        for module, targets in import_graph().items()
        if not module.startswith("agentops_otel.testing")
    }
    assert {m: t for m, t in leaks.items() if t} == {}


def test_test_helpers_import_without_pytest():
    code = (
        "import sys; sys.modules['pytest'] = None\n"  # `import pytest` now raises ImportError
        "import agentops_otel.testing.fake_llm, agentops_otel.testing.fixtures as f\n"
        "import agentops_otel.testing.otlp_receiver\n"
        "with f.settings_changed(capture_content=False): pass\n"
        "try:\n"
        "    f.server\n"
        "except ImportError:\n"
        "    print('fixtures need pytest')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "fixtures need pytest"
