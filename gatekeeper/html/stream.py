"""Streaming byte transforms applied before the head/body splice.

A transform is fed every chunk of a document and then finished; it returns bytes as soon
as it can and holds only what may still change. The injector chains them in front of its
splice: script gating first (it rewrites the app's markup), then the top-of-body insert.
"""

from __future__ import annotations

import re
from typing import Protocol

_OPEN_BODY = re.compile(rb"<body[\t\n\x0c\r />]", re.IGNORECASE)
# A skip link right after <body> must stay the first thing keyboard users reach.
_SKIP_LINK = re.compile(
    rb"""\s*<a\s[^>]*href\s*=\s*["']?#[^>]*>.*?</a\s*>""", re.IGNORECASE | re.DOTALL
)
_LOOKAHEAD = 2048
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


def after_body_open(document: bytes) -> int:
    """Where `AfterBodyOpen` puts its snippet in a whole document: after the opening
    `<body ...>` tag, or after a skip link that opens the body; -1 without a body tag."""
    match = _OPEN_BODY.search(document)
    if match is None:
        return -1
    end = open_tag_end(document, match.start())
    if end < 0:
        return -1
    link = _SKIP_LINK.match(document, end)
    return link.end() if link is not None else end


class AfterBodyOpen:
    """Inserts `snippet` right after the opening `<body ...>` tag (bars at the top of the
    page, in its normal flow), or after a skip link that opens the body. Without a `<body`
    tag the snippet comes at the end."""

    __slots__ = ("_body_end", "_pending", "_placed", "_snippet")

    def __init__(self, snippet: bytes) -> None:
        self._snippet = snippet
        self._pending = b""
        self._placed = False
        self._body_end = -1  # in _pending, once the <body> tag is complete

    def _after_skip_link(self, data: bytes, end: int, final: bool) -> bytes | None:
        """Place the snippet after `<body>` (ending at `end`) or a skip link following it;
        None while the bytes after the tag cannot tell yet."""
        rest = data[end:]
        match = _SKIP_LINK.match(rest)
        if match is not None:
            at = end + match.end()
        elif (
            not final and len(rest) < _LOOKAHEAD and rest.lstrip()[:2].lower() in (b"", b"<", b"<a")
        ):
            return None  # a skip link may still be arriving
        else:
            at = end
        self._placed = True
        self._pending = b""
        return data[:at] + self._snippet + data[at:]

    def feed(self, chunk: bytes) -> bytes:
        if self._placed:
            return chunk
        data = self._pending + chunk if self._pending else chunk
        if self._body_end >= 0:
            placed = self._after_skip_link(data, self._body_end, final=False)
            if placed is None:
                self._pending = data
                return b""
            self._body_end = -1
            return placed
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
        before = data[: match.start()]
        data = data[match.start() :]
        placed = self._after_skip_link(data, end - match.start(), final=False)
        if placed is None:
            self._pending = data
            self._body_end = end - match.start()
            return before
        return before + placed

    def finish(self) -> bytes:
        if self._placed:
            return b""
        if self._body_end >= 0:
            placed = self._after_skip_link(self._pending, self._body_end, final=True)
            return placed or b""
        self._placed = True
        rest, self._pending = self._pending, b""
        return rest + self._snippet
