"""The privacy page's cookie table, through a real app wrapped by `Gatekeeper`: the marker
`<gk-cookie-table></gk-cookie-table>` replaced on the privacy page (whole or streamed),
left alone elsewhere, and `GET {prefix}/cookies` as HTML and JSON, in the visitor's
language, with unlisted cookies flagged."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, StreamingResponse
from starlette.routing import Route

from gatekeeper import Gatekeeper
from gatekeeper.html.marker import ReplaceMarker, chained
from gatekeeper.i18n import catalogue
from tests.conftest import BASE_POLICY

ORIGIN = "http://news.test"
MARKER = "<gk-cookie-table></gk-cookie-table>"
PRIVACY = (
    f"<!doctype html><html><head><title>p</title></head><body><h1>P</h1>{MARKER}</body></html>"
)


async def front(request):
    response = HTMLResponse("<!doctype html><html><body><p>x</p></body></html>")
    response.set_cookie("_ga", "GA1.1.1.1", max_age=2 * 365 * 86400)
    response.set_cookie("hl_edition", "coast", max_age=30 * 86400)
    response.set_cookie("csrftoken", "t", max_age=31449600)
    return response


async def privacy(request):
    return HTMLResponse(PRIVACY)


async def streamed(request):
    async def chunks():
        # The marker split over three body messages.
        yield PRIVACY[:60].encode()
        yield PRIVACY[60:75].encode()
        yield PRIVACY[75:].encode()

    return StreamingResponse(chunks(), media_type="text/html")


async def elsewhere(request):
    return HTMLResponse(PRIVACY)


APP = Starlette(
    routes=[
        Route("/", front),
        Route("/privacy", privacy),
        Route("/legal/privacy", streamed),
        Route("/about", elsewhere),
    ]
)


@pytest.fixture
def app(tmp_path: Path):
    def build(privacy_url: str = "/privacy") -> Gatekeeper:
        path = tmp_path / "policy.yaml"
        path.write_text(
            BASE_POLICY
            + f"""\
languages: {{default: en, available: [en, de, fr]}}
adblock: {{mode: notice}}
consent:
  unlisted_cookies: analytics
  categories:
    necessary: {{required: true, label: {{en: Necessary, de: Notwendig}}}}
    analytics:
      label: {{en: Analytics, de: Statistik}}
      description: {{en: Counts visits, de: Zählt Besuche}}
      cookies: ["_ga", "_ga_*"]
  banner: {{privacy_url: "{privacy_url}"}}
