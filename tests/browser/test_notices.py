"""The notices in a real browser (Chromium against `gatekeeper demo`): the notification
bar, the offline notice, the block page, small screens, reduced motion, dark mode, and
axe-core's WCAG 2.1 A/AA and best-practice rules on every page the demo serves.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import run_axe

BAR = '[data-gk-notice="notification"]'
BANNER = '[data-gk-notice="consent"]'
OFFLINE = '[data-gk-notice="offline"] .gk-offline'
REOPEN = "a[data-gk-reopen]"
QUICK = 5_000
ARTICLE = "/articles/night-ferry-returns"
PREFERENCES = "/_gatekeeper/preferences?next=/"
BLOCKED = "/?gk_country=AQ"

# Contrast of a colour pair, as WCAG 2 defines it.
CONTRAST_JS = """(el) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = rgb(c).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const style = getComputedStyle(el);
  const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def fresh(browser, **options):
    """A new browser context: a first-time visitor with nothing decided or dismissed."""
    return browser.new_context(**options)


# --- the notification bar ------------------------------------------------------------------


def test_notification_bar_with_its_links(page, demo_server):
    page.goto(demo_server + "/")
    bar = page.locator(BAR)
    assert bar.is_visible()
    assert bar.get_attribute("role") == "region"
    # In the page flow at the top of <body>, right after the site's skip link (which must
    # stay the first thing keyboard users reach): it pushes the page down.
    assert page.evaluate(
        """() => {
            const bar = document.querySelector('[data-gk-notice="notification"]');
            return bar.previousElementSibling.matches('a[href^="#"]');
        }"""
    )
    assert page.evaluate("document.body.firstElementChild.matches('a.skip-link')")
    assert "This is a demo of gatekeeper" in bar.text_content()
    links = {
        name: bar.get_by_role("link", name=name, exact=True).get_attribute("href")
        for name in ("Contact Us", "Buy Now!")
    }
    assert links == {"Contact Us": "/contact", "Buy Now!": "/articles/subscribe"}
    for name, path in links.items():
        with page.expect_navigation():
            page.locator(BAR).get_by_role("link", name=name, exact=True).click()
        assert page.url == demo_server + path
        assert page.locator("h1").is_visible()
        page.go_back()


def test_dismissed_notification_stays_gone(page, context, demo_server):
    page.goto(demo_server + "/")
    page.evaluate("window.__sameDocument = true")
    page.locator(BAR).get_by_role("button", name="Dismiss").click()
    page.wait_for_selector(BAR, state="detached", timeout=QUICK)
    assert page.evaluate("window.__sameDocument === true")  # no reload needed
    assert "gk_dismissed" in {c["name"] for c in context.cookies()}
    page.reload()
    assert page.locator(BAR).count() == 0
    page.goto(demo_server + "/contact")
    assert page.locator(BAR).count() == 0
    assert page.is_visible(BANNER)  # dismissing a notification decides nothing else


