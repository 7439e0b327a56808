"""The ASGI entry point. Only this module knows the order of the stages."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from .adblock import AdblockFeature
from .audit import ConsentLog
from .audit.view import AuditorView
from .consent import ConsentFeature
from .endpoints import Endpoints
from .geo import GeoDatabaseError, GeoReader
from .geo.anonymous import open_anonymous
from .geoblock import CountryRules, GeoBlock
from .html import HTMLInjector
from .html.assets import Assets
from .html.render import Renderer
from .language import LanguageNegotiator
from .net import ProxyTrust
from .notices import BlockPage, Gate, Notices, NoticeSource, NotificationBar, OfflineNotice
from .policy import LoadedPolicy, Policy, PolicyFile
from .startup import check_startup, startup_error
from .visitor import SCOPE_KEY, Identify

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("gatekeeper")


def open_geo(policy: Policy, previous: GeoReader | None = None) -> GeoReader | None:
    """The policy's GeoIP reader, or None when there is none to use (see geoip.on_missing)."""
    config = policy.geoip
    if config.database is None:
        return None
    if previous is not None and previous.path == config.database:
        return previous  # one shared memory map; it watches its own file for replacement
    try:
        return GeoReader(
            config.database, cache_size=config.cache_size, check_interval=config.check_interval
        )
    except GeoDatabaseError as exc:
        if config.on_missing == "error":
            raise
        log.warning("%s; every location is unknown (geoip.on_missing: %s)", exc, config.on_missing)
        return None


class Stack:
    """The stages built from one policy, outermost first:

    identify the visitor -> own endpoints -> country rules -> response filters -> the app.
    """

    def __init__(self, app: ASGIApp, policy: Policy, *, previous: Stack | None = None) -> None:
        self.policy = policy
        self.geo = open_geo(policy, previous.geo if previous else None)
        self.anonymous = open_anonymous(policy.geoip, previous.anonymous if previous else None)
        renderer = Renderer(
            default_language=policy.languages.default, directory=policy.templates.directory
        )
        self.assets = Assets(policy.prefix, policy.templates.directory)

        if previous is not None and previous.policy.audit == policy.audit:
            self.log = previous.log
        else:
            self.log = ConsentLog.from_policy(policy)
        consent = (
            ConsentFeature(policy, self.log, renderer, self.assets.url("gatekeeper.css"))
            if policy.consent.enabled
            else None
        )
        notifications = NotificationBar(
            policy.notifications, renderer, policy.languages.available, policy.prefix
        )
        self.adblock = AdblockFeature(
            policy, renderer, policy.prefix, previous=previous.adblock if previous else None
        )
        self.auditor_view = AuditorView(
            policy,
            self.log,
            renderer,
            self.assets.url("audit.css"),
            adblock_rates=self.adblock.rates,
        )
        sources: list[NoticeSource] = [notifications]
        gates: list[Gate] = []
        routes = {**notifications.routes(), **self.auditor_view.routes()}
        if consent is not None:
            sources.append(consent.banner)
            gates.append(consent.gate)
            routes.update(consent.routes())
        sources.append(self.adblock)
        routes.update(self.adblock.routes())
        if policy.offline_notice.enabled:
            sources.append(OfflineNotice(policy, renderer))
        notices = Notices(sources, renderer, self.assets, policy.languages.available, gates=gates)

        inner: ASGIApp = HTMLInjector(app, notices)
        self.geoblock = GeoBlock(
            inner,
            CountryRules(policy, anonymous=self.anonymous, geo_available=self.geo is not None),
            page=BlockPage(policy, renderer, self.assets).render,
            policy=policy,
            counter=previous.geoblock.counter if previous else None,  # counts survive reloads
        )
        inner = self.geoblock
        inner = Endpoints(inner, policy.prefix, routes, static=self.assets.serve)
        inner = self.adblock.stage(inner)  # visitor.adblock for the endpoints and the app
        if consent is not None:
            inner = consent.stage(inner)
        self.entry: ASGIApp = Identify(
            inner,
            proxies=ProxyTrust(policy.trusted_proxies, policy.proxy_headers),
            geo=self.geo,
            languages=LanguageNegotiator(policy.languages.available, policy.languages.default),
            debug=policy.debug,
        )


class Gatekeeper:
    """Wraps an ASGI app with consent, adblock detection, country rules and notices.

    `policy` is a path to a policy YAML file (re-read when it changes) or a `Policy`.
    Websocket and lifespan traffic passes through untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        policy: str | os.PathLike[str] | Policy,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self._file: PolicyFile | None = None
        source = "<policy>"
        if isinstance(policy, Policy):
            check_startup(LoadedPolicy(policy, source))
            current = policy
        else:
            source = str(policy)
            # Loads and checks now (PolicyError: one line per problem); reloads later
            # happen in a worker thread, checked the same way.
            self._file = PolicyFile(policy, env=env, check=check_startup)
            current = self._file.policy
        self._offered = current  # the newest policy the stack was built from, or tried
        try:
            self._stack = Stack(app, current)
        except Exception as exc:  # one line, as for the checks above, not a traceback
            log.debug("start-up failed", exc_info=exc)
            raise startup_error(source, exc, current.templates.directory) from None

    @property
    def policy(self) -> Policy:
        return self._stack.policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._on_shutdown(receive), send)
            return
        # Wrapped twice (an app wrapped in code, then by `gatekeeper serve`): the outer
        # layer has done everything already.
        if scope["type"] != "http" or SCOPE_KEY in scope:
            await self.app(scope, receive, send)
            return
        if self._file is not None:
            latest = self._file.current()  # never reads or parses: see PolicyFile
            if latest is not self._offered:
                self._offered = latest
                self._apply(latest)
        await self._stack.entry(scope, receive, send)

    def _on_shutdown(self, receive: Receive) -> Receive:
        """The app's lifespan `receive`; at shutdown it first counts the adblock views still
        open and writes the pending counts (under servers without lifespan those are lost)."""

        async def receive_then_close() -> MutableMapping[str, Any]:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self._stack.adblock.close()
            return message

        return receive_then_close

    def _apply(self, policy: Policy) -> None:
        try:
            self._stack = Stack(self.app, policy, previous=self._stack)
        except Exception as exc:
            # A valid file can still fail to apply (its new GeoIP database is missing):
            # the site keeps running on the previous policy.
            log.error("policy revision %s not applied: %s", policy.site.revision, exc)
