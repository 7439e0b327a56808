"""Replacing a marker element in a streamed HTML document, and chaining transforms.

An app asks for markup of gatekeeper's in its own page by writing an empty custom element
(`<gk-cookie-table></gk-cookie-table>`), exactly so: the marker is matched byte for byte,
which keeps the search a plain `bytes.find` and the bytes held between chunks below the
marker's length. Everything else streams through untouched.
"""

from __future__ import annotations

from .stream import Transform

__all__ = ["Chained", "ReplaceMarker", "chained"]


class ReplaceMarker:
    """A `Transform` that replaces every `marker` with `replacement`."""

    __slots__ = ("_marker", "_replacement", "_tail")

    def __init__(self, marker: bytes, replacement: bytes) -> None:
        if not marker.startswith(b"<"):
            raise ValueError(f"not a marker element: {marker!r}")
        self._marker = marker
        self._replacement = replacement
        self._tail = b""

    def _kept(self, data: bytes) -> int:
        """Length of the longest end of `data` that may still become a marker."""
        marker = self._marker
        start = max(0, len(data) - len(marker) + 1)
        i = data.find(b"<", start)
        while i >= 0:
            if marker.startswith(data[i:]):
                return len(data) - i
            i = data.find(b"<", i + 1)
        return 0

    def feed(self, chunk: bytes) -> bytes:
        data = self._tail + chunk if self._tail else chunk
        keep = self._kept(data)
        if keep:
            data, self._tail = data[:-keep], data[-keep:]
        else:
            self._tail = b""
        return data.replace(self._marker, self._replacement)

    def finish(self) -> bytes:
        rest, self._tail = self._tail, b""
        return rest

    def whole(self, document: bytes) -> bytes:
        return document.replace(self._marker, self._replacement)


class Chained:
    """Several transforms as one: each chunk goes through them in order."""

    __slots__ = ("parts",)

    def __init__(self, *parts: Transform) -> None:
        self.parts = parts

    def feed(self, chunk: bytes) -> bytes:
        for part in self.parts:
            chunk = part.feed(chunk)
        return chunk

    def finish(self) -> bytes:
        out = b""
        for part in self.parts:
            out = part.feed(out) + part.finish() if out else part.finish()
        return out

    def whole(self, document: bytes) -> bytes:
        for part in self.parts:
            whole = getattr(part, "whole", None)
            document = whole(document) if whole else part.feed(document) + part.finish()
        return document


def chained(*parts: Transform | None) -> Transform | None:
    """The transforms given (None left out) as one, or None when there is none."""
    found = [part for part in parts if part is not None]
    if not found:
        return None
    return found[0] if len(found) == 1 else Chained(*found)
