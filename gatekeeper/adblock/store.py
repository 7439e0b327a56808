"""Where adblock counts live: a table of their own, `adblock_verdicts`, in the consent
log's database (`policy.audit.store`, SQLite or PostgreSQL), written through the
counters facility (gatekeeper.counters).

The rows are aggregates only, (day, country, path group, kind) -> count, where a kind is
a verdict (blocked, allowed, unknown, and no_js in rows of earlier versions) or an event
(opened, image, judged_image; see detector.py): no view id, address or time of day is
kept, so they need no retention rules of their own. Writes add to the stored count, so
every process and host writing to one database adds up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..counters import CounterStore, Filter, StoreUnavailable, Table, open_counter_store

__all__ = ["TABLE", "Filter", "Key", "StoreUnavailable", "VerdictRow", "VerdictStore", "open_store"]

Key = tuple[str, str, str, str]
"""(day, country, path group, kind)"""

TABLE = Table("adblock_verdicts", ("day", "country", "path_group", "verdict"))


@dataclass(frozen=True, slots=True)
class VerdictRow:
    day: str
    country: str
    group: str
    verdict: str
    count: int


class VerdictStore:
    """The adblock table of a counter store."""

    def __init__(self, store: CounterStore) -> None:
        self.counters = store

    @property
    def display_url(self) -> str:
        return self.counters.display_url

    async def add(self, counts: Mapping[Key, int]) -> None:
        """Add these counts at once (the CLI's tests, imports); raises StoreUnavailable."""
        await self.counters.add({TABLE: {tuple(key): n for key, n in counts.items()}})

    async def rows(self, where: Filter) -> list[VerdictRow]:
        """The stored counts, ordered by day, country, path group, kind."""
        return [VerdictRow(*row) for row in await self.counters.rows(TABLE, where)]


def open_store(url: str, *, create: bool = True) -> VerdictStore:
    """The verdict store in the database of `policy.audit.store` (no I/O until used).

    `create=False` (the CLI) refuses to create a SQLite file that is not there.
    """
    return VerdictStore(open_counter_store(url, create=create))
