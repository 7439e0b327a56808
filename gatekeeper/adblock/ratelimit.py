"""A token bucket per client address, for the beacon.

A page sends one beacon, plus one per "check again": a burst of a few and a slow refill
are plenty for a person, and stop a script from filling the view table's counts. Buckets
live in an LRU map of bounded size; a client pushed out returns with a full bucket, which
costs an attacker with many addresses nothing they did not have anyway.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        *,
        rate: float = 0.5,
        burst: float = 10,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate must be > 0, burst >= 1 and max_clients >= 1")
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, client: str) -> bool:
        """Take one token from the client's bucket; False when it is empty."""
        now = self.clock()
        tokens, last = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        self._buckets[client] = (tokens, now)  # re-inserted last: most recently used
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return allowed
