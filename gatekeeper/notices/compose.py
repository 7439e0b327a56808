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

from collections.abc import Hashable, Iterable, Sequence

from ..html.fragment import Fragment
from ..html.render import Renderer
from ..memo import Memo
from . import NoticeSource, Page

DOCK_OPEN = Fragment(b'<div class="gk-dock" data-gk-region="bottom">')
DOCK_CLOSE = Fragment(b"</div>")

_Composed = tuple[Fragment, Fragment, Fragment] | None


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
        self._variants = tuple(source.variant for source in self.sources)
        self.head = {
            language: Fragment(renderer.render("head.html", language, css_url=css_url).encode())
            for language in languages
        }
        self.script = Fragment(renderer.render("scripts.html", "en", js_url=js_url).encode())
        # Every combination of variants seen, joined once: a page view looks its
        # combination up and fills three fragments.
        self._composed: Memo[tuple[Hashable, ...], _Composed] = Memo(self._compose, 512)

    def compose(self, page: Page) -> tuple[bytes, bytes, bytes] | None:
        """(head, top, body) for the page, or None when no notice applies."""
        # A loop, not a comprehension: in Python 3.11 each comprehension is a call.
        key: list[Hashable] = [page.visitor.language]
        for variant in self._variants:
            key.append(variant(page))
        composed = self._composed[tuple(key)]
        if composed is None:
            return None
        values = page.values
        head, top, body = composed
        return head.fill(values), top.fill(values), body.fill(values)

    def _compose(self, key: tuple[Hashable, ...]) -> _Composed:
        language, variants = key[0], key[1:]
        head: list[Fragment] = [self.head[language]]  # type: ignore[index]
        top: list[Fragment] = []
        dock: list[Fragment] = []
        tail: list[Fragment] = []
        for source, variant in zip(self.sources, variants, strict=True):
            if variant is None:
                continue
            parts = source.render(variant)
            head.append(parts.head)
            top.append(parts.top)
            dock.append(parts.body)
            tail.append(parts.tail)
        if not any(top) and not any(dock) and not any(tail):
            return None
        body = [DOCK_OPEN, *dock, DOCK_CLOSE] if any(dock) else []
        return (
            Fragment.joined(head),
            Fragment.joined(top),
            Fragment.joined([*body, *tail, self.script]),
        )
