"""The SQLite store: one writer thread with group commit, short-lived reader connections.

Appends are committed by the writer thread (see sqlite_writer) with WAL and
synchronous=FULL, so an acknowledged consent survives a crash or power loss.

Other processes may share the file (several workers): each write transaction starts
with BEGIN IMMEDIATE and reads the chain head inside it, so chains from different
processes interleave correctly, and a time-based checkpoint checks the newest checkpoint
inside its transaction, so processes sharing the file sign one per interval between
them. Readers open their own connection per call (WAL lets them run beside the writer)
in asyncio's default thread pool.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from .chain import ChainState, extend, seal
from .checkpoint import Checkpoint, Checkpointer
from .declaration import Declaration, declare
from .migrations import SCHEMA_VERSION_TABLE, pending
from .outbox_sqlite import SQLiteOutbox
from .record import Draft, Record, iso
from .sqlite_writer import STOP, Job, Writer, insert_rows, marks, rollback
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
    record_row,
    row_checkpoint,
    row_declaration,
    row_record,
)

__all__ = ["SQLiteStore", "Writer"]

T = TypeVar("T")
_Writer = Writer  # the name tests patch


def _placeholder(_: int) -> str:
    return "?"


def _head(conn: sqlite3.Connection) -> ChainState:
    size, chain, frontier = conn.execute("SELECT size, chain, frontier FROM head").fetchone()
    return ChainState.restore(size, chain, json.loads(frontier))


def _newest(conn: sqlite3.Connection, log_id: str) -> Checkpoint | None:
    row = conn.execute(
        f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1"
    ).fetchone()
    return row_checkpoint(log_id, row) if row else None


class SQLiteStore(SQLiteOutbox):
    """The default store: a SQLite file in WAL mode, synchronous=FULL, group commit."""

    def __init__(
        self,
        path: Path,
        checkpointer: Checkpointer,
        *,
        outbox: bool = False,
        create: bool = True,
        max_batch: int = 1000,
        linger: float = 0.002,
    ) -> None:
        self.path = path
        self.checkpointer = checkpointer
        self.outbox = outbox
        self.create = create
        self.max_batch = max_batch
        self.linger = linger
        self.log_id = ""
        self._writer: Writer | None = None
        self.declared = False  # this process has checked the log declares its rules
        self._lock = threading.Lock()
        self._closed = False
        self._ready = False

    @property
    def display_url(self) -> str:
        return f"sqlite:///{self.path}"

    # --- the write connection (used only by the writer thread) -----------------------

    def connect_writer(self) -> sqlite3.Connection:
        if self.create:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
        else:
            if not self.path.is_file():
                raise sqlite3.OperationalError(f"no consent log at {self.path}")
            conn = sqlite3.connect(
                f"file:{quote(str(self.path))}?mode=rw",
                uri=True,
                isolation_level=None,
                timeout=5.0,
            )
        try:
            # Two processes opening a new log at once: switching to WAL (and migrating)
            # can answer "database is locked" at once, without waiting on the busy
            # timeout. Both steps are idempotent, so wait a little and try again.
            for attempt in range(100):
                try:
                    self._prepare(conn)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == 99:
                        raise
                    time.sleep(0.05)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise sqlite3.OperationalError(f"cannot switch to WAL (journal_mode={mode})")
        conn.execute("PRAGMA synchronous=FULL")
        # A purge must not leave erased personal data readable in free pages.
        conn.execute("PRAGMA secure_delete=ON")
        self._migrate(conn)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(SCHEMA_VERSION_TABLE["sqlite"])
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            for migration in pending(current.fetchone()[0]):
                for statement in migration.sqlite:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)",
                    (migration.version, migration.description, iso(datetime.now(UTC))),
                )
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('log_id', ?) ON CONFLICT DO NOTHING",
                (uuid.uuid4().hex,),
            )
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        self.log_id = conn.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()[0]

    # --- run by the writer thread, inside its BEGIN IMMEDIATE ------------------------

    def _declare(self, conn: sqlite3.Connection, size: int) -> None:
        if self.declared:
            return
        row = conn.execute(
            f"SELECT {DECLARATION_COLUMNS} FROM declarations ORDER BY start DESC LIMIT 1"
        ).fetchone()
        newest = row_declaration(self.log_id, row) if row else None
        made = declare(newest, self.checkpointer, self.log_id, size, iso(datetime.now(UTC)))
        if made is not None:
            conn.execute(
                f"INSERT OR REPLACE INTO declarations ({DECLARATION_COLUMNS}) VALUES ({marks(6)})",
                declaration_row(made),
            )
        self.declared = True

    def insert(self, conn: sqlite3.Connection, drafts: list[Draft]) -> None:
        """Chain and insert a batch of appends (the writer thread calls this)."""
        ids = [d.event_id for d in drafts]
        seen = {
            row[0]
            for row in conn.execute(
                f"SELECT event_id FROM records WHERE event_id IN ({marks(len(ids))})", ids
            )
        }
        fresh: list[Draft] = []
        for draft in drafts:  # a retry is a no-op, also when both copies share a batch
            if draft.event_id not in seen:
                seen.add(draft.event_id)
                fresh.append(draft)
        if not fresh:
            return
        state = _head(conn)
        self._declare(conn, state.size)
        newest = conn.execute("SELECT COALESCE(MAX(size), 0) FROM checkpoints").fetchone()[0]
        records, checkpoints = seal(fresh, state, self.log_id, self.checkpointer, int(newest))
        # One multi-row statement, not executemany: sqlite3 releases the GIL around each
        # step, and under load every re-acquisition can wait a whole switch interval.
        insert_rows(conn, "records", RECORD_COLUMNS, [record_row(r) for r in records])
        conn.execute(
            "UPDATE head SET size = ?, chain = ?, frontier = ? WHERE id = 1",
            (state.size, state.head.hex(), json.dumps(state.frontier_hex())),
        )
        if checkpoints:
            insert_rows(
                conn, "checkpoints", CHECKPOINT_COLUMNS, [checkpoint_row(c) for c in checkpoints]
            )
        if self.outbox:
            queued = iso(datetime.now(UTC))
            insert_rows(conn, "outbox", "seq, queued_at", [(r.seq, queued) for r in records])

    def _sign(self, conn: sqlite3.Connection, now: str, due: str | None) -> Checkpoint | None:
        newest = _newest(conn, self.log_id)
        head = _head(conn)
        if newest is not None:
            if newest.size >= head.size or (due is not None and newest.time > due):
                return None
        elif head.size == 0:
            return None
        self._declare(conn, head.size)
        base = newest.size if newest else 0
        rows = conn.execute(
            f"SELECT {RECORD_COLUMNS} FROM records WHERE seq >= ? ORDER BY seq", (base,)
        )
        checkpoint = extend(
            newest, head, [row_record(r) for r in rows], self.log_id, self.checkpointer, now
        )
        if checkpoint is not None:
            conn.execute(
                f"INSERT INTO checkpoints ({CHECKPOINT_COLUMNS}) VALUES ({marks(8)})",
                checkpoint_row(checkpoint),
            )
        return checkpoint

    # --- submitting work to the writer -----------------------------------------------

    def _started(self) -> Writer:
        with self._lock:
            if self._closed:
                raise LogUnavailable("the consent log is closed")
            if self._writer is None or not self._writer.is_alive():
                self._writer = Writer(self)
                self._writer.start()
            return self._writer

    async def _submit(
        self,
        *,
        draft: Draft | None = None,
        call: Callable[[sqlite3.Connection], T] | None = None,
        transaction: bool = True,
    ) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._started().jobs.put(Job(draft, call, transaction, loop, future))
        return await future

    async def _write(self, call: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await self._submit(call=call)
        self._ready = True
        return result

    async def _open(self) -> None:
        if not self._ready:
            await self._write(lambda conn: None)  # connects and migrates

    async def _read(self, call: Callable[[sqlite3.Connection], T]) -> T:
        await self._open()
        try:
            return await asyncio.to_thread(self._read_sync, call)
        except sqlite3.Error as exc:
            raise LogUnavailable(f"consent log {self.path}: {exc}") from exc

    def _read_sync(self, call: Callable[[sqlite3.Connection], T]) -> T:
        conn = sqlite3.connect(
            f"file:{quote(str(self.path))}?mode=rw", uri=True, isolation_level=None, timeout=5.0
        )
        try:
            conn.execute("PRAGMA query_only=ON")
            # One snapshot per call, so a page of records and the head agree.
            conn.execute("BEGIN")
            return call(conn)
        finally:
            conn.close()

    # --- the Store interface ---------------------------------------------------------

    async def append(self, draft: Draft) -> None:
        await self._submit(draft=draft)
        self._ready = True

    async def archive_texts(self, hash: str, revision: str, language: str, text: str) -> None:
        now = iso(datetime.now(UTC))

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO texts (hash, texts, archived_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (hash, text, now),
            )
            conn.execute(
                "INSERT INTO texts_shown (hash, revision, language, first_seen) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (hash, revision, language, now),
            )

        await self._write(write)

    async def head(self) -> Head:
        def read(conn: sqlite3.Connection) -> Head:
            size, chain, frontier, end = conn.execute(
                "SELECT size, chain, frontier, "
                "(SELECT COALESCE(MAX(seq) + 1, 0) FROM records) FROM head"
            ).fetchone()
            return Head(self.log_id, int(size), chain, tuple(json.loads(frontier)), int(end))

        return await self._read(read)

    async def records(
        self, query: Query, *, after: int = -1, before: int | None = None, limit: int = 1000
    ) -> list[Record]:
        where, args = query.where(_placeholder)
        bound = "" if before is None else " AND seq < ?"
        extra = [] if before is None else [before]

        def read(conn: sqlite3.Connection) -> list[Record]:
            rows = conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM records WHERE seq > ?{bound} AND {where} "
                "ORDER BY seq LIMIT ?",
                [after, *extra, *args, limit],
            )
            return [row_record(row) for row in rows]

        return await self._read(read)

    async def seq_range(self, query: Query) -> tuple[int, int, int] | None:
        where, args = query.where(_placeholder)

        def read(conn: sqlite3.Connection) -> tuple[int, int, int] | None:
            low, high, count = conn.execute(
                f"SELECT MIN(seq), MAX(seq), COUNT(*) FROM records WHERE {where}", args
            ).fetchone()
            return None if count == 0 else (int(low), int(high), int(count))

        return await self._read(read)

    async def checkpoints(self) -> list[Checkpoint]:
        def read(conn: sqlite3.Connection) -> list[Checkpoint]:
            rows = conn.execute(f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size")
            return [row_checkpoint(self.log_id, row) for row in rows]

        return await self._read(read)

    async def newest_checkpoint(self) -> Checkpoint | None:
        return await self._read(lambda conn: _newest(conn, self.log_id))

    async def declarations(self) -> list[Declaration]:
        def read(conn: sqlite3.Connection) -> list[Declaration]:
            rows = conn.execute(f"SELECT {DECLARATION_COLUMNS} FROM declarations ORDER BY start")
            return [row_declaration(self.log_id, row) for row in rows]

        return await self._read(read)

    async def leaves(self, after: int, before: int, limit: int = 10000) -> list[tuple[int, str]]:
        def read(conn: sqlite3.Connection) -> list[tuple[int, str]]:
            rows = conn.execute(
                "SELECT seq, leaf FROM records WHERE seq > ? AND seq < ? ORDER BY seq LIMIT ?",
                (after, before, limit),
            )
            return [(int(seq), leaf) for seq, leaf in rows]

        return await self._read(read)

    async def sign_checkpoint(self, now: str, due: str | None) -> Checkpoint | None:
        if due is not None:
            # Most calls find nothing due: a read answers that without taking the lock.
            newest = await self.newest_checkpoint()
            if newest is not None and newest.time > due:
                return None
        return await self._write(lambda conn: self._sign(conn, now, due))

    async def meta(self, key: str) -> str | None:
        def read(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return row[0] if row else None

        return await self._read(read)

    async def swap_meta(self, key: str, old: str | None, new: str) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if (row[0] if row else None) != old:
                return False
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, new),
            )
            return True

        return await self._write(write)

    async def stats(self, query: Query) -> list[StatsRow]:
        where, args = query.where(_placeholder)

        def read(conn: sqlite3.Connection) -> list[StatsRow]:
            rows = conn.execute(
                "SELECT substr(time, 1, 10), mode, event, categories, COUNT(*) FROM records "
                f"WHERE {where} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3",
                args,
            )
            return [StatsRow(d, m, e, json.loads(c), int(n)) for d, m, e, c, n in rows]

        return await self._read(read)

    async def texts(self, hashes: Sequence[str] | None = None) -> list[ArchivedTexts]:
        def read(conn: sqlite3.Connection) -> list[ArchivedTexts]:
            if hashes is None:
                rows = conn.execute("SELECT hash, texts FROM texts ORDER BY archived_at, hash")
            else:
                rows = conn.execute(
                    f"SELECT hash, texts FROM texts WHERE hash IN ({marks(len(hashes))})",
                    list(hashes),
                )
            found = rows.fetchall()
            shown: dict[str, list[tuple[str, str, str]]] = {}
            for hash, revision, language, first in conn.execute(
                "SELECT hash, revision, language, first_seen FROM texts_shown "
                "ORDER BY first_seen, revision, language"
            ):
                shown.setdefault(hash, []).append((revision, language, first))
            return [ArchivedTexts(h, json.loads(t), tuple(shown.get(h, ())), t) for h, t in found]

        return await self._read(read)

    async def purge(self, before: str, now: str) -> int:
        def write(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "UPDATE records SET consent_id = NULL, country = NULL, subdivision = NULL, "
                "ip = NULL, user_agent = NULL, path = NULL, salt = NULL, purged_at = ? "
                "WHERE time < ? AND salt IS NOT NULL",
                (now, before),
            )
            return cursor.rowcount

        count = await self._write(write)
        # The old page images sit in the WAL until a checkpoint copies them over.
        await self._submit(
            call=lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone(),
            transaction=False,
        )
        return count

    async def close(self) -> None:
        with self._lock:
            self._closed = True
            writer, self._writer = self._writer, None
        if writer is not None and writer.is_alive():
            writer.jobs.put(STOP)
            await asyncio.to_thread(writer.join)
