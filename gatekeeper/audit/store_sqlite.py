"""The SQLite store: one writer thread with group commit, short-lived reader connections.

Why a thread and plain sqlite3 rather than an async driver: SQLite serialises writers
anyway, and a commit costs an fsync (0.5 to 3 ms on the machines measured). One thread
owning the only write connection turns concurrent appends into batches: while one batch
is being committed the next appends queue up, and the thread then takes all of them (up
to `max_batch`) into a single transaction. When the last batch held more than one
append, the thread also waits up to `linger` (2 ms) for more before committing, so a
busy site pays one fsync per few dozen records; a lone appender never waits. Every
`append` is answered only after the COMMIT of its batch returned, with WAL and
synchronous=FULL, so an acknowledged consent survives a crash or power loss.

Other processes may share the file (several workers): each append transaction starts
with BEGIN IMMEDIATE and reads the chain head inside it, so chains from different
processes interleave correctly. Readers open their own connection per call (WAL lets
them run beside the writer) in asyncio's default thread pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from .chain import ChainState, seal
from .checkpoint import Checkpoint, Checkpointer, KeyFileError
from .migrations import SCHEMA_VERSION_TABLE, pending
from .record import Draft, Record, iso
from .store import (
    CHECKPOINT_COLUMNS,
    RECORD_COLUMNS,
    ArchivedTexts,
    DeadLetter,
    Head,
    LogUnavailable,
    Query,
    StatsRow,
    checkpoint_row,
    record_row,
    row_checkpoint,
    row_record,
)

log = logging.getLogger("gatekeeper.audit")

T = TypeVar("T")
_STOP = object()
_FAILURES = (sqlite3.Error, OSError, KeyFileError, RuntimeError)


def _placeholder(_: int) -> str:
    return "?"


def _marks(n: int) -> str:
    return ",".join("?" * n)


@dataclass(slots=True)
class _Job:
    # An append carries a Draft; anything else is a function run on the write connection.
    draft: Draft | None
    call: Callable[[sqlite3.Connection], Any] | None
    transaction: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        if future.done():  # the caller gave up (cancelled); the write stands regardless
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _deliver(jobs: Sequence[_Job], results: Sequence[Any], error: BaseException | None) -> None:
    # One wake-up per event loop and batch, not one per append: waking a loop costs a
    # syscall and a GIL hand-over, which add up to more than the commit itself.
    by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
    for job, result in zip(jobs, results, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, result, error))
    for loop, outcomes in by_loop.items():
        # RuntimeError: that event loop has closed; nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, outcomes)


def _rollback(conn: sqlite3.Connection) -> None:
    # A failed rollback (the disk is gone) must not hide the error that caused it.
    with contextlib.suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _insert_rows(
    conn: sqlite3.Connection, table: str, columns: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    width = len(rows[0])
    step = max(1, 32000 // width)  # SQLite's limit on variables in one statement
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        values = ",".join([f"({_marks(width)})"] * len(chunk))
        conn.execute(
            f"INSERT INTO {table} ({columns}) VALUES {values}",
            [value for row in chunk for value in row],
        )


class _Writer(threading.Thread):
    def __init__(self, store: SQLiteStore) -> None:
        # A daemon: under servers that never send lifespan shutdown the process must still
        # exit. Nothing is lost: a consent is only acknowledged after its batch committed.
        super().__init__(name="gatekeeper-audit-writer", daemon=True)
        self.store = store
        self.jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.conn: sqlite3.Connection | None = None

    def run(self) -> None:
        linger = 0.0
        try:
            while True:
                first = self.jobs.get()
                if first is _STOP:
                    return
                batch: list[_Job] = [first]
                stop = self._gather(batch, linger)
                self._run(batch)
                # Wait a moment for more only when appends are arriving concurrently: a
                # lone appender then never waits, and a busy site fills its batches
                # instead of paying one fsync for a handful of records.
                linger = self.store.linger if len(batch) > 1 else 0.0
                if stop:
                    return
        finally:
            self._disconnect()

    def _gather(self, batch: list[_Job], linger: float) -> bool:
        """Add queued jobs to the batch; True when asked to stop."""
        deadline = time.monotonic() + linger
        while len(batch) < self.store.max_batch:
            try:
                remaining = deadline - time.monotonic()
                job = self.jobs.get(timeout=remaining) if remaining > 0 else self.jobs.get_nowait()
            except queue.Empty:
                return False
            if job is _STOP:
                return True
            batch.append(job)
        return False

    def _run(self, batch: list[_Job]) -> None:
        appends: list[_Job] = []
        for job in batch:
            if job.draft is not None:
                appends.append(job)
                continue
            if appends:
                self._append(appends)
                appends = []
            self._call(job)
        if appends:
            self._append(appends)

    def _connection(self) -> sqlite3.Connection:
        if self.conn is None:
            self.conn = self.store.connect_writer()
        return self.conn

    def _disconnect(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            self.conn = None

    def _fail(self, jobs: Sequence[_Job], exc: BaseException) -> None:
        if isinstance(exc, _FAILURES):
            log.error("consent log %s unavailable: %s", self.store.path, exc)
            error: BaseException = LogUnavailable(f"consent log {self.store.path}: {exc}")
            error.__cause__ = exc
            self._disconnect()  # reopen on the next job: the disk may come back
        else:
            error = exc
        _deliver(jobs, [None] * len(jobs), error)

    def _append(self, jobs: list[_Job]) -> None:
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._insert(conn, [job.draft for job in jobs if job.draft is not None])
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        except BaseException as exc:
            self._fail(jobs, exc)
            return
        _deliver(jobs, [job.draft.event_id if job.draft else None for job in jobs], None)

    def _insert(self, conn: sqlite3.Connection, drafts: list[Draft]) -> None:
        ids = [d.event_id for d in drafts]
        seen = {
            row[0]
            for row in conn.execute(
                f"SELECT event_id FROM records WHERE event_id IN ({_marks(len(ids))})", ids
            )
        }
        fresh: list[Draft] = []
        for draft in drafts:  # a retry is a no-op, also when both copies share a batch
            if draft.event_id not in seen:
                seen.add(draft.event_id)
                fresh.append(draft)
        if not fresh:
            return
        size, chain, frontier = conn.execute("SELECT size, chain, frontier FROM head").fetchone()
        state = ChainState.restore(size, chain, json.loads(frontier))
        records, checkpoints = seal(fresh, state, self.store.log_id, self.store.checkpointer)
        # One multi-row statement, not executemany: sqlite3 releases the GIL around each
        # step, and under load every re-acquisition can wait a whole switch interval.
        _insert_rows(conn, "records", RECORD_COLUMNS, [record_row(r) for r in records])
        conn.execute(
            "UPDATE head SET size = ?, chain = ?, frontier = ? WHERE id = 1",
            (state.size, state.head.hex(), json.dumps(state.frontier_hex())),
        )
        if checkpoints:
            conn.executemany(
                f"INSERT INTO checkpoints ({CHECKPOINT_COLUMNS}) VALUES ({_marks(7)})",
                [checkpoint_row(c) for c in checkpoints],
            )
        if self.store.outbox:
            queued = iso(datetime.now(UTC))
            _insert_rows(conn, "outbox", "seq, queued_at", [(r.seq, queued) for r in records])

    def _call(self, job: _Job) -> None:
        assert job.call is not None
        try:
            conn = self._connection()
            if not job.transaction:
                result = job.call(conn)
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = job.call(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
        except BaseException as exc:
            self._fail([job], exc)
            return
        _deliver([job], [result], None)


class SQLiteStore:
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
        self._writer: _Writer | None = None
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
            _rollback(conn)
            raise
        self.log_id = conn.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()[0]

    # --- submitting work to the writer -----------------------------------------------

    def _started(self) -> _Writer:
        with self._lock:
            if self._closed:
                raise LogUnavailable("the consent log is closed")
            if self._writer is None or not self._writer.is_alive():
                self._writer = _Writer(self)
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
        self._started().jobs.put(_Job(draft, call, transaction, loop, future))
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
            size, chain, frontier = conn.execute(
                "SELECT size, chain, frontier FROM head"
            ).fetchone()
            return Head(self.log_id, int(size), chain, tuple(json.loads(frontier)))

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
                    f"SELECT hash, texts FROM texts WHERE hash IN ({_marks(len(hashes))})",
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

    async def outbox_claim(self, limit: int, now: str, lease_until: str) -> list[Record]:
        def write(conn: sqlite3.Connection) -> list[Record]:
            seqs = [
                row[0]
                for row in conn.execute(
                    "UPDATE outbox SET claimed_until = ? WHERE seq IN (SELECT seq FROM outbox "
                    "WHERE claimed_until IS NULL OR claimed_until < ? ORDER BY seq LIMIT ?) "
                    "RETURNING seq",
                    (lease_until, now, limit),
                )
            ]
            if not seqs:
                return []
            rows = conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM records WHERE seq IN ({_marks(len(seqs))}) "
                "ORDER BY seq",
                seqs,
            )
            return [row_record(row) for row in rows]

        return await self._write(write)

    async def outbox_done(self, seqs: Sequence[int]) -> None:
        await self._write(
            lambda conn: conn.execute(
                f"DELETE FROM outbox WHERE seq IN ({_marks(len(seqs))})", list(seqs)
            )
        )

    async def outbox_release(self, seqs: Sequence[int]) -> None:
        await self._write(
            lambda conn: conn.execute(
                f"UPDATE outbox SET claimed_until = NULL WHERE seq IN ({_marks(len(seqs))})",
                list(seqs),
            )
        )

    async def outbox_dead(
        self, seqs: Sequence[int], status: int | None, reason: str, body: str, now: str
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO dead_letter (seqs, status, reason, failed_at, body) "
                "VALUES (?, ?, ?, ?, ?)",
                (json.dumps(list(seqs)), status, reason, now, body),
            )
            conn.execute(f"DELETE FROM outbox WHERE seq IN ({_marks(len(seqs))})", list(seqs))

        await self._write(write)

    async def outbox_size(self) -> int:
        return await self._read(
            lambda conn: int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        )

    async def dead_letters(self) -> list[DeadLetter]:
        def read(conn: sqlite3.Connection) -> list[DeadLetter]:
            rows = conn.execute(
                "SELECT id, seqs, status, reason, failed_at FROM dead_letter ORDER BY id"
            )
            return [DeadLetter(i, tuple(json.loads(s)), st, r, f) for i, s, st, r, f in rows]

        return await self._read(read)

    async def close(self) -> None:
        with self._lock:
            self._closed = True
            writer, self._writer = self._writer, None
        if writer is not None and writer.is_alive():
            writer.jobs.put(_STOP)
            await asyncio.to_thread(writer.join)
