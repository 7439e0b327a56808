"""Adblock counts by day, country and path group, kept through the counters facility.

Counting is batched there (gatekeeper.counters): counts add up in memory and a background
task writes them every few seconds, one additive upsert per (day, country, path group,
kind), so the database sees a handful of statements per interval however busy the site
is, and processes writing to one database add up exactly.
"""

from __future__ import annotations

from ..counters import Counters, day_of
from .store import TABLE, Key, VerdictStore

__all__ = ["MAX_GROUP", "VerdictCounts", "day_of", "path_group"]

MAX_GROUP = 64


def path_group(path: str) -> str:
    """The first path segment: /articles/x -> /articles, / -> /. Capped in length, so a
    site with free-form first segments cannot grow a row per URL without bound."""
    first = path.lstrip("/").split("/", 1)[0]
    return ("/" + first)[:MAX_GROUP] if first else "/"


class VerdictCounts:
    """The adblock table's share of a `Counters`."""

    def __init__(self, counters: Counters | None) -> None:
        # None: counted in memory only (unit tests of the detector).
        self.counters = counters if counters is not None else Counters(None)
        store = self.counters.store
        self.store = VerdictStore(store) if store is not None else None

    def add(self, key: Key, delta: int = 1) -> None:
        """Add `delta` to the count of (day, country, path group, kind)."""
        self.counters.add(TABLE, key, delta)

    @property
    def pending(self) -> dict[Key, int]:
        return self.counters.of(TABLE)  # type: ignore[return-value]

    async def flush(self) -> bool:
        return await self.counters.flush()
