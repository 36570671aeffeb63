"""Dashboard timings at scale: store ingest rate, page server times, and the session page of a
2,000-span and a 20,000-span session in headless Chromium.

    .venv/bin/python benchmarks/bench_dashboard.py [--sessions 100000] [--spans-per-session 10]
        [--big-session 2000] [--huge-session 20000] [--no-browser]

1. A store is filled through the real ``StoreWriter`` (batches of 512, as the export worker
   writes them; every LLM span carries a prompt, so the text index and the hourly roll-up are
   maintained as in use): ``--sessions`` x ``--spans-per-session`` spans spread over 25 days.
2. A 2,000-span and a 20,000-span session and a batch of ordinary ones are sent as
   OTLP/protobuf to the app.
3. Server time of each page: the app in-process through Starlette's test client (no sockets),
   the median of several requests.
4. Headless Chromium (Debian's /usr/bin/chromium through Playwright) against the real server,
   for each big session: interactive (navigation until the first rows are painted with their
   handlers), bytes received before the user scrolls, collapse all / expand all / folding one
   agent (the page's script alone, the next frame, and until no placeholder is left), with the
   requests each made, and scrolling: a jump to a place not loaded yet (next frame, then rows
   filled in) and a small scroll inside what is loaded (next frame). The load average is
   printed at the start and the end (the timings are wall clock in the browser).

Targets (issue 17): sessions page and each next page < 50 ms of server time at 1M spans;
2,000-span session interactive < 500 ms, 20,000-span session < 2 s; expand / collapse and
scroll frames < 50 ms; a 20,000-span session's page < 1 MB before the user scrolls.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from starlette.testclient import TestClient

from agentops_otel import semconv as A
from agentops_otel.dashboard import create_app
from agentops_otel.store import StoreWriter
from agentops_otel.testing.chromium import CHROMIUM, CHROMIUM_ARGS

MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5")
AGENTS = ("planner", "researcher", "writer", "critic")
WORDS = (
    "refund",
    "invoice",
    "shipping",
    "weather",
    "summary",
    "email",
    "calendar",
    "budget",
    "contract",
    "deadline",
    "customer",
    "report",
    "travel",
    "python",
    "database",
    "login",
)
RESOURCE = Resource({"service.name": "bench"})
SCOPE = InstrumentationScope("bench")
BATCH = 512
DAY_NS = 86_400 * 10**9


def _span(
    trace_id: int,
    span_id: int,
    parent: int | None,
    name: str,
    start: int,
    end: int,
    attrs: dict,
    error: bool = False,
) -> ReadableSpan:
    def ctx(sid: int) -> SpanContext:
        return SpanContext(trace_id, sid, False, TraceFlags(1))

    return ReadableSpan(
        name,
        ctx(span_id),
        ctx(parent) if parent else None,
        resource=RESOURCE,
        attributes=attrs,
        kind=SpanKind.CLIENT if A.GEN_AI_OPERATION_NAME in attrs else SpanKind.INTERNAL,
        status=Status(StatusCode.ERROR if error else StatusCode.UNSET),
        start_time=start,
        end_time=end,
        instrumentation_scope=SCOPE,
    )


def session_spans(
    rng: random.Random, number: int, sid: str, spans: int, start: int
) -> list[ReadableSpan]:
    """A session: root, one agent, ``spans - 2`` LLM calls with prompts and completions."""
    trace_id, base = number + 1, (number + 1) << 20
    calls = max(spans - 2, 0)
    step = 400 * 10**6
    end = start + (calls + 1) * step
    agent = rng.choice(AGENTS)
    out = [
        _span(
            trace_id,
            base + 2,
            base + 1,
            f"invoke_agent {agent}",
            start + 1,
            end - 1,
            {A.SESSION_ID: sid, A.SPAN_KIND: A.KIND_AGENT, A.AGENT_NAME: agent},
        )
    ]
    for i in range(calls):
        begin = start + (i + 1) * step
        prompt = " ".join(rng.choices(WORDS, k=25)) + f" ticket-{number}-{i}"
        out.append(
            _span(
                trace_id,
                base + 3 + i,
                base + 2,
                "chat",
                begin,
                begin + step // 2,
                {
                    A.SESSION_ID: sid,
                    A.SPAN_KIND: A.KIND_LLM,
                    A.AGENT_NAME: agent,
                    A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                    A.GEN_AI_PROVIDER_NAME: "openai",
                    A.GEN_AI_REQUEST_MODEL: rng.choice(MODELS),
                    A.GEN_AI_USAGE_INPUT_TOKENS: 500,
                    A.GEN_AI_USAGE_OUTPUT_TOKENS: 50,
                    A.GEN_AI_INPUT_MESSAGES: json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": prompt}]}]
                    ),
                    A.GEN_AI_OUTPUT_MESSAGES: json.dumps(
                        [
                            {
                                "role": "assistant",
                                "parts": [{"type": "text", "content": "done " + prompt}],
                            }
                        ]
                    ),
                },
                error=rng.random() < 0.01,
            )
        )
    out.append(
        _span(
            trace_id,
            base + 1,
            None,
            "session",
            start,
            end,
            {
                A.SESSION_ID: sid,
                A.SPAN_KIND: A.KIND_SESSION,
                A.SESSION_TAGS: ("bench",),
                A.SESSION_END_STATE: "Success",
            },
        )
    )
    return out


def _batches(args: argparse.Namespace, now: int) -> Iterator[list[ReadableSpan]]:
    rng = random.Random(7)
    spread = 25 * DAY_NS // max(args.sessions, 1)
    pending: list[ReadableSpan] = []
    for n in range(args.sessions):
        start = now - 25 * DAY_NS + n * spread
        pending += session_spans(rng, n, f"s{n:07d}", args.spans_per_session, start)
        while len(pending) >= BATCH:
            yield pending[:BATCH]
            pending = pending[BATCH:]
    if pending:
        yield pending


def fill_store(home: Path, args: argparse.Namespace) -> None:
    writer = StoreWriter(home / "traces.db")
    total, began = 0, time.perf_counter()
    for batch in _batches(args, time.time_ns() - 3_600 * 10**9):
        total += writer.write(batch)
        if total % 100_000 < BATCH:
            rate = total / (time.perf_counter() - began)
            print(f"  ... {total:,} spans ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    took = time.perf_counter() - began
    writer.close()
    size = (home / "traces.db").stat().st_size / 2**20
    print(
        f"store ingest (StoreWriter, batches of {BATCH}, text index + roll-ups): "
        f"{total:,} spans in {took:.1f} s = {total / took:,.0f} spans/s; file {size:,.0f} MiB"
    )


def _post(client: TestClient, spans: list[ReadableSpan]) -> None:
    response = client.post(
        "/v1/traces",
        content=encode_spans(spans).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 200, response.text


def otlp_ingest(client: TestClient, big: int, huge: int) -> None:
    rng = random.Random(11)
    now = time.time_ns() - 600 * 10**9
    for number, sid, count in ((10_000_000, "big", big), (9_000_000, "huge", huge)):
        spans = session_spans(rng, number, sid, count, now)
        for i in range(0, len(spans), 4 * BATCH):
            _post(client, spans[i : i + 4 * BATCH])
    spans = [
        s
        for n in range(2_000)
        for s in session_spans(rng, 10_000_001 + n, f"otlp-{n}", 10, now + n * 10**6)
    ]
    began = time.perf_counter()
    for i in range(0, len(spans), BATCH):
        _post(client, spans[i : i + BATCH])
    took = time.perf_counter() - began
    print(
        f"OTLP/protobuf ingest through the app: {len(spans):,} spans in {took:.2f} s = "
        f"{len(spans) / took:,.0f} spans/s"
    )


def request_times(client: TestClient, url: str, repeat: int) -> list[float]:
    """Server times of ``repeat`` requests for ``url``, in ms (each must answer 200)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return times


