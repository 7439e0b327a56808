"""A streaming scanner that finds the start tags a caller cares about, exactly as a WHATWG
parser would see them, and lets it rewrite them; every other byte passes unchanged.

Fast path (HTML content): one compiled search over a lower-cased copy finds the next
`<name` of interest, or a construct that changes the tokenizer state (`<!`, `<?`, `</`
not followed by a letter, raw-text and foreign-content elements). The bytes in between are
only ordinary tags and text; they are proven to hold no hidden state with two cheap
checks (no quoted attribute value holds `<` or `>`, and the last `<` before the hit was
closed by a `>`). Where a check fails, ordinary tags are tokenized one by one from the
last proven position. Inside `<svg>`/`<math>` every tag is tokenized, with a small model
of the tree builder's foreign-content rules (gatekeeper.html.foreign). What is searched
for is compiled once per policy (gatekeeper.html.scanspec).

Memory is bounded: at most one incomplete construct is held, and a tag longer than
`MAX_TAG` is released; for a tag of interest the caller first inserts attributes that
make it inert (a parser keeps the first of repeated attributes).
"""

from __future__ import annotations

import re

from . import tokenize as tk
from .elements import RAW_TEXT, VOID, Node
from .foreign import ForeignContent
from .scanspec import (
    BOGUS,
    CDATA,
    COMMENT,
    DATA,
    MAX_TAG,
    PLAINTEXT,
    RAW,
    SCRIPT,
    TAIL,
    Handler,
    ScanSpec,
)
from .tokenize import Tag

__all__ = ["MAX_TAG", "Handler", "ScanSpec", "Scanner"]

# A `=` opening a quoted value that holds `<` or `>`: the one way a tag hides markup.
_HIDING = re.compile(rb"""=[\t\n\x0c\r ]*+(?:"[^"<>]*+[<>]|'[^'<>]*+[<>])""")


class Scanner(ForeignContent):
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
