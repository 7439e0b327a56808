"""GPC signals: honoured on every request, recorded once per visitor, never a flood."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from gatekeeper import Gatekeeper
from gatekeeper.cli import main as gatekeeper_main
from gatekeeper.consent import GPC_SIGNALS
from gatekeeper.counters import day_of
from tests.adblock.conftest import BROWSER, html_app


def counts_main(argv: list[str]) -> int:
    """`gatekeeper counts ...`"""
    return gatekeeper_main(["counts", *argv])


POLICY = """\
debug: true
consent:
  gpc: honor
  modes: {opt_out: [US-CA], default: notice, unknown: opt_in}
  categories:
    necessary: {required: true, label: Necessary}
    ads: {label: Ads, cookies: [IDE], sale_or_sharing: true}
limits:
  gpc_records: {per_minute: 0.01, burst: 5}
audit: {store: "sqlite:///consent.db"}
"""
GPC = {"sec-gpc": "1", "accept": "text/html", "x-gatekeeper-country": "US-CA"}


@pytest.fixture
async def site(policy_file):
    path = policy_file(POLICY)
    gatekeeper = Gatekeeper(html_app, policy=path)
    yield gatekeeper, path
    await gatekeeper.close()


def client(app: Gatekeeper, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(
        transport=transport, base_url="http://news.test", headers={"user-agent": BROWSER}
    )


async def records(app: Gatekeeper) -> int:
    return (await app.plan.log.head()).size


async def signals(app: Gatekeeper) -> dict[str, int]:
    assert await app.plan.counters.flush()
    return {kind: n for _, _, kind, n in await app.plan.counters.rows(GPC_SIGNALS)}


async def test_a_flood_without_cookies_writes_nothing_and_is_counted(site) -> None:
    app, _ = site
    async with client(app, "2001:db8:7::1") as flood:
        for _ in range(2000):
            response = await flood.get("/", headers=GPC)
            assert response.status_code == 200
            assert "gk_consent=" in response.headers["set-cookie"]  # remembers the signal
            flood.cookies.clear()  # a flood keeps no cookies
    assert await records(app) == 0  # no disk sync, no log growth
    assert await signals(app) == {"pending": 2000}


async def test_the_signal_is_recorded_once_when_the_browser_comes_back(site) -> None:
    app, _ = site
    async with client(app, "203.0.113.5") as browser:
        first = await browser.get("/", headers=GPC)
        cookies = first.headers.get_list("set-cookie")
        assert not any(c.startswith("IDE=") for c in cookies) and await records(app) == 0
        state = (await browser.get("/_gatekeeper/consent", headers=GPC)).json()
        assert state["gpc"] is True and state["categories"]["ads"] is False
        second = await browser.get("/articles/a", headers=GPC)  # with the pending cookie
        assert "gk_consent=" in second.headers["set-cookie"]  # now: recorded
        assert await records(app) == 1
        for _ in range(5):
            later = await browser.get("/", headers=GPC)
            assert "set-cookie" not in later.headers
        assert await records(app) == 1
        (record,) = await app.plan.log.history(state["consent_id"])
        assert (record["event"], record["method"], record["path"]) == (
            "gpc", "gpc@header", "/articles/a",
        )  # fmt: skip
    assert await signals(app) == {"pending": 1, "recorded": 1}


async def test_replaying_pending_cookies_is_limited_per_network(site) -> None:
    app, _ = site
    # A script that mints pending cookies and replays each (ignoring the recorded one)
    # from one IPv6 /64.
    for n in range(20):
        async with client(app, f"2001:db8:7::{n + 1:x}") as script:
            await script.get("/", headers=GPC)
            pending = dict(script.cookies)
            for _ in range(3):
                script.cookies.clear()
                script.cookies.update(pending)
                assert (await script.get("/", headers=GPC)).status_code == 200
    assert await records(app) == 5  # limits.gpc_records.burst
    counted = await signals(app)
    assert counted == {"pending": 20, "recorded": 5, "deferred": 55}


async def test_gpc_counts_for_auditors(site, capsys) -> None:
    app, path = site
    async with client(app, "203.0.113.5") as browser:
        await browser.get("/", headers=GPC)
        await browser.get("/", headers=GPC)
    await app.close()
    # The command runs its own event loop, as from a shell.
    assert await asyncio.to_thread(counts_main, ["--policy", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    today = day_of(time.time())
    assert data["gpc"] == [
        {"day": today, "country": "US", "pending": 1, "recorded": 1, "deferred": 0}
    ]
    assert await asyncio.to_thread(counts_main, ["--policy", str(path)]) == 0
    text = capsys.readouterr().out
    assert "GPC signals honoured" in text and f"{today}  US" in text
