"""Headless Chromium over the dashboard: the browser test's helpers and the README screenshot.

Drives the system's Chromium (``/usr/bin/chromium``, Debian's ``chromium`` package; never a
downloaded browser) through Playwright's ``executable_path``, with a fresh profile folder and the
network features that would reach outside the machine switched off. The dashboard runs as
``chat-analytics dashboard`` on 127.0.0.1.

    python -m chat_analytics.serving.browser --out docs/dashboard.png [--page overview]

takes a screenshot of a page of the dashboard over the current published file
(``CHAT_ANALYTICS_PUBLISHED``); Playwright comes with the development dependencies.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CHART = '[data-testid="stPlotlyChart"]'
DRAWN_CHARTS = (
    "() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
    ".filter(chart => chart.querySelector('.main-svg .trace')).length"
)
"""JavaScript: how many Plotly charts of the page have drawn their plot area."""
EXCEPTION = '[data-testid="stException"]'


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_dashboard(
    *,
    published: Path | None = None,
    audit_dir: Path | None = None,
    port: int | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    timeout: float = 90.0,
) -> Iterator[str]:
    """Run `chat-analytics dashboard` on 127.0.0.1 until the block ends; yield its URL."""
    port = port or free_port()
    argv = [sys.executable, "-m", "chat_analytics.cli", "dashboard", "--port", str(port)]
    if published:
        argv += ["--published", str(published)]
    if audit_dir:
        argv += ["--audit-dir", str(audit_dir)]
    output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        argv,
        env=env or dict(os.environ),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"`{' '.join(argv)}` exited {process.returncode} (log: {log})")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not answer on {url} in {timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        _stop(process)
        if log:
            output.close()


def _stop(process: subprocess.Popen) -> None:
    """Stop the server and anything it started (it leads a process group of its own)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group
    except ProcessLookupError:
        pass
    process.wait()


@contextlib.contextmanager
def chromium(profile: Path | None = None, width: int = 1440, height: int = 1000):
    """A Playwright browser context in headless Chromium with a fresh profile folder."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} not found: install Debian's chromium package"
            " (apt-get install -y --no-install-recommends chromium)"
        )
    own = profile is None
    folder = Path(tempfile.mkdtemp(prefix="chromium-profile-")) if own else profile
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(folder),
                executable_path=str(CHROMIUM),
                headless=True,
                args=list(CHROMIUM_FLAGS),
                viewport={"width": width, "height": height},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


def drawn_charts(page) -> int:
    return int(page.evaluate(DRAWN_CHARTS))


def wait_for_page(page, charts: int, timeout_ms: int = 60_000) -> None:
    """Wait until the app has drawn at least ``charts`` charts and stopped running."""
    page.wait_for_function(
        f"n => ({DRAWN_CHARTS})() >= n", arg=charts, timeout=timeout_ms, polling=250
    )
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="hidden", timeout=timeout_ms)
    page.wait_for_timeout(500)  # let the last chart finish its transition


def screenshot(
    out: Path, page_name: str = "overview", charts: int = 2, width: int = 1440, height: int = 1400
) -> Path:
    """Serve the dashboard, open a page and save a screenshot of the browser window."""
    with serve_dashboard() as url, chromium(width=width, height=height) as context:
        page = context.new_page()
        page.goto(f"{url}/?page={page_name}")
        wait_for_page(page, charts)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot a page of the dashboard.")
    parser.add_argument("--out", type=Path, default=Path("docs/dashboard.png"))
    parser.add_argument("--page", default="overview", help="page name (default overview)")
    parser.add_argument("--charts", type=int, default=2, help="charts to wait for (default 2)")
    parser.add_argument("--width", type=int, default=1440, help="window width (default 1440)")
    parser.add_argument("--height", type=int, default=1400, help="window height (default 1400)")
    args = parser.parse_args(argv)
    print(screenshot(args.out, args.page, args.charts, args.width, args.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
