"""The cookie inventory: what the app actually sets, as the server sees it.

Every `Set-Cookie` of the app is noted once per process and day by name, path, domain,
attributes and category — "unlisted" when no category of the policy names it — in the
shared counters database, so `gatekeeper cookies` and the auditor view can list each
cookie with the first and the last day it was seen, and flag the unlisted ones until an
operator classifies them. gatekeeper's own cookies are described here too, with purpose
and lifetime, for the privacy page (`<gk-cookie-table></gk-cookie-table>`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from ..counters import Counters, StoreUnavailable, Table, day_of
from ..i18n import BuiltinText, builtin
from ..memo import Memo

log = logging.getLogger("gatekeeper.consent")

SIGHTINGS = Table(
    "cookie_sightings", ("day", "country", "name", "category", "path", "domain", "attributes")
)
UNLISTED = "unlisted"
_YEAR = 365 * 86400
_UNITS = {"hour": 3600, "day": 86400, "year": _YEAR}
# How long the shared inventory read from the database is reused before it is read again.
FRESH_SECONDS = 30.0


def span(seconds: int | None) -> tuple[int, str] | None:
    """A lifetime as a count of its largest whole unit: (30, "day"); None for a session
    cookie, (0, "deleted") for one that is being removed."""
    if seconds is None:
        return None
    if seconds <= 0:
        return 0, "deleted"
    if seconds < 86400:
        return max(1, round(seconds / 3600)), "hour"
    if seconds < _YEAR:
        return round(seconds / 86400), "day"
    return round(seconds / _YEAR), "year"


def lifetime(seconds: int | None) -> str:
    """A cookie's lifetime as a person reads it: "session", "8 hours", "30 days", "2 years"."""
    found = span(seconds)
    if found is None:
        return "session"
    count, unit = found
    if unit == "deleted":
        return unit
    return f"{count} {unit}" + ("s" if count != 1 else "")


def parse_lifetime(text: str) -> tuple[int, str] | str | None:
    """`span()` back from what `lifetime()` wrote (the first part of stored attributes):
    None for "session", "" when the text is no lifetime."""
    if text == "session":
        return None
    if text == "deleted":
        return 0, "deleted"
    count, _, unit = text.partition(" ")
    unit = unit[:-1] if unit.endswith("s") else unit
    if count.isdigit() and unit in _UNITS:
        return int(count), unit
    return ""


def lifetime_seconds(text: str) -> int | None:
    """Roughly how many seconds a stored lifetime stands for (None: a session cookie)."""
    found = parse_lifetime(text)
    if not isinstance(found, tuple):
        return None
    count, unit = found
    return count * _UNITS.get(unit, 0)


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
    expires: int | None = None
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
        elif key == "expires" and value:
            expires = _seconds_until(value)
    # Max-Age wins over Expires, as in browsers; a date is read as the time left until it.
    flags = [lifetime(max_age if max_age is not None else expires)]
    if secure:
        flags.append("Secure")
    if http_only:
        flags.append("HttpOnly")
    if same_site:
        flags.append(f"SameSite={same_site}")
    return Attributes(path, domain, "; ".join(flags))


def _seconds_until(date: str) -> int | None:
    try:
        when = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return None
    return int(when.timestamp() - time.time()) if when.tzinfo is not None else None


