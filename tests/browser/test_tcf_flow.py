"""IAB TCF end to end in real Chromium: `gatekeeper demo --tcf` (the unregistered test CMP
id 4095 and the demo's made-up vendor list), its partners page of vendor tags.

Four choices (accept all, reject all, one purpose alone, one vendor's legitimate interest
objected to), each made without JavaScript (the forms post, the server mints the TC
string) and with it (in place where the notice allows, else the vendor list page). Each
must come out identically in:

- the `euconsent-v2` TC string, decoded by the IAB's `@iabtechlabtcf/core`;
- `__tcfapi('getTCData')` in the page;
- the GPP string from `__gpp('ping')`, decoded by the IAB's `@iabgpp/cmpapi`;
- `visitor.tcf`, as the demo app's `/api/tcf` reads it;
- the consent log's record (its TC and GPP strings and categories);
- the vendor tags the browser requests: the server sends the others inert.

The demo server listens on loopback, a location no database knows, which the demo policy
treats as opt-in, and TCF applies there.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from gatekeeper.audit import ConsentLog
from gatekeeper.consent.state import ConsentCookie
from gatekeeper.policy import load_policy
from tests.browser.conftest import free_port, wait_for_port
from tests.browser.tcf_oracle import oracle

NOTICE = '[data-gk-notice="consent"][data-gk-framework="tcf"]'
QUICK = 5_000
PURPOSES = [1, 2, 3, 4, 7, 8, 9, 10]
LEGITIMATE_INTEREST = [2, 7, 8, 9, 10]
DISCLOSED = [1, 2, 8, 25, 300, 755, 1126]
CONSENT_VENDORS = [1, 2, 25, 300, 755, 1126]
INTEREST_VENDORS = [2, 8, 25, 300, 755, 1126]
SPECIAL_ONLY = [8, 25, 1126]  # special purposes only, which nobody can object to
# The partners page's tags (gatekeeper/demo/partners.py): vendor -> purposes.
TAGS = {755: (1, 3, 4), 25: (1, 2, 7), 2: (2, 7), 1: (1, 8), 300: (2,)}


@dataclass(frozen=True)
class Choice:
    name: str
    purposes: list[int]
    interests: list[int]
    special_features: list[int]
    vendors: list[int]
    vendor_interests: list[int]
    tags: set[int]
    """Vendors whose tag may load."""
    categories: dict[str, bool]


CHOICES = {
    "accept_all": Choice(
        "accept_all",
        PURPOSES,
        LEGITIMATE_INTEREST,
        [1],
        CONSENT_VENDORS,
        INTEREST_VENDORS,
        set(TAGS),
        {"necessary": True, "analytics": True, "ads": True},
    ),
    "reject_all": Choice(
        "reject_all",
        [],
        [],
        [],
        [],
        SPECIAL_ONLY,
        set(),
        {"necessary": True, "analytics": False, "ads": False},
    ),
    # Purpose 1 and every vendor: 755 (3, 4), 25 (2 by consent) and 1 (8 by consent) may
    # not run; 2 and 300 rest on legitimate interest (2, 7), which stands.
    "one_purpose": Choice(
        "one_purpose",
        [1],
        LEGITIMATE_INTEREST,
        [],
        CONSENT_VENDORS,
        INTEREST_VENDORS,
        {2, 300},
        {"necessary": True, "analytics": True, "ads": False},
    ),
    # Everything, but vendor 2's legitimate interest objected to.
    "vendor_objected": Choice(
        "vendor_objected",
        PURPOSES,
        LEGITIMATE_INTEREST,
        [1],
        CONSENT_VENDORS,
        [8, 25, 300, 755, 1126],
        {755, 25, 1, 300},
        {"necessary": True, "analytics": True, "ads": True},
    ),
}


@pytest.fixture(scope="module")
def tcf_demo(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`gatekeeper demo --tcf` in a subprocess, as a user starts it."""
    data = tmp_path_factory.mktemp("tcf-demo")
    port = free_port()
    command = [sys.executable, "-m", "gatekeeper.cli", "demo", "--tcf"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}", data
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class Watch:
    """The vendor tags a page requests, by vendor and kind ("tag" or "pixel")."""

    def __init__(self, page) -> None:
        self.seen: list[tuple[str, int]] = []
        page.on("request", self._saw)

    def _saw(self, request) -> None:
        parts = request.url.split("/partners/", 1)
        if len(parts) == 2 and "/" in parts[1]:
            kind, name = parts[1].split("/", 1)
            self.seen.append((kind, int(name.split(".")[0])))

    def take(self, kind: str) -> set[int]:
        found = {vendor for k, vendor in self.seen if k == kind}
        self.seen = [entry for entry in self.seen if entry[0] != kind]
        return found


