"""Adblock rates for operators: events counted by day, country and path group.

Counting is batched: counts add up in memory and a background task writes them every
`interval` seconds to the store (store.py), one additive upsert per (day, country, path
group, kind), so the database sees a handful of statements per interval however busy the
site is, and processes writing to one database add up exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ..memo import Memo
from .store import Key, StoreUnavailable, VerdictStore

log = logging.getLogger("gatekeeper.adblock")

MAX_GROUP = 64


def path_group(path: str) -> str:
    """The first path segment: /articles/x -> /articles, / -> /. Capped in length, so a
    site with free-form first segments cannot grow a row per URL without bound."""
    first = path.lstrip("/").split("/", 1)[0]
    return ("/" + first)[:MAX_GROUP] if first else "/"


def _day(number: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(number * 86400))


_DAYS: Memo[int, str] = Memo(_day, 64)


def day_of(timestamp: float) -> str:
    """The UTC date of a Unix time, YYYY-MM-DD."""
    return _DAYS[int(timestamp // 86400)]


class VerdictCounts:
    """Counts, added up in memory and written in batches."""

    def __init__(
        self, store: VerdictStore | None, *, interval: float = 5.0, max_keys: int = 100_000
    ) -> None:
        self.store = store
        self.interval = interval
        self.max_keys = max_keys
        self.pending: dict[Key, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0

    def add(self, key: Key, delta: int = 1) -> None:
        """Add `delta` to the count of (day, country, path group, kind)."""
        if key not in self.pending and len(self.pending) >= self.max_keys:
            self._dropped += delta  # the store has been down for long: keep memory bounded
            return
        self.pending[key] = self.pending.get(key, 0) + delta
        task = self._task
        if task is None or task.done():  # a write already waits for the next interval
            self._schedule()

    def _schedule(self) -> None:
        if self.store is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a test, or shutdown): close() writes what is pending
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._later())

    async def _later(self) -> None:
        # Wait an interval to gather a batch, write it; while the store is down, try again
        # every interval, so nothing waits for the next verdict to be written.
        while True:
            await asyncio.sleep(self.interval)
            if await self.flush():
                return

    async def flush(self) -> bool:
        """Write what is pending; on failure keep it for the next attempt. True when
        nothing is left pending."""
        counts = {key: n for key, n in self.pending.items() if n}
        self.pending = {}
        if not counts or self.store is None:
            return True
        try:
            await self.store.add(counts)
        except StoreUnavailable as exc:
            log.warning("adblock counts not written yet (will retry): %s", exc)
            for key, n in counts.items():
                self.pending[key] = self.pending.get(key, 0) + n
            return False
        if self._dropped:
            log.warning("%d adblock counts were dropped while the store was down", self._dropped)
            self._dropped = 0
        return True

    async def close(self) -> None:
        """Write what is pending now (at shutdown); what cannot be written is lost."""
        await self._cancel()
        if not await self.flush():
            log.error("%d adblock counts lost at shutdown", sum(self.pending.values()))
            self.pending = {}

    async def _cancel(self) -> None:
        task, self._task = self._task, None
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
