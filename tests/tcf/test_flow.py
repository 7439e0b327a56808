"""TCF end to end in process: a real app behind the whole middleware, a policy file, the
test vendor list on disk, the consent log in SQLite.

A visitor's choice, made through the TCF notice, must come out the same everywhere: the
TC string in `euconsent-v2`, the state element `__tcfapi` reads, the GPP string,
`visitor.tcf`, the consent log's record, the categories (cookies, category-tagged
scripts, Consent Mode) and the vendor tags gatekeeper lets through. (The browser tests
check the same with the IAB's own decoders and a real Chromium.)
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from gatekeeper import Gatekeeper, load_policy
from gatekeeper.audit import ConsentLog
from gatekeeper.consent.state import ConsentCookie, ConsentState
from gatekeeper.policy import PolicyError
from gatekeeper.tcf import Choices, build_disclosure, decode, load_gvl, tc_string
from gatekeeper.tcf.choices import accept_all
from gatekeeper.tcf.edition import binding
from gatekeeper.tcf.gpp import NO, YES, decode_gpp, decode_usnat
from gatekeeper.tcf.string import encode
from gatekeeper.tcf.update import update_gvl
from tests.consent.test_flow import Session, granted, set_cookies
from tests.tcf.conftest import DATA, GVL_FILE
from tests.tcf.site import (
    APP,
    live,
    replace_vendor_list,
    state_of,
    tcf_notice,
    write_site,
)

CONSENT = "/_gatekeeper/consent"
PREFERENCES = "/_gatekeeper/preferences"
PURPOSES = [1, 2, 3, 4, 7, 8, 9, 10]
LEGITIMATE_INTEREST = [2, 7, 8, 9, 10]
# Active vendors of tests/data/tcf that need consent for one of the site's purposes; those
# with a legitimate interest in one (2, 300, 755), which visitors can object to; and those
# with special purposes and no such interest (8, 25, 1126), whose bit always stands.
CONSENT_VENDORS = [1, 2, 25, 300, 755, 1126]
INTEREST_VENDORS = [2, 8, 25, 300, 755, 1126]
SPECIAL_ONLY = [8, 25, 1126]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path)


@pytest.fixture
def app(site: Path) -> Gatekeeper:
    return Gatekeeper(APP, policy=str(site))


async def records(site: Path) -> list:
    log = ConsentLog.from_policy(load_policy(site))
    try:
        return await log.records(limit=100)
    finally:
        await log.close()


async def archived(site: Path, digest: str) -> dict[str, str]:
    log = ConsentLog.from_policy(load_policy(site))
    try:
        found = await log.texts(digest)
        assert found is not None, "the texts shown were not archived"
        return found.texts
    finally:
        await log.close()


class Form(HTMLParser):
    """The fields a browser posts from a page's first POST form, boxes as rendered."""

    def __init__(self, document: str) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.boxes: dict[tuple[str, str], bool] = {}
        self.feed(document)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag != "input":
            return
        if attrs.get("type") == "checkbox":
            self.boxes[(attrs["name"], attrs["value"])] = "checked" in attrs
        else:
            self.fields.append((attrs["name"], html.unescape(attrs["value"])))

    def post(self, action: str, **boxes: bool) -> dict[str, list[str]]:
        """The form as posted with button `action`, boxes changed as `name=value` says."""
        ticked = dict(self.boxes)
        for key, on in boxes.items():
            name, _, value = key.partition("__")
            ticked[(name, value)] = on
        fields = [(n, v) for n, v in self.fields]
        fields += [(name, value) for (name, value), on in ticked.items() if on]
        form: dict[str, list[str]] = {}
        for name, value in [*fields, ("action", action)]:
            form.setdefault(name, []).append(value)
        return form


async def decide(visitor: Session, action: str, **extra) -> str:
    """Post the TCF notice's form as a browser without JavaScript; the TC string set."""
    data = {"framework": "tcf", "layer": "notice", "action": action, "next": "/article", **extra}
    response = await visitor.post(data=data)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/article"
    return visitor.cookies["euconsent-v2"]


