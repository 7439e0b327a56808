"""Adblock detection in a real browser with a real blocker.

Chromium runs with Brave's blocking engine on the real EasyList and EasyPrivacy
(tests/browser/adblock_engine.py): requests the lists block are aborted, elements they
hide are hidden. Pages are served under public-looking host names, mapped to local demo
servers with Chromium's --host-resolver-rules, because EasyList exempts 127.0.0.1 and
localhost from element hiding. Each server runs the demo news site with adblock
detection (tests/adblock/server.py) on a policy written here: notice mode, wall mode, and
one whose database the stats test reads after stopping it.

The demo policy's debug switch (`?gk_country=CC`) gives each scenario its own country, so
the verdict counts of each can be read from `gatekeeper adblock stats`. The countries are
outside the opt-in places: there detection waits for consent (adblock.requires_consent,
tested in tests/adblock/test_consent.py and tests/browser/test_storage.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.adblock.baits import COSMETIC, IMAGE, SCRIPT
from tests.browser.adblock_engine import BlockingEngine
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, run_axe, wait_for_port
from tests.conftest import REPO, SECRET

ARTICLE = "/articles/saltings-lock-reopens"
NOTICE = '[data-gk-notice="adblock"]'
RECHECK = f"{NOTICE} [data-gk-recheck]"
QUICK = 10_000  # ms


@dataclass
class Server:
    host: str
    port: int
    policy: Path
    process: subprocess.Popen[str]

    def url(self, path: str = "/", country: str | None = None) -> str:
        query = f"?gk_country={country}" if country else ""
        return f"http://{self.host}{path}{query}"

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()  # uvicorn shuts down: pending counts are written
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.stdout.read() if self.process.stdout else ""


POLICY = """\
site: {{name: Test News, revision: "r1"}}
secret_keys: ["{secret}"]
debug: true
languages: {{default: en, available: [en, de]}}
adblock:
  mode: {mode}
  exempt_paths: [/privacy]
  baits: {{script: {script}, image: {image}, cosmetic_class: "{cosmetic}"}}
  notice:
    title: {{en: Ad blocker detected, de: Werbeblocker erkannt}}
audit: {{store: "sqlite:///consent.db"}}
shared: {{flush_seconds: 0.2}}
"""


def start(folder: Path, host: str, mode: str) -> Server:
    folder.mkdir(parents=True, exist_ok=True)
    policy = folder / "policy.yaml"
    policy.write_text(
        POLICY.format(secret=SECRET, mode=mode, script=SCRIPT, image=IMAGE, cosmetic=COSMETIC),
        encoding="utf-8",
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.adblock.server", "--policy", str(policy),
         "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    return Server(host, port, policy, process)


@pytest.fixture(scope="module")
def engine(filterlists_dir: Path) -> BlockingEngine:
    return BlockingEngine.from_lists(filterlists_dir)


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, engine: BlockingEngine
) -> Iterator[dict[str, Server]]:
    base = tmp_path_factory.mktemp("adblock")
    started = {
        "notice": start(base / "notice", "www.example-news.com", "notice"),
        "wall": start(base / "wall", "www.example-wall.com", "wall"),
        "stats": start(base / "stats", "www.example-daily.com", "notice"),
    }
    try:
        for server in started.values():
            try:
                wait_for_port(server.port, server.process)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}: {server.stop()}") from None
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module")
def adblock_browser(playwright_api: Any, servers: dict[str, Server]) -> Iterator[Any]:
    rules = ",".join(f"MAP {s.host} 127.0.0.1:{s.port}" for s in servers.values())
    browser = playwright_api.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, f"--host-resolver-rules={rules}"]
    )
    yield browser
    browser.close()


@pytest.fixture
def blocker(engine: BlockingEngine) -> BlockingEngine:
    engine.enabled = True
    engine.blocked.clear()
    return engine


@pytest.fixture
def browsing(adblock_browser: Any, blocker: BlockingEngine) -> Iterator[Any]:
    """A fresh browser profile with the blocker installed (on unless a test turns it off)."""
    context = adblock_browser.new_context(locale="en-GB")
    blocker.attach(context)
    yield context
    context.close()


def checked(page: Any, url: str) -> str:
    """Open the page and wait for gatekeeper's check to finish; return the verdict."""
    page.goto(url)
    page.wait_for_function(
        "document.documentElement.dataset.gkAdblock !== undefined", timeout=QUICK
    )
    return str(page.evaluate("document.documentElement.dataset.gkAdblock"))


def stats_command(policy: Path, *extra: str) -> list[str]:
    """`gatekeeper adblock stats`."""
    head = [sys.executable, "-m", "gatekeeper.cli", "adblock"]
    return [*head, "stats", "--policy", str(policy), *extra]


