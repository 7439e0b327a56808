"""Correlation per page view: open a view, note which baits reached us, judge the beacon.

Everything here is synchronous and runs on the event loop between awaits, so the view
table needs no lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from .stats import VerdictCounts, day_of, path_group
from .token import TokenError, ViewTokens
from .verdict import Report, Verdict, judge, judge_report
from .views import View, ViewTable

Bait = Literal["script", "image"]


class Detector:
    def __init__(
        self,
        tokens: ViewTokens,
        counts: VerdictCounts,
        *,
        capacity: int = 10_000,
        ttl: float = 600.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tokens = tokens
        self.counts = counts
        self.clock = clock
        self.table = ViewTable(self._final, capacity=capacity, ttl=ttl, clock=monotonic)

    def open(self, path: str, country: str | None) -> str:
        """Start a page view; return its token for the page's baits and beacon."""
        view_id, token = self.tokens.mint()
        view = View(
            created=self.table.clock(),
            day=day_of(self.clock()),
            country=(country or "").upper(),
            group=path_group(path),
        )
        self.table.open(view_id, view)
        return token

    def bait(self, kind: Bait, token: str | None) -> None:
        """A bait request reached us. Bad tokens are ignored: the bait is served anyway,
        and only the beacon, which decides, answers with an error."""
        if token is None:
            self.table.sweep()
            return
        try:
            view_id = self.tokens.check(token)
        except TokenError:
            self.table.sweep()
            return
        view = self.table.get(view_id)
        if view is None:
            return
        if kind == "image":
            view.evidence.image = True
        else:
            view.evidence.script = True

    def report(self, token: object, report: Report) -> Verdict:
        """The verdict for a beacon; raises TokenError for a bad token."""
        view_id = self.tokens.check(token)
        view = self.table.get(view_id)
        if view is None:
            return judge_report(report)  # not ours to count (see views.py)
        view.evidence.report = report
        verdict = view.verdict = judge(view.evidence)
        # The next report ("check again") must be judged on its own probe.
        view.evidence.script = False
        if verdict != view.counted and verdict in ("blocked", "allowed"):
            # Counted now, so rates are current; a later check that changes the outcome
            # moves the view from one count to the other instead of counting it twice.
            if view.counted is not None:
                self.counts.add(view, view.counted, -1)
            self.counts.add(view, verdict)
            view.counted = verdict
        return verdict

    def _final(self, view: View) -> None:
        if view.counted is not None:
            return  # counted at its beacon
        if view.verdict is None or view.evidence.script:
            # No beacon (no_js or unknown), or a probe that the last report gave up on
            # arrived after all: judge what we know now.
            self.counts.add(view, judge(view.evidence))
        else:
            self.counts.add(view, view.verdict)

    def retire(self) -> None:
        """Count the open views of a replaced policy; the counts go out with the next
        write (a task on the running loop)."""
        self.table.close()

    async def close(self) -> None:
        """Count every open view and write the counts (at shutdown)."""
        self.table.close()
        await self.counts.close()
