"""The one bounded cache of the request path.

Browsers repeat themselves: one visitor sends the same Cookie, User-Agent and
Accept-Language on every request, so what gatekeeper derives from those raw header bytes
(the verified consent, the bot verdict, the language) is computed once and looked up
after. A `Memo` is a dict, so a hit costs one C-level lookup; a miss calls `compute` and
stores the answer. When full it forgets its oldest eighth: a flood of distinct values
costs a little recomputation, never memory. Keys are header bytes a client chooses, and
some servers (uvicorn with httptools) take headers of any size, so a key over
`MAX_KEY_SIZE` is computed and not kept: 8,192 remembered 1 MB Cookie headers would be
8 GB.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from itertools import islice
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_KEY_SIZE = 8192  # bytes or characters; nginx's default limit for one header line


def _size(key: object) -> int:
    if isinstance(key, bytes | str):
        return len(key)
    if isinstance(key, tuple):
        return sum(len(part) for part in key if isinstance(part, bytes | str))
    return 0


class Memo(dict[K, V], Generic[K, V]):
    """`memo[key]` is `compute(key)`, remembered for up to `limit` keys."""

    __slots__ = ("compute", "limit")

    def __init__(self, compute: Callable[[K], V], limit: int = 4096) -> None:
        super().__init__()
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit!r}")
        self.compute = compute
        self.limit = limit

    def __missing__(self, key: K) -> V:
        value = self.compute(key)
        self.remember(key, value)
        return value

    def remember(self, key: K, value: V) -> None:
        """Keep `value` for `key` within the bounds (what `memo[key]` does on a miss), for
        values computed from more than the key (`.get(key)` then looks them up)."""
        if _size(key) > MAX_KEY_SIZE:
            return
        if len(self) >= self.limit:
            for old in list(islice(self, max(1, self.limit // 8))):
                del self[old]
        self[key] = value
