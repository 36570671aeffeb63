"""Sessions: the root span of one run of an agent program, with its end state and totals."""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode

from agentops_otel import _config, _tracer
from agentops_otel import semconv as A
from agentops_otel._ledger import LEDGER

_log = logging.getLogger(__name__)
_SESSION_KEY = otel_context.create_key("agentops-session")
END_STATES = ("Success", "Fail", "Indeterminate")

_open: dict[str, Session] = {}
_open_lock = threading.Lock()


class Session:
    """A running session. End it with :meth:`end`; ``with`` ends it for you."""

    def __init__(
        self,
        name: str | None = None,
        tags: Iterable[str] | None = None,
        max_cost_usd: float | None = None,
    ) -> None:
        settings = _config.current()
        self.id = uuid.uuid4().hex
        self.name = name or settings.session_name
        self.tags = tuple(tags) if tags is not None else tuple(settings.tags)
        limit = max_cost_usd if max_cost_usd is not None else settings.max_cost_usd
        attrs: dict[str, Any] = {
            A.SPAN_KIND: A.KIND_SESSION,
            A.SESSION_ID: self.id,
            A.SESSION_NAME: self.name,
        }
        if self.tags:
            attrs[A.SESSION_TAGS] = list(self.tags)
        if limit is not None:
            attrs[A.BUDGET_LIMIT_USD] = float(limit)
        # A session is a new trace root, whatever is current.
        try:
            self.span = _tracer.tracer().start_span(
                f"session {self.name}", context=Context(), attributes=attrs
            )
        except Exception:  # noqa: BLE001 - the user's work goes on without a session span
            _log.debug("agentops-otel: could not start a session span", exc_info=True)
            self.span = trace.INVALID_SPAN
        self.context = otel_context.set_value(
            _SESSION_KEY, self, trace.set_span_in_context(self.span)
        )
        self._ended = False
        self._token: Token[Context] | None = None
        with _open_lock:
            _open[self.id] = self

    @property
    def ended(self) -> bool:
        return self._ended

    def end(self, end_state: str = "Success", reason: str | None = None) -> None:
        """End the session once with ``Success``, ``Fail`` or ``Indeterminate``."""
        if self._ended:
            return
        self._ended = True
        with _open_lock:
            _open.pop(self.id, None)
        try:
            if end_state not in END_STATES:
                _log.warning("agentops-otel: unknown end state %r, using Indeterminate", end_state)
                end_state = "Indeterminate"
            self.span.set_attribute(A.SESSION_END_STATE, end_state)
            if reason:
                self.span.set_attribute(A.SESSION_END_REASON, str(reason))
            if end_state == "Fail":
                self.span.set_status(Status(StatusCode.ERROR, reason or "session failed"))
            LEDGER.write_rollups(self.span)
            self.span.end()
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: ending a session failed", exc_info=True)

    # -- as the current context ---------------------------------------------------------------
    def __enter__(self) -> Session:
        self._token = otel_context.attach(self.context)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._token is not None:
            otel_context.detach(self._token)
            self._token = None
        if exc is not None:
            try:
                self.span.record_exception(exc)
                self.span.set_attribute(A.ERROR_TYPE, type(exc).__qualname__)
            except Exception:  # noqa: BLE001
                pass
            self.end("Fail", reason=f"{type(exc).__name__}: {exc}"[:500])
        else:
            self.end("Success")


def current_session() -> Session | None:
    """The session of the current context, if any."""
    found = otel_context.get_value(_SESSION_KEY)
    return found if isinstance(found, Session) else None


def open_sessions() -> list[Session]:
    with _open_lock:
        return list(_open.values())


def start_session(
    name: str | None = None, tags: Iterable[str] | None = None, *, max_cost_usd: float | None = None
) -> Session:
    """Start a session without making it current; end it with ``.end(...)``.

    Use ``with`` on the returned handle to make it the parent of the work inside.
    """
    return Session(name, tags, max_cost_usd)


def session(
    name: Any = None, tags: Iterable[str] | None = None, *, max_cost_usd: float | None = None
) -> Any:
    """A session as a decorator (bare or called) or a context manager.

    As a decorator each call is one session (``Success`` on return, ``Fail`` on an exception,
    which propagates unchanged); as a context manager the block is one session.
    """
    if callable(name):
        return _session_wrapper(name, None, None, None)
    return _SessionScope(name, tags, max_cost_usd)


class _SessionScope:
    def __init__(
        self, name: str | None, tags: Iterable[str] | None, max_cost_usd: float | None
    ) -> None:
        self._args = (name, tags, max_cost_usd)
        self._active: list[Session] = []

    def __enter__(self) -> Session:
        handle = Session(*self._args)
        self._active.append(handle)
        return handle.__enter__()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._active.pop().__exit__(exc_type, exc, tb)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return _session_wrapper(fn, *self._args)


def _session_wrapper(
    fn: Callable[..., Any], name: str | None, tags: Iterable[str] | None, max_cost_usd: float | None
) -> Callable[..., Any]:
    name = name or getattr(fn, "__name__", None)
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            with Session(name, tags, max_cost_usd):
                return await fn(*args, **kwargs)

        return run_async

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with Session(name, tags, max_cost_usd):
            return fn(*args, **kwargs)

    return run
