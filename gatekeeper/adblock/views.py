"""Per-view state: a small table, bounded and expiring, in this process's memory.

A view is opened when gatekeeper renders a page with baits and lives `ttl` seconds: long
enough for the baits and the beacon of a slow page, short enough that the table stays
small. When a view leaves the table (expiry, eviction when full, or `close`) its final
verdict is handed to `on_final`, which counts it. Views are kept in creation order, so
expiry only ever looks at the front of the table.

Why not shared storage: the bait requests and the beacon of a page view normally come
within a second or two of the page, over the same connection pool, to the same worker.
A beacon for a view this process does not hold still gets a verdict from its own report
(see verdict.judge_report); it is just not counted twice.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from .verdict import Evidence, Verdict


@dataclass(slots=True)
class View:
    created: float
    day: str
    """UTC date of the page view, YYYY-MM-DD: the day it is counted on."""
    country: str
    """ISO country code, or "" when unknown."""
    group: str
    """The first segment of the page's path (/articles), or / for the home page."""
    evidence: Evidence = field(default_factory=Evidence)
    verdict: Verdict | None = None
    """The verdict of the latest beacon, if one arrived."""
    counted: Verdict | None = None
    """The verdict already counted for this view (at a beacon), if any."""


class ViewTable:
    def __init__(
        self,
        on_final: Callable[[View], None],
        *,
        capacity: int = 10_000,
        ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.on_final = on_final
        self.capacity = capacity
        self.ttl = ttl
        self.clock = clock
        self._views: OrderedDict[str, View] = OrderedDict()

    def __len__(self) -> int:
        return len(self._views)

    def open(self, view_id: str, view: View) -> None:
        self.sweep()
        self._views[view_id] = view
        while len(self._views) > self.capacity:
            # Full: the oldest view goes early, with what it has; a flood of page loads
            # costs verdict quality for old views, never memory.
            _, oldest = self._views.popitem(last=False)
            self.on_final(oldest)

    def get(self, view_id: str) -> View | None:
        self.sweep()
        return self._views.get(view_id)

    def sweep(self) -> None:
        """Finalise the views older than ttl."""
        if not self._views:
            return
        deadline = self.clock() - self.ttl
        while self._views:
            view_id, view = next(iter(self._views.items()))
            if view.created > deadline:
                return
            del self._views[view_id]
            self.on_final(view)

    def close(self) -> None:
        """Finalise every view (at shutdown)."""
        while self._views:
            _, view = self._views.popitem(last=False)
            self.on_final(view)
