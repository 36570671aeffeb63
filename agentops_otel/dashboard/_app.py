"""The dashboard's ASGI app: OTLP/HTTP ingest and the HTML pages, guarded by host, token and CSP."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlencode

import anyio
import anyio.to_thread
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.filters import do_urlencode
from jinja2.runtime import Context
from markdown_it import MarkdownIt
from markupsafe import Markup
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from agentops_otel import _otlp_codec as _otlp
from agentops_otel.accounting import NO_AGENT
from agentops_otel.dashboard import _session_page, _views
from agentops_otel.store import (
    Store,
    StoreError,
    StoreReader,
    StoreWriter,
    default_path,
    is_clickhouse,
    open_reader,
)
from agentops_otel.store._logs import LogContent
from agentops_otel.view import _format
from agentops_otel.view._compare import compare_steps
from agentops_otel.view._model import replay_steps, short_id, where
from agentops_otel.view._money import money_view
from agentops_otel.view._steps import call_usage, named_arguments, running_totals
from agentops_otel.view._time import parse_since

TOKEN_COOKIE = "agentops_otel_token"
MAX_BODY_BYTES = 64 * 1024 * 1024
INGEST_WORKERS = 2  # bodies decoded and written at once (each on a worker thread)
PAGE_SIZE = 50
MONEY_SESSIONS = 500  # the time-range cost breakdown reads at most this many sessions
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
_RANGES = {"24h": (86_400, 3_600), "7d": (7 * 86_400, 86_400), "30d": (30 * 86_400, 86_400)}
_STATIC = Path(__file__).with_name("static")
_T = TypeVar("_T")


def _no_ingest() -> Response:
    return JSONResponse(
        {
            "error": "this dashboard reads ClickHouse and stores nothing; send OTLP "
            "to your OpenTelemetry Collector"
        },
        405,
    )


_KNOWN_DAYS = 30  # the filters suggest the models and agents of this many days ...
_KNOWN_SESSIONS = 200  # ... and the tags of this many newest sessions
_KNOWN_TTL_S = 30.0  # how long the suggestions are reused


@dataclass(frozen=True)
class Known:
    """Values the sessions filters suggest (a datalist each)."""

    models: list[str]
    agents: list[str]
    tags: list[str]


class _BadRequest(Exception):
    """A query parameter that cannot be used; shown to the user as a 400 page."""


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("agentops_otel.dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters.update(
        cost=_views.fmt_cost,
        tokens=_views.fmt_tokens,
        ms=_views.fmt_ms,
        time=_views.fmt_time,
        short=short_id,
        as_text=_views.as_text,
        clip_text=_clip_text,
        markdown=_markdown,
        count=_format.count,
        percent=_format.percent,
        call_tokens=_call_tokens,
        call_cost=_call_cost,
        where=where,
        usage=call_usage,
        named_arguments=named_arguments,
        urlencode=_urlencode,
    )
    return env


def _call_tokens(span: Any) -> str:
    """A call's tokens with cached and reasoning tokens (``—`` when none were reported)."""
    return _format.tokens(span.input_tokens, span.output_tokens, span.attributes)


def _call_cost(span: Any) -> str:
    """A call's cost; "no price" only for an LLM call that should have had one."""
    return _format.call_cost(span.cost_usd, span.attributes, span.agentops_kind == "llm")


def _urlencode(value: Any) -> str:
    """Jinja's ``urlencode``, except that a string is one path segment: "/" is encoded too,
    so a session id with "/" in it stays one segment of the URL."""
    return quote(value, safe="") if isinstance(value, str) else do_urlencode(value)


_MARKDOWN = MarkdownIt("commonmark", {"html": False})  # raw HTML in a message stays text


def _markdown(text: str) -> Markup:
    """A message's text rendered as CommonMark; HTML in it is escaped, unsafe links dropped."""
    return Markup(_MARKDOWN.render(text))


@pass_context
def _clip_text(context: Context, text: str) -> str:
    """Long texts cut short unless the page was asked for in full; the cut is marked."""
    shown, cut = _views.clip(text, bool(context.get("full")))
    return shown + "\n… (cut; show all for the rest)" if cut else shown


