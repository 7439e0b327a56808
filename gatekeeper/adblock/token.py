"""Signed view tokens: one per page view, carried by every bait request and the beacon.

A token is `VIEW_ID.TIMESTAMP.SIGNATURE` (itsdangerous, keyed by the policy's secret keys:
the first signs, all verify). It proves that gatekeeper rendered that view, so a beacon
cannot invent views, and it expires, so an old page cannot report forever.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Sequence

from itsdangerous import BadData, SignatureExpired, TimestampSigner

SALT = "gatekeeper.adblock.view"
MAX_TOKEN_LENGTH = 200
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")


class TokenError(ValueError):
    """A token that is malformed (400), forged or expired (403); `reason` says which."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class _Signer(TimestampSigner):
    def __init__(self, keys: Sequence[str], clock: Callable[[], float]) -> None:
        # itsdangerous signs with the LAST key and verifies with all of them.
        super().__init__(list(reversed(keys)), salt=SALT)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


class ViewTokens:
    def __init__(
        self,
        secret_keys: Sequence[str],
        *,
        max_age: float = 6 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Six hours: long enough for "check again" on a page left open over lunch.
        self._signer = _Signer(secret_keys, clock)
        self.max_age = max_age

    def mint(self) -> tuple[str, str]:
        """A new view id and its token."""
        view_id = secrets.token_urlsafe(12)
        return view_id, self._signer.sign(view_id).decode("ascii")

    def check(self, token: object) -> str:
        """The view id of a valid token; raises TokenError otherwise."""
        if not isinstance(token, str) or not token:
            raise TokenError("token must be a non-empty string")
        if len(token) > MAX_TOKEN_LENGTH or not _TOKEN.match(token):
            raise TokenError("token is malformed")
        try:
            value = self._signer.unsign(token, max_age=self.max_age)
        except SignatureExpired:
            raise TokenError("token expired", 403) from None
        except BadData:
            raise TokenError("token signature is not valid", 403) from None
        return value.decode("ascii")
