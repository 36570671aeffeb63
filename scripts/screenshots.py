"""Screenshots of every dashboard page for the README, from demo data, in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--width 1280]

Records two sessions offline into a scratch store (``agentops-otel demo``: the inbox assistant
on gpt-4o-mini and gpt-4o; ``examples/email_agent.py``: gpt-3.5-turbo and gpt-4), serves the
dashboard on 127.0.0.1 and saves one PNG per page. Needs Debian's ``/usr/bin/chromium`` and the
``playwright`` package (never ``playwright install``: no browser download).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from agentops_otel.testing.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]


def _record(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(AGENTOPS_OTEL_HOME=str(home), NO_COLOR="1")
    for args in (["-m", "agentops_otel.cli", "demo"], [str(ROOT / "examples/email_agent.py")]):
        subprocess.run(
            [sys.executable, *args], env=env, cwd=ROOT, check=True, capture_output=True, timeout=120
        )


def _serve(home: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "agentops_otel.cli", "serve", "--port", "0", "--store", str(home)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise SystemExit(f"serve did not start: {line!r}")
    return process, "http://" + line.split("http://", 1)[1].split()[0]


def _shoot(page: Page, url: str, path: Path) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path), full_page=True)
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  ({url})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        _record(home)
        process, url = _serve(home)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=list(CHROMIUM_ARGS)
                )
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                page.goto(url)
                rows = page.locator("tr.session-row")
                demo = rows.filter(has_text="inbox-demo").first.get_attribute("data-url")
                other = rows.filter(has_text="email-agent").first.get_attribute("data-url")
                a, b = demo.rsplit("/", 1)[1], other.rsplit("/", 1)[1]
                shots = [
                    ("sessions", "/"),
                    ("session", demo),
                    ("replay", f"{demo}/replay"),
                    ("money-session", f"{demo}/money"),
                    ("money", "/money"),
                    ("compare", f"/compare?s={b}&s={a}"),
                    ("overview", "/overview?range=24h"),
                ]
                for name, path in shots:
                    _shoot(page, url + path, args.out / f"{name}.png")
                page.goto(url + demo)
                page.locator("#tree-body .span-row .span-name", has_text="gpt-4o").first.click()
                page.wait_for_selector("#detail .span-detail")
                page.screenshot(path=str(args.out / "span.png"), full_page=True)
                print(f"span.png  ({url}{demo}, a span opened)")
                browser.close()
        finally:
            process.terminate()
            process.wait(15)


if __name__ == "__main__":
    main()
