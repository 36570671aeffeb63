"""The local store written by a child process, so the app pays only for handing spans over.

The app's export worker turns each batch into plain tuples (:func:`record_of`), sends them with
``marshal`` over a socket to a writer process (started at the first batch, one per app
process) and waits for its answer: the batch is reported stored once it is committed, so a
flush still means "in the file". The writer process normalizes, prices, indexes and writes
(:class:`StoreWriter`); it ignores Ctrl-C and ends when the app's end of the socket closes,
after writing what it received. A writer that dies, or a store it cannot open, costs the app
nothing but those spans: they are counted as lost (the export fails) with one warning. A writer
that cannot start at all leaves the writing to the export thread (:class:`StoreSpanExporter`).
"""

from __future__ import annotations

import logging
import marshal
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agentops_otel.store._db import StoreError
from agentops_otel.store._writer import SpanRecord, StoreSpanExporter, StoreWriter, record_of

_log = logging.getLogger("agentops_otel.store")
_HEADER = struct.Struct("<I")
_NO_SIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)  # a dead writer raises, never kills the app
_CHILD = "import sys; sys.path[:0] = {paths!r}; from {module} import main; main()"
OK, FAILED, BROKEN = "ok", "failed", "broken"
# Spans the writer process may leave out of the full-text index (indexed when it is idle for
# IDLE_S): a burst is stored at the rate of the write path alone; search reads the rest. A
# batch smaller than FINISH_BELOW (the export thread sends 512 at most) is not a burst: it is
# finished in its transaction when no older span waits, which costs less CPU in all.
UNFINISHED, IDLE_S, FINISH_BELOW = 4096, 0.05, 256


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(len(payload)) + payload, _NO_SIGNAL)


def _receive(stream: Any) -> bytes | None:
    """One frame from a binary file object, ``None`` at the end of the stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    return payload if len(payload) == size else None


def _plain(value: Any) -> Any:
    """A value ``marshal`` can carry: sequences as tuples, anything unknown as its text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return str(value)


def _encode(records: list[SpanRecord]) -> bytes:
    try:
        return marshal.dumps(records)
    except ValueError:  # an attribute value of a type marshal does not know (not an SDK one)
        clean = [
            (
                *r[:9],
                {k: _plain(v) for k, v in r[9].items()},
                [(n, t, {k: _plain(v) for k, v in a.items()}) for n, t, a in r[10]],
                *r[11:],
            )
            for r in records
        ]
        return marshal.dumps(clean)


def _child_env() -> dict[str, str]:
    """The app's environment without OpenTelemetry's auto-instrumentation hook (the writer
    must not trace itself) and with the SDK off, should anything in it call ``init()``."""
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    kept = [p for p in paths if "auto_instrumentation" not in p]
    if kept:
        env["PYTHONPATH"] = os.pathsep.join(kept)
    else:
        env.pop("PYTHONPATH", None)
    env["OTEL_SDK_DISABLED"] = "true"
    return env


def can_spawn() -> bool:
    """Whether this interpreter can start a writer process (a Python ``sys.executable`` on a
    POSIX system); where it cannot, the store is written on the export thread."""
    name = Path(sys.executable or "").name.lower()
    return os.name == "posix" and name.startswith(("python", "pypy"))