class CookieInventory:
    """Notes the app's Set-Cookie headers; cheap on the request path (a set lookup once a
    cookie has been noted today).

    What this process noted is also kept in memory, so the inventory it shows (the
    privacy page's table, the auditor view) includes a cookie as soon as it is set, before
    the counters reach the database; what other processes saw comes from the database,
    read again at most every `FRESH_SECONDS`.
    """

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
        self._headers: dict[bytes, int] = {}  # whole Set-Cookie values noted, and the day
        self._recent: dict[tuple[str, str, str, str], list[str]] = {}
        self._stored: list[tuple[Any, ...]] = []
        self._stored_at = float("-inf")
        self._reading: asyncio.Task[None] | None = None

    def note(self, headers: Iterable[tuple[bytes, bytes]]) -> None:
        """Note the Set-Cookie headers of one response (the app's, before filtering)."""
        self.note_cookies([value for name, value in headers if name.lower() == b"set-cookie"])

    def note_cookies(self, values: Iterable[bytes]) -> None:
        """`note`, given the response's Set-Cookie values (read with the other headers)."""
        if self.counters is None:
            return
        today = int(self.clock() // 86400)
        for value in values:
            if self._headers.get(value) == today:
                continue  # this very header, noted today (most responses repeat theirs)
            if len(self._headers) > 4096:
                self._headers.clear()
            if len(value) <= 1024:  # bounded memory, whatever the app sets
                self._headers[value] = today
            cookie, _, attributes = value.partition(b";")
            cookie_name = cookie.partition(b"=")[0].strip().decode("latin-1")
            if not cookie_name or cookie_name in self.own:
                continue
            key = (cookie_name, attributes)
            if self._noted.get(key) == today:
                continue  # the same cookie with another value
            if len(self._noted) > 4096:
                self._noted.clear()  # a flood of made-up names costs a few re-notes
            self._noted[key] = today
            seen = self._attributes[attributes]
            category = self.classify(cookie_name)
            day = day_of(today * 86400)
            short = cookie_name[:100]
            self.counters.add(
                SIGHTINGS, (day, "", short, category, seen.path, seen.domain, seen.flags)
            )
            if len(self._recent) > 1024:
                self._recent.clear()  # the database has them; memory stays bounded
            self._recent.setdefault((short, seen.path, seen.domain, seen.flags), [day, day])[1] = (
                day
            )

    def classify(self, name: str) -> str:
        """The category the policy gives a cookie now, or "unlisted"."""
        return self.category(name) if self.listed(name) else UNLISTED

    def _rows(self) -> list[tuple[Any, ...]]:
        local = [
            (day, "", name, "", path, domain, flags, 1)
            for (name, path, domain, flags), days in self._recent.items()
            for day in days
        ]
        return [*self._stored, *local]

    async def load(self) -> list[Sighting]:
        """The whole inventory: every process's sightings (read from the database unless
        read in the last `FRESH_SECONDS`) and this one's. Raises StoreUnavailable."""
        if self.counters is not None and self.clock() - self._stored_at > FRESH_SECONDS:
            self._stored = await self.counters.rows(SIGHTINGS)
            self._stored_at = self.clock()
        return sightings(self._rows(), self.classify)

    def current(self) -> list[Sighting]:
        """The inventory as last read, without waiting (for a page being streamed); a
        read of the database is started when it is stale."""
        if self.counters is not None and self.clock() - self._stored_at > FRESH_SECONDS:
            self._refresh()
        return sightings(self._rows(), self.classify)

    def _refresh(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = self._reading
        if task is not None and not task.done() and task.get_loop() is loop:
            return

        async def read() -> None:
            try:
                await self.load()
            except StoreUnavailable as exc:
                self._stored_at = self.clock()  # tried: the next page waits an interval
                log.warning("cookie inventory not read (will retry): %s", exc)

        self._reading = loop.create_task(read())


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


def sightings(
    rows: Iterable[tuple[Any, ...]], classify: Callable[[str], str] | None = None
) -> list[Sighting]:
    """The inventory from the stored rows: one entry per cookie as the app sets it, with
    the first and last day it was seen; unlisted ones first, then by name.

    `classify` gives each cookie the category the policy gives it now (a cookie listed
    since it was seen is no longer flagged); without it, the category noted when seen."""
    spans: dict[tuple[str, str, str, str, str], list[str]] = {}
    for day, _country, name, category, path, domain, attributes, _count in rows:
        if classify is not None:
            category = classify(name)
        seen = spans.setdefault((name, category, path, domain, attributes), [day, day])
        seen[0], seen[1] = min(seen[0], day), max(seen[1], day)
    found = [Sighting(*key, first, last) for key, (first, last) in spans.items()]
    return sorted(found, key=lambda s: (not s.unlisted, s.name, s.path, s.last_seen))


@dataclass(frozen=True, slots=True)
class OwnCookie:
    """One of gatekeeper's own cookies, for the privacy page."""

    name: str
    purpose: BuiltinText
    """In English; translated where it is shown."""
    category: str
    seconds: int | None
    """Its lifetime; None: until the browser is closed."""

    @property
    def lifetime(self) -> str:
        return lifetime(self.seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "purpose": self.purpose.msgid,
            "category": self.category,
            "lifetime": self.lifetime,
            "lifetime_seconds": self.seconds,
        }


CONSENT_PURPOSE = builtin("Remembers your privacy choices, so you are not asked on every page.")
ADBLOCK_PURPOSE = builtin(
    "Remembers whether an ad blocker was found and when you dismissed the notice."
)
DISMISSED_PURPOSE = builtin("Remembers which site notices you dismissed.")
TCF_PURPOSE = builtin("Your choices for the site's advertising partners (IAB TC string).")
AUDIT_PURPOSE = builtin("Keeps an auditor signed in to the consent log.")
DEBUG_PURPOSE = builtin("Test mode only: the place a tester chose to act as.")


def own_cookies(
    policy: Any, categories: Mapping[str, str | None], tcf_cookie: str | None = None
) -> list[OwnCookie]:
    """gatekeeper's own cookies this policy can set, with what each is for.

    `categories`: the category an own cookie needs where it is not strictly necessary
    (gk_adblock: adblock.requires_consent); `tcf_cookie`: the TC string's cookie, where
    TCF is on. The lifetimes are the Max-Age each is set with."""
    consent = policy.consent
    necessary = next((n for n, c in consent.categories.items() if c.required), "necessary")
    max_age = consent.max_age_days * 86400
    found = [OwnCookie(consent.cookie.name, CONSENT_PURPOSE, necessary, max_age)]
    if policy.adblock.mode != "off":
        category = categories.get("gk_adblock") or necessary
        found.append(OwnCookie("gk_adblock", ADBLOCK_PURPOSE, category, 30 * 86400))
    if policy.notifications:
        found.append(OwnCookie("gk_dismissed", DISMISSED_PURPOSE, necessary, _YEAR))
    if tcf_cookie:
        found.append(OwnCookie(tcf_cookie, TCF_PURPOSE, necessary, max_age))
    if policy.audit.view.enabled:
        found.append(OwnCookie("gk_audit", AUDIT_PURPOSE, necessary, 8 * 3600))
    if policy.debug:
        found.append(OwnCookie("gk_debug_place", DEBUG_PURPOSE, necessary, None))
    return found
