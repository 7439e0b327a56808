"""The notification bar, the offline notice and rendering, through the full middleware."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from gatekeeper import Gatekeeper

PAGE = b"<!doctype html><html><head><title>t</title></head><body><main>hi</main></body></html>"


async def page(request):
    return HTMLResponse(PAGE)


APP = Starlette(routes=[Route("/", page), Route("/video/{x}", page)])

NOTES = """
debug: true
languages: {default: en, available: [en, de]}
consent:
  modes: {default: notice, unknown: notice}
notifications:
  - id: sale
    text: {en: Winter sale, de: Winterschlussverkauf}
    links: [{label: {en: Buy Now!, de: Kaufen}, href: /shop}]
    priority: 1
  - id: urgent
    text: Site maintenance tonight
    priority: 9
    dismissible: false
  - id: past
    text: Old news
    starts: 2020-01-01
    ends: 2020-01-31
  - id: future
    text: Not yet
    starts: 2999-01-01
  - id: uk-only
    text: For British readers
    countries: [GB]
  - id: video
    text: On videos only
    paths: ["/video/*"]
  - id: german
    text: Nur auf Deutsch
    languages: [de]
offline_notice: {enabled: true, text: "Connection lost <b>now</b>"}
"""


async def get(app, path="/", **headers):
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        return await client.get(path, headers=headers)


def note_ids(text: str) -> list[str]:
    return re.findall(r'data-gk-id="([^"]+)"', text)


async def test_bar_shows_active_targeted_notes_by_priority(policy_file):
    app = Gatekeeper(APP, policy=str(policy_file(NOTES)))
    response = await get(app)
    assert note_ids(response.text) == ["urgent", "sale"]
    # The bar sits at the top of the body, in the page flow.
    assert re.search(
        r"<body><div data-gk-notice=\"notification\"[^>]*data-nosnippet", response.text
    )
    assert '<a href="/shop">Buy Now!</a>' in response.text


async def test_audience_country_path_and_language(policy_file):
    app = Gatekeeper(APP, policy=str(policy_file(NOTES)))
    assert "uk-only" in note_ids((await get(app, **{"X-Gatekeeper-Country": "GB"})).text)
    assert "uk-only" not in note_ids((await get(app, **{"X-Gatekeeper-Country": "FR"})).text)
    assert "video" in note_ids((await get(app, "/video/1")).text)
    german = await get(app, **{"Accept-Language": "de"})
    assert "german" in note_ids(german.text)
    assert "Winterschlussverkauf" in german.text and ">Kaufen<" in german.text


async def test_dismissal_is_remembered_but_not_for_undismissible_notes(policy_file):
    app = Gatekeeper(APP, policy=str(policy_file(NOTES)))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        no_js = await client.post(
            "/_gatekeeper/notifications/dismiss",
            data={"id": "sale", "next": "/video/1"},
            headers={"Origin": "http://news.test"},
        )
        assert no_js.status_code == 303 and no_js.headers["location"] == "/video/1"
        assert "gk_dismissed=sale" in no_js.headers["set-cookie"]
        assert note_ids((await client.get("/")).text) == ["urgent"]
        refused = await client.post(
            "/_gatekeeper/notifications/dismiss",
            data={"id": "nope"},
            headers={"Accept": "application/json", "Origin": "http://news.test"},
        )
        assert refused.status_code == 400 and "unknown notification" in refused.json()["error"]
        cross = await client.post(
            "/_gatekeeper/notifications/dismiss",
            data={"id": "sale"},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        assert cross.status_code == 403


async def test_offline_notice_and_policy_text_is_escaped(policy_file):
    app = Gatekeeper(APP, policy=str(policy_file(NOTES)))
    text = (await get(app)).text
    assert 'data-gk-notice="offline"' in text
    assert "Connection lost &lt;b&gt;now&lt;/b&gt;" in text
    assert "<b>now</b>" not in text


async def test_operator_templates_override_the_builtin_ones(policy_file, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "offline.html").write_text(
        '<div data-gk-notice="offline" class="mine">{{ t(notice.text) }}</div>'
    )
    app = Gatekeeper(APP, policy=str(policy_file(NOTES + f"templates: {{directory: {folder}}}\n")))
    text = (await get(app)).text
    assert '<div data-gk-notice="offline" class="mine">Connection lost &lt;b&gt;' in text
    assert 'data-gk-notice="notification"' in text  # the others are still built in


async def test_nonce_is_stamped_on_every_injected_tag(policy_file):
    async def csp_page(request):
        return HTMLResponse(
            PAGE,
            headers={
                "Content-Security-Policy": "script-src 'nonce-abc123'; style-src 'nonce-abc123'"
            },
        )

    app = Gatekeeper(Starlette(routes=[Route("/", csp_page)]), policy=str(policy_file(NOTES)))
    text = (await get(app)).text
    for tag in re.findall(r"<(?:script|link)\b[^>]*>", text):
        assert 'nonce="abc123"' in tag, tag
    assert "__gk_nonce__" not in text
