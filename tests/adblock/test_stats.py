"""Verdict counts in the consent log's database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatekeeper.adblock.stats import VerdictCounts, path_group
from gatekeeper.adblock.store import (
    Filter,
    SQLiteVerdictStore,
    StoreUnavailable,
    VerdictRow,
    open_store,
)
from gatekeeper.audit import ConsentLog
from gatekeeper.policy import load_policy
from tests.conftest import require

PG_DSN = os.environ.get("GATEKEEPER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def key(
    kind: str, day: str = "2026-11-27", country: str = "DE", group: str = "/"
) -> tuple[str, str, str, str]:
    return (day, country, group, kind)


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/", "/"),
        ("", "/"),
        ("/articles/lock-reopens", "/articles"),
        ("/articles/", "/articles"),
        ("/privacy", "/privacy"),
        ("//double", "/double"),
        ("/" + "x" * 200, "/" + "x" * 63),
    ],
)
def test_path_group(path: str, group: str) -> None:
    assert path_group(path) == group


async def test_sqlite_counts_add_up(tmp_path: Path) -> None:
    store = SQLiteVerdictStore(tmp_path / "consent.db")
    assert await store.rows(Filter()) == []  # created on first write, empty until then
    await store.add({("2026-11-27", "DE", "/", "blocked"): 2, ("2026-11-27", "", "/a", "no_js"): 1})
    await store.add(
        {("2026-11-27", "DE", "/", "blocked"): 3, ("2026-11-28", "FR", "/", "allowed"): 1}
    )
    assert await store.rows(Filter()) == [
        VerdictRow("2026-11-27", "", "/a", "no_js", 1),
        VerdictRow("2026-11-27", "DE", "/", "blocked", 5),
        VerdictRow("2026-11-28", "FR", "/", "allowed", 1),
    ]
    assert [r.day for r in await store.rows(Filter(since="2026-11-28"))] == ["2026-11-28"]
    assert [r.day for r in await store.rows(Filter(until="2026-11-28"))] == ["2026-11-27"] * 2
    assert [r.verdict for r in await store.rows(Filter(country="de"))] == ["blocked"]


async def test_sqlite_shares_the_consent_logs_file(tmp_path: Path, policy_file) -> None:
    policy = load_policy(policy_file('audit: {store: "sqlite:///consent.db"}'))
    store = open_store(policy.audit.store)
    await store.add({("2026-11-27", "DE", "/", "allowed"): 1})
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
    assert {"adblock_verdicts", "records"} <= tables


async def test_read_only_stores_refuse_a_missing_file(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'nope.db'}", create=False)
    with pytest.raises(StoreUnavailable, match="no database"):
        await store.rows(Filter())
    with pytest.raises(StoreUnavailable):
        await store.add({("2026-11-27", "DE", "/", "allowed"): 1})
    assert not (tmp_path / "nope.db").exists()


def test_store_urls() -> None:
    with pytest.raises(ValueError):
        open_store("sqlite:///")
    with pytest.raises(ValueError, match="use sqlite"):
        open_store("mysql://u:secret@h/db")
    with pytest.raises(ValueError, match="schema"):
        open_store("postgresql://h/db?schema=Bad-Name")


class FlakyStore:
    def __init__(self) -> None:
        self.fail = True
        self.written: list[dict[tuple[str, str, str, str], int]] = []

    @property
    def display_url(self) -> str:
        return "flaky://"

    async def add(self, counts) -> None:  # type: ignore[no-untyped-def]
        if self.fail:
            raise StoreUnavailable("disk full")
        self.written.append(dict(counts))

    async def rows(self, where: Filter) -> list[VerdictRow]:
        return []


async def test_counts_are_batched_and_kept_when_the_store_fails(caplog) -> None:
    store = FlakyStore()
    counts = VerdictCounts(store, interval=0.01)
    counts.add(key("blocked"))
    counts.add(key("blocked"))
    counts.add(key("allowed", country="FR"))
    await asyncio.sleep(0.05)
    assert store.written == []
    assert "will retry" in caplog.text
    store.fail = False  # the store comes back: the retry writes without a new verdict
    await asyncio.sleep(0.05)
    assert store.written == [
        {("2026-11-27", "DE", "/", "blocked"): 2, ("2026-11-27", "FR", "/", "allowed"): 1}
    ]
    counts.add(key("allowed"))
    counts.add(key("allowed"), -1)  # a view that moved back: nothing to write
    await counts.close()
    assert len(store.written) == 1


async def test_close_gives_up_on_a_store_that_is_down(caplog) -> None:
    counts = VerdictCounts(FlakyStore(), interval=3600)
    counts.add(key("opened"))
    await counts.close()
    assert counts.pending == {}
    assert "1 adblock counts lost at shutdown" in caplog.text


async def test_close_writes_what_is_pending() -> None:
    store = FlakyStore()
    store.fail = False
    counts = VerdictCounts(store, interval=3600)
    counts.add(key("image"))
    await counts.close()
    assert store.written == [{("2026-11-27", "DE", "/", "image"): 1}]


async def test_pending_counts_are_bounded() -> None:
    counts = VerdictCounts(None, max_keys=3)
    for n in range(10):
        counts.add(key("opened", group=f"/{n}"))
    assert len(counts.pending) == 3


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    try:
        import asyncpg
    except ImportError:
        require(False, "asyncpg is not installed (pip install 'gatekeeper[postgres]')")
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        require(False, f"PostgreSQL not reachable at {PG_DSN}: {exc}")
    schema = f"gk_adblock_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG_DSN}?schema={schema}"
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


async def test_postgres_counts_add_up_across_instances(pg_url: str) -> None:
    first, second = open_store(pg_url), open_store(pg_url)
    assert await first.rows(Filter()) == []
    key = ("2026-11-27", "DE", "/", "blocked")
    await asyncio.gather(first.add({key: 2}), second.add({key: 3}))
    await first.add({("2026-11-28", "FR", "/a", "no_js"): 1})
    assert await second.rows(Filter()) == [
        VerdictRow("2026-11-27", "DE", "/", "blocked", 5),
        VerdictRow("2026-11-28", "FR", "/a", "no_js", 1),
    ]
    assert await first.rows(Filter(country="fr", since="2026-11-28")) == [
        VerdictRow("2026-11-28", "FR", "/a", "no_js", 1)
    ]


async def test_postgres_down_is_store_unavailable() -> None:
    pytest.importorskip("asyncpg")
    store = open_store("postgresql://nobody@127.0.0.1:9/none")
    with pytest.raises(StoreUnavailable):
        await store.rows(Filter())