class ProcessStoreExporter(SpanExporter):
    """``SpanExporter`` that hands batches to a writer process (see the module docstring)."""

    def __init__(self, path: str | Path, retention_days: float | None = None) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._sock: socket.socket | None = None
        self._stream: Any = None
        self._process: subprocess.Popen[bytes] | None = None
        self._fallback: StoreSpanExporter | None = None
        self._broken = False
        self._answered = False  # the writer process answered once (it runs)
        self._lock = threading.Lock()
        if hasattr(os, "register_at_fork"):
            ref = weakref.WeakMethod(self._forget)
            os.register_at_fork(after_in_child=lambda: (m := ref()) and m())

    def _forget(self) -> None:
        """In a forked child: the parent's writer is not ours; start our own when needed."""
        self._lock = threading.Lock()
        if self._stream is not None:
            self._stream.close()
        if self._sock is not None:
            self._sock.close()  # our copy only: the parent's writer still sees the parent
        self._sock = self._stream = self._process = None

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parents[2])
        code = _CHILD.format(paths=[root], module=__name__)
        retention = "" if self.retention_days is None else repr(float(self.retention_days))
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", code, str(self.path), retention],
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=_child_env(),
                start_new_session=True,  # Ctrl-C in the terminal does not cut the last write
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock, self._stream, self._answered = ours, ours.makefile("rb"), False
        return ours

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._fallback is not None:
            return self._fallback.export(spans)
        if self._broken:
            return SpanExportResult.FAILURE
        payload = _encode([record_of(span) for span in spans])
        with self._lock:
            try:
                sock = self._sock or self._start()
            except OSError as exc:
                return self._write_here(spans, f"cannot start it: {exc}")
            try:
                _send(sock, payload)
                answer = _receive(self._stream)
            except OSError:
                answer = None
            if answer is None:
                code = self._process.poll() if self._process is not None else None
                if not self._answered:  # it never ran (cannot import us, say): nothing lost
                    self._close()
                    return self._write_here(spans, f"it exited at start (code {code})")
                return self._disable(f"the writer process exited (code {code})")
            self._answered = True
        status, detail = marshal.loads(answer)
        if status == BROKEN:
            return self._disable(str(detail))
        if status == FAILED:
            _log.debug("agentops-otel: local store write failed: %s", detail)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _write_here(self, spans: Sequence[ReadableSpan], reason: str) -> SpanExportResult:
        _log.debug("agentops-otel: no store writer process (%s); writing on this thread", reason)
        self._fallback = StoreSpanExporter(self.path, self.retention_days)
        return self._fallback.export(spans)

    def _disable(self, reason: str) -> SpanExportResult:
        if not self._broken:
            self._broken = True
            _log.warning("agentops-otel: local store disabled: %s", reason)
            self._close()
        return SpanExportResult.FAILURE

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes an export waiting for an answer
            except OSError:
                pass
            sock.close()

    def shutdown(self) -> None:
        """Close the socket: the writer process stores what it received, then ends by itself."""
        self._close()
        if self._fallback is not None:
            self._fallback.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def _finish_while_idle(writer: StoreWriter, sock: socket.socket) -> None:
    """Index what the batches left while nothing comes from the app (it waits for each
    answer, so nothing is buffered). A failure waits for the next write to report."""
    try:
        while not select.select([sock], [], [], IDLE_S)[0] and writer.finish_pending():
            pass
    except Exception:  # noqa: BLE001 (reported by the write that meets it)
        pass


def _serve(writer: StoreWriter, sock: socket.socket) -> None:
    stream = sock.makefile("rb")
    broken: str | None = None
    while True:
        if broken is None:
            _finish_while_idle(writer, sock)
        if (payload := _receive(stream)) is None:
            break
        if broken is None:
            try:
                answer: tuple[str, Any] = (OK, writer.write_records(marshal.loads(payload)))
            except StoreError as exc:
                broken = str(exc)
                answer = (BROKEN, broken)
            except Exception as exc:  # noqa: BLE001 (a bad batch costs that batch only)
                answer = (FAILED, repr(exc))
        else:
            answer = (BROKEN, broken)
        try:
            _send(sock, marshal.dumps(answer))
        except OSError:
            pass  # the app stopped listening (exit); keep storing what it sent


def main() -> None:
    """The writer process: ``python -c ... <store path> <retention days or "">``, the
    socket to the app on file descriptor 0."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    path, retention = sys.argv[1], sys.argv[2]
    writer = StoreWriter(path, float(retention) if retention else None, UNFINISHED, FINISH_BELOW)
    try:
        _serve(writer, socket.socket(fileno=0))
        while writer.finish_pending():
            pass
    finally:
        writer.close()
