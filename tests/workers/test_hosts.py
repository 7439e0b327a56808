"""Two server processes sharing one policy and database behind a round-robin balancer, as
two hosts behind a load balancer: exact counts, and what forged beacons from one IPv6 /64
and page floods can move (no more than the limits allow).

Run on the policy's SQLite file (two processes on one host), on PostgreSQL, and on
PostgreSQL with Redis (limits and re-checked views shared by both processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workers.conftest import (
    REDIS,
    Balancer,
    Server,
    Visits,
    adblock_stats,
    demo_policy,
    expected,
    serve,
    wait_for,
)

BURST = 10
# Trust the balancer (loopback) for X-Forwarded-For, so each visitor has an address of its
# own; the beacon limit refills so slowly that only its burst counts during a test.
LIMITS = f"""
trusted_proxies: [127.0.0.1/32]
limits:
  beacon: {{per_minute: 0.001, burst: {BURST}}}
"""
REAL = {"ZA": ("allowed", 5), "NZ": ("blocked", 5), "JP": ("no_js", 3), "AU": ("check_again", 3)}
ATTACK = "2001:db8:bad:1::"


@pytest.fixture(params=["sqlite", "postgres", "postgres+redis"])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Path, Balancer, str]]:
    extra = LIMITS
    if "postgres" in request.param:
        extra += f'\naudit:\n  store: "{request.getfixturevalue("pg_store")}"\n'
    shared = "\nshared:\n  flush_seconds: 0.2\n"
    if "redis" in request.param:
        namespace = request.getfixturevalue("redis_namespace")
        shared += f"  redis: {REDIS}\n  namespace: {namespace}\n"
    policy = demo_policy(tmp_path / "data", extra + shared)
    if "postgres" in request.param:
        # The demo policy's own audit section names its SQLite file: keep only ours.
        text = policy.read_text(encoding="utf-8")
        start = text.index("\naudit:")
        end = text.index("\n\n", start + 1)
        policy.write_text(text[:start] + text[end:], encoding="utf-8")
    servers: list[Server] = [serve(policy), serve(policy)]
    balancer = Balancer([s.port for s in servers])
    try:
        yield policy, balancer, request.param
    finally:
        balancer.close()
        for server in servers:
            server.stop()


def real_views(balancer: Balancer) -> None:
    """Each real visitor from an address of their own."""
    n = 0
    for country, (kind, count) in REAL.items():
        for _ in range(count):
            n += 1
            getattr(Visits(balancer.port, forwarded_for=f"198.51.100.{n}"), kind)(country)


def test_counts_are_exact_across_processes(deployment) -> None:
    policy, balancer, _ = deployment
    real_views(balancer)
    assert balancer.served[0] > 10 and balancer.served[1] > 10
    want = expected(REAL)
    assert wait_for(lambda: adblock_stats(policy), want) == want


def test_forged_beacons_and_page_floods_move_no_more_than_the_limits(deployment) -> None:
    policy, balancer, kind = deployment
    real_views(balancer)
    # One home connection: 300 page views, then 120 forged "blocked" reports, each with a
    # fresh token of its own, from addresses all over its /64.
    attacker = [Visits(balancer.port, forwarded_for=f"{ATTACK}{n + 1:x}") for n in range(120)]
    for n in range(300):
        attacker[n % 120].page("ZA")
    accepted = 0
    for visits in attacker:
        token = visits.page("ZA")
        answer = visits.beacon({"token": token, "script": False, "cosmetic": False})
        assert answer.status_code in (200, 429)
        accepted += answer.status_code == 200
    # Without a shared store each process keeps its own buckets: at most one burst per
    # process; with Redis one burst for the whole deployment.
    processes = 1 if "redis" in kind else 2
    assert BURST <= accepted <= BURST * processes
    real = expected(REAL)
    want = {
        **real,
        "ZA": {
            "blocked": accepted,
            "allowed": 5,
            "no_js": 0,
            "unknown": 300 + 120 - accepted,  # the flood: views nobody reported
        },
    }
    assert wait_for(lambda: adblock_stats(policy), want) == want
    # The real verdicts elsewhere are untouched; in FR the rate moved by the limit only.
    rate = want["ZA"]["blocked"] / (want["ZA"]["blocked"] + 5)
    assert rate <= BURST * processes / (BURST * processes + 5)


@pytest.mark.parametrize("deployment", ["postgres+redis"], indirect=True)
def test_replayed_receipts_move_nothing_with_redis(deployment) -> None:
    # Without a shared store, a replay that reaches another process moves one count per
    # beacon (bounded by the beacon limit); with Redis, nothing.
    policy, balancer, _ = deployment
    visits = Visits(balancer.port, forwarded_for="198.51.100.200")
    token = visits.page("CA")
    first = visits.beacon({"token": token, "script": False, "cosmetic": False}).json()
    proof = visits.proof(token)
    allowed = {"token": token, "script": True, "cosmetic": True, "proof": proof,
               "receipt": first["receipt"]}  # fmt: skip
    for _ in range(6):  # the check again, then five replays of it, to both processes
        assert visits.beacon(allowed).json()["verdict"] == "allowed"
    for _ in range(3):  # and the first report replayed
        visits.beacon({"token": token, "script": False, "cosmetic": False})
    want = {"CA": {"blocked": 1, "allowed": 0, "no_js": 0, "unknown": 0}}
    assert wait_for(lambda: adblock_stats(policy), want) == want
