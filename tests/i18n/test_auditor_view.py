"""The auditor view in every bundled language, through the real middleware and a real
SQLite log filled by real decisions: every page speaks the auditor's language (their
browser's, among all bundled languages, whatever the site lists), no English label is
left, and the history page names each text a visitor was shown instead of its raw key."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from gatekeeper import Gatekeeper
from gatekeeper.adblock.store import open_store
from gatekeeper.i18n import bundled, catalogue, locale_name
from gatekeeper.i18n.extract import extract, read
from tests.conftest import SECRET
from tests.i18n.test_catalogues import path_of
from tests.i18n.test_rendered import visible

TOKEN = "auditor-token-0123456789abcdefghij"
ORIGIN = "http://news.test"
AUDIT = "/_gatekeeper/audit"
# The site itself speaks only English and German: the auditor view speaks every
# bundled language regardless.
POLICY = """\
site: {{name: Z, revision: "r1"}}
secret_keys: ["{secret}"]
debug: true
languages: {{default: en, available: [en, de]}}
consent:
  modes: {{opt_in: [DE], opt_out: [US-CA], notice: [JP], default: opt_in, unknown: opt_in}}
  categories:
    necessary: {{required: true, label: Nec, description: Necdesc}}
    stats: {{label: Stx, description: Stxdesc, cookies: ["_ga"]}}
adblock: {{mode: notice}}
audit:
  store: "sqlite:///{store}"
  signing_key: {key}
  view: {{enabled: true, token: "{token}"}}
"""

AUDIT_TEXTS = {
    message.id
    for message in extract()
    if isinstance(message.id, str)
    and "%(" not in message.id
    and any("audit" in file for file, _ in message.locations)
}


async def page(request):
    response = HTMLResponse("<!doctype html><html><body><p>x</p></body></html>")
    # A cookie no category lists, for the cookies page to flag.
    response.set_cookie("hl_edition", "coast", max_age=30 * 86400)
    return response


APP = Starlette(routes=[Route("/{path:path}", page)])


def english_in(text: str, language: str) -> list[str]:
    """The auditor view's English words found in `text`, leaving out any word the
    language's own catalogue uses too (Spanish writes "Total general")."""
    own = " ".join(
        " ".join(m.string) if isinstance(m.string, tuple) else m.string
        for m in read(path_of(language))
        if m.id
    )

    def found(word: str, where: str) -> bool:
        return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", where) is not None

    return sorted(t for t in AUDIT_TEXTS if found(t, text) and not found(t, own))


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, dict[str, str]]:
    """Every page of the view, in every bundled language: language -> page -> markup.
    Built once for the module (29 languages x 8 pages), in its own event loop."""
    return asyncio.run(collect(tmp_path_factory.mktemp("auditor-view")))


async def collect(folder: Path) -> dict[str, dict[str, str]]:
    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (folder / "signing.pem").write_bytes(key)
    await open_store(f"sqlite:///{folder / 'log.db'}").add(
        {("2026-11-27", "DE", "/articles", "blocked"): 3, ("2026-11-28", "FR", "/", "allowed"): 4}
    )
    policy = folder / "policy.yaml"
    policy.write_text(
        POLICY.format(
            secret=SECRET, store=folder / "log.db", key=folder / "signing.pem", token=TOKEN
        ),
        encoding="utf-8",
    )
    app = Gatekeeper(APP, policy=str(policy))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    shown: dict[str, dict[str, str]] = {}
    try:
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            consent_id = ""
            for place, action in (
                ("DE", "accept_all"),
                ("US-CA", "reject_all"),
                ("JP", "acknowledge"),
            ):
                decided = await client.post(
                    f"/_gatekeeper/consent?gk_country={place}",
                    data={"action": action, "next": "/"},
                    headers={"Origin": ORIGIN, "Accept": "application/json"},
                )
                assert decided.status_code == 200, decided.text
                consent_id = consent_id or decided.json()["consent_id"]
                client.cookies.clear()
            await client.get("/")  # the app sets its cookie
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            for language in bundled():
                headers = {**bearer, "Accept-Language": f"{language};q=0.9, en;q=0.1"}
                views = {
                    "records": f"{AUDIT}",
                    "history": f"{AUDIT}/consent?id={consent_id}",
                    "verify": f"{AUDIT}/verify",
                    "stats": f"{AUDIT}/stats",
                    "adblock": f"{AUDIT}/adblock",
                    "cookies": f"{AUDIT}/cookies",
                    "report": f"{AUDIT}/report.html",
                    "filtered": f"{AUDIT}?country=FR&event=withdrawn",
                }
                shown[language] = {}
                for name, path in views.items():
                    response = await client.get(path, headers=headers)
                    assert response.status_code == 200, (language, name, response.text[:300])
                    shown[language][name] = response.text
                refused = await client.get(AUDIT, headers={"Accept-Language": language})
                assert refused.status_code == 401
                shown[language]["sign-in"] = refused.text
    finally:
        await app.close()
    return shown


