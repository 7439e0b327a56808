"""Raw SQL on a consent log's tables, as someone with write access to the database has it.

Written with $n placeholders for both engines. `forge` is what an attacker who knows the
algorithm does after editing: renumber, recompute every leaf and chain value, fix the head.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from gatekeeper.audit.chain import ChainState, leaf_hash
from gatekeeper.audit.record import Record
from gatekeeper.audit.store import RECORD_COLUMNS, record_row, row_record


class Database:
    """Raw SQL on the log's tables, written with $n placeholders for both engines."""

    async def execute(self, sql: str, *args: Any) -> None:
        raise NotImplementedError

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def close(self) -> None:
        pass

    async def record(self, seq: int):  # type: ignore[no-untyped-def]
        rows = await self.fetch(f"SELECT {RECORD_COLUMNS} FROM records WHERE seq = $1", seq)
        return row_record(rows[0])

    async def insert(self, record) -> None:  # type: ignore[no-untyped-def]
        row = record_row(record)
        marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        await self.execute(f"INSERT INTO records ({RECORD_COLUMNS}) VALUES ({marks})", *row)

    async def set_seq(self, old: int, new: int) -> None:
        await self.execute("UPDATE records SET seq = $1 WHERE seq = $2", new, old)

    async def all_records(self) -> list[Record]:
        rows = await self.fetch(f"SELECT {RECORD_COLUMNS} FROM records ORDER BY seq")
        return [row_record(row) for row in rows]

    async def forge(self, records: Sequence[Record]) -> None:
        """Replace the log's records with these, every hash recomputed, the head fixed."""
        await self.execute("DELETE FROM records")
        state = ChainState()
        for seq, record in enumerate(records):
            placed = replace(record, seq=seq)
            leaf = leaf_hash(placed.body())
            state.add(leaf)
            await self.insert(replace(placed, leaf=leaf.hex(), chain=state.head.hex()))
        await self.execute(
            "UPDATE head SET size = $1, chain = $2, frontier = $3",
            state.size,
            state.head.hex(),
            json.dumps(state.frontier_hex()),
        )


class SQLiteDatabase(Database):
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)

    async def execute(self, sql: str, *args: Any) -> None:
        self.conn.execute(sql.replace("$", "?"), args)

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql.replace("$", "?"), args).fetchall()

    async def close(self) -> None:
        self.conn.close()


class PostgresDatabase(Database):
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self.conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.conn.fetch(sql, *args)]

    async def close(self) -> None:
        await self.conn.close()
