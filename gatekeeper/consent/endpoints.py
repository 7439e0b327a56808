"""POST and GET {prefix}/consent, and the preferences page.

Everything a post says is validated before anything is written. A decision is
acknowledged (cookie set, 200 or 303) only after its record is committed to the consent
log; if the log cannot keep it, the answer is 503 and nothing changes for the visitor:
never tracking without a record. The decision replaces `visitor.consent`, so the
response's own cookie enforcement follows the new choice.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..audit import LogUnavailable
from ..endpoints import (
    BadRequest,
    Request,
    Response,
    Route,
    json_response,
    redirect_to,
    safe_next,
    text_response,
)
from ..html.render import Renderer
from ..notices import UI
from ..notices.banner import consent_mode_state, gpc_honoured
from .state import Consent, ConsentState, new_consent_id

if TYPE_CHECKING:
    from . import ConsentFeature

ACTIONS = ("accept_all", "reject_all", "save", "withdraw", "acknowledge")
LAYERS = ("banner", "dialog", "preferences")


def state_json(consent: Consent, keys: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    state = consent.state
    return {
        "decided": consent.decided,
        "mode": consent.mode,
        "consent_id": state.consent_id if state else None,
        "categories": consent.categories(),
        "consent_mode": consent_mode_state(keys, consent.allowed),
        "gpc": consent.gpc,
    }


class ConsentEndpoints:
    def __init__(self, feature: ConsentFeature, renderer: Renderer, css_url: str) -> None:
        self.feature = feature
        self.policy = feature.policy
        self.renderer = renderer
        self.css_url = css_url

    def routes(self) -> dict[str, Route]:
        consent = Route(frozenset({"GET", "POST"}), self.consent)
        if self.feature.tcf is not None:
            body, fields = self.feature.tcf.form_limits()  # a box per vendor
            consent = Route(consent.methods, consent.handler, body, fields)
        return {
            "/consent": consent,
            "/preferences": Route(frozenset({"GET"}), self.preferences),
        }

    async def consent(self, request: Request) -> Response:
        consent = request.visitor.consent
        assert isinstance(consent, Consent)  # read on every request before the endpoints
        if request.method != "POST":  # GET or HEAD: a read, never a decision
            return json_response(state_json(consent, self.feature.keys))
        try:
            return await self._decide(request, consent)
        except BadRequest as exc:
            return _error(request, exc.reason, exc.status)

    def _choices(self, request: Request, action: str, consent: Consent) -> dict[str, bool]:
        optional = self.feature.optional
        if action == "acknowledge":
            # Where only notice is required everything runs already, GPC's opt-out aside:
            # acknowledging keeps exactly that, and records that the notice was seen.
            if consent.mode != "notice":
                raise BadRequest(
                    "acknowledge is only for places where the banner is a notice "
                    f"(this visitor's mode is {consent.mode}): use accept_all, reject_all "
                    "or save"
                )
            return {name: consent.allows(name) for name in optional}
        if action == "accept_all":
            return dict.fromkeys(optional, True)
        if action in ("reject_all", "withdraw"):
            return dict.fromkeys(optional, False)
        chosen = request.fields().get("categories", [])
        unknown = sorted(set(chosen) - self.feature.known)
        if unknown:
            shown = ", ".join(name[:40] for name in unknown[:5])
            raise BadRequest(f"unknown categories: {shown}")
        return {name: name in chosen for name in optional}

    async def _decide(self, request: Request, consent: Consent) -> Response:
        tcf = self.feature.tcf
        if tcf is not None and tcf.handles(request):
            try:
                return await tcf.decide(request, consent)
            except LogUnavailable:
                return _unrecorded(request)
        action = request.field("action")
        if action not in ACTIONS:
            raise BadRequest(f"action must be one of {', '.join(ACTIONS)}")
        layer = request.field("layer") or "banner"
        if layer not in LAYERS:
            raise BadRequest(f"layer must be one of {', '.join(LAYERS)}")
        choices = self._choices(request, action, consent)
        back = request.next_path()
        # The page the choice was made on; a client that names none (an API call) made it
        # at the endpoint itself.
        page = request.page() or request.scope["path"]

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
        decided = self.feature.consent(state, consent.mode, consent.gpc)
        try:
            await self.feature.record(
                request.visitor,
                page=page,
                consent_id=consent_id,
                event=event,
                categories=decided.categories(),
                method=f"{action}@{layer}",
                mode=consent.mode,
                now=now,
            )
        except LogUnavailable:
            return _unrecorded(request)
        request.visitor.consent = decided
        if request.wants_json:
            response = json_response(state_json(decided, self.feature.keys))
        else:
            response = redirect_to(back)
        response.headers.append(self.feature.state_cookie(state, request.secure))
        return response

    async def preferences(self, request: Request) -> Response:
        consent = request.visitor.consent
        assert isinstance(consent, Consent)
        tcf = self.feature.tcf
        if tcf is not None and tcf.applies(request.visitor):
            return tcf.preferences(request)
        banner = self.policy.consent.banner
        label = banner.do_not_sell_label if consent.mode == "opt_out" else banner.preferences_label
        page = self.renderer.render(
            "preferences.html",
            request.visitor.language,
            prefix=self.policy.prefix,
            banner=banner,
            label=label,
            gpc=gpc_honoured(consent),
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


def _unrecorded(request: Request) -> Response:
    return _error(
        request,
        "your choice could not be recorded; nothing was changed, please try again in a moment",
        503,
    )


def _error(request: Request, reason: str, status: int) -> Response:
    if request.wants_json:
        return json_response({"error": reason}, status)
    return text_response(reason, status)
