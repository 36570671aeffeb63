"""Build the test environments and run their tests, several at a time (``scripts/dev.sh test``).

An environment is the core env ``main`` (``.venv``: ruff, mypy, then ``tests/``), the core on other
Pythons (``core-py310``, ``core-py313``), or a name from a folder's ``test-envs`` file: one line
``<env-name> <requirement>...``. A name listed by several folders is ONE environment: the union of
their requirements, one pytest run over all their tests. Every environment has the core and every
instrumentor of ours installed editable (the distro depends on them all). Each environment's
output goes to ``.test-results/<name>.log`` and is printed as one block when it ends (in full
when it failed). The last line is ``N passed, N failed[, N skipped]``.

Standard library only: it runs on the system Python before any environment exists.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / ".test-results"
DEFAULT_PYTHON = "3.11"
TEST_TIMEOUT_S = float(os.environ.get("DEV_TEST_TIMEOUT", "2700"))  # per pytest run
# The core's ClickHouse cases (chDB, in-process: the slowest third of the core's tests) are
# selected by name: ``main-clickhouse`` runs them in ``.venv`` beside ``main``, which runs the rest.
CLICKHOUSE, NOT_CLICKHOUSE = ("-k", "clickhouse"), ("-k", "not clickhouse")
# Tests that need the heavy optional stacks (chDB, a browser): not run on the other Pythons.
HEAVY_CORE_TESTS = (
    "tests/test_clickhouse_store.py",
    "tests/test_dashboard_browser.py",
    "tests/test_dashboard_stores.py",
    "tests/test_store_commands.py",
)


@dataclass
class Env:
    """One virtual environment and the tests that run in it."""

    name: str
    venv: str
    python: str = DEFAULT_PYTHON
    editables: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    test_paths: list[str] = field(default_factory=list)
    pytest_args: list[str] = field(default_factory=list)
    lint: bool = False
    chromium: bool = False
    from_dists: bool = False  # a plain venv of the built wheels (dist/), not editable installs
    shares: str = ""  # the environment whose venv this one tests in (built once, by that one)


@dataclass
class Outcome:
    """What happened to one environment."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    build_s: float = 0.0
    test_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.problems


def core_envs() -> list[Env]:
    """``main`` (everything, Python 3.11) and the core's tests on the other supported Pythons."""
    # folders run in environments of their own
    own_envs = ["--ignore=tests/coexistence", "--ignore=tests/dists", "--ignore=tests/ingest"]
    own_envs += sorted({f"--ignore={p}" for e in folder_envs() for p in e.test_paths if _file(p)})
    main = Env(
        "main",
        ".venv",
        editables=[".[dev,dev-clickhouse,grpc]"],
        requirements=["openai>=3", "anthropic", "mypy>=1.10"],
        test_paths=["tests"],
        pytest_args=[*own_envs, *NOT_CLICKHOUSE],
        lint=True,
        chromium=True,
    )
    main_clickhouse = Env(
        "main-clickhouse",
        ".venv",
        editables=main.editables,
        requirements=main.requirements,
        test_paths=["tests"],
        pytest_args=[*own_envs, *CLICKHOUSE],
        shares="main",
    )
    light = [*own_envs, *(f"--ignore={t}" for t in HEAVY_CORE_TESTS), *NOT_CLICKHOUSE]
    others = [
        Env(
            f"core-py{v.replace('.', '')}",
            f".venvs/core-py{v.replace('.', '')}",
            python=v,
            editables=[".[dev,grpc]"],
            requirements=["openai>=3", "anthropic"],
            test_paths=["tests"],
            pytest_args=light,
        )
        for v in ("3.10", "3.13")
    ]
    dists = Env(
        "dists",
        ".venvs/dists",
        requirements=["openai"],
        test_paths=["tests/dists"],
        pytest_args=["--noconftest"],
        from_dists=True,
    )
    return [main, main_clickhouse, *others, dists]


