"""The consent banner in a real browser: Chromium against `gatekeeper demo`.

The demo server listens on loopback, a location no database knows, which the demo policy
treats as opt-in: every fresh browser context is a first-time visitor who sees the banner.
The demo site sets `_ga` on every page and carries a tagged analytics script that, once it
runs, sets `<html data-analytics="loaded">` and writes "Analytics: active" in the footer.
"""

from __future__ import annotations

import time

import pytest

from gatekeeper.consent.state import ConsentCookie, ConsentState
from gatekeeper.policy import parse_policy

CONSENT = "/_gatekeeper/consent"
BANNER = '[data-gk-notice="consent"]'
FIRST_LAYER = f"{BANNER} .gk-banner"
REOPEN = "a[data-gk-reopen]"
ACCEPT = f'{BANNER} button[value="accept_all"]'
REJECT = f'{BANNER} button[value="reject_all"]'
CUSTOMISE = f"{BANNER} [data-gk-customise]"
PAGES = ("/", "/articles/night-ferry-returns", "/privacy", "/contact", "/articles/subscribe")
QUICK = 5_000  # ms: everything here is local; a wait this long means it is not coming


def analytics_loaded(page) -> bool:
    return page.evaluate("document.documentElement.dataset.analytics === 'loaded'")


def cookie_names(context) -> set[str]:
    return {cookie["name"] for cookie in context.cookies()}


def state(page, base: str) -> dict:
    """GET {prefix}/consent with the browser's own cookies."""
    response = page.request.get(base + CONSENT, headers={"Accept": "application/json"})
    assert response.ok
    return response.json()


def mark_document(page) -> None:
    """Tag the live document: the tag disappears if the page navigates or reloads."""
    page.evaluate("window.__sameDocument = true")


def same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def wait_focus(page, selector: str) -> None:
    page.wait_for_function(
        "(s) => document.activeElement && document.activeElement.matches(s)",
        arg=selector,
        timeout=QUICK,
    )


def decide_on_preferences_page(page, base: str, action: str, *categories: str) -> None:
    """Decide through the preferences page: a plain form, no gatekeeper.js involved."""
    page.goto(f"{base}/_gatekeeper/preferences?next=/privacy")
    for name in categories:
        page.check(f'input[name="categories"][value="{name}"]')
    with page.expect_navigation():
        page.click(f'button[value="{action}"]')
    assert page.url == base + "/privacy"


def test_first_visit_shows_the_banner_focused_and_runs_nothing(page, context, demo_server):
    response = page.goto(demo_server + "/")
    assert response.status == 200
    assert page.locator(BANNER).count() == 1
    assert page.is_visible(FIRST_LAYER)
    for control in (ACCEPT, REJECT, CUSTOMISE):
        assert page.is_visible(control)
    assert not page.is_visible(f"{BANNER} .gk-layer2")
    assert not page.is_visible(REOPEN)
    # Keyboard focus goes into the banner, so it is the first thing a keyboard user meets.
    wait_focus(page, FIRST_LAYER)
    # The tagged script arrived inert, and the app's _ga never reached the browser.
    assert page.locator('script[data-consent="analytics"][type="text/plain"]').count() == 2
    assert not analytics_loaded(page)
    assert page.text_content("#analytics-status") == "Analytics: inactive"
    assert "_ga" not in cookie_names(context)
    assert state(page, demo_server)["decided"] is False


def test_accept_runs_analytics_at_once_without_a_reload(page, context, demo_server):
    page.goto(demo_server + "/")
    wait_focus(page, FIRST_LAYER)
    mark_document(page)
    page.click(ACCEPT)
    page.wait_for_function("document.documentElement.dataset.analytics === 'loaded'", timeout=QUICK)
    page.wait_for_function(
        "document.getElementById('analytics-status').textContent === 'Analytics: active'",
        timeout=QUICK,
    )
    assert same_document(page)  # no navigation, no reload
    assert page.url == demo_server + "/"
    assert page.locator(BANNER).count() == 0
    assert page.is_visible(REOPEN)
    wait_focus(page, REOPEN)  # focus is not lost with the banner
    updates = page.evaluate(
        "(window.dataLayer || []).filter(a => a[0] === 'consent' && a[1] === 'update')"
        ".map(a => a[2])"
    )
    assert updates and updates[-1]["analytics_storage"] == "granted"

    consent = next(c for c in context.cookies() if c["name"] == "gk_consent")
    assert consent["httpOnly"] is True
    assert state(page, demo_server)["categories"] == {
        "necessary": True,
        "analytics": True,
        "ads": True,
    }
    page.reload()
    assert page.locator(BANNER).count() == 0
    assert analytics_loaded(page)
    assert "_ga" in cookie_names(context)


