"""What a first visit from an opt-in place leaves in the browser before any choice: nothing.

The check the EDPS Website Evidence Collector makes, in a real Chromium against the demo
(which sets an analytics cookie on every page, carries tagged scripts and runs adblock
detection): cookies, localStorage and sessionStorage after the page has loaded and every
script, bait and beacon has had its time.
"""

from __future__ import annotations

import pytest


def storage(page) -> tuple[list[str], int, int]:
    cookies = sorted(c["name"] for c in page.context.cookies())
    local = page.evaluate("() => localStorage.length")
    session = page.evaluate("() => sessionStorage.length")
    return cookies, local, session


@pytest.mark.parametrize("place", ["DE", "FR", "GB"])
def test_nothing_is_stored_before_consent_in_opt_in_places(browser, demo_server, place):
    context = browser.new_context(extra_http_headers={"X-Gatekeeper-Country": place})
    try:
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(demo_server + "/", wait_until="load")
        page.wait_for_timeout(1500)  # the adblock check reports after 600 ms
        page.goto(demo_server + "/articles/saltings-lock-reopens", wait_until="load")
        page.wait_for_timeout(1500)
        assert storage(page) == ([], 0, 0)
        assert not any("/beacon" in url or "gpt.js" in url for url in requests)
        # Accepting stores the choice (and lets the rest run from then on).
        page.get_by_role("button", name="Accept all").first.click()
        page.wait_for_timeout(300)
        assert "gk_consent" in storage(page)[0]
    finally:
        context.close()


def test_where_no_consent_is_needed_detection_runs(browser, demo_server):
    context = browser.new_context(extra_http_headers={"X-Gatekeeper-Country": "JP"})
    try:
        page = context.new_page()
        with page.expect_request(lambda r: "/beacon" in r.url, timeout=10_000):
            page.goto(demo_server + "/", wait_until="load")
    finally:
        context.close()