def instrumentor_folders() -> list[str]:
    """``instrumentors/<lib>`` of every instrumentor distribution in the tree."""
    return sorted(
        p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("instrumentors/*/pyproject.toml")
    )


def _file(word: str) -> bool:
    """A ``test-envs`` word naming a test module of ``tests/``: it runs in that environment
    (which has what it needs, e.g. the framework an example uses), not in ``main``."""
    return word.startswith("tests/") and word.endswith(".py")


def folder_envs() -> list[Env]:
    """Environments named in ``test-envs`` files, one per name, merged across folders; a line
    may add test modules of ``tests/`` to its environment (see :func:`_file`)."""
    envs: dict[str, Env] = {}
    files = sorted(ROOT.glob("instrumentors/*/test-envs")) + sorted(ROOT.glob("tests/*/test-envs"))
    for envfile in files:
        folder = envfile.parent.relative_to(ROOT).as_posix()
        tests = f"{folder}/tests" if (ROOT / folder / "tests").is_dir() else folder
        for line in envfile.read_text().splitlines():
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            name, reqs = words[0], [w for w in words[1:] if not _file(w)]
            env = envs.setdefault(name, Env(name, f".venvs/{name}", editables=[".[dev]"]))
            for path in [tests, *(w for w in words[1:] if _file(w))]:
                if path not in env.test_paths:
                    env.test_paths.append(path)
            env.requirements += [r for r in reqs if r not in env.requirements]
    return list(envs.values())


# --------------------------------------------------------------------------------------- running

_print_lock = threading.Lock()
_apt_lock = threading.Lock()
_live: set[subprocess.Popen[bytes]] = set()  # each in its own process group


def _stop_all(signum: int, _frame: object) -> None:
    """On SIGTERM / SIGINT: end every running build or test with its children, then exit."""
    for proc in list(_live):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(128 + signum)


def say(text: str) -> None:
    with _print_lock:
        print(text, flush=True)


def find_python(version: str) -> str | None:
    """An interpreter for ``version`` on this machine (never a downloaded one)."""
    candidates = [shutil.which(f"python{version}") or ""]
    candidates += sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")),
        reverse=True,
    )
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for exe in filter(None, candidates):
        ok = subprocess.run([exe, "-c", "import venv"], capture_output=True).returncode == 0
        if ok:
            return exe
    return None


