"""The stage that tells every later stage, and the app, the visitor's last verdict."""

from __future__ import annotations

from typing import Any

from ..visitor import SCOPE_KEY, Visitor
from .cookie import AdblockCookie


def identify(cookie: AdblockCookie, visitor: Visitor) -> None:
    """Set `visitor.adblock` to the last verdict in the gk_adblock cookie, or "unknown"."""
    state = cookie.from_header(visitor.headers.get("cookie", ""))
    visitor.adblock = state.verdict if state is not None else "unknown"


class AdblockStage:
    """Sets `visitor.adblock` for every request, then calls the app."""

    def __init__(self, app: Any, cookie: AdblockCookie) -> None:
        self.app = app
        self.cookie = cookie

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        visitor = scope.get(SCOPE_KEY)
        if isinstance(visitor, Visitor):
            identify(self.cookie, visitor)
        await self.app(scope, receive, send)
