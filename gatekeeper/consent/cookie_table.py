"""The cookie table for the privacy page, in the visitor's language.

One table per category of the policy, in the policy's order: gatekeeper's own cookies
(with purpose and lifetime), the names and globs the category lists (its description as
the purpose, the lifetime the app was seen setting), the frameworks' necessary cookies
the app was seen setting; then the cookies the app sets that no category names, flagged
as not yet described, with the category they count as meanwhile.

It is rendered where the privacy page (`consent.banner.privacy_url`, a path of this site)
holds the marker `<gk-cookie-table></gk-cookie-table>`, replaced while the page streams;
no other page is searched. `GET {prefix}/cookies` answers the same table as a page of its
own, or as JSON (`Accept: application/json` or `?format=json`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from ..counters import StoreUnavailable
from ..endpoints import Request, Response, Route, json_response, safe_next
from ..html.marker import ReplaceMarker
from ..html.render import Renderer, localise
from ..html.stream import Transform
from ..i18n import Catalogue
from ..memo import Memo
from ..policy import Policy
from ..visitor import Visitor
from .cookies import FRAMEWORK_NECESSARY
from .inventory import UNLISTED, CookieInventory, OwnCookie, Sighting, parse_lifetime, span

MARKER = b"<gk-cookie-table></gk-cookie-table>"
HTML = b"text/html; charset=utf-8"
NOT_SEEN = "\u2014"  # a declared cookie the app has not been seen setting: lifetime unknown


def localised_lifetime(found: tuple[int, str] | str | None, messages: Catalogue) -> str:
    """A lifetime (`span()`) in the catalogue's language; "—" when it is not known."""
    if found is None:
        return messages.gettext("Until the browser is closed")
    if not isinstance(found, tuple):
        return NOT_SEEN
    count, unit = found
    if unit == "hour":
        text = messages.ngettext("%(num)d hour", "%(num)d hours", count)
    elif unit == "day":
        text = messages.ngettext("%(num)d day", "%(num)d days", count)
    elif unit == "year":
        text = messages.ngettext("%(num)d year", "%(num)d years", count)
    else:
        return NOT_SEEN
    return text % {"num": count}


def localised_attributes(attributes: str, messages: Catalogue) -> str:
    """Stored attributes ("30 days; Secure; SameSite=Lax") with the lifetime translated;
    the attribute names stay as the browser's developer tools show them."""
    first, sep, rest = attributes.partition("; ")
    found = parse_lifetime(first)
    if found == "":
        return attributes
    return localised_lifetime(found, messages) + sep + rest


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    purpose: str
    lifetime: str
    kept_for: str | None
    """The lifetime in English ("30 days", "session"), None when not known."""
    set_by: str
    """"gatekeeper" or "site"."""
    unlisted: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    category: str
    label: str
    description: str
    rows: tuple[Row, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "label": self.label,
            "description": self.description,
            "cookies": [
                {
                    "name": r.name,
                    "purpose": r.purpose,
                    "lifetime": r.lifetime,
                    "kept_for": r.kept_for,
                    "set_by": r.set_by,
                    "unlisted": r.unlisted,
                }
                for r in self.rows
            ],
        }


def privacy_path(url: str) -> str | None:
    """The path of the privacy page when it is on this site (a path, not another host's
    URL or a fragment)."""
    if not url.startswith("/") or url.startswith("//"):
        return None
    return urlsplit(url).path or None


