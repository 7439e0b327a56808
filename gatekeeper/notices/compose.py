"""Every notice of one page, composed into head, top-of-body and end-of-body bytes.

Where notices go (the layout regions; gatekeeper.css holds the rules):

- the top region, first in the body: the notification bar, in the page flow, and the
  offline notice hanging just below it (sticky, so it never covers the bar's links);
- the dock (`data-gk-region="bottom"`), last in the body: the consent banner, the way back
  to the choices and the adblock notice or wall, stacked on the viewport's bottom edge in
  one column, so they never overlap. The consent banner is first in the dock (first in
  reading and focus order, nearest the bottom edge); a wall grows the dock to the whole
  viewport and takes the space above the banner, never the banner's own;
- after the dock: what is not a notice (the adblock baits), then gatekeeper.js.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..html.fragment import Fragment
from ..html.render import Renderer
from . import NoticeSource, Page

DOCK_OPEN = b'<div class="gk-dock" data-gk-region="bottom">'
DOCK_CLOSE = b"</div>"


class Notices:
    """The sources of a policy, in page order, with the shared stylesheet and script."""

    def __init__(
        self,
        sources: Sequence[NoticeSource],
        renderer: Renderer,
        languages: Iterable[str],
        css_url: str,
        js_url: str,
    ) -> None:
        self.sources = tuple(sources)
        self.head = {
            language: Fragment(renderer.render("head.html", language, css_url=css_url).encode())
            for language in languages
        }
        self.script = Fragment(renderer.render("scripts.html", "en", js_url=js_url).encode())

    def compose(self, page: Page) -> tuple[bytes, bytes, bytes] | None:
        """(head, top, body) for the page, or None when no notice applies."""
        head: list[bytes] = []
        top: list[bytes] = []
        dock: list[bytes] = []
        tail: list[bytes] = []
        for source in self.sources:
            parts = source.parts(page)
            if parts is not None:
                if parts.head:
                    head.append(parts.head)
                if parts.top:
                    top.append(parts.top)
                if parts.body:
                    dock.append(parts.body)
                if parts.tail:
                    tail.append(parts.tail)
        if not top and not dock and not tail:
            return None
        values = page.values
        body = DOCK_OPEN + b"".join(dock) + DOCK_CLOSE if dock else b""
        return (
            self.head[page.visitor.language].fill(values) + b"".join(head),
            b"".join(top),
            body + b"".join(tail) + self.script.fill(values),
        )
