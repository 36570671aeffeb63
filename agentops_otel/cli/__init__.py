"""``agentops-otel``: look at what your agents did, from the local store.

Commands: ``demo`` (an offline multi-agent run, then its tree), ``sessions``, ``show``,
``replay``, ``export``, ``serve`` (the web dashboard, the ``dashboard`` extra) and ``doctor``.
Rendering uses rich (a dependency), imported only by the commands that draw; a missing or corrupt
store, an empty one or an unknown session id gets a one-line message and exit status 1, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentops_otel.view._time import parse_since

if TYPE_CHECKING:
    from rich.console import Console

    from agentops_otel.store import SessionRow, SpanRow, StoreReader

PROG = "agentops-otel"
_RICH_MISSING = (
    "the agentops-otel viewer needs the 'rich' package (a dependency of agentops-otel-distro; "
    "was it installed with --no-deps?): pip install rich"
)
_DASHBOARD_MISSING = (
    "the dashboard needs Starlette, uvicorn and Jinja2: "
    "pip install 'agentops-otel-distro[dashboard]'"
)
_OPENAI_MISSING = (
    "the demo drives the real openai SDK against a local fake server (no API key, no network); "
    "install it first: pip install openai"
)


class CLIError(Exception):
    """A failure to report in one line with exit status 1."""


def _since(text: str) -> datetime:
    """argparse's view of :func:`parse_since`: its message as a usage error."""
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        metavar="PATH|URL",
        help="the store file or its directory (default: $AGENTOPS_OTEL_HOME, else the "
        "per-user data directory), or ClickHouse written by an OpenTelemetry Collector: "
        "clickhouse://user:password@host:8123/DATABASE?table=TABLE or http(s)://host:8123",
    )
    common.add_argument(
        "--clickhouse-database",
        metavar="NAME",
        help="with a ClickHouse --store: the database (default: from the URL, else 'default')",
    )
    common.add_argument(
        "--clickhouse-table",
        metavar="NAME",
        help="with a ClickHouse --store: the traces table (default: from the "
        "URL, else 'otel_traces')",
    )
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Observability for AI agents: sessions, agents, LLM calls "
        "and costs from the local store (or a team's ClickHouse).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser(
        "demo",
        parents=[common],
        help="run an offline multi-agent example and show its tree",
        description="Run an inbox assistant (three agents, a tool call and a failing call) "
        "against the built-in fake LLM server, then show the recorded session.",
    )

    sessions = commands.add_parser("sessions", parents=[common], help="list recent sessions")
    sessions.add_argument("-n", "--limit", type=int, default=20, help="at most N (default 20)")
    sessions.add_argument("--tag", help="only sessions with this tag")
    sessions.add_argument(
        "--state",
        metavar="STATE",
        help="only this end state: Success, Fail, Indeterminate or running",
    )
    sessions.add_argument(
        "--since",
        type=_since,
        metavar="WHEN",
        help="started within 30m / 2h / 7d, or since a date (2025-06-01)",
    )
    sessions.add_argument("--json", action="store_true", help="print JSON instead of a table")

    session_help = "a session id or any unique prefix of it (default: the latest session)"
    show = commands.add_parser(
        "show", parents=[common], help="the agent / operation / LLM-call tree of a session"
    )
    show.add_argument("session", nargs="?", metavar="SESSION", help=session_help)

    replay = commands.add_parser(
        "replay",
        parents=[common],
        help="step through a session's prompts, completions and tool calls",
    )
    replay.add_argument("session", nargs="?", metavar="SESSION", help=session_help)
    replay.add_argument(
        "--no-interactive",
        action="store_true",
        help="print every step at once (the default when not in a terminal)",
    )

    run = commands.add_parser(
        "run",
        help="run a program under opentelemetry-instrument with agentops-otel",
        description="Run COMMAND with no code change: selects our OpenTelemetry distro and "
        "configurator and passes these settings on as AGENTOPS_* variables.",
    )
    run.add_argument("--session-name", help="name of the session the program runs in")
    run.add_argument("--tag", action="append", default=[], help="a session tag (repeatable)")
    run.add_argument("--max-cost", type=float, metavar="USD", help="the session's budget")
    run.add_argument(
        "--no-content", action="store_true", help="don't capture prompts, completions or arguments"
    )
    run.add_argument("program", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")

    export = commands.add_parser(
        "export", parents=[common], help="write a session in a form OpenTelemetry tools read"
    )
    export.add_argument("session", metavar="SESSION", help=session_help.split(" (")[0])
    export.add_argument(
        "--format",
        choices=["otlp-json"],
        default="otlp-json",
        help="otlp-json: an OTLP ExportTraceServiceRequest as JSON",
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="the web dashboard, and an OTLP/HTTP endpoint into the store",
        description="Serve the local dashboard (sessions, trees, waterfalls, replay, costs) and "
        "accept OTLP/HTTP (protobuf or JSON): traces at POST /v1/traces, logs at "
        "/v1/logs (content events, shown on their span), metrics at /v1/metrics "
        "(accepted and dropped: the numbers shown come from the spans).",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    serve.add_argument("--port", type=int, default=7007, help="port (default 7007; 0: any free)")
    serve.add_argument(
        "--token-file",
        metavar="FILE",
        help="require the bearer token in FILE for ingest and pages (default: "
        "$AGENTOPS_OTEL_TOKEN; none)",
    )
    serve.add_argument(
        "--token",
        help="the token itself (discouraged: other users of this machine see it in `ps`; use "
        "$AGENTOPS_OTEL_TOKEN or --token-file)",
    )
    commands.add_parser(
        "doctor",
        help="which libraries are traced, where spans go and where each setting came from",
        description="Report the installed libraries we cover and their instrumentors (missing "
        "ones, versions outside the tested range), the active destinations, the "
        "settings from AGENTOPS_* / OTEL_* variables, and the local store's path "
        "and size.",
    )
    clickhouse = commands.add_parser(
        "clickhouse",
        help="optional ClickHouse schema for the dashboard",
        description="Optional DDL a team applies to the ClickHouse that its Collector writes.",
    )
    ch_commands = clickhouse.add_subparsers(
        dest="clickhouse_command", metavar="COMMAND", required=True
    )
    views = ch_commands.add_parser(
        "views",
        parents=[common],
        help="print (or apply) the sessions materialized view the dashboard uses when present",
        description="Print the sessions view's DDL: an AggregatingMergeTree table filled by a "
        "materialized view on every insert, and a backfill of the spans already "
        "stored. The dashboard reads it when it exists and groups spans otherwise.",
    )
    views.add_argument(
        "--apply", action="store_true", help="run the statements instead of printing them"
    )
    views.add_argument(
        "--cluster", metavar="NAME", help="create on every node: ON CLUSTER NAME, replicated engine"
    )
    return parser


# --- helpers -------------------------------------------------------------------------------------
def _console() -> Console:
    try:
        from rich.console import Console
    except ImportError:
        raise CLIError(_RICH_MISSING) from None
    return Console()


def _open_store(args: argparse.Namespace) -> StoreReader:
    from agentops_otel.store import open_reader

    return open_reader(args.store, database=args.clickhouse_database, table=args.clickhouse_table)


def _load(store: StoreReader, prefix: str | None) -> tuple[SessionRow, list[SpanRow]]:
    """The session a prefix names (the newest when ``None``) and its spans."""
    if prefix is None:
        latest = store.list_sessions(limit=1)
        if not latest:
            raise CLIError(_empty_message(store))
        session: SessionRow | None = latest[0]
    else:
        session = store.get_session(store.resolve_session(prefix))
    if session is None:  # deleted between the two reads
        raise CLIError(f"session {prefix!r} is no longer in the store")
    return session, store.session_spans(session.id)


def _empty_message(store: StoreReader) -> str:
    return (
        f"no sessions in the store at {store.location}; record one with "
        f"agentops_otel.init() in your app, or run `{PROG} demo`"
    )


def _session_json(s: SessionRow) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "tags": list(s.tags),
        "service": s.service,
        "trace_id": s.trace_id,
        "start": datetime.fromtimestamp(s.start_ns / 1e9).astimezone().isoformat()
        if s.start_ns
        else None,
        "duration_ms": s.duration_ms,
        "running": s.running,
        "end_state": s.end_state,
        "end_reason": s.end_reason,
        "llm_calls": s.llm_calls,
        "input_tokens": s.input_tokens,
        "output_tokens": s.output_tokens,
        "cost_usd": s.cost_usd,
        "errors": s.errors,
        "span_count": s.span_count,
        "loop_detected": s.loop_detected,
        "budget_exceeded": s.budget_exceeded,
    }


# --- commands ------------------------------------------------------------------------------------
def _cmd_sessions(args: argparse.Namespace) -> None:
    console = None if args.json else _console()
    with _open_store(args) as store:
        rows = store.list_sessions(
            limit=args.limit, tag=args.tag, end_state=args.state, since=args.since
        )
        filtered = args.tag or args.state or args.since
        if not rows:
            raise CLIError("no sessions match those filters" if filtered else _empty_message(store))
    if args.json:
        print(json.dumps([_session_json(s) for s in rows], indent=2))
        return
    from agentops_otel.cli._render import sessions_table

    assert console is not None
    console.print(sessions_table(rows, console.width))
    console.print(
        f"Show one: {PROG} show ID   ·   step through it: {PROG} replay ID",
        style="dim",
        highlight=False,
    )


def _cmd_show(args: argparse.Namespace) -> None:
    console = _console()
    with _open_store(args) as store:
        session, spans = _load(store, args.session)
    from agentops_otel.cli._render import session_view

    console.print(session_view(session, spans))


def _cmd_replay(args: argparse.Namespace) -> None:
    console = _console()
    with _open_store(args) as store:
        session, spans = _load(store, args.session)
    from agentops_otel.cli import _replay
    from agentops_otel.view._model import replay_steps

    steps = replay_steps(spans)
    if not steps:
        raise CLIError(f"session {session.id[:8]} has no LLM or tool calls to replay")
    if not args.no_interactive and _replay.can_interact():
        _replay.interact(console, steps)
    else:
        _replay.print_all(console, steps)


def _cmd_export(args: argparse.Namespace) -> None:
    from agentops_otel._otlp_codec import encode_json

    with _open_store(args) as store:
        _, spans = _load(store, args.session)
    text = json.dumps(encode_json(spans), indent=2)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as out:
                out.write(text + "\n")
        except OSError as exc:
            raise CLIError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {len(spans)} spans to {args.output}", file=sys.stderr)
    else:
        print(text)


def _cmd_demo(args: argparse.Namespace) -> None:
    from agentops_otel.store import is_clickhouse

    if is_clickhouse(args.store):
        raise CLIError("the demo records into a local store: give --store a path")
    console = _console()
    try:
        import openai  # noqa: F401
    except ImportError:
        raise CLIError(_OPENAI_MISSING) from None
    from agentops_otel.cli import _demo
    from agentops_otel.cli._render import session_view
    from agentops_otel.view._model import short_id

    console.print(
        "[bold]agentops-otel demo[/]: an inbox assistant with three agents, run "
        "offline against the built-in fake LLM server through the real openai SDK.\n"
    )
    result = _demo.run(args.store)
    with _open_store(args) as store:
        session = store.get_session(result.session_id)
        if session is None:
            raise CLIError(f"the demo's session did not reach the local store at {store.location}")
        spans = store.session_spans(session.id)
        path = store.location
    console.print(
        f"  [green]✓[/] email-assistant classified the email as "
        f"[bold]{result.category}[/] and drafted a reply"
    )
    console.print(f"  [green]✓[/] scheduler: {result.booking}")
    console.print(
        f"  [red]✗[/] summarizer failed (caught, recorded as an error): {result.error}\n",
        highlight=False,
    )
    console.print(
        f"Recorded in the local store at {path}; read back from there:\n",
        style="dim",
        highlight=False,
    )
    console.print(session_view(session, spans))
    ident = short_id(session.id)
    console.print(f"\nShow it again:      [bold]{PROG} show {ident}[/]")
    console.print(f"Step through it:    [bold]{PROG} replay {ident}[/]")
    console.print(f"All sessions:       [bold]{PROG} sessions[/]", highlight=False)


def _serve_token(args: argparse.Namespace) -> str | None:
    """The dashboard's token: from --token-file, else $AGENTOPS_OTEL_TOKEN, else --token (which
    still works, with a warning: a command line is visible to every user of the machine)."""
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as file:
                token = file.read().strip()
        except OSError as exc:
            raise CLIError(f"cannot read --token-file {args.token_file}: {exc.strerror}") from None
        if not token:
            raise CLIError(f"--token-file {args.token_file} is empty")
        return token
    if args.token:
        print(
            "warning: --token is visible to other users of this machine (ps); set "
            "AGENTOPS_OTEL_TOKEN or use --token-file instead",
            file=sys.stderr,
        )
        return str(args.token)
    return os.environ.get("AGENTOPS_OTEL_TOKEN") or None


def _cmd_serve(args: argparse.Namespace) -> None:
    try:
        from agentops_otel.dashboard import serve
    except ImportError as exc:
        raise CLIError(f"{_DASHBOARD_MISSING} ({exc})") from None
    try:
        serve(
            args.host,
            args.port,
            args.store,
            _serve_token(args),
            database=args.clickhouse_database,
            table=args.clickhouse_table,
        )
    except OSError as exc:
        raise CLIError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None


def _cmd_run(args: argparse.Namespace) -> None:
    import shutil

    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not program:
        raise CLIError("nothing to run: agentops-otel run -- python app.py")
    beside = os.path.join(os.path.dirname(sys.executable), "opentelemetry-instrument")
    launcher = beside if os.path.exists(beside) else shutil.which("opentelemetry-instrument")
    if launcher is None:
        raise CLIError("opentelemetry-instrument not found; install opentelemetry-instrumentation")
    env = dict(
        os.environ, OTEL_PYTHON_DISTRO="agentops_otel", OTEL_PYTHON_CONFIGURATOR="agentops_otel"
    )
    settings = {
        "AGENTOPS_SESSION_NAME": args.session_name,
        "AGENTOPS_TAGS": ",".join(args.tag) or None,
        "AGENTOPS_MAX_COST_USD": None if args.max_cost is None else str(args.max_cost),
        "AGENTOPS_CAPTURE_CONTENT": "false" if args.no_content else None,
    }
    env.update({k: v for k, v in settings.items() if v is not None})
    os.execve(launcher, [launcher, *program], env)


def _cmd_clickhouse(args: argparse.Namespace) -> None:
    from agentops_otel.store import is_clickhouse
    from agentops_otel.store._clickhouse import ClickHouseStore, views_ddl

    if not is_clickhouse(args.store):
        raise CLIError("--store must be a ClickHouse URL, e.g. clickhouse://host:8123/otel")
    # the views and the statements that apply them are ClickHouse's own, not the reader's
    with ClickHouseStore.open(args.store, args.clickhouse_database, args.clickhouse_table) as store:
        statements = list(views_ddl(store, args.cluster))
        if not args.apply:
            print(";\n\n".join(statements) + ";")
            return
        for statement in statements:
            store.command(statement)
    print(
        f"sessions view applied to {store.location}; a running `{PROG} serve` uses it "
        "once restarted"
    )


def _cmd_doctor(args: argparse.Namespace) -> None:
    from agentops_otel.cli._doctor import report

    print(report())


_COMMANDS = {
    "doctor": _cmd_doctor,
    "run": _cmd_run,
    "demo": _cmd_demo,
    "sessions": _cmd_sessions,
    "show": _cmd_show,
    "replay": _cmd_replay,
    "export": _cmd_export,
    "serve": _cmd_serve,
    "clickhouse": _cmd_clickhouse,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status is 0 on success, 1 on a reported error, 2 on usage."""
    from agentops_otel.store import StoreError

    args = _parser().parse_args(argv)
    try:
        _COMMANDS[args.command](args)
    except (CLIError, StoreError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0
    return 0
