"""Where each notice goes, notice mode's acknowledge button, the GPC line and the
preferences dialog, through the full middleware on a real SQLite consent log.

The browser side of the same (hit-testing every button with every combination of
notices, the dialog's focus handling) is tests/browser/test_layout.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from gatekeeper import Gatekeeper
from gatekeeper.adblock.cookie import AdblockCookie, AdblockState
from tests.conftest import SECRET

ORIGIN = "http://news.test"
CONSENT = "/_gatekeeper/consent"
PAGE = (
    "<!doctype html><html><head><title>t</title></head><body><main><p>hi</p></main></body></html>"
)
SECTIONS = """\
site: {{name: Test News, revision: "r1", contact_url: /contact}}
secret_keys: ["{secret}"]
debug: true
languages: {{default: en, available: [en, de]}}
consent:
  modes: {{opt_in: [DE], opt_out: [US-CA], notice: [JP], default: opt_in, unknown: opt_in}}
  categories:
    necessary: {{required: true, label: Necessary}}
    analytics: {{label: Analytics, description: Counts visits, cookies: ["_ga"]}}
    ads: {{label: Advertising, cookies: ["IDE"], sale_or_sharing: true}}
adblock: {{mode: {adblock}, requires_consent: none}}  # beside the banner, to place both
notifications:
  - {{id: hello, text: Hello readers, links: [{{label: Contact Us, href: /contact}}]}}
offline_notice: {{enabled: true}}
audit: {{store: "sqlite:///{store}"}}
"""


async def page(request):
    return HTMLResponse(PAGE)


APP = Starlette(routes=[Route("/{path:path}", page)])


def make_app(tmp_path, adblock: str = "notice") -> Gatekeeper:
    path = tmp_path / f"{adblock}.yaml"
    path.write_text(
        SECTIONS.format(secret=SECRET, adblock=adblock, store=tmp_path / f"{adblock}.db"),
        encoding="utf-8",
    )
    return Gatekeeper(APP, policy=str(path))


CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def client(app: Gatekeeper, **headers: str) -> httpx.AsyncClient:
    """A browser (crawlers get no adblock check), cookies kept between requests."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    return httpx.AsyncClient(
        transport=transport, base_url=ORIGIN, headers={"User-Agent": CHROME, **headers}
    )


BLOCKED = {"gk_adblock": AdblockCookie([SECRET]).dumps(AdblockState("blocked"))}