def login_value(token: str) -> str:
    """The login cookie's value: an HMAC of the token, so the cookie (in the browser, in
    proxies' logs) never holds the token itself and cannot be used as the bearer token."""
    return hmac.new(token.encode(), b"agentops-otel dashboard login v1", "sha256").hexdigest()


class _Guard(BaseHTTPMiddleware):
    """Refuses foreign Host headers on a loopback bind (DNS rebinding), asks for the token,
    and sets the security headers on every answer."""

    def __init__(self, app: Any, token: str | None, loopback: bool) -> None:
        super().__init__(app)
        self.token = token
        self.loopback = loopback

    def _authorized(self, request: Request) -> bool:
        """The bearer token, or the login cookie (a value derived from the token)."""
        if self.token is None:
            return True
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return hmac.compare_digest(header[7:].encode(), self.token.encode())
        cookie = request.cookies.get(TOKEN_COOKIE, "")
        return hmac.compare_digest(cookie.encode(), login_value(self.token).encode())

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
        path = request.url.path
        if self.loopback and host not in _LOOPBACK_HOSTS:
            response: Response = Response("unknown Host header", 421, media_type="text/plain")
        elif path == "/login" or path.startswith("/static/") or self._authorized(request):
            response = await call_next(request)
        elif path.startswith(("/v1/", "/api/")):
            response = JSONResponse(
                {"error": "a bearer token is required"}, 401, headers={"WWW-Authenticate": "Bearer"}
            )
        else:
            response = RedirectResponse("/login", 303)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response


