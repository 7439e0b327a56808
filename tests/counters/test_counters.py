"""Counts added in memory and written in batches off the request path."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gatekeeper.counters import Counters, Filter, StoreUnavailable, Table, open_counter_store

VIEWS = Table("test_views", ("day", "country", "path_group", "kind"))
BLOCKS = Table("test_blocks", ("day", "country", "rule"))
KEY = ("2026-11-27", "DE", "/", "blocked")


class FlakyStore:
    """A store that fails until told not to (the database is down, then back)."""

    def __init__(self) -> None:
        self.fail = True
        self.written: list[dict[Table, dict[tuple[str, ...], int]]] = []

    @property
    def display_url(self) -> str:
        return "flaky://"

    async def add(self, batch) -> None:  # type: ignore[no-untyped-def]
        if self.fail:
            raise StoreUnavailable("disk full")
        self.written.append({table: dict(counts) for table, counts in batch.items()})

    async def rows(self, table: Table, where: Filter) -> list[tuple[object, ...]]:
        return []


async def test_counts_are_batched_and_kept_when_the_store_fails(caplog) -> None:
    store = FlakyStore()
    counts = Counters(store, interval=0.01)
    counts.add(VIEWS, KEY)
    counts.add(VIEWS, KEY)
    counts.add(BLOCKS, ("2026-11-27", "FR", "rule"))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if "will retry" in caplog.text:
            break
    assert store.written == []
    store.fail = False  # the store comes back: the retry writes without a new count
    for _ in range(200):
        await asyncio.sleep(0.01)
        if store.written:
            break
    assert store.written == [{VIEWS: {KEY: 2}, BLOCKS: {("2026-11-27", "FR", "rule"): 1}}]
    counts.add(VIEWS, KEY)
    counts.add(VIEWS, KEY, -1)  # a view that moved back: nothing to write
    await counts.close()
    assert len(store.written) == 1


async def test_close_gives_up_on_a_store_that_is_down(caplog) -> None:
    counts = Counters(FlakyStore(), interval=3600)
    counts.add(VIEWS, KEY)
    await counts.close()
    assert counts.pending == {}
    assert "1 counts lost at shutdown" in caplog.text


async def test_close_writes_what_is_pending() -> None:
    store = FlakyStore()
    store.fail = False
    counts = Counters(store, interval=3600)
    counts.add(VIEWS, KEY)
    assert counts.of(VIEWS) == {KEY: 1}
    await counts.close()
    assert store.written == [{VIEWS: {KEY: 1}}]
    assert counts.of(VIEWS) == {}


async def test_pending_counts_are_bounded() -> None:
    counts = Counters(None, max_keys=3)
    for n in range(10):
        counts.add(VIEWS, ("2026-11-27", "DE", f"/{n}", "opened"))
    counts.add(VIEWS, ("2026-11-27", "DE", "/1", "opened"))  # a key it holds still adds
    assert len(counts.of(VIEWS)) == 3
    assert counts.of(VIEWS)[("2026-11-27", "DE", "/1", "opened")] == 2


async def test_what_was_written_stays_when_the_process_dies(tmp_path: Path) -> None:
    # The batch is one transaction: counts written by an interval are in the database,
    # whatever happens to the process afterwards (a later test kills real workers).
    url = f"sqlite:///{tmp_path / 'consent.db'}"
    counts = Counters(open_counter_store(url), interval=3600)
    counts.add(BLOCKS, ("2026-11-27", "DE", "r"), 3)
    assert await counts.flush()
    counts.add(BLOCKS, ("2026-11-27", "DE", "r"), 1)  # pending when the process "dies"
    fresh = Counters(open_counter_store(url))
    assert await fresh.rows(BLOCKS) == [("2026-11-27", "DE", "r", 3)]


class SlowStore(FlakyStore):
    """A store whose writes wait until they are let through."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = False
        self.started = asyncio.Event()
        self.go = asyncio.Event()

    async def add(self, batch) -> None:  # type: ignore[no-untyped-def]
        self.started.set()
        await self.go.wait()
        await super().add(batch)


async def test_counts_added_while_a_batch_is_written_are_written_next() -> None:
    store = SlowStore()
    counts = Counters(store, interval=0.01)
    counts.add(VIEWS, KEY)
    await asyncio.wait_for(store.started.wait(), 5)
    counts.add(BLOCKS, ("2026-11-27", "DE", "r"))  # arrives while the first batch is written
    store.go.set()
    for _ in range(500):
        await asyncio.sleep(0.01)
        if len(store.written) == 2:
            break
    assert store.written == [{VIEWS: {KEY: 1}}, {BLOCKS: {("2026-11-27", "DE", "r"): 1}}]
    await counts.close()


async def test_shutdown_finishes_the_batch_in_flight() -> None:
    store = SlowStore()
    counts = Counters(store, interval=0.01)
    counts.add(VIEWS, KEY)
    await asyncio.wait_for(store.started.wait(), 5)
    counts.add(VIEWS, KEY)
    closing = asyncio.ensure_future(counts.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # waits for the batch being written
    store.go.set()
    await asyncio.wait_for(closing, 5)
    assert store.written == [{VIEWS: {KEY: 1}}, {VIEWS: {KEY: 1}}]
