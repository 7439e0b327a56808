"""The auditor view's cookies page, through the full `Gatekeeper` on a real SQLite
database: what the app was seen setting, unlisted cookies flagged until the policy lists
them, gatekeeper's own cookies with purpose and lifetime, linked from every page."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from gatekeeper import Gatekeeper
from gatekeeper.counters import day_of
from gatekeeper.i18n import catalogue
from tests.conftest import BASE_POLICY

TOKEN = "open-sesame-0123456789abcdef-audit"
AUDIT = "/_gatekeeper/audit"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def front(request):
    response = HTMLResponse("<!doctype html><html><body><p>x</p></body></html>")
    response.set_cookie("_ga", "GA1.1.1.1", max_age=2 * 365 * 86400)
    response.set_cookie("gk_uid", "u", max_age=30 * 86400, secure=True)
    return response


APP = Starlette(routes=[Route("/", front)])


def write_policy(tmp_path: Path, extra: str = "", consent: bool = True) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(
        BASE_POLICY
        + f"""\
consent:
  enabled: {"true" if consent else "false"}
  categories:
    necessary: {{required: true, label: N}}
    analytics: {{label: A, cookies: ["_ga"]}}
    {extra}
audit:
  store: "sqlite:///{tmp_path / "log.db"}"
  view: {{enabled: true, token: "{TOKEN}"}}
""",
        encoding="utf-8",
    )
    return path


async def pages(policy: Path, *paths: str, language: str = "en") -> list[httpx.Response]:
    app = Gatekeeper(APP, policy=str(policy))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
            await client.get("/")
            headers = {**BEARER, "Accept-Language": language}
            return [await client.get(path, headers=headers) for path in paths]
    finally:
        await app.close()


def rows(markup: str) -> dict[str, list[str]]:
    """Cookie name -> its cells (tags stripped), from the first table."""
    table = markup.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    found = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        found[cells[0]] = cells
    return found


async def test_the_cookies_page_flags_unlisted_cookies(tmp_path: Path) -> None:
    page, records = await pages(write_policy(tmp_path), f"{AUDIT}/cookies", AUDIT)
    assert page.status_code == 200
    text = page.text
    today = day_of(time.time())
    seen = rows(text)
    assert seen["gk_uid"] == [
        "gk_uid",
        "Unlisted",
        "/",
        "–",
        "30 days; Secure; SameSite=Lax",
        today,
        today,
    ]
    assert seen["_ga"][1] == "analytics"
    assert '<tr class="gk-unlisted">' in text
    assert "1 cookie is not listed in the policy." in text
    assert "meanwhile it counts as “necessary”" in text
    own = rows(text.split('id="gk-own-title"', 1)[1])
    assert own["gk_consent"][1:3] == ["necessary", "180 days"]
    assert own["gk_audit"][2] == "8 hours"
    # Linked from the view's navigation, on every page.
    link = f'<a href="{AUDIT}/cookies"'
    assert f'{link} aria-current="page">Cookie inventory</a>' in text
    assert f"{link}>Cookie inventory</a>" in records.text


async def test_a_listed_cookie_is_no_longer_flagged(tmp_path: Path) -> None:
    await pages(write_policy(tmp_path), AUDIT)  # gk_uid seen while unlisted
    listed = write_policy(tmp_path, extra='ads: {label: Ads, cookies: ["gk_uid"]}')
    (page,) = await pages(listed, f"{AUDIT}/cookies")
    assert rows(page.text)["gk_uid"][1] == "ads"
    assert "gk-unlisted" not in page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "Every cookie seen is listed in the policy." in page.text


async def test_the_cookies_page_in_german(tmp_path: Path) -> None:
    (page,) = await pages(write_policy(tmp_path), f"{AUDIT}/cookies", language="de")
    de = catalogue("de")
    text = page.text
    assert '<html lang="de">' in text
    assert f"<h1>{de.gettext('Cookie inventory')}</h1>" in text
    assert rows(text)["gk_uid"][1] == de.gettext("Unlisted") == "Nicht aufgeführt"
    assert rows(text)["gk_uid"][4] == "30 Tage; Secure; SameSite=Lax"
    own = rows(text.split('id="gk-own-title"', 1)[1])
    assert own["gk_consent"][2:] == [
        "180 Tage",
        de.gettext("Remembers your privacy choices, so you are not asked on every page."),
    ]


async def test_without_consent_there_is_no_inventory(tmp_path: Path) -> None:
    (page,) = await pages(write_policy(tmp_path, consent=False), f"{AUDIT}/cookies")
    assert page.status_code == 200
    assert "Cookie consent is off: no cookies are inventoried." in page.text
