"""The `gk_adblock` cookie: the visitor's last verdict and when they dismissed the notice.

Strictly necessary (it only remembers a choice and what gatekeeper itself concluded), so
it is set without consent where detection runs; signed, so a visitor cannot tell the
server "blocked" to get a wall shown to someone else's browser or "allowed" to skip the
check's outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..http import set_cookie
from ..memo import Memo
from ..signing import CookieSigner
from .verdict import VERDICTS, Verdict

NAME = "gk_adblock"
SALT = "gatekeeper.adblock.cookie"


@dataclass(frozen=True, slots=True)
class AdblockState:
    verdict: Verdict = "unknown"
    dismissed_at: int = 0
    """When the visitor last dismissed the notice (Unix seconds), 0 for never."""


class AdblockCookie:
    def __init__(
        self,
        secret_keys: Sequence[str],
        *,
        max_age: int = 30 * 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # A verdict is about one browser setup; after a month it says little.
        self._signer = CookieSigner(secret_keys, SALT, clock=clock)
        self.max_age = max_age
        self._clock = clock
        self._verified: Memo[str, tuple[AdblockState, int] | None] = Memo(self._verify, 4096)

    def _verify(self, value: str) -> tuple[AdblockState, int] | None:
        signed = self._signer.unsign(value)
        if signed is None:
            return None
        text, signed_at = signed
        verdict, _, dismissed = text.partition(":")
        if verdict not in VERDICTS or not dismissed.isdigit() or len(dismissed) > 12:
            return None
        return AdblockState(verdict, int(dismissed)), signed_at

    def loads(self, value: str) -> AdblockState | None:
        entry = self._verified[value]
        if entry is None or self._clock() - entry[1] > self.max_age:
            return None
        return entry[0]

    def dumps(self, state: AdblockState) -> str:
        return self._signer.sign(f"{state.verdict}:{state.dismissed_at}")

    def from_cookies(self, cookies: Mapping[str, str]) -> AdblockState | None:
        value = cookies.get(NAME)
        return self.loads(value) if value else None

    def set_cookie(self, state: AdblockState, *, secure: bool) -> tuple[bytes, bytes]:
        return set_cookie(NAME, self.dumps(state), max_age=self.max_age, secure=secure)
