"""The shared store of a deployment: Redis, where every process and host keeps what must be
decided in one place (rate limits, and which verdict a page view was last counted as).

Optional: without `shared.redis` in the policy each process decides alone, which is exact
for one process and bounded for several (docs/operators.md, "Running on many workers and
hosts"). With it, a Redis that cannot be reached never fails a request: for
`retry_after` seconds every caller falls back to its own process, then Redis is tried
again.

redis-py's asyncio client belongs to the event loop that made it; a store is used from
the loop that serves requests, and a new client is made if that loop changes (tests).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

log = logging.getLogger("gatekeeper.shared")

# A token bucket in one round trip, on Redis's own clock so hosts need not agree on time.
# KEYS[1] bucket; ARGV rate (tokens/s), burst. Returns 1 when a token was taken.
_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local held = redis.call('HMGET', KEYS[1], 't', 'l')
local tokens, last = tonumber(held[1]), tonumber(held[2])
if tokens == nil then tokens, last = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local taken = 0
if tokens >= 1 then tokens = tokens - 1; taken = 1 end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'l', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return taken
"""


class SharedUnavailable(Exception):
    """Redis cannot be used right now; the caller decides in its own process."""


class SharedStore:
    def __init__(
        self,
        url: str,
        *,
        namespace: str = "gatekeeper",
        timeout: float = 0.5,
        retry_after: float = 5.0,
    ) -> None:
        try:
            import redis.asyncio  # the optional `redis` extra
        except ImportError:
            raise ValueError(
                "shared.redis is set but redis-py is not installed: pip install 'gatekeeper[redis]'"
            ) from None
        self._redis = redis
        self.url = url
        self.namespace = namespace
        self.timeout = timeout
        self.retry_after = retry_after
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._script: Any = None
        self._down_until = 0.0

    def key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    def _current(self) -> Any:
        if time.monotonic() < self._down_until:
            raise SharedUnavailable("Redis was unreachable a moment ago")
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._redis.asyncio.Redis.from_url(
                self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
            self._script = self._client.register_script(_TAKE)
            self._loop = loop
        return self._client

    def _failed(self, exc: BaseException) -> SharedUnavailable:
        self._down_until = time.monotonic() + self.retry_after
        log.warning(
            "Redis at %s unreachable (%s); deciding per process for %.0f s",
            self.url, exc, self.retry_after,
        )  # fmt: skip
        return SharedUnavailable(str(exc))

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (self._redis.RedisError, OSError, TimeoutError)

    async def take(self, bucket: str, rate: float, burst: float) -> bool:
        """Take a token from a shared bucket; False when it is empty."""
        self._current()
        try:
            return bool(await self._script(keys=[bucket], args=[rate, burst]))
        except self._errors() as exc:
            raise self._failed(exc) from exc

    async def swap(self, key: str, value: bytes, ttl: int) -> bytes | None:
        """Set `key` to `value` (expiring after `ttl` seconds) and return what it was."""
        client = self._current()
        try:
            before = await client.set(key, value, ex=ttl, get=True)
        except self._errors() as exc:
            raise self._failed(exc) from exc
        return before if isinstance(before, bytes) or before is None else bytes(before)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()
