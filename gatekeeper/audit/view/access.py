"""Who may see the auditor view: the token, HTTP Basic credentials, or the token's cookie."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...endpoints import Request
from ...policy import Policy
from ...signing import CookieSigner

log = logging.getLogger("gatekeeper.audit")

COOKIE = "gk_audit"  # one of gatekeeper's own names: strictly necessary
SESSION_SECONDS = 8 * 3600
REALM = "gatekeeper audit"


def _scope_header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    presented: bool = False  # credentials were sent (and were wrong, when not allowed)
    set_cookie: bool = False  # allowed through ?token=: leave a cookie so links work


class Access:
    """Who may see the view: the token, HTTP Basic credentials, or the token's cookie."""

    def __init__(
        self, policy: Policy, cookie_path: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        view = policy.audit.view
        self.token = view.token.encode() if view.token else None
        self.basic: tuple[bytes, bytes] | None = None
        if view.username and view.password:
            self.basic = (view.username.encode(), view.password.encode())
        elif view.username or view.password:
            log.warning(
                "audit.view: username and password must both be set for HTTP Basic; ignored"
            )
        self._clock = clock
        self._session: CookieSigner | None = None
        if self.token is not None:
            # The token is in the purpose: changing it ends every session made with the old
            # one, and the cookie holds no trace of the token itself.
            purpose = "gatekeeper.audit.view:" + hashlib.sha256(self.token).hexdigest()
            self._session = CookieSigner(policy.secret_keys, purpose, clock=clock)
        self.cookie_path = cookie_path
        if view.enabled and not self.configured:
            log.warning(
                "audit.view is enabled without a token or username/password: "
                "the auditor view refuses every request until one is set"
            )
        elif self.token is not None and len(self.token) < 24:
            log.warning(
                "audit.view.token is short (%d characters): use 32 or more random ones",
                len(self.token),
            )

    @property
    def configured(self) -> bool:
        return self.token is not None or self.basic is not None

    def _token_ok(self, given: str) -> bool:
        if self.token is None:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.token)

    def _basic_ok(self, encoded: str) -> bool:
        if self.basic is None:
            return False
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = raw.partition(b":")
        if not sep:
            return False
        # Both compared every time, so the answer's timing does not say which was wrong.
        user_ok = hmac.compare_digest(user, self.basic[0])
        password_ok = hmac.compare_digest(password, self.basic[1])
        return user_ok and password_ok

    def cookie_value(self) -> str:
        """Proves a token was given, without holding the token itself."""
        assert self._session is not None
        return self._session.sign("auditor")

    def _cookie_ok(self, value: str) -> bool:
        if self._session is None:
            return False
        signed = self._session.unsign(value)
        if signed is None or signed[0] != "auditor":
            return False
        # A minute of grace for clocks of several hosts that disagree a little.
        return -60 <= self._clock() - signed[1] <= SESSION_SECONDS

    def set_cookie(self, secure: bool) -> str:
        parts = [
            f"{COOKIE}={self.cookie_value()}",
            f"Max-Age={SESSION_SECONDS}",
            f"Path={self.cookie_path}",
            "HttpOnly",
            "SameSite=Strict",
        ]
        if secure:
            parts.append("Secure")
        return "; ".join(parts)

    def check(self, request: Request) -> Verdict:
        presented = False
        authorization = _scope_header(request.scope, b"authorization")
        if authorization:
            scheme, _, credentials = authorization.strip().partition(" ")
            presented = True
            if scheme.lower() == "bearer" and self._token_ok(credentials.strip()):
                return Verdict(True)
            if scheme.lower() == "basic" and self._basic_ok(credentials):
                return Verdict(True)
        given = request.query().get("token")
        if given is not None:
            presented = True
            if self._token_ok(given):
                return Verdict(True, set_cookie=True)
        cookie = request.visitor.cookies.get(COOKIE)
        if cookie and self._cookie_ok(cookie):
            return Verdict(True)
        # An expired session cookie is not a wrong guess: ask again, without a warning.
        return Verdict(False, presented=presented)

    def challenges(self, invalid: bool) -> list[tuple[bytes, bytes]]:
        out = []
        if self.basic is not None:
            out.append((b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode()))
        if self.token is not None:
            error = ', error="invalid_token"' if invalid else ""
            out.append((b"www-authenticate", f'Bearer realm="{REALM}"{error}'.encode()))
        return out