def _ms(client: TestClient, url: str, repeat: int = 7) -> float:
    return statistics.median(request_times(client, url, repeat))


def _next(client: TestClient, url: str) -> str:
    found = re.search(r'href="([^"]+)" class="next"', client.get(url).text)
    assert found, f"no next page after {url}"
    return found[1].replace("&amp;", "&")


def server_times(client: TestClient, home: Path) -> None:
    print("server time (median, in-process):")
    rows = [("sessions page", "/")]
    url = "/"
    for depth in range(1, 4):
        url = _next(client, url)
        rows.append((f"next page #{depth}", url))
    conn = sqlite3.connect(home / "traces.db")
    try:  # the cursor 100 sessions from the oldest end: paging must not scan to get there
        start, ident = conn.execute(
            "SELECT start_ns, id FROM sessions ORDER BY start_ns, id LIMIT 1 OFFSET 100"
        ).fetchone()
    finally:
        conn.close()
    rows.append(("a page near the oldest", f"/?before={start}:{ident}"))
    rows += [
        ("search, rare word", "/?q=ticket-123-4"),
        ("search, common words", "/?q=refund+invoice"),
        ("search, next page", _next(client, "/?q=refund+invoice")),
        # ~11% of sessions (ticket-2, -2x, -2xx, ...), none among the newest 70%: the worst case
        ("search, common but only old", "/?q=ticket-2"),
        ("tag filter", "/?tag=bench"),
        ("state filter", "/?state=Success"),
        ("model filter", "/?model=gpt-4o"),
        ("changes poll", "/api/changes"),
        ("2,000-span session page", "/sessions/big"),
        ("2,000-span session, shape", "/api/sessions/big/shape"),
        ("20,000-span session page", "/sessions/huge"),
        ("20,000-span session, shape", "/api/sessions/huge/shape"),
        ("20,000-span, 200 rows by index", "/api/sessions/huge/rows?at=19800-19999"),
        ("20,000-span, errors matched", "/api/sessions/huge/match?errors=1"),
        ("20,000-span, text matched", "/api/sessions/huge/match?q=ticket-9000000-77"),
        ("span detail", "/sessions/big/spans/" + _first_llm(client)),
        ("overview 24h", "/overview?range=24h"),
        ("overview 30d", "/overview?range=30d"),
        ('search, phrase "a b"', '/?q="refund invoice"'),
        ("search, prefix", "/?q=refu*"),
        ("search, a OR b", "/?q=ticket-123-4+OR+ticket-55-1"),
        ("model filter, any case", "/?model=GPT-4O"),
        ("money of one session", "/sessions/big/money"),
        ("money 24h (<= 500 sessions)", "/money?range=24h"),
        ("compare two sessions", "/compare?a=big&b=" + _first_id(client)),
    ]
    for label, target in rows:
        repeat = 3 if "session page" in label or "overview" in label else 7
        print(f"  {label:28s} {_ms(client, target, repeat):8.1f} ms")