class Runner:
    """Runs the environments' builds and tests in two bounded pools and reports each one."""

    def __init__(self, envs: list[Env], jobs: int, uv: str) -> None:
        self.envs = envs
        self.jobs = jobs
        self.uv = uv
        self.outcomes: dict[str, Outcome] = {}

    def log_path(self, env: Env) -> Path:
        return RESULTS / f"{env.name}.log"

    def run(
        self,
        env: Env,
        cmd: list[str],
        timeout: float | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> int:
        """Run ``cmd`` with its output appended to the env's log; the exit code (124: timeout)."""
        with open(self.log_path(env), "a", encoding="utf-8") as log:
            log.write(f"$ {' '.join(cmd)}\n")
            log.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **(extra_env or {})},
            )
            _live.add(proc)
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                log.write(f"\n!!! timed out after {timeout:.0f}s (DEV_TEST_TIMEOUT)\n")
                return 124
            finally:
                _live.discard(proc)

    def build_from_dists(self, env: Env) -> bool:
        """Build dist/, then a fresh venv with ``pip install --no-index --find-links dist/
        agentops-otel-distro`` and the requirements: only the third-party dependencies come
        from the registry (downloaded first into the venv's wheelhouse)."""
        shutil.rmtree(ROOT / env.venv, ignore_errors=True)
        exe = find_python(env.python)
        if (
            exe is None
            or self.run(env, [sys.executable, "scripts/build_dists.py"])
            or self.run(env, [exe, "-m", "venv", env.venv])
        ):
            return False
        pip = [f"{env.venv}/bin/python", "-m", "pip", "--quiet", "--disable-pip-version-check"]
        wheelhouse = f"{env.venv}/wheelhouse"
        wanted = [*env.requirements, "pytest"]
        if self.run(
            env, [*pip, "download", "--dest", wheelhouse, *third_party_requirements(), *wanted]
        ):
            return False
        return not self.run(
            env,
            [
                *pip,
                "install",
                "--no-index",
                "--find-links",
                "dist",
                "--find-links",
                wheelhouse,
                "agentops-otel-distro",
                *wanted,
            ],
        )

    def build(self, env: Env) -> bool:
        if env.from_dists:
            return self.build_from_dists(env)
        python = env.venv + "/bin/python"
        if not (ROOT / python).exists():
            exe = find_python(env.python)
            if exe is None:
                with open(self.log_path(env), "a", encoding="utf-8") as log:
                    log.write(
                        f"!!! no Python {env.python} on this machine (looked on PATH, in "
                        f"~/.pyenv/versions and /usr/bin); install python{env.python}\n"
                    )
                return False
            if self.run(env, [self.uv, "venv", "--quiet", "--python", exe, env.venv]):
                return False
        cmd = [self.uv, "pip", "install", "--quiet", "--python", python]
        # the distro depends on every instrumentor of ours: each comes from its folder
        for path in env.editables + instrumentor_folders():
            cmd += ["-e", path]
        if self.run(env, cmd + env.requirements):
            return False
        if env.chromium:
            self.ensure_chromium(env)
        return True

    def ensure_chromium(self, env: Env) -> None:
        """The browser tests drive Debian's chromium (never a downloaded browser)."""
        with _apt_lock:
            if os.path.exists("/usr/bin/chromium"):
                return
            if os.geteuid() != 0 or not shutil.which("apt-get"):
                with open(self.log_path(env), "a", encoding="utf-8") as log:
                    log.write(
                        "!!! /usr/bin/chromium missing and apt-get unavailable (or not "
                        "root); the browser tests will fail\n"
                    )
                return
            self.run(
                env,
                [
                    "sh",
                    "-c",
                    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                    "apt-get install -y -qq chromium >/dev/null",
                ],
            )

    def test(self, env: Env, outcome: Outcome) -> None:
        python = str(ROOT / env.venv / "bin/python")
        # binaries shipped in wheels (rotel's collector) link the interpreter's libpython, which
        # a pyenv-built Python keeps in its own lib/ rather than on the loader's path
        query = "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')"
        libdir = subprocess.run([python, "-c", query], capture_output=True, text=True).stdout
        path = os.pathsep.join(filter(None, [libdir.strip(), os.environ.get("LD_LIBRARY_PATH")]))
        test_env = {"LD_LIBRARY_PATH": path} if path else {}
        ruff = str(ROOT / env.venv / "bin/ruff")
        if env.lint and self.run(env, [ruff, "check", "--no-cache", "."]):
            outcome.problems.append("ruff found problems")
        if env.lint and self.run(env, [ruff, "format", "--check", "--no-cache", "."]):
            outcome.problems.append("ruff format would reformat files")
        # the core and every instrumentor ([tool.mypy] in pyproject.toml)
        if env.lint and self.run(env, [str(ROOT / env.venv / "bin/mypy")]):
            outcome.problems.append("mypy found type errors")
        # the wheels' venv runs its own pytest: `python -m` would put the checkout on sys.path
        pytest = (
            [str(ROOT / env.venv / "bin/pytest")] if env.from_dists else [python, "-m", "pytest"]
        )
        for i, paths in enumerate(pytest_batches(env.test_paths)):
            xml = RESULTS / (f"{env.name}.xml" if i == 0 else f"{env.name}.{i}.xml")
            code = self.run(
                env,
                [
                    *pytest,
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--junitxml={xml}",
                    *env.pytest_args,
                    *paths,
                ],
                timeout=TEST_TIMEOUT_S,
                extra_env=test_env,
            )
            counts = junit_counts(xml)
            if counts is not None:
                outcome.passed += counts[0]
                outcome.failed += counts[1]
                outcome.skipped += counts[2]
            if code == 5:
                outcome.problems.append(f"no tests collected in {' '.join(paths)}")
            elif code == 124:
                outcome.problems.append("timed out")
            elif code and (counts is None or not counts[1]):
                outcome.problems.append(f"pytest exited {code}")

    def start(self) -> bool:
        RESULTS.mkdir(parents=True, exist_ok=True)
        total = len(self.envs)
        index = {env.name: n for n, env in enumerate(self.envs, 1)}
        # tests run `jobs` at a time, the earliest environment of the plan first (main's first)
        ready: queue.PriorityQueue[tuple[float, str]] = queue.PriorityQueue()
        by_name = {env.name: env for env in self.envs}

        def tag(env: Env) -> str:
            return f"[{index[env.name]}/{total}] {env.name}"

        def do_test(env: Env, outcome: Outcome) -> None:
            say(f"{tag(env)}: testing")
            began = time.monotonic()
            try:
                self.test(env, outcome)
            except Exception as exc:  # noqa: BLE001 - a runner bug must not hide the others
                outcome.problems.append(f"runner error: {exc!r}")
            outcome.test_s = time.monotonic() - began
            self.report(tag(env), env, outcome)

        def do_build(env: Env) -> None:
            say(f"{tag(env)}: building ({env.venv}, Python {env.python})")
            outcome = self.outcomes[env.name]
            began = time.monotonic()
            try:
                built = self.build(env)
            except Exception as exc:  # noqa: BLE001 - a runner bug must not hide the others
                built = False
                self.log_path(env).open("a").write(f"!!! runner error: {exc!r}\n")
            outcome.build_s = time.monotonic() - began
            if not built:
                for user in [env, *sharers.get(env.name, [])]:
                    self.outcomes[user.name].problems.append(
                        f"environment could not be built ({env.venv})"
                    )
                    self.report(tag(user), user, self.outcomes[user.name])
                return
            say(f"{tag(env)}: built in {outcome.build_s:.0f}s")
            for user in [env, *sharers.get(env.name, [])]:
                ready.put((index[user.name], user.name))

        def tester() -> None:
            while True:
                _, name = ready.get()
                if not name:  # every build is done and every test before this taken
                    return
                do_test(by_name[name], self.outcomes[name])

        for env in self.envs:
            self.outcomes[env.name] = Outcome()
            self.log_path(env).write_text("")
        names = {env.name for env in self.envs}
        sharers: dict[str, list[Env]] = {}
        for env in self.envs:
            if env.shares in names:  # tested once the owner is built
                sharers.setdefault(env.shares, []).append(env)
        testers = [threading.Thread(target=tester, name=f"test-{n}") for n in range(self.jobs)]
        for thread in testers:
            thread.start()
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="build") as builders:
            list(builders.map(do_build, [env for env in self.envs if env.shares not in names]))
        for _ in testers:
            ready.put((math.inf, ""))
        for thread in testers:
            thread.join()
        return all(o.ok for o in self.outcomes.values())

    def report(self, tag: str, env: Env, outcome: Outcome) -> None:
        if outcome.test_s or not outcome.problems:
            head = (
                f"{tag}: built in {outcome.build_s:.0f}s, {outcome.passed} passed "
                f"{outcome.failed} failed {outcome.skipped} skipped in {outcome.test_s:.0f}s"
            )
        else:
            head = f"{tag}: FAILED to build after {outcome.build_s:.0f}s"
        if outcome.problems:
            head += " — " + "; ".join(outcome.problems)
        log = self.log_path(env).read_text(encoding="utf-8", errors="replace")
        if outcome.ok:
            say(head)
        else:
            say(
                f"{head}\n----- {self.log_path(env).relative_to(ROOT)}\n{log.rstrip()}\n"
                f"----- end of {env.name}\n{head}"
            )

    def summary(self, elapsed: float) -> None:
        say(
            f"=== summary ({elapsed:.0f}s in all; load average {os.getloadavg()[1]:.1f} over the "
            f"last 5 minutes on {os.cpu_count()} cores)"
        )
        passed = failed = skipped = 0
        for env in self.envs:
            o = self.outcomes[env.name]
            # an environment that broke without a failed test still counts as one failure
            env_failed = o.failed or (1 if o.problems else 0)
            note = f"  ({'; '.join(o.problems)})" if o.problems else ""
            say(
                f"  {env.name}: {o.passed} passed, {env_failed} failed, {o.skipped} skipped, "
                f"build {o.build_s:.0f}s, test {o.test_s:.0f}s{note}"
            )
            passed += o.passed
            failed += env_failed
            skipped += o.skipped
        say(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))


