"""Every notice, in every bundled language, through the real middleware and templates: the
visitor reads gatekeeper's own words in their language and none of them in English."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from gatekeeper import Gatekeeper
from gatekeeper.i18n import bundled, catalogue
from gatekeeper.i18n.extract import extract
from tests.conftest import SECRET

PAGE = "<!doctype html><html><head><title>x</title></head><body><p>x</p></body></html>"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
ORIGIN = "http://news.test"


async def page(request):
    if request.url.path == "/privacy":  # the policy's privacy_url: the cookie table's marker
        return HTMLResponse(PAGE.replace("<p>x</p>", "<gk-cookie-table></gk-cookie-table>"))
    return HTMLResponse(PAGE)


APP = Starlette(routes=[Route("/{path:path}", page)])

# Operator texts are single strings (the same in every language) that are no English
# built-in text, so every English word a visitor could see would be gatekeeper's own.
SECTIONS = """\
site: {{name: Z, revision: "r1", contact_url: /kontakt}}
secret_keys: ["{secret}"]
debug: true
languages: {{default: en, available: [{languages}]}}
consent:
  modes: {{opt_in: [DE], opt_out: [US-CA], notice: [JP], default: opt_in, unknown: opt_in}}
  categories:
    necessary: {{required: true, label: Nec}}
    stats: {{label: Stx, cookies: ["_ga", "_ga_*"]}}
adblock: {{mode: {adblock}, requires_consent: none}}  # shown before any choice, to read it
geoblock: {{deny: [AQ]}}
notifications:
  - {{id: n1, text: N1, links: [{{label: L1, href: /l1}}]}}
offline_notice: {{enabled: true}}
audit: {{store: "sqlite:///{store}"}}
"""

LANGUAGES = bundled()
ENGLISH = {
    message.id
    for message in extract()
    if message.id and isinstance(message.id, str) and "%(" not in message.id
}


class Visible(HTMLParser):
    """What a person (or a screen reader) gets from a page: its text and its labels."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.extend(value or "" for name, value in attrs if name in ("aria-label", "alt"))


def visible(markup: str) -> str:
    parser = Visible()
    parser.feed(markup)
    return re.sub(r"[ \t\r\n]+", " ", " ".join(parser.parts))  # keeps no-break spaces


def english_in(text: str) -> list[str]:
    return [source for source in ENGLISH if re.search(rf"(?<!\w){re.escape(source)}(?!\w)", text)]


@pytest.fixture
def app(tmp_path):
    def build(adblock: str = "notice") -> Gatekeeper:
        path = tmp_path / f"{adblock}.yaml"
        path.write_text(
            SECTIONS.format(
                secret=SECRET,
                languages=", ".join(LANGUAGES),
                adblock=adblock,
                store=tmp_path / "log.db",
            ),
            encoding="utf-8",
        )
        return Gatekeeper(APP, policy=str(path))

    return build


