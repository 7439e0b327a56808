"""Signed view tokens: one per page view, carried by every bait request and the beacon.

A token says which view it is, when it was rendered, and where that view is counted
(country and path group), so whichever process receives a bait request or a beacon can
judge and count the view without asking the one that rendered the page. It is one
base64url string of PAYLOAD + MAC: the payload packs a view id, the issue time, the
country and the path group; the MAC is keyed BLAKE2s (RFC 7693, 128 bits; a third of
HMAC-SHA256's cost on every page view) under a key derived from each of the policy's
secret keys (the first signs, all verify, so keys rotate). It proves gatekeeper rendered
that view, so a beacon cannot invent views, and it expires, so an old page cannot report
forever.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import os
import re
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PURPOSE = b"gatekeeper.adblock.view.v2"
MAX_TOKEN_LENGTH = 200
_MAC = 16
_PROOF = 12
_HEAD = struct.Struct(">6sII2s")  # process id, view counter, issued, country
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{43,200}$")
_URLSAFE = bytes.maketrans(b"+/", b"-_")


class TokenError(ValueError):
    """A token that is malformed (400), forged or expired (403); `reason` says which."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class ViewClaim:
    """What a valid token says about its view."""

    view_id: bytes
    issued: int
    country: str
    """ISO country code, or "" when unknown."""
    group: str
    """The first segment of the page's path, where the view is counted."""


def _b64(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Forks:
    """How many times this process was forked from the one that imported this module.
    `os.getpid()` is a system call on every view; a fork hook costs nothing per view."""

    count = 0

    @classmethod
    def forked(cls) -> None:
        cls.count += 1


os.register_at_fork(after_in_child=_Forks.forked)


def _mac(key: bytes, payload: bytes) -> bytes:
    return hashlib.blake2s(payload, key=key, digest_size=_MAC).digest()


class ViewTokens:
    def __init__(
        self,
        secret_keys: Sequence[str],
        *,
        max_age: float = 6 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Six hours: long enough for "check again" on a page left open over lunch.
        self._keys = [
            hashlib.blake2s(PURPOSE, key=hashlib.sha256(k.encode()).digest()).digest()
            for k in secret_keys
        ]
        # Keying blake2s costs a block of compression: minting copies a keyed state.
        self._minting = hashlib.blake2s(key=self._keys[0], digest_size=_MAC)
        self.max_age = max_age
        self._clock = clock
        # Unique view ids without randomness per view: this process's random prefix and a
        # counter, drawn again in a process forked after this was made (gunicorn with
        # --preload, or a server that imports the app before it forks its workers), or
        # two workers would hand out the same ids.
        self._forks = _Forks.count
        self._process = os.urandom(6)
        self._counter = itertools.count()

    def mint(self, country: str, group: str) -> tuple[bytes, bytes]:
        """A new view's id and token (both bytes; the token is ASCII)."""
        if _Forks.count != self._forks:
            self._forks = _Forks.count
            self._process = os.urandom(6)
            self._counter = itertools.count()
        head = _HEAD.pack(
            self._process,
            next(self._counter) & 0xFFFFFFFF,
            int(self._clock()),
            (country or "--").encode("ascii", "replace")[:2].ljust(2, b"-"),
        )
        payload = head + group.encode("utf-8")
        mac = self._minting.copy()
        mac.update(payload)
        return head[:10], _b64(payload + mac.digest())

    def check(self, token: object) -> ViewClaim:
        """The claim of a valid token; raises TokenError otherwise."""
        if not isinstance(token, str) or not token:
            raise TokenError("token must be a non-empty string")
        if len(token) > MAX_TOKEN_LENGTH or not _TOKEN.match(token):
            raise TokenError("token is malformed")
        try:
            data = _unb64(token)
        except (binascii.Error, ValueError):
            raise TokenError("token is malformed") from None
        if len(data) < _HEAD.size + _MAC:
            raise TokenError("token is malformed")
        payload, mac = data[:-_MAC], data[-_MAC:]
        if not any(hmac.compare_digest(_mac(key, payload), mac) for key in self._keys):
            raise TokenError("token signature is not valid", 403)
        _, _, issued, country = _HEAD.unpack_from(payload)
        if self._clock() - issued > self.max_age:
            raise TokenError("token expired", 403)
        try:
            group = payload[_HEAD.size :].decode("utf-8")
        except UnicodeDecodeError:
            raise TokenError("token is malformed") from None
        code = country.decode("ascii", "replace")
        return ViewClaim(payload[:10], issued, "" if code == "--" else code, group)

    def proof(self, view_id: bytes, kind: bytes) -> str:
        """What a bait response hands the page: evidence, carried back by the beacon,
        that this view's `kind` bait reached the server."""
        return _b64(_mac(self._keys[0], b"proof:" + kind + b":" + view_id)[:_PROOF]).decode()

    def check_proof(self, view_id: bytes, kind: bytes, proof: object) -> bool:
        if not isinstance(proof, str) or len(proof) > 32:
            return False
        try:
            given = _unb64(proof)
        except (binascii.Error, ValueError):
            return False
        message = b"proof:" + kind + b":" + view_id
        return any(hmac.compare_digest(_mac(key, message)[:_PROOF], given) for key in self._keys)

    def receipt(self, view_id: bytes, counted: bytes) -> str:
        """What the beacon hands back: how this view was counted, so a later report of
        the same view ("check again") moves the count instead of adding one."""
        body = view_id + counted
        return _b64(body + _mac(self._keys[0], b"receipt:" + body)[:_PROOF]).decode()

    def check_receipt(self, view_id: bytes, receipt: object) -> bytes | None:
        """How the view was counted before, or None for no (valid) receipt."""
        if not isinstance(receipt, str) or len(receipt) > 64:
            return None
        try:
            data = _unb64(receipt)
        except (binascii.Error, ValueError):
            return None
        body, mac = data[:-_PROOF], data[-_PROOF:]
        if not body.startswith(view_id) or not any(
            hmac.compare_digest(_mac(key, b"receipt:" + body)[:_PROOF], mac) for key in self._keys
        ):
            return None
        return body[len(view_id) :]