# --- where TCF applies -------------------------------------------------------------------


async def test_where_tcf_applies_its_notice_replaces_the_banner_and_nothing_runs(app):
    async with Session(app, "DE") as visitor:
        response = await visitor.get("/article")
    document = response.text
    assert tcf_notice(document)
    assert document.count('data-gk-notice="consent"') == 1  # not the plain banner too
    assert "We and our 7 partners" in document
    state = state_of(document)
    assert state["gdprApplies"] is True
    assert (state["eventStatus"], state["displayStatus"], state["tcString"]) == (
        "cmpuishown",
        "visible",
        "",
    )
    assert state["gpp"]["applicableSections"] == [2]
    # The CMP API comes first in <head>: the state element, then tcf.js, then the app's
    # scripts (every one of them, ads first among them, can call __tcfapi at once).
    head = document[document.index("<head>") : document.index("</head>")]
    scripts = re.findall(r"<script\b[^>]*>", head)
    assert scripts[1] == '<script type="application/json" id="gk-tcf-state">'
    assert re.fullmatch(r'<script src="/_gatekeeper/static/tcf\.[0-9a-f]{12}\.js">', scripts[2])
    assert scripts[3] == '<script src="/site.js">'
    # Nothing of the vendors or the categories runs before a choice.
    assert not live(document, "/vendors/755.js") and not live(document, "/pixels/2.gif")
    assert not live(document, "/a.js")
    assert granted(response).isdisjoint({"_ga", "IDE", "euconsent-v2"})


async def test_elsewhere_the_cmp_api_says_gdpr_does_not_apply(app):
    async with Session(app, "JP") as visitor:
        response = await visitor.get("/article")
        answer = (await visitor.get("/tcf")).json()
    document = response.text
    assert not tcf_notice(document)
    assert 'data-gk-mode="notice"' in document  # the policy's own notice for Japan
    state = state_of(document)
    assert (state["gdprApplies"], state["tcString"], state["eventStatus"]) == (
        False,
        "",
        "tcloaded",
    )
    assert state["gpp"] == {
        "gppString": "",
        "sectionList": [],
        "applicableSections": [-1],
        "supportedAPIs": ["2:tcfeuv2", "7:usnat"],
    }
    # TCF restricts nothing here; the categories decide (notice mode: they run).
    assert live(document, "/vendors/755.js") and live(document, "/pixels/2.gif")
    assert answer["applies"] is False and all(answer["tags"].values())


async def test_the_cmp_script_carries_the_pages_csp_nonce(app):
    async with Session(app, "JP") as visitor:
        document = (await visitor.get("/article?csp=1")).text
    assert re.search(
        r'<script src="/_gatekeeper/static/tcf\.[0-9a-f]{12}\.js" nonce="n0nce">', document
    )
    # The state element is data, not script: CSP does not apply to it.
    assert '<script type="application/json" id="gk-tcf-state">' in document


async def test_the_cmp_script_is_served_with_its_hashed_name(app):
    async with Session(app, "DE") as visitor:
        document = (await visitor.get("/article")).text
        url = re.search(r'<script src="(/_gatekeeper/static/tcf\.[0-9a-f]{12}\.js)">', document)
        script = await visitor.client.get(url.group(1))
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert b"__tcfapiLocator" in script.content


# --- deciding through the notice, without JavaScript -----------------------------------------


