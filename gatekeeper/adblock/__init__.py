"""Adblock detection: baits, beacons, verdicts, the notice or wall, and rates for operators.

Each HTML page view (where the policy enables detection) gets a signed view token, a
cosmetic bait element and an image bait in the server-rendered HTML, and the client check
in gatekeeper.js, which loads the script bait and reports to `POST {prefix}/beacon`. The
server correlates what reached it with the report (verdict.py), answers the verdict,
remembers it in the signed `gk_adblock` cookie (`visitor.adblock` on later requests) and
counts each view's final verdict by day, country and path group in the consent log's
database (`gatekeeper adblock stats`).

    adblock = AdblockFeature(policy, renderer, policy.prefix)
    routes = {**routes, **adblock.routes()}      # beacon, baits, dismiss
    sources.append(adblock)                      # a NoticeSource: adblock.parts(...)
    inner = adblock.stage(inner)                 # or call adblock.identify(visitor)
    await adblock.close()                        # at shutdown: count open views
    await adblock.rates()                        # verdict counts as plain data (auditor view)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..endpoints import Route
from ..html.render import Renderer
from ..notices import Parts
from ..policy import Policy, path_matches
from ..visitor import Visitor
from .baits import Baits
from .beacon import Beacon
from .cli import summarise
from .cookie import AdblockCookie, AdblockState
from .detector import Detector
from .notice import AdblockNotice
from .ratelimit import RateLimiter
from .stage import AdblockStage, identify
from .stats import VerdictCounts
from .store import Filter, open_store
from .token import ViewTokens
from .verdict import VERDICTS, Evidence, Report, Verdict, judge, judge_report

__all__ = [
    "VERDICTS",
    "AdblockFeature",
    "AdblockState",
    "Evidence",
    "Report",
    "Verdict",
    "judge",
    "judge_report",
]


class AdblockFeature:
    """The adblock pieces built from one policy, for the middleware to place.

    `assets_prefix` is where `routes()` are mounted (the policy's prefix): bait URLs in the
    page point below it. Keyword arguments exist for tests and tuning; `previous` is the
    feature of the policy this one replaces, whose open views carry over when the secret
    keys and the store are unchanged (and are counted otherwise).
    """

    def __init__(
        self,
        policy: Policy,
        renderer: Renderer,
        assets_prefix: str,
        *,
        previous: AdblockFeature | None = None,
        counts: VerdictCounts | None = None,
        limiter: RateLimiter | None = None,
        view_ttl: float = 600.0,
        max_views: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        config = policy.adblock
        self.policy = policy
        self.enabled = config.mode != "off"
        self.cookie = AdblockCookie(policy.secret_keys, clock=clock)
        if self.enabled and previous is not None and previous.carries_over_to(policy):
            self.detector = previous.detector
            self.detector.table.ttl = view_ttl
            self.detector.table.capacity = max_views
        else:
            if previous is not None:
                previous.detector.retire()
            if counts is None:
                store = open_store(policy.audit.store) if self.enabled else None
                counts = VerdictCounts(store)
            self.detector = Detector(
                ViewTokens(policy.secret_keys, clock=clock),
                counts,
                capacity=max_views,
                ttl=view_ttl,
                clock=clock,
            )
        self.baits = Baits(
            assets_prefix,
            config.baits.script,
            config.baits.image,
            config.baits.cosmetic_class,
            self.detector,
        )
        self.notice = AdblockNotice(
            policy, renderer, assets_prefix, self.baits, self.cookie, clock=clock
        )
        self.beacon = Beacon(
            self.detector, self.cookie, limiter if limiter is not None else RateLimiter()
        )
        self.paths = config.paths
        self.exempt = config.exempt_paths

    def carries_over_to(self, policy: Policy) -> bool:
        """Whether a new policy can keep this feature's open views: they were signed with
        the same keys and are counted in the same database."""
        old = self.policy
        return (
            self.enabled
            and old.secret_keys == policy.secret_keys
            and old.audit.store == policy.audit.store
        )

    def routes(self) -> dict[str, Route]:
        """Beacon, bait script, bait image and (notice mode) dismiss, below the prefix."""
        if not self.enabled:
            return {}
        routes = {"/beacon": self.beacon.route(), **self.baits.routes()}
        if not self.notice.wall:
            routes["/adblock/dismiss"] = Route(frozenset({"POST"}), self.notice.dismiss)
        return routes

    def applies(self, path: str) -> bool:
        return (
            self.enabled and path_matches(path, self.paths) and not path_matches(path, self.exempt)
        )

    def parts(self, scope: dict[str, Any], visitor: Visitor) -> Parts | None:
        """The NoticeSource: notice markup, cosmetic bait and image bait of a new view."""
        path = scope.get("path", "/")
        if visitor.bot or not self.applies(path):
            return None  # crawlers get no notice and would only count as "unknown"
        state = self.cookie.from_header(visitor.headers.get("cookie", ""))
        token = self.detector.open(path, visitor.country)
        return Parts(body=self.notice.markup(visitor.language, state, token))

    def identify(self, visitor: Visitor) -> None:
        """Set `visitor.adblock` from the gk_adblock cookie: the last verdict or "unknown"."""
        if self.enabled:
            identify(self.cookie, visitor)

    def stage(self, app: Any) -> Any:
        """An ASGI stage that calls `identify` for every request, then `app`."""
        return AdblockStage(app, self.cookie) if self.enabled else app

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
        """Count every open view and write the pending counts (call at shutdown)."""
        await self.detector.close()
