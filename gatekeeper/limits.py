"""Rate limits on what a visitor can make gatekeeper write: beacons (adblock counts),
consent posts and GPC records (consent log records), dismissals.

A limit is a token bucket per client network: the IPv4 address (`limits.ipv4_prefix`,
default /32) or the IPv6 /64 (`limits.ipv6_prefix`), since one home connection holds a
whole /64 and could otherwise pose as billions of clients. With `shared.redis` the
buckets live in Redis and hold across every process and host; without it, or while Redis
cannot be reached, each process keeps its own (so N processes allow up to N times the
rate: the documented bound).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace

from .endpoints import Request, Response, Route, json_response
from .policy import Policy
from .shared import SharedStore, SharedUnavailable

log = logging.getLogger("gatekeeper.limits")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Which limit guards which of gatekeeper's own endpoints (POST only).
GUARDED = {
    "/beacon": "beacon",
    "/consent": "consent",
    "/adblock/dismiss": "dismiss",
    "/notifications/dismiss": "dismiss",
}


class RateLimiter:
    """Token buckets in this process: a burst, a steady refill, bounded memory.

    Buckets live in an LRU map of bounded size; a client pushed out returns with a full
    bucket, which costs an attacker with many networks nothing they did not have anyway.
    """

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


def client_network(ip: IPAddress | None, ipv4_prefix: int = 32, ipv6_prefix: int = 64) -> str:
    """The network a limit counts an address in: 203.0.113.7 -> 203.0.113.7/32,
    2001:db8:1:2:aa::1 -> 2001:db8:1:2::/64. IPv4-mapped IPv6 counts as IPv4."""
    if ip is None:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = ipv4_prefix if ip.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class Limit:
    """One limit (`rate` per second, `burst`) per client network."""

    def __init__(
        self,
        name: str,
        rate: float,
        burst: float,
        *,
        shared: SharedStore | None = None,
        ipv4_prefix: int = 32,
        ipv6_prefix: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.rate = rate
        self.burst = burst
        self.shared = shared
        self.prefixes = (ipv4_prefix, ipv6_prefix)
        self.local = RateLimiter(rate=rate, burst=burst, clock=clock)
        self.retry_after = max(1, math.ceil(1 / rate))

    async def allow(self, ip: IPAddress | None) -> bool:
        """Take one token for this address's network; False when none is left."""
        network = client_network(ip, *self.prefixes)
        if self.shared is not None:
            try:
                return await self.shared.take(
                    self.shared.key("limit", self.name, network), self.rate, self.burst
                )
            except SharedUnavailable:
                pass  # this process decides alone until Redis is back
        return self.local.allow(network)

    def refusal(self) -> Response:
        response = json_response({"error": "too many requests; try again shortly"}, 429)
        response.headers.append((b"retry-after", str(self.retry_after).encode()))
        return response


class Limits:
    """The limits of one policy (shared through `shared.redis` when it is set)."""

    def __init__(self, policy: Policy, shared: SharedStore | None = None) -> None:
        config = policy.limits
        self.by_name = {
            name: Limit(
                name,
                setting.per_minute / 60,
                setting.burst,
                shared=shared,
                ipv4_prefix=config.ipv4_prefix,
                ipv6_prefix=config.ipv6_prefix,
            )
            for name, setting in (
                ("beacon", config.beacon),
                ("consent", config.consent),
                ("dismiss", config.dismiss),
                ("gpc", config.gpc_records),
            )
        }

    @property
    def gpc(self) -> Limit:
        return self.by_name["gpc"]

    def apply(self, routes: Mapping[str, Route]) -> dict[str, Route]:
        """The routes with the POSTs that write (or set) something limited."""
        out = dict(routes)
        for path, name in GUARDED.items():
            if path in out:
                out[path] = limited(out[path], self.by_name[name])
        return out


def limited(route: Route, limit: Limit) -> Route:
    """`route` with its POSTs refused (429, Retry-After) beyond the limit."""
    handler = route.handler

    async def guarded(request: Request) -> Response:
        if request.method == "POST" and not await limit.allow(request.visitor.ip):
            return limit.refusal()
        return await handler(request)

    return replace(route, handler=guarded)
