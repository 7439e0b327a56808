"""A streaming scanner that finds the start tags a caller cares about, exactly as a WHATWG
parser would see them, and lets it rewrite them; every other byte passes unchanged.

Fast path (HTML content): one compiled search over a lower-cased copy finds the next
`<name` of interest, or a construct that changes the tokenizer state (`<!`, `<?`, `</`
not followed by a letter, raw-text and foreign-content elements). The bytes in between are
only ordinary tags and text; they are proven to hold no hidden state with two cheap
checks (no quoted attribute value holds `<` or `>`, and the last `<` before the hit was
closed by a `>`). Where a check fails, ordinary tags are tokenized one by one from the
last proven position. Inside `<svg>`/`<math>` every tag is tokenized, with a small model
of the tree builder's foreign-content rules (integration points, break-out tags).

Memory is bounded: at most one incomplete construct is held, and a tag longer than
`MAX_TAG` is released; for a tag of interest the caller first inserts attributes that
make it inert (a parser keeps the first of repeated attributes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from . import tokenize as tk
from .elements import (
    BREAKOUT,
    MATH_TEXT,
    NEVER_CLOSE,
    RAW_TEXT,
    SVG_HTML_POINTS,
    VOID,
    Node,
)
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

# A `=` opening a quoted value that holds `<` or `>`: the one way a tag hides markup.
_HIDING = re.compile(rb"""=[\t\n\x0c\r ]*+(?:"[^"<>]*+[<>]|'[^'<>]*+[<>])""")


class Scanner:
    """Feed chunks, get bytes; any chunking gives the same bytes as the whole document."""

    def __init__(self, spec: ScanSpec, handler: Handler) -> None:
        self.spec = spec
        self.handler = handler
        self.mode = DATA
        self.raw = b""  # the RCDATA/RAWTEXT element's name
        self.script = tk.SCRIPT
        self.stack: list[Node] = []  # open elements from the outermost svg/math up
        self.fresh = False  # a comment just opened: `<!-->` still possible
        self.tail = 0  # tag-tail tokenizer state
        self.tail_tag: tuple[str, bool, bool] = ("", False, False)  # name, is_end, svg
        self.pending = b""
        self.exact = 0  # regions tokenized tag by tag (for measurements)

    def feed(self, chunk: bytes) -> bytes:
        data = self.pending + chunk if self.pending else chunk
        out: list[bytes] = []
        pos = self._run(data, out, final=False)
        self.pending = data[pos:]
        return b"".join(out)

    def finish(self) -> bytes:
        data, self.pending = self.pending, b""
        out: list[bytes] = []
        pos = self._run(data, out, final=True)
        out.append(data[pos:])
        return b"".join(out)

    # The loop over modes ---------------------------------------------------------------

    def _run(self, data: bytes, out: list[bytes], final: bool) -> int:
        low = data.lower()
        pos = 0
        while pos < len(data):
            mode = self.mode
            if mode == DATA:
                new = (
                    self._foreign(data, low, pos, out, final)
                    if self.stack
                    else (self._data(data, low, pos, out, final))
                )
            elif mode == RAW:
                new = self._raw(data, low, pos, out, final)
            elif mode == SCRIPT:
                new = self._script(data, low, pos, out, final)
            elif mode == COMMENT:
                new = self._comment(data, pos, out, final)
            elif mode == BOGUS:
                new = self._until(data, pos, out, b">", final)
            elif mode == CDATA:
                new = self._until(data, pos, out, b"]]>", final)
            elif mode == TAIL:
                new = self._tail(data, pos, out)
            else:  # PLAINTEXT: nothing ends it
                out.append(data[pos:])
                new = len(data)
            if new < 0:  # needs more data; hold from -new - 1
                return -new - 1
            pos = new
        return pos

    # HTML content, fast path -----------------------------------------------------------

    def _data(self, data: bytes, low: bytes, pos: int, out: list[bytes], final: bool) -> int:
        spec, handler = self.spec, self.handler
        while True:
            find = spec.quick.search if handler.quick() else spec.candidates.search
            match = find(low, pos)
            hit = match.start() if match else len(data)
            exact = self._unproven(data, pos, hit)
            if exact >= 0:
                self.exact += 1
                out.append(data[pos:exact])
                new = self._skip(data, exact, hit, out, final)
                if new < 0 or self.mode != DATA:
                    return new
                pos = new
                continue
            out.append(data[pos:hit])
            if match is None:
                return hit
            new = self._construct(data, low, hit, out, final)
            if new < 0 or self.mode != DATA or self.stack:
                return new
            pos = new

    def _unproven(self, data: bytes, pos: int, hit: int) -> int:
        """-1 when every `<` in data[pos:hit] opens an ordinary tag that ends at its first
        `>` (so `hit` is in the data state); else a data-state position to tokenize from."""
        last = data.rfind(b"<", pos, hit)
        if last < 0:
            return -1
        if (data.find(b'"', pos, hit + 1) >= 0 or data.find(b"'", pos, hit + 1) >= 0) and (
            hiding := _HIDING.search(data, pos, hit + 1)
        ):
            last = data.rfind(b"<", pos, hiding.start())
            if last < 0:
                return pos
        elif data.find(b">", last, hit) >= 0:
            return -1
        before = data.rfind(b"<", pos, last)
        if before < 0 or data.find(b">", before, last) >= 0:
            return last
        return pos

    def _skip(self, data: bytes, pos: int, target: int, out: list[bytes], final: bool) -> int:
        """Tokenize ordinary tags from the data-state `pos` until a `<` at or after
        `target` in the data state (returned), or the data stops (-1 - where to hold)."""
        start = pos
        while True:
            lt = data.find(b"<", pos)
            if lt < 0 or lt >= target:
                end = len(data) if lt < 0 else lt
                out.append(data[start:end])
                return end
            nxt = data[lt + 1 : lt + 3]
            if nxt[:1].isalpha() or (nxt[:1] == b"/" and nxt[1:2].isalpha()):
                end = tk.tag_end(data, lt)
                if end < 0:
                    out.append(data[start:lt])
                    return self._incomplete(data, lt, out, final, "", nxt[:1] == b"/")
                pos = end
            elif len(nxt) < 2 and not final:
                out.append(data[start:lt])
                return -1 - lt
            else:
                pos = lt + 1

    def _incomplete(
        self,
        data: bytes,
        lt: int,
        out: list[bytes],
        final: bool,
        name: str,
        is_end: bool,
        svg: bool = False,
    ) -> int:
        """A tag at `lt` whose `>` has not come: hold it, or release a runaway one."""
        if final:
            out.append(data[lt:])  # a tag cut by the end of the document is dropped
            return len(data)
        if len(data) - lt <= MAX_TAG:
            return -1 - lt
        named = tk._NAME.match(data, lt)
        assert named is not None
        out.append(data[lt : named.end()])
        if name and not is_end:
            out.append(self.handler.runaway(name, svg))
        self.mode, self.tail = TAIL, tk.TAG_NAME
        self.tail_tag = (name or tk._lower(named.group(1)), is_end, svg)
        return named.end()

    def _construct(self, data: bytes, low: bytes, at: int, out: list[bytes], final: bool) -> int:
        """The candidate construct at `at`, in HTML content."""
        second = low[at + 1 : at + 2]
        if second == b"!":
            if not final and len(data) - at < 4 and b"<!--".startswith(low[at:]):
                return -1 - at
            if low.startswith(b"<!--", at):
                out.append(data[at : at + 4])
                self.mode, self.fresh = COMMENT, True
                return at + 4
            return self._bogus(data, at, out)
        if second == b"?":
            return self._bogus(data, at, out)
        if second == b"/" and not low[at + 2 : at + 3].isalpha():
            if len(data) - at < 3 and not final:
                return -1 - at
            if low.startswith(b"</>", at):
                out.append(data[at : at + 3])
                return at + 3
            return self._bogus(data, at, out)
        tag = tk.read_tag(data, at)
        if tag is None:
            name = tk._lower(tk._NAME.match(data, at).group(1))  # type: ignore[union-attr]
            return self._incomplete(data, at, out, final, name, second == b"/")
        self._html_tag(data, tag, out)
        return tag.end

    def _bogus(self, data: bytes, at: int, out: list[bytes]) -> int:
        out.append(data[at : at + 2])
        self.mode = BOGUS
        return at + 2

    def _html_tag(self, data: bytes, tag: Tag, out: list[bytes]) -> None:
        """A complete tag processed by the HTML rules: hand it over, then follow it."""
        if tag.is_end:
            if tag.name in self.spec.ends:
                self.handler.end(tag.name)
            out.append(data[tag.start : tag.end])
            return
        replaced = self.handler.start(data, tag, False) if tag.name in self.spec.html else None
        out.append(data[tag.start : tag.end] if replaced is None else replaced)
        name = tag.name
        if name in ("svg", "math"):
            self._after_html_start(name, tag.self_closing(data))
        else:
            self._after_html_start(name, False)

    def _after_html_start(self, name: str, self_closing: bool) -> None:
        if name == "script":
            self.mode, self.script = SCRIPT, tk.SCRIPT
        elif name in RAW_TEXT:
            self.mode, self.raw = RAW, name.encode()
        elif name == "plaintext":
            self.mode = PLAINTEXT
        elif name in ("svg", "math"):
            if not self_closing:
                self.stack.append(Node(name, name))
        elif self.stack and name not in VOID:
            self.stack.append(Node(name, "html"))

    # Raw text, script data, comments ---------------------------------------------------

    def _raw(self, data: bytes, low: bytes, pos: int, out: list[bytes], final: bool) -> int:
        at, keep = tk.raw_text_end(low, pos, self.raw)
        return self._text_end(data, pos, at, keep, out, final)

    def _script(self, data: bytes, low: bytes, pos: int, out: list[bytes], final: bool) -> int:
        at, self.script, keep = tk.script_data_end(low, pos, self.script)
        return self._text_end(data, pos, at, keep, out, final)

    def _text_end(
        self, data: bytes, pos: int, at: int, keep: int, out: list[bytes], final: bool
    ) -> int:
        if at < 0:
            if final:
                out.append(data[pos:])
                return len(data)
            out.append(data[pos:keep])
            return -1 - keep
        out.append(data[pos:at])
        end = tk.tag_end(data, at)
        if end < 0:
            if not final and len(data) - at <= MAX_TAG:
                return -1 - at  # found again, whole, with the next chunk
            self.mode = DATA
            return self._incomplete(data, at, out, final, "", True)
        out.append(data[at:end])
        self.mode = DATA
        return end

    def _comment(self, data: bytes, pos: int, out: list[bytes], final: bool) -> int:
        if self.fresh:
            if len(data) - pos < 2 and not final:
                return -1 - pos
            self.fresh = False
            for opener in (b">", b"->"):
                if data.startswith(opener, pos):
                    out.append(opener)
                    self.mode = DATA
                    return pos + len(opener)
        return self._until(data, pos, out, b"--!>", final, comment=True)

    def _until(
        self,
        data: bytes,
        pos: int,
        out: list[bytes],
        marker: bytes,
        final: bool,
        comment: bool = False,
    ) -> int:
        if comment:
            match = tk._COMMENT_END.search(data, pos)
            end = match.end() if match else -1
        else:
            at = data.find(marker, pos)
            end = at + len(marker) if at >= 0 else -1
        if end < 0:
            keep = len(data) if final else max(pos, len(data) - len(marker) + 1)
            out.append(data[pos:keep])
            return keep if final else -1 - keep
        out.append(data[pos:end])
        self.mode = DATA
        return end

    # Foreign content: every tag tokenized ----------------------------------------------

    def _foreign(self, data: bytes, low: bytes, pos: int, out: list[bytes], final: bool) -> int:
        while self.stack:
            lt = data.find(b"<", pos)
            if lt < 0:
                out.append(data[pos:])
                return len(data)
            out.append(data[pos:lt])
            pos = lt
            head = low[lt : lt + 9]
            if not final and (
                len(head) < 2
                or head == b"</"
                or (len(head) < 4 and b"<!--".startswith(head))
                or (len(head) < 9 and b"<![cdata[".startswith(head))
            ):
                return -1 - lt
            second = head[1:2]
            if second.isalpha() or (second == b"/" and head[2:3].isalpha()):
                tag = tk.read_tag(data, lt)
                if tag is None:
                    name = tk._lower(tk._NAME.match(data, lt).group(1))  # type: ignore[union-attr]
                    svg = self.stack[-1].ns == "svg" and not self.stack[-1].html_rules
                    return self._incomplete(data, lt, out, final, name, second == b"/", svg)
                if tag.is_end:
                    self._foreign_end(tag.name)
                    out.append(data[tag.start : tag.end])
                elif not self._foreign_start(data, tag, out):
                    return lt  # broke out of foreign content: HTML content from here
                pos = tag.end
                if self.mode != DATA:
                    return pos
            elif head.startswith(b"<!--"):
                out.append(data[lt : lt + 4])
                self.mode, self.fresh = COMMENT, True
                return lt + 4
            elif head == b"<![cdata[" and not self.stack[-1].html_rules:
                out.append(data[lt : lt + 9])
                self.mode = CDATA
                return lt + 9
            elif second in (b"!", b"?", b"/"):
                if head.startswith(b"</>"):
                    out.append(b"</>")
                    pos = lt + 3
                    continue
                return self._bogus(data, lt, out)
            else:
                out.append(b"<")
                pos = lt + 1
        return pos

    def _uses_html_rules(self, name: str) -> bool:
        top = self.stack[-1]
        if top.html_rules:
            return True
        if top.ns == "math":
            return (top.name in MATH_TEXT and name not in ("mglyph", "malignmark")) or (
                top.name == "annotation-xml" and name == "svg"
            )
        return False

    def _pop_to_html(self) -> None:
        while self.stack and not (
            self.stack[-1].html_rules
            or (self.stack[-1].ns == "math" and self.stack[-1].name in MATH_TEXT)
        ):
            self.stack.pop()

    def _foreign_start(self, data: bytes, tag: Tag, out: list[bytes]) -> bool:
        """A start tag inside svg/math; False when it ends foreign content unprocessed."""
        name = tag.name
        if not self._uses_html_rules(name):
            if name in BREAKOUT or (
                name == "font" and any(a.name in ("color", "face", "size") for a in tag.attrs(data))
            ):
                self._pop_to_html()
                if not self.stack:
                    return False
            else:
                ns = self.stack[-1].ns
                svg = ns == "svg"
                replaced = (
                    self.handler.start(data, tag, True) if svg and name in self.spec.svg else None
                )
                out.append(data[tag.start : tag.end] if replaced is None else replaced)
                if not tag.self_closing(data):
                    self.stack.append(Node(name, ns, self._html_point(data, tag, ns)))
                return True
        self._html_tag(data, tag, out)
        return True

    @staticmethod
    def _html_point(data: bytes, tag: Tag, ns: str) -> bool:
        if ns == "svg":
            return tag.name in SVG_HTML_POINTS
        if tag.name != "annotation-xml":
            return False
        encoding = tag.first(data).get("encoding")
        value = tk.decode_attr(encoding.raw(data)).lower() if encoding else ""
        return value in ("text/html", "application/xhtml+xml")

    def _foreign_end(self, name: str) -> None:
        stack = self.stack
        if stack[-1].ns != "html":
            # The rules for foreign content: close the nearest foreign element of that
            # name, up to the first HTML element.
            if name in ("br", "p"):
                self._pop_to_html()
                return
            i = len(stack) - 1
            while True:
                if stack[i].name == name:
                    del stack[i:]
                    return
                i -= 1
                if i < 0 or stack[i].ns == "html":
                    break
        elif name in self.spec.ends:
            self.handler.end(name)
        # The rules for HTML content: the nearest HTML element of that name, unless a
        # special element comes first.
        for i in range(len(stack) - 1, -1, -1):
            node = stack[i]
            if node.ns == "html" and node.name == name:
                del stack[i:]
                return
            if node.special:
                return
        # Past the outermost svg/math: an element the scanner did not follow. Taken to be
        # open (an author's missing `</svg>`), unless that name can never be.
        if name not in NEVER_CLOSE:
            stack.clear()

    # The rest of a runaway tag ---------------------------------------------------------

    def _tail(self, data: bytes, pos: int, out: list[bytes]) -> int:
        end, self.tail, self_closing = tk.tag_tail(data, pos, self.tail)
        if end < 0:
            out.append(data[pos:])
            return len(data)
        out.append(data[pos:end])
        self.mode = DATA
        name, is_end, svg = self.tail_tag
        if is_end:
            if self.stack:
                self._foreign_end(name)
        elif svg:
            if not self_closing:
                self.stack.append(Node(name, "svg"))
        else:
            self._after_html_start(name, self_closing)
        return end