class Dashboard:
    """Routes over one store: the local store file (a writer for ingest, a fresh read
    connection per page), or ClickHouse written by a Collector (read-only, one shared client)."""

    def __init__(
        self,
        store: str | Path | None,
        token: str | None,
        database: str | None = None,
        table: str | None = None,
    ) -> None:
        self.token = token
        self.templates = _templates()
        self._suggested: tuple[float, Known] | None = None
        self.trees = _session_page.Trees()
        self.writer: StoreWriter | None = None
        self._ingest_limiter: anyio.CapacityLimiter | None = None
        self.reader: StoreReader | None = None
        if is_clickhouse(str(store) if store is not None else None):
            self.reader = open_reader(str(store), database=database, table=table)
            self.location = self.reader.location
            return
        self.path = default_path(store)
        self.location = str(self.path)
        self.writer = StoreWriter(self.path)
        self.logs = LogContent(self.writer)
        self.writer.write([])  # create the file (and schema) so pages work before any span

    # --- helpers --------------------------------------------------------------------------
    def _page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(
            token_required=self.token is not None, store_path=self.location, **context
        )
        return HTMLResponse(html, status)

    def _error(self, status: int, message: str) -> HTMLResponse:
        return self._page("error.html", status, message=message)

    def _store(self) -> StoreReader:
        return self.reader if self.reader is not None else Store.open(self.path)

    # --- ingest ---------------------------------------------------------------------------
    async def _otlp_body(self, request: Request) -> tuple[str, bytes] | Response:
        """The decompressed body of an OTLP/HTTP request and its content type, or the error."""
        ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if ctype not in (_PROTOBUF, _JSON):
            return JSONResponse(
                {"error": f"unsupported Content-Type {ctype!r}; send {_PROTOBUF} or {_JSON}"}, 415
            )
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"error": "request body too large"}, 413)
        try:
            raw = await self._off_loop(
                _otlp.decompress, bytes(body), request.headers.get("content-encoding")
            )
        except _otlp.OtlpError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return ctype, raw

    async def _off_loop(self, work: Callable[..., _T], *args: Any) -> _T:
        """Run ``work`` on a worker thread, at most :data:`INGEST_WORKERS` at once: large
        bodies are decompressed, decoded and written there, never on the event loop that
        serves the pages (and many large bodies at once do not pile up in memory)."""
        if self._ingest_limiter is None:
            self._ingest_limiter = anyio.CapacityLimiter(INGEST_WORKERS)
        return await anyio.to_thread.run_sync(work, *args, limiter=self._ingest_limiter)

    @staticmethod
    def _accepted(ctype: str, response: Any) -> Response:
        if ctype == _PROTOBUF:
            return Response(response.SerializeToString(), 200, media_type=_PROTOBUF)
        return JSONResponse({})

    async def _ingest(
        self, request: Request, decoders: tuple[Any, Any], store: Any, answer: Any
    ) -> Response:
        """Decode an OTLP/HTTP request (protobuf or JSON decoder), store it, answer."""
        if self.writer is None:
            return _no_ingest()
        read = await self._otlp_body(request)
        if isinstance(read, Response):
            return read
        ctype, raw = read
        decode = decoders[ctype == _JSON]
        try:
            await self._off_loop(lambda: store(decode(raw)))
        except _otlp.OtlpError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        except Exception as exc:  # noqa: BLE001 (busy or broken store: the sender retries)
            return JSONResponse(
                {"error": f"store write failed: {exc}"}, 503, headers={"Retry-After": "1"}
            )
        return self._accepted(ctype, answer)

    async def ingest(self, request: Request) -> Response:
        """Spans decoded straight to the store's records (no SDK span objects on the way) and
        written in one transaction per request."""
        return await self._ingest(
            request,
            (_otlp.decode_protobuf_records, _otlp.decode_json_records),
            # _ingest answers before calling this when there is no writer
            lambda records: self.writer.write_records(  # type: ignore[union-attr]
                self.logs.merge(records)
            ),
            ExportTraceServiceResponse(),
        )

    async def ingest_logs(self, request: Request) -> Response:
        """Log records that belong to a span (content events) are shown on it; others dropped."""
        return await self._ingest(
            request,
            (_otlp.decode_logs_protobuf, _otlp.decode_logs_json),
            self.logs.add,
            ExportLogsServiceResponse(),
        )

    async def ingest_metrics(self, request: Request) -> Response:
        """Accepted and dropped: every number shown is computed from the spans."""
        read = await self._otlp_body(request)
        if isinstance(read, Response):
            return read
        return self._accepted(read[0], ExportMetricsServiceResponse())

    # --- login ----------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            return self._page("login.html", failed=False)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        offered = (form.get("token") or [""])[0]
        if self.token is None or not hmac.compare_digest(offered.encode(), self.token.encode()):
            return self._page("login.html", 401, failed=True)
        response = RedirectResponse("/", 303)
        response.set_cookie(TOKEN_COOKIE, login_value(self.token), httponly=True, samesite="strict")
        return response

    # --- pages ----------------------------------------------------------------------------
    def sessions(self, request: Request) -> Response:
        """The sessions list; a filter that cannot be used keeps the form and says why (400)."""
        filters = _filters(request)
        rows: list[Any] = []
        problem = None
        with self._store() as store:
            marker = store.change_marker()
            known = self._known(store)
            try:
                query = _session_query(filters)
                before = _cursor(request.query_params.get("before", ""))
                rows = store.list_sessions(limit=PAGE_SIZE + 1, before=before, **query)
            except (_BadRequest, StoreError) as exc:
                problem, before = str(exc), None
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        next_url = None
        if more:
            last = rows[-1]
            kept = {k: v for k, v in filters.items() if v}
            next_url = "/?" + urlencode({**kept, "before": f"{last.start_ns}:{last.id}"})
        return self._page(
            "sessions.html",
            400 if problem else 200,
            sessions=rows,
            filters=filters,
            next_url=next_url,
            paged=before is not None,
            marker=marker,
            known=known,
            problem=problem,
        )

    def _known(self, store: StoreReader) -> Known:
        """Models, agents (of the last 30 days) and tags (of the newest sessions) that the
        filters suggest; read again at most every :data:`_KNOWN_TTL_S` seconds (tens of ms
        at 1M spans: not on every page while spans arrive)."""
        now = time.monotonic()
        if self._suggested is None or now - self._suggested[0] > _KNOWN_TTL_S:
            since = time.time() - _KNOWN_DAYS * 86_400
            width = _KNOWN_DAYS * 86_400
            models = {r.key for r in store.usage_over_time(since, width, "model")}
            agents = {r.key for r in store.usage_over_time(since, width, "agent")}
            tags = {t for s in store.list_sessions(limit=_KNOWN_SESSIONS) for t in s.tags}
            known = Known(sorted(models), sorted(agents - {NO_AGENT}), sorted(tags))
            self._suggested = (now, known)
        return self._suggested[1]

    def _tree(
        self, store: StoreReader, session: Any, marker: int | None = None
    ) -> _session_page.SessionTree:
        """The session's flattened tree, cached per change marker (read here unless given)."""
        key = (session.id, store.change_marker(session.id) if marker is None else marker)
        return self.trees.get(key, lambda: (store.session_spans(session.id), session.running))

    def session(self, request: Request) -> Response:
        with self._store() as store:
            try:
                session = _resolve(store, request.path_params["session_id"])
            except StoreError as exc:
                return self._error(404, str(exc))
            marker = store.change_marker(session.id)
            tree = self._tree(store, session, marker)
        return self._page(
            "session.html",
            session=session,
            span_count=len(tree.spans),
            marker=marker,
            by_agent=tree.by_agent,
            by_model=tree.by_model,
            unpriced=tree.unpriced,
            elapsed_ms=(time.time_ns() - (session.start_ns or 0)) / 1e6,
        )

    def api_rows(self, request: Request) -> Response:
        """The session page's JSON (``shape``, ``rows``, ``match``: see
        ``_session_page.answer``) from the tree of change marker ``marker`` (default: the
        current one); 409 when that tree is no longer kept."""
        params = request.query_params
        with self._store() as store:
            try:
                session = _resolve(store, request.path_params["session_id"])
            except StoreError as exc:
                return JSONResponse({"error": str(exc)}, 404)
            current = store.change_marker(session.id)
            try:
                marker = int(params.get("marker", current))
                tree = (
                    self._tree(store, session, current)
                    if marker == current
                    else self.trees.kept((session.id, marker))
                )
                body = (
                    None
                    if tree is None
                    else _session_page.answer(tree, request.path_params["part"], params)
                )
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, 400)
        if body is None:
            return JSONResponse({"error": "the session changed: ask for its shape again"}, 409)
        return JSONResponse({**body, "marker": str(marker)})

    def span(self, request: Request) -> Response:
        """One span's detail (the drawer's content); session and span ids may be prefixes."""
        wanted = request.path_params["span_id"]
        with self._store() as store:
            try:
                session = _resolve(store, request.path_params["session_id"])
            except StoreError as exc:
                return self._error(404, str(exc))
            span: Any = store.get_span(session.id, wanted)
            if span is None and wanted:
                span = self._tree(store, session).find_span(wanted)
        if isinstance(span, str):
            return self._error(400, span)
        if span is None:
            return self._error(404, "no such span in this session")
        full = request.query_params.get("full") == "1"
        return self._page(
            "span.html", d=_views.span_detail(span, full), full=full, session_id=session.id
        )

    async def session_paths(self, request: Request) -> Response:
        """``/sessions/ID``, ``ID/replay``, ``ID/money`` and ``ID/spans/SPAN`` routed on
        the raw path, so an id with an encoded "/" (``%2F``) stays one segment."""
        parts = _raw_segments(request, "/sessions/")
        params: dict[str, str]
        if len(parts) == 1:
            handler, params = self.session, {}
        elif len(parts) == 2 and parts[1] in ("replay", "money"):
            handler, params = (self.replay if parts[1] == "replay" else self.session_money), {}
        elif len(parts) == 3 and parts[1] == "spans":
            handler, params = self.span, {"span_id": parts[2]}
        else:
            return self._error(404, "no such page")
        request.scope["path_params"] = {"session_id": parts[0], **params}
        return await run_in_threadpool(handler, request)

    async def api_session_paths(self, request: Request) -> Response:
        """``/api/sessions/ID/rows``, ``shape`` and ``match``, routed on the raw path like
        :meth:`session_paths`."""
        parts = _raw_segments(request, "/api/sessions/")
        if len(parts) != 2 or parts[1] not in ("rows", "shape", "match"):
            return JSONResponse({"error": "no such endpoint"}, 404)
        request.scope["path_params"] = {"session_id": parts[0], "part": parts[1]}
        return await run_in_threadpool(self.api_rows, request)

    def _session_spans(self, request: Request) -> tuple[Any, list[Any]] | Response:
        """The session the URL names (a unique id prefix) and its spans, or the 404 page."""
        with self._store() as store:
            loaded = _load_session(store, request.path_params["session_id"])
        return self._error(404, loaded) if isinstance(loaded, str) else loaded

    def replay(self, request: Request) -> Response:
        loaded = self._session_spans(request)
        if isinstance(loaded, Response):
            return loaded
        session, spans = loaded
        return self._page(
            "replay.html", session=session, progress=running_totals(replay_steps(spans))
        )

    def overview(self, request: Request) -> Response:
        chosen = request.query_params.get("range", "7d")
        if chosen not in _RANGES:
            return self._error(400, f"range must be one of {', '.join(_RANGES)}")
        span_s, bucket_s = _RANGES[chosen]
        now = time.time()
        since = now - span_s
        hourly = bucket_s < 86_400
        slots = _views.buckets(int(since * 1e9), int(now * 1e9), bucket_s * 10**9)
        with self._store() as store:
            by_model = store.usage_over_time(since, bucket_s, "model")
            by_agent = store.usage_over_time(since, bucket_s, "agent")
            rates = store.session_rates(since, bucket_s)

        def cost(r: Any) -> float:
            return r.cost_usd

        def tokens(r: Any) -> float:
            return r.input_tokens + r.output_tokens

        charts = [
            _views.stacked_chart("Cost by model", by_model, slots, cost, "usd"),
            _views.stacked_chart("Tokens by model", by_model, slots, tokens, "count"),
            _views.stacked_chart("Cost by agent", by_agent, slots, cost, "usd"),
            _views.stacked_chart("Tokens by agent", by_agent, slots, tokens, "count"),
            _views.rates_chart(rates, slots),
        ]
        totals = {
            "calls": sum(r.calls for r in by_model),
            "errors": sum(r.errors for r in by_model),
            "unpriced": sum(r.unpriced for r in by_model),
            "cost": sum(r.cost_usd for r in by_model),
            "sessions": sum(r.sessions for r in rates),
            "with_errors": sum(r.with_errors for r in rates),
            "loops": sum(r.loops for r in rates),
            "over_budget": sum(r.over_budget for r in rates),
        }
        return self._page(
            "overview.html",
            charts=charts,
            totals=totals,
            chosen=chosen,
            ranges=list(_RANGES),
            rates=rates,
            hourly=hourly,
            label=_views.bucket_label,
        )

    def money(self, request: Request) -> Response:
        """Where the money went over a time range: the newest sessions of the range, at most
        :data:`MONEY_SESSIONS` of them (the page says so when there were more)."""
        chosen = request.query_params.get("range", "7d")
        if chosen not in _RANGES:
            return self._error(400, f"range must be one of {', '.join(_RANGES)}")
        since = time.time() - _RANGES[chosen][0]
        spans: list[Any] = []
        with self._store() as store:
            sessions = store.list_sessions(limit=MONEY_SESSIONS + 1, since=since)
            for session in sessions[:MONEY_SESSIONS]:
                spans.extend(store.session_spans(session.id))
        return self._page(
            "money.html",
            view=money_view(spans),
            session=None,
            chosen=chosen,
            ranges=list(_RANGES),
            sessions=min(len(sessions), MONEY_SESSIONS),
            capped=len(sessions) > MONEY_SESSIONS,
        )

    def session_money(self, request: Request) -> Response:
        """Where the money went in one session."""
        loaded = self._session_spans(request)
        if isinstance(loaded, Response):
            return loaded
        session, spans = loaded
        return self._page("money.html", view=money_view(spans), session=session)

    def compare(self, request: Request) -> Response:
        """Two sessions side by side: ``?s=ID&s=ID`` (the sessions list's form) or
        ``?a=ID&b=ID``; ids may be unique prefixes."""
        params = request.query_params
        chosen = params.getlist("s") or [v for v in (params.get("a"), params.get("b")) if v]
        if len(chosen) != 2:
            return self._error(
                400, f"pick exactly two sessions to compare ({len(chosen)} were given)"
            )
        loaded = []
        with self._store() as store:
            for prefix in chosen:
                found = _load_session(store, prefix)
                if isinstance(found, str):
                    return self._error(404, found)
                loaded.append(found)
        (a, a_spans), (b, b_spans) = loaded
        pairs, first = compare_steps(a_spans, b_spans)
        return self._page("compare.html", a=a, b=b, pairs=pairs, first=first)

    def api_sessions(self, request: Request) -> Response:
        try:
            query = _session_query(_filters(request))
            before = _cursor(request.query_params.get("before", ""))
        except _BadRequest as exc:
            return JSONResponse({"error": str(exc)}, 400)
        with self._store() as store:
            try:
                rows = store.list_sessions(limit=PAGE_SIZE, before=before, **query)
            except StoreError as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse([_views.session_summary(s) for s in rows])

    def api_changes(self, request: Request) -> Response:
        """``{"marker": N}`` for the store, or ``{"marker": N, "running": bool}`` for
        ``?session=ID``: pages poll it and reload their data when the marker moves."""
        session_id = request.query_params.get("session")
        with self._store() as store:
            marker = store.change_marker(session_id)
            if session_id is None:
                return JSONResponse({"marker": marker})
            session = store.get_session(session_id)
        return JSONResponse({"marker": marker, "running": session is not None and session.running})


