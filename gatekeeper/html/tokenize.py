"""Pieces of the WHATWG HTML tokenizer, on bytes, for scanners that look at a few tags.

Each function reads one construct exactly as the HTML standard's tokenizer does (tags with
their attribute states, comments with `<!-->` and `--!>`, bogus comments, CDATA sections,
raw text and the script data escape states) and says where it ends, or that the data
stops before it does (the caller holds the bytes and asks again with more). Positions are
byte offsets; CR counts as whitespace because the input stream turns it into LF first.
Scanners pass a lower-cased copy (`bytes.lower()`, ASCII only, same offsets) where a
function takes `low`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.entities import html5 as _NAMED

WS = b"\t\n\x0c\r "

# After a name, `=` commits to a value: quoted, unquoted (not opening with a quote), or
# empty right before `>`; an unterminated quote never reads as anything else.
_VALUE = rb"""(?>"([^"]*+)"|'([^']*+)'|([^\t\n\x0c\r >"'][^\t\n\x0c\r >]*+)|(?=>))"""
_ATTR = re.compile(
    rb"([^\t\n\x0c\r />][^\t\n\x0c\r />=]*+)"
    rb"(?:[\t\n\x0c\r ]*+(=)[\t\n\x0c\r ]*+" + _VALUE + rb"|(?![\t\n\x0c\r ]*+=))"
)
_TAG = re.compile(
    rb"</?([a-zA-Z][^\t\n\x0c\r />]*+)"
    rb"(?>[\t\n\x0c\r /]++|[^\t\n\x0c\r />][^\t\n\x0c\r />=]*+"
    rb"(?:[\t\n\x0c\r ]*+=[\t\n\x0c\r ]*+"
    + _VALUE.replace(b"(", b"(?:").replace(b"(?:?", b"(?")  # the same, without groups
    + rb"|(?![\t\n\x0c\r ]*+=)))*+>"
)
_NAME = re.compile(rb"</?([a-zA-Z][^\t\n\x0c\r />]*+)")


@dataclass(slots=True)
class Attr:
    name: str  # lower-cased as the tokenizer does
    name_start: int
    name_end: int
    value_start: int  # == value_end for an attribute without a value
    value_end: int
    quoted: bool

    def raw(self, data: bytes) -> bytes:
        return data[self.value_start : self.value_end]


class Tag:
    """A start or end tag; its attributes are read on first use (most tags a scanner
    meets need only their name and end)."""

    __slots__ = ("_attrs", "_self_closing", "end", "is_end", "name", "name_end", "start")

    def __init__(self, start: int, end: int, name: str, name_end: int, is_end: bool) -> None:
        self.start = start
        self.end = end  # just past ">"
        self.name = name  # lower-cased
        self.name_end = name_end
        self.is_end = is_end
        self._attrs: list[Attr] | None = None
        self._self_closing = False

    def attrs(self, data: bytes) -> list[Attr]:
        """In source order, duplicates included."""
        if self._attrs is None:
            self._read(data)
        return self._attrs  # type: ignore[return-value]

    def self_closing(self, data: bytes) -> bool:
        if self._attrs is None:
            self._read(data)
        return self._self_closing

    def first(self, data: bytes) -> dict[str, Attr]:
        """Attributes by name; a repeated name keeps its first occurrence, as parsers do."""
        out: dict[str, Attr] = {}
        for attr in self.attrs(data):
            out.setdefault(attr.name, attr)
        return out

    def _read(self, data: bytes) -> None:
        attrs: list[Attr] = []
        end = self.end
        last = self.name_end
        for attr in _ATTR.finditer(data, self.name_end, end):
            value = attr.lastindex
            if value is None or value < 3:
                v_start = v_end = attr.end()
            else:
                v_start, v_end = attr.start(value), attr.end(value)
            name = _lower(attr.group(1))
            quoted = value in (3, 4)
            attrs.append(Attr(name, attr.start(1), attr.end(1), v_start, v_end, quoted))
            last = attr.end()
        self._attrs = attrs
        # `/>` closes the tag as self-closing only when the slash is not part of a value.
        self._self_closing = data[end - 2 : end - 1] == b"/" and last <= end - 2


