"""Adblock detection: baits, beacons, verdicts, and rates for operators.

Each HTML page view (where the policy enables detection) gets a signed view token, a
cosmetic bait element and an image bait in the server-rendered HTML (the notice source,
`gatekeeper.notices.adblock`), and the client check in gatekeeper.js, which loads the
script bait and reports to `POST {prefix}/beacon`. The server correlates what reached it
with the report (verdict.py), answers the verdict, remembers it in the signed
`gk_adblock` cookie (`visitor.adblock` on later requests) and counts each view's final
verdict by day, country and path group in the policy's database
(`gatekeeper adblock stats`).

The feature plugs into the request path through the feature protocol: `routes()`,
`read(visitor)` on every request, `open(page)` for each page view. Its beacon and
dismiss endpoints are rate-limited per client network by gatekeeper.limits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..counters import Counters, open_counter_store
from ..endpoints import Request, Response, Route, json_response, redirect_to
from ..memo import Memo
from ..notices import Page
from ..notices.adblock import AdblockView
from ..policy import Policy, compile_globs
from ..visitor import Visitor
from .baits import Baits
from .beacon import Beacon
from .cookie import AdblockCookie, AdblockState
from .detector import Detector
from .rates import summarise
from .stats import VerdictCounts
from .store import Filter
from .token import ViewTokens
from .verdict import VERDICTS, BeaconReport, Evidence, Verdict, judge

__all__ = [
    "VERDICTS",
    "AdblockFeature",
    "AdblockState",
    "BeaconReport",
    "Evidence",
    "Verdict",
    "judge",
]


class AdblockFeature:
    """The adblock feature of one policy.

    `detector` holds the view tokens and the counts; it outlives a policy revision (the
    plan keeps it while the secret keys, the store and the shared store stay the same).
    Without one, the feature makes its own, counting into the policy's database.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        detector: Detector | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        config = policy.adblock
        self.policy = policy
        self.enabled = config.mode != "off"
        self.wall = config.mode == "wall"
        self.cap = config.frequency_hours * 3600
        self.clock = clock
        self.cookie = AdblockCookie(policy.secret_keys, clock=clock)
        self.requires = policy.adblock_category()
        if detector is None:
            counters = Counters(open_counter_store(policy.audit.store) if self.enabled else None)
            detector = Detector(
                ViewTokens(policy.secret_keys, clock=clock), VerdictCounts(counters), clock=clock
            )
        self.detector = detector
        self.baits = Baits(
            policy.prefix,
            config.baits.script,
            config.baits.image,
            config.baits.cosmetic_class,
            self.detector,
        )
        self.beacon = Beacon(self.detector, self.cookie)
        paths, exempt = compile_globs(config.paths), compile_globs(config.exempt_paths)
        self._applies: Memo[str, bool] = Memo(
            lambda path: self.enabled and paths(path) and not exempt(path), 4096
        )

    def applies(self, path: str) -> bool:
        """Whether detection runs on pages at `path`."""
        return self._applies[path]

    def routes(self) -> dict[str, Route]:
        """Beacon, bait script, bait image and (notice mode) dismiss, below the prefix."""
        if not self.enabled:
            return {}
        routes = {"/beacon": self.beacon.route(), **self.baits.routes()}
        if not self.wall:
            routes["/adblock/dismiss"] = Route(frozenset({"POST"}), self.dismiss)
        return routes

    def read(self, visitor: Visitor) -> None:
        """`visitor.adblock`: the last verdict in the gk_adblock cookie, or "unknown"."""
        state = self.cookie.from_cookies(visitor.cookies)
        visitor.adblock = state.verdict if state is not None else "unknown"

    def open(self, page: Page) -> AdblockView | None:
        """A new view for this page (`AdblockViews`), or None where detection is off."""
        visitor = page.visitor
        path = page.path
        if visitor.bot or not self._applies[path]:
            return None  # crawlers get no notice and would only count as "unknown"
        if not self.permitted(visitor):
            return None
        visible, quiet = self.display(self.cookie.from_cookies(visitor.cookies))
        return (self.detector.open(path, visitor.country), visible, quiet)

    def permitted(self, visitor: Visitor) -> bool:
        """Whether the visitor's consent lets detection read their browser
        (`adblock.requires_consent`)."""
        category = self.requires
        if category is None:
            return True
        consent = visitor.consent
        return consent is not None and consent.allows(category)

    def display(self, state: AdblockState | None) -> tuple[bool, bool]:
        """(shown at once, quiet) for a visitor with this cookie."""
        if state is None:
            return False, False
        if self.wall:
            return state.verdict == "blocked", False  # a wall cannot be dismissed
        quiet = state.dismissed_at > 0 and self.clock() - state.dismissed_at < self.cap
        return state.verdict == "blocked" and not quiet, quiet

    async def dismiss(self, request: Request) -> Response:
        """POST {prefix}/adblock/dismiss: keep the notice away for frequency_hours."""
        back = request.next_path()
        known = self.cookie.from_cookies(request.visitor.cookies)
        state = AdblockState(known.verdict if known else "unknown", int(self.clock()))
        response = json_response({"dismissed": True}) if request.wants_json else redirect_to(back)
        response.headers.append(self.cookie.set_cookie(state, secure=request.secure))
        return response

    async def rates(self) -> dict[str, Any] | None:
        """The stored verdict counts as plain data, as `gatekeeper adblock stats` adds
        them up: `by_day`, `by_country` and `by_path` (lists of rows with `key`, one count
        per verdict, `views` and `blocked_rate`, None when nothing was judged) and `total`.
        None when detection is off. Raises StoreUnavailable when the database cannot be
        read."""
        store = self.detector.counts.store if self.enabled else None
        if store is None:
            return None
        rows = await store.rows(Filter())
        out: dict[str, Any] = {}
        for name, column in (("by_day", "day"), ("by_country", "country"), ("by_path", "path")):
            groups, total = summarise(rows, (column,))
            out[name] = [{"key": key[0], **tally.to_dict()} for key, tally in groups.items()]
        out["total"] = total.to_dict()
        return out

    async def close(self) -> None:
        """Nothing of its own: the counts belong to the deployment's `Counters`."""