class Outline(HTMLParser):
    """The page's element tree as (depth, tag, attributes) for the elements that matter."""

    VOID = frozenset({"input", "img", "link", "meta", "br"})

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.found: list[tuple[int, str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((self.depth, tag, dict(attrs)))
        if tag not in self.VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID:
            self.depth -= 1


def body_children(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Outline()
    parser.feed(markup)
    start = next(i for i, (_, tag, _) in enumerate(parser.found) if tag == "body")
    body = parser.found[start][0]
    return [(tag, attrs) for depth, tag, attrs in parser.found[start + 1 :] if depth == body + 1]


def dock_children(markup: str) -> list[dict[str, str | None]]:
    parser = Outline()
    parser.feed(markup)
    found = parser.found
    start = next(i for i, (_, _, a) in enumerate(found) if a.get("data-gk-region") == "bottom")
    depth = found[start][0]
    children = []
    for level, _tag, attrs in found[start + 1 :]:
        if level <= depth:
            break
        if level == depth + 1:
            children.append(attrs)
    return children


def first_layer(markup: str) -> str:
    match = re.search(r'<div data-gk-notice="consent".*?</section>', markup, flags=re.S)
    assert match, "no first layer"
    return match.group(0)


# --- regions ----------------------------------------------------------------------------


async def test_every_notice_has_its_region(tmp_path):
    app = make_app(tmp_path)
    async with client(app) as browser:
        browser.cookies.update(BLOCKED)
        text = (await browser.get("/?gk_country=DE")).text
    children = body_children(text)
    names = [
        attrs.get("data-gk-notice") or attrs.get("data-gk-region") or tag for tag, attrs in children
    ]
    # top: the bar in the flow, the offline notice below it; then the page; then the dock,
    # the baits (no notice) and the script.
    assert names[:3] == ["notification", "offline", "main"]
    assert names[3] == "bottom"
    assert [tag for tag, _ in children[4:]] == ["div", "img", "script"]
    assert "data-gk-bait" in children[4][1]
    # In the dock: the banner first (first in focus order), the way back to the choices
    # (hidden until a decision), the preferences dialog, then the adblock notice.
    dock = dock_children(text)
    assert [a.get("data-gk-notice") or a.get("class") for a in dock] == [
        "consent",
        "gk-reopen-landmark",
        "preferences",
        "adblock",
    ]
    assert "hidden" in dock[1] and "hidden" not in dock[3]  # a known blocker: shown at once


async def test_decided_visitors_get_the_way_back_and_the_dialog_in_the_dock(tmp_path):
    app = make_app(tmp_path)
    async with client(app, Origin=ORIGIN) as browser:
        await browser.post(CONSENT + "?gk_country=DE", data={"action": "reject_all", "next": "/"})
        text = (await browser.get("/?gk_country=DE")).text
    assert 'data-gk-notice="consent"' not in text  # the first layer is gone for good
    dock = dock_children(text)
    assert [a.get("data-gk-notice") or a.get("class") for a in dock[:2]] == [
        "gk-reopen-landmark",
        "preferences",
    ]
    assert "hidden" not in dock[0]


async def test_a_wall_keeps_the_privacy_and_contact_pages_one_link_away(tmp_path):
    app = make_app(tmp_path, adblock="wall")
    async with client(app) as browser:
        browser.cookies.update(BLOCKED)
        text = (await browser.get("/?gk_country=DE")).text
    wall = re.search(r'<div data-gk-notice="adblock".*?</ul>', text, flags=re.S).group(0)
    assert 'class="gk-wall"' in wall and " hidden" not in wall.split(">")[0]
    assert '<a href="/privacy">Privacy policy</a>' in wall
    assert '<a href="/contact">Contact us</a>' in wall
    # The consent banner stays usable beside it: the wall is not an aria-modal dialog,
    # which would hide the banner from screen readers.
    assert 'aria-modal="false"' in wall
    assert 'data-gk-notice="consent"' in text


# --- notice mode: one acknowledge button ---------------------------------------------------


async def test_notice_places_get_one_acknowledge_button(tmp_path):
    app = make_app(tmp_path)
    async with client(app) as browser:
        notice = first_layer((await browser.get("/?gk_country=JP")).text)
        opt_in = first_layer((await browser.get("/?gk_country=DE")).text)
    assert re.findall(r'name="action" value="(\w+)"', notice) == ["acknowledge"]
    assert ">Understood</button>" in notice and "data-gk-customise" not in notice
    assert re.findall(r'name="action" value="(\w+)"', opt_in) == [
        "accept_all",
        "reject_all",
        "save",
    ]
    assert "data-gk-customise" in opt_in


async def test_acknowledging_is_a_recorded_decision(tmp_path):
    app = make_app(tmp_path)
    async with client(app, Origin=ORIGIN) as browser:
        answer = await browser.post(
            CONSENT + "?gk_country=JP",
            data={"action": "acknowledge", "layer": "banner", "next": "/"},
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        state = (await browser.get(CONSENT + "?gk_country=JP")).json()
        page = (await browser.get("/?gk_country=JP")).text
    assert state["decided"] is True and state["mode"] == "notice"
    # Nothing changes for what runs: in notice places everything already did.
    assert state["categories"] == {"necessary": True, "analytics": True, "ads": True}
    assert 'data-gk-notice="consent"' not in page  # acknowledged: the notice stays away
    [record] = await app.plan.log.history(state["consent_id"])
    assert record["event"] == "given" and record["method"] == "acknowledge@banner"
    assert record["categories"] == state["categories"] and record["mode"] == "notice"
    await app.close()


async def test_acknowledging_keeps_a_gpc_opt_out(tmp_path):
    app = make_app(tmp_path)
    async with client(app, Origin=ORIGIN, **{"Sec-GPC": "1"}) as browser:
        await browser.post(CONSENT + "?gk_country=JP", data={"action": "acknowledge", "next": "/"})
        state = (await browser.get(CONSENT + "?gk_country=JP")).json()
    assert state["categories"] == {"necessary": True, "analytics": True, "ads": False}


async def test_acknowledge_is_refused_where_consent_is_asked(tmp_path):
    app = make_app(tmp_path)
    async with client(app, Origin=ORIGIN) as browser:
        for place in ("DE", "US-CA"):
            refused = await browser.post(
                CONSENT + f"?gk_country={place}",
                data={"action": "acknowledge", "next": "/"},
                headers={"Accept": "application/json"},
            )
            assert refused.status_code == 400
            assert (
                "acknowledge is only for places where the banner is a notice"
                in refused.json()["error"]
            )
            assert "set-cookie" not in refused.headers
        state = (await browser.get(CONSENT + "?gk_country=DE")).json()
    assert state["decided"] is False
    assert await app.plan.log.records(limit=10) == []  # validated before anything is written
    await app.close()


# --- the GPC line ---------------------------------------------------------------------------

GPC_LINE = "Your opt-out signal was honoured"


async def test_gpc_visitors_are_told_their_signal_was_honoured(tmp_path):
    app = make_app(tmp_path)
    async with (
        client(app, Origin=ORIGIN) as plain,
        client(app, Origin=ORIGIN, **{"Sec-GPC": "1"}) as gpc,
    ):
        assert GPC_LINE not in (await plain.get("/?gk_country=US-CA")).text
        page = (await gpc.get("/?gk_country=US-CA")).text
        pill = re.search(r'<aside class="gk-reopen-landmark".*?</aside>', page, flags=re.S).group(0)
        assert f'<span class="gk-gpc">{GPC_LINE}</span>' in pill
        dialog = re.search(r"<dialog.*?</dialog>", page, flags=re.S).group(0)
        assert GPC_LINE in dialog
        assert not re.search(r'value="ads" checked', dialog)  # and the dialog shows it refused
        preferences = (await gpc.get("/_gatekeeper/preferences?gk_country=US-CA")).text
        assert GPC_LINE in preferences
        # German visitors read it in German.
        german = (await gpc.get("/?gk_country=US-CA", headers={"Accept-Language": "de"})).text
        assert "Ihr Widerspruchssignal wurde beachtet" in german
        # A visitor who then allows advertising themselves is no longer told so: their
        # choice won over the signal.
        await gpc.post(CONSENT + "?gk_country=US-CA", data={"action": "accept_all", "next": "/"})
        assert GPC_LINE not in (await gpc.get("/?gk_country=US-CA")).text


# --- the preferences dialog ----------------------------------------------------------------


async def test_the_dialog_is_rendered_with_the_visitors_choices(tmp_path):
    app = make_app(tmp_path)
    async with client(app, Origin=ORIGIN) as browser:
        fresh = (await browser.get("/?gk_country=DE")).text
        dialog = re.search(r"<dialog.*?</dialog>", fresh, flags=re.S).group(0)
        # Opt-in and undecided: nothing pre-ticked but the required category, no withdraw.
        assert re.findall(r'value="(\w+)" checked', dialog) == ["necessary"]
        assert 'value="withdraw"' not in dialog
        assert '<input type="hidden" name="layer" value="dialog">' in dialog
        assert '<form method="dialog">' in dialog  # closes without a script
        answer = await browser.post(
            CONSENT + "?gk_country=DE",
            data={"action": "save", "layer": "dialog", "categories": ["analytics"], "next": "/"},
        )
        assert answer.status_code == 303
        decided = (await browser.get("/?gk_country=DE")).text
        state = (await browser.get(CONSENT + "?gk_country=DE")).json()
    dialog = re.search(r"<dialog.*?</dialog>", decided, flags=re.S).group(0)
    assert re.findall(r'value="(\w+)" checked', dialog) == ["necessary", "analytics"]
    assert 'value="withdraw"' in dialog
    # Its ids do not clash with the first layer's, which is in the same page at first.
    ids = re.findall(r'\sid="([^"]+)"', fresh)
    assert "gk-pref-analytics" in ids and "gk-cat-analytics" in ids
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    [record] = await app.plan.log.history(state["consent_id"])
    assert record["method"] == "save@dialog"
    await app.close()


async def test_the_preferences_page_carries_the_sites_name(tmp_path):
    app = make_app(tmp_path)
    async with client(app) as browser:
        page = (await browser.get("/_gatekeeper/preferences?next=/a&gk_country=US-CA")).text
    assert '<header class="gk-site"><a href="/">Test News</a></header>' in page
    assert "<title>Do not sell or share my personal information · Test News</title>" in page
    assert '<link rel="stylesheet" href="/_gatekeeper/static/gatekeeper.' in page