async def test_accept_all_mints_the_string_everything_reads(app, site):
    async with Session(app, "DE") as visitor:
        tc = await decide(visitor, "accept_all")
        response = await visitor.get("/article")
        answer = (await visitor.get("/tcf")).json()
    decoded = decode(tc)
    assert (decoded.cmp_id, decoded.cmp_version, decoded.consent_screen) == (4095, 7, 1)
    assert decoded.consent_language == "EN" and decoded.publisher_cc == "DE"
    assert sorted(decoded.purpose_consents) == PURPOSES
    assert sorted(decoded.purpose_legitimate_interests) == LEGITIMATE_INTEREST
    assert sorted(decoded.special_feature_optins) == [1]
    assert list(decoded.vendor_consents) == CONSENT_VENDORS
    assert list(decoded.vendor_legitimate_interests) == INTEREST_VENDORS

    document = response.text
    assert not tcf_notice(document)
    state = state_of(document)
    assert (state["tcString"], state["eventStatus"]) == (tc, "tcloaded")
    gpp = decode_gpp(state["gpp"]["gppString"])
    assert gpp.section_ids == (2,) and gpp.section("tcfeuv2") == tc
    assert live(document, "/vendors/755.js") and live(document, "/pixels/2.gif")
    assert live(document, "/a.js")
    assert granted(response) >= {"_ga", "IDE"}

    assert answer == {
        "applies": True,
        "purposes": PURPOSES,
        "legitimate_interests": LEGITIMATE_INTEREST,
        "special_features": [1],
        "vendors": CONSENT_VENDORS,
        "vendor_legitimate_interests": INTEREST_VENDORS,
        "tc_string": tc,
        "tags": {"755:1,3,4": True, "2:2,7": True},
    }
    (record,) = await records(site)
    assert (record.event, record.method) == ("given", "accept_all@tcf-notice")
    assert record.categories == {"necessary": True, "analytics": True, "ads": True, "video": True}
    assert record.tc_string == tc and record.gpp_string == state["gpp"]["gppString"]
    texts = await archived(site, record.texts_hash)
    assert texts["tcf.vendors"] == "1,2,8,25,300,755,1126"
    assert texts["tcf.vendor_list_version"] == "142"
    assert texts["tcf.purposes.3"].startswith("Create profiles for personalised advertising")


async def test_reject_all_refuses_every_consent_and_every_legitimate_interest(app, site):
    async with Session(app, "DE") as visitor:
        tc = await decide(visitor, "reject_all")
        response = await visitor.get("/article")
        answer = (await visitor.get("/tcf")).json()
    decoded = decode(tc)
    assert not decoded.purpose_consents and not decoded.purpose_legitimate_interests
    assert not decoded.vendor_consents and not decoded.special_feature_optins
    # Special purposes cannot be objected to: vendors with only those keep their
    # transparency bit; every legitimate interest that can be refused is.
    assert list(decoded.vendor_legitimate_interests) == SPECIAL_ONLY
    document = response.text
    assert not tcf_notice(document)
    assert not live(document, "/vendors/755.js") and not live(document, "/pixels/2.gif")
    assert not live(document, "/a.js")
    assert granted(response).isdisjoint({"_ga", "IDE"})
    assert answer["tags"] == {"755:1,3,4": False, "2:2,7": False}
    (record,) = await records(site)
    assert (record.event, record.tc_string) == ("refused", tc)
    assert record.categories == {
        "necessary": True,
        "analytics": False,
        "ads": False,
        "video": False,
    }


