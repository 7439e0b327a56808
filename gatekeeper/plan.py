"""A policy revision compiled for the request path.

Everything that depends only on the policy is done here, once per revision: the visitor
identifier and its caches, the features, every notice rendered into fragments per
language and variant, the country rules, the routes. The per-request responder
(middleware.py) only reads a `Plan`.

Features plug in through one small protocol, each part optional:

- `read(visitor)`: set what the feature reads from the request (`visitor.consent`,
  `visitor.adblock`), from the visitor alone: the answer is remembered for the same
  request bytes (`Visitors`), for as long as the feature's `fresh_until(visitor)` says;
- `routes()`: its endpoints below the prefix;
- notice sources (gatekeeper.notices) for the parts of a page;
- a response gate (consent: `cookie_headers` and `transform`);
- `close()`: at shutdown (or when a resource it owns is replaced).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from urllib.parse import quote

from starlette.types import ASGIApp

from .adblock import AdblockFeature
from .adblock.detector import Detector
from .adblock.stats import VerdictCounts
from .adblock.token import ViewTokens
from .audit import ConsentLog
from .audit.view import AuditorView
from .consent import ConsentFeature
from .consent.tcf_flow import TC_COOKIE
from .counters import Counters, open_counter_store
from .endpoints import Endpoints, Route, safe_next
from .geo import GeoDatabaseError, GeoReader
from .geo.anonymous import AnonymousReader, open_anonymous
from .geoblock import BlockCounter, CountryRules, Refusal
from .html.assets import Assets
from .html.render import Renderer
from .html.splice import Placements
from .http import CookieJar
from .language import LanguageNegotiator
from .limits import Limits
from .memo import Memo
from .net import ProxyTrust
from .notices import DISMISSED_COOKIE, NoticeSource
from .notices.adblock import AdblockNotice
from .notices.banner import ConsentBanner
from .notices.bar import NotificationBar
from .notices.block import BlockPage
from .notices.compose import Notices
from .notices.offline import OfflineNotice
from .notices.tcf import TcfNotice
from .policy import Policy
from .resources import Resources
from .shared import SharedStore
from .tcf import GvlFile
from .visitor import DEBUG_COOKIE, Identifier, Visitor, Visitors

log = logging.getLogger("gatekeeper")

ADBLOCK_COOKIE = "gk_adblock"
# Every cookie gatekeeper itself sets: strictly necessary, by exact name.
OWN_COOKIES = (ADBLOCK_COOKIE, DISMISSED_COOKIE, "gk_audit", DEBUG_COOKIE, TC_COOKIE)
_PATH_SAFE = "/-._~!$&'()*+,;=:@%"


def open_geo(policy: Policy) -> GeoReader | None:
    """The policy's GeoIP reader, or None when there is none to use (see geoip.on_missing)."""
    config = policy.geoip
    if config.database is None:
        return None
    try:
        return GeoReader(
            config.database, cache_size=config.cache_size, check_interval=config.check_interval
        )
    except GeoDatabaseError as exc:
        if config.on_missing == "error":
            raise
        log.warning("%s; every location is unknown (geoip.on_missing: %s)", exc, config.on_missing)
        return None


def _next_values(key: tuple[str, bytes]) -> tuple[bytes, bytes]:
    """The `next` and `next_q` slot values of a page: where its forms return to."""
    path, query = key
    here = quote(path, safe=_PATH_SAFE)
    if query:
        here += "?" + query.decode("latin-1")
    target = safe_next(here)
    return html.escape(target).encode(), html.escape(quote(target, safe="/")).encode()


