"""Which consent regime applies where: opt-in, opt-out or notice only."""

from __future__ import annotations

from ..policy.codes import expand
from ..policy.sections.consent import ModeSettings

OPT_IN, OPT_OUT, NOTICE = "opt_in", "opt_out", "notice"


class Jurisdictions:
    """Maps a visitor's place to a mode; the most specific place listed wins (US-CA over US)."""

    def __init__(self, modes: ModeSettings, gpc_places: tuple[str, ...] = ()) -> None:
        self.by_place: dict[str, str] = {}
        for mode in (OPT_IN, OPT_OUT, NOTICE):
            for place in expand(getattr(modes, mode)):
                self.by_place[place] = mode
        self.default = modes.default
        self.unknown = modes.unknown
        self.gpc_places = expand(gpc_places) if gpc_places else None

    def mode(self, places: tuple[str, ...]) -> str:
        """The mode for a visitor's places (most specific first); `unknown` for none."""
        if not places:
            return self.unknown
        for place in places:
            mode = self.by_place.get(place)
            if mode is not None:
                return mode
        return self.default

    def honours_gpc(self, places: tuple[str, ...]) -> bool:
        """Whether GPC binds here (everywhere when the policy names no places)."""
        if self.gpc_places is None:
            return True
        return any(place in self.gpc_places for place in places)