def _lower(raw: bytes) -> str:
    return raw.lower().decode("utf-8", "replace").replace("\x00", "\ufffd")


def tag_end(data: bytes, start: int) -> int:
    """Index just past the `>` of the tag opened at `start` (`<a` or `</a`), -1 if the data
    stops first."""
    match = _TAG.match(data, start)
    return match.end() if match else -1


def read_tag(data: bytes, start: int) -> Tag | None:
    """The start or end tag opened at `start`, or None while its `>` is not in `data`."""
    match = _TAG.match(data, start)
    if match is None:
        return None
    return Tag(start, match.end(), _lower(match.group(1)), match.end(1), data[start + 1] == 0x2F)


def comment_end(data: bytes, start: int) -> int:
    """Index just past the comment opened by `<!--` at `start`, or -1 (data stops first).

    `<!-->` and `<!--->` close at once; otherwise the first `-->` or `--!>` after the
    opening, which may not borrow the opening's dashes.
    """
    body = start + 4
    if data.startswith(b">", body):
        return body + 1
    if data.startswith(b"->", body):
        return body + 2
    match = _COMMENT_END.search(data, body)
    return match.end() if match else -1


_COMMENT_END = re.compile(rb"--!?>")


def bogus_end(data: bytes, start: int) -> int:
    """Index just past the `>` ending a bogus comment or DOCTYPE opened at `start`, or -1."""
    end = data.find(b">", start)
    return end + 1 if end >= 0 else -1


def cdata_end(data: bytes, start: int) -> int:
    """Index just past `]]>` ending the CDATA section opened at `start`, or -1."""
    end = data.find(b"]]>", start + 9)
    return end + 3 if end >= 0 else -1


def end_tag_at(low: bytes, pos: int, name: bytes) -> bool:
    """Whether `low[pos:]` opens an end tag for `name` (followed by whitespace, / or >)."""
    n = len(name)
    return (
        low.startswith(b"</", pos)
        and low.startswith(name, pos + 2)
        and len(low) > pos + 2 + n
        and low[pos + 2 + n] in b"\t\n\x0c\r />"
    )


def raw_text_end(low: bytes, pos: int, name: bytes) -> tuple[int, int]:
    """In RCDATA or RAWTEXT for element `name`, from `pos`: (start of its end tag, -1), or
    (-1, keep): no end tag yet, and bytes from `keep` on may still start one."""
    marker = b"</" + name
    while True:
        at = low.find(marker, pos)
        if at < 0:
            return -1, max(pos, len(low) - len(marker))
        if len(low) <= at + len(marker):
            return -1, at
        if low[at + len(marker)] in b"\t\n\x0c\r />":
            return at, -1
        pos = at + 1


# Script data: the states that matter are plain, escaped (after `<!--`) and double
# escaped (after `<script` inside an escaped run); everything else only emits text.
SCRIPT, ESCAPED, DOUBLE = 0, 1, 2
_SCRIPT_PLAIN = re.compile(rb"<!--|</script[\t\n\x0c\r />]")
_SCRIPT_ESCAPED = re.compile(rb"-->|</script[\t\n\x0c\r />]|<script[\t\n\x0c\r />]")
_SCRIPT_DOUBLE = re.compile(rb"-->|</script[\t\n\x0c\r />]")
_SCRIPT_HOLD = 9  # len("</script") : a marker can straddle a chunk boundary


