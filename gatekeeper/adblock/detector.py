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
that did neither are `unknown` — both derived when the counts are read (cli.verdicts),
so they are exact whatever the number of workers and hosts.

Replays. A receipt carries a generation, and each process remembers the views it judged
lately, so an old receipt sent again to the same process cannot move a view twice. Across
processes only a shared store can tell a replay from a re-check: with `shared.redis`,
the view's last count is kept there and receipts are not needed; without it, a replay
that reaches another process moves one count per beacon, which the beacon limit bounds.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from ..memo import Memo
from ..shared import SharedStore, SharedUnavailable
from .stats import VerdictCounts, day_of, path_group
from .token import ViewClaim, ViewTokens
from .verdict import BeaconReport, Evidence, Verdict, judge

log = logging.getLogger("gatekeeper.adblock")

_CODES: dict[Verdict, bytes] = {"blocked": b"b", "allowed": b"a", "unknown": b"u", "no_js": b"n"}
_VERDICTS = {code: verdict for verdict, code in _CODES.items()}
_SEEN = 50_000  # recent views judged (or whose image arrived) here


class _Recent(OrderedDict[bytes, bytes]):
    """A bounded map of the most recently touched views."""

    def put(self, view: bytes, value: bytes) -> None:
        self.pop(view, None)
        self[view] = value
        if len(self) > _SEEN:
            self.popitem(last=False)


class Detector:
    def __init__(
        self,
        tokens: ViewTokens,
        counts: VerdictCounts,
        *,
        shared: SharedStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tokens = tokens
        self.counts = counts
        self.shared = shared
        self.clock = clock
        self._groups: Memo[str, str] = Memo(path_group, 4096)
        self._judged = _Recent()
        self._images = _Recent()

    def open(self, path: str, country: str | None) -> bytes:
        """Start a page view; return its token for the page's baits and beacon."""
        group = self._groups[path]
        code = country.upper() if country else ""
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
        if claim is None or claim.view_id in self._images:
            return  # a bad token, or the same view's image again (here)
        self._images.put(claim.view_id, b"")
        self.counts.add((day_of(claim.issued), claim.country, claim.group, "image"))

    def script(self, token: str | None) -> str:
        """The script bait of a view reached us: the proof its response carries ("" for a
        bad token: the bait is served anyway, and only the beacon answers errors)."""
        claim = self._claim(token)
        return self.tokens.proof(claim.view_id, b"script") if claim is not None else ""

    async def report(
        self, token: object, report: BeaconReport, proof: object = None, receipt: object = None
    ) -> tuple[Verdict, str]:
        """The verdict for a beacon and its receipt; raises TokenError for a bad token."""
        claim = self.tokens.check(token)
        view = claim.view_id
        evidence = Evidence(script=self.tokens.check_proof(view, b"script", proof), report=report)
        verdict = judge(evidence)
        counted = _CODES[verdict] + (b"1" if report.image else b"0")
        before, generation = self._before(view, receipt)
        if self.shared is not None:
            try:
                # The shared store knows how this view was last counted, by any process.
                stored = await self.shared.swap(
                    self.shared.key("view", view.hex()), counted, int(self.tokens.max_age)
                )
                if stored is not None:
                    before = stored
            except SharedUnavailable:
                pass  # receipts and this process's memory, as without a shared store
        if before != counted:
            base = (day_of(claim.issued), claim.country, claim.group)
            if before is not None and before[:1] in _VERDICTS:
                self._count(base, before, -1)
            self._count(base, counted, 1)
        generation = min(generation + 1, 255)
        self._judged.put(view, counted + bytes([generation]))
        return verdict, self.tokens.receipt(view, counted + bytes([generation]))

    def _before(self, view: bytes, receipt: object) -> tuple[bytes | None, int]:
        """How the view was counted before this report, and that count's generation:
        the receipt's, unless this process has counted the view since (a replay)."""
        brought = self.tokens.check_receipt(view, receipt)
        remembered = self._judged.get(view)
        candidates = [c for c in (brought, remembered) if c is not None and len(c) == 3]
        if not candidates:
            return None, 0
        latest = max(candidates, key=lambda c: c[2])
        return latest[:2], latest[2]

    def _count(self, base: tuple[str, str, str], counted: bytes, delta: int) -> None:
        self.counts.add((*base, _VERDICTS[counted[:1]]), delta)
        if counted[1:2] == b"1":
            self.counts.add((*base, "judged_image"), delta)