_FILTERS = ("q", "since", "tag", "state", "model", "agent", "min_cost")


def _filters(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip() for k in _FILTERS}


def _session_query(filters: dict[str, str]) -> dict[str, Any]:
    """List filters from the query string; :class:`_BadRequest` names the bad one."""
    query: dict[str, Any] = {k: filters[k] or None for k in ("q", "tag", "model", "agent")}
    query["end_state"] = filters["state"] or None
    if filters["since"]:
        try:
            query["since"] = parse_since(filters["since"])
        except ValueError as exc:
            raise _BadRequest(str(exc)) from None
    if filters["min_cost"]:
        try:
            query["min_cost"] = float(filters["min_cost"])
        except ValueError:
            raise _BadRequest(f"min cost {filters['min_cost']!r} is not a number") from None
    return query


def _cursor(text: str) -> tuple[int, str] | None:
    if not text:
        return None
    start, sep, ident = text.partition(":")
    if not sep or not start.isdigit():
        raise _BadRequest("bad page cursor")
    return int(start), ident


def _resolve(store: StoreReader, prefix: str) -> Any:
    """The session whose id is ``prefix`` or starts with it; :class:`StoreError` if none."""
    session = store.get_session(prefix) or store.get_session(store.resolve_session(prefix))
    if session is None:
        raise StoreError(f"session {prefix!r} is no longer in the store")
    return session


