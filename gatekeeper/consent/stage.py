"""The consent stage: reads the visitor's consent once, enforces it on every response.

It sits right after identification, so the endpoints, the notices and the app all see
`visitor.consent`. On the way out it drops the app's cookies of refused categories,
expires refused cookies the browser still holds, and records a Global Privacy Control
signal once per consent id.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..audit import ConsentEvent, ConsentLog, LogUnavailable
from ..endpoints import request_host
from ..policy import Policy
from ..visitor import SCOPE_KEY, Visitor
from .banner import Banner
from .cookies import CookieCategories, cookie_name, expiring, request_cookie_names
from .modes import Jurisdictions
from .state import Consent, ConsentCookie, ConsentState, new_consent_id

log = logging.getLogger("gatekeeper.consent")


class ConsentContext:
    """Everything built once from the policy that consent decisions need."""

    def __init__(self, policy: Policy, log: ConsentLog, banner: Banner) -> None:
        self.policy = policy
        self.log = log
        self.banner = banner
        self.cookie = ConsentCookie(policy)
        self.jurisdictions = Jurisdictions(policy.consent.modes, policy.consent.gpc_places)
        self.cookies = CookieCategories(policy.consent)
        categories = policy.consent.categories
        self.required = frozenset(n for n, c in categories.items() if c.required)
        self.optional = tuple(n for n, c in categories.items() if not c.required)
        self.sale_or_sharing = frozenset(n for n, c in categories.items() if c.sale_or_sharing)
        self.known = frozenset(categories)
        self._archived: set[str] = set()

    def consent_for(self, visitor: Visitor) -> Consent:
        state = self.cookie.from_header(visitor.headers.get("cookie", ""))
        gpc = (
            visitor.gpc
            and self.policy.consent.gpc == "honor"
            and self.jurisdictions.honours_gpc(visitor)
        )
        return Consent(
            mode=self.jurisdictions.mode(visitor),
            state=state,
            required=self.required,
            sale_or_sharing=self.sale_or_sharing,
            gpc=gpc,
            known=self.known,
        )

    def set_cookie(self, state: ConsentState, secure: bool) -> bytes:
        settings = self.policy.consent.cookie
        parts = [
            f"{settings.name}={self.cookie.dumps(state)}",
            f"Max-Age={self.cookie.max_age}",
            f"Path={settings.path}",
            f"SameSite={settings.same_site.capitalize()}",
            "HttpOnly",
        ]
        if settings.domain:
            parts.append(f"Domain={settings.domain}")
        if settings.secure == "always" or (settings.secure == "auto" and secure):
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")

    async def record(
        self,
        visitor: Visitor,
        scope: dict[str, Any],
        *,
        consent_id: str,
        event: str,
        categories: dict[str, bool],
        method: str,
        mode: str,
        now: float,
    ) -> None:
        """Write one event to the log; raises LogUnavailable when it cannot be kept."""
        language = visitor.language
        texts_hash = self.banner.hashes[language]
        if texts_hash not in self._archived:
            await self.log.archive_texts(
                self.policy.site.revision, language, self.banner.texts[language]
            )
            self._archived.add(texts_hash)
        decided = datetime.fromtimestamp(now, UTC)
        await self.log.append(
            ConsentEvent(
                consent_id=consent_id,
                event=event,  # type: ignore[arg-type]
                categories=categories,
                method=method,
                revision=self.policy.site.revision,
                texts_hash=texts_hash,
                language=language,
                mode=mode,
                country=visitor.country,
                subdivision=visitor.subdivision,
                ip=str(visitor.ip) if visitor.ip else None,
                user_agent=visitor.headers.get("user-agent", ""),
                path=scope.get("path", "/"),
                valid_until=decided + timedelta(seconds=self.cookie.max_age),
            )
        )


def _is_page_view(scope: dict[str, Any], visitor: Visitor) -> bool:
    if scope["method"] != "GET":
        return False
    dest = visitor.headers.get("sec-fetch-dest")
    if dest is not None:
        return dest == "document"
    return "text/html" in visitor.headers.get("accept", "")


class ConsentStage:
    def __init__(self, app: Any, context: ConsentContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        visitor: Visitor = scope[SCOPE_KEY]
        consent = self.context.consent_for(visitor)
        visitor.consent = consent
        extra: list[tuple[bytes, bytes]] = []
        if consent.gpc and self.context.sale_or_sharing and _is_page_view(scope, visitor):
            cookie = await self._record_gpc(scope, visitor, consent)
            if cookie is not None:
                extra.append((b"set-cookie", cookie))
        refused = [
            name
            for name in request_cookie_names(visitor.headers.get("cookie", ""))
            if not consent.allows(self.context.cookies.category(name))
        ]
        if refused:
            extra.extend(expiring(refused, request_host(scope)))
        categories = self.context.cookies

        async def enforce(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                original = list(message.get("headers", []))
                headers = [
                    (name, value)
                    for name, value in original
                    if name.lower() != b"set-cookie"
                    or consent.allows(categories.category(cookie_name(value)))
                ]
                if (extra or len(headers) != len(original)) and not _varies_on_cookie(headers):
                    # What this response sets now depends on the visitor's cookie: a shared
                    # cache must not hand it to someone else.
                    headers.append((b"vary", b"Cookie"))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, enforce)

    async def _record_gpc(
        self, scope: dict[str, Any], visitor: Visitor, consent: Consent
    ) -> bytes | None:
        """Log the GPC opt-out once per consent id; the cookie remembers that it was."""
        state = consent.state
        if state is not None and state.gpc_recorded:
            return None
        now = time.time()
        consent_id = state.consent_id if state else new_consent_id()
        try:
            await self.context.record(
                visitor,
                scope,
                consent_id=consent_id,
                event="gpc",
                categories=consent.categories(),
                method="gpc@header",
                mode=consent.mode,
                now=now,
            )
        except LogUnavailable as exc:
            # The opt-out holds anyway (GPC never needs a record to refuse); we try to
            # record it again on the next page view.
            log.warning("GPC signal not recorded, will retry: %s", exc)
            return None
        if state is None:
            state = ConsentState(
                consent_id=consent_id,
                revision=self.context.policy.site.revision,
                choices={},
                decided_at=int(now),
                mode=consent.mode,
                gpc_recorded=True,
                decided=False,
            )
        else:
            state = replace(state, gpc_recorded=True)
        consent.state = state
        return self.context.set_cookie(state, scope.get("scheme") == "https")


def _varies_on_cookie(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"vary":
            fields = {field.strip().lower() for field in value.split(b",")}
            if b"cookie" in fields or b"*" in fields:
                return True
    return False