async def pages(app: Gatekeeper, language: str) -> dict[str, str]:
    """Every page with notices, as a visitor reading `language` sees them."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    headers = {"Accept-Language": language, "User-Agent": CHROME}
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers=headers) as client:
        shown = {
            "opt-in": (await client.get("/?gk_country=DE")).text,
            "opt-out": (await client.get("/?gk_country=US-CA")).text,
            "opt-out, GPC": (await client.get("/?gk_country=US-CA", headers={"Sec-GPC": "1"})).text,
            "notice": (await client.get("/?gk_country=JP")).text,
            "preferences": (await client.get("/_gatekeeper/preferences?next=/")).text,
            "block": (await client.get("/?gk_country=AQ")).text,
            "cookies": (await client.get("/_gatekeeper/cookies")).text,
            "privacy": (await client.get("/privacy?gk_country=DE")).text,
        }
        decided = await client.post(
            "/_gatekeeper/consent",
            data={"action": "accept_all", "next": "/"},
            headers={"Origin": ORIGIN},
        )
        assert decided.status_code == 303
        shown["decided"] = (await client.get("/?gk_country=DE")).text
        shown["preferences, decided"] = (await client.get("/_gatekeeper/preferences")).text
    return shown


# What each page must show, by msgid: present in the visitor's language.
EXPECTED = {
    "opt-in": [
        "Your privacy",
        "With your consent, we use cookies to measure how the site is used and to pay for it "
        "with advertising. Choose what you allow; you can change your mind at any time.",
        "Accept all",
        "Reject all",
        "Customise",
        "Save choices",
        "Privacy policy",
        "Categories",
        "Privacy choices",
        "Site notices",
        "Dismiss",
        "Ad blocker detected",
        "This site is paid for by advertising. Please consider allowing ads on it; you are "
        "welcome to read on either way.",
        "I have allowed ads, check again",
        "Continue",
        "You appear to be offline. Check your connection; the page carries on once it is back.",
        "Close",  # the preferences dialog, in the page for the way back to the choices
    ],
    "opt-out": ["Do not sell or share my personal information", "Save choices", "Close"],
    "opt-out, GPC": [
        "Do not sell or share my personal information",
        "Your opt-out signal was honoured",
    ],
    "notice": ["This site uses cookies for analytics and advertising.", "Understood"],
    "preferences": ["Privacy choices", "Back to the site", "Save choices", "Accept all"],
    "block": [
        "This page is not available in your region",
        "For legal reasons we cannot show this content where you are. If you think this is "
        "a mistake, please get in touch.",
        "Contact us",
    ],
    "cookies": [
        "Cookies on this site",
        "Cookie name",
        "Purpose",
        "Kept for",
        "Remembers your privacy choices, so you are not asked on every page.",
        "Remembers whether an ad blocker was found and when you dismissed the notice.",
        "Remembers which site notices you dismissed.",
        "Test mode only: the place a tester chose to act as.",
        "Back to the site",
    ],
    "privacy": ["Cookie name", "Purpose", "Kept for", "Until the browser is closed"],
    "decided": ["Privacy choices"],
    "preferences, decided": ["Withdraw my consent"],
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_notice_speaks_the_visitors_language(app, language):
    messages = catalogue(language)
    shown = await pages(app(), language)
    for name, markup in shown.items():
        text = visible(markup)
        assert f'lang="{language}"' in markup or name not in ("preferences", "block", "cookies")
        for source in EXPECTED[name]:
            assert messages.gettext(source) in text, f"{language} {name}: {source!r}"
        if language != "en":
            assert not english_in(text), f"{language} {name}: English {english_in(text)}"
    kept = messages.ngettext("%(num)d day", "%(num)d days", 180) % {"num": 180}
    assert kept in visible(shown["cookies"]) and kept in visible(shown["privacy"])
    preferences = visible(shown["preferences"])
    assert messages.ngettext("%(num)d cookie", "%(num)d cookies", 2) % {"num": 2} in preferences
    consent_id = messages.gettext("Consent ID: %(id)s").split("%(id)s")[0]
    assert consent_id in visible(shown["preferences, decided"])
    dismiss = messages.gettext("Dismiss: %(notice)s") % {"notice": "N1"}
    assert f'aria-label="{dismiss}"' in shown["opt-in"].replace("&#39;", "'")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_adblock_wall_speaks_the_visitors_language(app, language):
    messages = catalogue(language)
    wall = "This site is paid for by advertising. To read on, please allow ads on this site, then check again."
    transport = httpx.ASGITransport(app=app("wall"), client=("127.0.0.1", 1))
    headers = {"Accept-Language": language, "User-Agent": CHROME}
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers=headers) as client:
        text = visible((await client.get("/?gk_country=DE")).text)
    assert messages.gettext(wall) in text
    assert messages.gettext("I have allowed ads, check again") in text
    # The page behind a wall is hidden: the wall itself links the privacy and contact pages.
    assert messages.gettext("Privacy policy") in text and messages.gettext("Contact us") in text
    # A wall cannot be dismissed, and says nothing of reading on without allowing ads.
    assert messages.gettext("Continue") not in text
    notice = "This site is paid for by advertising. Please consider allowing ads on it; you are welcome to read on either way."
    assert messages.gettext(notice) not in text
    if language != "en":
        assert not english_in(text), f"{language}: English {english_in(text)}"
