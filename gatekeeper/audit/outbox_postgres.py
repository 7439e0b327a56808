"""The PostgreSQL store's outbox: records waiting for the sink, claimed with SKIP LOCKED."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from .checkpoint import KeyFileError
from .record import Record
from .store import RECORD_COLUMNS, DeadLetter, LogUnavailable, row_record

# What the PostgreSQL store (and this, its outbox) reports as LogUnavailable.
FAILURES = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    KeyFileError,
    RuntimeError,
)


class PostgresOutbox:
    """The outbox methods of the Store protocol (mixed into the store)."""

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        raise NotImplementedError

    async def _execute(self, sql: str, *args: Any) -> str:
        raise NotImplementedError

    async def _ready(self) -> asyncpg.Pool:
        raise NotImplementedError

    def _unavailable(self, exc: BaseException) -> LogUnavailable:
        raise NotImplementedError

    async def outbox_claim(self, limit: int, now: str, lease_until: str) -> list[Record]:
        # SKIP LOCKED: instances claiming at the same moment take different records.
        rows = await self._fetch(
            f"WITH claimed AS (UPDATE outbox SET claimed_until = $1 WHERE seq IN ("
            "SELECT seq FROM outbox WHERE claimed_until IS NULL OR claimed_until < $2 "
            "ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING seq) "
            f"SELECT {RECORD_COLUMNS} FROM records WHERE seq IN (SELECT seq FROM claimed) "
            "ORDER BY seq",
            lease_until,
            now,
            limit,
        )
        return [row_record(tuple(row)) for row in rows]

    async def outbox_done(self, seqs: Sequence[int]) -> None:
        await self._execute("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", list(seqs))

    async def outbox_release(self, seqs: Sequence[int]) -> None:
        await self._execute(
            "UPDATE outbox SET claimed_until = NULL WHERE seq = ANY($1::bigint[])", list(seqs)
        )

    async def outbox_dead(
        self, seqs: Sequence[int], status: int | None, reason: str, body: str, now: str
    ) -> None:
        pool = await self._ready()
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO dead_letter (seqs, status, reason, failed_at, body) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    json.dumps(list(seqs)),
                    status,
                    reason,
                    now,
                    body,
                )
                await conn.execute("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", list(seqs))
        except FAILURES as exc:
            raise self._unavailable(exc) from exc

    async def outbox_size(self) -> int:
        rows = await self._fetch("SELECT COUNT(*) FROM outbox")
        return int(rows[0][0])

    async def dead_letters(self) -> list[DeadLetter]:
        rows = await self._fetch(
            "SELECT id, seqs, status, reason, failed_at FROM dead_letter ORDER BY id"
        )
        return [DeadLetter(int(i), tuple(json.loads(s)), st, r, f) for i, s, st, r, f in rows]
