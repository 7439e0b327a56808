"""Where adblock counts live: a table of their own, `adblock_verdicts`, in the consent
log's database (`policy.audit.store`, SQLite or PostgreSQL), created by this module.

The rows are aggregates only, (day, country, path group, kind) -> count, where a kind is
a verdict (blocked, allowed, unknown, and no_js in rows of earlier versions) or an event
(opened, image, judged_image; see detector.py): no view id, address or time of day is
kept, so they need no retention rules of their own. Writes add to the stored count, so
every process and host writing to one database adds up.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

Key = tuple[str, str, str, str]
"""(day, country, path group, kind)"""

TABLE = "adblock_verdicts"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "day TEXT NOT NULL, country TEXT NOT NULL, path_group TEXT NOT NULL, "
    "verdict TEXT NOT NULL, count BIGINT NOT NULL, "
    "PRIMARY KEY (day, country, path_group, verdict))"
)
_UPSERT = (
    f"INSERT INTO {TABLE} (day, country, path_group, verdict, count) VALUES ({{}}) "
    f"ON CONFLICT (day, country, path_group, verdict) "
    f"DO UPDATE SET count = {TABLE}.count + excluded.count"
)
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StoreUnavailable(Exception):
    """The verdict counts cannot be read or written right now."""


@dataclass(frozen=True, slots=True)
class VerdictRow:
    day: str
    country: str
    group: str
    verdict: str
    count: int


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


class VerdictStore(Protocol):
    @property
    def display_url(self) -> str: ...

    async def add(self, counts: Mapping[Key, int]) -> None:
        """Add these counts; raises StoreUnavailable."""

    async def rows(self, where: Filter) -> list[VerdictRow]:
        """The stored counts, ordered by day, country, path group, verdict."""


# --- SQLite -----------------------------------------------------------------------------


class SQLiteVerdictStore:
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
            return sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
        if not self.path.is_file():
            raise StoreUnavailable(f"no database at {self.path}")
        mode = "rw" if write else "ro"
        return sqlite3.connect(
            f"file:{quote(str(self.path))}?mode={mode}", uri=True, isolation_level=None,
            timeout=5.0,
        )  # fmt: skip

    def _add(self, counts: Mapping[Key, int]) -> None:
        conn = self._connect(write=True)
        try:
            conn.execute(_CREATE)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                _UPSERT.format("?, ?, ?, ?, ?"), [(*key, n) for key, n in counts.items()]
            )
            conn.execute("COMMIT")
        finally:
            conn.close()

    def _rows(self, where: Filter) -> list[VerdictRow]:
        if self.create and not self.path.is_file():
            return []  # nothing written yet
        conn = self._connect(write=False)
        try:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
            ).fetchone()
            if not exists:
                return []
            condition, args = where.where("?")
            rows = conn.execute(
                f"SELECT day, country, path_group, verdict, SUM(count) FROM {TABLE} "
                f"WHERE {condition} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
                args,
            )
            return [VerdictRow(d, c, g, v, int(n)) for d, c, g, v, n in rows]
        finally:
            conn.close()

    async def add(self, counts: Mapping[Key, int]) -> None:
        try:
            await asyncio.to_thread(self._add, counts)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"{self.display_url}: {exc}") from exc

    async def rows(self, where: Filter) -> list[VerdictRow]:
        try:
            return await asyncio.to_thread(self._rows, where)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"{self.display_url}: {exc}") from exc


# --- PostgreSQL -------------------------------------------------------------------------


def _split(url: str) -> tuple[str, str]:
    """The DSN without ?schema=, and the schema (as the consent log reads the same URL)."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in params if k == "schema"), "public")
    if not _SCHEMA.match(schema):
        raise ValueError(f"audit.store: schema {schema!r} must be lower-case letters, digits, _")
    rest = urlencode([(k, v) for k, v in params if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


class PostgresVerdictStore:
    """asyncpg, one short connection per batch or query: a few statements every few
    seconds do not justify a pool that would belong to one event loop."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        import asyncpg  # the optional `postgres` extra; checked by open_store

        self._asyncpg = asyncpg
        self.url = url
        self.dsn, self.schema = _split(url)
        self.timeout = timeout
        digest = hashlib.sha256(f"gatekeeper adblock {self.schema}".encode()).digest()
        self._lock = int.from_bytes(digest[:8], "big", signed=True)

    @property
    def display_url(self) -> str:
        return _hide_password(self.url)

    async def _connect(self) -> Any:
        return await self._asyncpg.connect(
            self.dsn, timeout=self.timeout, server_settings={"search_path": self.schema}
        )

    def _failures(self) -> tuple[type[BaseException], ...]:
        pg = self._asyncpg
        return (OSError, TimeoutError, pg.PostgresError, pg.InterfaceError)

    async def add(self, counts: Mapping[Key, int]) -> None:
        try:
            conn = await self._connect()
            try:
                async with conn.transaction():
                    # Workers starting together would race on CREATE TABLE IF NOT EXISTS.
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", self._lock)
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                    await conn.execute(_CREATE)
                    await conn.executemany(
                        _UPSERT.format("$1, $2, $3, $4, $5"),
                        [(*key, n) for key, n in sorted(counts.items())],
                    )
            finally:
                await conn.close()
        except self._failures() as exc:
            raise StoreUnavailable(f"{self.display_url}: {exc}") from exc

    async def rows(self, where: Filter) -> list[VerdictRow]:
        try:
            conn = await self._connect()
            try:
                found = await conn.fetchval("SELECT to_regclass($1)", f'"{self.schema}".{TABLE}')
                if found is None:
                    return []
                condition, args = where.where("${}")
                records = await conn.fetch(
                    f"SELECT day, country, path_group, verdict, SUM(count) FROM {TABLE} "
                    f"WHERE {condition} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
                    *args,
                )
            finally:
                await conn.close()
        except self._failures() as exc:
            raise StoreUnavailable(f"{self.display_url}: {exc}") from exc
        return [VerdictRow(r[0], r[1], r[2], r[3], int(r[4])) for r in records]


def open_store(url: str, *, create: bool = True) -> VerdictStore:
    """The verdict store in the database of `policy.audit.store` (no I/O until used).

    `create=False` (the CLI) refuses to create a SQLite file that is not there.
    """
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path in ("", ":memory:"):
            raise ValueError("audit.store: use a file: sqlite:///PATH")
        return SQLiteVerdictStore(Path(path), create=create)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            return PostgresVerdictStore(url)
        except ImportError:
            raise ValueError(
                "audit.store is PostgreSQL but asyncpg is not installed: "
                "pip install 'gatekeeper[postgres]'"
            ) from None
    raise ValueError(f"audit.store {_hide_password(url)!r}: use sqlite:///PATH or postgresql://")
