"""The auditor view: a read-only HTML view of the consent log under `{prefix}/audit`.

Off unless `policy.audit.view.enabled`, and never open: it answers only requests that
carry the configured token (`Authorization: Bearer ...`, `?token=`, or the cookie a
`?token=` visit leaves) or HTTP Basic credentials (access.py). Enabled without any
credential, it refuses every request with 403 and says why.

    /audit                 records, filtered (dates, event, mode, country, consent id),
                           paged by sequence number (`after`)            records.py
    /audit/consent?id=...  one consent id's history, with the texts shown   consent.py
    /audit/verify          runs verification: OK, or the findings            verify.py
    /audit/stats           decisions by day, mode and choice; charts         stats.py
    /audit/adblock         adblock verdicts and blocked rates                adblock.py
    /audit/cookies         the cookie inventory, unlisted cookies flagged    cookies.py
    /audit/export.jsonl    the filtered export, verifiable offline           downloads.py
    /audit/export.csv      the same records for spreadsheets                 downloads.py
    /audit/report.html     the evidence report for a period, one HTML file   downloads.py

Every value in a record that a visitor chose (user agent, path, consent id) is rendered
through Jinja2's autoescape. The pages need no JavaScript and no inline styles (charts are
inline SVG with presentation attributes), so they carry a strict Content-Security-Policy.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ...endpoints import BadRequest, Request, Response, Route, redirect
from ...html.render import Renderer
from ...i18n import builtin
from ...policy import Policy
from ..log import ConsentLog
from ..store import LogUnavailable
from . import adblock, consent, cookies, downloads, records, stats, verify
from .access import COOKIE, SESSION_SECONDS, Access
from .frame import Frame, Handler, auditor_languages

__all__ = ["COOKIE", "SESSION_SECONDS", "AuditorView"]

log = logging.getLogger("gatekeeper.audit")

CSP = (
    b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'"
)
# nosniff is on every answer under the prefix already (endpoints.response_headers).
SECURITY_HEADERS = (
    (b"content-security-policy", CSP),
    (b"x-robots-tag", b"noindex, nofollow"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)

PAGES: dict[str, Handler] = {
    "/audit": records.records,
    "/audit/consent": consent.consent,
    "/audit/verify": verify.verify,
    "/audit/stats": stats.stats,
    "/audit/adblock": adblock.adblock,
    "/audit/cookies": cookies.cookies,
    "/audit/export.jsonl": downloads.export_jsonl,
    "/audit/export.csv": downloads.export_csv,
    "/audit/report.html": downloads.report,
}


class AuditorView:
    """The auditor view's routes, for the endpoints stage; none when it is disabled.

    `adblock_rates`, when given, reads the adblock verdict counts as plain data (the
    feature supplies it; this package does not import it): `by_day`, `by_country` and
    `by_path`, lists of rows with `key`, a count per verdict, `views` and `blocked_rate`
    (None when nothing was judged), and `total`; None when detection is off.

    `cookie_inventory`, when given (consent is on), reads the cookie inventory in a
    language, as plain data too: `app` (rows with `name`, `category`, `unlisted`, `path`,
    `domain`, `attributes`, `first_seen`, `last_seen`), `gatekeeper` (rows with `name`,
    `category`, `lifetime`, `purpose`) and `unlisted_cookies`.
    """

    def __init__(
        self,
        policy: Policy,
        log: ConsentLog,
        renderer: Renderer,
        css_url: str,
        *,
        adblock_rates: Callable[[], Awaitable[Mapping[str, Any] | None]] | None = None,
        cookie_inventory: Callable[[str], Awaitable[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.policy = policy
        self.log = log
        self.enabled = policy.audit.view.enabled
        self.base = policy.prefix + "/audit"
        self.access = Access(policy, self.base)
        self.frame = Frame(
            policy, log, renderer, css_url, self.base, adblock_rates,
            languages=auditor_languages(policy), cookie_inventory=cookie_inventory,
        )  # fmt: skip

    def routes(self) -> dict[str, Route]:
        if not self.enabled:
            return {}
        get = frozenset({"GET"})
        return {path: Route(get, self._guarded(handler)) for path, handler in PAGES.items()}

    def _guarded(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def answer(request: Request) -> Response:
            response = await self._answer(request, handler)
            response.headers.extend(SECURITY_HEADERS)
            return response

        return answer

    async def _answer(self, request: Request, handler: Handler) -> Response:
        frame = self.frame.speaking(request)
        if not self.access.configured:
            return frame.page(
                "audit_error.html",
                status=403,
                title=builtin("Auditor view not configured"),
                message=builtin(
                    "The auditor view is enabled, but the policy sets no credentials for it. "
                    "Set audit.view.token, or audit.view.username and audit.view.password; "
                    "until then it refuses every request."
                ),
                login=False,
                nav=False,
            )
        verdict = self.access.check(request)
        if not verdict.allowed:
            if verdict.presented:
                log.warning("auditor view: wrong credentials from %s", request.visitor.ip)
            response = frame.page(
                "audit_error.html",
                status=401,
                title=builtin("Sign in to the auditor view"),
                message=(
                    builtin("Those credentials were not accepted.")
                    if verdict.presented
                    else builtin(
                        "The consent log is only shown to auditors with the access token "
                        "or the user name and password from the site's policy."
                    )
                ),
                login=self.access.token is not None,
                login_action=request.scope["path"],
                login_keep=[(k, v) for k, v in request.query().items() if k != "token"],
                nav=False,
            )
            response.headers.extend(self.access.challenges(verdict.presented))
            return response
        if verdict.set_cookie and request.visitor.headers.get("sec-fetch-site") in (
            "none",
            "same-origin",
        ):
            # Typed, bookmarked or from the sign-in form: take the token out of the address
            # bar and history. A link from another site is answered in place instead: a
            # SameSite=Strict cookie would not come along on the redirect of a cross-site
            # navigation.
            response = redirect(self._without_token(request))
            response.set_cookie(self.access.set_cookie(request.secure))
            return response
        try:
            response = await handler(frame, request)
        except BadRequest as exc:
            response = frame.page(
                "audit_error.html",
                status=exc.status,
                title=builtin("That request cannot be answered"),
                message=exc.reason,
                login=False,
                nav=True,
            )
        except LogUnavailable as exc:
            log.warning("auditor view: the consent log is unavailable: %s", exc)
            response = frame.page(
                "audit_error.html",
                status=503,
                title=builtin("The consent log cannot be read right now"),
                message=builtin("The consent log did not answer. Try again in a moment."),
                login=False,
                nav=True,
            )
        if verdict.set_cookie:
            response.set_cookie(self.access.set_cookie(request.secure))
        return response

    def _without_token(self, request: Request) -> str:
        raw = request.scope.get("query_string", b"").decode("latin-1")
        kept = [(k, v) for k, v in parse_qsl(raw, keep_blank_values=True) if k != "token"]
        return request.scope["path"] + (f"?{urlencode(kept)}" if kept else "")
