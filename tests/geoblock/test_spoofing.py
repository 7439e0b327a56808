"""Spoofing attempts through the whole middleware: a visitor from a denied country tries
to look like someone else with forwarding headers, debug overrides and proxy tricks.

The policy denies GB and exempts 192.0.2.0/24 and /health; 10.0.0.0/8 is the trusted
proxy. Every attempt comes from 81.2.69.160 (GB), directly or through the proxy, and
must still be answered 451 without reaching the app.
"""

from __future__ import annotations

import pytest

from .conftest import GB, PROXY, SE

POLICY = """
geoblock:
  deny: [GB]
  unknown: allow
  exempt: {paths: [/health], networks: [192.0.2.0/24]}
"""

# Headers a GB client sends straight to the app (the peer is the client itself).
DIRECT = {
    "x-forwarded-for": {"X-Forwarded-For": SE},
    "x-forwarded-for chain": {"X-Forwarded-For": f"{SE}, 10.0.0.2"},
    "x-forwarded-for exempt": {"X-Forwarded-For": "192.0.2.10"},
    "x-forwarded-for loopback": {"X-Forwarded-For": "127.0.0.1"},
    "forwarded": {"Forwarded": f"for={SE}"},
    "forwarded quoted v6": {"Forwarded": 'for="[2001:218::1]:4711"'},
    "cloudflare": {"CF-Connecting-IP": SE, "CF-IPCountry": "SE"},
    "cloudflare unknown": {"CF-Connecting-IP": "1.1.1.1", "CF-IPCountry": "XX"},
    "x-real-ip": {"X-Real-IP": SE},
    "true-client-ip": {"True-Client-IP": SE},
    "x-client-ip": {"X-Client-IP": SE},
    "debug header": {"X-Gatekeeper-Country": "SE"},
    "all at once": {
        "X-Forwarded-For": SE,
        "Forwarded": f"for={SE}",
        "CF-Connecting-IP": SE,
        "CF-IPCountry": "SE",
        "X-Real-IP": SE,
        "X-Gatekeeper-Country": "SE",
    },
}

# What a GB client sends through the trusted proxy, which appends the client's real
# address to X-Forwarded-For: the client controls only what lies left of it.
THROUGH_PROXY = {
    "prepended address": {"X-Forwarded-For": f"{SE}, {GB}"},
    "prepended exempt address": {"X-Forwarded-For": f"192.0.2.10, {GB}"},
    "prepended trusted hop": {"X-Forwarded-For": f"{SE}, 10.0.0.7, {GB}"},
    "prepended loopback": {"X-Forwarded-For": f"127.0.0.1, {GB}"},
    "prepended garbage": {"X-Forwarded-For": f"unknown, <script>, {GB}"},
    "forwarded beside xff": {"Forwarded": f"for={SE}", "X-Forwarded-For": GB},
    "cloudflare beside xff": {"CF-Connecting-IP": SE, "CF-IPCountry": "SE", "X-Forwarded-For": GB},
    "debug beside xff": {"X-Gatekeeper-Country": "SE", "X-Forwarded-For": GB},
}


@pytest.mark.parametrize("headers", DIRECT.values(), ids=DIRECT.keys())
async def test_headers_from_an_untrusted_peer_change_nothing(build, headers):
    site = build(POLICY)
    response = await site.get("/", peer=GB, **headers)
    assert response.status_code == 451
    assert site.app.calls == []


@pytest.mark.parametrize("headers", THROUGH_PROXY.values(), ids=THROUGH_PROXY.keys())
async def test_entries_left_of_the_proxys_own_change_nothing(build, headers):
    site = build(POLICY)
    response = await site.get("/", peer=PROXY, **headers)
    assert response.status_code == 451
    assert site.app.calls == []


async def test_repeated_header_lines_are_read_as_one_chain(build):
    """A client's own X-Forwarded-For line comes before the one the proxy adds."""
    site = build(POLICY)
    transport_headers = [("X-Forwarded-For", SE), ("X-Forwarded-For", GB)]
    response = await site.get_raw("/", peer=PROXY, headers=transport_headers)
    assert response.status_code == 451


async def test_debug_query_parameter_is_ignored(build):
    site = build(POLICY)
    assert (await site.get("/?gk_country=SE", peer=GB)).status_code == 451
    assert (await site.get("/health?gk_country=GB", peer=GB)).status_code == 200


async def test_spoofing_cannot_get_an_allowed_visitor_blocked(build):
    site = build(POLICY)
    response = await site.get("/", peer=SE, **{"X-Forwarded-For": GB, "CF-IPCountry": "GB"})
    assert response.status_code == 200


async def test_headers_named_in_the_policy_are_still_only_read_from_the_proxy(build):
    site = build(POLICY + "proxy_headers: [cf-connecting-ip, forwarded, x-forwarded-for]\n")
    cloudflare = {"CF-Connecting-IP": SE, "CF-IPCountry": "SE"}
    assert (await site.get("/", peer=GB, **cloudflare)).status_code == 451
    assert (await site.get("/", peer=GB, Forwarded=f"for={SE}")).status_code == 451
    # From the trusted proxy, the header it is configured to set is believed.
    assert (await site.get("/", peer=PROXY, **cloudflare)).status_code == 200
    assert (await site.get("/", peer=PROXY, **{"CF-Connecting-IP": GB})).status_code == 451
