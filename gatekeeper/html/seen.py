"""Answers about whole documents seen before, by content.

A site serves the same page to many visitors; what gatekeeper works out from the page
alone (the gated markup, where the snippets go) is worked out once. An entry is found by
a key and the document's length and confirmed by comparing the bytes (a memcmp that
stops at the first difference), so no checksum is computed over the page on every
request and two documents never share an answer. A few documents are kept per length;
the whole is bounded in bytes.
"""

from __future__ import annotations

from typing import Generic, TypeVar

V = TypeVar("V")


class SeenDocuments(Generic[V]):
    LIMIT = 16 * 1024 * 1024
    LARGEST = 512 * 1024
    PER_LENGTH = 4

    def __init__(self) -> None:
        self._entries: dict[tuple[object, int], list[tuple[bytes, V, int]]] = {}
        self._size = 0

    def get(self, key: object, document: bytes) -> V | None:
        bucket = self._entries.get((key, len(document)))
        if bucket is not None:
            for seen, value, _ in bucket:
                if seen == document:
                    return value
        return None

    def put(self, key: object, document: bytes, value: V, size: int = 0) -> None:
        """Remember `value` for `document`; `size`: the bytes `value` holds besides."""
        if len(document) > self.LARGEST or type(document) is not bytes:
            return  # too big to keep, or a buffer that could change afterwards
        found = (key, len(document))
        bucket = self._entries.pop(found, [])  # re-inserted last: the newest
        cost = len(document) + size
        bucket.append((document, value, cost))
        self._size += cost
        if len(bucket) > self.PER_LENGTH:
            self._size -= bucket.pop(0)[2]
        self._entries[found] = bucket
        while self._size > self.LIMIT:
            for _, _, old in self._entries.pop(next(iter(self._entries))):
                self._size -= old
