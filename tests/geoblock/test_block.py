"""Blocked requests through the middleware on MaxMind's test databases: the answer a
blocked visitor gets, and the requests that pass.

Tests taking `build` run on `Gatekeeper(app, policy=...)` itself.
"""

from __future__ import annotations

import logging
import re

import pytest

from gatekeeper import Gatekeeper
from gatekeeper.geoblock import BlockCounter, wants_problem_json

from .conftest import CITY, GB, JP, PROXY, SE, US_WA, App, full

DENY_GB = "geoblock: {deny: [GB]}"


# --- the acceptance scenario ---------------------------------------------------------------


async def test_denied_country_behind_a_trusted_proxy_gets_451(build):
    site = build(DENY_GB)
    response = await site.get("/article", peer=PROXY, **{"X-Forwarded-For": GB})
    assert response.status_code == 451
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["link"] == '<http://news.test/>; rel="blocked-by"'
    assert 'data-gk-notice="block"' in response.text
    assert "not available in your region" in response.text
    assert site.app.calls == []

    allowed = await site.get("/article", peer=PROXY, **{"X-Forwarded-For": SE})
    assert (allowed.status_code, allowed.text) == (200, "app /article SE")


async def test_spoofed_header_from_an_untrusted_peer_changes_nothing(build):
    site = build(DENY_GB)
    response = await site.get("/", peer=GB, **{"X-Forwarded-For": SE})
    assert response.status_code == 451
    response = await site.get("/", peer=SE, **{"X-Forwarded-For": GB})
    assert response.status_code == 200
    assert len(site.app.calls) == 1


@pytest.mark.parametrize(
    ("peer", "deny", "blocked"),
    [
        (GB, "GB", True),
        (SE, "GB", False),
        (US_WA, "US-WA", True),
        (US_WA, "US-CA", False),
        (JP, "JP", True),
        ("::ffff:81.2.69.160", "GB", True),
        ("2a02:d3c0::1", "GB", True),
        (SE, "EU", True),
    ],
)
async def test_locations_from_the_test_database(build, peer, deny, blocked):
    site = build(f"geoblock: {{deny: [{deny}]}}")
    response = await site.get("/", peer=peer)
    assert response.status_code == (451 if blocked else 200)
    assert bool(site.app.calls) is not blocked


async def test_ipv6_client_behind_an_ipv6_proxy(build):
    site = build("geoblock: {deny: [JP]}")
    response = await site.get("/", peer="2001:db8:ffff::1", **{"X-Forwarded-For": JP})
    assert response.status_code == 451
    response = await site.get("/", peer="2001:db8:ffff::1", **{"X-Forwarded-For": f"[{JP}]:4711"})
    assert response.status_code == 451


async def test_subdivision_rules_on_a_country_database_never_match(build):
    site = build("geoblock: {deny: [US-WA]}", database="GeoIP2-Country-Test.mmdb")
    assert (await site.get("/", peer=US_WA)).status_code == 200


# --- the response --------------------------------------------------------------------------


async def test_the_page_is_in_the_visitors_language(build):
    site = build(
        """
geoblock:
  deny: [GB]
  page:
    title: {en: Not available here, de: Hier nicht verfügbar}
    text: {en: Sorry., de: Leider nicht.}
"""
    )
    response = await site.get("/", **{"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert response.status_code == 451
    assert response.headers["content-language"] == "de"
    assert "Hier nicht verfügbar" in response.text and '<html lang="de"' in response.text
    response = await site.get("/", **{"Accept-Language": "fr"})
    assert "Not available here" in response.text


@pytest.mark.parametrize(
    ("operator_url", "link"),
    [
        ("/about/operator", "<http://news.test/about/operator>"),
        ("https://operator.example/legal", "<https://operator.example/legal>"),
        ('"https://operator.example/a b>c"', "<https://operator.example/a%20b%3Ec>"),
    ],
)
async def test_link_names_the_operator(policy_file, geoip_dir, operator_url, link):
    path = policy_file(f"geoip: {{database: {geoip_dir / CITY}}}\n{DENY_GB}\n")
    text = path.read_text().replace(
        'revision: "r1"}', f'revision: "r1", operator_url: {operator_url}}}'
    )
    path.write_text(text)
    site = full(App(), path)
    response = await site.get("/")
    assert response.headers["link"] == f'{link}; rel="blocked-by"'


async def test_403_when_configured(build):
    site = build("geoblock: {deny: [GB], status: 403}")
    response = await site.get("/")
    assert response.status_code == 403
    assert "link" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert 'data-gk-notice="block"' in response.text


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/problem+json",
        "application/json, text/html;q=0.9",
        "text/html;q=0.5, application/json",
    ],
)
async def test_json_clients_get_a_problem_document(build, accept):
    site = build(DENY_GB)
    response = await site.get("/api/articles", **{"Accept": accept})
    assert response.status_code == 451
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "type": "about:blank",
        "title": "Unavailable For Legal Reasons",
        "status": 451,
        "detail": "For legal reasons we cannot show this content where you are. If you "
        "think this is a mistake, please get in touch.",
        "instance": "/api/articles",
    }
    assert site.app.calls == []


