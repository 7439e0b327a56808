"""POST and GET {prefix}/consent, and the preferences page.

A decision is acknowledged (cookie set, 200 or 303) only after its record is committed
to the consent log; if the log cannot keep it, the answer is 503 and nothing changes for
the visitor: never tracking without a record.
"""

from __future__ import annotations

import time
from typing import Any

from ..audit import LogUnavailable
from ..endpoints import (
    Request,
    Response,
    Route,
    json_response,
    redirect,
    request_host,
    safe_next,
)
from ..html.render import Renderer
from ..notices import UI
from ..policy import Policy
from .banner import consent_mode_state
from .cookies import expiring, request_cookie_names
from .stage import ConsentContext
from .state import Consent, ConsentState, new_consent_id

ACTIONS = ("accept_all", "reject_all", "save", "withdraw")
LAYERS = ("banner", "preferences")


def state_json(consent: Consent, keys: dict[str, list[str]]) -> dict[str, Any]:
    state = consent.state
    return {
        "decided": consent.decided,
        "mode": consent.mode,
        "consent_id": state.consent_id if state else None,
        "categories": consent.categories(),
        "consent_mode": consent_mode_state(keys, consent),
        "gpc": consent.gpc,
    }


class ConsentEndpoints:
    def __init__(
        self, policy: Policy, context: ConsentContext, renderer: Renderer, css_url: str
    ) -> None:
        self.policy = policy
        self.context = context
        self.renderer = renderer
        self.css_url = css_url

    def routes(self) -> dict[str, Route]:
        return {
            "/consent": Route(frozenset({"GET", "POST"}), self.consent),
            "/preferences": Route(frozenset({"GET"}), self.preferences),
        }

    async def consent(self, request: Request) -> Response:
        consent = request.visitor.consent
        assert isinstance(consent, Consent)  # the consent stage runs before the endpoints
        if request.method == "GET":
            return json_response(state_json(consent, self.context.banner.keys))
        return await self._decide(request, consent)

    def _choices(self, request: Request, action: str) -> dict[str, bool]:
        optional = self.context.optional
        if action == "accept_all":
            return dict.fromkeys(optional, True)
        if action in ("reject_all", "withdraw"):
            return dict.fromkeys(optional, False)
        chosen = request.fields().get("categories", [])
        unknown = sorted(set(chosen) - self.context.known)
        if unknown:
            raise _Refused(f"unknown categories: {', '.join(unknown)}")
        return {name: name in chosen for name in optional}

    async def _decide(self, request: Request, consent: Consent) -> Response:
        action = request.field("action")
        if action not in ACTIONS:
            return _error(request, f"action must be one of {', '.join(ACTIONS)}", 400)
        layer = request.field("layer") or "banner"
        if layer not in LAYERS:
            return _error(request, f"layer must be one of {', '.join(LAYERS)}", 400)
        try:
            choices = self._choices(request, action)
        except _Refused as exc:
            return _error(request, str(exc), 400)

        previous = consent.state
        now = time.time()
        if action == "withdraw":
            event = "withdrawn"
        elif previous is not None and previous.decided:
            event = "updated"
        else:
            event = "given" if any(choices.values()) else "refused"
        consent_id = previous.consent_id if previous else new_consent_id()
        state = ConsentState(
            consent_id=consent_id,
            revision=self.policy.site.revision,
            choices=choices,
            decided_at=int(now),
            mode=consent.mode,
            gpc_recorded=previous.gpc_recorded if previous else False,
        )
        decided = Consent(
            mode=consent.mode,
            state=state,
            required=consent.required,
            sale_or_sharing=consent.sale_or_sharing,
            gpc=consent.gpc,
            known=consent.known,
        )
        try:
            await self.context.record(
                request.visitor,
                request.scope,
                consent_id=consent_id,
                event=event,
                categories=decided.categories(),
                method=f"{action}@{layer}",
                mode=consent.mode,
                now=now,
            )
        except LogUnavailable:
            return _error(
                request,
                "your choice could not be recorded; nothing was changed, "
                "please try again in a moment",
                503,
            )
        if request.wants_json:
            response = json_response(state_json(decided, self.context.banner.keys))
        else:
            response = redirect(safe_next(request.field("next")))
        response.headers.append((b"set-cookie", self.context.set_cookie(state, request.secure)))
        refused = [
            name
            for name in request_cookie_names(request.visitor.headers.get("cookie", ""))
            if not decided.allows(self.context.cookies.category(name))
        ]
        response.headers.extend(expiring(refused, request_host(request.scope)))
        return response

    async def preferences(self, request: Request) -> Response:
        consent = request.visitor.consent
        assert isinstance(consent, Consent)
        page = self.renderer.render(
            "preferences.html",
            request.visitor.language,
            prefix=self.policy.prefix,
            banner=self.policy.consent.banner,
            categories=self.policy.consent.categories,
            site=self.policy.site,
            ui=UI,
            css_url=self.css_url,
            next=safe_next(request.query().get("next")),
            # Nothing pre-ticked where consent is needed (opt-in); elsewhere the truth.
            allowed=consent.categories() if consent.decided or consent.mode != "opt_in" else {},
            decided=consent.decided,
            consent_id=consent.state.consent_id if consent.state else None,
        )
        return Response(body=page.encode(), content_type=b"text/html; charset=utf-8")


class _Refused(Exception):
    pass


def _error(request: Request, reason: str, status: int) -> Response:
    if request.wants_json:
        return json_response({"error": reason}, status)
    return Response(
        status=status, body=reason.encode() + b"\n", content_type=b"text/plain; charset=utf-8"
    )
