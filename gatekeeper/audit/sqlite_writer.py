"""The SQLite store's writer thread: one connection, group commit.

Why a thread and plain sqlite3 rather than an async driver: SQLite serialises writers
anyway, and a commit costs an fsync (0.5 to 3 ms on the machines measured). One thread
owning the only write connection turns concurrent appends into batches: while one batch
is being committed the next appends queue up, and the thread then takes all of them (up
to `max_batch`) into a single transaction. When the last batch held more than one
append, the thread also waits up to `linger` (2 ms) for more before committing, so a
busy site pays one fsync per few dozen records; a lone appender never waits. Every
`append` is answered only after the COMMIT of its batch returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .checkpoint import KeyFileError
from .record import Draft
from .store import LogUnavailable

log = logging.getLogger("gatekeeper.audit")

STOP = object()
_FAILURES = (sqlite3.Error, OSError, KeyFileError, RuntimeError)


def marks(n: int) -> str:
    return ",".join("?" * n)


@dataclass(slots=True)
class Job:
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


def _deliver(jobs: Sequence[Job], results: Sequence[Any], error: BaseException | None) -> None:
    # One wake-up per event loop and batch, not one per append: waking a loop costs a
    # syscall and a GIL hand-over, which add up to more than the commit itself.
    by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
    for job, result in zip(jobs, results, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, result, error))
    for loop, outcomes in by_loop.items():
        # RuntimeError: that event loop has closed; nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, outcomes)


def rollback(conn: sqlite3.Connection) -> None:
    # A failed rollback (the disk is gone) must not hide the error that caused it.
    with contextlib.suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def insert_rows(
    conn: sqlite3.Connection, table: str, columns: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    width = len(rows[0])
    step = max(1, 32000 // width)  # SQLite's limit on variables in one statement
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        values = ",".join([f"({marks(width)})"] * len(chunk))
        conn.execute(
            f"INSERT INTO {table} ({columns}) VALUES {values}",
            [value for row in chunk for value in row],
        )


class WrittenStore(Protocol):
    """What the writer needs of its store (`store_sqlite.SQLiteStore`, which starts it)."""

    path: Path
    max_batch: int
    linger: float
    declared: bool

    def connect_writer(self) -> sqlite3.Connection: ...

    def insert(self, conn: sqlite3.Connection, drafts: list[Draft]) -> None: ...


class Writer(threading.Thread):
    def __init__(self, store: WrittenStore) -> None:
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
                if first is STOP:
                    return
                batch: list[Job] = [first]
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

    def _gather(self, batch: list[Job], linger: float) -> bool:
        """Add queued jobs to the batch; True when asked to stop."""
        deadline = time.monotonic() + linger
        while len(batch) < self.store.max_batch:
            try:
                remaining = deadline - time.monotonic()
                job = self.jobs.get(timeout=remaining) if remaining > 0 else self.jobs.get_nowait()
            except queue.Empty:
                return False
            if job is STOP:
                return True
            batch.append(job)
        return False

    def _run(self, batch: list[Job]) -> None:
        appends: list[Job] = []
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

    def _fail(self, jobs: Sequence[Job], exc: BaseException) -> None:
        # A declaration written in the transaction that failed was rolled back with it.
        self.store.declared = False
        if isinstance(exc, _FAILURES):
            log.error("consent log %s unavailable: %s", self.store.path, exc)
            error: BaseException = LogUnavailable(f"consent log {self.store.path}: {exc}")
            error.__cause__ = exc
            self._disconnect()  # reopen on the next job: the disk may come back
        else:
            error = exc
        _deliver(jobs, [None] * len(jobs), error)

    def _append(self, jobs: list[Job]) -> None:
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self.store.insert(conn, [job.draft for job in jobs if job.draft is not None])
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise
        except BaseException as exc:
            self._fail(jobs, exc)
            return
        _deliver(jobs, [job.draft.event_id if job.draft else None for job in jobs], None)

    def _call(self, job: Job) -> None:
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
                    rollback(conn)
                    raise
        except BaseException as exc:
            self._fail([job], exc)
            return
        _deliver([job], [result], None)
