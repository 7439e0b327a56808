"""The cookie inventory: what the app actually sets, as the server sees it.

Every `Set-Cookie` of the app is noted once per process and day by name, path, domain,
attributes and category — "unlisted" when no category of the policy names it — in the
shared counters database, so `gatekeeper cookies` and the auditor view can list each
cookie with the first and the last day it was seen, and flag the unlisted ones until an
operator classifies them. gatekeeper's own cookies are described here too, with purpose
and lifetime, for the privacy page (`<gk-cookie-table></gk-cookie-table>`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..counters import Counters, Table, day_of
from ..memo import Memo

SIGHTINGS = Table(
    "cookie_sightings", ("day", "country", "name", "category", "path", "domain", "attributes")
)
UNLISTED = "unlisted"
_YEAR = 365 * 86400


def lifetime(seconds: int | None) -> str:
    """A cookie's lifetime as a person reads it: "session", "8 hours", "30 days", "2 years"."""
    if seconds is None:
        return "session"
    if seconds <= 0:
        return "deleted"
    if seconds < 86400:
        hours = max(1, round(seconds / 3600))
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if seconds < _YEAR:
        days = round(seconds / 86400)
        return f"{days} day" + ("s" if days != 1 else "")
    years = round(seconds / _YEAR)
    return f"{years} year" + ("s" if years != 1 else "")


@dataclass(frozen=True, slots=True)
class Attributes:
    """What a Set-Cookie says besides its value."""

    path: str
    domain: str
    flags: str
    """Secure, HttpOnly, SameSite and the lifetime, as one readable string."""


def parse_attributes(raw: bytes) -> Attributes:
    """The attributes part of a Set-Cookie header (everything after the first `;`)."""
    path, domain = "/", ""
    secure = http_only = False
    same_site = ""
    max_age: int | None = None
    expires = False
    for part in raw.decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        key = name.strip().lower()
        value = value.strip()
        if key == "path" and value:
            path = value[:200]
        elif key == "domain":
            domain = value.lstrip(".").lower()[:200]
        elif key == "secure":
            secure = True
        elif key == "httponly":
            http_only = True
        elif key == "samesite":
            same_site = value.capitalize()[:10]
        elif key == "max-age" and value.lstrip("-").isdigit() and len(value) < 12:
            max_age = int(value)
        elif key == "expires":
            expires = True
    flags = [lifetime(max_age) if max_age is not None else ("expires" if expires else "session")]
    if secure:
        flags.append("Secure")
    if http_only:
        flags.append("HttpOnly")
    if same_site:
        flags.append(f"SameSite={same_site}")
    return Attributes(path, domain, "; ".join(flags))


class CookieInventory:
    """Notes the app's Set-Cookie headers; cheap on the request path (a set lookup once a
    cookie has been noted today)."""

    def __init__(
        self,
        counters: Counters | None,
        category: Callable[[str], str],
        listed: Callable[[str], bool],
        own: Iterable[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.counters = counters
        self.category = category
        self.listed = listed
        self.own = frozenset(own)
        self.clock = clock
        self._attributes: Memo[bytes, Attributes] = Memo(parse_attributes, 1024)
        self._noted: dict[tuple[str, bytes], int] = {}

    def note(self, headers: Iterable[tuple[bytes, bytes]]) -> None:
        """Note the Set-Cookie headers of one response (the app's, before filtering)."""
        if self.counters is None:
            return
        today = int(self.clock() // 86400)
        for name, value in headers:
            if name != b"set-cookie" and name.lower() != b"set-cookie":
                continue
            cookie, _, attributes = value.partition(b";")
            cookie_name = cookie.partition(b"=")[0].strip().decode("latin-1")
            if not cookie_name or cookie_name in self.own:
                continue
            key = (cookie_name, attributes)
            if self._noted.get(key) == today:
                continue
            if len(self._noted) > 4096:
                self._noted.clear()  # a flood of made-up names costs a few re-notes
            self._noted[key] = today
            seen = self._attributes[attributes]
            category = self.category(cookie_name) if self.listed(cookie_name) else UNLISTED
            self.counters.add(
                SIGHTINGS,
                (
                    day_of(today * 86400),
                    "",
                    cookie_name[:100],
                    category,
                    seen.path,
                    seen.domain,
                    seen.flags,
                ),
            )


@dataclass(frozen=True, slots=True)
class Sighting:
    name: str
    category: str
    """The policy's category, or "unlisted" (then it counts as `unlisted_cookies`)."""
    path: str
    domain: str
    attributes: str
    first_seen: str
    last_seen: str

    @property
    def unlisted(self) -> bool:
        return self.category == UNLISTED

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "unlisted": self.unlisted,
            "path": self.path,
            "domain": self.domain,
            "attributes": self.attributes,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


def sightings(rows: Iterable[tuple[Any, ...]]) -> list[Sighting]:
    """The inventory from the stored rows: one entry per cookie as the app sets it, with
    the first and last day it was seen; unlisted ones first, then by name."""
    spans: dict[tuple[str, str, str, str, str], list[str]] = {}
    for day, _country, name, category, path, domain, attributes, _count in rows:
        span = spans.setdefault((name, category, path, domain, attributes), [day, day])
        span[0], span[1] = min(span[0], day), max(span[1], day)
    found = [Sighting(*key, first, last) for key, (first, last) in spans.items()]
    return sorted(found, key=lambda s: (not s.unlisted, s.name, s.path, s.last_seen))


@dataclass(frozen=True, slots=True)
class OwnCookie:
    """One of gatekeeper's own cookies, for the privacy page."""

    name: str
    purpose: str
    category: str
    lifetime: str


def own_cookies(
    policy: Any, categories: Mapping[str, str | None], tcf_cookie: str | None = None
) -> list[OwnCookie]:
    """gatekeeper's own cookies this policy can set, with what each is for."""
    consent = policy.consent
    necessary = next((n for n, c in consent.categories.items() if c.required), "necessary")
    found = [
        OwnCookie(
            consent.cookie.name,
            "Remembers your privacy choices, so you are not asked on every page.",
            necessary,
            lifetime(consent.max_age_days * 86400),
        )
    ]
    if policy.adblock.mode != "off":
        found.append(
            OwnCookie(
                "gk_adblock",
                "Remembers whether an ad blocker was found and when you dismissed the notice.",
                categories.get("gk_adblock") or necessary,
                lifetime(30 * 86400),
            )
        )
    if policy.notifications:
        found.append(
            OwnCookie(
                "gk_dismissed",
                "Remembers which site notices you dismissed.",
                necessary,
                lifetime(_YEAR),
            )
        )
    if tcf_cookie:
        found.append(
            OwnCookie(
                tcf_cookie,
                "Your choices for the site's advertising partners, in the IAB's TC string.",
                necessary,
                lifetime(consent.max_age_days * 86400),
            )
        )
    if policy.audit.view.enabled:
        found.append(
            OwnCookie("gk_audit", "Keeps an auditor signed in.", necessary, lifetime(8 * 3600))
        )
    if policy.debug:
        found.append(
            OwnCookie(
                "gk_debug_place",
                "Test mode only: the place a tester chose to act as.",
                necessary,
                "session",
            )
        )
    return found
