"""scripts/testenvs.py: a test-envs line may add test modules of ``tests/`` to its environment
(an example's test runs where its framework is installed), and ``main`` then leaves them out."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import testenvs  # noqa: E402

sys.path.remove(str(ROOT / "scripts"))


def test_a_line_adds_tests_modules_to_its_env_and_main_ignores_them(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(testenvs, "ROOT", tmp_path)
    folder = tmp_path / "instrumentors" / "crewai"
    (folder / "tests").mkdir(parents=True)
    (folder / "pyproject.toml").write_text("")
    (folder / "test-envs").write_text(
        "crewai-latest crewai==1.15 tests/test_examples_crewai.py\ncrewai-oldest crewai==1.0\n"
    )
    envs = {env.name: env for env in testenvs.folder_envs()}
    assert envs["crewai-latest"].requirements == ["crewai==1.15"]
    assert envs["crewai-latest"].test_paths == [
        "instrumentors/crewai/tests",
        "tests/test_examples_crewai.py",
    ]
    assert envs["crewai-oldest"].test_paths == ["instrumentors/crewai/tests"]
    assert testenvs.pytest_batches(envs["crewai-latest"].test_paths) == [
        ["instrumentors/crewai/tests"],
        ["tests/test_examples_crewai.py"],
    ]
    main = next(env for env in testenvs.core_envs() if env.name == "main")
    assert "--ignore=tests/test_examples_crewai.py" in main.pytest_args