async def test_one_purpose_and_one_objection_through_the_vendor_list_page(app, site):
    async with Session(app, "DE") as visitor:
        page = await visitor.get(f"{PREFERENCES}?next=/article")
        assert page.status_code == 200
        form = Form(page.text)
        # Nothing that needs consent is pre-ticked; legitimate interest starts established.
        assert not any(on for (name, _), on in form.boxes.items() if name in ("purpose", "vendor"))
        assert all(on for (name, _), on in form.boxes.items() if "legitimate" in name)
        assert ("categories", "video") in form.boxes  # the category no purpose decides
        fields = form.post(
            "save",
            purpose__1=True,
            vendor__all=True,
            vendor_legitimate_interest__2=False,
            categories__video=True,
        )
        response = await visitor.post(data=fields)
        assert response.status_code == 303 and response.headers["location"] == "/article"
        tc = visitor.cookies["euconsent-v2"]
        document = (await visitor.get("/article")).text
        answer = (await visitor.get("/tcf")).json()
        again = Form((await visitor.get(f"{PREFERENCES}?next=/article")).text)
    decoded = decode(tc)
    assert sorted(decoded.purpose_consents) == [1] and decoded.consent_screen == 2
    assert sorted(decoded.purpose_legitimate_interests) == LEGITIMATE_INTEREST
    assert list(decoded.vendor_consents) == CONSENT_VENDORS
    assert list(decoded.vendor_legitimate_interests) == [8, 25, 300, 755, 1126]  # not 2
    # 755 needs consent to purposes 3 and 4; vendor 2's legitimate interest is objected to.
    assert not live(document, "/vendors/755.js") and not live(document, "/pixels/2.gif")
    assert answer["tags"] == {"755:1,3,4": False, "2:2,7": False}
    # analytics (1, 8, 9): 1 consented, 8 and 9 on legitimate interest; ads needs 3.
    assert live(document, "/a.js")
    (record,) = await records(site)
    assert record.method == "save@tcf-preferences" and record.tc_string == tc
    assert record.categories == {"necessary": True, "analytics": True, "ads": False, "video": True}
    # The page shows the choice as it was made.
    ticked = {key for key, on in again.boxes.items() if on}
    assert ("purpose", "1") in ticked and ("purpose", "3") not in ticked
    assert ("vendor_legitimate_interest", "2") not in ticked
    assert ("vendor_legitimate_interest", "755") in ticked
    assert ("categories", "video") in ticked


async def test_visitors_in_the_same_kind_of_state_each_get_their_own_tc_string(app):
    # Pages of visitors whose choices look alike to every notice share their composed
    # markup; the state element in it is still each visitor's own.
    strings = []
    async with Session(app, "DE") as first, Session(app, "DE") as second:
        for visitor, vendors in ((first, {"vendor__all": True}), (second, {"vendor__755": True})):
            form = Form((await visitor.get(f"{PREFERENCES}?next=/article")).text)
            fields = form.post("save", purpose__1=True, categories__video=True, **vendors)
            assert (await visitor.post(data=fields)).status_code == 303
        for visitor in (first, second, first):
            state = state_of((await visitor.get("/article")).text)
            assert state["tcString"] == visitor.cookies["euconsent-v2"]
            strings.append(state["tcString"])
    assert strings[0] != strings[1] and strings[0] == strings[2]