@pytest.mark.parametrize(
    ("accept", "wants_json"),
    [
        ("", False),
        ("*/*", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("text/html, application/json", False),
        ("application/json;q=0, text/html", False),
        ("application/json;q=0", False),
        ("application/json;q=bad", False),
        ("application/json, */*", True),
        ("APPLICATION/JSON", True),
    ],
)
def test_accept_negotiation(accept, wants_json):
    assert wants_problem_json(accept) is wants_json


async def test_problem_detail_in_the_visitors_language(build):
    site = build(
        "geoblock: {deny: [GB], status: 403, page: {text: {en: Sorry., de: Leider nicht.}}}"
    )
    response = await site.get("/x", **{"Accept": "application/json", "Accept-Language": "de"})
    assert response.status_code == 403
    body = response.json()
    assert (body["title"], body["detail"], body["status"]) == ("Forbidden", "Leider nicht.", 403)


async def test_head_gets_the_headers_without_a_body(build):
    site = build(DENY_GB)
    get = await site.get("/")
    head = await site.get("/", method="HEAD")
    assert head.status_code == 451
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] != "0"
    assert head.headers["link"] == get.headers["link"]
    assert site.app.calls == []


async def test_post_is_blocked_without_reaching_the_app(build):
    site = build(DENY_GB)
    response = await site.get("/comments", method="POST")
    assert response.status_code == 451
    assert site.app.calls == []


# --- exemptions, unknown and anonymous visitors ------------------------------------------


async def test_exempt_paths_and_networks(build):
    site = build(
        """
geoblock:
  deny: [GB]
  exempt: {paths: [/health, /privacy], networks: [81.2.69.0/24, 10.0.0.0/8]}
"""
    )
    assert (await site.get("/health", peer=SE)).status_code == 200
    # The client's own network is exempt, whether it comes directly or through a proxy.
    assert (await site.get("/", peer=GB)).status_code == 200
    assert (await site.get("/", peer=PROXY, **{"X-Forwarded-For": GB})).status_code == 200


async def test_an_exempt_proxy_does_not_exempt_its_clients(build):
    site = build("geoblock: {deny: [GB], exempt: {paths: [/health], networks: [10.0.0.0/8]}}")
    assert (await site.get("/", peer=PROXY, **{"X-Forwarded-For": GB})).status_code == 451
    assert (await site.get("/health", peer=PROXY, **{"X-Forwarded-For": GB})).status_code == 200


async def test_block_page_assets_stay_reachable(build):
    site = build(DENY_GB)
    page = await site.get("/")
    css = re.search(r'href="(/_gatekeeper/static/[^"]+\.css)"', page.text)
    assert css is not None
    response = await site.get(css.group(1))
    assert response.status_code == 200


async def test_unknown_locations(build):
    site = build("geoblock: {unknown: block, exempt: {paths: [/health]}}")
    assert (await site.get("/", peer="1.1.1.1")).status_code == 451  # not in the database
    assert (await site.get("/", peer="214.1.1.1")).status_code == 451  # anycast, no country
    assert (await site.get("/", peer="2.3.3.3")).status_code == 451  # continent only
    assert (await site.get("/", peer="127.0.0.1")).status_code == 451
    assert (await site.get("/health", peer="1.1.1.1")).status_code == 200
    assert (await site.get("/", peer=GB)).status_code == 200


@pytest.mark.parametrize(("on_missing", "status"), [("block", 451), ("allow", 200)])
async def test_missing_database_follows_on_missing(build, tmp_path, on_missing, status):
    site = build(
        "geoblock: {deny: [GB], unknown: allow, exempt: {paths: [/health]}}",
        database=str(tmp_path / "absent.mmdb"),
        on_missing=on_missing,
    )
    assert (await site.get("/", peer=SE)).status_code == status
    assert (await site.get("/health", peer=SE)).status_code == 200


