"""Streaming byte transforms applied before the head/body splice.

A transform is fed every chunk of a document and then finished; it returns bytes as soon
as it can and holds only what may still change. The injector chains them in front of its
splice: script gating first (it rewrites the app's markup), then the top-of-body insert.
"""

from __future__ import annotations

import re
from typing import Protocol

_OPEN_BODY = re.compile(rb"<body[\t\n\x0c\r />]", re.IGNORECASE)
_QUOTES = (34, 39)
_GT, _EQ = 62, 61
_SPACE = b"\t\n\x0c\r "
MAX_TAG = 16 * 1024


class Transform(Protocol):
    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


def open_tag_end(data: bytes, start: int) -> int:
    """Index just past the `>` that ends the tag opened at `start`, or -1 if not in data.

    A `>` inside a quoted attribute value does not end a tag, as in the HTML tokenizer.
    """
    quote = 0
    after_equals = False
    for i in range(start + 1, len(data)):
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in _QUOTES and after_equals:
            quote = c
        elif c == _GT:
            return i + 1
        if c == _EQ:
            after_equals = True
        elif c not in _SPACE:
            after_equals = False
    return -1


class AfterBodyOpen:
    """Inserts `snippet` right after the opening `<body ...>` tag (bars at the top of the
    page, in its normal flow). Without a `<body` tag the snippet comes at the end."""

    __slots__ = ("_pending", "_placed", "_snippet")

    def __init__(self, snippet: bytes) -> None:
        self._snippet = snippet
        self._pending = b""
        self._placed = False

    def feed(self, chunk: bytes) -> bytes:
        if self._placed:
            return chunk
        data = self._pending + chunk if self._pending else chunk
        match = _OPEN_BODY.search(data)
        if match is None:
            # Keep what could still become "<body" plus its delimiter.
            lt = data.rfind(b"<", max(0, len(data) - 5))
            keep = lt if lt >= 0 and b"<body"[: len(data) - lt] == data[lt:].lower() else len(data)
            self._pending = data[keep:]
            return data[:keep]
        end = open_tag_end(data, match.start())
        if end < 0:
            if len(data) - match.start() > MAX_TAG:
                self._placed = True  # a runaway tag: give up, never hold the page
                self._pending = b""
                return data
            self._pending = data[match.start() :]
            return data[: match.start()]
        self._placed = True
        self._pending = b""
        return data[:end] + self._snippet + data[end:]

    def finish(self) -> bytes:
        if self._placed:
            return b""
        self._placed = True
        rest, self._pending = self._pending, b""
        return rest + self._snippet