class CookieTable:
    """The table's contents, its markup per language, the marker and the endpoint."""

    def __init__(
        self,
        policy: Policy,
        inventory: CookieInventory,
        own: Sequence[OwnCookie],
        renderer: Renderer,
        css_url: str,
    ) -> None:
        self.policy = policy
        self.inventory = inventory
        self.own = tuple(own)
        self.renderer = renderer
        self.css_url = css_url
        self.path = privacy_path(policy.consent.banner.privacy_url)
        self._own_names = frozenset(c.name for c in self.own)
        self._markup: Memo[tuple[str, tuple[Sighting, ...]], bytes] = Memo(self._render, 64)

    # -- the contents -------------------------------------------------------------------

    def groups(self, language: str, seen: Sequence[Sighting]) -> list[Group]:
        """The table in `language`, from the inventory `seen`."""
        messages = self.renderer.catalogue(language)
        default = self.renderer.default_language
        categories = self.policy.consent.categories
        # The latest lifetime each name was seen with (unlisted and listed alike).
        latest: dict[str, Sighting] = {}
        for s in seen:
            if s.name not in latest or s.last_seen >= latest[s.name].last_seen:
                latest[s.name] = s
        rows: dict[str, list[Row]] = {name: [] for name in categories}
        flagged: list[Row] = []

        def lifetime_of(text: str | None) -> tuple[str, str | None]:
            if text is None:
                return NOT_SEEN, None
            return localised_lifetime(parse_lifetime(text), messages), text

        for cookie in self.own:
            found = span(cookie.seconds)
            rows.setdefault(cookie.category, []).append(
                Row(
                    cookie.name,
                    messages.gettext(cookie.purpose.msgid),
                    localised_lifetime(found, messages),
                    cookie.lifetime,
                    "gatekeeper",
                )
            )
        declared: list[str] = []
        for category, settings in categories.items():
            purpose = localise(settings.description, language, default)
            for pattern in settings.cookies:
                if pattern in self._own_names:
                    continue
                declared.append(pattern)
                matching = [s for n, s in latest.items() if fnmatch.fnmatchcase(n, pattern)]
                last = max(matching, key=lambda s: s.last_seen, default=None)
                text, kept = lifetime_of(last.attributes.partition("; ")[0] if last else None)
                rows[category].append(Row(pattern, purpose, text, kept, "site"))
        for name, s in sorted(latest.items()):
            if name in self._own_names or any(fnmatch.fnmatchcase(name, p) for p in declared):
                continue
            text, kept = lifetime_of(s.attributes.partition("; ")[0])
            if s.unlisted:
                flagged.append(Row(name, "", text, kept, "site", unlisted=True))
            elif name in FRAMEWORK_NECESSARY:
                purpose = messages.gettext(FRAMEWORK_NECESSARY[name].msgid)
                rows.setdefault(s.category, []).append(Row(name, purpose, text, kept, "site"))
        groups = [
            Group(
                name,
                localise(categories[name].label, language, default) if name in categories else name,
                localise(categories[name].description, language, default)
                if name in categories
                else "",
                tuple(found),
            )
            for name, found in rows.items()
            if found
        ]
        if flagged:
            counted = self.policy.consent.unlisted_cookies
            label = categories[counted].label if counted in categories else None
            note = messages.gettext(
                "Seen on this site but not yet described; treated as “%(category)s” until it is."
            ) % {"category": localise(label, language, default) if label else counted}
            groups.append(
                Group(UNLISTED, messages.gettext("Not yet described"), note, tuple(flagged))
            )
        return groups

    # -- the marker ---------------------------------------------------------------------

    def _render(self, key: tuple[str, tuple[Sighting, ...]]) -> bytes:
        language, seen = key
        markup = self.renderer.render(
            "cookie_table.html", language, groups=self.groups(language, seen)
        )
        return markup.strip().encode("utf-8")

    def markup(self, language: str, seen: Sequence[Sighting]) -> bytes:
        return self._markup[(language, tuple(seen))]

    def transform(self, visitor: Visitor, scope: Mapping[str, Any]) -> Transform | None:
        """The marker's replacement on the privacy page; None on every other page."""
        if scope["path"] != self.path:
            return None
        return ReplaceMarker(MARKER, self.markup(visitor.language, self.inventory.current()))

    # -- GET {prefix}/cookies ------------------------------------------------------------

    def routes(self) -> dict[str, Route]:
        return {"/cookies": Route(frozenset({"GET"}), self.page)}

    async def page(self, request: Request) -> Response:
        language = request.visitor.language
        try:
            seen = await self.inventory.load()
        except StoreUnavailable:  # the database is down: what this process knows still holds
            seen = self.inventory.current()
        query = request.query()
        wanted = query.get("format", "")
        if wanted not in ("", "json", "html"):
            return json_response({"error": "format must be json or html"}, 400)
        if wanted == "json" or (not wanted and request.wants_json):
            groups = self.groups(language, seen)
            return json_response(
                {"language": language, "groups": [group.to_dict() for group in groups]}
            )
        body = self.renderer.render(
            "cookies.html",
            language,
            site=self.policy.site,
            css_url=self.css_url,
            table=Markup(self.markup(language, seen).decode("utf-8")),  # rendered, autoescaped
            back=safe_next(query.get("next")),
        )
        return Response(body=body.encode("utf-8"), content_type=HTML)