@pytest.mark.parametrize("language", bundled())
def test_every_page_of_the_auditor_view_speaks_the_auditors_language(pages, language):
    messages = catalogue(language)
    for name, markup in pages[language].items():
        assert f'<html lang="{language}">' in markup, (language, name)
        # The charts' own words (titles, descriptions, legends) come from
        # gatekeeper/audit/charts.py, which does not translate yet: left out here.
        text = visible(re.sub(r'<figure class="gk-figure">.*?</figure>', "", markup, flags=re.S))
        if language != "en":
            assert not (left := english_in(text, language)), f"{language} {name}: English {left}"
    expect = {
        "records": ["Consent records", "Filters", "Apply filters", "Downloads", "Records"],
        "history": ["Consent history", "What the visitor was shown", "Show history"],
        "verify": ["Verification", "Checkpoints", "Texts archive"],
        "stats": ["Statistics", "Choices by jurisdiction mode", "Acceptance by category"],
        "adblock": ["Adblock rates", "By day", "Blocked rate", "Total"],
        "cookies": [
            "Cookie inventory",
            "Set by the site",
            "Set by gatekeeper",
            "Cookie name",
            "First seen",
            "Last seen",
            "Unlisted",
            "Kept for",
            "Purpose",
            "Keeps an auditor signed in to the consent log.",
        ],
        "report": ["1. Verification of the whole log", "3. Texts shown, per policy revision"],
        "filtered": ["No records match these filters."],
        "sign-in": ["Sign in to the auditor view", "Open the consent log"],
    }
    for name, sources in expect.items():
        text = visible(pages[language][name])
        for source in sources:
            assert messages.gettext(source) in text, (language, name, source)
    cookies = visible(pages[language]["cookies"])
    unlisted = "%(num)d cookie is not listed in the policy."
    plural = "%(num)d cookies are not listed in the policy."
    assert messages.ngettext(unlisted, plural, 1) % {"num": 1} in cookies
    days = messages.ngettext("%(num)d day", "%(num)d days", 30) % {"num": 30}
    assert days in cookies  # the attributes' lifetime, translated
    records = visible(pages[language]["records"])
    assert (
        messages.ngettext("The log holds %(num)d record.", "The log holds %(num)d records.", 3)
        % {"num": 3}
        in records
    )


@pytest.mark.parametrize("language", ["en", "de", "fr", "ja"])
def test_the_history_names_the_texts_shown_instead_of_their_keys(pages, language):
    messages = catalogue(language)
    history = pages[language]["history"]
    text = visible(history)
    for key in ("category.stats.label", "category.stats.description", "notice_text", "do_not_sell"):
        assert key not in text
    labels = [
        messages.gettext("Banner heading"),
        messages.gettext("Accept button"),
        messages.gettext("Acknowledge button (where only notice is given)"),
        messages.gettext("Category “%(category)s”: name") % {"category": "stats"},
        messages.gettext("Category “%(category)s”: description") % {"category": "stats"},
    ]
    for label in labels:
        assert label in text, (language, label)
    # Each label sits next to what that visitor read: their texts, in their language (en).
    shown = re.findall(r"<dt>([^<]*)</dt>\s*<dd>([^<]*)</dd>", history)
    pairs = {label.strip(): value for label, value in shown}
    assert (
        pairs[messages.gettext("Category “%(category)s”: description") % {"category": "stats"}]
        == "Stxdesc"
    )
    assert pairs[messages.gettext("Accept button")] == "Accept all"
    # In the banner's reading order, the categories after the banner's own texts.
    order = [label.strip() for label, _ in shown]
    assert order.index(messages.gettext("Banner heading")) < order.index(
        messages.gettext("Category “%(category)s”: name") % {"category": "stats"}
    )


def test_the_auditor_view_has_texts_to_translate():
    """The test above would pass vacuously if the templates wrote no _()."""
    assert {"Consent records", "Verification", "Banner heading", "Texts archive"} <= AUDIT_TEXTS
    assert locale_name("pt-BR") == "pt_BR"
