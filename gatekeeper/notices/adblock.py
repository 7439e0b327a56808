"""The adblock notice (or wall) and the baits of one page view.

The markup is rendered once per language and display variant: "visible" (the visitor's
last verdict was blocked, so the server shows the notice without waiting for the check)
and "quiet" (dismissed recently: the check still reports, but shows nothing). Per page
only the view's token goes in. Whether a page gets a view at all, and its token, is the
adblock feature's call (`AdblockViews`). The notice goes in the dock, above the consent
banner; the baits after the dock (they are no notice).
"""

from __future__ import annotations

from typing import Protocol, TypeAlias

from ..html.fragment import TOKEN_SLOT, Fragment
from ..html.render import Renderer
from ..policy import Policy
from . import UI, Page, Parts

AdblockView: TypeAlias = tuple[bytes, bool, bool]
"""One page view's detection: (its token, the notice shown at once, quiet). A plain
tuple: one is made per page view, and a NamedTuple's constructor costs twenty times as
much."""


class AdblockViews(Protocol):
    def open(self, page: Page) -> AdblockView | None:
        """Start detection for this page view, or None where detection does not run."""
        ...


class AdblockNotice:
    """A `NoticeSource`: the notice markup with this view's baits."""

    def __init__(self, policy: Policy, renderer: Renderer, views: AdblockViews) -> None:
        config = policy.adblock
        prefix = policy.prefix
        self.views = views
        self.wall = config.mode == "wall"
        self.rendered: dict[tuple[str, bool, bool], Fragment] = {}
        self.baits = Fragment(
            renderer.render(
                "adblock_baits.html",
                policy.languages.default,
                image_url=f"{prefix}{config.baits.image}?t={TOKEN_SLOT}",
                cosmetic_class=config.baits.cosmetic_class,
            ).encode()
        )
        for language in policy.languages.available:
            for visible in (False, True):
                for quiet in (False, True) if not self.wall else (False,):
                    self.rendered[(language, visible, quiet)] = Fragment(
                        renderer.render(
                            "adblock.html",
                            language,
                            notice=config.notice,
                            wall=self.wall,
                            visible=visible,
                            quiet=quiet,
                            prefix=prefix,
                            script_url=f"{prefix}{config.baits.script}?t={TOKEN_SLOT}",
                            # For operators' copies of the template from before the baits
                            # had their own (adblock_baits.html).
                            image_url=f"{prefix}{config.baits.image}?t={TOKEN_SLOT}",
                            cosmetic_class=config.baits.cosmetic_class,
                            # A wall keeps these one link away (the page behind is hidden).
                            privacy_url=policy.consent.banner.privacy_url,
                            contact_url=policy.site.contact_url,
                            contact_label=policy.geoblock.page.contact_label,
                            ui=UI,
                        ).encode()
                    )

    def variant(self, page: Page) -> tuple[str, bool, bool] | None:
        view = self.views.open(page)
        if view is None:
            return None
        token, visible, quiet = view
        page.values["token"] = token
        return (page.visitor.language, visible, quiet and not self.wall)

    def render(self, variant: tuple[str, bool, bool]) -> Parts:
        return Parts(body=self.rendered[variant], tail=self.baits)
