"""Real-browser tests: Debian's Chromium driven by Playwright, against a real server.

Skipped with the reason where Chromium, Playwright or axe-core is missing; under
GATEKEEPER_TEST_STRICT=1 (CI) those skips are failures.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("GATEKEEPER_CHROMIUM", "/usr/bin/chromium")
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {timeout}s")


@pytest.fixture(scope="session")
def playwright_api():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed (pip install -e '.[dev]')")
    require(
        bool(shutil.which(CHROMIUM)) or Path(CHROMIUM).exists(),
        f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)",
    )
    with sync_playwright() as api:
        yield api


@pytest.fixture(scope="session")
def browser(playwright_api):
    browser = playwright_api.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context()
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture(scope="session")
def axe_source() -> str:
    require(AXE.exists(), f"axe-core not installed at {AXE} (npm install --prefix tests/browser)")
    return AXE.read_text(encoding="utf-8")


def run_axe(page, axe_source: str) -> list[dict]:
    """axe-core's violations for the current page (WCAG 2.x A and AA rules)."""
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    return result


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[str]:
    """`gatekeeper demo` in a subprocess, as a user starts it; yields its base URL."""
    data = tmp_path_factory.mktemp("demo-data")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gatekeeper.cli", "demo", "--port", str(port), "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
