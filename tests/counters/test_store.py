"""Counter tables in the consent log's database: SQLite and PostgreSQL, additive."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.audit import ConsentLog
from gatekeeper.counters import Filter, StoreUnavailable, Table, open_counter_store
from gatekeeper.counters.store import SQLiteCounterStore
from gatekeeper.policy import load_policy
from tests.conftest import REPO

VIEWS = Table("test_views", ("day", "country", "path_group", "kind"))
BLOCKS = Table("test_blocks", ("day", "country", "rule"))


async def test_sqlite_counts_add_up(tmp_path: Path) -> None:
    store = SQLiteCounterStore(tmp_path / "consent.db")
    assert await store.rows(VIEWS, Filter()) == []  # created on first write, empty until then
    await store.add(
        {
            VIEWS: {("2026-11-27", "DE", "/", "blocked"): 2, ("2026-11-27", "", "/a", "image"): 1},
            BLOCKS: {("2026-11-27", "KP", "geoblock.deny"): 4},
        }
    )
    await store.add({VIEWS: {("2026-11-27", "DE", "/", "blocked"): 3}})
    await store.add({VIEWS: {("2026-11-28", "FR", "/", "allowed"): 1}})
    assert await store.rows(VIEWS, Filter()) == [
        ("2026-11-27", "", "/a", "image", 1),
        ("2026-11-27", "DE", "/", "blocked", 5),
        ("2026-11-28", "FR", "/", "allowed", 1),
    ]
    assert await store.rows(BLOCKS, Filter()) == [("2026-11-27", "KP", "geoblock.deny", 4)]
    assert [r[0] for r in await store.rows(VIEWS, Filter(since="2026-11-28"))] == ["2026-11-28"]
    assert [r[0] for r in await store.rows(VIEWS, Filter(until="2026-11-28"))] == ["2026-11-27"] * 2
    assert [r[3] for r in await store.rows(VIEWS, Filter(country="de"))] == ["blocked"]


async def test_sqlite_shares_the_consent_logs_file(tmp_path: Path, policy_file) -> None:
    policy = load_policy(policy_file('audit: {store: "sqlite:///consent.db"}'))
    store = open_counter_store(policy.audit.store)
    await store.add({BLOCKS: {("2026-11-27", "DE", "r"): 1}})
    log = ConsentLog.from_policy(policy)
    try:
        report = await log.verify()  # the log opens the same file and is content with it
        assert report.ok
    finally:
        await log.close()
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "consent.db").execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    assert {"test_blocks", "records"} <= tables


_WRITER = """
import asyncio, sys
from gatekeeper.counters import Table, open_counter_store
table = Table("test_blocks", ("day", "country", "rule"))
store = open_counter_store(sys.argv[1])
async def main():
    for _ in range(25):
        await store.add({table: {("2026-11-27", "DE", "r"): 1, ("2026-11-27", "FR", "r"): 2}})
asyncio.run(main())
"""


async def test_processes_writing_one_sqlite_file_add_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'consent.db'}"
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, url], cwd=REPO) for _ in range(4)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    rows = await open_counter_store(url).rows(BLOCKS, Filter())
    assert rows == [("2026-11-27", "DE", "r", 100), ("2026-11-27", "FR", "r", 200)]


async def test_read_only_stores_refuse_a_missing_file(tmp_path: Path) -> None:
    store = open_counter_store(f"sqlite:///{tmp_path / 'nope.db'}", create=False)
    with pytest.raises(StoreUnavailable, match="no database"):
        await store.rows(VIEWS, Filter())
    with pytest.raises(StoreUnavailable):
        await store.add({VIEWS: {("2026-11-27", "DE", "/", "allowed"): 1}})
    assert not (tmp_path / "nope.db").exists()


def test_store_urls_and_tables() -> None:
    with pytest.raises(ValueError):
        open_counter_store("sqlite:///")
    with pytest.raises(ValueError, match="use sqlite"):
        open_counter_store("mysql://u:secret@h/db")
    with pytest.raises(ValueError, match="schema"):
        open_counter_store("postgresql://h/db?schema=Bad-Name")
    for bad in (("country", "day"), ("day", "country", "x; DROP")):
        with pytest.raises(ValueError):
            Table("t", bad)


async def test_postgres_counts_add_up_across_instances(pg_url: str) -> None:
    first, second = open_counter_store(pg_url), open_counter_store(pg_url)
    assert await first.rows(VIEWS, Filter()) == []
    key = ("2026-11-27", "DE", "/", "blocked")
    await asyncio.gather(
        first.add({VIEWS: {key: 2}, BLOCKS: {("2026-11-27", "DE", "r"): 1}}),
        second.add({VIEWS: {key: 3}}),
    )
    await first.add({VIEWS: {("2026-11-28", "FR", "/a", "image"): 1}})
    assert await second.rows(VIEWS, Filter()) == [
        ("2026-11-27", "DE", "/", "blocked", 5),
        ("2026-11-28", "FR", "/a", "image", 1),
    ]
    assert await first.rows(VIEWS, Filter(country="fr", since="2026-11-28")) == [
        ("2026-11-28", "FR", "/a", "image", 1)
    ]
    assert await second.rows(BLOCKS, Filter()) == [("2026-11-27", "DE", "r", 1)]


async def test_postgres_down_is_store_unavailable() -> None:
    pytest.importorskip("asyncpg")
    store = open_counter_store("postgresql://nobody@127.0.0.1:9/none")
    with pytest.raises(StoreUnavailable):
        await store.rows(VIEWS, Filter())
