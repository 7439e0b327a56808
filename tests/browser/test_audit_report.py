"""The evidence report in Chromium: opened from the file an auditor keeps, it renders,
runs no script, asks for nothing outside itself, passes axe-core, and prints to PDF."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gatekeeper.audit import ConsentLog
from gatekeeper.audit.evidence import gather, render
from gatekeeper.audit.period import moment
from gatekeeper.html.render import Renderer
from gatekeeper.policy import load_policy
from tests.audit.conftest import Clock, event, write_key
from tests.browser.conftest import run_axe
from tests.conftest import BASE_POLICY


def write_report(folder: Path) -> Path:
    write_key(folder / "key.pem")
    policy_path = folder / "policy.yaml"
    policy_path.write_text(
        BASE_POLICY + 'audit:\n  store: "sqlite:///consent.db"\n  signing_key: key.pem\n'
        "  checkpoint_every: 25\n",
        encoding="utf-8",
    )
    policy = load_policy(policy_path)

    async def build() -> str:
        log = ConsentLog.from_policy(policy)
        log.clock = Clock(datetime(2026, 11, 1, 8, 0, tzinfo=UTC))
        try:
            digest = await log.archive_texts("r1", "en", {"title": "Your privacy"})
            for n in range(120):  # four a day over November, a varied mix of choices
                log.clock.now += timedelta(hours=6)
                await log.append(event(n * 7, texts_hash=digest, consent_id=f"v-{n}"))
        finally:
            await log.close()
        log = ConsentLog.from_policy(policy, autostart=False)
        try:
            evidence = await gather(
                log,
                policy.site.name,
                since=moment("2026-11-01"),
                until=moment("2026-11-30", until=True),
                shown_since="2026-11-01",
                shown_until="2026-11-30",
            )
        finally:
            await log.close()
        return render(evidence, Renderer(default_language="en"))

    with ThreadPoolExecutor(1) as pool:  # Playwright's own event loop runs in this thread
        html = pool.submit(asyncio.run, build()).result()
    report = folder / "evidence-2026-11.html"
    report.write_text(html, encoding="utf-8")
    return report


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    return write_report(tmp_path_factory.mktemp("evidence"))


def test_the_report_renders_alone_and_prints(browser, report_file):
    context = browser.new_context()
    try:
        page = context.new_page()
        requested: list[str] = []
        problems: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(report_file.as_uri())
        page.wait_for_load_state("load")

        assert requested == [report_file.as_uri()]  # nothing from anywhere else
        assert problems == []  # no CSP violation, no error
        assert page.locator("script").count() == 0
        assert page.locator("h1").inner_text() == "Consent log evidence: Test News"
        assert page.locator(".status").inner_text().startswith("OK")
        # The inline styles applied (the report's CSP allows them, and only them).
        assert (
            page.evaluate("() => getComputedStyle(document.querySelector('.ok')).borderStyle")
            == "solid"
        )
        charts = page.locator("svg.gk-svg")
        assert charts.count() == 2
        for index in range(2):
            box = charts.nth(index).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
        # 30 days of bars, and a line per rate.
        assert page.locator("svg.gk-svg rect").count() >= 30
        assert page.locator("svg.gk-svg polyline").count() >= 3
        assert page.get_by_role("row").filter(has_text="2026-11-15").count() >= 1

        pdf = page.pdf(format="A4", print_background=True)
        assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
        assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 2
    finally:
        context.close()


def test_the_report_passes_axe(browser, report_file, axe_source):
    context = browser.new_context(bypass_csp=True)  # for the axe script only
    try:
        page = context.new_page()
        page.goto(report_file.as_uri())
        assert run_axe(page, axe_source) == []
    finally:
        context.close()
