"""The notices: every piece of markup gatekeeper puts into a page, in one package.

Each notice source (the notification bar, the consent banner, the adblock notice, the
offline notice) implements `NoticeSource`: given the `Page` being served, its `Parts` or
None. Sources render their templates once per policy, language and variant into
`Fragment`s; per page they pick one and fill its few slots. `Notices` (compose.py) joins
the sources' parts into the `Snippets` the HTML injector splices in, placing each part in
its region of the page (see "Where notices go" in compose.py). The block page is a whole
page of its own (block.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

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
    """One source's contribution to a page, slots filled."""

    head: bytes = b""
    top: bytes = b""
    """The top region, first in the body: the bar (in the page flow) and what hangs below it."""
    body: bytes = b""
    """The bottom region (the dock): notices stacked on the viewport's bottom edge."""
    tail: bytes = b""
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
    def parts(self, page: Page) -> Parts | None: ...


__all__ = ["DISMISSED_COOKIE", "UI", "NoticeSource", "Page", "Parts"]