async def test_anonymous_addresses(build):
    site = build("geoblock: {anonymous: block}")
    # 81.2.69.0/24 is a VPN, proxy and Tor exit in MaxMind's Anonymous-IP test database.
    assert (await site.get("/", peer=GB)).status_code == 451
    assert (await site.get("/", peer="1.2.0.1")).status_code == 451  # anonymous, unlocated
    assert (await site.get("/", peer=SE)).status_code == 200
    allowed = build("geoblock: {anonymous: allow}")
    assert (await allowed.get("/", peer=GB)).status_code == 200


# --- observability -----------------------------------------------------------------------


async def test_blocks_are_counted_by_country_and_rule(build):
    site = build("geoblock: {deny: [GB], rules: [{paths: [/video/*], allow: [US]}]}")
    await site.get("/", peer=GB)
    await site.get("/x", peer=PROXY, **{"X-Forwarded-For": GB})
    await site.get("/video/1", peer=SE)
    await site.get("/", peer=SE)
    assert site.gatekeeper.plan.refusal.counter.snapshot() == {
        ("GB", "geoblock.deny"): 2,
        ("SE", "geoblock.rules[0]"): 1,
    }


def test_counter_snapshot_is_a_copy():
    counter = BlockCounter()
    counter.add(None, "geoblock.unknown")
    snapshot = counter.snapshot()
    counter.add(None, "geoblock.unknown")
    assert snapshot == {(None, "geoblock.unknown"): 1}
    assert counter.snapshot() == {(None, "geoblock.unknown"): 2}


async def test_log_lines_carry_country_and_rule_never_the_address(build, caplog):
    site = build("geoblock: {deny: [GB, US-WA]}")
    with caplog.at_level(logging.DEBUG):
        await site.get("/a", peer=PROXY, **{"X-Forwarded-For": GB})
        await site.get("/b", peer=US_WA)
        await site.get("/c", peer=SE)
    blocked = [r for r in caplog.records if r.name == "gatekeeper.geoblock"]
    assert [r.levelno for r in blocked] == [logging.INFO, logging.INFO]
    assert "country=GB" in blocked[0].getMessage()
    assert "rule=geoblock.deny" in blocked[0].getMessage()
    assert "country=US subdivision=US-WA" in blocked[1].getMessage()
    everything = " ".join(r.getMessage() for r in caplog.records)
    for address in (GB, US_WA, SE, PROXY, "81.2.69"):
        assert address not in everything


# --- what the stage leaves alone --------------------------------------------------------------


async def test_lifespan_passes_and_a_blocked_websocket_is_refused(build):
    site = build(DENY_GB)
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    site.gatekeeper.app = site.gatekeeper.plan.app = app
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "websocket.connect"}

    await site.gatekeeper({"type": "lifespan"}, receive, send)
    await site.gatekeeper(
        {"type": "websocket", "path": "/", "client": (SE, 1), "headers": []}, receive, send
    )
    await site.gatekeeper(
        {"type": "websocket", "path": "/", "client": (GB, 1), "headers": []}, receive, send
    )
    assert seen == ["lifespan", "websocket"]
    assert sent == [{"type": "websocket.close", "code": 4451}]


async def test_allowed_requests_reach_the_app_unchanged(build):
    site = build(DENY_GB)
    response = await site.get("/page?x=1", peer=SE)
    assert (response.status_code, response.text) == (200, "app /page SE")
    assert "link" not in response.headers


async def test_problem_document_keeps_non_ascii_text(build):
    site = build("geoblock: {deny: [GB], page: {text: {en: Désolé, de: Es tut uns leid}}}")
    response = await site.get("/café", **{"Accept": "application/problem+json"})
    body = response.json()
    assert (body["detail"], body["instance"]) == ("Désolé", "/caf%C3%A9")


async def test_counter_survives_a_policy_reload(build, geo_policy):
    first = build(DENY_GB)
    await first.get("/")
    path = geo_policy(DENY_GB.replace("GB", "GB, KP"))
    reloaded = Gatekeeper(first.app, policy=path)
    assert reloaded.plan.refusal.counter is not first.gatekeeper.plan.refusal.counter
    # Within one Gatekeeper a reload keeps the counter: it is a resource, not policy.
    gatekeeper = first.gatekeeper
    counter = gatekeeper.plan.refusal.counter
    gatekeeper._file.path.write_text(path.read_text())
    gatekeeper._file._next_check = 0
    gatekeeper._reload()
    assert gatekeeper.plan.refusal.counter is counter
    assert counter.snapshot() == {("GB", "geoblock.deny"): 1}