def choose(page, base: str, choice: Choice, *, in_place: bool) -> None:
    """Make `choice` on the partners page as a visitor does."""
    if choice.name in ("accept_all", "reject_all"):
        page.click(f'{NOTICE} button[value="{choice.name}"]')
        if in_place:
            page.wait_for_selector(NOTICE, state="detached", timeout=QUICK)
        else:
            page.wait_for_url(base + "/partners", timeout=QUICK)
        return
    page.click(f"{NOTICE} a.gk-btn")  # Manage choices: the vendor list page
    page.wait_for_selector('main[data-gk-framework="tcf"]', timeout=QUICK)
    if choice.name == "one_purpose":
        page.check('input[name="purpose"][value="1"]')
        page.check('input[name="vendor"][value="all"]')
    else:
        for box in page.query_selector_all(
            'input[name="purpose"], input[name="special_feature"], input[name="vendor"]'
        ):
            box.check()
        page.uncheck('input[name="vendor_legitimate_interest"][value="2"]')
    page.click('button[value="save"]')
    page.wait_for_url(base + "/partners", timeout=QUICK)


def ids(vector: dict) -> list[int]:
    return sorted(int(key) for key, on in vector.items() if on)


TC_DATA = (
    """() => new Promise((done) => __tcfapi('getTCData', 2, (data, ok) => done([data, ok])))"""
)
GPP_PING = """() => new Promise((done) => __gpp('ping', (data, ok) => done([data, ok])))"""


def newest_record(data: Path, consent_cookie: str):
    """The newest record of the visitor whose signed consent cookie this is."""
    policy = load_policy(data / "policy.yaml")
    state = ConsentCookie(policy).loads(consent_cookie)
    assert state is not None, "the consent cookie does not verify"

    async def find():
        log = ConsentLog.from_policy(policy)
        try:
            return (await log.history(state.consent_id))[-1]
        finally:
            await log.close()

    with ThreadPoolExecutor(1) as pool:  # Playwright's own event loop runs in this thread
        return pool.submit(asyncio.run, find()).result()