async def test_in_place_the_answer_carries_the_cmp_state_and_the_tags_verdicts(app, site):
    async with Session(app, "DE") as visitor:
        response = await visitor.post(
            data={
                "framework": "tcf",
                "layer": "notice",
                "action": "accept_all",
                "tcf_tag": ["755:1,3,4", "2:2,7", "755:1,3,4,11", "not a tag"],
            },
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 200
        answer = response.json()
        tc = visitor.cookies["euconsent-v2"]
    assert answer["decided"] is True and answer["categories"]["ads"] is True
    assert answer["consent_mode"] == {"ad_storage": "granted"}
    assert answer["tcf"]["tcString"] == tc
    assert (answer["tcf"]["eventStatus"], answer["tcf"]["displayStatus"]) == (
        "useractioncomplete",
        "hidden",
    )
    assert decode_gpp(answer["tcf"]["gpp"]["gppString"]).section("tcfeuv2") == tc
    # 11 is not one of the site's purposes: nobody may use it.
    assert answer["tcf_tags"] == {
        "755:1,3,4": True,
        "2:2,7": True,
        "755:1,3,4,11": False,
        "not a tag": False,
    }


async def test_a_withdrawal_from_a_plain_form_refuses_everything_in_the_string_too(app, site):
    async with Session(app, "DE") as visitor:
        await decide(visitor, "accept_all")
        response = await visitor.post(data={"action": "withdraw", "next": "/privacy"})
        assert response.status_code == 303
        tc = visitor.cookies["euconsent-v2"]
        document = (await visitor.get("/article")).text
    decoded = decode(tc)
    assert not decoded.purpose_consents and not decoded.vendor_consents
    assert not live(document, "/vendors/755.js")
    first, second = await records(site)
    assert (second.event, second.method) == ("withdrawn", "withdraw@tcf-banner")
    assert second.consent_id == first.consent_id and second.tc_string == tc


async def test_in_german_the_notice_and_the_string_are_german(app):
    async with Session(app, "DE", language="de") as visitor:
        document = (await visitor.get("/article")).text
        tc = await decide(visitor, "accept_all")
    assert 'lang="de"' in document and "Ihre Datenschutz-Einstellungen" in document
    assert "Informationen auf einem Gerät speichern und/oder abrufen" in document
    assert decode(tc).consent_language == "DE"


@pytest.mark.parametrize(
    "form",
    [
        {"action": "maybe"},
        {"action": "save", "purpose": "one"},
        {"action": "save", "layer": "layer3"},
        {"action": "save", "categories": "nonsense"},
    ],
)
async def test_a_form_no_tcf_page_posts_is_refused_and_nothing_is_written(app, site, form):
    async with Session(app, "DE") as visitor:
        response = await visitor.post(data={"framework": "tcf", "layer": "notice", **form})
        assert response.status_code == 400
        assert "euconsent-v2" not in visitor.cookies
    assert await records(site) == []


async def test_a_vendor_list_page_with_every_box_posts_within_the_limits(app):
    # 64 fields is the limit of the plain consent form; a vendor list has a box or two
    # per vendor.
    async with Session(app, "DE") as visitor:
        fields = {
            "framework": "tcf",
            "layer": "preferences",
            "action": "save",
            "vendor": [str(v) for v in CONSENT_VENDORS] * 12,
            "purpose": [str(p) for p in PURPOSES] * 2,
        }
        response = await visitor.post(data=fields)
        assert response.status_code == 303, response.text
        assert list(decode(visitor.cookies["euconsent-v2"]).vendor_consents) == CONSENT_VENDORS


# --- what counts as a TC string ------------------------------------------------------------


async def test_a_string_not_minted_for_this_visitor_is_no_consent(app, site):
    async with Session(app, "DE") as accepting, Session(app, "DE") as refusing:
        accepted = await decide(accepting, "accept_all")
        await decide(refusing, "reject_all")
        # The refusing visitor swaps in someone else's accept-all string.
        refusing.cookies["euconsent-v2"] = accepted
        response = await refusing.get("/article")
        answer = (await refusing.get("/tcf")).json()
        # A hand-edited string (purpose bits flipped) fares no better.
        edited = accepted.replace(accepted[20:24], "____", 1)
        accepting.cookies["euconsent-v2"] = edited
        edited_page = (await accepting.get("/article")).text
    for document in (response.text, edited_page):
        assert tcf_notice(document)  # asked again
        assert state_of(document)["tcString"] == ""
        assert not live(document, "/vendors/755.js")
    assert answer["tags"] == {"755:1,3,4": False, "2:2,7": False}
    assert granted(response).isdisjoint({"_ga", "IDE"})  # undecided again: opt-in


async def test_a_decision_from_before_tcf_was_on_is_asked_again(app, site):
    policy = load_policy(site)
    state = ConsentState(
        consent_id="before-tcf",
        revision="r1",
        choices={"analytics": True, "ads": True, "video": True},
        decided_at=int(datetime.now(UTC).timestamp()),
        mode="opt_in",
    )
    async with Session(app, "DE") as visitor:
        visitor.cookies["gk_consent"] = ConsentCookie(policy).dumps(state)
        document = (await visitor.get("/article")).text
    assert tcf_notice(document)
    assert not live(document, "/a.js")  # its categories wait for the TCF choice too


def _minted(site: Path, today: date) -> tuple[str, str]:
    """An accept-all TC string made on `today`, and a signed consent cookie bound to it."""
    policy = load_policy(site)
    disclosure = build_disclosure(policy.tcf, load_gvl(policy.tcf.gvl.file))
    text = encode(tc_string(accept_all(disclosure), disclosure, today=today, language="en"))
    state = ConsentState(
        consent_id="long-ago",
        revision="r1",
        choices={"analytics": True, "ads": True, "video": True},
        decided_at=int(datetime.now(UTC).timestamp()),
        mode="opt_in",
        tcf=binding(text),
    )
    return text, ConsentCookie(policy).dumps(state)


@pytest.mark.parametrize(("months", "asked"), [(12, False), (14, True)])
async def test_after_thirteen_months_the_visitor_is_asked_again(tmp_path, months, asked):
    site = write_site(tmp_path, max_age_days=400)
    app = Gatekeeper(APP, policy=str(site))
    made = datetime.now(UTC).date() - timedelta(days=round(months * 30.5))
    text, cookie = _minted(site, made)
    async with Session(app, "DE") as visitor:
        visitor.cookies.update({"euconsent-v2": text, "gk_consent": cookie})
        document = (await visitor.get("/article")).text
    assert tcf_notice(document) is asked
    assert live(document, "/vendors/755.js") is not asked
    assert state_of(document)["tcString"] == ("" if asked else text)


# --- a new vendor list -------------------------------------------------------------------------


async def test_a_new_tcf_policy_version_in_the_vendor_list_asks_everyone_again(app, site):
    async with Session(app, "DE") as visitor:
        await decide(visitor, "accept_all")
        assert not tcf_notice((await visitor.get("/article")).text)
        replace_vendor_list(site.parent, tcfPolicyVersion=6, vendorListVersion=143)
        document = (await visitor.get("/article")).text
        assert tcf_notice(document)
        assert state_of(document)["tcfPolicyVersion"] == 6
        assert not live(document, "/vendors/755.js")
        tc = await decide(visitor, "accept_all")
    decoded = decode(tc)
    assert (decoded.policy_version, decoded.vendor_list_version) == (6, 143)
    first, second = await records(site)
    assert second.event == "given"  # the old decision no longer stood
    assert first.texts_hash != second.texts_hash  # another vendor list was shown


async def test_tcf_update_under_a_running_server_is_served_without_a_restart(
    app, site, httpx_mock: HTTPXMock
):
    policy = load_policy(site)
    newer = json.loads(GVL_FILE.read_text(encoding="utf-8"))
    newer.update(vendorListVersion=150, tcfPolicyVersion=6)
    httpx_mock.add_response(url=policy.tcf.gvl.url, json=newer)
    translation = policy.tcf.gvl.translations_url.format(language="de")
    german = json.loads((DATA / "purposes-de.json").read_text(encoding="utf-8"))
    german.update(vendorListVersion=150, tcfPolicyVersion=6)
    httpx_mock.add_response(url=translation, json=german)
    async with Session(app, "DE", language="de") as visitor:
        await decide(visitor, "accept_all")
        updated = await asyncio.to_thread(update_gvl, policy.tcf.gvl, ["en", "de"], force=True)
        assert updated.changed and updated.languages == ("de",)
        document = (await visitor.get("/article")).text
        tc = await decide(visitor, "accept_all")
    assert tcf_notice(document) and 'lang="de"' in document  # asked again, in German
    assert state_of(document)["tcfPolicyVersion"] == 6
    assert (decode(tc).vendor_list_version, decode(tc).policy_version) == (150, 6)


async def test_a_policy_reload_keeps_the_vendor_list_it_has_read(tmp_path):
    site = write_site(tmp_path)
    text = site.read_text(encoding="utf-8")
    site.write_text(text + "reload_interval: 0.000001\n", encoding="utf-8")
    app = Gatekeeper(APP, policy=str(site))
    before = app.plan
    staging = site.with_name("staging.yaml")
    staging.write_text(
        text.replace("label: Video", "label: Videos") + "reload_interval: 0.000001\n",
        encoding="utf-8",
    )
    os.replace(staging, site)
    async with Session(app, "DE") as visitor:
        await visitor.get("/article")  # notices the edit; it is read in a worker thread
        assert app._file is not None and app._file.wait(timeout=30)
        await visitor.get("/article")  # the new revision's plan is built and swapped in
        tc = await decide(visitor, "accept_all")
    assert app.plan is not before
    assert app.plan.consent.tcf.gvl_file is before.consent.tcf.gvl_file
    assert decode(tc).vendor_list_version == 142


async def test_a_weekly_vendor_list_update_is_picked_up_without_asking_again(app, site):
    async with Session(app, "DE") as visitor:
        tc = await decide(visitor, "accept_all")
        replace_vendor_list(site.parent, vendorListVersion=143, **{"1126": None})
        document = (await visitor.get("/article")).text
        vendor_page = (await visitor.get(f"{PREFERENCES}?next=/article")).text
        newer = await decide(visitor, "accept_all")
    assert not tcf_notice(document) and state_of(document)["tcString"] == tc
    assert live(document, "/vendors/755.js")
    assert "Cobalt Video" not in vendor_page and "Tidewater Ad Platform" in vendor_page
    decoded = decode(newer)
    assert decoded.vendor_list_version == 143
    assert 1126 not in decoded.vendor_consents and 1126 not in decoded.disclosed_vendors


async def test_a_broken_vendor_list_file_keeps_the_last_good_one(app, site):
    async with Session(app, "DE") as visitor:
        (site.parent / "gvl" / ".broken").write_text("{not json", encoding="utf-8")
        (site.parent / "gvl" / ".broken").replace(site.parent / "gvl" / "vendor-list.json")
        document = (await visitor.get("/article")).text
        tc = await decide(visitor, "accept_all")
    assert tcf_notice(document) and "We and our 7 partners" in document
    assert decode(tc).vendor_list_version == 142


async def test_without_a_vendor_list_the_site_does_not_start(site):
    (site.parent / "gvl" / "vendor-list.json").unlink()
    with pytest.raises(PolicyError) as info:
        Gatekeeper(APP, policy=str(site))
    message = str(info.value)
    assert "tcf.gvl.file" in message and "gatekeeper tcf update --policy" in message


# --- US states: the usnat section --------------------------------------------------------------


async def test_in_california_the_gpp_string_carries_the_opt_outs_and_gpc(app, site):
    async with Session(app, "US-CA", gpc=True) as visitor:
        response = await visitor.get("/article")
        # The signal is recorded when the browser comes back with its pending cookie.
        assert await records(site) == []
        await visitor.get("/article")
        gpc_records = await records(site)
        await visitor.decide("accept_all")  # an explicit choice wins over GPC
        decided = await records(site)
    state = state_of(response.text)
    assert (state["gdprApplies"], state["gpp"]["applicableSections"]) == (False, [7])
    usnat = decode_usnat(decode_gpp(state["gpp"]["gppString"]).section("usnat"))
    assert (usnat.sale_opt_out, usnat.sharing_opt_out, usnat.targeted_advertising_opt_out) == (
        YES,
        YES,
        YES,
    )
    assert usnat.gpc is True
    (gpc,) = gpc_records
    assert gpc.event == "gpc" and gpc.tc_string is None
    assert decode_usnat(decode_gpp(gpc.gpp_string).section("usnat")).sale_opt_out == YES
    given = decided[-1]
    assert given.method == "accept_all@banner" and given.tc_string is None
    after = decode_usnat(decode_gpp(given.gpp_string).section("usnat"))
    assert (after.sale_opt_out, after.gpc) == (NO, True)
    assert "euconsent-v2" not in {c.name for c in set_cookies(response)}


async def test_where_no_gpp_section_applies_a_decision_has_no_strings(app, site):
    async with Session(app, "JP") as visitor:
        await visitor.decide("reject_all")
    (record,) = await records(site)
    assert (record.tc_string, record.gpp_string) == (None, None)
    assert record.method == "reject_all@banner"


def test_choices_and_categories_agree_with_the_disclosure(site):
    """The mapping the flow records: a category is accepted when every purpose it lists
    is allowed, by consent or by a legitimate interest not objected to."""
    policy = load_policy(site)
    disclosure = build_disclosure(policy.tcf, load_gvl(policy.tcf.gvl.file))
    only_one = Choices(purpose_consents=frozenset({1}))
    assert only_one.categories(disclosure) == {"analytics"}
    objected = Choices(purpose_consents=frozenset({1}), purpose_objections=frozenset({8}))
    assert objected.categories(disclosure) == frozenset()
