"""The notices: every piece of markup gatekeeper puts into a page, in one package.

Each notice source (the notification bar, the consent banner, the adblock notice, the
offline notice) implements `NoticeSource`: for the `Page` being served, its `variant`
(everything its markup depends on but the per-view slots, or None when it has nothing for
the page), and for a variant its `Parts`, `Fragment`s rendered once per policy, language
and variant. `Notices` (compose.py) joins the parts of every combination of variants once,
placing each in its region of the page (see "Where notices go" in compose.py); per page it
looks the combination up and fills its few slots. The block page is a whole page of its
own (block.py).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..html.fragment import EMPTY, Fragment
from ..i18n import builtin
from ..visitor import Visitor

DISMISSED_COOKIE = "gk_dismissed"

# Words of gatekeeper's own chrome, for templates that write `t(ui.dismiss)` (operators'
# copies of older templates): each is a built-in text, translated into the visitor's
# language by the catalogue (gatekeeper/i18n). The built-in templates write `_("Dismiss")`.
UI: dict[str, dict[str, str]] = {
    "dismiss": builtin("Dismiss"),
    "notices": builtin("Site notices"),
    "privacy_policy": builtin("Privacy policy"),
    "categories": builtin("Categories"),
    "reference": builtin("Reference"),
    "withdraw": builtin("Withdraw my consent"),
    "back": builtin("Back to the site"),
    "consent_id": builtin("Consent ID"),
}


@dataclass(frozen=True, slots=True)
class Parts:
    """One source's contribution to a page, slots unfilled."""

    head: Fragment = EMPTY
    top: Fragment = EMPTY
    """The top region, first in the body: the bar (in the page flow) and what hangs below it."""
    body: Fragment = EMPTY
    """The bottom region (the dock): notices stacked on the viewport's bottom edge."""
    tail: Fragment = EMPTY
    """After the dock, at the end of the body: what is no notice (the adblock baits)."""


class Page:
    """The page a notice is composed for: who asks, which path, and the slot values."""

    __slots__ = ("day", "path", "scope", "values", "visitor")

    def __init__(
        self,
        scope: Mapping[str, Any],
        visitor: Visitor,
        values: dict[str, bytes],
        day: int,
    ) -> None:
        self.scope = scope
        self.visitor = visitor
        self.path: str = scope["path"]
        self.values = values
        """Slot name -> bytes: nonce, next, next_q (and token, filled by its source)."""
        self.day = day
        """Days since the epoch (UTC), for scheduled notices."""


class NoticeSource(Protocol):
    def variant(self, page: Page) -> Hashable | None:
        """What this source's markup for the page depends on, besides the slots (a small
        hashable value), or None when it puts nothing in the page. Called once per page
        view: a source with per-view state (the adblock view) opens it here and puts its
        slot values in `page.values`."""
        ...

    def render(self, variant: Any) -> Parts:
        """The markup of a variant `variant` returned; called once per combination of
        every source's variants, then remembered."""
        ...


__all__ = ["DISMISSED_COOKIE", "UI", "NoticeSource", "Page", "Parts"]
