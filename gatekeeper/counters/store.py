"""Where counters live: tables of aggregates in the consent log's database
(`policy.audit.store`, SQLite or PostgreSQL), one table per kind of count.

A table's rows are (key columns..., count). Writes add to the stored count (an upsert),
so every process and host writing to one database adds up, and one batch is one
transaction: a worker killed mid-write leaves the batch written whole or not at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StoreUnavailable(Exception):
    """The counts cannot be read or written right now."""


@dataclass(frozen=True, slots=True)
class Table:
    """A table of counts: its name and key columns, `day` and `country` first."""

    name: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.columns[:2] != ("day", "country") or not all(
            _NAME.match(n) for n in (self.name, *self.columns)
        ):
            raise ValueError(f"counter table {self.name!r}: bad name or columns")

    @property
    def create(self) -> str:
        keys = ", ".join(f"{c} TEXT NOT NULL" for c in self.columns)
        return (
            f"CREATE TABLE IF NOT EXISTS {self.name} ({keys}, count BIGINT NOT NULL, "
            f"PRIMARY KEY ({', '.join(self.columns)}))"
        )

    def upsert(self, marks: Sequence[str]) -> str:
        columns = ", ".join(self.columns)
        return (
            f"INSERT INTO {self.name} ({columns}, count) VALUES ({', '.join(marks)}) "
            f"ON CONFLICT ({columns}) DO UPDATE SET count = {self.name}.count + excluded.count"
        )

    def select(self, condition: str) -> str:
        columns = ", ".join(self.columns)
        order = ", ".join(str(i + 1) for i in range(len(self.columns)))
        return (
            f"SELECT {columns}, SUM(count) FROM {self.name} WHERE {condition} "
            f"GROUP BY {order} ORDER BY {order}"
        )


Key = tuple[str, ...]
Batch = Mapping[Table, Mapping[Key, int]]
Row = tuple[Any, ...]
"""The key columns, then the count."""


@dataclass(frozen=True, slots=True)
class Filter:
    since: str | None = None  # day, inclusive
    until: str | None = None  # day, exclusive
    country: str | None = None

    def where(self, mark: str) -> tuple[str, list[Any]]:
        parts: list[str] = []
        args: list[Any] = []
        for column, op, value in (
            ("day", ">=", self.since),
            ("day", "<", self.until),
            ("country", "=", self.country.upper() if self.country else None),
        ):
            if value is not None:
                args.append(value)
                parts.append(f"{column} {op} {mark.format(len(args))}")
        return " AND ".join(parts) or "1 = 1", args


class CounterStore(Protocol):
    @property
    def display_url(self) -> str: ...

    async def add(self, batch: Batch) -> None:
        """Add these counts, all in one transaction; raises StoreUnavailable."""

    async def rows(self, table: Table, where: Filter) -> list[Row]:
        """The stored counts of a table, summed per key, in key order."""


# --- SQLite -----------------------------------------------------------------------------


class SQLiteCounterStore:
    """Plain sqlite3 in a worker thread, a connection per batch: writes come every few
    seconds at most, and a fresh connection never outlives the thread that made it."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self.create = create

    @property
    def display_url(self) -> str:
        return f"sqlite:///{self.path}"

    def _connect(self, *, write: bool) -> sqlite3.Connection:
        if write and self.create:
            return sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        if not self.path.is_file():
            raise StoreUnavailable(f"no database at {self.path}")
        mode = "rw" if write else "ro"
        return sqlite3.connect(
            f"file:{quote(str(self.path))}?mode={mode}", uri=True, isolation_level=None,
            timeout=10.0,
        )  # fmt: skip

    def _add(self, batch: Batch) -> None:
        conn = self._connect(write=True)
        try:
            # One writer at a time across processes (BEGIN IMMEDIATE waits for the lock).
            conn.execute("BEGIN IMMEDIATE")
            for table, counts in batch.items():
                conn.execute(table.create)
                marks = ["?"] * (len(table.columns) + 1)
                conn.executemany(table.upsert(marks), [(*k, n) for k, n in counts.items()])
            conn.execute("COMMIT")
        finally:
            conn.close()

    def _rows(self, table: Table, where: Filter) -> list[Row]:
        if self.create and not self.path.is_file():
            return []  # nothing written yet
        conn = self._connect(write=False)
        try:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,)
            ).fetchone()
            if not exists:
                return []
            condition, args = where.where("?")
            return [(*r[:-1], int(r[-1])) for r in conn.execute(table.select(condition), args)]
        finally:
            conn.close()

    async def add(self, batch: Batch) -> None:
        try:
            await asyncio.to_thread(self._add, batch)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"{self.display_url}: {exc}") from exc

    async def rows(self, table: Table, where: Filter) -> list[Row]:
        try:
            return await asyncio.to_thread(self._rows, table, where)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"{self.display_url}: {exc}") from exc