def test_keyboard_only_decision_lands_focus_on_the_reopen_link(page, demo_server):
    page.goto(demo_server + "/privacy")
    wait_focus(page, FIRST_LAYER)
    mark_document(page)
    page.keyboard.press("Tab")
    wait_focus(page, f'{BANNER} a[href="/privacy"]')  # the privacy policy, in the text
    page.keyboard.press("Tab")
    wait_focus(page, ACCEPT)
    page.keyboard.press("Tab")
    wait_focus(page, REJECT)
    page.keyboard.press("Enter")
    page.wait_for_selector(BANNER, state="detached", timeout=QUICK)
    wait_focus(page, REOPEN)
    assert same_document(page)
    assert state(page, demo_server)["decided"] is True


def test_reject_keeps_analytics_off_on_every_later_page(page, context, demo_server):
    page.goto(demo_server + "/")
    mark_document(page)
    page.click(REJECT)
    page.wait_for_selector(BANNER, state="detached", timeout=QUICK)
    assert same_document(page)
    assert state(page, demo_server) | {"consent_id": None} == {
        "decided": True,
        "mode": "opt_in",
        "consent_id": None,
        "categories": {"necessary": True, "analytics": False, "ads": False},
        "consent_mode": {
            "ad_personalization": "denied",
            "ad_storage": "denied",
            "ad_user_data": "denied",
            "analytics_storage": "denied",
        },
        "gpc": False,
    }
    for path in PAGES:
        response = page.goto(demo_server + path)
        assert response.status == 200
        assert page.locator(BANNER).count() == 0, path
        assert page.is_visible(REOPEN)
        assert not analytics_loaded(page)
        # The demo sets _ga on every one of these responses; none reaches the browser.
        assert "_ga" not in cookie_names(context), path
    assert "gk_consent" in cookie_names(context)


def test_customise_opens_the_switches_in_place_and_saves_analytics_only(page, context, demo_server):
    page.goto(demo_server + "/")
    mark_document(page)
    page.click(CUSTOMISE)
    assert page.url == demo_server + "/"  # not the preferences page: the same document
    assert page.is_visible(f"{BANNER} .gk-layer2")
    assert page.get_attribute(CUSTOMISE, "aria-expanded") == "true"
    wait_focus(page, f'{BANNER} input[value="analytics"]')
    boxes = page.locator(f'{BANNER} input[name="categories"]')
    assert boxes.evaluate_all("els => els.filter(e => e.checked).map(e => e.value)") == [
        "necessary"
    ]
    page.check(f'{BANNER} input[value="analytics"]')
    page.click(f'{BANNER} button[value="save"]')
    page.wait_for_function("document.documentElement.dataset.analytics === 'loaded'", timeout=QUICK)
    assert same_document(page)
    assert page.locator(BANNER).count() == 0
    assert state(page, demo_server)["categories"] == {
        "necessary": True,
        "analytics": True,
        "ads": False,
    }
    page.goto(demo_server + "/contact")
    assert "_ga" in cookie_names(context)


