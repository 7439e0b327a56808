"""The visitor, computed through the full middleware on MaxMind's test databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import gatekeeper
from gatekeeper import Gatekeeper


async def who(request: Request) -> JSONResponse:
    found = gatekeeper.visitor(request)
    assert request.state.gatekeeper is found  # the same object, through request.state
    return JSONResponse(
        {
            "ip": str(found.ip) if found.ip else None,
            "country": found.country,
            "subdivision": found.subdivision,
            "language": found.language,
            "gpc": found.gpc,
            "dnt": found.dnt,
            "bot": found.bot,
            "located": found.located,
        }
    )


APP = Starlette(routes=[Route("/who", who)])


@pytest.fixture
def city_policy(policy_file, geoip_dir):
    def write(extra: str = "") -> str:
        return str(
            policy_file(
                f"""
trusted_proxies: [10.0.0.0/8, "2001:db8:ffff::/48"]
geoip: {{database: {geoip_dir / "GeoIP2-City-Test.mmdb"}}}
languages: {{default: en, available: [en, de, fr]}}
{extra}
"""
            )
        )

    return write


async def ask(app, peer: str = "81.2.69.160", **headers: str) -> dict:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        response = await client.get("/who", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("peer", "country", "subdivision"),
    [
        ("81.2.69.160", "GB", "GB-ENG"),
        ("89.160.20.112", "SE", "SE-E"),
        ("216.160.83.56", "US", "US-WA"),
        ("2001:218::1", "JP", None),
        ("::ffff:81.2.69.160", "GB", "GB-ENG"),
    ],
)
async def test_location_from_the_peer_address(city_policy, peer, country, subdivision):
    seen = await ask(Gatekeeper(APP, policy=city_policy()), peer)
    assert (seen["country"], seen["subdivision"], seen["located"]) == (country, subdivision, True)
    assert seen["ip"] == peer.removeprefix("::ffff:")


async def test_address_not_in_database_is_unknown(city_policy):
    seen = await ask(Gatekeeper(APP, policy=city_policy()), "1.1.1.1")
    assert (seen["country"], seen["subdivision"]) == (None, None)


async def test_trusted_proxy_forwards_the_client(city_policy):
    app = Gatekeeper(APP, policy=city_policy())
    seen = await ask(app, "10.1.2.3", **{"X-Forwarded-For": "216.160.83.56"})
    assert (seen["ip"], seen["subdivision"]) == ("216.160.83.56", "US-WA")
    # Forwarded is read only where the policy names it: a proxy that sets only
    # X-Forwarded-For passes a client's own Forwarded header through.
    forwarded = {"Forwarded": 'for="[2001:218::1]:4711";proto=https'}
    assert (await ask(app, "10.1.2.3", **forwarded))["ip"] == "10.1.2.3"
    rfc7239 = Gatekeeper(APP, policy=city_policy("proxy_headers: [forwarded]"))
    seen = await ask(rfc7239, "10.1.2.3", **forwarded)
    assert (seen["ip"], seen["country"]) == ("2001:218::1", "JP")


@pytest.mark.parametrize(
    "spoof",
    [
        {"X-Forwarded-For": "216.160.83.56"},
        {"Forwarded": "for=216.160.83.56"},
        {"CF-Connecting-IP": "216.160.83.56", "CF-IPCountry": "US"},
        {"X-Forwarded-For": "216.160.83.56, 10.0.0.1"},
    ],
)
async def test_untrusted_peer_cannot_spoof_its_location(city_policy, spoof):
    seen = await ask(Gatekeeper(APP, policy=city_policy()), "81.2.69.160", **spoof)
    assert (seen["ip"], seen["country"]) == ("81.2.69.160", "GB")


async def test_cloudflare_headers_only_when_the_policy_trusts_them(city_policy):
    headers = {"CF-Connecting-IP": "89.160.20.112", "CF-IPCountry": "SE"}
    plain = Gatekeeper(APP, policy=city_policy())
    assert (await ask(plain, "10.0.0.9", **headers))["ip"] == "10.0.0.9"
    cloudflare = Gatekeeper(APP, policy=city_policy("proxy_headers: [cf-connecting-ip]"))
    seen = await ask(cloudflare, "10.0.0.9", **headers)
    assert (seen["ip"], seen["country"]) == ("89.160.20.112", "SE")


async def test_language_gpc_dnt_and_bot(city_policy):
    app = Gatekeeper(APP, policy=city_policy())
    seen = await ask(
        app,
        **{
            "Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8",
            "Sec-GPC": "1",
            "DNT": "1",
            "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        },
    )
    assert (seen["language"], seen["gpc"], seen["dnt"], seen["bot"]) == ("fr", True, True, True)
    browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/156.0 Safari"
    seen = await ask(app, **{"User-Agent": browser, "Accept-Language": "ja"})
    assert (seen["language"], seen["gpc"], seen["dnt"], seen["bot"]) == ("en", False, False, False)


async def test_debug_location_override_only_in_debug_mode(city_policy):
    normal = Gatekeeper(APP, policy=city_policy())
    assert (await ask(normal, **{"X-Gatekeeper-Country": "US-CA"}))["country"] == "GB"
    debug = Gatekeeper(APP, policy=city_policy("debug: true"))
    seen = await ask(debug, **{"X-Gatekeeper-Country": "us-ca"})
    assert (seen["country"], seen["subdivision"]) == ("US", "US-CA")
    transport = httpx.ASGITransport(app=debug, client=("81.2.69.160", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        seen = (await client.get("/who?gk_country=AQ")).json()
        assert (seen["country"], seen["subdivision"]) == ("AQ", None)
        seen = (await client.get("/who?gk_country=EU")).json()
        assert seen["country"] == "GB"  # a group is not a place to be
        seen = (await client.get("/who?gk_country=ZZ")).json()
        assert seen["country"] == "GB"


async def test_no_database_means_unknown_location(policy_file):
    seen = await ask(Gatekeeper(APP, policy=str(policy_file())))
    assert (seen["country"], seen["located"]) == (None, False)


def test_visitor_outside_gatekeeper_is_a_clear_error():
    with pytest.raises(LookupError, match="wrapped by Gatekeeper"):
        gatekeeper.visitor({"type": "http"})


# -- a returning visitor (Visitors) ----------------------------------------------------------

SEEN: list = []


async def keep(request: Request) -> JSONResponse:
    found = gatekeeper.visitor(request)
    SEEN.append((found, found.adblock))
    found.adblock = "set by the app"  # the app's own change, on its own request only
    return JSONResponse({"allowed": sorted(found.consent.allowed) if found.consent else None})


KEEP_APP = Starlette(routes=[Route("/keep", keep)])


async def _post_consent(client: httpx.AsyncClient, action: str) -> str:
    response = await client.post(
        "/_gatekeeper/consent",
        data={"action": action},
        headers={"Accept": "application/json", "Origin": "http://news.test"},
    )
    assert response.status_code == 200, response.text
    return response.cookies["gk_consent"]


@asynccontextmanager
async def _decided_visitor(app: Gatekeeper) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    """A client of `app` that refused everything, and the headers that carry its choice
    (sent by hand: the client keeps no cookies)."""
    SEEN.clear()
    transport = httpx.ASGITransport(app=app, client=("81.2.69.160", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        cookie = await _post_consent(client, "reject_all")
        client.cookies.clear()
        yield client, {"cookie": f"gk_consent={cookie}"}


async def test_a_returning_visitor_is_remembered_but_each_request_gets_its_own(policy_file):
    app = Gatekeeper(KEEP_APP, policy=str(policy_file()))
    async with _decided_visitor(app) as (client, headers):
        for _ in range(2):
            response = await client.get("/keep", headers=headers)
            assert response.status_code == 200
    (first, first_adblock), (second, second_adblock) = SEEN
    assert first is not second
    assert first_adblock == second_adblock != "set by the app"  # not the first's change
    assert second.consent is first.consent  # read once, remembered
    assert len(app.plan.visitors._seen) == 2  # the post without a cookie, the gets with it


async def test_a_remembered_consent_ends_when_its_cookie_expires(policy_file):
    app = Gatekeeper(KEEP_APP, policy=str(policy_file()))
    async with _decided_visitor(app) as (client, headers):
        await client.get("/keep", headers=headers)
        assert SEEN[-1][0].consent.decided
        plan = app.plan
        later = plan.consent.cookie.max_age + 60
        import time

        plan.visitors.clock = lambda: time.time() + later
        plan.consent.cookie._clock = lambda: time.time() + later
        await client.get("/keep", headers=headers)
    assert not SEEN[-1][0].consent.decided


def test_a_renewed_visitor_copies_every_slot_but_the_requests_own():
    from gatekeeper.visitor import Visitor

    original = Visitor()
    for name in Visitor.__slots__:
        setattr(original, name, f"value of {name}")
    headers = {b"host": b"news.test"}
    twin = original.renewed(headers)
    for name in Visitor.__slots__:
        if name == "raw_headers":
            assert twin.raw_headers is headers
        elif name == "debug_place":
            assert twin.debug_place is None
        else:
            assert getattr(twin, name) == f"value of {name}", name
