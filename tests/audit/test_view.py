"""The auditor view, in process: access rules, pages, filters, verification, escaping.

Most tests build the view the way the middleware does (identify -> endpoints with the
view's routes -> an app) on a real SQLite consent log in tmp_path. The last ones go
through the full `Gatekeeper`, which serves the view once middleware.py wires it in.
"""

from __future__ import annotations

import base64
import html
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatekeeper import Gatekeeper
from gatekeeper.adblock import AdblockFeature
from gatekeeper.audit.offline import verify_export
from gatekeeper.audit.view import COOKIE, SESSION_SECONDS
from gatekeeper.audit.view.access import Access
from gatekeeper.policy import Policy, load_policy
from tests.audit.conftest import NOW, Clock, event

TOKEN = "open-sesame-0123456789abcdef-audit"
AUDIT = "/_gatekeeper/audit"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
XSS_AGENT = "<script>alert('agent')</script> Mozilla/5.0"
XSS_PATH = '/search/"><img src=x onerror=alert(1)>'
VIEW_TOKEN = f'  view: {{enabled: true, token: "{TOKEN}"}}\n'
VIEW_BASIC = '  view: {enabled: true, username: "auditor", password: "correct horse battery"}\n'


async def site(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"the site"})


class View:
    """An auditor view over a fresh consent log, served by Gatekeeper, and a client."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.gatekeeper = Gatekeeper(site, policy=policy)
        self.log = self.gatekeeper.plan.log
        self.clock = Clock()
        self.log.clock = self.clock
        transport = httpx.ASGITransport(app=self.gatekeeper, client=("198.51.100.7", 40000))
        self.client = httpx.AsyncClient(transport=transport, base_url="http://news.test")

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def get_with_cookie(self, path: str, value: str) -> httpx.Response:
        self.client.cookies.clear()
        self.client.cookies.set(COOKIE, value)
        try:
            return await self.client.get(path)
        finally:
            self.client.cookies.clear()

    async def close(self) -> None:
        await self.client.aclose()
        await self.gatekeeper.close()


@pytest.fixture
async def make_view(audit_policy: Callable[..., Path]) -> AsyncIterator[Callable[..., View]]:
    """Build views over logs in tmp_path (policy.yaml + consent.db, or `name=`)."""
    views: list[View] = []

    def make(view_section: str = VIEW_TOKEN, **options: Any) -> View:
        built = View(load_policy(audit_policy(extra=view_section, **options)))
        views.append(built)
        return built

    yield make
    for built in views:
        await built.close()


@pytest.fixture
async def view(make_view) -> View:  # type: ignore[no-untyped-def]
    return make_view()


async def fill(view: View) -> str:
    """Ten records over three days, two countries, all three modes; returns the texts hash."""
    digest = await view.log.archive_texts("r1", "en", {"title": "Your privacy", "text": "We ask."})
    for n in range(10):
        view.clock.now = NOW + timedelta(days=n // 4, minutes=n)
        await view.log.append(
            event(
                n,
                texts_hash=digest,
                country="FR" if n in (2, 7) else "DE",
                mode=("opt_in", "opt_out", "notice")[n % 3] if n >= 6 else "opt_in",
                user_agent=XSS_AGENT if n == 3 else "Mozilla/5.0 (test)",
                path=XSS_PATH if n == 3 else "/article",
            )
        )
    return digest


def seqs(page: str) -> list[int]:
    """The seq numbers of the records a page lists, in order."""
    return [int(n) for n in re.findall(r'<th scope="row">(\d+)</th>', page)]


def assert_hardened(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["cache-control"] == "no-store"
    assert "noindex" in headers["x-robots-tag"]
    assert headers["referrer-policy"] == "no-referrer"
    csp = headers["content-security-policy"]
    for directive in (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "script-src" not in csp


# --- off by default, never open -------------------------------------------------------


async def test_off_by_default(make_view):
    view = make_view(view_section="")
    assert view.policy.audit.view.enabled is False
    assert view.gatekeeper.plan.auditor_view.routes() == {}
    for path in (AUDIT, f"{AUDIT}/verify", f"{AUDIT}/stats", f"{AUDIT}/export.csv"):
        response = await view.get(path, headers=BEARER)
        assert response.status_code == 404


async def test_token_alone_does_not_enable_it(make_view):
    view = make_view(view_section=f'  view: {{token: "{TOKEN}"}}\n')
    assert view.gatekeeper.plan.auditor_view.routes() == {}
    assert (await view.get(AUDIT, headers=BEARER)).status_code == 404


@pytest.mark.parametrize(
    "section",
    [
        "  view: {enabled: true}\n",
        '  view: {enabled: true, token: ""}\n',
        '  view: {enabled: true, username: "auditor", password: ""}\n',
        '  view: {enabled: true, username: "", password: "secret-secret"}\n',
        '  view: {enabled: true, username: "auditor"}\n',
    ],
)
async def test_enabled_without_credentials_refuses_with_the_reason(make_view, section):
    view = make_view(view_section=section)
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic OmF1ZGl0b3I="}):
        response = await view.get(AUDIT, headers=headers)
        assert response.status_code == 403
        assert "sets no credentials" in response.text
        assert "www-authenticate" not in response.headers
        assert_hardened(response)
    assert (await view.get(f"{AUDIT}?token=")).status_code == 403


async def test_without_credentials_is_401_with_a_challenge_and_nothing_of_the_log(view):
    await fill(view)
    response = await view.get(AUDIT)
    assert response.status_code == 401
    assert response.headers.get_list("www-authenticate") == ['Bearer realm="gatekeeper audit"']
    assert_hardened(response)
    assert "visitor-" not in response.text and "Mozilla" not in response.text
    assert 'name="token"' in response.text  # a sign-in form for browsers
    assert "set-cookie" not in response.headers
    for path in ("/consent?id=visitor-1", "/verify", "/stats", "/export.jsonl", "/export.csv"):
        refused = await view.get(AUDIT + path)
        assert refused.status_code == 401
        assert "Mozilla" not in refused.text and "<table" not in refused.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {base64.b64encode(f'x:{TOKEN}'.encode()).decode()}"},
        {"Authorization": f"Token {TOKEN}"},
        {"Authorization": "Bearer ünïcode".encode()},
    ],
)
async def test_wrong_token_in_the_header_is_401(view, headers):
    response = await view.get(AUDIT, headers=headers)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_wrong_token_in_the_query_is_401_and_sets_no_cookie(view):
    response = await view.get(f"{AUDIT}?token=guess")
    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert "Those credentials were not accepted" in response.text


async def test_bearer_token(view):
    await fill(view)
    response = await view.get(AUDIT, headers=BEARER)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert_hardened(response)
    assert seqs(response.text) == list(range(10))
    assert "set-cookie" not in response.headers  # header clients send it every time


async def test_query_token_sets_a_strict_cookie_so_links_work(view):
    await fill(view)
    response = await view.get(f"{AUDIT}?token={TOKEN}&country=FR")
    assert response.status_code == 200  # a client without Sec-Fetch-Site: answered in place
    assert seqs(response.text) == [2, 7]
    cookie = response.headers["set-cookie"]
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0].startswith(f"{COOKIE}=")
    assert "HttpOnly" in attributes and "SameSite=Strict" in attributes
    assert f"Path={AUDIT}" in attributes and f"Max-Age={SESSION_SECONDS}" in attributes
    assert "Secure" not in attributes  # plain http here
    assert TOKEN not in cookie  # the cookie proves the token was given; it is not the token
    # The links on the page carry no token; the cookie opens them.
    assert TOKEN not in response.text
    for path in ("/verify", "/stats", "/consent?id=visitor-2", ""):
        followed = await view.get(AUDIT + path)
        assert followed.status_code == 200, path


async def test_query_token_over_https_marks_the_cookie_secure(view):
    transport = httpx.ASGITransport(app=view.gatekeeper)
    async with httpx.AsyncClient(transport=transport, base_url="https://news.test") as client:
        response = await client.get(f"{AUDIT}?token={TOKEN}")
    assert "Secure" in [part.strip() for part in response.headers["set-cookie"].split(";")]


@pytest.mark.parametrize("site_", ["none", "same-origin"])
async def test_query_token_from_a_browser_is_taken_out_of_the_address(view, site_):
    response = await view.get(
        f"{AUDIT}/stats?country=DE&token={TOKEN}", headers={"Sec-Fetch-Site": site_}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{AUDIT}/stats?country=DE"
    assert response.headers["set-cookie"].startswith(f"{COOKIE}=")
    assert_hardened(response)
    assert (await view.get(response.headers["location"])).status_code == 200


async def test_query_token_from_another_site_is_answered_in_place(view):
    # A SameSite=Strict cookie would not come along on the redirect of a cross-site link.
    response = await view.get(f"{AUDIT}?token={TOKEN}", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200
    assert response.headers["set-cookie"].startswith(f"{COOKIE}=")


async def test_the_cookie_cannot_be_forged_expires_and_dies_with_the_token(view, make_view):
    access = view.gatekeeper.plan.auditor_view.access
    good = access.cookie_value()
    assert (await view.get_with_cookie(AUDIT, good)).status_code == 200
    text, issued, mac = good.split(".")

    def made_at(when: float) -> Access:
        return Access(view.gatekeeper.plan.policy, access.cookie_path, clock=lambda: when)

    now = time.time()
    forged = [
        f"{text}.{issued}.{'A' * len(mac)}",
        f"visitor.{issued}.{mac}",
        f"{text}.{issued[:-1]}B.{mac}",
        made_at(now - SESSION_SECONDS - 10).cookie_value(),  # expired
        made_at(now + 3600).cookie_value(),  # from the future
        TOKEN,
        "",
        "garbage",
    ]
    for value in forged:
        response = await view.get_with_cookie(AUDIT, value)
        assert response.status_code == 401, value
    for raw in ("gk_audit=²²².ü".encode(), f"gk_audit=9{good}".encode()):
        assert (await view.get(AUDIT, headers={"Cookie": raw})).status_code == 401
    other = make_view(
        view_section='  view: {enabled: true, token: "another-token-0123456789abc"}\n',
        store="sqlite:///other.db",
        name="other.yaml",
    )
    response = await other.get_with_cookie(AUDIT, good)
    assert response.status_code == 401  # a new token ends the old sessions


def basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def test_basic_auth(make_view):
    view = make_view(view_section=VIEW_BASIC)
    await fill(view)
    response = await view.get(AUDIT)
    assert response.status_code == 401
    assert response.headers.get_list("www-authenticate") == [
        'Basic realm="gatekeeper audit", charset="UTF-8"'
    ]
    assert 'name="token"' not in response.text  # no token to type: the browser asks
    for headers in (
        basic("auditor", "wrong"),
        basic("someone", "correct horse battery"),
        basic("auditor", "correct horse battery "),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Bearer correct horse battery"},
    ):
        assert (await view.get(AUDIT, headers=headers)).status_code == 401, headers
    assert (await view.get(f"{AUDIT}?token=correct horse battery")).status_code == 401
    ok = await view.get(AUDIT, headers=basic("auditor", "correct horse battery"))
    assert ok.status_code == 200
    assert seqs(ok.text) == list(range(10))
    assert_hardened(ok)


async def test_token_and_basic_together_accept_either(make_view):
    section = (
        f'  view: {{enabled: true, token: "{TOKEN}", username: "auditor", '
        'password: "correct horse battery"}\n'
    )
    view = make_view(view_section=section)
    response = await view.get(AUDIT)
    assert len(response.headers.get_list("www-authenticate")) == 2
    assert (await view.get(AUDIT, headers=BEARER)).status_code == 200
    ok = await view.get(AUDIT, headers=basic("auditor", "correct horse battery"))
    assert ok.status_code == 200


async def test_read_only_get_only(view):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = await view.client.request(method, AUDIT, headers=BEARER)
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, HEAD"


# --- the pages ------------------------------------------------------------------------


async def test_filters(view):
    await fill(view)
    # Days: records 0-3 on NOW's day, 4-7 the day after, 8-9 the day after that.
    day0 = NOW.date().isoformat()
    day1 = (NOW + timedelta(days=1)).date().isoformat()

    async def listed(query: str) -> list[int]:
        response = await view.get(f"{AUDIT}?{query}", headers=BEARER)
        assert response.status_code == 200, response.text
        return seqs(response.text)

    assert await listed(f"since={day1}") == [4, 5, 6, 7, 8, 9]
    assert await listed(f"until={day0}") == [0, 1, 2, 3]  # the until date is included
    assert await listed(f"since={day1}&until={day1}") == [4, 5, 6, 7]
    assert await listed("since=2026-11-28T12:05:00Z") == [5, 6, 7, 8, 9]
    assert await listed("event=refused") == [1, 4, 7]
    assert await listed("mode=opt_out") == [7]
    assert await listed("mode=notice") == [8]
    assert await listed("country=fr") == [2, 7]
    assert await listed("consent_id=visitor-2") == [2, 7]
    assert await listed("event=refused&country=FR") == [7]
    assert await listed("consent_id=nobody") == []
    page = (await view.get(f"{AUDIT}?event=refused&country=FR", headers=BEARER)).text
    # The form shows what is applied, and the downloads keep the filters they support.
    assert '<option value="refused" selected>' in page
    assert 'value="FR"' in page
    assert html.escape(f"{AUDIT}/export.csv?country=FR") in page
    assert "downloads do not filter by event or mode" in page


async def test_paging_by_sequence(view):
    await fill(view)
    first = await view.get(f"{AUDIT}?limit=4", headers=BEARER)
    assert seqs(first.text) == [0, 1, 2, 3]
    next_url = html.unescape(re.search(r'<a href="([^"]+)" rel="next">', first.text).group(1))
    assert "after=3" in next_url and "limit=4" in next_url
    second = await view.get(next_url, headers=BEARER)
    assert seqs(second.text) == [4, 5, 6, 7]
    assert "First page" in second.text
    last = await view.get(f"{AUDIT}?limit=4&after=7", headers=BEARER)
    assert seqs(last.text) == [8, 9]
    assert 'rel="next"' not in last.text
    # With a filter the store cannot apply, pages still fill from later records.
    refused = await view.get(f"{AUDIT}?event=refused&limit=2", headers=BEARER)
    assert seqs(refused.text) == [1, 4]
    next_url = html.unescape(re.search(r'<a href="([^"]+)" rel="next">', refused.text).group(1))
    assert seqs((await view.get(next_url, headers=BEARER)).text) == [7]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("since=yesterday", "is not a date"),
        ("until=2026-13-01", "is not a date"),
        ("until=9999-12-31", "is not a date"),
        ("event=clicked", "event must be one of"),
        ("mode=maybe", "mode must be one of"),
        ("country=DEU", "two-letter code"),
        ("after=x", "whole number"),
        ("limit=100000", "between 1 and 500"),
    ],
)
async def test_bad_filters_are_400_with_the_reason(view, query, reason):
    response = await view.get(f"{AUDIT}?{query}", headers=BEARER)
    assert response.status_code == 400
    assert reason in html.unescape(response.text)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert_hardened(response)


async def test_one_consents_history(view):
    digest = await fill(view)
    response = await view.get(f"{AUDIT}/consent?id=visitor-2", headers=BEARER)
    assert response.status_code == 200
    assert seqs(response.text) == [2, 7]
    assert "2 records, oldest first" in response.text
    # What the visitor was shown, from the texts archive.
    assert digest in response.text and "Your privacy" in response.text
    assert "We ask." in response.text
    # Linked from the records list.
    records = (await view.get(AUDIT, headers=BEARER)).text
    assert html.escape(f"{AUDIT}/consent?id=visitor-2") in records
    unknown = await view.get(f"{AUDIT}/consent?id=nobody", headers=BEARER)
    assert unknown.status_code == 200 and "No records for this consent id" in unknown.text
    empty = await view.get(f"{AUDIT}/consent", headers=BEARER)
    assert empty.status_code == 200 and 'name="id"' in empty.text


async def test_verify_ok(view):
    await fill(view)
    response = await view.get(f"{AUDIT}/verify", headers=BEARER)
    assert response.status_code == 200
    assert "<strong>OK</strong>" in response.text
    assert "FAIL" not in response.text
    assert "10 signatures valid" not in response.text  # checkpoint_every=10: one checkpoint
    assert "1 signature valid" in response.text  # counted words are plurals (ngettext)


async def test_verify_names_the_first_bad_record_of_a_tampered_log(view, tmp_path):
    await fill(view)
    with sqlite3.connect(tmp_path / "consent.db") as conn:
        conn.execute("UPDATE records SET method = 'accept_all@banner' WHERE seq = 4")
        conn.execute("UPDATE records SET categories = '{\"ads\":true}' WHERE seq = 6")
    response = await view.get(f"{AUDIT}/verify", headers=BEARER)
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert "<strong>FAIL</strong>" in page
    assert "the first bad record is seq 4" in page
    assert "First bad record: seq 4" in page
    assert "its content does not match its hash (modified)" in page
    assert "Record 6" in page  # every finding is listed, each linked to its record
    first = re.search(r"First bad record.*?</section>", page, re.S).group(0)
    assert "accept_all@banner" in first  # the record as the log holds it now


async def test_verify_shows_a_deleted_record(view, tmp_path):
    await fill(view)
    with sqlite3.connect(tmp_path / "consent.db") as conn:
        conn.execute("DELETE FROM records WHERE seq = 5")
    page = html.unescape((await view.get(f"{AUDIT}/verify", headers=BEARER)).text)
    assert "first bad record is seq 5" in page
    assert "missing (deleted)" in page
    assert "There is no record with this seq" in page


async def test_stats(view):
    await fill(view)
    response = await view.get(f"{AUDIT}/stats", headers=BEARER)
    assert response.status_code == 200
    page = response.text
    # event(n): analytics when n is even, ads when n % 3 == 0: accept all at n = 0 and 6.
    summary = await view.log.stats()
    assert summary.total.decisions == 10 and summary.total.accept_all == 2
    assert re.search(
        r'<span class="gk-pct">20.0%</span><span class="gk-bar" aria-hidden="true">'
        r'<span class="gk-fill gk-w-20">',
        page,
    )
    assert "analytics" in page and "50.0%" in page  # 5 of 10 allowed analytics
    for mode in ("opt_in", "opt_out", "notice"):
        assert f'<th scope="row">{mode}</th>' in page
    days = re.findall(r'<time datetime="(\d{4}-\d\d-\d\d)">', page)
    assert days == sorted(days) and len(set(days)) == 3
    assert "style=" not in page  # bars are classes: no inline styles under the CSP
    filtered = await view.get(f"{AUDIT}/stats?country=FR", headers=BEARER)
    assert filtered.status_code == 200 and 'value="FR"' in filtered.text


async def test_stats_of_an_empty_log(view):
    response = await view.get(f"{AUDIT}/stats", headers=BEARER)
    assert response.status_code == 200
    assert "No decisions" in response.text


async def test_visitor_markup_is_escaped_everywhere(view, tmp_path):
    await fill(view)
    with sqlite3.connect(tmp_path / "consent.db") as conn:  # so verify shows record 3
        conn.execute("UPDATE records SET language = 'xx' WHERE seq = 3")
    for path in ("", "?country=DE", "/consent?id=visitor-3", "/verify"):
        page = (await view.get(AUDIT + path, headers=BEARER)).text
        assert "<script>alert" not in page, path
        assert "<img src=x" not in page, path
        assert "&lt;script&gt;alert(&#39;agent&#39;)&lt;/script&gt;" in page, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, path
        assert "<script" not in page, path  # the view itself needs no script at all


async def test_markup_in_the_query_is_escaped(view):
    nasty = '"><script>alert(1)</script>'
    response = await view.get(f"{AUDIT}/consent", params={"id": nasty}, headers=BEARER)
    assert response.status_code == 200
    assert "<script>" not in response.text
    assert "&#34;&gt;&lt;script&gt;" in response.text
    refused = await view.get(AUDIT, params={"since": nasty}, headers=BEARER)
    assert refused.status_code == 400 and "<script>" not in refused.text


async def test_exports(view):
    await fill(view)
    response = await view.get(f"{AUDIT}/export.jsonl", headers=BEARER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["content-disposition"].startswith('attachment; filename="consent-log-')
    assert_hardened(response)
    key = view.log.public_key()
    report = verify_export(response.text.splitlines(), key, "download.jsonl")
    assert report.ok and report.records == 10
    csv_file = await view.get(f"{AUDIT}/export.csv?country=FR", headers=BEARER)
    assert csv_file.headers["content-type"] == "text/csv; charset=utf-8"
    rows = csv_file.text.splitlines()
    assert rows[0].startswith("seq,event_id,time") and len(rows) == 3
    one = await view.get(f"{AUDIT}/export.jsonl?consent_id=visitor-2", headers=BEARER)
    records = [json.loads(line) for line in one.text.splitlines()]
    assert [r["seq"] for r in records if r["type"] == "record"] == [2, 7]
    refused = await view.get(f"{AUDIT}/export.csv?event=given", headers=BEARER)
    assert refused.status_code == 400 and "remove the event and mode filters" in refused.text


async def test_the_stylesheet_is_served_and_linked(view):
    page = (await view.get(AUDIT, headers=BEARER)).text
    url = view.gatekeeper.plan.assets.url("audit.css")
    assert f'<link rel="stylesheet" href="{url}">' in page
    css = await view.get(url)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".gk-w-35 { width: 35%; }" in css.text


async def test_pages_are_accessible_documents(view):
    await fill(view)
    for path in ("", "/consent?id=visitor-1", "/verify", "/stats", "/adblock"):
        page = (await view.get(AUDIT + path, headers=BEARER)).text
        assert page.startswith("<!doctype html>") and '<html lang="en">' in page
        assert "<main" in page and "<nav" in page and "<header" in page
        assert page.count("<h1>") == 1
        assert 'aria-current="page"' in page
        for head in re.findall(r"<th(?: [^>]*)?>", page):
            assert "scope=" in head, (path, head)
        labelled = set(re.findall(r'<label for="([^"]+)"', page))
        inputs = set(re.findall(r'<(?:input|select) type="(?!hidden)[^"]*" id="([^"]+)"', page))
        inputs |= set(re.findall(r'<select id="([^"]+)"', page))
        assert inputs <= labelled, path


# --- adblock rates ---------------------------------------------------------------------

ADBLOCK_ON = VIEW_TOKEN + "adblock: {mode: notice}\n"
XSS_COUNTRY = "<b>XX</b>"
XSS_GROUP = "/<script>alert('group')</script>"


def adblock_feature(policy_path: Path) -> AdblockFeature:
    return AdblockFeature(load_policy(policy_path))


async def test_adblock_page_shows_counts_and_rates_from_the_store(
    make_view, audit_policy, tmp_path
):
    feature = adblock_feature(audit_policy(extra=ADBLOCK_ON, name="adblock.yaml"))
    store = feature.detector.counts.store
    assert store is not None and store.display_url == f"sqlite:///{tmp_path / 'consent.db'}"
    await store.add(
        {
            ("2026-11-27", "DE", "/articles", "blocked"): 3,
            ("2026-11-27", "DE", "/articles", "allowed"): 1,
            ("2026-11-28", "FR", "/", "allowed"): 2,
            ("2026-11-28", "FR", "/", "no_js"): 1,
            ("2026-11-28", "FR", "/", "unknown"): 1,
            ("2026-11-28", XSS_COUNTRY, XSS_GROUP, "blocked"): 2,
        }
    )
    view = make_view(ADBLOCK_ON)
    response = await view.get(f"{AUDIT}/adblock", headers=BEARER)
    assert response.status_code == 200, response.text
    assert_hardened(response)
    page = response.text
    assert f'<a href="{AUDIT}/adblock" aria-current="page">Adblock</a>' in page
    assert "Adblock detection is off" not in page
    for heading in ("By day", "By country", "By path group"):
        assert f">{heading}</h2>" in page
    # 2026-11-27: 3 blocked of 4 judged; FR: 0 of 2; total: 5 of 8.
    assert re.search(
        r'<time datetime="2026-11-27">2026-11-27</time></th>\s*<td>3</td><td>1</td><td>0</td>'
        r'<td>0</td>\s*<td>4</td>\s*<td><span class="gk-pct">75.0%</span>'
        r'<span class="gk-bar" aria-hidden="true"><span class="gk-fill gk-w-75">',
        page,
    )
    assert re.search(r">FR</th>\s*<td>0</td><td>2</td><td>1</td><td>1</td>\s*<td>4</td>", page)
    assert '<span class="gk-pct">0.0%</span>' in page
    assert page.count('<span class="gk-pct">62.5%</span>') == 3  # the total of each table
    assert ">/articles</th>" in page
    # What a visitor's request put in the counts is text.
    assert "<b>XX" not in page and "&lt;b&gt;XX&lt;/b&gt;" in page
    assert "<script" not in page and "/&lt;script&gt;alert(&#39;group&#39;)" in page
    assert "style=" not in page


async def test_adblock_page_when_detection_is_off_or_has_no_data(make_view, audit_policy):
    page = (await make_view().get(f"{AUDIT}/adblock", headers=BEARER)).text
    assert "Adblock detection is off." in page and "<table" not in page
    off = adblock_feature(audit_policy(extra="adblock: {mode: off}\n", name="off.yaml"))
    assert await off.rates() is None
    view = make_view(VIEW_TOKEN + "adblock: {mode: off}\n", name="off.yaml")
    page = (await view.get(f"{AUDIT}/adblock", headers=BEARER)).text
    assert "Adblock detection is off." in page and "<table" not in page
    empty = adblock_feature(audit_policy(extra=ADBLOCK_ON, name="on.yaml"))
    assert (await empty.rates())["total"]["views"] == 0
    view = make_view(ADBLOCK_ON, name="on.yaml")
    response = await view.get(f"{AUDIT}/adblock", headers=BEARER)
    assert response.status_code == 200
    assert "Adblock detection is off" in response.text and "<table" not in response.text


async def test_adblock_page_requires_credentials(make_view, tmp_path):
    view = make_view(ADBLOCK_ON)
    await view.gatekeeper.plan.adblock.detector.counts.store.add(
        {("2026-11-27", "DE", "/articles", "blocked"): 3}
    )
    response = await view.get(f"{AUDIT}/adblock")
    assert response.status_code == 401 and "<table" not in response.text
    wrong = await view.get(f"{AUDIT}/adblock", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "<table" not in wrong.text
    allowed = await view.get(f"{AUDIT}/adblock", headers=BEARER)
    assert allowed.status_code == 200 and "<table" in allowed.text


async def test_adblock_page_when_the_counts_cannot_be_read(make_view, tmp_path):
    view = make_view(ADBLOCK_ON)
    # A counts table of another shape (a damaged or foreign database): every read fails.
    with sqlite3.connect(tmp_path / "consent.db") as db:
        db.execute("CREATE TABLE adblock_verdicts (gone TEXT)")
    response = await view.get(f"{AUDIT}/adblock", headers=BEARER)
    assert response.status_code == 503
    assert "cannot be read right now" in response.text and "gone" not in response.text


# --- through the full middleware -------------------------------------------------------


def gatekeeper_policy(policy_file: Callable[..., Path], view: str = VIEW_TOKEN) -> Path:
    return policy_file(
        'audit:\n  store: "sqlite:///consent.db"\n'
        + view
        + "consent:\n  modes: {unknown: opt_in}\n"
    )


async def _consent(client: httpx.AsyncClient, action: str, agent: str) -> None:
    response = await client.post(
        "/_gatekeeper/consent",
        data={"action": action, "next": "/"},
        headers={"User-Agent": agent, "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303, response.text


async def test_gatekeeper_keeps_the_view_off_by_default(policy_file):
    gatekeeper = Gatekeeper(site, policy=policy_file('audit:\n  store: "sqlite:///consent.db"\n'))
    transport = httpx.ASGITransport(app=gatekeeper)
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        for path in (AUDIT, f"{AUDIT}/verify", f"{AUDIT}?token={TOKEN}"):
            assert (await client.get(path, headers=BEARER)).status_code == 404
    await gatekeeper.close()


async def test_gatekeeper_serves_the_view(policy_file):
    """Passes once middleware.py adds the auditor view's routes."""
    gatekeeper = Gatekeeper(site, policy=gatekeeper_policy(policy_file))
    transport = httpx.ASGITransport(app=gatekeeper, client=("203.0.113.7", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
            await _consent(client, "accept_all", "Mozilla/5.0 first")
            client.cookies.clear()
            await _consent(client, "reject_all", XSS_AGENT)
            client.cookies.clear()
            assert (await client.get(AUDIT)).status_code == 401
            response = await client.get(AUDIT, headers=BEARER)
            assert response.status_code == 200, response.text
            assert_hardened(response)
            assert seqs(response.text) == [0, 1]
            assert "<script>alert" not in response.text and "&lt;script&gt;" in response.text
            css = re.search(r'<link rel="stylesheet" href="([^"]+)">', response.text).group(1)
            assert (await client.get(css)).status_code == 200
            # The consent stage keeps the view's cookie (gk_ cookies are strictly necessary).
            signed_in = await client.get(f"{AUDIT}/verify?token={TOKEN}")
            assert signed_in.headers["set-cookie"].startswith(f"{COOKIE}=")
            assert "<strong>OK</strong>" in signed_in.text
            assert (await client.get(f"{AUDIT}/stats")).status_code == 200
            adblock = await client.get(f"{AUDIT}/adblock")  # wired to the adblock feature
            assert adblock.status_code == 200 and "Adblock detection is off." in adblock.text
            consent_id = re.search(r"consent\?id=([0-9A-Za-z_\-]+)", response.text).group(1)
            history = await client.get(f"{AUDIT}/consent?id={consent_id}")
            assert len(seqs(history.text)) == 1
    finally:
        await gatekeeper.close()


async def test_gatekeeper_refuses_an_enabled_view_without_credentials(policy_file):
    """Passes once middleware.py adds the auditor view's routes."""
    path = gatekeeper_policy(policy_file, "  view: {enabled: true}\n")
    gatekeeper = Gatekeeper(site, policy=path)
    transport = httpx.ASGITransport(app=gatekeeper)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
            response = await client.get(AUDIT)
            assert response.status_code == 403
            assert "sets no credentials" in response.text
    finally:
        await gatekeeper.close()


async def test_stats_draws_the_report_charts(view):
    await fill(view)
    page = (await view.get(f"{AUDIT}/stats", headers=BEARER)).text
    assert page.count('<svg class="gk-svg"') == 2
    assert 'role="img"' in page and '<title id="gk-chart-decisions-title">Decisions per day' in page
    # Three days, and one bar segment per choice made on each: the figures are in titles.
    assert "2026-11-27: accepted all 1 of 4 decisions" in html.unescape(page)
    assert "style=" not in page and "<script" not in page
    until = await view.get(f"{AUDIT}/stats?since=2026-11-28&until=2026-11-28", headers=BEARER)
    assert "4 decisions over 1 days" in until.text  # the until day is included


async def test_the_evidence_report_downloads_as_one_file(view):
    await fill(view)
    response = await view.get(
        f"{AUDIT}/report.html?since=2026-11-27&until=2026-11-28", headers=BEARER
    )
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="consent-evidence-'
    )
    page = response.text
    assert "Consent log evidence: " in page and "<strong>OK</strong>" in page
    assert "8 decisions" in page  # two of the three days
    assert "<script" not in page
    bad = await view.get(f"{AUDIT}/report.html?until=soon", headers=BEARER)
    assert bad.status_code == 400 and "not a date" in html.unescape(bad.text)
