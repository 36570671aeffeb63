"""A Node app traced with the OpenTelemetry JS SDK, sending OTLP/HTTP to ``agentops-otel serve``.

    bash scripts/dev.sh example node_app      # after `bash scripts/dev.sh setup`; needs node 20+

This script starts the project's fake LLM server and ``agentops-otel serve`` (127.0.0.1, no key,
no network), installs the app's pinned packages with ``npm ci`` from ``node_app/package-lock.json``
the first time (from the npm registry; cache in ``.cache/npm`` or ``$npm_config_cache``), runs
``node node_app/app.js`` and prints what serve stored (``examples/.store/``, or
``$AGENTOPS_OTEL_HOME``). What to look at: the session named after its root span,
``invoke_agent support-bot`` (service ``node-support-bot``), with ``execute_tool lookup_order``
and two chat calls (gpt-4o-mini, then gpt-4o) beneath it: serve read the GenAI attributes the
JS app set, counted each call once and priced it, so tokens and cost roll up to the agent and
the session as they do for a Python app.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from _example import STORE, show

from agentops_otel.testing.fake_llm import FakeLLMServer

APP = Path(__file__).parent / "node_app"
NPM_CACHE = os.environ.get("npm_config_cache") or str(Path(__file__).parents[1] / ".cache/npm")


def install() -> None:
    """``npm ci`` unless ``node_modules`` already matches the lock file."""
    if not (shutil.which("node") and shutil.which("npm")):
        sys.exit("this example needs node 20+ and npm on PATH")
    installed = APP / "node_modules" / ".package-lock.json"
    if (
        installed.exists()
        and installed.stat().st_mtime >= (APP / "package-lock.json").stat().st_mtime
    ):
        return
    npm = ["npm", "ci", "--no-audit", "--no-fund", "--cache", NPM_CACHE]
    subprocess.run(npm, cwd=APP, check=True, stdout=subprocess.DEVNULL)


def start_serve() -> tuple[subprocess.Popen[str], str]:
    """``agentops-otel serve`` on a free port of 127.0.0.1; the process and its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    serve = subprocess.Popen(
        [sys.executable, "-m", "agentops_otel.cli", "serve", "--port", "0", "--store", STORE],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    first = serve.stdout.readline() if serve.stdout else ""
    if "http://" not in first:
        serve.kill()
        sys.exit(f"agentops-otel serve did not start: {first!r}")
    return serve, "http://" + first.split("http://", 1)[1].split()[0]


def main() -> None:
    install()
    serve, url = start_serve()
    try:
        with FakeLLMServer(log_requests=False) as llm:
            llm.add_rule("Where is my order", "Your order 1042 has shipped and arrives Friday.")
            llm.add_rule("Review:", "Good news: order 1042 has shipped and arrives on Friday!")
            env = {
                **os.environ,
                "OTEL_EXPORTER_OTLP_ENDPOINT": url,
                "LLM_BASE_URL": llm.openai_base_url,
            }
            done = subprocess.run(
                ["node", "app.js"], cwd=APP, env=env, check=True, capture_output=True, text=True
            )
    finally:
        serve.terminate()
        serve.wait(15)
    print(done.stdout)
    trace = next(line.split()[-1] for line in done.stdout.splitlines() if line.startswith("trace:"))
    show(trace)


if __name__ == "__main__":
    main()