def test_withdraw_on_the_preferences_page(page, context, demo_server):
    decide_on_preferences_page(page, demo_server, "accept_all")
    assert page.locator(BANNER).count() == 0
    assert analytics_loaded(page)
    assert "_ga" in cookie_names(context)
    consent_id = state(page, demo_server)["consent_id"]

    # With JavaScript the link opens the preferences in a dialog on the page (see
    # tests/browser/test_layout.py); its address is the preferences page, for browsers
    # without JavaScript.
    page.goto(demo_server + page.get_attribute(REOPEN, "href"))
    assert page.url == demo_server + "/_gatekeeper/preferences?next=/privacy"
    checked = page.locator('input[name="categories"]:checked')
    assert checked.evaluate_all("els => els.map(e => e.value)") == [
        "necessary",
        "analytics",
        "ads",
    ]
    assert consent_id in page.text_content("main")
    with page.expect_navigation():
        page.click('button[value="withdraw"]')
    assert page.url == demo_server + "/privacy"
    assert "_ga" not in cookie_names(context)  # expired by the answer to the withdrawal
    assert not analytics_loaded(page)
    assert page.locator(BANNER).count() == 0
    assert page.is_visible(REOPEN)
    after = state(page, demo_server)
    assert after["consent_id"] == consent_id and after["decided"] is True
    assert after["categories"] == {"necessary": True, "analytics": False, "ads": False}
    page.goto(demo_server + "/")
    assert "_ga" not in cookie_names(context)


@pytest.mark.parametrize("choice", ["accept_all", "reject_all", "customise"])
def test_everything_works_without_javascript(browser, demo_server, choice):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(demo_server + "/privacy")
        assert page.is_visible(FIRST_LAYER)
        if choice == "customise":
            # Without JavaScript, Customise is a link to the preferences page.
            with page.expect_navigation():
                page.click(CUSTOMISE)
            assert page.url == demo_server + "/_gatekeeper/preferences?next=/privacy"
            page.check('input[value="analytics"]')
            with page.expect_navigation():
                page.click('button[value="save"]')
        else:
            with page.expect_navigation():
                page.click(f'{BANNER} button[value="{choice}"]')
        assert page.url == demo_server + "/privacy"  # 303 back to where the visitor was
        assert page.locator(BANNER).count() == 0
        assert page.locator(REOPEN).count() == 1
        expected = {
            "accept_all": {"analytics": True, "ads": True},
            "reject_all": {"analytics": False, "ads": False},
            "customise": {"analytics": True, "ads": False},
        }[choice]
        assert state(page, demo_server)["categories"] == {"necessary": True, **expected}
        page.goto(demo_server + "/")
        assert ("_ga" in cookie_names(context)) is expected["analytics"]
        assert page.locator(BANNER).count() == 0
    finally:
        context.close()


def _tamper(value: str) -> str:
    at = len(value) // 3  # inside the signed payload
    return value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1 :]


def _forged() -> str:
    """A well-formed consent cookie of the demo's revision, signed with a key not the demo's."""
    policy = parse_policy(
        """
site: {name: Forger, revision: "demo-2026-11"}
secret_keys: ["not-the-demo-secret-0123456789abcdefghij"]
consent:
  categories:
    necessary: {required: true, label: N}
    analytics: {label: A}
    ads: {label: Ads}
""",
        env={},
    )
    state = ConsentState("forged", "demo-2026-11", {"analytics": True, "ads": True},
                         int(time.time()), "opt_in")  # fmt: skip
    return ConsentCookie(policy).dumps(state)


@pytest.mark.parametrize("how", ["modified", "forged"])
def test_a_tampered_cookie_brings_the_banner_back(page, context, demo_server, how):
    decide_on_preferences_page(page, demo_server, "accept_all")
    assert page.locator(BANNER).count() == 0
    original = next(c for c in context.cookies() if c["name"] == "gk_consent")
    value = _tamper(original["value"]) if how == "modified" else _forged()

    context.clear_cookies()
    context.add_cookies([{**original, "value": value}])
    page.goto(demo_server + "/")
    assert page.is_visible(FIRST_LAYER)
    wait_focus(page, FIRST_LAYER)
    assert not analytics_loaded(page)
    assert "_ga" not in cookie_names(context)
    assert state(page, demo_server)["decided"] is False

    context.clear_cookies()
    context.add_cookies([original])  # the control: the untouched cookie still holds
    page.goto(demo_server + "/")
    assert page.locator(BANNER).count() == 0
    assert analytics_loaded(page)


def test_no_page_runs_analytics_before_consent(page, context, demo_server):
    response = page.goto(demo_server + "/articles/no-such-story")
    assert response.status == 404
    page.wait_for_load_state("load")
    assert "_ga" not in cookie_names(context)  # cookies are filtered on every response
    assert not analytics_loaded(page)
