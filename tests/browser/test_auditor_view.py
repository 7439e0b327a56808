"""The auditor view in Chromium: records -> one consent's history -> verification -> stats
-> adblock rates.

A uvicorn subprocess serves the demo site wrapped by Gatekeeper, on the demo policy with
the auditor view enabled behind a token. Consents are posted to it over HTTP first, one
of them from a user agent that holds markup. The walk runs under the view's own strict
CSP (no console errors, no blocked stylesheet); axe-core then checks each page it
visited, in a context that lets the axe script in.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from gatekeeper.adblock.store import open_store
from gatekeeper.demo import write_policy
from tests.browser.conftest import free_port, run_axe, wait_for_port
from tests.conftest import REPO

TOKEN = "auditor-token-0123456789abcdefghij"
AUDIT = "/_gatekeeper/audit"
MARKUP_GROUP = "/<script>window.pwned = 1</script>"
MARKUP_AGENT = "<script>window.pwned = 1</script><img src=x> Mozilla/5.0 (auditor test)"

SERVER = """
import sys
import uvicorn
from gatekeeper import Gatekeeper
from gatekeeper.demo.site import create_app

policy_path, port = sys.argv[1], int(sys.argv[2])
app = Gatekeeper(create_app(), policy=policy_path)
print("auditor view server on", port, flush=True)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
"""


@dataclass(frozen=True)
class Server:
    base: str
    policy: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("auditor-view")
    policy_path = write_policy(data)
    policy = yaml.safe_load(policy_path.read_text(encoding="utf-8"))
    policy["audit"]["view"] = {"enabled": True, "token": TOKEN}
    policy_path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    seed_adblock_counts(policy["audit"]["store"])
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(policy_path), str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, process)
        base = f"http://127.0.0.1:{port}"
        post_consents(base)
        yield Server(base, policy_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def seed_adblock_counts(store_url: str) -> None:
    """Verdict counts in the consent log's database, written by the adblock store code."""
    counts = {
        ("2026-11-27", "DE", "/articles", "blocked"): 3,
        ("2026-11-27", "DE", "/articles", "allowed"): 1,
        ("2026-11-28", "FR", "/", "allowed"): 4,
        ("2026-11-28", "JP", MARKUP_GROUP, "no_js"): 1,
    }
    with ThreadPoolExecutor(1) as pool:  # Playwright's own event loop runs in this thread
        pool.submit(asyncio.run, open_store(store_url).add(counts)).result()


def post_consents(base: str) -> None:
    """Decisions from three places; one visitor decides twice, one sends markup."""
    plan = [
        ("DE", "accept_all", "Mozilla/5.0 (visitor one)"),
        ("US-CA", "reject_all", "Mozilla/5.0 (visitor two)"),
        ("JP", "accept_all", MARKUP_AGENT),
        ("FR", "reject_all", "Mozilla/5.0 (visitor four)"),
    ]
    for place, action, agent in plan:
        with httpx.Client(base_url=base, timeout=10) as client:
            headers = {
                "User-Agent": agent,
                "Sec-Fetch-Site": "same-origin",
                "X-Gatekeeper-Country": place,
            }
            response = client.post(
                "/_gatekeeper/consent", data={"action": action, "next": "/"}, headers=headers
            )
            assert response.status_code == 303, response.text
            if place == "DE":  # the same visitor changes their mind
                response = client.post(
                    "/_gatekeeper/consent",
                    data={"action": "save", "categories": ["analytics"], "next": "/"},
                    headers=headers,
                )
                assert response.status_code == 303, response.text


