"""Cookie consent: the signed state, jurisdictions, GPC, the banner, Consent Mode v2 and
server-side enforcement (cookies and tagged scripts of refused categories never reach
the browser)."""

from __future__ import annotations

from typing import Any

from ..audit import ConsentLog
from ..endpoints import Route
from ..html.render import Renderer
from ..policy import Policy
from ..visitor import Visitor
from .banner import Banner
from .endpoints import ConsentEndpoints
from .gate import GateStream, ScriptGate
from .stage import ConsentContext, ConsentStage
from .state import Consent, ConsentCookie, ConsentState

__all__ = [
    "Consent",
    "ConsentCookie",
    "ConsentFeature",
    "ConsentState",
]


class ConsentFeature:
    """The consent pieces built from one policy, for the middleware to place."""

    def __init__(self, policy: Policy, log: ConsentLog, renderer: Renderer, css_url: str):
        self.banner = Banner(policy, renderer)
        self.context = ConsentContext(policy, log, self.banner)
        self.endpoints = ConsentEndpoints(policy, self.context, renderer, css_url)
        self.script_gate = ScriptGate(
            {name: c.hosts for name, c in policy.consent.categories.items() if c.hosts}
        )
        self.gated = bool(self.script_gate.hosts) or len(self.context.optional) > 0

    def stage(self, app: Any) -> ConsentStage:
        return ConsentStage(app, self.context)

    def routes(self) -> dict[str, Route]:
        return self.endpoints.routes()

    def gate(self, visitor: Visitor) -> GateStream | None:
        """A streaming rewriter for this response, or None when everything is allowed."""
        consent = visitor.consent
        if not self.gated or not isinstance(consent, Consent):
            return None
        if all(consent.allows(name) for name in self.context.optional):
            return None
        return self.script_gate.stream(consent.allows)
