"""The ``agentops-otel`` command, run as a real subprocess against stores filled by real runs.

Two stores: one filled by ``agentops-otel demo`` (the openai SDK against the fake LLM server),
one by a small instrumented script that opens many sessions (tags, a failed one, enough ids
for two to share a first character). Assertions compare what the commands print with the spans
read back from the store.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.view import _format

ROOT = Path(__file__).resolve().parents[1]
TREE_GLYPHS = "│├└─ "


def _env(home: Path | None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OTEL_EXPORTER_OTLP_") and k != "AGENTOPS_API_KEY"
    }
    env.pop("AGENTOPS_OTEL_HOME", None)
    if home is not None:
        env["AGENTOPS_OTEL_HOME"] = str(home)
    env.update(COLUMNS="200", NO_COLOR="1", PYTHONIOENCODING="utf-8", **extra)
    return env


def cli(*args: str, home: Path | None, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentops_otel.cli", *args],
        env=_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    return result.stdout


def failed(result: subprocess.CompletedProcess[str], message: str) -> None:
    """A clean failure: exit status 1, one clear line, no traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert message in result.stderr, result.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A store filled by ``agentops-otel demo``, with the demo's output and stored spans."""
    home = tmp_path_factory.mktemp("demo-home")
    out = ok(cli("demo", home=home))
    match = re.search(r"agentops-otel show ([0-9a-f]{8})\b", out)
    assert match, out
    with Store.open(home) as store:
        (session,) = store.list_sessions()
        spans = store.session_spans(session.id)
    assert session.id.startswith(match[1])
    return {"home": home, "out": out, "short": match[1], "session": session, "spans": spans}


