"""The second-generation pages over HTTP, against the real ``agentops-otel serve``: where the
money went (one session, a time range), compare two sessions, replay with running totals, the
sessions list's form and suggestions, the search box, and the token kept off the command line
and out of the cookie."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from _dashboard_support import IMG, ROOT, SCRIPT, UNPRICED_SESSION, XSS_SESSION, Server
from _pages_support import VARIANT, demo_payload, demo_sid, server  # noqa: F401 (fixtures)
from markupsafe import escape

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.view import _format


class _Table(HTMLParser):
    """The body rows of the table with ``id`` as lists of cell texts (whitespace collapsed)."""

    def __init__(self, page: str, table_id: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._id, self._inside, self._body, self._cell = table_id, False, False, None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self._inside = dict(attrs).get("id") == self._id
        elif self._inside and tag == "tbody":
            self._body = True
        elif self._inside and self._body and tag == "tr":
            self.rows.append([])
        elif self._inside and self._body and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._inside = self._body = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def client(server: Server):  # noqa: F811
    with server.client() as opened:
        yield opened


def _spans(server: Server, session_id: str) -> list:  # noqa: F811
    with Store.open(server.home) as store:
        return store.session_spans(session_id)


# --- where the money went ------------------------------------------------------------------------
def test_session_money_is_agent_then_operation_then_model_costliest_first(
    server: Server,  # noqa: F811
    client,
    demo_sid: str,  # noqa: F811
) -> None:
    sid = demo_sid
    llm = [s for s in _spans(server, sid) if s.agentops_kind == "llm"]
    by_agent: dict[str, float] = defaultdict(float)
    for span in llm:
        by_agent[span.attributes.get(A.AGENT_NAME)] += span.cost_usd or 0.0
    page = client.get(f"/sessions/{sid[:8]}/money")
    assert page.status_code == 200
    rows = _Table(page.text, "money").rows
    agents = [r for r in rows if r[0].startswith("agent ")]
    assert [r[0].removeprefix("agent ") for r in agents] == sorted(
        by_agent, key=lambda a: -by_agent[a]
    )
    for row in agents:
        assert row[2] == _format.cost(by_agent[row[0].removeprefix("agent ")])
    # under the costliest agent: draft_reply (gpt-4o) before classify (gpt-4o-mini)
    first = rows.index(agents[0])
    assert [r[0] for r in rows[first + 1 : first + 5]] == [
        "operation draft_reply",
        "model gpt-4o",
        "operation classify",
        "model gpt-4o-mini",
    ]
    assert float(rows[first + 2][3].rstrip("%")) > 90 * float(rows[first + 4][3].rstrip("%")) / 100
    total = sum(s.cost_usd or 0 for s in llm)
    assert f'id="money-total">{_format.cost(total)}<' in page.text
    top = _Table(page.text, "top-calls").rows
    assert top[0][2] == "gpt-4o" and top[0][-1] == _format.cost(max(s.cost_usd or 0 for s in llm))
    assert "with no price" not in page.text  # the failed call used nothing: not unpriced
    unpriced = client.get(f"/sessions/{UNPRICED_SESSION}/money").text
    assert "1 with no price" in unpriced and "mystery-model-x" in unpriced
    assert client.get("/sessions/nope/money").status_code == 404


def test_money_over_a_time_range_adds_the_sessions_up(server: Server, client) -> None:  # noqa: F811
    with Store.open(server.home) as store:
        sessions = store.list_sessions(limit=100, since=time.time() - 86_400)
        spans = [s for x in sessions for s in store.session_spans(x.id)]
    total = sum(s.cost_usd or 0 for s in spans if s.agentops_kind == "llm")
    page = client.get("/money?range=24h")
    assert page.status_code == 200
    assert f'id="money-total">{_format.cost(total)}<' in page.text
    models = {r[0] for r in _Table(page.text, "money").rows if r[0].startswith("model ")}
    assert {"model gpt-4", "model gpt-4o", "model gpt-4o-mini"} <= models
    assert f"The LLM calls of {len(sessions)} sessions" in page.text
    assert client.get("/money?range=5y").status_code == 400


# --- compare -------------------------------------------------------------------------------------
def test_compare_pairs_the_steps_and_marks_the_first_divergence(
    client,
    demo_sid: str,  # noqa: F811
) -> None:
    sid = demo_sid
    page = client.get("/compare", params=[("s", sid), ("s", VARIANT)])
    assert page.status_code == 200
    text = page.text
    pairs = re.findall(r'<li class="pair[ "]', text)
    assert len(pairs) == 6  # five LLM calls and one tool call, side by side
    assert re.search(r'class="pair has-diff first-divergence" id="pair-2"', text)
    assert '<li class="pair" id="pair-1"' in text  # step 1 is the same in both runs
    assert "(model, name differ)" in text
    assert "chat gpt-4<" in text and "chat gpt-4o<" in text
    same = client.get(f"/compare?a={sid[:6]}&b={sid}")  # prefixes, by URL
    assert "Same steps, same content." in same.text and "first-divergence" not in same.text
    one = client.get("/compare", params={"s": sid})
    assert one.status_code == 400 and "pick exactly two sessions" in one.text
    assert client.get(f"/compare?a={sid}&b=nope").status_code == 404


def test_compare_and_money_show_html_as_text(client, demo_sid: str) -> None:  # noqa: F811
    sid = demo_sid
    for path in (f"/compare?a={XSS_SESSION}&b={sid}", f"/sessions/{XSS_SESSION}/money"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert SCRIPT not in page.text and IMG not in page.text, path
        assert str(escape(IMG)) in page.text or str(escape(SCRIPT)) in page.text, path


# --- replay --------------------------------------------------------------------------------------
def test_replay_lists_steps_with_running_totals_named_arguments_and_errors(
    server: Server,  # noqa: F811
    client,
    demo_sid: str,  # noqa: F811
) -> None:
    sid = demo_sid
    page = client.get(f"/sessions/{sid}/replay").text
    assert page.count('class="step-link') == 6
    with Store.open(server.home) as store:
        session = store.get_session(sid)
    so_far = re.findall(r"So far: <b>([^<]+)</b>", page)
    assert len(so_far) == 6 and so_far[-1] == _format.cost(session.cost_usd)
    assert re.search(r"<th>date</th><td><pre[^>]*>2025-06-12</pre>", page)
    assert re.search(r"<th>duration_minutes</th><td><pre[^>]*>30</pre>", page)
    assert "✗ Failed: Error code: 500" in page
    assert " / tokens" not in page and "— ·" not in page


# --- sessions list -------------------------------------------------------------------------------
def test_a_bad_filter_keeps_the_form_and_says_what_to_fix(client) -> None:
    page = client.get("/", params={"min_cost": "abc", "model": "gpt-4o", "q": "refund"})
    assert page.status_code == 400
    assert (
        'id="filter-problem"' in page.text and "min cost &#39;abc&#39; is not a number" in page.text
    )
    assert 'name="min_cost" value="abc"' in page.text and 'name="model" value="gpt-4o"' in page.text
    bad_since = client.get("/", params={"since": "tomorrowish"})
    assert bad_since.status_code == 400 and 'name="q"' in bad_since.text


def test_filters_suggest_known_values_and_ignore_case(client, demo_sid: str) -> None:  # noqa: F811
    sid = demo_sid
    page = client.get("/").text
    models = re.search(r'<datalist id="known-models">(.*?)</datalist>', page)[1]
    agents = re.search(r'<datalist id="known-agents">(.*?)</datalist>', page)[1]
    tags = re.search(r'<datalist id="known-tags">(.*?)</datalist>', page)[1]
    assert '"gpt-4o-mini"' in models and '"gpt-4"' in models
    assert '"email-assistant"' in agents and '"scheduler"' in agents
    assert '"demo"' in tags
    for query in ({"model": "GPT-4O-MINI"}, {"agent": "Email-Assistant"}, {"tag": "DEMO"}):
        found = client.get("/", params=query).text
        assert f'data-url="/sessions/{sid}"' in found, query


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ('"duplicate payment"', True),  # a phrase
        ('"payment duplicate"', False),
        ("dupl*", True),  # a prefix
        ("zzqx OR duplicate", True),  # either
        ("zzqx OR qxzz", False),
        ("inbox-demo", True),  # the session's name
        ("SCHEDULER", True),  # an agent's name
    ],
)
def test_search_phrases_prefixes_or_and_names(client, demo_sid, query, found) -> None:  # noqa: F811
    sid = demo_sid
    page = client.get("/", params={"q": query})
    assert page.status_code == 200
    assert (f'data-url="/sessions/{sid}"' in page.text) is found


# --- the token -----------------------------------------------------------------------------------
def _serve(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTOPS_OTEL_TOKEN"))
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentops_otel.cli",
            "serve",
            "--port",
            "0",
            "--store",
            str(home),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, **(env or {})},
        cwd=ROOT,
    )


def _url_and_stop(process: subprocess.Popen[str], token: str) -> tuple[int, int, str]:
    """Status codes with and without the bearer token, and what the server wrote to stderr."""
    try:
        line = process.stdout.readline()
        url = "http://" + line.split("http://", 1)[1].split()[0]
        with_token = httpx.get(f"{url}/api/sessions", headers={"Authorization": f"Bearer {token}"})
        without = httpx.get(f"{url}/api/sessions")
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
    return with_token.status_code, without.status_code, err


def test_the_token_comes_from_a_file_or_the_environment_and_the_flag_warns(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    from_file = _serve(tmp_path / "a", "--token-file", str(token_file))
    assert "from-a-file" not in " ".join(from_file.args)  # not on the command line (ps)
    assert _url_and_stop(from_file, "from-a-file")[:2] == (200, 401)
    from_env = _serve(tmp_path / "b", env={"AGENTOPS_OTEL_TOKEN": "from-env"})
    ok, refused, err = _url_and_stop(from_env, "from-env")
    assert (ok, refused) == (200, 401) and "warning" not in err
    flag = _serve(tmp_path / "c", "--token", "on-the-line")
    ok, refused, err = _url_and_stop(flag, "on-the-line")
    assert (ok, refused) == (200, 401) and "--token is visible to other users" in err
    empty = tmp_path / "empty"
    empty.write_text("")
    refused_file = _serve(tmp_path / "d", "--token-file", str(empty))
    _, err = refused_file.communicate(timeout=60)
    assert refused_file.returncode != 0 and "is empty" in err


def test_a_foreign_root_span_shows_its_childrens_cost(server: Server, client) -> None:  # noqa: F811
    with Store.open(server.home) as store:
        (foreign,) = [s for s in store.list_sessions(limit=100) if s.name == "handle request"]
        (llm,) = [s for s in store.session_spans(foreign.id) if s.agentops_kind == "llm"]
    assert llm.cost_usd  # priced by the store from its tokens; the root has no roll-up
    rows = client.get(f"/api/sessions/{foreign.id}/rows").json()["rows"]
    assert [r["cost"] for r in rows] == [_format.cost(llm.cost_usd)] * 2  # the root, its call