def _raw_segments(request: Request, prefix: str) -> list[str]:
    """The path after ``prefix`` split on "/" before percent-decoding, each segment decoded."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    if not path.startswith(prefix):  # an encoded character in the prefix itself
        path = request.url.path
    return [unquote(part) for part in path[len(prefix) :].split("/")]


def _load_session(store: StoreReader, prefix: str) -> tuple[Any, list[Any]] | str:
    try:
        session = _resolve(store, prefix)
    except StoreError as exc:
        return str(exc)
    return session, store.session_spans(session.id)


def create_app(
    store: str | Path | None = None,
    token: str | None = None,
    host: str = "127.0.0.1",
    *,
    database: str | None = None,
    table: str | None = None,
) -> Starlette:
    """The dashboard over the store at ``store``: a local store file or directory (default: the
    per-user store), or a ClickHouse URL (``database``/``table`` name the traces table when the
    URL does not). With ``token``, every page and the ingest endpoint want
    ``Authorization: Bearer TOKEN`` or the login cookie."""
    board = Dashboard(store, token or None, database, table)
    routes = [
        Route("/", board.sessions),
        Route("/sessions/{rest:path}", board.session_paths),
        Route("/overview", board.overview),
        Route("/money", board.money),
        Route("/compare", board.compare),
        Route("/api/sessions", board.api_sessions),
        Route("/api/sessions/{rest:path}", board.api_session_paths),
        Route("/api/changes", board.api_changes),
        Route("/v1/traces", board.ingest, methods=["POST"]),
        Route("/v1/logs", board.ingest_logs, methods=["POST"]),
        Route("/v1/metrics", board.ingest_metrics, methods=["POST"]),
        Route("/login", board.login, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=_STATIC), name="static"),
    ]
    loopback = host in ("127.0.0.1", "localhost", "::1")
    app = Starlette(
        routes=routes, middleware=[Middleware(_Guard, token=board.token, loopback=loopback)]
    )
    app.state.dashboard = board
    return app