def test_an_auditor_walks_the_view_and_every_page_passes_axe(browser, server, axe_source):
    strict = browser.new_context()  # the view's own CSP applies
    page = strict.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    # Chromium asks for /favicon.ico on its own, and logs the site's 404 as a console
    # error that names no URL: failed loads are judged by their responses instead.
    missing: list[str] = []
    page.on(
        "response",
        lambda r: (
            missing.append(r.url)
            if r.status == 404 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    visited: list[str] = []

    def arrived(title: str) -> None:
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text() == title
        assert page.locator("script").count() == 0  # no script, and none smuggled in
        assert page.evaluate("() => window.pwned") is None
        assert page.locator("main").count() == 1
        # The stylesheet loaded under `style-src 'self'`.
        assert (
            page.evaluate(
                "() => getComputedStyle(document.querySelector('.gk-audit-header')).display"
            )
            == "flex"
        )
        visited.append(page.url)

    try:
        # Without credentials: a sign-in page, nothing of the log.
        response = page.goto(server.base + AUDIT)
        assert response is not None and response.status == 401
        assert page.locator("table").count() == 0
        problems.clear()  # Chromium logs the 401 itself as a console error

        # Signing in with the token: it leaves the address bar, a cookie carries on.
        page.get_by_label("Access token").fill(TOKEN)
        page.get_by_role("button", name="Open the consent log").click()
        arrived("Consent records")
        assert "token" not in page.url
        rows = page.locator("table tbody tr")
        assert rows.count() == 5
        agents = page.locator("td.gk-ua").all_inner_texts()
        assert MARKUP_AGENT in agents  # shown as text, not run

        # Filters: the US-CA decision was made under opt-out.
        page.get_by_label("Mode").select_option("opt_out")
        page.get_by_role("button", name="Apply filters").click()
        arrived("Consent records")
        assert "mode=opt_out" in page.url
        assert page.locator("table tbody tr").count() == 1
        page.get_by_role("link", name="Clear filters").click()
        arrived("Consent records")

        # A consent id -> its history: the visitor who decided twice.
        history_links = page.locator("table tbody a[href*='consent?id=']")
        first = history_links.first
        consent_id = first.inner_text()
        first.click()
        arrived("Consent history")
        assert consent_id in page.locator("h2#gk-history-title").inner_text()
        assert page.locator("table tbody tr").count() == 2
        assert page.get_by_text("What the visitor was shown").count() == 1

        page.get_by_role("link", name="Verification").click()
        arrived("Verification")
        assert page.locator(".gk-status").inner_text().startswith("OK")

        page.get_by_role("link", name="Statistics").click()
        arrived("Statistics")
        assert page.get_by_role("table").count() >= 3
        # 2 of 5 decisions accepted all (the update chose analytics only): 40% as text,
        # and as a bar 40% of its track.
        total = page.locator("tr.gk-total")
        assert "40.0%" in total.inner_text()
        fill = total.locator(".gk-fill").first
        track = total.locator(".gk-bar").first
        ratio = fill.bounding_box()["width"] / track.bounding_box()["width"]
        assert 0.35 < ratio < 0.45
        # The charts over time, inline SVG under the same CSP: drawn, and titled.
        charts = page.locator("svg.gk-svg")
        assert charts.count() == 2
        for index in range(2):
            box = charts.nth(index).bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 100
        assert page.locator("svg.gk-svg rect").count() >= 1  # a bar for each day's choices
        assert page.get_by_role("link", name="Download the evidence report").count() == 1

        # Adblock rates: by day, country and path group, from the counts seeded above.
        page.get_by_role("link", name="Adblock").click()
        arrived("Adblock rates")
        assert page.get_by_role("table").count() == 3
        assert MARKUP_GROUP in page.locator("main").inner_text()  # text, not markup
        day = page.get_by_role("row", name="2026-11-27")
        assert "75.0%" in day.inner_text()
        ratio = (
            day.locator(".gk-fill").bounding_box()["width"]
            / day.locator(".gk-bar").bounding_box()["width"]
        )
        assert 0.7 < ratio < 0.8

        # Keyboard: the skip link comes first and shows where focus is.
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent")
        assert focused == "Skip to content"
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"

        assert missing == [], missing
        failed_loads = [p for p in problems if p.startswith("Failed to load resource")]
        assert [p for p in problems if p not in failed_loads] == [], problems
        # Every failed load was a response seen above (a 401 or a favicon), or none at all.
        assert all("404" in p or "401" in p for p in failed_loads), failed_loads
    finally:
        strict.close()

    # axe-core on every page visited, signed in by header, with CSP bypassed for axe only.
    checker = browser.new_context(
        bypass_csp=True, extra_http_headers={"Authorization": f"Bearer {TOKEN}"}
    )
    try:
        axe_page = checker.new_page()
        assert len(visited) >= 6
        for url in dict.fromkeys(visited):
            axe_page.goto(url)
            violations = run_axe(axe_page, axe_source)
            assert violations == [], (url, violations)
    finally:
        checker.close()


def test_the_pages_refuse_without_the_token_and_are_not_cached(browser, server):
    context = browser.new_context()
    try:
        page = context.new_page()
        for path in ("", "/verify", "/stats", "/adblock", "/consent?id=x", "/export.csv"):
            response = page.goto(server.base + AUDIT + path)
            assert response is not None and response.status == 401, path
            headers = response.headers
            assert headers["cache-control"] == "no-store"
            assert "default-src 'none'" in headers["content-security-policy"]
        wrong = page.goto(f"{server.base}{AUDIT}?token=not-the-token")
        assert wrong is not None and wrong.status == 401
        assert context.cookies() == []
    finally:
        context.close()
