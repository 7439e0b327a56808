"""Splicing snippets into an HTML document, whole or while it streams.

The head snippet goes right after the opening `<head ...>` tag (matched
case-insensitively; the byte after `<head` must be whitespace, `>` or `/`, so `<header>`
and `<head-x>` never match; quoted attribute values may hold `>`). When a `<body` tag
comes before any `<head`, it goes right before `<body`; when the document has neither,
right before the body snippet, wherever that lands. The body snippet goes right before
the last `</body` followed by whitespace, `>` or `/` (case-insensitive), or at the very
end of the document when there is none. Markers inside comments or scripts are not told
apart.

Streaming keeps only the few bytes that could start a marker between chunks, except from
a `</body` candidate onward: those are held (it may be the last one) until a later
candidate releases them, the body ends, or they exceed `max_hold`, when they are released
and the snippet goes at the end instead. Memory stays below `max_hold` plus one chunk.
"""

from __future__ import annotations

import re

from .seen import SeenDocuments
from .stream import after_body_open

__all__ = ["Placements", "Splice", "splice_document"]

_DELIMITERS = frozenset(b"\t\n\x0c\r />")  # what may follow a tag name
_SPACE = frozenset(b"\t\n\x0c\r ")
_OPEN_HEAD = b"<head"
_OPEN_BODY = b"<body"
_CLOSE_BODY = b"</body"
_OPEN_MARKERS = (_OPEN_HEAD, _OPEN_BODY)
_CLOSE_MARKERS = (_CLOSE_BODY,)

# States of the scan through the attributes of `<head ...>`; a quoted value's state is the
# quote byte itself (34 or 39).
_IN_TAG, _BEFORE_VALUE, _UNQUOTED = 0, 1, 2
_DQUOTE, _SQUOTE, _GT, _EQ = 34, 39, 62, 61


# The last `</body` is searched in lower-cased windows that grow from the end of the data:
# it sits near the end of a document, so a typical page costs a few hundred bytes of
# lower-casing, not its whole size.
_FIRST_WINDOW = 512
_ANY_CLOSE_BODY = re.compile(rb"</body", re.IGNORECASE)
_GROWTH = 4


# The first `<head` or `<body`, any case, with the byte that confirms it. Searched once or
# twice per response (until found), a regex beats lower-casing and two finds.
_OPEN_TAG = re.compile(rb"<(?:head|body)[\t\n\x0c\r />]", re.IGNORECASE)


def _find_open_tag(data: bytes, start: int = 0) -> tuple[int, bytes]:
    """The first `<head` or `<body` (any case) followed by a delimiter in data[start:].

    Returns (index, marker), or (-1, b"") when there is none; a candidate whose next byte
    is not in `data` yet does not count.
    """
    match = _OPEN_TAG.search(data, start)
    if match is None:
        return -1, b""
    at = match.start()
    return at, _OPEN_HEAD if data[at + 1] in b"hH" else _OPEN_BODY


def _rfind_close_body(data: bytes, start: int = 0) -> int:
    """Index of the last `</body` (any case) followed by a delimiter in data[start:], or -1."""
    n = hi = len(data)
    # Fast path, the usual page: a lower-case </body> near the end, nothing like it after.
    i = data.rfind(_CLOSE_BODY, max(start, n - _FIRST_WINDOW))
    if (
        i >= 0
        and i + 6 < n
        and data[i + 6] in _DELIMITERS
        and not _ANY_CLOSE_BODY.search(data, i + 1)
    ):
        return i
    step = _FIRST_WINDOW
    while hi > start:
        lo = max(start, hi - step)  # candidates starting in [lo, hi)
        window = data[lo : hi + 6].lower()
        end = hi - lo + 5
        while True:
            i = window.rfind(_CLOSE_BODY, 0, end)
            if i < 0:
                break
            if i + 6 < len(window) and window[i + 6] in _DELIMITERS:
                return lo + i
            end = i + 5  # candidates that start before i
        hi = lo
        step *= _GROWTH
    return -1


def _partial(data: bytes, markers: tuple[bytes, ...], start: int = 0) -> int:
    """Length of the shortest suffix of data[start:] that may still become a marker.

    Each marker has a single `<`, its first byte, so the suffix starts at the last `<`.
    A whole marker counts too: the byte that confirms it has not arrived yet.
    """
    n = len(data)
    i = data.rfind(b"<", max(start, n - len(markers[0])))
    if i < 0:
        return 0
    rest = data[i:].lower()
    for marker in markers:
        if marker.startswith(rest):
            return n - i
    return 0


