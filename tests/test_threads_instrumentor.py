"""Context propagation into threads is an instrumentor of its own: ``init()`` turns it on,
``shutdown()`` and ``uninstrument()`` put the stdlib methods back and propagation stops."""

from __future__ import annotations

import subprocess
import sys
import textwrap

APP = textwrap.dedent(
    """
    import concurrent.futures.thread as cft
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    def methods():
        return (
            threading.Thread.__dict__["start"],
            threading.Thread.__dict__["_bootstrap_inner"],
            cft.ThreadPoolExecutor.__dict__["submit"],
        )

    ORIGINALS = methods()
    trace.set_tracer_provider(TracerProvider())

    import agentops_otel as ao
    from agentops_otel._threads import ThreadingInstrumentor

    def originals_or_wrapped():  # by identity: a wrapt proxy compares equal to what it wraps
        return "originals" if all(m is o for m, o in zip(methods(), ORIGINALS)) else "wrapped"

    def current_span_id():
        return trace.get_current_span().get_span_context().span_id

    def report(step):
        with trace.get_tracer("t").start_as_current_span("parent") as parent:
            seen = []
            worker = threading.Thread(target=lambda: seen.append(current_span_id()))
            worker.start()
            worker.join()
            with ThreadPoolExecutor(1) as pool:
                seen.append(pool.submit(current_span_id).result())
        mine = parent.get_span_context().span_id
        propagated = [s == mine for s in seen]
        print(step, propagated, originals_or_wrapped())

    report("before")
    ao.init(instrument=False, auto_start_session=False, local_store=False)
    report("init")
    ao.shutdown()
    report("shutdown")
    ThreadingInstrumentor().instrument()
    report("instrument")
    ThreadingInstrumentor().uninstrument()
    report("uninstrument")
    """
)


def test_init_turns_thread_propagation_on_and_shutdown_or_uninstrument_take_it_back():
    run = subprocess.run([sys.executable, "-c", APP], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "before [False, False] originals",
        "init [True, True] wrapped",
        "shutdown [False, False] originals",
        "instrument [True, True] wrapped",
        "uninstrument [False, False] originals",
    ]