_BATCH = textwrap.dedent("""
    import openai

    import agentops_otel
    from agentops_otel.testing.fake_llm import FakeLLMServer

    agentops_otel.init(instrument=["openai"], auto_start_session=False, local_store=True)

    @agentops_otel.tool(name="lookup")
    def lookup(key):
        return {"key": key}

    for i in range(17):
        with agentops_otel.session(f"batch-{i}", tags=["batch", f"n{i}"]):
            lookup(i)
    try:
        with agentops_otel.session("broken", tags=["batch"]):
            raise ValueError("boom")
    except ValueError:
        pass
    with FakeLLMServer() as server:  # the same request three times, over a tiny budget
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-x", max_retries=0)
        with agentops_otel.session("looping", tags=["batch"], max_cost_usd=1e-9):
            for _ in range(3):
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "again?"}])
    agentops_otel.shutdown(timeout=10)
""")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """19 sessions written by an instrumented script: 17 with a tool call, a failed one, and
    one that repeats a model request over a tiny budget."""
    home = tmp_path_factory.mktemp("batch-home")
    run = subprocess.run(
        [sys.executable, "-c", _BATCH],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    with Store.open(home) as store:
        assert len(store.list_sessions(limit=100)) == 19
    return home


# --- helpers over the stored spans ---------------------------------------------------------------
def _llm(spans):
    return [s for s in spans if s.agentops_kind == A.KIND_LLM]


def _label(span) -> str:
    if span.agentops_kind in A.AGGREGATING_KINDS:
        return f"{span.agentops_kind} {span.name.split(' ', 1)[1]}"
    return f"{span.agentops_kind} {span.name}"


def _expected_tree(spans) -> list[tuple[int, str]]:
    """(depth, "kind name") in depth-first order, children in start order."""
    children: dict[str | None, list] = {}
    ids = {s.span_id for s in spans}
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    out: list[tuple[int, str]] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            out.append((depth, _label(span)))
            walk(span.span_id, depth + 1)

    walk(None, 0)
    return out


def _printed_tree(out: str) -> list[tuple[int, str]]:
    """The tree lines rich drew: depth from the guide indentation, then "kind name"."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("session "))
    tree = []
    for line in lines[start:]:
        if not line.strip():
            break
        body = line.lstrip(TREE_GLYPHS)
        indent = len(line) - len(body)
        if not re.match(r"(session|workflow|agent|operation|task|tool|llm|span) ", body):
            continue  # a wrapped continuation line
        tree.append((indent // 4, " ".join(body.split("  ")[0].split()[:3])))
    return tree


def _cost(value: float) -> str:
    return _format.cost(value)


# --- demo and show ------------------------------------------------------------------------------
def test_demo_prints_the_stored_tree_and_how_to_see_it_again(demo):
    spans = demo["spans"]
    kinds = [s.agentops_kind for s in spans]
    assert kinds.count(A.KIND_LLM) == 5 and kinds.count(A.KIND_TOOL) == 1
    assert {s.model for s in _llm(spans)} == {"gpt-4o-mini", "gpt-4o", "error-500"}
    expected = [(d, " ".join(label.split()[:3])) for d, label in _expected_tree(spans)]
    assert _printed_tree(demo["out"]) == expected
    assert [label for _, label in expected][:5] == [
        "session inbox-demo",
        "workflow inbox",
        "agent email-assistant",
        "operation classify",
        "llm chat gpt-4o-mini",
    ]
    failing = next(s for s in spans if s.model == "error-500")
    assert failing.status_code == "ERROR"
    assert re.search(r"llm chat error-500 .*✗", demo["out"])
    assert f"agentops-otel show {demo['short']}" in demo["out"].splitlines()[-3]


def test_show_totals_match_the_stored_spans(demo):
    out = ok(cli("show", demo["short"], home=demo["home"]))
    llm = _llm(demo["spans"])
    cost = sum(s.cost_usd or 0 for s in llm)
    tokens_in = sum(s.input_tokens or 0 for s in llm)
    tokens_out = sum(s.output_tokens or 0 for s in llm)
    assert cost > 0 and tokens_in > 0 and tokens_out > 0
    assert re.search(rf"^Cost\s+{re.escape(_cost(cost))}\s*$", out, re.M), out
    assert re.search(rf"^Tokens\s+{tokens_in:,} in / {tokens_out:,} out\s*$", out, re.M)
    assert re.search(rf"^LLM calls\s+{len(llm)}\s*$", out, re.M)
    assert re.search(rf"^session inbox-demo\s+{len(llm)} calls · {tokens_in:,} in", out, re.M)
    for span in llm:  # every call with its own numbers
        if span.cost_usd is not None:
            used = _format.tokens(span.input_tokens, span.output_tokens, span.attributes)
            assert "cached)" in used  # the fake server reports cached prompt tokens
            line = f"{used} · {_cost(span.cost_usd)}"
            assert line in out
    # cost by model and by agent
    mini = [s for s in llm if s.model == "gpt-4o-mini"]
    mini_cost = re.escape(_cost(sum(s.cost_usd for s in mini)))
    assert re.search(rf"gpt-4o-mini\s*│\s*{len(mini)}\s*│\s*0\s*│.*{mini_cost}", out), out
    scheduler = [s for s in llm if s.attributes.get(A.AGENT_NAME) == "scheduler"]
    cost_s = _cost(sum(s.cost_usd for s in scheduler))
    assert re.search(rf"scheduler\s*│\s*{len(scheduler)}\s*│.*{re.escape(cost_s)}", out)
    assert re.search(r"summarizer\s*│\s*1\s*│\s*1\s*│", out)  # the failed call, as an error


def test_show_resolves_prefixes_and_defaults_to_the_latest(demo):
    full = ok(cli("show", demo["session"].id, home=demo["home"]))
    assert ok(cli("show", demo["short"][:3], home=demo["home"])).count("\n") == full.count("\n")
    latest = ok(cli("show", home=demo["home"]))
    assert demo["session"].id in latest


# --- sessions -------------------------------------------------------------------------------------
def test_sessions_lists_totals_and_flags(demo):
    out = ok(cli("sessions", home=demo["home"]))
    session = demo["session"]
    row = next(line for line in out.splitlines() if line.strip().startswith(demo["short"]))
    assert "inbox-demo" in row and "Success" in row
    assert f"{session.input_tokens:,}/{session.output_tokens:,}" in row
    assert _cost(sum(s.cost_usd or 0 for s in _llm(demo["spans"]))) in row
    data = json.loads(ok(cli("sessions", "--json", home=demo["home"])))
    assert [d["id"] for d in data] == [session.id]
    assert data[0]["llm_calls"] == len(_llm(demo["spans"]))
    assert data[0]["cost_usd"] == pytest.approx(sum(s.cost_usd or 0 for s in _llm(demo["spans"])))


def test_sessions_filters(batch):
    def ids(*args: str) -> list[str]:
        return [d["name"] for d in json.loads(ok(cli("sessions", "--json", *args, home=batch)))]

    assert len(ids("--limit", "100")) == 19
    assert ids("--tag", "n3") == ["batch-3"]
    assert ids("--state", "fail") == ["broken"]
    assert len(ids("--state", "Success", "--limit", "100")) == 18
    assert len(ids("--since", "1h", "--limit", "5")) == 5
    assert len(ids("--since", "2000-01-01T00:00", "--limit", "100")) == 19
    failed(cli("sessions", "--tag", "nope", home=batch), "no sessions match")
    for when in ("yesterday", "2999-01-01"):
        bad = cli("sessions", "--since", when, home=batch)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr


# --- replay ---------------------------------------------------------------------------------------
def _steps(spans):
    return [s for s in spans if s.agentops_kind in (A.KIND_LLM, A.KIND_TOOL)]


def test_replay_plain_shows_prompts_completions_and_tool_io_in_time_order(demo):
    out = ok(cli("replay", demo["short"], "--no-interactive", home=demo["home"]))
    steps = _steps(demo["spans"])
    headers = re.findall(r"^Step (\d+)/(\d+)\s+(?:llm|tool) (.+?)(?:  in |\s*$)", out, re.M)
    assert [(int(i), int(n), name) for i, n, name in headers] == [
        (i + 1, len(steps), s.name) for i, s in enumerate(steps)
    ]
    first = json.loads(steps[0].attributes[A.GEN_AI_INPUT_MESSAGES])
    assert first[0]["parts"][0]["content"] in out  # the classifier's system prompt
    assert "billing/refund" in out.split("Step 2/")[0]  # its completion, in step 1
    tool = next(s for s in steps if s.agentops_kind == A.KIND_TOOL)
    assert json.loads(tool.attributes[A.GEN_AI_TOOL_CALL_RESULT])["free"] == ["10:00", "14:30"]
    tool_step = out.split("execute_tool check_calendar")[1].split("Step ")[0]
    assert '"14:30"' in tool_step and '"duration_minutes": 30' in tool_step
    assert "→ tool call check_calendar" in out and "← tool result" in out
    assert re.search(r"✗ failed: .*500", out.split("chat error-500")[-1])


def test_replay_without_a_terminal_is_plain(demo):
    out = ok(cli("replay", demo["short"], home=demo["home"]))
    assert out.count("Step ") == len(_steps(demo["spans"]))


def test_replay_interactive_in_a_pseudo_terminal(demo):
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentops_otel.cli", "replay", demo["short"]],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_env(demo["home"], TERM="xterm"),
        cwd=ROOT,
        close_fds=True,
    )
    os.close(slave)
    total = len(_steps(demo["spans"]))
    screen = ""

    def until(pattern: str) -> str:
        nonlocal screen
        while not re.search(pattern, screen, re.S):
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, f"timed out waiting for {pattern!r}; screen: {screen[-2000:]!r}"
            try:
                chunk = os.read(master, 65536).decode("utf-8", "replace")
            except OSError:  # the child closed the terminal
                chunk = ""
            assert chunk, f"terminal closed waiting for {pattern!r}: {screen[-2000:]!r}"
            screen += re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", chunk)
        return screen

    def press(key: str, pattern: str) -> str:
        nonlocal screen
        screen = ""
        os.write(master, key.encode())
        return until(pattern)

    try:
        first = until(rf"Step 1/{total}.*?q quit")
        assert "billing/refund" in first and "Step 2/" not in first
        assert "Step 2/" in press("n", rf"Step 2/{total}.*?q quit")
        assert "Step 3/" in press("\x1b[C", rf"Step 3/{total}.*?q quit")  # right arrow
        assert "Step 2/" in press("p", rf"Step 2/{total}.*?q quit")
        last = press("G", rf"Step {total}/{total}.*?q quit")
        assert "end of session" in last and "error-500" in last
        assert f"Step {total}/" in press("n", rf"Step {total}/{total}.*?q quit")  # stays
        assert "Step 1/" in press("g", rf"Step 1/{total}.*?q quit")
        os.write(master, b"q")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


# --- export ---------------------------------------------------------------------------------------
def test_export_otlp_json_parses_as_an_export_request(demo, tmp_path):
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    text = ok(cli("export", demo["short"], "--format", "otlp-json", home=demo["home"]))
    request = json_format.Parse(text, ExportTraceServiceRequest())
    parsed = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    stored = {s.span_id: s for s in demo["spans"]}
    assert sorted(s.name for s in parsed) == sorted(s.name for s in stored.values())
    assert {
        kv.value.string_value
        for rs in request.resource_spans
        for kv in rs.resource.attributes
        if kv.key == "service.name"
    } == {"inbox-demo"}

    data = json.loads(text)
    spans = [s for rs in data["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    for span in spans:  # the OTLP/JSON rules protobuf's own mapping does not apply
        row = stored[span["spanId"]]
        assert re.fullmatch(r"[0-9a-f]{32}", span["traceId"]) and span["traceId"] == row.trace_id
        assert re.fullmatch(r"[0-9a-f]{16}", span["spanId"])
        assert span.get("parentSpanId") == row.parent_span_id
        assert span["startTimeUnixNano"] == str(row.start_ns)
        assert span["endTimeUnixNano"] == str(row.end_ns)
        assert span["kind"] == (3 if row.kind == "CLIENT" else 1)
    failing = next(s for s in spans if s["name"] == "chat error-500")
    assert failing["status"]["code"] == 2 and failing["events"][0]["name"] == "exception"
    llm = next(s for s in spans if s["name"] == "chat gpt-4o")
    usage = {a["key"]: a["value"] for a in llm["attributes"]}[A.GEN_AI_USAGE_INPUT_TOKENS]
    assert usage == {"intValue": str(stored[llm["spanId"]].input_tokens)}

    target = tmp_path / "session.json"
    run = cli("export", demo["short"], "-o", str(target), home=demo["home"])
    ok(run)
    assert json.loads(target.read_text()) == data


# --- errors ------------------------------------------------------------------------------------
def test_missing_corrupt_and_empty_stores_fail_cleanly(tmp_path):
    missing = tmp_path / "nowhere"
    for args in (["sessions"], ["show"], ["replay", "abc"], ["export", "abc"]):
        failed(cli(*args, home=missing), "no local store at")
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    failed(cli("sessions", "--store", str(corrupt), home=None), "corrupt")
    failed(cli("show", "abc", home=tmp_path / "x", AGENTOPS_OTEL_HOME=str(corrupt)), "corrupt")

    from agentops_otel.store._db import connect

    connect(tmp_path / "empty" / "traces.db", create=True).close()
    for args in (["sessions"], ["show"], ["replay"]):
        failed(cli(*args, home=tmp_path / "empty"), "no sessions in the store at")


def test_unknown_and_ambiguous_session_ids(batch):
    with Store.open(batch) as store:
        ids = [s.id for s in store.list_sessions(limit=100)]
    firsts = [i[0] for i in ids]
    shared = next(c for c in firsts if firsts.count(c) > 1)  # 19 ids, 16 hex digits
    for command in ("show", "replay", "export"):
        failed(cli(command, shared, home=batch), "ambiguous")
        failed(cli(command, "zzzz", home=batch), "no session matches 'zzzz'")
    assert ids[0] in ok(cli("show", ids[0][:12], home=batch))


def test_loop_and_budget_flags_are_shown(batch):
    with Store.open(batch) as store:
        (looping,) = [s for s in store.list_sessions(limit=100) if s.name == "looping"]
        spans = store.session_spans(looping.id)
    assert looping.loop_detected and looping.budget_exceeded
    lines = ok(cli("sessions", home=batch)).splitlines()
    row = next(i for i, line in enumerate(lines) if line.strip().startswith(looping.id[:8]))
    assert "looping" in lines[row] and "loop, budget" in lines[row + 1]
    assert ok(cli("sessions", home=batch)).count("loop, budget") == 1
    data = {d["name"]: d for d in json.loads(ok(cli("sessions", "--json", home=batch)))}
    assert data["looping"]["loop_detected"] and not data["batch-1"]["loop_detected"]
    out = ok(cli("show", looping.id[:10], home=batch))
    assert re.search(r"^Flags\s+loop, budget", out, re.M)
    flagged = [s for s in spans if s.attributes.get(A.LOOP_DETECTED)]
    assert flagged and out.count("⚠ loop detected") == len(flagged)


def test_replay_of_a_session_without_calls_says_so(batch):
    with Store.open(batch) as store:
        broken = store.list_sessions(end_state="Fail")[0]
    failed(cli("replay", broken.id, home=batch), "no LLM or tool calls")


# --- packaging ----------------------------------------------------------------------------------
def _shadow(tmp_path: Path, module: str) -> str:
    """A PYTHONPATH entry where importing ``module`` fails, as if it were not installed."""
    package = tmp_path / "shadow" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f'raise ImportError("No module named {module!r}")\n')
    return str(tmp_path / "shadow")


def test_missing_rich_gets_a_clear_message(demo, tmp_path):
    shadow = _shadow(tmp_path, "rich")
    failed(cli("show", home=demo["home"], PYTHONPATH=shadow), "pip install rich")
    json.loads(ok(cli("sessions", "--json", home=demo["home"], PYTHONPATH=shadow)))
    json.loads(ok(cli("export", demo["short"], home=demo["home"], PYTHONPATH=shadow)))


def test_demo_without_openai_gets_a_clear_message(tmp_path):
    failed(cli("demo", home=tmp_path, PYTHONPATH=_shadow(tmp_path, "openai")), "pip install openai")


def test_importing_the_package_does_not_import_rich():
    code = "import sys, agentops_otel, agentops_otel.cli; print('rich' in sys.modules)"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert run.stdout.strip() == "False", run.stderr
