"""The notices: every piece of markup gatekeeper puts into a page, in one package.

Each notice source (the notification bar, the consent banner, the adblock notice, the
offline notice) implements `NoticeSource`: given the `Page` being served, its `Parts` or
None. Sources render their templates once per policy, language and variant into
`Fragment`s; per page they pick one and fill its few slots. `Notices` (compose.py) joins
the sources' parts into the `Snippets` the HTML injector splices in. The block page is a
whole page of its own (block.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..visitor import Visitor

DISMISSED_COOKIE = "gk_dismissed"

# Words of gatekeeper's own chrome; operators with other languages override the templates.
UI: dict[str, dict[str, str]] = {
    "dismiss": {"en": "Dismiss", "de": "Schließen", "fr": "Fermer"},
    "notices": {"en": "Site notices", "de": "Hinweise", "fr": "Annonces du site"},
    "privacy_policy": {
        "en": "Privacy policy",
        "de": "Datenschutzerklärung",
        "fr": "Politique de confidentialité",
    },
    "categories": {"en": "Categories", "de": "Kategorien", "fr": "Catégories"},
    "reference": {"en": "Reference", "de": "Referenz", "fr": "Référence"},
    "withdraw": {
        "en": "Withdraw my consent",
        "de": "Einwilligung widerrufen",
        "fr": "Retirer mon consentement",
    },
    "back": {"en": "Back to the site", "de": "Zurück zur Seite", "fr": "Retour au site"},
    "consent_id": {"en": "Consent ID", "de": "Einwilligungs-ID", "fr": "Identifiant"},
}


@dataclass(frozen=True, slots=True)
class Parts:
    """One source's contribution to a page, slots filled."""

    head: bytes = b""
    top: bytes = b""
    """Before everything else in the body: bars that push the page down."""
    body: bytes = b""


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
