"""Who may see the auditor view: the token, HTTP Basic credentials, or the token's cookie."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...endpoints import Request
from ...policy import Policy

log = logging.getLogger("gatekeeper.audit")

COOKIE = "gk_audit"  # the gk_ prefix: the consent stage counts it as strictly necessary
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

    def __init__(self, policy: Policy, cookie_path: str) -> None:
        view = policy.audit.view
        self.token = view.token.encode() if view.token else None
        self.basic: tuple[bytes, bytes] | None = None
        if view.username and view.password:
            self.basic = (view.username.encode(), view.password.encode())
        elif view.username or view.password:
            log.warning(
                "audit.view: username and password must both be set for HTTP Basic; ignored"
            )
        self.keys = tuple(key.encode() for key in policy.secret_keys)
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

    def _mac(self, key: bytes, issued: str) -> str:
        assert self.token is not None
        message = b"gatekeeper audit view\x00" + self.token + b"\x00" + issued.encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def cookie_value(self, now: float | None = None) -> str:
        """`issued.mac`: proves a token was given, without holding the token itself."""
        issued = str(int(time.time() if now is None else now))
        return f"{issued}.{self._mac(self.keys[0], issued)}"

    def _cookie_ok(self, value: str, now: float | None = None) -> bool:
        if self.token is None:
            return False
        issued, sep, mac = value.partition(".")
        if not sep or not (issued.isascii() and issued.isdigit()) or len(issued) > 12:
            return False
        age = (time.time() if now is None else now) - int(issued)
        if not -60 <= age <= SESSION_SECONDS:
            return False
        # The token is in the MAC: changing it ends every session made with the old one.
        given = mac.encode("utf-8", "replace")
        return any(hmac.compare_digest(given, self._mac(key, issued).encode()) for key in self.keys)

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
