"""Token buckets in one process: a burst, a steady refill, bounded memory."""

from __future__ import annotations

import pytest

from gatekeeper.limits import RateLimiter
from tests.adblock.conftest import Clock


def test_a_burst_then_the_refill_rate() -> None:
    clock = Clock(0.0)
    limiter = RateLimiter(rate=0.5, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    clock.now += 1.0  # half a token
    assert not limiter.allow("a")
    clock.now += 1.0  # now a whole one
    assert limiter.allow("a")
    assert not limiter.allow("a")


def test_clients_have_their_own_buckets() -> None:
    limiter = RateLimiter(rate=0.1, burst=1, clock=Clock())
    assert limiter.allow("a")
    assert not limiter.allow("a")
    assert limiter.allow("b")


def test_the_refill_never_exceeds_the_burst() -> None:
    clock = Clock(0.0)
    limiter = RateLimiter(rate=10, burst=2, clock=clock)
    limiter.allow("a")
    clock.now += 3600
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]


def test_memory_is_bounded_by_least_recent_use() -> None:
    limiter = RateLimiter(rate=0.01, burst=1, max_clients=100, clock=Clock())
    for n in range(10_000):
        limiter.allow(f"198.51.100.{n}")
    assert len(limiter) == 100
    assert not limiter.allow("198.51.100.9999")  # recent: still remembered, still empty


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate=0)
    with pytest.raises(ValueError):
        RateLimiter(burst=0)
