"""The dashboard over ClickHouse (in-process chDB) against the local SQLite store, same spans.

    .venv/bin/python benchmarks/bench_clickhouse.py [--sessions 100000] [--spans-per-session 10]
        [--json] [--repeat 5] [--home DIR] [--out benchmarks/results/clickhouse.txt]

1. The spans of ``bench_dashboard.py`` (same generator, same seed, 25 days) are generated once and
   written, batch by batch, into the local store through the real ``StoreWriter`` (batches of
   512, as the export worker writes them) and into the OpenTelemetry Collector
   ``clickhouseexporter``'s own table (Map mode; JSON mode too with ``--json``) through
   ``agentops_otel.testing.clickhouse.insert``, in batches of ``--ch-batch`` spans as a Collector
   batch processor would send them. Load rates count only the time spent in each sink.
2. Server time of each page (one untimed request, then the median and the slowest of
   ``--repeat``; the app in-process through Starlette's test client, no sockets) for: the local
   store; ClickHouse reading the spans table (sessions computed at read time); ClickHouse with
   the optional sessions view (``views_ddl``: table, materialized view, backfill; a new app, so
   the view is detected). Each store's timings start once the engine's background merges are
   done; the CPU other processes used meanwhile is reported.
3. The API's first sessions page, the page after it, both searches and the model filter of each
   ClickHouse variant are checked against the local store's: the same sessions, in the same
   order, with the same totals.

One chDB engine (one directory) serves the whole process: each variant is a database in it, and
the app opens its own clickhouse-connect client on the same path (``chdb:///DIR?database=NAME``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import clickhouse_connect
from opentelemetry.sdk.trace import ReadableSpan
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dashboard import BATCH, _batches, _next, request_times

from agentops_otel.dashboard import create_app
from agentops_otel.store import StoreWriter
from agentops_otel.store._clickhouse import ClickHouseStore, Location, views_ddl
from agentops_otel.testing.clickhouse import create_tables, insert

RESULTS = Path(__file__).resolve().parent / "results" / "clickhouse.txt"
# compared between the stores on the first sessions page (float totals rounded)
COMPARED = (
    "id",
    "start_ns",
    "end_ns",
    "end_state",
    "span_count",
    "llm_calls",
    "errors",
    "input_tokens",
    "output_tokens",
    "tags",
    "name",
    "service",
    "trace_id",
)

_lines: list[str] = []
others: dict[str, float] = {}  # CPU used by other processes while each store was timed


def _cpu() -> tuple[float, float, float]:
    """(machine busy CPU seconds, this process's CPU seconds, monotonic seconds)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    busy = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    own = os.times()
    return busy, own.user + own.system, time.monotonic()


def say(text: str = "") -> None:
    """Print a line of the report (and keep it for the results file)."""
    print(text, flush=True)
    _lines.append(text)


def note(text: str) -> None:
    """Progress on stderr, not in the report."""
    print(text, file=sys.stderr, flush=True)


class _Timed:
    """The client, with the time spent in ``insert`` (the engine's part of a load, without
    turning spans into the exporter's rows, which the Collector does in Go) counted."""

    def __init__(self, client: object) -> None:
        self.client, self.seconds = client, 0.0

    def insert(self, *args: object, **kwargs: object) -> None:
        began = time.perf_counter()
        self.client.insert(*args, **kwargs)  # type: ignore[attr-defined]
        self.seconds += time.perf_counter() - began


class Sink:
    """One destination of the generated spans, timing only its own work."""

    def __init__(
        self,
        label: str,
        write: Callable[[list[ReadableSpan]], None],
        every: int,
        timed: _Timed | None = None,
    ) -> None:
        self.label, self.write, self.every, self.timed = label, write, every, timed
        self.pending: list[ReadableSpan] = []
        self.spans, self.seconds = 0, 0.0

    def add(self, batch: list[ReadableSpan]) -> None:
        self.pending += batch
        if len(self.pending) >= self.every:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        began = time.perf_counter()
        self.write(self.pending)
        self.seconds += time.perf_counter() - began
        self.spans += len(self.pending)
        self.pending = []


def load(args: argparse.Namespace, home: Path, client: object, modes: list[str]) -> float:
    """Generate the spans once and write each batch to every sink; returns the 'now' used."""
    writer = StoreWriter(home / "traces.db")
    sinks = [Sink(f"local store (StoreWriter, batches of {BATCH})", writer.write, 1)]
    for mode in modes:
        create_tables(client, f"bench_{mode}", mode=mode)
        timed = _Timed(client)
        sinks.append(
            Sink(
                f"ClickHouse {mode} mode (exporter rows, batches of {args.ch_batch:,})",
                lambda spans, db=f"bench_{mode}", m=mode, t=timed: insert(t, db, spans, mode=m),
                args.ch_batch,
                timed,
            )
        )
    now = time.time_ns() - 3_600 * 10**9
    generated, gen_s, began = 0, 0.0, time.perf_counter()
    mark = time.perf_counter()
    for batch in _batches(args, now):
        gen_s += time.perf_counter() - mark
        for sink in sinks:
            sink.add(batch)
        generated += len(batch)
        if generated % 100_000 < BATCH:
            note(f"  ... {generated:,} spans, {time.perf_counter() - began:.0f} s")
        mark = time.perf_counter()
    for sink in sinks:
        sink.flush()
    writer.close()
    say(f"generated {generated:,} spans in {gen_s:.1f} s (not counted below)")
    say("load (time in each sink only):")
    for sink in sinks:
        say(f"  {sink.label:58s} {sink.spans / sink.seconds:>9,.0f} spans/s ({sink.seconds:.1f} s)")
        if sink.timed is not None:
            say(
                f"    {'of which client.insert (rows already built)':56s} "
                f"{sink.spans / sink.timed.seconds:>9,.0f} spans/s ({sink.timed.seconds:.1f} s)"
            )
    size = (home / "traces.db").stat().st_size / 2**20
    say(f"  local store file: {size:,.0f} MiB")
    for mode in modes:
        rows = client.query(  # type: ignore[attr-defined]
            "SELECT sum(bytes_on_disk), count(), sum(rows) FROM system.parts WHERE active "
            "AND database = {db:String} AND table = 'otel_traces'",
            parameters={"db": f"bench_{mode}"},
        ).result_rows[0]
        say(
            f"  ClickHouse {mode} table: {rows[0] / 2**20:,.0f} MiB on disk, {rows[1]} active "
            f"parts, {rows[2]:,} rows"
        )
    return now


def _ms(client: TestClient, url: str, repeat: int) -> list[float]:
    """Server times of ``url`` in ms (after one untimed request: caches and first-query work
    are the same for every store)."""
    client.get(url)
    return request_times(client, url, repeat)


def _rare(args: argparse.Namespace) -> str:
    """A word in one LLM span of one session (the prompt's ``ticket-N-I``)."""
    return f"ticket-{args.sessions // 3}-{max(args.spans_per_session - 3, 0)}"


def pages(args: argparse.Namespace) -> list[tuple[str, Callable[[TestClient], str]]]:
    middle = f"s{args.sessions // 2:07d}"  # a session of --spans-per-session spans
    rare = _rare(args)
    return [
        ("sessions page", lambda c: "/"),
        ("next page", lambda c: _next(c, "/")),
        ("changes poll", lambda c: "/api/changes"),
        ("search, common words", lambda c: "/?q=refund+invoice"),
        (f"search, rare ({rare})", lambda c: f"/?q={rare}"),
        ("model filter", lambda c: "/?model=gpt-4o"),
        (f"session page ({args.spans_per_session} spans)", lambda c: f"/sessions/{middle}"),
        ("overview 7d", lambda c: "/overview?range=7d"),
    ]


def measure(
    label: str, app: object, args: argparse.Namespace, results: dict[str, dict[str, list[float]]]
) -> dict[str, list[dict]]:
    """Server times of every page; returns the API's answer (the sessions as JSON) for each
    list in :data:`CHECKS` and for the page after the first."""
    note(f"measuring: {label}")
    before = _cpu()
    with TestClient(app, base_url="http://127.0.0.1") as client:  # type: ignore[arg-type]
        column = results.setdefault(label, {})
        for name, target in pages(args):
            column[name] = _ms(client, target(client), args.repeat)
            note(
                f"  {name:34s} {statistics.median(column[name]):9.1f} ms "
                f"(max {max(column[name]):.1f})"
            )
        after = _cpu()
        others[label] = max(
            0.0, ((after[0] - before[0]) - (after[1] - before[1])) / (after[2] - before[2])
        )
        answers = {name: client.get(url).json() for name, url in checks(args)}
        last = answers["first page"][-1]
        answers["next page"] = client.get(
            f"/api/sessions?before={last['start_ns']}:{last['id']}"
        ).json()
        return answers


def checks(args: argparse.Namespace) -> list[tuple[str, str]]:
    return [
        ("first page", "/api/sessions"),
        ("search, common words", "/api/sessions?q=refund+invoice"),
        ("search, rare", f"/api/sessions?q={_rare(args)}"),
        ("model filter", "/api/sessions?model=gpt-4o"),
    ]


def settle(client: object, label: str) -> None:
    """Wait for the engine's background merges to finish, so they do not run during the
    timings (the two cores are shared)."""
    began = time.perf_counter()
    while time.perf_counter() - began < 600:
        merges = client.query(  # type: ignore[attr-defined]
            "SELECT count() FROM system.merges"
        ).result_rows[0][0]
        if not merges:
            break
        time.sleep(1)
    waited = time.perf_counter() - began
    if waited > 1:
        say(f"waited {waited:.0f} s for background merges before: {label}")


def _summary(rows: list[dict]) -> list[tuple]:
    return [
        (
            *(r[k] if not isinstance(r[k], list) else tuple(r[k]) for k in COMPARED),
            round(r["cost_usd"], 9),
        )
        for r in rows
    ]


def agree(label: str, local: dict[str, list[dict]], other: dict[str, list[dict]]) -> None:
    for name, rows in local.items():
        same_ids = [r["id"] for r in rows] == [r["id"] for r in other[name]]
        same_all = _summary(rows) == _summary(other[name])
        say(
            f"same {name}, {label}: {'yes' if same_ids else 'no'} "
            f"({len(other[name])} sessions, local {len(rows)}); "
            f"totals {'agree' if same_all else 'DIFFER'}"
        )
        if not same_all:
            for a, b in zip(_summary(rows), _summary(other[name]), strict=False):
                if a != b:
                    say(f"    local      {a}")
                    say(f"    clickhouse {b}")
                    break


def machine(client: object) -> None:
    version = client.query("SELECT version()").result_rows[0][0]  # type: ignore[attr-defined]
    import chdb

    say(
        f"machine: nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"chdb {chdb.__version__} (ClickHouse {version}), "
        f"clickhouse-connect {clickhouse_connect.__version__}, SQLite {sqlite3.sqlite_version}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--spans-per-session", type=int, default=10)
    parser.add_argument(
        "--ch-batch",
        type=int,
        default=50_000,
        help="spans per ClickHouse insert (a Collector batch)",
    )
    parser.add_argument("--json", action="store_true", help="also the exporter's JSON mode")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page")
    parser.add_argument("--home", type=Path, help="directory for the stores (default: a temp)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    began = time.perf_counter()
    home = (args.home or Path(tempfile.mkdtemp(prefix="bench-clickhouse-"))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    if (home / "traces.db").exists() or (home / "chdb").exists():
        raise SystemExit(f"{home} already holds stores; give an empty --home")
    engine = f"chdb://{home / 'chdb'}"  # chdb:///abs/dir
    client = clickhouse_connect.get_client(dsn=engine)
    modes = ["map", "json"] if args.json else ["map"]

    say(
        f"bench_clickhouse: {args.sessions:,} sessions x {args.spans_per_session} spans = "
        f"{args.sessions * args.spans_per_session:,} spans over 25 days"
    )
    machine(client)
    load(args, home, client, modes)

    results: dict[str, dict[str, list[float]]] = {}
    settle(client, "local (SQLite)")
    local = measure("local (SQLite)", create_app(home), args, results)
    for mode in modes:
        db = f"bench_{mode}"
        url = f"{engine}?database={db}"
        settle(client, f"CH {mode}")
        answers = measure(f"CH {mode}", create_app(url), args, results)
        agree(f"CH {mode} (no view) vs local", local, answers)
        store = ClickHouseStore(client, Location.parse(url))
        for n, statement in enumerate(views_ddl(store)):
            t0 = time.perf_counter()
            client.command(statement)
            if n == 2:
                say(f"sessions view backfill, {mode} mode: {time.perf_counter() - t0:.1f} s")
        app = create_app(url)
        assert app.state.dashboard.reader.has_view, "the sessions view was not detected"
        settle(client, f"CH {mode} + view")
        answers = measure(f"CH {mode} + view", app, args, results)
        agree(f"CH {mode} + view vs local", local, answers)

    say()
    for title, pick in (
        (f"server time, median of {args.repeat} requests", statistics.median),
        (f"server time, slowest of the {args.repeat}", max),
    ):
        say(f"{title}, in-process (ms):")
        labels = list(results)
        width = max(len(name) for name, _ in pages(args))
        say(f"  {'page':{width}s} " + " ".join(f"{label:>16s}" for label in labels))
        for name, _ in pages(args):
            say(
                f"  {name:{width}s} "
                + " ".join(f"{pick(results[label][name]):16,.1f}" for label in labels)
            )
        say(
            f"  {'(other processes, CPU cores)':{width}s} "
            + " ".join(f"{others[label]:16.2f}" for label in labels)
        )
        say()
    wall = time.perf_counter() - began
    say(f"wall time of the run: {wall / 60:.1f} min; stores in {home}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(_lines) + "\n")
    note(f"written: {args.out}")


if __name__ == "__main__":
    main()