def script_data_end(low: bytes, pos: int, state: int) -> tuple[int, int, int]:
    """Scan script data from `pos` in `state`: (start of `</script`, state, -1) when the
    script ends, else (-1, state, keep) with bytes from `keep` held for the next chunk."""
    while True:
        if state == SCRIPT:
            match = _SCRIPT_PLAIN.search(low, pos)
        elif state == ESCAPED:
            # `-->` may reuse the dashes of the `<!--` that opened the escape.
            match = _SCRIPT_ESCAPED.search(low, pos)
        else:
            match = _SCRIPT_DOUBLE.search(low, pos)
        if match is None:
            return -1, state, max(pos, len(low) - _SCRIPT_HOLD)
        token = match.group()
        if token == b"<!--":
            # Reusing `<!--`'s own dashes: `<!-->` and `<!--->` leave the escape at once.
            state, pos = ESCAPED, match.end() - 2
        elif token == b"-->":
            state, pos = SCRIPT, match.end()
        elif token.startswith(b"</"):
            if state != DOUBLE:
                return match.start(), state, -1
            state, pos = ESCAPED, match.end()
        else:
            state, pos = DOUBLE, match.end()


# Character references in attribute values -------------------------------------------

_REF = re.compile(r"&(#[xX][0-9a-fA-F]+;?|#[0-9]+;?|[a-zA-Z][a-zA-Z0-9]*;?)")
_LONGEST = max(len(name) for name in _NAMED)


def _named(match: re.Match[str], text: str) -> str:
    body = match.group(1)
    if body[0] == "#":
        return html.unescape("&" + body)
    for size in range(min(len(body), _LONGEST), 0, -1):
        candidate = body[:size]
        if candidate in _NAMED:
            if candidate[-1] != ";":
                # In attribute values a reference without `;` followed by `=` or an
                # alphanumeric stays as written (the legacy exception).
                after = match.start(1) + size
                nxt = text[after : after + 1]
                if nxt == "=" or (nxt.isascii() and nxt.isalnum()):
                    return match.group(0)
            return _NAMED[candidate] + body[size:]
    return match.group(0)


def decode_attr(raw: bytes) -> str:
    """An attribute value as the DOM sees it: character references decoded by the rules
    for attribute values, NUL as U+FFFD, bytes read as UTF-8."""
    text = raw.decode("utf-8", "replace")
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if "&" not in text:
        return text
    return _REF.sub(lambda m: _named(m, text), text)


# Tag states after the name, for the tail of a runaway tag.
TAG_NAME, _BEFORE_ATTR, _ATTR_NAME, _AFTER_ATTR, _BEFORE_VALUE = range(5)
_DQ, _SQ, _UNQUOTED, _AFTER_QUOTED, _SELF_CLOSING = range(5, 10)
_SLASH, _EQUALS, _GT = 0x2F, 0x3D, 0x3E


def tag_tail(data: bytes, pos: int, state: int) -> tuple[int, int, bool]:
    """Run the tokenizer's tag states from `pos`: (index past `>`, state, self-closing),
    or (-1, state, False) when the data stops first."""
    n = len(data)
    while pos < n:
        if state in (_DQ, _SQ):
            close = data.find(b'"' if state == _DQ else b"'", pos)
            if close < 0:
                return -1, state, False
            pos, state = close + 1, _AFTER_QUOTED
            continue
        c = data[pos]
        pos += 1
        if c == _GT:
            return pos, state, state == _SELF_CLOSING
        space = c in WS
        if state in (TAG_NAME, _UNQUOTED):
            if space:
                state = _BEFORE_ATTR
            elif c == _SLASH and state == TAG_NAME:
                state = _SELF_CLOSING
        elif state == _ATTR_NAME:
            if space:
                state = _AFTER_ATTR
            elif c == _SLASH:
                state = _SELF_CLOSING
            elif c == _EQUALS:
                state = _BEFORE_VALUE
        elif state == _AFTER_ATTR:
            if c == _SLASH:
                state = _SELF_CLOSING
            elif c == _EQUALS:
                state = _BEFORE_VALUE
            elif not space:
                state = _ATTR_NAME
        elif state == _BEFORE_VALUE:
            if c == 0x22:
                state = _DQ
            elif c == 0x27:
                state = _SQ
            elif not space:
                state = _UNQUOTED
        else:  # before an attribute name, after a quoted value, after a lone `/`
            if space:
                state = _BEFORE_ATTR
            elif c == _SLASH:
                state = _SELF_CLOSING
            else:
                state = _ATTR_NAME
    return -1, state, False