def _first_id(client: TestClient) -> str:
    return client.get("/api/sessions").json()[0]["id"]


def _first_llm(client: TestClient) -> str:
    rows = client.get("/api/sessions/big/rows").json()["rows"]
    return next(r["id"] for r in rows if r["kind"] == "llm")


def _start_server(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "agentops_otel.cli", "serve", "--port", "0", "--store", str(home)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(120)
    if not first or "http://" not in first[0]:
        process.kill()
        raise SystemExit(f"serve did not start: {first}")
    return process, "http://" + first[0].split("http://", 1)[1].split()[0]


ROWS = "#tree-body .span-row[data-span]"
# Run an action on the session page: ms until the action's handler returned (the page's
# script), until the next frame, and until no placeholder row is left (rows the page did not
# hold fetched and painted; null if they did not come within 2 s).
_ACTION_MS = """async ([action, arg]) => {
  const tree = document.getElementById("tree");
  const body = document.getElementById("tree-body");
  const ONCE = { once: true };
  const frame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  const started = performance.now();
  if (action === "click") document.getElementById(arg).click();
  else if (action === "toggle") body.querySelectorAll(".span-row .toggle")[arg].click();
  else body.scrollTop = arg;
  const script = performance.now() - started;
  await frame();
  const painted = performance.now() - started;
  while (body.querySelector(".span-row.loading")) {
    const loaded = new Promise((done) => tree.addEventListener("rows:loaded", done, ONCE));
    const timeout = new Promise((done) => setTimeout(() => done("timeout"), 2000));
    if (await Promise.race([loaded, timeout]) === "timeout") return [script, painted, null];
    await frame();
  }
  return [script, painted, performance.now() - started];
}"""


def _session_in_browser(page, url: str, spans: int) -> dict[str, list[float]]:
    """One visit to a big session's page and the actions on it, timed."""
    received: list = []

    def keep(response) -> None:
        received.append(response)

    page.on("response", keep)
    began = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.locator(ROWS).first.wait_for()
    ready = (time.perf_counter() - began) * 1000
    weight = sum(len(r.body()) for r in received if r.ok)
    page.remove_listener("response", keep)
    shown = page.locator("#shown-count").inner_text()
    assert shown == str(spans), (shown, spans)
    in_dom = page.locator("#tree-body .span-row").count()
    times: dict[str, list[float]] = {"ready": [ready], "weight": [weight], "dom": [in_dom]}
    asked: list[str] = []  # requests to the session API during the actions
    page.on("request", lambda r: asked.append(r.url) if "/api/sessions/" in r.url else None)
    for _ in range(3):
        for name, action, arg in (
            ("collapse all", "click", "collapse-all"),
            ("expand all", "click", "expand-all"),
            ("fold the agent", "toggle", 1),
            ("unfold the agent", "toggle", 1),
        ):
            before = len(asked)
            script, painted, filled = page.evaluate(_ACTION_MS, [action, arg])
            times.setdefault(f"{name}: script", []).append(script)
            times.setdefault(f"{name}: next frame", []).append(painted)
            times.setdefault(f"{name}: rows painted", []).append(filled)
            times.setdefault(f"{name}: requests", []).append(len(asked) - before)
        rng = random.Random(5)
        for _ in range(5):
            _, frame, filled = page.evaluate(_ACTION_MS, ["scroll", rng.randrange(spans) * 26])
            times.setdefault("scroll jump: next frame", []).append(frame)
            if filled is not None:
                times.setdefault("scroll jump: rows filled", []).append(filled)
            top = page.evaluate("document.getElementById('tree-body').scrollTop")
            small = page.evaluate(_ACTION_MS, ["scroll", top + 3 * 26])[1]
            times.setdefault("small scroll: next frame", []).append(small)
    return times


def browser_times(home: Path, sizes: dict[str, int]) -> None:
    from playwright.sync_api import sync_playwright

    process, url = _start_server(home)
    results: dict[str, dict[str, list[float]]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for sid, spans in sizes.items():
                runs: dict[str, list[float]] = {}
                for visit in range(3):  # a fresh page (no cache) each time
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    page = context.new_page()
                    began = time.perf_counter()
                    page.goto(f"{url}/sessions/{sid}", wait_until="commit")
                    page.locator(ROWS).first.wait_for()
                    if visit == 0:  # the server loads the spans and builds the tree
                        runs["cold"] = [(time.perf_counter() - began) * 1000]
                    timed = _session_in_browser(page, f"{url}/sessions/{sid}", spans)
                    for key, values in timed.items():
                        runs.setdefault(key, []).extend(values)
                    context.close()
                results[sid] = runs
            browser.close()
    finally:
        process.terminate()
        process.wait(15)
    for sid, runs in results.items():
        print(f"headless Chromium, {sizes[sid]:,}-span session (median; max):")
        print(f"  first visit, server builds the tree  {runs['cold'][0]:8.1f} ms")
        print(f"  interactive (navigation to rows painted) {_stat(runs['ready'])} ms")
        print(f"  bytes received before scrolling  {statistics.median(runs['weight']):12,.0f}")
        print(f"  rows in the DOM                  {statistics.median(runs['dom']):12,.0f}")
        for key, values in runs.items():
            if key.endswith("requests"):
                print(f"  {key:32s} {max(values):8d} at most")
            elif key not in ("ready", "weight", "dom", "cold"):
                print(f"  {key:32s} {_stat(values)} ms")


def _stat(values: list[float | None]) -> str:
    """Median; max (``timeout`` when the rows of some run never came)."""
    if None in values:
        return f"{'timeout':>8s} in {values.count(None)} of {len(values)}"
    return f"{statistics.median(values):8.1f}; {max(values):8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--spans-per-session", type=int, default=10)
    parser.add_argument("--big-session", type=int, default=2000)
    parser.add_argument("--huge-session", type=int, default=20000)
    parser.add_argument("--home", type=Path, help="reuse (or keep) the store in this directory")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}")
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "traces.db").exists():
        fill_store(home, args)
    with TestClient(create_app(home), base_url="http://127.0.0.1") as client:
        if "big" not in client.get("/api/sessions?q=ticket-10000000-0").text:
            otlp_ingest(client, args.big_session, args.huge_session)
        server_times(client, home)
    if not args.no_browser:
        browser_times(home, {"big": args.big_session, "huge": args.huge_session})
    print(f"load average at the end: {os.getloadavg()}")
    print(f"store: {home}")


if __name__ == "__main__":
    main()