# --- PostgreSQL -------------------------------------------------------------------------


def _split(url: str) -> tuple[str, str]:
    """The DSN without ?schema=, and the schema (as the consent log reads the same URL)."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in params if k == "schema"), "public")
    if not _NAME.match(schema):
        raise ValueError(f"audit.store: schema {schema!r} must be lower-case letters, digits, _")
    rest = urlencode([(k, v) for k, v in params if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


class PostgresCounterStore:
    """asyncpg, one short connection per batch or query: a few statements every few
    seconds do not justify a pool that would belong to one event loop."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        import asyncpg  # the optional `postgres` extra; checked by open_counter_store

        self._asyncpg = asyncpg
        self.url = url
        self.dsn, self.schema = _split(url)
        self.timeout = timeout
        digest = hashlib.sha256(f"gatekeeper counters {self.schema}".encode()).digest()
        self._lock = int.from_bytes(digest[:8], "big", signed=True)

    @property
    def display_url(self) -> str:
        return hide_password(self.url)

    async def _connect(self) -> Any:
        return await self._asyncpg.connect(
            self.dsn, timeout=self.timeout, server_settings={"search_path": self.schema}
        )

    def _failures(self) -> tuple[type[BaseException], ...]:
        pg = self._asyncpg
        return (OSError, TimeoutError, pg.PostgresError, pg.InterfaceError)

    async def add(self, batch: Batch) -> None:
        try:
            conn = await self._connect()
            try:
                async with conn.transaction():
                    # Workers starting together would race on CREATE TABLE IF NOT EXISTS;
                    # the lock also orders batches, so concurrent upserts never deadlock.
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", self._lock)
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                    for table, counts in batch.items():
                        await conn.execute(table.create)
                        marks = [f"${i + 1}" for i in range(len(table.columns) + 1)]
                        await conn.executemany(
                            table.upsert(marks), [(*k, n) for k, n in sorted(counts.items())]
                        )
            finally:
                await conn.close()
        except self._failures() as exc:
            raise StoreUnavailable(f"{self.display_url}: {exc}") from exc

    async def rows(self, table: Table, where: Filter) -> list[Row]:
        try:
            conn = await self._connect()
            try:
                found = await conn.fetchval(
                    "SELECT to_regclass($1)", f'"{self.schema}".{table.name}'
                )
                if found is None:
                    return []
                condition, args = where.where("${}")
                records = await conn.fetch(table.select(condition), *args)
            finally:
                await conn.close()
        except self._failures() as exc:
            raise StoreUnavailable(f"{self.display_url}: {exc}") from exc
        return [(*r[:-1], int(r[-1])) for r in records]


def open_counter_store(url: str, *, create: bool = True) -> CounterStore:
    """The counter store in the database of `policy.audit.store` (no I/O until used).

    `create=False` (the CLI) refuses to create a SQLite file that is not there.
    """
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path in ("", ":memory:"):
            raise ValueError("audit.store: use a file: sqlite:///PATH")
        return SQLiteCounterStore(Path(path), create=create)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            return PostgresCounterStore(url)
        except ImportError:
            raise ValueError(
                "audit.store is PostgreSQL but asyncpg is not installed: "
                "pip install 'gatekeeper[postgres]'"
            ) from None
    raise ValueError(f"audit.store {hide_password(url)!r}: use sqlite:///PATH or postgresql://")