audit: {{store: "sqlite:///{tmp_path / "log.db"}"}}
""",
            encoding="utf-8",
        )
        return Gatekeeper(APP, policy=str(path))

    return build


async def get(app: Gatekeeper, *paths: str, language: str = "en", **headers: str):
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(
        transport=transport, base_url=ORIGIN, headers={"Accept-Language": language, **headers}
    ) as client:
        return [await client.get(path) for path in paths]


def table_of(markup: str) -> dict[str, tuple[str, str]]:
    """Cookie name -> (purpose, lifetime), from the rendered table."""
    rows = re.findall(
        r'<tr(?: data-gk-unlisted)?><th scope="row"><code>([^<]+)</code></th><td>([^<]*)</td><td>([^<]*)</td></tr>',
        markup,
    )
    return {name: (purpose, kept) for name, purpose, kept in rows}


async def test_the_marker_becomes_the_table_on_the_privacy_page(app) -> None:
    gatekeeper = app()
    try:
        _, page, about = await get(gatekeeper, "/", "/privacy", "/about")
    finally:
        await gatekeeper.close()
    text = page.text
    assert MARKER not in text
    assert int(page.headers["content-length"]) == len(page.content)
    rows = table_of(text)
    # gatekeeper's own cookies, with purpose and lifetime.
    assert rows["gk_consent"] == (
        "Remembers your privacy choices, so you are not asked on every page.",
        "180 days",
    )
    assert rows["gk_adblock"][1] == "30 days"
    # The policy's cookies by category: the description as purpose, the lifetime seen.
    assert rows["_ga"] == ("Counts visits", "2 years")
    assert rows["_ga_*"] == ("Counts visits", "\u2014")  # never seen: not known
    # A framework's necessary cookie the app was seen setting.
    assert rows["csrftoken"] == (
        "Protects the site&#39;s forms against requests forged by other sites.",
        "364 days",
    )
    # The unlisted cookie, flagged, with what it counts as meanwhile.
    assert '<tr data-gk-unlisted><th scope="row"><code>hl_edition</code>' in text
    assert "Not yet described" in text
    assert "treated as “Analytics” until it is." in text
    captions = re.findall(r"<caption>([^<]+)", text)
    assert captions == ["Necessary", "Analytics", "Not yet described"]
    # Only the privacy page is searched.
    assert MARKER in about.text


async def test_the_table_speaks_the_visitors_language(app) -> None:
    gatekeeper = app()
    try:
        _, page = await get(gatekeeper, "/", "/privacy", language="de")
    finally:
        await gatekeeper.close()
    de = catalogue("de")
    rows = table_of(page.text)
    assert rows["gk_consent"] == (
        de.gettext("Remembers your privacy choices, so you are not asked on every page."),
        "180 Tage",
    )
    assert rows["_ga"] == ("Zählt Besuche", "2 Jahre")
    assert de.gettext("Cookie name") == "Cookie-Name" and "Cookie-Name" in page.text
    assert "Noch nicht beschrieben" in page.text and "„Statistik“" in page.text
    assert 'lang="de"' in page.text


async def test_a_streamed_privacy_page_gets_the_table_too(app) -> None:
    gatekeeper = app(privacy_url="/legal/privacy")
    try:
        (page,) = await get(gatekeeper, "/legal/privacy")
    finally:
        await gatekeeper.close()
    assert MARKER not in page.text
    assert "<code>gk_consent</code>" in page.text
    assert page.text.count('class="gk-cookie-table"') == 1


async def test_the_cookies_endpoint_answers_html_and_json(app) -> None:
    gatekeeper = app()
    try:
        _, html, by_accept, by_query, bad = await get(
            gatekeeper,
            "/",
            "/_gatekeeper/cookies?next=/privacy",
            "/_gatekeeper/cookies",
            "/_gatekeeper/cookies?format=json",
            "/_gatekeeper/cookies?format=xml",
        )
        (accepting,) = await get(gatekeeper, "/_gatekeeper/cookies", Accept="application/json")
        (french,) = await get(gatekeeper, "/_gatekeeper/cookies?format=json", language="fr")
    finally:
        await gatekeeper.close()
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Cookies on this site</h1>" in html.text
    assert '<a href="/privacy">Back to the site</a>' in html.text
    assert table_of(html.text)["gk_consent"][1] == "180 days"
    assert by_accept.headers["content-type"].startswith("text/html")
    assert bad.status_code == 400 and "format" in bad.json()["error"]
    for answer in (by_query, accepting):
        data = answer.json()
        assert data["language"] == "en"
        groups = {group["category"]: group for group in data["groups"]}
        assert list(groups) == ["necessary", "analytics", "unlisted"]
        own = {c["name"]: c for c in groups["necessary"]["cookies"]}
        assert own["gk_consent"]["set_by"] == "gatekeeper"
        assert own["gk_consent"]["kept_for"] == "180 days"
        assert own["csrftoken"]["set_by"] == "site"
        (flagged,) = groups["unlisted"]["cookies"]
        assert flagged["name"] == "hl_edition" and flagged["unlisted"]
        assert flagged["lifetime"] == "30 days"
    groups = french.json()["groups"]
    assert groups[-1]["label"] == "Pas encore décrits"
    assert groups[0]["cookies"][0]["lifetime"] == "180 jours"


@pytest.mark.parametrize("size", [1, 2, 5, 13, 34, 35, 36, 100])
def test_replace_marker_at_every_split(size: int) -> None:
    document = f"a<b>{MARKER}<gk-cookie-table>x{MARKER}<</gk-cookie-table>".encode()
    expected = document.replace(MARKER.encode(), b"[T]")
    replace = ReplaceMarker(MARKER.encode(), b"[T]")
    chunks = [document[i : i + size] for i in range(0, len(document), size)]
    out = b"".join(replace.feed(chunk) for chunk in chunks) + replace.finish()
    assert out == expected
    assert ReplaceMarker(MARKER.encode(), b"[T]").whole(document) == expected


def test_chained_transforms_run_in_order() -> None:
    first = ReplaceMarker(b"<a></a>", b"<b></b>")
    second = ReplaceMarker(b"<b></b>", b"[B]")
    both = chained(None, first, second)
    assert both is not None
    assert both.feed(b"x<a></") + both.feed(b"a>y") + both.finish() == b"x[B]y"
    assert chained(None, None) is None
    assert chained(first) is first