def check_everywhere(page, base: str, data: Path, choice: Choice, tc: str, status: str) -> None:
    """The same choice in the TC string (IAB decoder), getTCData, the GPP string (IAB
    decoder), visitor.tcf and the consent log."""
    (decoded,) = oracle({"op": "decode", "strings": [tc]})
    assert decoded["cmpId"] == 4095 and decoded["vendorsDisclosed"] == DISCLOSED
    assert decoded["purposeConsents"] == choice.purposes
    assert decoded["purposeLegitimateInterests"] == choice.interests
    assert decoded["specialFeatureOptins"] == choice.special_features
    assert decoded["vendorConsents"] == choice.vendors
    assert decoded["vendorLegitimateInterests"] == choice.vendor_interests

    tc_data, ok = page.evaluate(TC_DATA)
    assert ok and tc_data["tcString"] == tc and tc_data["gdprApplies"] is True
    assert tc_data["eventStatus"] == status and tc_data["cmpId"] == 4095
    assert ids(tc_data["purpose"]["consents"]) == choice.purposes
    assert ids(tc_data["purpose"]["legitimateInterests"]) == choice.interests
    assert ids(tc_data["specialFeatureOptins"]) == choice.special_features
    assert ids(tc_data["vendor"]["consents"]) == choice.vendors
    assert ids(tc_data["vendor"]["legitimateInterests"]) == choice.vendor_interests

    ping, ok = page.evaluate(GPP_PING)
    assert ok and ping["applicableSections"] == [2] and ping["sectionList"] == [2]
    (gpp,) = oracle({"op": "gpp_decode", "strings": [ping["gppString"]]})
    assert gpp["sectionIds"] == [2]
    (section,) = oracle({"op": "decode", "strings": [gpp["tcfeuv2"]]})
    assert section == decoded

    answer = page.request.get(base + "/api/tcf").json()
    assert answer["tc_string"] == tc
    assert answer["purposes"] == choice.purposes
    assert answer["legitimate_interests"] == choice.interests
    assert answer["special_features"] == choice.special_features
    assert answer["vendors"] == choice.vendors
    assert answer["vendor_legitimate_interests"] == choice.vendor_interests
    allowed = {int(key.split(":")[0]) for key, on in answer["tags"].items() if on}
    assert allowed == choice.tags

    record = newest_record(data, cookie(page.context, "gk_consent"))
    assert record["tc_string"] == tc
    assert record["categories"] == choice.categories
    assert record["gpp_string"] == ping["gppString"]


def cookie(context, name: str) -> str:
    (value,) = [c["value"] for c in context.cookies() if c["name"] == name]
    return value


@pytest.mark.parametrize("name", list(CHOICES))
def test_a_choice_without_javascript_comes_out_the_same_everywhere(browser, tcf_demo, name):
    base, data = tcf_demo
    choice = CHOICES[name]
    plain = browser.new_context(java_script_enabled=False)
    try:
        page = plain.new_page()
        page.goto(base + "/partners")
        assert page.is_visible(NOTICE)
        watch = Watch(page)
        choose(page, base, choice, in_place=False)
        # The page after the form post: the server let through exactly these pixels.
        assert watch.take("pixel") == choice.tags
        assert not page.query_selector(NOTICE)
        tc = cookie(plain, "euconsent-v2")
        state = plain.storage_state()
    finally:
        plain.close()
    # The same visitor with JavaScript: the CMP API reads what the server minted.
    scripted = browser.new_context(storage_state=state)
    try:
        page = scripted.new_page()
        watch = Watch(page)
        page.goto(base + "/partners")
        page.wait_for_load_state("load")
        assert watch.take("pixel") == choice.tags
        assert watch.take("tag") == choice.tags
        assert set(page.evaluate("window.demoVendors || []")) == choice.tags
        check_everywhere(page, base, data, choice, tc, "tcloaded")
    finally:
        scripted.close()


@pytest.mark.parametrize("name", list(CHOICES))
def test_a_choice_with_javascript_comes_out_the_same_everywhere(context, tcf_demo, name):
    base, data = tcf_demo
    choice = CHOICES[name]
    page = context.new_page()
    page.goto(base + "/partners")
    page.wait_for_load_state("load")
    watch = Watch(page)
    assert watch.take("pixel") == set() and watch.take("tag") == set()  # nothing before
    in_place = name in ("accept_all", "reject_all")
    if in_place:
        page.evaluate("window.__sameDocument = true")
    choose(page, base, choice, in_place=in_place)
    tc = cookie(context, "euconsent-v2")
    if in_place:
        assert page.evaluate("window.__sameDocument === true")  # no reload
        # gatekeeper.js brought to life exactly the tags the server allows now.
        if choice.tags:
            page.wait_for_function(
                "(n) => (window.demoVendors || []).length >= n", arg=len(choice.tags)
            )
        assert set(page.evaluate("window.demoVendors || []")) == choice.tags
        check_everywhere(page, base, data, choice, tc, "useractioncomplete")
        page.reload()
        page.wait_for_load_state("load")
    assert not page.query_selector(NOTICE)
    assert watch.take("pixel") == choice.tags
    assert watch.take("tag") == choice.tags
    check_everywhere(page, base, data, choice, tc, "tcloaded")
