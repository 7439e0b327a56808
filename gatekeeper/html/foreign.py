"""Foreign content (`<svg>`, `<math>`) for the streaming scanner: every tag tokenized,
with a small model of the tree builder's rules for it (HTML integration points, the
tags that break out to HTML content, where an end tag closes).

`ForeignContent` is a part of `Scanner` (gatekeeper.html.scanner): it reads and updates
the scanner's stack of open foreign elements and hands HTML-rule tags back to it.
"""

from __future__ import annotations

from . import tokenize as tk
from .elements import BREAKOUT, MATH_TEXT, NEVER_CLOSE, SVG_HTML_POINTS, Node
from .scanspec import CDATA, COMMENT, DATA, Handler, ScanSpec
from .tokenize import Tag


class ForeignContent:
    """The foreign-content half of `Scanner`."""

    spec: ScanSpec
    handler: Handler
    mode: int
    fresh: bool
    stack: list[Node]

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
        raise NotImplementedError

    def _bogus(self, data: bytes, at: int, out: list[bytes]) -> int:
        raise NotImplementedError

    def _html_tag(self, data: bytes, tag: Tag, out: list[bytes]) -> None:
        raise NotImplementedError

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
