"""scripts/testenvs.py: how test-envs files become environments (the CI's plan)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import testenvs  # noqa: E402

sys.path.remove(str(ROOT / "scripts"))


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(testenvs, "ROOT", tmp_path)
    files = {
        "mistral": "providers-latest mistralai==2.0\nmistral-oldest mistralai==1.0\n",
        "groq": "# comment\n\nproviders-latest groq==1.0 httpx<1\n",
    }
    for lib, lines in files.items():
        folder = tmp_path / "instrumentors" / lib
        (folder / "tests").mkdir(parents=True)
        (folder / "pyproject.toml").write_text("")
        (folder / "test-envs").write_text(lines)
        (folder / "tests" / f"test_{lib}.py").write_text("")
    return tmp_path


def test_a_name_in_several_folders_is_one_env_with_the_union(tree) -> None:
    envs = {env.name: env for env in testenvs.folder_envs()}
    assert set(envs) == {"providers-latest", "mistral-oldest"}
    shared = envs["providers-latest"]
    assert shared.requirements == ["groq==1.0", "httpx<1", "mistralai==2.0"]
    assert shared.test_paths == ["instrumentors/groq/tests", "instrumentors/mistral/tests"]
    assert testenvs.pytest_batches(shared.test_paths) == [shared.test_paths]  # one pytest run
    assert testenvs.instrumentor_folders() == ["instrumentors/groq", "instrumentors/mistral"]


def test_test_modules_of_the_same_name_run_folder_by_folder(tree) -> None:
    (tree / "instrumentors/groq/tests/_helpers.py").write_text("")
    (tree / "instrumentors/mistral/tests/_helpers.py").write_text("")
    paths = ["instrumentors/groq/tests", "instrumentors/mistral/tests"]
    assert testenvs.pytest_batches(paths) == [[paths[0]], [paths[1]]]


def test_junit_counts_and_a_missing_file(tmp_path) -> None:
    xml = tmp_path / "r.xml"
    xml.write_text(
        '<testsuites><testsuite tests="7" failures="1" errors="1" skipped="2"/></testsuites>'
    )
    assert testenvs.junit_counts(xml) == (3, 2, 2)
    assert testenvs.junit_counts(tmp_path / "none.xml") is None
