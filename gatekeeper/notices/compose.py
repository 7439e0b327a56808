"""Every notice of one page, composed into head, top-of-body and end-of-body bytes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..html.fragment import Fragment
from ..html.render import Renderer
from . import NoticeSource, Page


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
        body: list[bytes] = []
        for source in self.sources:
            parts = source.parts(page)
            if parts is not None:
                if parts.head:
                    head.append(parts.head)
                if parts.top:
                    top.append(parts.top)
                if parts.body:
                    body.append(parts.body)
        if not top and not body:
            return None
        values = page.values
        return (
            self.head[page.visitor.language].fill(values) + b"".join(head),
            b"".join(top),
            b"".join(body) + self.script.fill(values),
        )
