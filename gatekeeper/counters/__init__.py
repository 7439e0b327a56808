"""Counters that add up across processes and hosts: one facility for every count gatekeeper
keeps (adblock events, country blocks, GPC signals).

Each process adds to its counts in memory, on the request path, at the cost of a dict
update; one background task per process writes them every `interval` seconds to the
shared database (store.py) as additive upserts, one transaction per batch. So the
database sees a handful of statements per interval however busy the site is, processes
and hosts writing to one database add up exactly, and a worker that is killed loses at
most the counts of its last interval, never what it wrote before. At shutdown (lifespan)
the rest is written.

Feature packages each define their `Table` and add to the one `Counters` of the
deployment's database; they never import each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ..memo import Memo
from .store import (
    CounterStore,
    Filter,
    Key,
    Row,
    StoreUnavailable,
    Table,
    hide_password,
    open_counter_store,
)

__all__ = [
    "CounterStore",
    "Counters",
    "Filter",
    "Key",
    "Row",
    "StoreUnavailable",
    "Table",
    "day_of",
    "hide_password",
    "open_counter_store",
]

log = logging.getLogger("gatekeeper.counters")


def _day(number: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(number * 86400))


_DAYS: Memo[int, str] = Memo(_day, 64)


def day_of(timestamp: float) -> str:
    """The UTC date of a Unix time, YYYY-MM-DD."""
    return _DAYS[int(timestamp // 86400)]


def _loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


class Counters:
    """The counts of one database, added up in memory and written in batches."""

    def __init__(
        self, store: CounterStore | None, *, interval: float = 5.0, max_keys: int = 100_000
    ) -> None:
        self.store = store
        self.interval = interval
        self.max_keys = max_keys
        self.pending: dict[Table, dict[Key, int]] = {}
        self._size = 0
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0
        self._closing = False
        self._writing: asyncio.Future[bool] | None = None

    def add(self, table: Table, key: Key, delta: int = 1) -> None:
        """Add `delta` to the count of `key` (its table's columns) in `table`."""
        self._put(table, key, delta)
        self._schedule()

    def _put(self, table: Table, key: Key, delta: int) -> None:
        counts = self.pending.get(table)
        if counts is None:
            counts = self.pending[table] = {}
        if key not in counts:
            if self._size >= self.max_keys:
                self._dropped += 1  # the store has been down for long: keep memory bounded
                return
            self._size += 1
            counts[key] = delta
        else:
            counts[key] += delta

    def of(self, table: Table) -> dict[Key, int]:
        """What is pending for one table (non-zero counts)."""
        return {key: n for key, n in self.pending.get(table, {}).items() if n}

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
        # every interval, so nothing waits for the next count to be written. Counts added
        # while a batch was being written go in the next one: the task ends only when
        # nothing is pending.
        while True:
            await asyncio.sleep(self.interval)
            if await self.flush() and not any(self.pending.values()):
                return

    async def flush(self) -> bool:
        """Write what is pending; on failure keep it for the next attempt. True when
        nothing is left pending (but what was added meanwhile)."""
        writing = self._writing
        if writing is not None and not writing.done() and writing.get_loop() is _loop():
            await asyncio.wait([writing])  # one batch at a time, in order
        batch = {table: self.of(table) for table in self.pending}
        batch = {table: counts for table, counts in batch.items() if counts}
        self.pending = {}
        self._size = 0
        if not batch or self.store is None:
            return True
        # Shielded: a batch being written is finished even when the task that started it
        # is cancelled (at shutdown), and close() waits for it above.
        self._writing = asyncio.ensure_future(self._write(batch))
        return await asyncio.shield(self._writing)

    async def _write(self, batch: dict[Table, dict[Key, int]]) -> bool:
        assert self.store is not None
        try:
            await self.store.add(batch)
        except Exception as exc:  # kept for the next attempt, whatever went wrong
            if isinstance(exc, StoreUnavailable):
                log.warning("counts not written yet (will retry): %s", exc)
            else:
                log.exception("writing counts failed (will retry)")
            for table, counts in batch.items():
                for key, n in counts.items():
                    self._put(table, key, n)
            if not self._closing:
                self._schedule()  # tried again in an interval
            return False
        if self._dropped:
            log.warning("%d counts were dropped while the store was down", self._dropped)
            self._dropped = 0
        return True

    async def rows(self, table: Table, where: Filter | None = None) -> list[Row]:
        """The stored counts of a table (what this process has not written yet aside).
        Raises StoreUnavailable."""
        if self.store is None:
            return []
        return await self.store.rows(table, where or Filter())

    async def close(self) -> None:
        """Write what is pending now (at shutdown); what cannot be written is lost."""
        self._closing = True
        await self._cancel()
        if not await self.flush():
            lost = sum(sum(c.values()) for c in self.pending.values())
            log.error("%d counts lost at shutdown", lost)
            self.pending = {}
            self._size = 0
        self._closing = False

    async def _cancel(self) -> None:
        task, self._task = self._task, None
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