def _tag_end(data: bytes, i: int, state: int) -> tuple[int, int]:
    """Scan the rest of an opening tag from data[i] in `state`.

    Returns (index just past its `>`, state), or (-1, state) when the tag goes on past
    the end of `data`. Follows the HTML tokenizer far enough that a `>` inside a quoted
    attribute value does not end the tag.
    """
    n = len(data)
    while i < n:
        if state in (_DQUOTE, _SQUOTE):
            j = data.find(b'"' if state == _DQUOTE else b"'", i)
            if j < 0:
                return -1, state
            i = j + 1
            state = _IN_TAG
            continue
        byte = data[i]
        if state == _IN_TAG:
            if byte == _GT:
                return i + 1, state
            if byte == _EQ:
                state = _BEFORE_VALUE
        elif state == _BEFORE_VALUE:
            if byte in (_DQUOTE, _SQUOTE):
                state = byte
            elif byte == _GT:
                return i + 1, state
            elif byte not in _SPACE:
                state = _UNQUOTED
        else:  # _UNQUOTED
            if byte == _GT:
                return i + 1, state
            if byte in _SPACE:
                state = _IN_TAG
        i += 1
    return -1, state


def _head_position(document: bytes) -> int:
    """Where the head snippet goes in a whole document, or -1 (with the body snippet)."""
    match = _OPEN_TAG.search(document)
    if match is None:
        return -1
    if document[match.start() + 1] not in b"hH":  # <body came first
        return match.start()
    end = match.end()
    if document[end - 1] == _GT:  # the usual <head>
        return end
    return _tag_end(document, end, _IN_TAG)[0]


Places = tuple[int, int, int]
"""Where the top, head and body snippets go in a whole document (-1: no such tag)."""


def _places(document: bytes) -> Places:
    return after_body_open(document), _head_position(document), _rfind_close_body(document)


class Placements(SeenDocuments[Places]):
    """The places of whole documents spliced before (`html.seen`): only the snippets
    differ between the visitors of one page."""

    LIMIT = 8 * 1024 * 1024

    def of(self, document: bytes) -> Places:
        places = self.get(None, document)
        if places is None:
            places = _places(document)
            self.put(None, document, places)
        return places


def splice_document(
    document: bytes,
    head: bytes,
    body: bytes,
    top: bytes = b"",
    placements: Placements | None = None,
) -> bytes:
    """Insert the snippets into a whole document (what streaming produces, in one go),
    copying it once. `top` goes where `AfterBodyOpen` would put it (the end of the
    document when it has no body tag). `placements` remembers documents seen before."""
    if not (head or body or top):
        return document
    at_top, at_head, at_body = placements.of(document) if placements else _places(document)
    if head and top and body and 0 <= at_head <= at_top <= at_body:
        # The usual page, <head> then <body> then </body>: the order the general case
        # below sorts into, without building and sorting it.
        view = memoryview(document)
        return b"".join(
            (
                view[:at_head],
                head,
                view[at_head:at_top],
                top,
                view[at_top:at_body],
                body,
                view[at_body:],
            )
        )
    if top and at_top < 0:
        # No body tag: the top snippet ends the document and is spliced like the app's
        # markup, as streaming does.
        document, top = document + top, b""
        at_head, at_body = _head_position(document), _rfind_close_body(document)
    points: list[tuple[int, int, bytes]] = []
    if top:
        points.append((at_top, 1, top))
    if head:
        if at_head < 0:
            body = head + body  # neither <head> nor <body>: it goes with the body snippet
        else:
            points.append((at_head, 0, head))
    if body:
        points.append((at_body if at_body >= 0 else len(document), 2, body))
    if not points:
        return document
    points.sort()
    view = memoryview(document)  # slices without copies; join copies once
    pieces: list[bytes | memoryview] = []
    pos = 0
    for at, _, snippet in points:
        pieces.append(view[pos:at])
        pieces.append(snippet)
        pos = at
    pieces.append(view[pos:])
    return b"".join(pieces)


_SEARCHING, _IN_HEAD_TAG, _PLACED = 0, 1, 2


