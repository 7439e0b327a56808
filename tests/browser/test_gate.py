"""The script gate in Chromium: with everything refused, no element of a refused category
loads or runs anything; after "Accept all" in the page, every one is back and does.

The page (tests/browser/gate_site.py) is served by `gatekeeper serve` with the demo policy,
whose "ads" hosts include `*.doubleclick.net`; Chromium maps every host name to the local
server, so tracker requests are observed with `page.on("request")` and never leave it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gatekeeper.demo import write_policy
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_port
from tests.browser.gate_site import ELEMENTS

REPO = Path(__file__).resolve().parents[2]
ACCEPT = '[data-gk-notice="consent"] button[value="accept_all"]'
SCRIPTS = {"classic", "jscript", "module", "inline", "svg-script"}
# Elements whose restoring is seen as a script run rather than (only) a request.
RUN_ONLY = {"inline"}


@pytest.fixture(scope="module")
def gate_server(tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("gate-data")
    policy = write_policy(data)
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gatekeeper.cli", "serve", "tests.browser.gate_site:app"),
            *("--policy", str(policy), "--port", str(port)),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
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


@pytest.fixture
def mapped_page(playwright_api):
    browser = playwright_api.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP * 127.0.0.1"],
    )
    context = browser.new_context()
    yield context.new_page()
    context.close()
    browser.close()


def tracker_requests(requests: list[str]) -> set[str]:
    names = set()
    for url in requests:
        path = urlsplit(url).path
        if path.startswith("/t/"):
            names.add(path[3:].rsplit(".", 1)[0])
    return names


def test_refused_elements_load_nothing_until_accepted(mapped_page, gate_server):
    page = mapped_page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(gate_server + "/", wait_until="load")
    page.wait_for_timeout(500)  # late loads: media, prefetches, frames
    assert tracker_requests(requests) == set(), "refused elements loaded"
    assert page.evaluate("window.__ran || []") == []

    page.click(ACCEPT)
    expected = set(ELEMENTS) - RUN_ONLY
    page.wait_for_function(
        "(n) => (window.__ran || []).length >= n", arg=len(SCRIPTS), timeout=10_000
    )
    deadline = 50
    while not expected <= tracker_requests(requests) and deadline:
        page.wait_for_timeout(200)
        deadline -= 1
    assert expected - tracker_requests(requests) == set(), "not restored"
    assert set(page.evaluate("window.__ran")) == SCRIPTS
    # Restored exactly: no gate attribute is left behind.
    assert (
        page.evaluate(
            "document.querySelectorAll('[data-gk-src], [data-gk-srcset], "
            "[data-gk-href], [data-gk-srcdoc], [data-gk-data], [data-gk-poster]').length"
        )
        == 0
    )
