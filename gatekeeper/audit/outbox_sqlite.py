"""The SQLite store's outbox: records waiting for the sink, claimed with a lease."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar

from .record import Record
from .sqlite_writer import marks
from .store import RECORD_COLUMNS, DeadLetter, row_record

T = TypeVar("T")


class SQLiteOutbox:
    """The outbox methods of the Store protocol (mixed into the store)."""

    async def _write(self, call: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    async def _read(self, call: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

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
                f"SELECT {RECORD_COLUMNS} FROM records WHERE seq IN ({marks(len(seqs))}) "
                "ORDER BY seq",
                seqs,
            )
            return [row_record(row) for row in rows]

        return await self._write(write)

    async def outbox_done(self, seqs: Sequence[int]) -> None:
        await self._write(
            lambda conn: conn.execute(
                f"DELETE FROM outbox WHERE seq IN ({marks(len(seqs))})", list(seqs)
            )
        )

    async def outbox_release(self, seqs: Sequence[int]) -> None:
        await self._write(
            lambda conn: conn.execute(
                f"UPDATE outbox SET claimed_until = NULL WHERE seq IN ({marks(len(seqs))})",
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
            conn.execute(f"DELETE FROM outbox WHERE seq IN ({marks(len(seqs))})", list(seqs))

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