class Splice:
    """Streaming splice of one document: `feed` every chunk but the last, then `finish`.

    Two stages. The head stage looks for the head snippet's place and emits what it has
    passed into the body stage, then the snippet itself as opaque bytes (never searched).
    The body stage emits everything before the latest `</body` candidate and holds the
    rest. `_tail`s are the few bytes that may begin a marker, carried to the next chunk.
    """

    __slots__ = (
        "_body",
        "_head",
        "_head_state",
        "_head_tail",
        "_held",
        "_held_size",
        "_max_hold",
        "_tag_state",
        "_tail",
        "_transparent",
    )

    def __init__(self, head: bytes, body: bytes, max_hold: int) -> None:
        self._head = head
        self._body = body
        self._max_hold = max_hold
        self._head_state = _SEARCHING if head else _PLACED
        self._tag_state = _IN_TAG
        self._head_tail = b""
        self._tail = b""
        self._held: list[bytes] | None = None  # from the latest `</body` candidate on
        self._held_size = 0
        self._transparent = not (head or body)  # nothing (left) to insert

    def feed(self, chunk: bytes) -> bytes:
        if self._transparent:
            return chunk
        out: list[bytes] = []
        if self._head_state == _PLACED:
            self._body_feed(chunk, out, final=False)
        else:
            self._head_feed(chunk, out)
        return b"".join(out)

    def finish(self, chunk: bytes) -> bytes:
        if self._transparent:
            return chunk
        out: list[bytes] = []
        snippet = self._body
        if self._head_state == _PLACED:
            self._body_feed(chunk, out, final=True)
        else:
            self._head_feed(chunk, out, final=True)
            if self._transparent:
                return b"".join(out)
            if self._head_state != _PLACED:  # no <head> or <body> tag: goes with the body
                self._body_feed(self._head_tail, out, final=True)
                snippet = self._head + snippet
        if self._held is not None:  # before the last </body
            out.append(snippet)
            out.extend(self._held)
            out.append(self._tail)
        else:
            out.append(self._tail)
            out.append(snippet)
        return b"".join(out)

    # The head stage.

    def _head_feed(self, chunk: bytes, out: list[bytes], final: bool = False) -> None:
        if self._head_state == _IN_HEAD_TAG:
            end, self._tag_state = _tag_end(chunk, 0, self._tag_state)
            if end < 0:
                self._body_feed(chunk, out, final)
            else:
                self._place_head(chunk, end, out, final)
            return
        tail = self._head_tail
        window = tail + chunk if tail else chunk
        at, marker = _find_open_tag(window)
        if marker is _OPEN_BODY:
            self._head_tail = b""
            self._place_head(window, at, out, final)
        elif marker is _OPEN_HEAD:
            self._head_tail = b""
            end, self._tag_state = _tag_end(window, at + len(_OPEN_HEAD), _IN_TAG)
            if end < 0:
                self._head_state = _IN_HEAD_TAG
                self._body_feed(window, out, final)
            else:
                self._place_head(window, end, out, final)
        else:
            keep = _partial(window, _OPEN_MARKERS)
            if keep:
                self._head_tail = window[-keep:]
                window = window[:-keep]
            else:
                self._head_tail = b""
            self._body_feed(window, out, final)

    def _place_head(self, window: bytes, at: int, out: list[bytes], final: bool) -> None:
        self._head_state = _PLACED
        self._body_feed(window[:at], out, final)
        self._body_opaque(self._head, out)
        if not self._body:  # nothing more to insert: release and stream through
            if self._held is not None:
                out.extend(self._held)
                self._held = None
            self._transparent = True
            out.append(window[at:])
        else:
            self._body_feed(window[at:], out, final)

    # The body stage.

    def _body_feed(self, data: bytes, out: list[bytes], final: bool) -> None:
        tail = self._tail
        if not data:
            return
        window = tail + data if tail else data
        n = len(window)
        at = _rfind_close_body(window)
        if at >= 0:
            if self._held is not None:  # superseded by a later candidate
                out.extend(self._held)
            out.append(window[:at])
            keep = _partial(window, _CLOSE_MARKERS, at + 1)
            self._held = [window[at : n - keep]]
            self._held_size = n - keep - at
        else:
            keep = _partial(window, _CLOSE_MARKERS)
            piece = window[: n - keep] if keep else window
            if self._held is not None:
                self._held.append(piece)
                self._held_size += len(piece)
            else:
                out.append(piece)
        self._tail = window[n - keep :] if keep else b""
        if not final and self._held is not None and self._held_size > self._max_hold:
            out.extend(self._held)
            self._held = None
            self._held_size = 0

    def _body_opaque(self, data: bytes, out: list[bytes]) -> None:
        """Pass bytes the body stage must not search (a marker cannot span them)."""
        if self._held is not None:
            self._held.append(self._tail)
            self._held.append(data)
            self._held_size += len(self._tail) + len(data)
        else:
            out.append(self._tail)
            out.append(data)
        self._tail = b""
