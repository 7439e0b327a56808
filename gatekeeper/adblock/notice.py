"""The adblock notice or wall, with the page's baits, rendered once per language.

A request only picks the pre-rendered bytes for (language, shown at once, quiet) and puts
this view's token into them. "Shown at once" means the visitor's last verdict (signed
cookie) was "blocked": the server shows the notice without waiting for the check, and the
check closes it again if the blocker is gone. "Quiet" means the visitor dismissed the
notice less than `frequency_hours` ago: the check still runs and reports, for the rates,
but shows nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..endpoints import Request, Response, json_response, redirect, safe_next
from ..html.render import Renderer
from ..notices import NEXT_SLOT, TOKEN_SLOT, UI
from ..policy import Policy
from .baits import Baits
from .cookie import AdblockCookie, AdblockState

_TOKEN = TOKEN_SLOT.encode()


class AdblockNotice:
    def __init__(
        self,
        policy: Policy,
        renderer: Renderer,
        prefix: str,
        baits: Baits,
        cookie: AdblockCookie,
        clock: Callable[[], float] = time.time,
    ) -> None:
        config = policy.adblock
        self.wall = config.mode == "wall"
        self.cap = config.frequency_hours * 3600
        self.cookie = cookie
        self.clock = clock
        self.rendered: dict[tuple[str, bool, bool], bytes] = {}
        for language in policy.languages.available:
            for visible in (False, True):
                for quiet in (False, True) if not self.wall else (False,):
                    self.rendered[(language, visible, quiet)] = renderer.render(
                        "adblock.html",
                        language,
                        notice=config.notice,
                        wall=self.wall,
                        visible=visible,
                        quiet=quiet,
                        prefix=prefix,
                        token_slot=TOKEN_SLOT,
                        next_slot=NEXT_SLOT,
                        script_url=baits.script_url(TOKEN_SLOT),
                        image_url=baits.image_url(TOKEN_SLOT),
                        cosmetic_class=baits.cosmetic,
                        ui=UI,
                    ).encode()

    def display(self, state: AdblockState | None) -> tuple[bool, bool]:
        """(shown at once, quiet) for a visitor with this cookie."""
        if state is None:
            return False, False
        if self.wall:
            return state.verdict == "blocked", False  # a wall cannot be dismissed
        quiet = state.dismissed_at > 0 and self.clock() - state.dismissed_at < self.cap
        return state.verdict == "blocked" and not quiet, quiet

    def markup(self, language: str, state: AdblockState | None, token: str) -> bytes:
        visible, quiet = self.display(state)
        return self.rendered[(language, visible, quiet)].replace(_TOKEN, token.encode())

    async def dismiss(self, request: Request) -> Response:
        """POST {prefix}/adblock/dismiss: keep the notice away for frequency_hours."""
        back = safe_next(request.field("next"))
        known = self.cookie.from_header(request.visitor.headers.get("cookie", ""))
        state = AdblockState(known.verdict if known else "unknown", int(self.clock()))
        response = json_response({"dismissed": True}) if request.wants_json else redirect(back)
        response.set_cookie(self.cookie.set_cookie(state, secure=request.secure))
        return response
