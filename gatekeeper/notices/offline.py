"""The offline notice: shown by gatekeeper.js while the browser has no connection.

It goes in the top region, after the notification bar: it hangs just below the bar (and
at the viewport's top edge once the bar has scrolled away), so it never covers the bar's
links, and it stays clear of the consent banner in the dock at the bottom."""

from __future__ import annotations

from ..html.fragment import Fragment
from ..html.render import Renderer
from ..policy import Policy
from . import Page, Parts


class OfflineNotice:
    """A `NoticeSource`: the same markup on every page, per language."""

    def __init__(self, policy: Policy, renderer: Renderer) -> None:
        self.rendered = {
            language: Parts(
                top=Fragment(
                    renderer.render("offline.html", language, notice=policy.offline_notice).encode()
                )
            )
            for language in policy.languages.available
        }

    def variant(self, page: Page) -> str:
        return page.visitor.language

    def render(self, variant: str) -> Parts:
        return self.rendered[variant]
