"""Limits per client network, in one process and shared through a real Redis."""

from __future__ import annotations

import ipaddress
import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from gatekeeper import Gatekeeper
from gatekeeper.limits import Limit, client_network
from gatekeeper.shared import SharedStore
from tests.adblock.conftest import BROWSER, html_app
from tests.conftest import require

REDIS = "redis://127.0.0.1:6379/0"


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
async def shared() -> AsyncIterator[SharedStore]:
    pytest.importorskip("redis")
    require(redis_up(), "Redis not reachable at 127.0.0.1:6379")
    store = SharedStore(REDIS, namespace=f"gk-test-{uuid.uuid4().hex[:12]}")
    yield store
    client = store._current()
    keys = [key async for key in client.scan_iter(match=store.key("*"))]
    if keys:
        await client.delete(*keys)
    await store.close()


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.7", "203.0.113.7/32"),
        ("2001:db8:1:2:aa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7/32"),  # IPv4-mapped counts as IPv4
    ],
)
def test_client_networks(address: str, network: str) -> None:
    assert client_network(ipaddress.ip_address(address)) == network


def test_configurable_prefixes() -> None:
    ip6 = ipaddress.ip_address("2001:db8:1:2:aa::1")
    assert client_network(ip6, ipv6_prefix=48) == "2001:db8:1::/48"
    assert client_network(ipaddress.ip_address("203.0.113.7"), ipv4_prefix=24) == "203.0.113.0/24"
    assert client_network(None) == "unknown"


async def test_one_ipv6_64_is_one_client() -> None:
    limit = Limit("beacon", rate=0.001, burst=3)
    addresses = [ipaddress.ip_address(f"2001:db8:1:2::{n:x}") for n in range(1, 100)]
    allowed = [await limit.allow(a) for a in addresses]
    assert allowed == [True] * 3 + [False] * 96
    assert await limit.allow(ipaddress.ip_address("2001:db8:1:3::1"))  # the next /64


async def test_a_shared_limit_holds_across_processes(shared: SharedStore) -> None:
    # Two processes (two Limit objects, as each worker builds its own) share one bucket.
    one = Limit("beacon", rate=0.001, burst=5, shared=shared)
    two = Limit("beacon", rate=0.001, burst=5, shared=shared)
    ip = ipaddress.ip_address("2001:db8:9::1")
    allowed = [await (one if n % 2 else two).allow(ip) for n in range(12)]
    assert allowed == [True] * 5 + [False] * 7
    other = Limit("consent", rate=0.001, burst=5, shared=shared)
    assert await other.allow(ip)  # each limit has its own buckets


async def test_an_unreachable_redis_falls_back_to_this_process() -> None:
    pytest.importorskip("redis")
    down = SharedStore("redis://127.0.0.1:9/0", timeout=0.2)
    limit = Limit("beacon", rate=0.001, burst=2, shared=down)
    ip = ipaddress.ip_address("203.0.113.9")
    assert [await limit.allow(ip) for _ in range(4)] == [True, True, False, False]


async def _posts(app: Gatekeeper, path: str, count: int, peer: str, **kw: object) -> list[int]:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://news.test", headers={"user-agent": BROWSER}
    ) as client:
        return [(await client.post(path, **kw)).status_code for _ in range(count)]  # type: ignore[arg-type]


LIMITED = """\
limits:
  beacon: {per_minute: 0.01, burst: 2}
  consent: {per_minute: 0.01, burst: 3}
  dismiss: {per_minute: 0.01, burst: 4}
adblock: {mode: notice}
audit: {store: "sqlite:///consent.db"}
"""


async def test_the_policy_limits_gatekeepers_posts(policy_file) -> None:
    app = Gatekeeper(html_app, policy=policy_file(LIMITED))
    try:
        beacons = await _posts(app, "/_gatekeeper/beacon", 4, "2001:db8::1", json={})
        assert beacons == [400, 400, 429, 429]  # judged (bad body) until the limit
        choice = {"data": {"action": "reject_all", "next": "/"}}
        assert await _posts(app, "/_gatekeeper/consent", 5, "2001:db8::2", **choice) == [
            303, 303, 303, 429, 429,
        ]  # fmt: skip
        # Another address of the same /64 shares its allowance.
        assert await _posts(app, "/_gatekeeper/consent", 1, "2001:db8::ffff", **choice) == [429]
        dismiss = {"data": {"next": "/"}}
        counted = await _posts(app, "/_gatekeeper/adblock/dismiss", 3, "198.51.100.1", **dismiss)
        counted += await _posts(app, "/_gatekeeper/notifications/dismiss", 3, "198.51.100.1")
        assert counted.count(429) == 2  # one allowance for both kinds of dismissal
        # A GET of the consent state is not limited.
        transport = httpx.ASGITransport(app=app, client=("2001:db8::2", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as c:
            assert (await c.get("/_gatekeeper/consent")).status_code == 200
        refused = await _posts(app, "/_gatekeeper/beacon", 1, "2001:db8::1", json={})
        assert refused == [429]
    finally:
        await app.close()


async def test_the_policy_limits_hold_across_instances_with_redis(policy_file, shared) -> None:
    text = LIMITED + f"shared: {{redis: '{REDIS}', namespace: {shared.namespace}}}\n"
    one = Gatekeeper(html_app, policy=policy_file(text, name="one.yaml"))
    two = Gatekeeper(html_app, policy=policy_file(text, name="two.yaml"))
    try:
        peer = "2001:db8:5::1"
        statuses = []
        for n in range(6):
            statuses += await _posts(one if n % 2 else two, "/_gatekeeper/beacon", 1, peer, json={})
        assert statuses == [400, 400, 429, 429, 429, 429]
    finally:
        await one.close()
        await two.close()
