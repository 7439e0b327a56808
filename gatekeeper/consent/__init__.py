"""Cookie consent: the signed state, jurisdictions, GPC, the endpoints, Consent Mode v2
and server-side enforcement (cookies and tagged scripts of refused categories never
reach the browser).

The feature plugs into the request path through the feature protocol: `read(visitor)`
sets `visitor.consent` on every request; `routes()` are the consent endpoints, which
replace `visitor.consent` when the visitor decides; `cookie_headers(...)` and
`transform(...)` enforce on the response whatever `visitor.consent` says when the
response starts — one source of truth for the whole request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..audit import ConsentEvent, ConsentLog, LogUnavailable
from ..counters import Counters, Table, day_of
from ..endpoints import Route
from ..html.marker import chained
from ..html.render import Renderer
from ..html.stream import Transform
from ..http import Headers, expire_cookies, request_host, set_cookie, valid_host, vary_with
from ..limits import Limit
from ..memo import Memo
from ..notices.banner import consent_mode_keys
from ..policy import Policy
from ..tcf.consent import TcfConsent
from ..tcf.gvl import GvlFile
from ..visitor import Visitor
from .cookie_table import CookieTable, localised_attributes, localised_lifetime
from .cookies import CookieCategories, cookie_name
from .endpoints import ConsentEndpoints
from .gate import ScriptGate
from .inventory import UNLISTED, CookieInventory, span
from .inventory import own_cookies as own_cookies_of
from .modes import Jurisdictions
from .state import Consent, ConsentCookie, ConsentState, new_consent_id
from .tcf_flow import TC_COOKIE, TcfFlow
from .texts import ShownTexts

__all__ = ["GPC_SIGNALS", "Consent", "ConsentCookie", "ConsentFeature", "ConsentState"]

GPC_SIGNALS = Table("gpc_signals", ("day", "country", "kind"))
"""GPC signals honoured per day and country, by kind: `pending` (a request without a
consent cookie: honoured, answered with a cookie, nothing written), `recorded` (a record
written to the consent log), `deferred` (over the limit, or the log was down: written on
a later page view)."""

log = logging.getLogger("gatekeeper.consent")


class ConsentFeature:
    """Everything consent built from one policy."""

    def __init__(
        self,
        policy: Policy,
        log: ConsentLog,
        renderer: Renderer,
        css_url: str,
        *,
        own_cookies: Mapping[str, str | None] | Iterable[str] = (),
        counters: Counters | None = None,
        gpc_limit: Limit | None = None,
        gvl: GvlFile | None = None,
    ) -> None:
        """`gvl`: the vendor list, where the policy turns TCF on (tcf_flow.py)."""
        self.policy = policy
        # Where GPC signals without a record are counted, and the limit on writing them.
        self.counters = counters
        self.gpc_limit = gpc_limit
        self.log = log
        self.cookie = ConsentCookie(policy)
        self.jurisdictions = Jurisdictions(policy.consent.modes, policy.consent.gpc_places)
        self.categories = CookieCategories(policy.consent, own_cookies)
        own = own_cookies if isinstance(own_cookies, Mapping) else dict.fromkeys(own_cookies)
        self.inventory = CookieInventory(
            counters,
            self.categories.category,
            self.categories.known,
            own=(policy.consent.cookie.name, *own),
        )
        categories = policy.consent.categories
        self.required = frozenset(n for n, c in categories.items() if c.required)
        self.optional = tuple(n for n, c in categories.items() if not c.required)
        self.sale_or_sharing = frozenset(n for n, c in categories.items() if c.sale_or_sharing)
        self.known = frozenset(categories)
        self.honour_gpc = policy.consent.gpc == "honor"
        self.texts = ShownTexts(policy)
        self.keys = consent_mode_keys(policy)
        self.script_gate = ScriptGate({n: c.hosts for n, c in categories.items() if c.hosts})
        self.gated = bool(self.script_gate.hosts.patterns) or bool(self.optional)
        self.tcf = TcfFlow(self, gvl, renderer, css_url) if gvl is not None else None
        self.endpoints = ConsentEndpoints(self, renderer, css_url)
        self.own_cookies = own_cookies_of(policy, own, TC_COOKIE if self.tcf is not None else None)
        self.cookie_table = CookieTable(policy, self.inventory, self.own_cookies, renderer, css_url)
        self._archived: set[str] = set()
        self._consents: Memo[tuple[str | None, str, bool], Consent] = Memo(self._consent, 8192)
        self._hosts: Memo[bytes, str | None] = Memo(
            lambda raw: valid_host(raw.decode("latin-1")), 1024
        )
        self._refused: Memo[tuple[bytes, frozenset[str]], tuple[str, ...]] = Memo(
            self._refused_names, 4096
        )

    # -- reading the request ------------------------------------------------------------

    def read(self, visitor: Visitor) -> None:
        value = visitor.cookies.get(self.cookie.name)
        state_value = value if value is not None and self.cookie.loads(value) else None
        places = visitor.places
        mode = self.jurisdictions.mode(places)
        gpc = visitor.gpc and self.honour_gpc and self.jurisdictions.honours_gpc(places)
        visitor.consent = self._consents[(state_value, mode, gpc)]
        if self.tcf is not None:
            self.tcf.read(visitor)

    def fresh_until(self, visitor: Visitor) -> float:
        """Until when `read` gives the same answer for the same request bytes: the
        consent cookie's expiry (an invalid one stays invalid)."""
        value = visitor.cookies.get(self.cookie.name)
        expiry = self.cookie.expiry(value) if value else None
        return expiry if expiry is not None else float("inf")

    def _consent(self, key: tuple[str | None, str, bool]) -> Consent:
        value, mode, gpc = key
        return self.consent(self.cookie.loads(value) if value else None, mode, gpc)

    def consent(self, state: ConsentState | None, mode: str, gpc: bool) -> Consent:
        return Consent(
            mode=mode,
            state=state,
            required=self.required,
            sale_or_sharing=self.sale_or_sharing,
            gpc=gpc,
            known=self.known,
        )

    def routes(self) -> dict[str, Route]:
        return {**self.endpoints.routes(), **self.cookie_table.routes()}

    async def inventory_report(self, language: str) -> dict[str, Any]:
        """The cookie inventory for the auditor view, in `language`: `app` (what the app
        was seen setting, each with `unlisted`), `gatekeeper` (its own cookies, purpose
        and lifetime translated) and `unlisted_cookies` (what unlisted ones count as).
        Raises StoreUnavailable."""
        messages = self.cookie_table.renderer.catalogue(language)
        found = await self.inventory.load()
        return {
            "app": [
                {
                    **s.to_dict(),
                    "attributes": localised_attributes(s.attributes, messages),
                }
                for s in found
            ],
            "gatekeeper": [
                {
                    **c.to_dict(),
                    "purpose": messages.gettext(c.purpose.msgid),
                    "lifetime": localised_lifetime(span(c.seconds), messages),
                }
                for c in self.own_cookies
            ],
            "unlisted_cookies": self.policy.consent.unlisted_cookies,
            "unlisted": sum(1 for s in found if s.category == UNLISTED),
        }

    # -- enforcing on the response ------------------------------------------------------

    def cookie_headers(
        self,
        visitor: Visitor,
        headers: Headers,
        scope: Mapping[str, Any],
        cookies: Sequence[bytes] | None = None,
    ) -> Headers:
        """The response's headers with Set-Cookie of refused categories dropped, refused
        cookies the browser still holds expired, and Vary: Cookie when either happened.
        `cookies`: the Set-Cookie values, when the caller has read them already.
        Returns `headers` itself when nothing changes."""
        consent = visitor.consent
        if not isinstance(consent, Consent) or not consent.refuses_any:
            return headers
        allows, category = consent.allows, self.categories.category
        if cookies is not None and not cookies:
            kept = headers  # nothing to drop
        else:
            kept = [
                header
                for header in headers
                if header[0].lower() != b"set-cookie" or allows(category(cookie_name(header[1])))
            ]
        raw = visitor.raw_headers.get(b"cookie")
        refused = self._refused[(raw, consent.allowed)] if raw else ()
        if not refused and len(kept) == len(headers):
            return headers
        expired = expire_cookies(refused, self.host(visitor, scope)) if refused else []
        return vary_with(kept) + expired

    def host(self, visitor: Visitor, scope: Mapping[str, Any]) -> str | None:
        """The request's validated Host (`request_host`), remembered per Host header."""
        raw = visitor.raw_headers.get(b"host")
        return self._hosts[raw] if raw is not None else request_host(scope)

    def _refused_names(self, key: tuple[bytes, frozenset[str]]) -> tuple[str, ...]:
        raw, allowed = key
        names = []
        for item in raw.decode("latin-1").split(";"):
            name = item.strip().partition("=")[0].strip()
            if name and self.categories.category(name) not in allowed and name not in names:
                names.append(name)
        return tuple(names)

    def transform(self, visitor: Visitor, scope: Mapping[str, Any]) -> Transform | None:
        """The script gate for an HTML body, or None when nothing is refused. Where TCF
        applies, vendor tags are gated by `visitor.tcf` too. On the privacy page, the
        cookie table's marker is replaced after the gate (cookie_table.py)."""
        return chained(self._gate(visitor, scope), self.cookie_table.transform(visitor, scope))

    def _gate(self, visitor: Visitor, scope: Mapping[str, Any]) -> Transform | None:
        consent = visitor.consent
        if not isinstance(consent, Consent):
            return None
        tcf = visitor.tcf
        vendors = tcf.allows if isinstance(tcf, TcfConsent) and tcf.applies else None
        if vendors is None and (not self.gated or not consent.refuses_any):
            return None
        host = self.host(visitor, scope)
        page_host = host.rsplit(":", 1)[0] if host and not host.startswith("[") else host
        return self.script_gate.stream(
            consent.allows, tcf=vendors, page_host=page_host, allowed=consent.allowed
        )

    # -- the consent log ----------------------------------------------------------------

    def state_cookie(self, state: ConsentState, secure: bool) -> tuple[bytes, bytes]:
        settings = self.policy.consent.cookie
        return set_cookie(
            settings.name,
            self.cookie.dumps(state),
            max_age=self.cookie.max_age,
            path=settings.path,
            domain=settings.domain,
            secure=settings.secure == "always" or (settings.secure == "auto" and secure),
            same_site=settings.same_site.capitalize(),  # type: ignore[arg-type]
        )

    async def record(
        self,
        visitor: Visitor,
        *,
        page: str,
        consent_id: str,
        event: str,
        categories: Mapping[str, bool],
        method: str,
        mode: str,
        now: float,
        shown: tuple[str, Mapping[str, str]] | None = None,
        tc_string: str | None = None,
        gpp_string: str | None = None,
    ) -> None:
        """Write one event to the log; raises LogUnavailable when it cannot be kept.

        `shown` is (hash, texts) of what the visitor saw when it was not the banner (the
        TCF notice); `tc_string` and `gpp_string` what ad tech reads of the decision.
        Without TCF strings, the GPP string is the usnat section where it applies."""
        language = visitor.language
        texts_hash, texts = shown or (self.texts.hashes[language], self.texts.texts[language])
        if texts_hash not in self._archived:
            await self.log.archive_texts(self.policy.site.revision, language, texts)
            self._archived.add(texts_hash)
        if gpp_string is None and self.tcf is not None:
            gpp_string = self.tcf.usnat_gpp(visitor, categories, decided=event != "gpc")
        decided = datetime.fromtimestamp(now, UTC)
        await self.log.append(
            ConsentEvent(
                consent_id=consent_id,
                event=event,  # type: ignore[arg-type]
                categories=dict(categories),
                method=method,
                revision=self.policy.site.revision,
                texts_hash=texts_hash,
                language=language,
                mode=mode,
                country=visitor.country,
                subdivision=visitor.subdivision,
                ip=str(visitor.ip) if visitor.ip else None,
                user_agent=visitor.header(b"user-agent"),
                path=page,
                valid_until=decided + timedelta(seconds=self.cookie.max_age),
                tc_string=tc_string,
                gpp_string=gpp_string,
            )
        )

    def wants_gpc_record(self, visitor: Visitor, scope: Mapping[str, Any]) -> bool:
        """A page view of a GPC visitor whose signal this consent id has not recorded."""
        consent = visitor.consent
        if not isinstance(consent, Consent) or not consent.gpc or not self.sale_or_sharing:
            return False
        if consent.state is not None and consent.state.gpc_recorded:
            return False
        if scope["method"] != "GET":
            return False
        dest = visitor.raw_headers.get(b"sec-fetch-dest")
        if dest is not None:
            return dest == b"document"
        return visitor.raw_headers.get(b"accept", b"").find(b"text/html") >= 0

    async def record_gpc(
        self, visitor: Visitor, scope: Mapping[str, Any]
    ) -> tuple[bytes, bytes] | None:
        """Record the GPC opt-out once per visitor; returns the consent cookie to set.

        A request without a consent cookie writes nothing: it is counted (table
        `gpc_signals`, kind `pending`) and answered with a cookie holding a new consent
        id, so a flood of cookie-less requests costs neither disk syncs nor log growth.
        The record is written when a browser comes back with that cookie (or any consent
        cookie whose id has no GPC record yet), at most `limits.gpc_records` per client
        network; the cookie then remembers it. The opt-out itself holds on every
        request either way (GPC never needs a record to refuse).
        """
        consent = visitor.consent
        assert isinstance(consent, Consent)
        state = consent.state
        now = time.time()
        secure = scope.get("scheme") == "https"
        if state is None:
            self._count_gpc(visitor, now, "pending")
            pending = ConsentState(
                consent_id=new_consent_id(),
                revision=self.policy.site.revision,
                choices={},
                decided_at=int(now),
                mode=consent.mode,
                gpc_recorded=False,
                decided=False,
            )
            visitor.consent = self.consent(pending, consent.mode, consent.gpc)
            return self.state_cookie(pending, secure)
        if self.gpc_limit is not None and not await self.gpc_limit.allow(visitor.ip):
            self._count_gpc(visitor, now, "deferred")
            return None  # written on a later page view
        try:
            await self.record(
                visitor,
                page=scope["path"],
                consent_id=state.consent_id,
                event="gpc",
                categories=consent.categories(),
                method="gpc@header",
                mode=consent.mode,
                now=now,
            )
        except LogUnavailable as exc:
            # The opt-out holds anyway; we try to record it again on the next page view.
            log.warning("GPC signal not recorded, will retry: %s", exc)
            self._count_gpc(visitor, now, "deferred")
            return None
        self._count_gpc(visitor, now, "recorded")
        state = replace(state, gpc_recorded=True)
        visitor.consent = self.consent(state, consent.mode, consent.gpc)
        return self.state_cookie(state, secure)

    def _count_gpc(self, visitor: Visitor, now: float, kind: str) -> None:
        if self.counters is not None:
            self.counters.add(GPC_SIGNALS, (day_of(now), visitor.country or "", kind))