def stats_json(policy: Path, country: str) -> dict[str, Any]:
    done = subprocess.run(
        stats_command(policy, "--json", "--country", country),
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)["total"]


def notice_tag(html: str) -> str:
    found = re.search(r'<div data-gk-notice="adblock"[^>]*>', html)
    assert found, "no adblock notice in the page"
    return found.group(0)


def gk_violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """axe-core findings on gatekeeper's own markup (the demo site's are not ours)."""
    found = []
    for violation in run_axe(page, axe_source):
        nodes = [n for n in violation["nodes"] if "gk" in n]
        if nodes:
            found.append({**violation, "nodes": nodes})
    return found


# --- the three verdicts -------------------------------------------------------------------


def test_blocker_on_is_blocked_and_the_notice_shows(browsing, blocker, servers) -> None:
    server = servers["notice"]
    page = browsing.new_page()
    assert checked(page, server.url("/", "NZ")) == "blocked"
    notice = page.locator(NOTICE)
    assert notice.is_visible()
    assert page.get_by_role("dialog", name="Ad blocker detected").is_visible()
    # The blocker really did its work: both baits blocked by the lists, the element hidden.
    blocked = {
        (b.type, b.url.split("?")[0].removeprefix(f"http://{server.host}")) for b in blocker.blocked
    }
    assert ("script", f"/_gatekeeper{SCRIPT}") in blocked
    assert ("image", f"/_gatekeeper{IMAGE}") in blocked
    assert (
        page.evaluate("getComputedStyle(document.querySelector('[data-gk-bait]')).display")
        == "none"
    )
    assert set(blocker.hidden) >= {f".{name}" for name in COSMETIC.split()}
    # The site's own pages and gatekeeper's own requests were left alone.
    assert all(
        "/_gatekeeper/beacon" not in b.url and "/static/" not in b.url for b in blocker.blocked
    )
    # The verdict is remembered: the next page shows the notice straight from the server.
    assert "gk_adblock" in {c["name"] for c in browsing.cookies()}
    html = page.goto(server.url(ARTICLE, "NZ")).text()  # as the server sent it
    assert " hidden" not in notice_tag(html)


def test_blocker_off_is_allowed_and_nothing_shows(browsing, blocker, servers) -> None:
    blocker.enabled = False
    page = browsing.new_page()
    assert checked(page, servers["notice"].url(ARTICLE, "ZA")) == "allowed"
    assert page.locator(NOTICE).is_hidden()
    assert blocker.blocked == []
    assert (
        page.evaluate("getComputedStyle(document.querySelector('[data-gk-bait]')).display")
        != "none"
    )
    stored = {c["name"]: c for c in browsing.cookies()}["gk_adblock"]
    assert stored["value"].startswith("allowed:") and stored["httpOnly"]


def test_javascript_off_is_no_js_and_nothing_shows(adblock_browser, blocker, servers) -> None:
    server = servers["notice"]
    for country, blocking in (("JP", False), ("KR", True)):
        blocker.enabled = blocking
        context = adblock_browser.new_context(java_script_enabled=False)
        blocker.attach(context)
        try:
            page = context.new_page()
            page.goto(server.url("/", country))
            assert page.locator(NOTICE).is_hidden()
            assert page.locator("main").is_visible()
        finally:
            context.close()
    # No beacon comes, and none is waited for: the views are counted as they are served
    # (opened, image bait), and no_js is what rendered the image and never reported.
    deadline = time.monotonic() + 15
    while True:
        time.sleep(0.3)  # the counts are written every 0.2 s
        japan, korea = stats_json(server.policy, "JP"), stats_json(server.policy, "KR")
        if (japan["views"] and korea["views"]) or time.monotonic() > deadline:
            break
    # Images arrived, no script ran: a browser without JavaScript, not an ad blocker.
    assert (japan["no_js"], japan["views"]) == (1, 1)
    # Without JavaScript and with a blocker, only missing requests: never "blocked".
    assert (korea["unknown"], korea["blocked"], korea["views"]) == (1, 0, 1)


# --- the notice and the wall -------------------------------------------------------------


def test_a_dismissed_notice_stays_away_but_the_check_still_runs(browsing, servers) -> None:
    server = servers["notice"]
    page = browsing.new_page()
    assert checked(page, server.url("/", "NZ")) == "blocked"
    page.get_by_role("button", name="Continue").click()
    page.locator(NOTICE).wait_for(state="hidden", timeout=QUICK)
    assert page.url == server.url("/", "NZ")  # dismissed in place, no reload
    assert checked(page, server.url(ARTICLE, "NZ")) == "blocked"
    assert page.locator(NOTICE).is_hidden()
    assert page.locator(NOTICE).get_attribute("data-gk-quiet") is not None


