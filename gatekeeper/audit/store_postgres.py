"""The PostgreSQL store, for several app instances writing one log (asyncpg).

Instances append to one chain: each append transaction takes a transaction-scoped
advisory lock, reads the chain head, inserts and moves the head, so the chain is
serialised across instances while reads never wait. Within one instance, appends that
arrive while a transaction is running are gathered into the next one (group commit, as
in the SQLite store). A retried append whose event id is already stored is skipped under
the same lock, and the UNIQUE constraint backs that up.

The URL may carry `?schema=NAME` to keep the log in its own PostgreSQL schema (created
if missing); the lock key is derived from it, so logs in different schemas never wait
for each other.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from .chain import ChainState, extend, seal
from .checkpoint import Checkpoint, Checkpointer
from .declaration import Declaration, declare
from .migrations import SCHEMA_VERSION_TABLE, pending
from .outbox_postgres import FAILURES as _FAILURES
from .outbox_postgres import PostgresOutbox
from .record import Draft, Record, iso
from .store import (
    CHECKPOINT_COLUMNS,
    DECLARATION_COLUMNS,
    RECORD_COLUMNS,
    ArchivedTexts,
    Head,
    LogUnavailable,
    Query,
    StatsRow,
    checkpoint_row,
    declaration_row,
    display,
    record_row,
    row_checkpoint,
    row_declaration,
    row_record,
)

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _placeholder(n: int) -> str:
    return f"${n}"


def _marks(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))


async def _head(conn: asyncpg.Connection) -> ChainState:
    row = await conn.fetchrow("SELECT size, chain, frontier FROM head WHERE id = 1")
    return ChainState.restore(int(row[0]), row[1], json.loads(row[2]))


def _lock_key(schema: str, purpose: str) -> int:
    digest = hashlib.sha256(f"gatekeeper audit {purpose} {schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def split_url(url: str) -> tuple[str, str]:
    """The DSN for asyncpg and the schema named by ?schema= (default: public)."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in params if k == "schema"), "public")
    if not _SCHEMA.match(schema):
        raise ValueError(f"audit.store: schema {schema!r} must be lower-case letters, digits, _")
    rest = urlencode([(k, v) for k, v in params if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


class PostgresStore(PostgresOutbox):
    def __init__(
        self,
        url: str,
        checkpointer: Checkpointer,
        *,
        outbox: bool = False,
        max_batch: int = 1000,
        connect_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.dsn, self.schema = split_url(url)
        self.checkpointer = checkpointer
        self.outbox = outbox
        self.max_batch = max_batch
        self.connect_timeout = connect_timeout
        self.log_id = ""
        self._chain_lock = _lock_key(self.schema, "chain")
        # asyncpg pools belong to the loop that made them; one is opened per loop lazily.
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None
        self._pending: list[tuple[Draft, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self.declared = False  # this process has checked the log declares its rules

    @property
    def display_url(self) -> str:
        return display(self.url)

    def _unavailable(self, exc: BaseException) -> LogUnavailable:
        error = LogUnavailable(f"consent log {self.display_url}: {exc}")
        error.__cause__ = exc
        return error

    async def _ready(self) -> asyncpg.Pool:
        if self._closed:
            raise LogUnavailable("the consent log is closed")
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._pool, self._opening = loop, None, asyncio.Lock()
            self._pending, self._flusher = [], None
        assert self._opening is not None
        async with self._opening:
            if self._pool is None:
                try:
                    pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=1,
                        max_size=4,
                        timeout=self.connect_timeout,
                        command_timeout=30,
                        server_settings={"search_path": self.schema},
                    )
                except _FAILURES as exc:
                    raise self._unavailable(exc) from exc
                try:
                    async with pool.acquire() as conn:
                        await self._migrate(conn)
                except _FAILURES as exc:
                    await pool.close()
                    raise self._unavailable(exc) from exc
                self._pool = pool
        assert self._pool is not None
        return self._pool

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        key = _lock_key(self.schema, "migrate")
        await conn.execute("SELECT pg_advisory_lock($1)", key)
        try:
            async with conn.transaction():
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                await conn.execute(SCHEMA_VERSION_TABLE["postgres"])
                current = await conn.fetchval(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_version"
                )
                for migration in pending(int(current)):
                    for statement in migration.postgres:
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO schema_version VALUES ($1, $2, $3)",
                        migration.version,
                        migration.description,
                        iso(datetime.now(UTC)),
                    )
                await conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('log_id', $1) ON CONFLICT DO NOTHING",
                    uuid.uuid4().hex,
                )
            self.log_id = await conn.fetchval("SELECT value FROM meta WHERE key = 'log_id'")
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", key)

    # --- appends: group commit per instance, one chain across instances ---------------

    async def append(self, draft: Draft) -> None:
        await self._ready()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((draft, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                pool = self._pool
                if pool is None:
                    raise LogUnavailable("the consent log is closed")
                async with pool.acquire() as conn, conn.transaction():
                    await self._insert(conn, [draft for draft, _ in batch])
            except (LogUnavailable, *_FAILURES) as exc:
                self.declared = False  # rolled back with the batch, if it was written
                error = exc if isinstance(exc, LogUnavailable) else self._unavailable(exc)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                raise
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _insert(self, conn: asyncpg.Connection, drafts: list[Draft]) -> None:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", self._chain_lock)
        rows = await conn.fetch(
            "SELECT event_id FROM records WHERE event_id = ANY($1::text[])",
            [d.event_id for d in drafts],
        )
        seen = {row[0] for row in rows}
        fresh: list[Draft] = []
        for draft in drafts:
            if draft.event_id not in seen:
                seen.add(draft.event_id)
                fresh.append(draft)
        if not fresh:
            return
        state = await _head(conn)
        await self._declare(conn, state.size)
        newest = await conn.fetchval("SELECT COALESCE(MAX(size), 0) FROM checkpoints")
        records, checkpoints = seal(fresh, state, self.log_id, self.checkpointer, int(newest))
        await conn.executemany(
            f"INSERT INTO records ({RECORD_COLUMNS}) VALUES ({_marks(23)})",
            [record_row(r) for r in records],
        )
        await conn.execute(
            "UPDATE head SET size = $1, chain = $2, frontier = $3 WHERE id = 1",
            state.size,
            state.head.hex(),
            json.dumps(state.frontier_hex()),
        )
        if checkpoints:
            await conn.executemany(
                f"INSERT INTO checkpoints ({CHECKPOINT_COLUMNS}) VALUES ({_marks(8)})",
                [checkpoint_row(c) for c in checkpoints],
            )
        if self.outbox:
            queued = iso(datetime.now(UTC))
            await conn.executemany(
                "INSERT INTO outbox (seq, queued_at) VALUES ($1, $2)",
                [(r.seq, queued) for r in records],
            )

    async def _declare(self, conn: asyncpg.Connection, size: int) -> None:
        """Under the chain lock: add a declaration when the policy's rules changed."""
        if self.declared:
            return
        row = await conn.fetchrow(
            f"SELECT {DECLARATION_COLUMNS} FROM declarations ORDER BY start DESC LIMIT 1"
        )
        newest = row_declaration(self.log_id, tuple(row)) if row else None
        made = declare(newest, self.checkpointer, self.log_id, size, iso(datetime.now(UTC)))
        if made is not None:
            await conn.execute(
                f"INSERT INTO declarations ({DECLARATION_COLUMNS}) VALUES ({_marks(6)}) "
                "ON CONFLICT (start) DO UPDATE SET time = excluded.time, "
                "checkpoint_every = excluded.checkpoint_every, "
                "interval_ms = excluded.interval_ms, key_id = excluded.key_id, "
                "signature = excluded.signature",
                *declaration_row(made),
            )
        self.declared = True

    async def sign_checkpoint(self, now: str, due: str | None) -> Checkpoint | None:
        if due is not None:
            # Most calls find nothing due: one read answers that without taking the lock.
            newest = await self.newest_checkpoint()
            if newest is not None and newest.time > due:
                return None
        pool = await self._ready()
        try:
            async with pool.acquire() as conn, conn.transaction():
                # The appenders' lock: the head cannot move while this runs, and a second
                # instance waiting here finds the new checkpoint and signs nothing.
                await conn.execute("SELECT pg_advisory_xact_lock($1)", self._chain_lock)
                return await self._sign(conn, now, due)
        except _FAILURES as exc:
            self.declared = False
            raise self._unavailable(exc) from exc

    async def _sign(self, conn: asyncpg.Connection, now: str, due: str | None) -> Checkpoint | None:
        row = await conn.fetchrow(
            f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1"
        )
        newest = row_checkpoint(self.log_id, tuple(row)) if row else None
        head = await _head(conn)
        if newest is not None:
            if newest.size >= head.size or (due is not None and newest.time > due):
                return None
        elif head.size == 0:
            return None
        await self._declare(conn, head.size)
        rows = await conn.fetch(
            f"SELECT {RECORD_COLUMNS} FROM records WHERE seq >= $1 ORDER BY seq",
            newest.size if newest else 0,
        )
        records = [row_record(tuple(r)) for r in rows]
        checkpoint = extend(newest, head, records, self.log_id, self.checkpointer, now)
        if checkpoint is not None:
            await conn.execute(
                f"INSERT INTO checkpoints ({CHECKPOINT_COLUMNS}) VALUES ({_marks(8)})",
                *checkpoint_row(checkpoint),
            )
        return checkpoint

    # --- everything else -------------------------------------------------------------

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        pool = await self._ready()
        try:
            return await pool.fetch(sql, *args)
        except _FAILURES as exc:
            raise self._unavailable(exc) from exc

    async def _execute(self, sql: str, *args: Any) -> str:
        pool = await self._ready()
        try:
            return await pool.execute(sql, *args)
        except _FAILURES as exc:
            raise self._unavailable(exc) from exc

    async def archive_texts(self, hash: str, revision: str, language: str, text: str) -> None:
        now = iso(datetime.now(UTC))
        pool = await self._ready()
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO texts (hash, texts, archived_at) VALUES ($1, $2, $3) "
                    "ON CONFLICT DO NOTHING",
                    hash,
                    text,
                    now,
                )
                await conn.execute(
                    "INSERT INTO texts_shown (hash, revision, language, first_seen) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    hash,
                    revision,
                    language,
                    now,
                )
        except _FAILURES as exc:
            raise self._unavailable(exc) from exc

    async def head(self) -> Head:
        # One statement, one snapshot: the head and the records it counts agree.
        rows = await self._fetch(
            "SELECT size, chain, frontier, (SELECT COALESCE(MAX(seq) + 1, 0) FROM records) "
            "FROM head WHERE id = 1"
        )
        size, chain, frontier, end = rows[0]
        return Head(self.log_id, int(size), chain, tuple(json.loads(frontier)), int(end))

    async def records(
        self, query: Query, *, after: int = -1, before: int | None = None, limit: int = 1000
    ) -> list[Record]:
        args: list[Any] = [after]
        bound = ""
        if before is not None:
            args.append(before)
            bound = f" AND seq < ${len(args)}"
        where, more = query.where(_placeholder, start=len(args) + 1)
        args += more
        args.append(limit)
        rows = await self._fetch(
            f"SELECT {RECORD_COLUMNS} FROM records WHERE seq > $1{bound} AND {where} "
            f"ORDER BY seq LIMIT ${len(args)}",
            *args,
        )
        return [row_record(tuple(row)) for row in rows]

    async def seq_range(self, query: Query) -> tuple[int, int, int] | None:
        where, args = query.where(_placeholder)
        rows = await self._fetch(
            f"SELECT MIN(seq), MAX(seq), COUNT(*) FROM records WHERE {where}", *args
        )
        low, high, count = rows[0]
        return None if count == 0 else (int(low), int(high), int(count))

    async def checkpoints(self) -> list[Checkpoint]:
        rows = await self._fetch(f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size")
        return [row_checkpoint(self.log_id, tuple(row)) for row in rows]

    async def newest_checkpoint(self) -> Checkpoint | None:
        rows = await self._fetch(
            f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1"
        )
        return row_checkpoint(self.log_id, tuple(rows[0])) if rows else None

    async def declarations(self) -> list[Declaration]:
        rows = await self._fetch(f"SELECT {DECLARATION_COLUMNS} FROM declarations ORDER BY start")
        return [row_declaration(self.log_id, tuple(row)) for row in rows]

    async def leaves(self, after: int, before: int, limit: int = 10000) -> list[tuple[int, str]]:
        rows = await self._fetch(
            "SELECT seq, leaf FROM records WHERE seq > $1 AND seq < $2 ORDER BY seq LIMIT $3",
            after,
            before,
            limit,
        )
        return [(int(seq), leaf) for seq, leaf in rows]

    async def meta(self, key: str) -> str | None:
        rows = await self._fetch("SELECT value FROM meta WHERE key = $1", key)
        return rows[0][0] if rows else None

    async def swap_meta(self, key: str, old: str | None, new: str) -> bool:
        if old is None:
            status = await self._execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING", key, new
            )
        else:
            status = await self._execute(
                "UPDATE meta SET value = $3 WHERE key = $1 AND value = $2", key, old, new
            )
        return status.split()[-1] == "1"

    async def stats(self, query: Query) -> list[StatsRow]:
        where, args = query.where(_placeholder)
        rows = await self._fetch(
            "SELECT substr(time, 1, 10), mode, event, categories, COUNT(*) FROM records "
            f"WHERE {where} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3",
            *args,
        )
        return [StatsRow(d, m, e, json.loads(c), int(n)) for d, m, e, c, n in rows]

    async def texts(self, hashes: Sequence[str] | None = None) -> list[ArchivedTexts]:
        if hashes is None:
            found = await self._fetch("SELECT hash, texts FROM texts ORDER BY archived_at, hash")
        else:
            found = await self._fetch(
                "SELECT hash, texts FROM texts WHERE hash = ANY($1::text[])", list(hashes)
            )
        shown: dict[str, list[tuple[str, str, str]]] = {}
        for hash, revision, language, first in await self._fetch(
            "SELECT hash, revision, language, first_seen FROM texts_shown "
            "ORDER BY first_seen, revision, language"
        ):
            shown.setdefault(hash, []).append((revision, language, first))
        return [ArchivedTexts(h, json.loads(t), tuple(shown.get(h, ())), t) for h, t in found]

    async def purge(self, before: str, now: str) -> int:
        status = await self._execute(
            "UPDATE records SET consent_id = NULL, country = NULL, subdivision = NULL, "
            "ip = NULL, user_agent = NULL, path = NULL, salt = NULL, purged_at = $1 "
            "WHERE time < $2 AND salt IS NOT NULL",
            now,
            before,
        )
        count = int(status.split()[-1])
        if count:
            # Old row versions keep the erased values until vacuumed.
            await self._execute("VACUUM records")
        return count

    async def close(self) -> None:
        self._closed = True
        if self._flusher is not None and not self._flusher.done():
            await asyncio.gather(self._flusher, return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is not None:
            if self._loop is asyncio.get_running_loop():
                await pool.close()
            else:
                pool.terminate()
