"""The notices together, in Chromium: every button and link a visitor needs is the topmost
element at its centre and takes a click, with every combination of notices, on a desktop
and on a 390x844 phone; the preferences dialog's focus handling; notice mode's acknowledge
button and the GPC line end to end; no English left for German, French and Japanese
visitors; axe-core on the combinations.

The site is the demo news site on the demo policy (every bundled language), served twice:
with the adblock notice and with the wall. A visitor "with a blocker" carries a signed
`gk_adblock` cookie saying so, which makes the server show the notice at once (see
`AdblockFeature.display`), and their browser loses the script bait, so the check in the
page confirms it (the verdict is "blocked", the notice stays). Real blockers on real
filter lists are tests/browser/test_adblock.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gatekeeper.adblock.cookie import AdblockCookie, AdblockState
from gatekeeper.demo import write_policy
from gatekeeper.i18n import catalogue
from gatekeeper.i18n.extract import extract, read
from tests.browser.conftest import free_port, run_axe, wait_for_port
from tests.i18n.test_catalogues import path_of

QUICK = 10_000  # ms
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ARTICLE = "/articles/night-ferry-returns"
BANNER = '[data-gk-notice="consent"]'
NOTICE = '[data-gk-notice="adblock"]'
BAR = '[data-gk-notice="notification"]'
DIALOG = 'dialog[data-gk-notice="preferences"]'
PILL = "a[data-gk-reopen]"
OFFLINE = '[data-gk-notice="offline"] .gk-offline'

SERVER = """\
import sys
import uvicorn
from gatekeeper import Gatekeeper
from gatekeeper.demo.site import create_app
uvicorn.run(Gatekeeper(create_app(), policy=sys.argv[1]), host="127.0.0.1",
            port=int(sys.argv[2]), log_level="warning", proxy_headers=False)