class Plan:
    """One policy revision, compiled."""

    def __init__(self, app: ASGIApp, policy: Policy, resources: Resources) -> None:
        self.app = app
        self.policy = policy
        self.prefix = policy.prefix
        config = policy.geoip
        self.geo: GeoReader | None = resources.get(
            ("geoip", config.database, config.on_missing, config.cache_size, config.check_interval),
            lambda: open_geo(policy),
        )
        anonymous: AnonymousReader | None = resources.get(
            (
                "anonymous",
                config.anonymous_database,
                config.on_missing,
                config.cache_size,
                config.check_interval,
            ),
            lambda: open_anonymous(config),
        )
        renderer = Renderer(
            default_language=policy.languages.default, directory=policy.templates.directory
        )
        assets = Assets(policy.prefix, policy.templates.directory)
        css_url = assets.url("gatekeeper.css")
        self.log: ConsentLog = resources.get(
            ("consent-log", policy.audit), lambda: ConsentLog.from_policy(policy)
        )

        # What processes and hosts share: counts in the audit.store database, limits (and
        # re-checked adblock views) in shared.redis when it is set.
        shared = policy.shared
        self.shared: SharedStore | None = resources.get(
            ("shared", shared.redis, shared.namespace),
            lambda: SharedStore(shared.redis, namespace=shared.namespace) if shared.redis else None,
        )
        store = policy.audit.store
        self.counters: Counters = resources.get(
            ("counters", store), lambda: Counters(open_counter_store(store))
        )
        self.counters.interval = shared.flush_seconds
        self.limits: Limits = resources.get(
            ("limits", policy.limits, shared.redis, shared.namespace),
            lambda: Limits(policy, self.shared),
        )
        self.consent: ConsentFeature | None = None
        if policy.consent.enabled:
            self.consent = ConsentFeature(
                policy,
                self.log,
                renderer,
                css_url,
                own_cookies={
                    **dict.fromkeys(OWN_COOKIES),
                    ADBLOCK_COOKIE: policy.adblock_category(),
                },
                counters=self.counters,
                gpc_limit=self.limits.gpc,
                gvl=self._gvl(policy, resources),
            )
        self.adblock = AdblockFeature(policy, detector=self._detector(policy, resources))
        bar = NotificationBar(
            policy.notifications, renderer, policy.languages.available, policy.prefix
        )
        self.assets = assets
        self.auditor_view = auditor_view = AuditorView(
            policy,
            self.log,
            renderer,
            assets.url("audit.css"),
            adblock_rates=self.adblock.rates,
            cookie_inventory=self.consent.inventory_report if self.consent else None,
        )

        sources: list[NoticeSource] = [bar]
        routes: dict[str, Route] = {**bar.routes(), **auditor_view.routes()}
        readers: list[Callable[[Visitor], None]] = []
        until: list[Callable[[Visitor], float]] = []
        stamps: list[Callable[[], object]] = []
        if self.consent is not None:
            banner = ConsentBanner(policy, renderer)
            tcf = self.consent.tcf
            sources.append(
                banner
                if tcf is None
                else TcfNotice(banner, tcf, policy, renderer, assets.url("tcf.js"))
            )
            routes.update(self.consent.routes())
            readers.append(self.consent.read)
            until.append(self.consent.fresh_until)
            if tcf is not None:
                stamps.append(lambda: tcf.edition)
        if self.adblock.enabled:
            sources.append(AdblockNotice(policy, renderer, self.adblock))
            routes.update(self.adblock.routes())
            readers.append(self.adblock.read)
        if policy.offline_notice.enabled:
            sources.append(OfflineNotice(policy, renderer))
        self.readers = tuple(readers)
        self.notices = Notices(
            sources,
            renderer,
            policy.languages.available,
            css_url=css_url,
            js_url=assets.url("gatekeeper.js"),
        )
        self.endpoints = Endpoints(policy.prefix, self.limits.apply(routes), static=assets.file)
        self.rules = CountryRules(policy, anonymous=anonymous, geo_available=self.geo is not None)
        self.refusal = Refusal(
            policy,
            page=BlockPage(policy, renderer, css_url).render,
            counter=resources.get(
                ("block-counter", policy.audit.store), lambda: BlockCounter(self.counters)
            ),
        )
        self.identifier = Identifier(
            proxies=ProxyTrust(policy.trusted_proxies, policy.proxy_headers),
            geo=self.geo,
            languages=LanguageNegotiator(policy.languages.available, policy.languages.default),
            cookies=CookieJar(),
            debug=policy.debug,
        )
        self.visitors = Visitors(self.identifier, self.readers, tuple(until), tuple(stamps))
        self.next_values: Mapping[tuple[str, bytes], tuple[bytes, bytes]] = Memo(_next_values, 4096)
        self.max_hold = 64 * 1024
        self.placements = Placements()  # where snippets go in pages served before

    @staticmethod
    def _gvl(policy: Policy, resources: Resources) -> GvlFile | None:
        """The vendor list where TCF is on, kept across revisions and re-read when
        `gatekeeper tcf update` replaces the file."""
        settings = policy.tcf
        if not settings.enabled:
            return None
        path, interval = settings.gvl.file, settings.gvl.check_interval
        return resources.get(("tcf-gvl", path, interval), lambda: GvlFile(path, interval=interval))

    def _detector(self, policy: Policy, resources: Resources) -> Detector | None:
        """The adblock tokens and counts, kept while the keys and the stores stay the same."""
        if policy.adblock.mode == "off":
            return None

        def open_detector() -> Detector:
            tokens = ViewTokens(policy.secret_keys)
            return Detector(tokens, VerdictCounts(self.counters), shared=self.shared)

        key = ("adblock-detector", policy.secret_keys, policy.audit.store, policy.shared.redis)
        return resources.get(key, open_detector)

    async def close(self) -> None:
        """Nothing of its own: resources are closed by their owner."""
