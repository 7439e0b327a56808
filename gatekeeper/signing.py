"""Signed cookie values: the one way gatekeeper signs what it hands a browser to keep.

Every signed cookie (consent, adblock verdict, the auditor's session) is an itsdangerous
timestamped signature under one of the policy's `secret_keys`, with a purpose of its
own as the salt, so a value signed for one cookie never verifies as another. The first
secret key signs and every key verifies, which is how keys are rotated. The signing time
comes back with the value; how old a value may be is the caller's rule, checked on every
use (verification results are cached by value, expiry must not be).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

Clock = Callable[[], float]


class _ClockedSigner(TimestampSigner):
    def __init__(self, secret_key: Any, *, clock: Clock = time.time, **kwargs: Any) -> None:
        super().__init__(secret_key, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


class _CompactJSON:
    @staticmethod
    def dumps(obj: object) -> str:
        return json.dumps(obj, separators=(",", ":"), sort_keys=True)

    @staticmethod
    def loads(text: str | bytes) -> object:
        return json.loads(text)


class CookieSigner:
    """Signs and verifies values for one purpose with the policy's secret keys."""

    def __init__(
        self, secret_keys: Sequence[str], purpose: str, *, clock: Clock = time.time
    ) -> None:
        if not secret_keys:
            raise ValueError("signing needs at least one secret key")
        # itsdangerous signs with the LAST key and verifies with all of them.
        keys = list(reversed(secret_keys))
        self._text = _ClockedSigner(keys, salt=purpose, clock=clock)
        self._json = URLSafeTimedSerializer(
            keys,
            salt=purpose,
            serializer=_CompactJSON,
            signer=_ClockedSigner,
            signer_kwargs={"clock": clock},
        )

    def sign(self, text: str) -> str:
        """`text.time.signature`, for plain ASCII values a person may read in the browser."""
        return self._text.sign(text).decode("ascii")

    def unsign(self, value: str) -> tuple[str, int] | None:
        """The text of a value we signed and when, or None for anything else."""
        try:
            raw, signed = self._text.unsign(value, return_timestamp=True)
            return raw.decode("ascii"), int(signed.timestamp())
        except (BadData, UnicodeError):
            return None

    def dumps(self, payload: object) -> str:
        """A JSON payload, compact and URL-safe."""
        return self._json.dumps(payload)

    def loads(self, value: str) -> tuple[Any, int] | None:
        """The JSON payload of a value we signed and when, or None for anything else."""
        try:
            payload, signed = self._json.loads(value, return_timestamp=True)
        except (BadData, ValueError, UnicodeError):
            return None
        return payload, int(signed.timestamp())