"""


@dataclass
class Site:
    base: str
    secret: str
    process: subprocess.Popen[bytes]

    def url(self, path: str = "/", place: str | None = None) -> str:
        return self.base + path + (f"?gk_country={place}" if place else "")


def start(folder: Path, adblock: str) -> Site:
    policy_path = write_policy(folder)
    policy = yaml.safe_load(policy_path.read_text(encoding="utf-8"))
    policy["adblock"]["mode"] = adblock
    # Detection that waits for consent would show no notice beside the first layer, the
    # very combination under test.
    policy["adblock"]["requires_consent"] = "none"
    policy_path.write_text(
        yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(policy_path), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process)
    return Site(f"http://127.0.0.1:{port}", policy["secret_keys"][0], process)


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[dict[str, Site]]:
    started = {
        mode: start(tmp_path_factory.mktemp(f"layout-{mode}"), mode) for mode in ("notice", "wall")
    }
    try:
        yield started
    finally:
        for site in started.values():
            site.process.terminate()
            try:
                site.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                site.process.kill()


def visitor(
    browser, site: Site, *, blocker: bool, viewport: dict, place: str | None = None, **options
):
    """A browser context for one visitor; with a blocker, as the module docstring says.
    `place` goes in the demo's debug header on every request, the page's own included."""
    if place:
        headers = options.setdefault("extra_http_headers", {})
        headers["X-Gatekeeper-Country"] = place
    context = browser.new_context(viewport=viewport, **options)
    if blocker:
        value = AdblockCookie([site.secret]).dumps(AdblockState("blocked"))
        context.add_cookies([{"name": "gk_adblock", "value": value, "url": site.base}])
        context.route("**/_gatekeeper/prebid/**", lambda route: route.abort("blockedbyclient"))
    return context


def checked(page, url: str) -> None:
    """Load a page and wait until its adblock check has answered."""
    page.goto(url)
    page.wait_for_function(
        "document.documentElement.dataset.gkAdblock !== undefined", timeout=QUICK
    )


def decide(page, site: Site, place: str, action: str = "reject_all") -> None:
    answer = page.request.post(
        site.url("/_gatekeeper/consent", place),
        form={"action": action, "next": "/"},
        headers={"Origin": site.base},
        max_redirects=0,
    )
    assert answer.status == 303


# What a visitor must be able to reach, wherever it is shown.
TARGETS = {
    "consent buttons": f"{BANNER} .gk-layer1 .gk-btn",
    "privacy link (banner)": f"{BANNER} #gk-consent-text a",
    "way back to the choices": PILL,
    "adblock buttons": f"{NOTICE} .gk-btn",
    "privacy and contact links (wall)": f"{NOTICE}.gk-wall .gk-links a",
    "bar links": f"{BAR} a, {BAR} button",
}

HIT_TEST = """(el) => {
    el.scrollIntoView({block: "nearest", inline: "nearest"});
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    return {
        inside: x >= 0 && y >= 0 && x <= innerWidth && y <= innerHeight,
        topmost: hit !== null && (hit === el || el.contains(hit)),
        hit: hit ? hit.outerHTML.slice(0, 100) : null,
    };
}"""


def reachable(page) -> dict[str, int]:
    """Hit-test every visible target; returns how many of each were checked."""
    counts: dict[str, int] = {}
    for name, selector in TARGETS.items():
        items = page.locator(selector)
        for index in range(items.count()):
            item = items.nth(index)
            if not item.is_visible():
                continue
            found = item.evaluate(HIT_TEST)
            label = f"{name}: {item.inner_text()!r}"
            assert found["inside"], f"{label} is outside the viewport"
            assert found["topmost"], f"{label} is covered by {found['hit']}"
            item.click(trial=True, timeout=2_000)  # Playwright's own actionability checks
            counts[name] = counts.get(name, 0) + 1
    return counts


# --- hit-testing every combination ------------------------------------------------------

PLACES = {
    "opt-in banner": "DE",
    "notice-mode banner": "JP",
    "opt-out link": "US-CA",
    "decided": "DE",
}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("adblock", ["no blocker", "notice", "wall"])
@pytest.mark.parametrize("situation", list(PLACES))
def test_every_button_is_on_top_and_clickable(browser, sites, situation, adblock, viewport):
    site = sites["wall" if adblock == "wall" else "notice"]
    place = PLACES[situation]
    context = visitor(
        browser, site, blocker=adblock != "no blocker", viewport=viewport, place=place
    )
    try:
        page = context.new_page()
        if situation == "decided":
            decide(page, site, place)
        checked(page, site.url(ARTICLE, place))
        counts = reachable(page)
        banner = situation.endswith("banner")
        expected = {
            "consent buttons": (1 if place == "JP" else 3) if banner else 0,
            "privacy link (banner)": 1 if banner else 0,
            "way back to the choices": 0 if banner else 1,
            "adblock buttons": {"no blocker": 0, "notice": 2, "wall": 1}[adblock],
            "privacy and contact links (wall)": 2 if adblock == "wall" else 0,
            "bar links": 0 if adblock == "wall" else 3,  # Contact Us, Buy Now!, Dismiss
        }
        assert counts == {name: n for name, n in expected.items() if n}, counts
        if adblock == "wall":
            # The page behind the wall is hidden and inert; the dock is neither.
            assert page.evaluate("document.querySelector('main').closest('[inert]') !== null")
            assert page.evaluate("document.querySelector('.gk-dock').closest('[inert]') === null")
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_second_layer_stays_reachable_beside_the_adblock_notice(browser, sites, viewport):
    site = sites["notice"]
    context = visitor(browser, site, blocker=True, viewport=viewport, place="DE")
    try:
        page = context.new_page()
        checked(page, site.url(ARTICLE, "DE"))
        page.click(f"{BANNER} [data-gk-customise]")
        for selector in (f'{BANNER} button[value="save"]', f'{BANNER} input[value="analytics"]'):
            found = page.locator(selector).evaluate(HIT_TEST)
            assert found["inside"] and found["topmost"], (selector, found)
        assert reachable(page)["adblock buttons"] == 2
        page.check(f'{BANNER} input[value="analytics"]')
        page.click(f'{BANNER} button[value="save"]')
        page.wait_for_selector(BANNER, state="detached", timeout=QUICK)
        assert page.is_visible(NOTICE)  # deciding on consent decides nothing about ads
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_wall_leaves_consent_reachable(browser, sites, viewport):
    site = sites["wall"]
    context = visitor(browser, site, blocker=True, viewport=viewport, place="DE")
    try:
        page = context.new_page()
        checked(page, site.url(ARTICLE, "DE"))
        assert page.is_visible(f"{NOTICE}.gk-wall")
        page.evaluate("window.__sameDocument = true")
        page.click(f'{BANNER} button[value="accept_all"]')
        page.wait_for_selector(BANNER, state="detached", timeout=QUICK)
        assert page.evaluate("window.__sameDocument === true")
        assert page.is_visible(f"{NOTICE}.gk-wall")  # consent given; the wall still asks
        # The way back to the choices is on the wall's page too, and opens the dialog.
        assert reachable(page)["way back to the choices"] == 1
        page.click(PILL)
        page.wait_for_selector(f"{DIALOG}[open]", timeout=QUICK)
        found = page.locator(f'{DIALOG} button[value="reject_all"]').evaluate(HIT_TEST)
        assert found["topmost"], found
        page.keyboard.press("Escape")
        # The privacy page is one link away, and it is not walled (demo: exempt path).
        with page.expect_navigation():
            page.click(f"{NOTICE} .gk-links a[href='/privacy']")
        assert (
            page.url == site.url("/privacy") and page.locator(".gk-wall:not([hidden])").count() == 0
        )
    finally:
        context.close()


# --- small screens: the pill and the offline notice -------------------------------------------


def test_on_a_phone_the_way_back_never_covers_the_text(browser, sites):
    site = sites["notice"]
    context = visitor(browser, site, blocker=False, viewport=PHONE, place="US-CA")
    try:
        page = context.new_page()
        checked(page, site.url(ARTICLE, "US-CA"))
        assert page.is_visible(PILL)
        height = page.evaluate("document.documentElement.scrollHeight")
        overlaps = []
        for top in range(0, height, 300):
            page.evaluate(f"window.scrollTo(0, {top})")
            overlaps += page.evaluate(
                """() => {
                    const pill = document.querySelector('.gk-reopen-landmark').getBoundingClientRect();
                    return [...document.querySelectorAll('main p, main li, main h1, main h2, main figcaption')]
                      .map((el) => [el, el.getBoundingClientRect()])
                      .filter(([, r]) => r.bottom > 0 && r.top < innerHeight)
                      .filter(([, r]) => r.left < pill.right && pill.left < r.right
                                      && r.top < pill.bottom && pill.top < r.bottom)
                      .map(([el]) => el.textContent.slice(0, 40));
                }"""
            )
        assert overlaps == []
        # It is still there to use: at the end of the page.
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        assert page.locator(PILL).evaluate(HIT_TEST)["topmost"]
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_offline_notice_never_covers_the_bar_or_the_banner(browser, sites, viewport):
    site = sites["notice"]
    context = visitor(browser, site, blocker=True, viewport=viewport, place="DE")
    try:
        page = context.new_page()
        checked(page, site.url(ARTICLE, "DE"))
        context.set_offline(True)
        page.locator(OFFLINE).wait_for(state="visible", timeout=QUICK)
        page.evaluate("window.scrollTo(0, 0)")
        counts = reachable(page)
        assert counts["bar links"] == 3 and counts["consent buttons"] == 3
        # Scrolled down, it stays in view at the top edge.
        page.evaluate("window.scrollTo(0, 1500)")
        box = page.locator(OFFLINE).bounding_box()
        assert 0 <= box["y"] < 60, box
        assert reachable(page)["consent buttons"] == 3
    finally:
        context.set_offline(False)
        context.close()


# --- the preferences dialog ------------------------------------------------------------------


def focus_in_dialog(page) -> bool:
    return page.evaluate("document.activeElement.closest('dialog[open]') !== null")


def test_privacy_choices_open_in_a_dialog_with_focus_managed(browser, sites):
    site = sites["notice"]
    context = visitor(browser, site, blocker=False, viewport=DESKTOP, place="DE")
    try:
        page = context.new_page()
        decide(page, site, "DE", "accept_all")
        checked(page, site.url(ARTICLE, "DE"))
        page.evaluate("window.__sameDocument = true")
        page.focus(PILL)
        page.keyboard.press("Enter")
        page.wait_for_selector(f"{DIALOG}[open]", timeout=QUICK)
        assert page.url == site.url(ARTICLE, "DE")  # in place, not the preferences page
        # It is on top of everything, and takes clicks (the dock itself lets clicks through).
        for selector in (
            "button[value=save]",
            "button[value=reject_all]",
            "form[method=dialog] button",
        ):
            assert page.locator(f"{DIALOG} {selector}").evaluate(HIT_TEST)["topmost"], selector
        # Focus moves in, to the first switch that can change; it shows the truth.
        assert page.evaluate("document.activeElement.value") == "analytics"
        assert page.is_checked(f'{DIALOG} input[value="ads"]')
        # Tab and Shift+Tab go round inside the dialog.
        stops = page.locator(
            f"{DIALOG} a[href], {DIALOG} button, {DIALOG} summary, {DIALOG} input:not([disabled]):not([type=hidden])"
        ).count()
        for _ in range(stops + 2):
            page.keyboard.press("Tab")
            assert focus_in_dialog(page)
        for _ in range(stops + 2):
            page.keyboard.press("Shift+Tab")
            assert focus_in_dialog(page)
        # The rest of the page cannot be clicked while it is open.
        with pytest.raises(Exception, match="Timeout"):
            page.locator("main a").first.click(timeout=1_000)
        # Escape closes it and focus returns to the link that opened it.
        page.keyboard.press("Escape")
        page.wait_for_selector(DIALOG, state="hidden", timeout=QUICK)
        assert page.evaluate("document.activeElement.matches('a[data-gk-reopen]')")
        # Deciding in it applies in place and closes it.
        page.click(PILL)
        page.uncheck(f'{DIALOG} input[value="ads"]')
        page.click(f'{DIALOG} button[value="save"]')
        page.wait_for_selector(DIALOG, state="hidden", timeout=QUICK)
        assert page.evaluate("window.__sameDocument === true")
        assert page.evaluate("document.activeElement.matches('a[data-gk-reopen]')")
        state = page.request.get(site.url("/_gatekeeper/consent", "DE")).json()
        assert state["categories"] == {"necessary": True, "analytics": True, "ads": False}
        page.click(PILL)
        assert not page.is_checked(f'{DIALOG} input[value="ads"]')  # reopened: the new truth
        page.click(f"{DIALOG} form[method=dialog] button")
        page.wait_for_selector(DIALOG, state="hidden", timeout=QUICK)
    finally:
        context.close()


def test_without_javascript_the_link_leads_to_the_branded_preferences_page(browser, sites):
    site = sites["notice"]
    context = visitor(
        browser, site, blocker=False, viewport=DESKTOP, place="US-CA", java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto(site.url("/", "US-CA"))
        assert not page.is_visible(DIALOG)
        with page.expect_navigation():
            page.click(PILL)
        assert page.url.startswith(site.base + "/_gatekeeper/preferences?next=")
        assert page.locator("header.gk-site a").inner_text() == "The Harbour Ledger"
        with page.expect_navigation():
            page.click('button[value="reject_all"]')
        assert page.url == site.url("/", "US-CA")
    finally:
        context.close()


# --- notice mode and GPC, end to end ------------------------------------------------------------


def test_notice_mode_acknowledges_with_one_button(browser, sites):
    site = sites["notice"]
    context = visitor(browser, site, blocker=False, viewport=PHONE, place="JP")
    try:
        page = context.new_page()
        checked(page, site.url("/", "JP"))
        buttons = page.locator(f"{BANNER} .gk-layer1 .gk-btn")
        assert buttons.count() == 1 and buttons.inner_text() == "Understood"
        page.wait_for_function(
            "document.documentElement.dataset.analytics === 'loaded'", timeout=QUICK
        )
        page.evaluate("window.__sameDocument = true")
        buttons.click()
        page.wait_for_selector(BANNER, state="detached", timeout=QUICK)
        assert page.evaluate("window.__sameDocument === true")
        assert page.is_visible(PILL)
        page.wait_for_function("document.activeElement.matches('a[data-gk-reopen]')", timeout=QUICK)
        state = page.request.get(site.url("/_gatekeeper/consent", "JP")).json()
        assert state["decided"] is True and state["mode"] == "notice"
        page.reload()
        assert page.locator(BANNER).count() == 0
        assert page.evaluate("document.documentElement.dataset.analytics") == "loaded"
    finally:
        context.close()


def test_a_gpc_visitor_is_told_the_signal_was_honoured(browser, sites):
    site = sites["notice"]
    context = visitor(
        browser,
        site,
        blocker=False,
        viewport=DESKTOP,
        place="US-CA",
        extra_http_headers={"Sec-GPC": "1"},
    )
    try:
        page = context.new_page()
        checked(page, site.url("/", "US-CA"))
        line = page.locator(".gk-reopen-landmark .gk-gpc")
        assert line.is_visible() and line.inner_text() == "Your opt-out signal was honoured"
        page.click(PILL)
        assert page.locator(f"{DIALOG} .gk-gpc").is_visible()
        assert not page.is_checked(f'{DIALOG} input[value="ads"]')
        assert page.is_checked(f'{DIALOG} input[value="analytics"]')
        state = page.request.get(site.url("/_gatekeeper/consent", "US-CA")).json()
        assert state["gpc"] is True and state["categories"]["ads"] is False
    finally:
        context.close()


# --- the visitor's language -------------------------------------------------------------------

VISITOR_TEXTS = {
    m.id
    for m in extract()
    if isinstance(m.id, str)
    and "%(" not in m.id
    and not all("audit" in file for file, _ in m.locations)
}


def english_left(text: str, language: str) -> list[str]:
    own = " ".join(
        " ".join(m.string) if isinstance(m.string, tuple) else m.string
        for m in read(path_of(language))
        if m.id
    )

    def found(word: str, where: str) -> bool:
        return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", where) is not None

    return sorted(t for t in VISITOR_TEXTS if found(t, text) and not found(t, own))


NOTICE_TEXT = """() => [...document.querySelectorAll(
    '[data-gk-notice], .gk-reopen-landmark')].map((el) => el.innerText).join('\\n')"""


@pytest.mark.parametrize("language", ["de", "fr", "ja"])
def test_visitors_read_no_english_in_any_notice(browser, sites, language):
    messages = catalogue(language)
    shown: list[str] = []
    for mode, place, blocker in (
        ("notice", "DE", True),
        ("wall", "JP", True),
        ("notice", "US-CA", False),
    ):
        site = sites[mode]
        context = visitor(
            browser,
            site,
            blocker=blocker,
            viewport=DESKTOP,
            place=place,
            locale=language,
            extra_http_headers={"Accept-Language": language, "Sec-GPC": "1"},
        )
        try:
            page = context.new_page()
            checked(page, site.url("/", place))
            if place == "DE":
                page.click(f"{BANNER} [data-gk-customise]")
                context.set_offline(True)
                page.locator(OFFLINE).wait_for(state="visible", timeout=QUICK)
                context.set_offline(False)
                shown.append(page.evaluate(NOTICE_TEXT))
                page.locator(OFFLINE).wait_for(state="hidden", timeout=QUICK)
            else:
                if page.is_visible(PILL):
                    page.click(PILL)
                    page.wait_for_selector(f"{DIALOG}[open]", timeout=QUICK)
                shown.append(page.evaluate(NOTICE_TEXT))
        finally:
            context.close()
    text = "\n".join(shown)
    for source in (
        "Accept all",
        "Understood",
        "I have allowed ads, check again",
        "Save choices",
        "Close",
        "Your opt-out signal was honoured",
        "Do not sell or share my personal information",
    ):
        assert messages.gettext(source) in text, source
    assert not (left := english_left(text, language)), left


# --- axe-core on the combinations ---------------------------------------------------------------


def _report(violations: list[dict]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {', '.join(v['nodes'])}" for v in violations)


@pytest.mark.parametrize(
    ("mode", "place", "viewport", "dialog"),
    [
        ("notice", "DE", PHONE, False),
        ("wall", "DE", DESKTOP, False),
        ("wall", "JP", PHONE, False),
        ("notice", "US-CA", DESKTOP, True),
        ("wall", "US-CA", PHONE, True),
    ],
    ids=[
        "notice+banner-phone",
        "wall+banner",
        "wall+notice-mode-phone",
        "dialog",
        "dialog-on-wall-phone",
    ],
)
def test_axe_finds_nothing_with_notices_combined(
    browser, sites, axe_source, mode, place, viewport, dialog
):
    site = sites[mode]
    context = visitor(browser, site, blocker=True, viewport=viewport, place=place)
    try:
        page = context.new_page()
        checked(page, site.url(ARTICLE, place))
        if dialog:
            page.click(PILL)
            page.wait_for_selector(f"{DIALOG}[open]", timeout=QUICK)
        page.mouse.move(0, 0)
        assert not (found := run_axe(page, axe_source)), _report(found)
    finally:
        context.close()