def test_dismiss_without_javascript(browser, demo_server):
    context = fresh(browser, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(demo_server + "/privacy")
        with page.expect_navigation():
            page.locator(BAR).get_by_role("button", name="Dismiss").click()
        assert page.url == demo_server + "/privacy"
        assert page.locator(BAR).count() == 0
        page.goto(demo_server + "/")
        assert page.locator(BAR).count() == 0
    finally:
        context.close()


# --- the offline notice --------------------------------------------------------------------


def test_offline_notice_follows_the_connection(page, context, demo_server):
    page.goto(demo_server + "/")
    notice = page.locator(OFFLINE)
    assert notice.count() == 1 and not notice.is_visible()
    assert page.get_attribute('[data-gk-notice="offline"]', "role") == "status"
    context.set_offline(True)
    notice.wait_for(state="visible", timeout=QUICK)
    assert "offline" in notice.text_content()
    context.set_offline(False)
    notice.wait_for(state="hidden", timeout=QUICK)


# --- the block page ------------------------------------------------------------------------


def test_block_page(page, context, demo_server):
    response = page.goto(demo_server + BLOCKED)
    assert response.status == 451
    assert response.headers["cache-control"] == "no-store"
    assert page.get_attribute("html", "data-gk-notice") == "block"
    assert page.locator("h1").text_content() == "This page is not available in your region"
    assert page.get_by_role("link", name="Contact us").get_attribute("href") == "/contact"
    assert page.locator(BANNER).count() == 0
    assert page.evaluate("document.documentElement.dataset.analytics") is None
    assert "_ga" not in {c["name"] for c in context.cookies()}
    # The pages the block page points to stay reachable from the blocked place.
    assert page.goto(demo_server + "/contact?gk_country=AQ").status == 200


# --- small screens, motion, colour scheme ---------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/privacy", "/contact", ARTICLE, PREFERENCES, BLOCKED])
def test_usable_at_320_css_pixels(browser, demo_server, path):
    context = fresh(browser, viewport={"width": 320, "height": 568})
    try:
        page = context.new_page()
        page.goto(demo_server + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        buttons = page.locator(f"{BANNER} .gk-layer1 .gk-btn, main button, main a.gk-btn")
        for index in range(buttons.count()):
            button = buttons.nth(index)
            button.scroll_into_view_if_needed()
            box = button.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 320, (path, box)
            assert box["y"] >= 0 and box["y"] + box["height"] <= 568 + 1, (path, box)
            assert box["height"] >= 24 and box["width"] >= 24  # WCAG 2.2 target size
    finally:
        context.close()


def test_banner_fits_a_small_screen_with_the_switches_open(browser, demo_server):
    context = fresh(browser, viewport={"width": 320, "height": 568})
    try:
        page = context.new_page()
        page.goto(demo_server + "/")
        box = page.locator(BANNER).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 320
        assert box["y"] >= 0 and box["y"] + box["height"] <= 568
        page.click(f"{BANNER} [data-gk-customise]")
        save = page.locator(f'{BANNER} button[value="save"]')
        save.scroll_into_view_if_needed()  # the banner scrolls inside itself
        box = save.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 568
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
    finally:
        context.close()


@pytest.mark.parametrize(("motion", "animation"), [("reduce", "none"), ("no-preference", "gk-in")])
def test_banner_animates_only_without_reduced_motion(browser, demo_server, motion, animation):
    context = fresh(browser, reduced_motion=motion)
    try:
        page = context.new_page()
        page.goto(demo_server + "/")
        name = page.eval_on_selector(BANNER, "el => getComputedStyle(el).animationName")
        assert name == animation
    finally:
        context.close()


def test_dark_mode_restyles_the_notices_and_keeps_them_readable(page, demo_server):
    page.goto(demo_server + "/")
    colours = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        colours[scheme] = page.eval_on_selector(
            BANNER, "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]"
        )
        for selector in (BANNER, BAR, f'{BANNER} button[value="accept_all"]'):
            ratio = page.eval_on_selector(selector, CONTRAST_JS)
            assert ratio >= 4.5, (scheme, selector, ratio)
    assert colours["light"][0] == "rgb(255, 255, 255)"
    assert colours["dark"][0] != colours["light"][0]
    assert colours["dark"][1] != colours["light"][1]


def test_hovered_banner_buttons_keep_their_colours_in_dark_mode(browser, demo_server):
    context = fresh(browser, color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(demo_server + "/")
        for action in ("accept_all", "reject_all"):
            button = f'{BANNER} button[value="{action}"]'
            page.hover(button)
            ratio = page.eval_on_selector(button, CONTRAST_JS)
            assert ratio >= 4.5, (action, ratio)
    finally:
        context.close()


# --- axe-core --------------------------------------------------------------------------------


def _violations(page, axe_source) -> list[dict]:
    page.mouse.move(0, 0)  # no hover state
    return run_axe(page, axe_source)


def _report(violations: list[dict]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {', '.join(v['nodes'])}" for v in violations)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/privacy",
        "/contact",
        ARTICLE,
        PREFERENCES,
        BLOCKED,
    ],
)
def test_axe_finds_nothing_with_the_notices_present(page, demo_server, axe_source, path):
    response = page.goto(demo_server + path)
    assert response.status == (451 if path == BLOCKED else 200)
    if path not in (PREFERENCES, BLOCKED):
        assert page.is_visible(BANNER) and page.is_visible(BAR)
    assert not (found := _violations(page, axe_source)), _report(found)


@pytest.mark.parametrize(
    ("situation", "path"),
    [
        ("customise-open", "/privacy"),
        ("offline", "/privacy"),
    ],
)
def test_axe_with_the_second_layer_or_the_offline_notice(
    page, context, demo_server, axe_source, situation, path
):
    page.goto(demo_server + path)
    if situation == "customise-open":
        page.click(f"{BANNER} [data-gk-customise]")
        assert page.is_visible(f"{BANNER} .gk-layer2")
    else:
        context.set_offline(True)
        page.locator(OFFLINE).wait_for(state="visible", timeout=QUICK)
    try:
        assert not (found := _violations(page, axe_source)), _report(found)
    finally:
        context.set_offline(False)


def test_axe_on_the_preferences_page_in_dark_mode(browser, demo_server, axe_source):
    context = fresh(browser, color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(demo_server + PREFERENCES)
        assert not (found := _violations(page, axe_source)), _report(found)
    finally:
        context.close()


def test_axe_on_the_block_page_in_dark_mode(browser, demo_server, axe_source):
    context = fresh(browser, color_scheme="dark")
    try:
        page = context.new_page()
        assert page.goto(demo_server + BLOCKED).status == 451
        assert not (found := _violations(page, axe_source)), _report(found)
    finally:
        context.close()


@pytest.mark.parametrize("place", ["decided", "US-CA"])
def test_axe_with_the_reopen_link(page, demo_server, axe_source, place):
    if place == "decided":
        page.goto(demo_server + "/_gatekeeper/preferences?next=/privacy")
        with page.expect_navigation():
            page.click('button[value="reject_all"]')
    else:
        page.goto(demo_server + "/privacy?gk_country=US-CA")
    assert page.is_visible(REOPEN)
    assert not (found := _violations(page, axe_source)), _report(found)
