"""What a streaming scanner (gatekeeper.html.scanner) looks for, compiled once, and the
vocabulary it shares with its parts: its modes between constructs and the `Handler` it
hands tags to.

Two searches over a lower-cased copy: `candidates` finds every `<name` of interest and
every construct that changes the tokenizer's state; `quick` is the same search except
that it passes over watched tags whose bytes alone show they cannot load anything
refusable, so most tags of a page cost no Python step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from .elements import RAW_TEXT
from .tokenize import Tag

MAX_TAG = 64 * 1024

# Modes of the scanner between constructs.
DATA, RAW, SCRIPT, COMMENT, BOGUS, CDATA, PLAINTEXT, TAIL = range(8)


class Handler(Protocol):
    def start(self, data: bytes, tag: Tag, svg: bool) -> bytes | None:
        """Replacement bytes for the tag `data[tag.start:tag.end]`, or None to keep it."""

    def end(self, name: str) -> None:
        """A watched end tag in HTML content."""

    def runaway(self, name: str, svg: bool) -> bytes:
        """Attributes to insert after the name of a tag longer than MAX_TAG."""

    def quick(self) -> bool:
        """Whether watched tags whose bytes show nothing refusable may go by unseen."""


class ScanSpec:
    """What a scanner looks for, compiled once: HTML start tags handed to the handler,
    SVG start tags handed to it, and HTML end tags reported to it."""

    def __init__(self, html: Iterable[str], svg: Iterable[str], ends: Iterable[str]) -> None:
        self.html = frozenset(html)
        self.svg = frozenset(svg)
        self.ends = frozenset(ends)
        names = sorted(self.html | RAW_TEXT | {"script", "plaintext", "svg", "math"})
        alternation = b"|".join(re.escape(n.encode()) for n in names)
        ends_alt = b"|".join(re.escape(n.encode()) for n in sorted(self.ends)) or b"(?!)"
        self.candidates = re.compile(
            rb"<(?:" + alternation + rb")[\t\n\x0c\r />]|<[!?]"
            rb"|</(?:" + ends_alt + rb")[\t\n\x0c\r />]|</(?![a-z])"
        )
        # The same search, except that it passes over watched tags a handler may call
        # harmless by their bytes alone (see `Handler.quick`): well-formed, no URL that
        # could name another host, no consent marks. Most tags of a page are those, and
        # the regex skips them without a Python step each.
        stateful = RAW_TEXT | {"script", "plaintext", "svg", "math"}
        kept = self.html & QUICK_EXCLUDED
        quick = sorted(self.html - stateful - QUICK_EXCLUDED)
        always = b"|".join(re.escape(n.encode()) for n in sorted(stateful | kept))
        quick_alt = b"|".join(re.escape(n.encode()) for n in quick) or b"(?!)"
        self.quick = re.compile(
            rb"<(?:" + always + rb")[\t\n\x0c\r />]"
            rb"|<(?:" + quick_alt + rb")(?!" + _SAFE_TAG_BODY + rb">)[\t\n\x0c\r />]"
            rb"|<[!?]|</(?:" + ends_alt + rb")[\t\n\x0c\r />]|</(?![a-z])"
        )


# Watched tags never passed over by the quick search: they change what later tags mean.
QUICK_EXCLUDED = frozenset({"base", "video", "audio", "picture"})
# The attributes of a well-formed tag (as a WHATWG tokenizer reads it: the first `>`
# ends it) whose values hold no `//`, `\`, `:`, `&`, tab or line break — so no URL in it
# can leave the page's host — and no consent marks (data-consent, data-tcf-*). Matched
# on the lower-cased copy.
_WS = rb"[\t\n\x0c\r ]"
_SAFE_DQ = rb'"(?:[^"<>&:\\\t\n\r\x0c/]|/(?!/))*+"'
_SAFE_SQ = rb"'(?:[^'<>&:\\\t\n\r\x0c/]|/(?!/))*+'"
_SAFE_UNQUOTED = rb"(?:[^\t\n\x0c\r \"'=<>`&:\\/]|/(?![/>]))++"
_SAFE_TAG_BODY = (
    rb"(?:" + _WS + rb"++(?!data-(?:consent|tcf))[a-z_][-a-z0-9_.]*+"
    rb"(?:"
    + _WS
    + rb"*+="
    + _WS
    + rb"*+(?:"
    + _SAFE_DQ
    + rb"|"
    + _SAFE_SQ
    + rb"|"
    + _SAFE_UNQUOTED
    + rb"))?)*+"
    + _WS
    + rb"*+/?"
)