def test_the_notice_speaks_german(adblock_browser, blocker, servers) -> None:
    context = adblock_browser.new_context(
        locale="de-DE", extra_http_headers={"Accept-Language": "de"}
    )
    blocker.attach(context)
    try:
        page = context.new_page()
        assert checked(page, servers["notice"].url("/", "AR")) == "blocked"
        assert page.get_by_role("dialog", name="Werbeblocker erkannt").is_visible()
    finally:
        context.close()


def test_the_wall_keeps_the_page_inert_until_check_again_with_the_blocker_off(
    browsing, blocker, servers
) -> None:
    server = servers["wall"]
    page = browsing.new_page()
    assert checked(page, server.url(ARTICLE, "NZ")) == "blocked"
    wall = page.locator(f"{NOTICE}.gk-wall")
    assert wall.is_visible()
    assert page.evaluate(
        """() => [...document.body.children]
            .filter((el) => !el.matches('[data-gk-region="bottom"]'))
            .every((el) => el.inert)"""
    )
    link = page.locator("main a").first
    with pytest.raises(Exception, match="Timeout"):
        link.click(timeout=1_500)  # inert: it receives no clicks
    for _ in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate("!document.activeElement.closest('main')")
    page.evaluate("window.__sameDocument = true")

    # Still blocking: checking again changes nothing.
    page.locator(RECHECK).click()
    page.wait_for_function(
        "!document.querySelector('[data-gk-notice=\"adblock\"]').hasAttribute('aria-busy')",
        timeout=QUICK,
    )
    assert wall.is_visible()

    # The visitor pauses the blocker and checks again: the page opens, without a reload.
    blocker.turn_off(page)
    page.locator(RECHECK).click()
    page.wait_for_function(
        "document.documentElement.dataset.gkAdblock === 'allowed'", timeout=QUICK
    )
    assert wall.is_hidden()
    assert page.evaluate("window.__sameDocument === true")
    assert page.evaluate("[...document.body.children].every((el) => !el.inert)")
    link.click(trial=True, timeout=QUICK)  # clickable again
    # And the next page comes without the wall.
    assert " hidden" in notice_tag(page.goto(server.url("/", "NZ")).text())


def test_a_known_blocker_gets_the_wall_from_the_server_at_once(browsing, servers) -> None:
    server = servers["wall"]
    page = browsing.new_page()
    assert checked(page, server.url("/", "NZ")) == "blocked"
    page.goto(server.url(ARTICLE, "NZ"), wait_until="domcontentloaded")
    # Before the check has even run, the wall is up and the page behind it inert.
    assert page.locator(f"{NOTICE}.gk-wall").is_visible()
    page.wait_for_function(
        "document.querySelector('main').closest('[inert]') !== null", timeout=QUICK
    )


def test_exempt_paths_have_no_detection(browsing, servers) -> None:
    page = browsing.new_page()
    page.goto(servers["wall"].url("/privacy", "NZ"))
    assert page.locator(NOTICE).count() == 0
    assert page.locator("[data-gk-bait]").count() == 0


def test_notice_and_wall_are_accessible(browsing, servers, axe_source: str) -> None:
    page = browsing.new_page()
    assert checked(page, servers["notice"].url("/", "NZ")) == "blocked"
    assert gk_violations(page, axe_source) == []
    assert checked(page, servers["wall"].url("/", "NZ")) == "blocked"
    assert page.evaluate("document.activeElement.closest('[data-gk-notice]') !== null")
    assert gk_violations(page, axe_source) == []


# --- rates for operators ------------------------------------------------------------------


def test_stats_show_the_verdicts_of_a_run(adblock_browser, blocker, servers) -> None:
    server = servers["stats"]
    runs = (("NZ", True, True), ("ZA", False, True), ("JP", False, False))
    for country, blocking, javascript in runs:
        blocker.enabled = blocking
        context = adblock_browser.new_context(java_script_enabled=javascript)
        blocker.attach(context)
        try:
            page = context.new_page()
            if javascript:
                checked(page, server.url(ARTICLE, country))
            else:
                page.goto(server.url(ARTICLE, country))
        finally:
            context.close()
    output = server.stop()  # shutdown writes what is pending
    assert "adblock test server" in output

    done = subprocess.run(
        stats_command(server.policy), capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split()[1]: line.split() for line in done.stdout.splitlines()[1:-1]}
    # day, country, path group, blocked, allowed, no_js, unknown, views, blocked rate
    assert rows["NZ"][2:] == ["/articles", "1", "0", "0", "0", "1", "100.0%"]
    assert rows["ZA"][2:] == ["/articles", "0", "1", "0", "0", "1", "0.0%"]
    assert rows["JP"][2:] == ["/articles", "0", "0", "1", "0", "1", "-"]
    assert done.stdout.splitlines()[-1].split() == ["total", "1", "1", "1", "0", "3", "50.0%"]
