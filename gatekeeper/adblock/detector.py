"""Correlation per page view, with nothing shared between processes.

Which process renders a page, serves its baits or receives its beacon does not matter:

- the page view's token carries the view's id, day, country and path group;
- the script bait's response hands the page a proof, made from the view id, that the
  bait reached a server; the beacon carries it back (a blocker's stub sets none);
- the beacon is judged from its own report and that proof, and answered with a receipt
  of how the view was counted, which a later check of the same view ("check again")
  brings along, so the count moves instead of growing.

Every event is counted additively by (day, country, path group): views opened, image
baits served, verdicts judged (and how many of those saw their image bait). Views that
rendered the image but never reported are `no_js` (images − judged with an image); views
that did neither are `unknown` — both derived when the counts are read (stats.py), so
they are exact whatever the number of workers and hosts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .stats import VerdictCounts, day_of, path_group
from .token import ViewClaim, ViewTokens
from .verdict import Evidence, Report, Verdict, judge

_CODES: dict[Verdict, bytes] = {"blocked": b"b", "allowed": b"a", "unknown": b"u", "no_js": b"n"}
_VERDICTS = {code: verdict for verdict, code in _CODES.items()}
_SEEN = 50_000  # recent views judged here: a replayed beacon is not counted twice


class Detector:
    def __init__(
        self,
        tokens: ViewTokens,
        counts: VerdictCounts,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tokens = tokens
        self.counts = counts
        self.clock = clock
        self._judged: dict[bytes, bytes] = {}

    def open(self, path: str, country: str | None) -> bytes:
        """Start a page view; return its token for the page's baits and beacon."""
        group = path_group(path)
        code = (country or "").upper()
        _, token = self.tokens.mint(code, group)
        self.counts.add((day_of(self.clock()), code, group, "opened"))
        return token

    def _claim(self, token: str | None) -> ViewClaim | None:
        if token is None:
            return None
        try:
            return self.tokens.check(token)
        except ValueError:
            return None

    def image(self, token: str | None) -> None:
        """The image bait of a view reached us (every browser that renders images)."""
        claim = self._claim(token)
        if claim is not None:
            self.counts.add((day_of(claim.issued), claim.country, claim.group, "image"))

    def script(self, token: str | None) -> str:
        """The script bait of a view reached us: the proof its response carries ("" for a
        bad token: the bait is served anyway, and only the beacon answers errors)."""
        claim = self._claim(token)
        return self.tokens.proof(claim.view_id, b"script") if claim is not None else ""

    def report(
        self, token: object, report: Report, proof: object = None, receipt: object = None
    ) -> tuple[Verdict, str]:
        """The verdict for a beacon and its receipt; raises TokenError for a bad token."""
        claim = self.tokens.check(token)
        view = claim.view_id
        evidence = Evidence(script=self.tokens.check_proof(view, b"script", proof), report=report)
        verdict = judge(evidence)
        counted = _CODES[verdict] + (b"1" if report.image else b"0")
        before = self.tokens.check_receipt(view, receipt) or self._judged.get(view)
        if before != counted:
            base = (day_of(claim.issued), claim.country, claim.group)
            if before is not None and before[:1] in _VERDICTS:
                self._count(base, before, -1)
            self._count(base, counted, 1)
            self._remember(view, counted)
        return verdict, self.tokens.receipt(view, counted)

    def _count(self, base: tuple[str, str, str], counted: bytes, delta: int) -> None:
        self.counts.add((*base, _VERDICTS[counted[:1]]), delta)
        if counted[1:] == b"1":
            self.counts.add((*base, "judged_image"), delta)

    def _remember(self, view: bytes, counted: bytes) -> None:
        judged = self._judged
        judged.pop(view, None)
        judged[view] = counted
        if len(judged) > _SEEN:
            del judged[next(iter(judged))]

    async def close(self) -> None:
        """Write the pending counts (at shutdown)."""
        await self.counts.close()