def third_party_requirements() -> list[str]:
    """What the built wheels require from the registry (not our own distributions)."""
    import email.parser
    import zipfile

    found: set[str] = set()
    for wheel in (ROOT / "dist").glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            meta = email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))
        found.update(
            r
            for r in meta.get_all("Requires-Dist") or []
            if not r.startswith("agentops-otel") and "extra ==" not in r
        )
    return sorted(found)


def pytest_batches(paths: list[str]) -> list[list[str]]:
    """One pytest run over all folders, unless two of them hold test modules of the same name
    (pytest's rootdir-relative imports would mix them up): then one run per folder. Modules of
    ``tests/`` a line added (:func:`_file`) run on their own, after: their ``conftest`` is
    ``tests/``'s, and a folder's tests may import theirs by that name."""
    files = [p for p in paths if _file(p)]
    if files:
        folders = [p for p in paths if not _file(p)]
        return [*(pytest_batches(folders) if folders else []), files]
    seen: set[str] = set()
    for path in paths:
        names = {p.name for p in (ROOT / path).glob("*.py") if p.name != "conftest.py"}
        if names & seen:
            return [[p] for p in paths]
        seen |= names
    return [paths]


def junit_counts(xml: Path) -> tuple[int, int, int] | None:
    """(passed, failed, skipped) from a pytest junit file, None when pytest wrote none."""
    try:
        root = ET.parse(xml).getroot()
    except (OSError, ET.ParseError):
        return None
    passed = failed = skipped = 0
    for suite in root.iter("testsuite"):
        fail = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        passed += int(suite.get("tests", 0)) - fail - skip
        failed += fail
        skipped += skip
    return passed, failed, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["test", "build", "list"])
    parser.add_argument("envs", nargs="*", help="environment names (default: all)")
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=int(os.environ.get("DEV_JOBS", 0)) or os.cpu_count() or 2,
        help="environments built and tested at once (default: DEV_JOBS or nproc)",
    )
    parser.add_argument("--uv", default=os.environ.get("UV", "uv"))
    args = parser.parse_args(argv)
    envs = core_envs() + folder_envs()
    known = {env.name for env in envs}
    unknown = [name for name in args.envs if name not in known]
    if unknown:
        parser.error(
            f"unknown environment(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    if args.envs:
        envs = [env for env in envs if env.name in args.envs]
    if args.command == "list":
        for env in envs:
            print(
                f"{env.name}\tPython {env.python}\t{' '.join(env.test_paths)}\t"
                f"{' '.join(env.requirements)}"
            )
        return 0
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"  # a missing Python is reported, never fetched
    runner = Runner(envs, max(1, args.jobs), args.uv)
    if args.command == "build":
        RESULTS.mkdir(parents=True, exist_ok=True)
        ok = True
        for env in envs:
            runner.log_path(env).write_text("")
            if not runner.build(env):
                ok = False
                print(runner.log_path(env).read_text(), file=sys.stderr)
        return 0 if ok else 1
    signal.signal(signal.SIGTERM, _stop_all)
    signal.signal(signal.SIGINT, _stop_all)
    shutil.rmtree(RESULTS, ignore_errors=True)
    say(
        f"=== {len(envs)} environments, {runner.jobs} at a time; logs in "
        f"{RESULTS.relative_to(ROOT)}/"
    )
    began = time.monotonic()
    ok = runner.start()
    runner.summary(time.monotonic() - began)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
